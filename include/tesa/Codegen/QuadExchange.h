//===- QuadExchange.h - Regrouping values across a quad of lanes -*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tensor-core atoms leave a tile's outputs spread over quads of lanes
// (lanes 4i .. 4i + 3 of a warp): for each 1 x 8 piece of a row, lane q of
// the quad holds outputs 2q and 2q + 1. A quad that holds four such pieces
// regroups them so that lane q holds all of piece q, which it then stores
// as one 16-byte vector. Lane q's word for piece c is w(q, c); after the
// exchange lane q holds w(0, q), w(1, q), w(2, q), w(3, q). The exchange
// takes four rounds: in round r lane p sends its word for piece
// getQuadSentPiece(p, r), and lane q receives from lane
// getQuadSourceLane(q, r) (round 0 keeps its own word; rounds 1-3 are one
// `shfl.idx` each). Lane q finds lane p's word among what it received in
// round getQuadRound(q, p).
//
// The round math is plain integer arithmetic here, unit-tested in
// test/Unit/QuadExchangeTest.cpp; exchangeInQuad applies it to SSA values.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_QUADEXCHANGE_H
#define TESA_CODEGEN_QUADEXCHANGE_H

#include "tesa/Codegen/KernelEmitter.h"

#include <cstdint>

namespace tesa {

/// Lanes in a quad, and rounds of an exchange.
constexpr int64_t kQuadLanes = 4;

/// The piece whose word lane `lane` (of its quad) sends in round `round`.
int64_t getQuadSentPiece(int64_t lane, int64_t round);
/// The lane (of the quad) that lane `lane` receives from in round `round`.
int64_t getQuadSourceLane(int64_t lane, int64_t round);
/// The round in which lane `lane` receives lane `from`'s word for its piece.
int64_t getQuadRound(int64_t lane, int64_t from);

/// `values[i]` for the index value `which` (0 .. values.size() - 1), by a
/// chain of selects.
mlir::Value selectByIndex(KernelEmitter &e, llvm::ArrayRef<mlir::Value> values,
                          mlir::Value which);

/// The exchange for 32-bit `words` (this lane's word for each of the four
/// pieces, in order) of the lane whose id in its warp is `lane`: the words
/// of this lane's piece from lanes 0-3 of its quad, in order. Every lane of
/// the warp must take part.
llvm::SmallVector<mlir::Value> exchangeInQuad(KernelEmitter &e,
                                              llvm::ArrayRef<mlir::Value> words,
                                              mlir::Value lane);

} // namespace tesa

#endif // TESA_CODEGEN_QUADEXCHANGE_H
