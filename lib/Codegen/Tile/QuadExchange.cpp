//===- QuadExchange.cpp - Regrouping values across a quad of lanes --------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/QuadExchange.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace tesa;

int64_t tesa::getQuadSentPiece(int64_t lane, int64_t round) {
  return (lane - round + kQuadLanes) % kQuadLanes;
}

int64_t tesa::getQuadSourceLane(int64_t lane, int64_t round) {
  return (lane + round) % kQuadLanes;
}

int64_t tesa::getQuadRound(int64_t lane, int64_t from) {
  return (from - lane + kQuadLanes) % kQuadLanes;
}

Value tesa::selectByIndex(KernelEmitter &e, ArrayRef<Value> values,
                          Value which) {
  Value picked = values[0];
  for (auto [i, value] : llvm::enumerate(values.drop_front()))
    picked = arith::SelectOp::create(
        e.b,
        arith::CmpIOp::create(e.b, arith::CmpIPredicate::eq, which,
                              e.index(int64_t(i) + 1)),
        value, picked);
  return picked;
}

SmallVector<Value> tesa::exchangeInQuad(KernelEmitter &e,
                                        ArrayRef<Value> words, Value lane) {
  ImplicitLocOpBuilder &b = e.b;
  assert(words.size() == size_t(kQuadLanes) && "a word for each piece");
  // The same formulas as getQuadSentPiece, getQuadSourceLane and
  // getQuadRound, on the lane's index in its quad.
  Value q = e.rem(lane, kQuadLanes);
  Value quadStart = arith::SubIOp::create(b, lane, q);
  SmallVector<Value> received;
  for (int64_t round = 0; round < kQuadLanes; ++round) {
    Value sent = selectByIndex(
        e, words, e.rem(e.affine(q, 1, kQuadLanes - round), kQuadLanes));
    if (round == 0) {
      received.push_back(sent);
      continue;
    }
    Value source = e.add(quadStart, e.rem(e.affine(q, 1, round), kQuadLanes));
    received.push_back(e.shuffleFrom(sent, source));
  }
  SmallVector<Value> ordered;
  for (int64_t from = 0; from < kQuadLanes; ++from)
    ordered.push_back(selectByIndex(
        e, received, e.rem(e.affine(q, -1, from + kQuadLanes), kQuadLanes)));
  return ordered;
}
