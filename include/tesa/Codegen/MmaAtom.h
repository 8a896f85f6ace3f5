//===- MmaAtom.h - The m16n8k16 f16 tensor-core atom ------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tile layer's tensor-core atom: `mma.sync.m16n8k16` with f16 operands
// and f32 accumulators (sm_80 and later), fed by `ldmatrix` from operand
// tiles in shared memory. An operand tile is stored with either its
// reduction dimension innermost ([row][k]) or outermost ([k][row]), whichever
// its global layout makes contiguous, so that the copies into shared memory
// stay 16-byte vectors; the fragment loads transpose on the fly where the
// layout needs it (`ldmatrix.trans`).
//
// The index math (which address each lane gives `ldmatrix`, where each
// accumulator lies) is plain integer arithmetic in LaneCoordinates, so that
// it is unit-tested against the instruction's documented fragment layout
// (test/Unit/MmaAtomTest.cpp); the emitters apply the same math to SSA
// values.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_MMAATOM_H
#define TESA_CODEGEN_MMAATOM_H

#include "tesa/Codegen/KernelEmitter.h"

#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace tesa {

/// Which operand of the mma an `ldmatrix.x4` loads: a 16x16 tile of A (rows
/// are M), or two 8-column tiles of B side by side (rows are N), both
/// 16 deep in K.
enum class MmaOperand { A, B };

/// How an operand tile lies in shared memory.
enum class TileOrder {
  /// [row][k]: the reduction dimension is contiguous.
  RowMajor,
  /// [k][row]: the rows (M or N) are contiguous.
  KMajor,
};

/// A coordinate of the form (lane % 8) * inMatrix + ((lane / 8) % 2) *
/// lowMatrix + (lane / 16) * highMatrix: within each of the four 8x8
/// matrices of an `ldmatrix.x4`, the lane's row of the matrix, and the
/// matrix's offset.
struct LaneTerm {
  int64_t inMatrix = 0, lowMatrix = 0, highMatrix = 0;

  int64_t evaluate(int64_t lane) const {
    return (lane % 8) * inMatrix + ((lane / 8) % 2) * lowMatrix +
           (lane / 16) * highMatrix;
  }
};

/// The (row, k) at which a lane points `ldmatrix.x4`, relative to the
/// fragment's first row and k: in the tile's order, the lane gives the
/// address of one 16-byte row of one of the four matrices.
struct LaneCoordinates {
  LaneTerm row, k;
};

/// The lane addresses of an `ldmatrix.x4` that loads `operand` from a tile
/// stored in `order` (transposing when the order is KMajor), so that its
/// four registers are the mma's A registers, or the B registers of two
/// consecutive 8-column tiles.
LaneCoordinates getFragmentLoadCoordinates(MmaOperand operand,
                                           TileOrder order);

/// Whether a fragment load from a tile in `order` transposes.
inline bool isTransposedLoad(TileOrder order) {
  return order == TileOrder::KMajor;
}

/// Where accumulator `i` (0-3) of lane `lane` of an m16n8 f32 tile lies:
/// (row, column) within the tile.
std::pair<int64_t, int64_t> getAccumulatorPosition(int64_t lane, int64_t i);

/// Which accumulator feeds element `element` (0-1) of A register `reg`
/// (0-3) of the same lane, when the f32 accumulators of two m16n8 tiles
/// side by side (columns 0-7, then 8-15) become the A operand of a
/// following product, 16 deep: the tile (0 or 1) and the accumulator
/// (0-3). The lane's registers of both hold the same rows and columns, so
/// that no value moves between lanes.
std::pair<int64_t, int64_t> getAccumulatorOfA(int64_t reg, int64_t element);

/// Emits the atom's instructions.
class MmaAtomEmitter {
public:
  MmaAtomEmitter(KernelEmitter &e, mlir::Value lane);

  /// The registers of an `ldmatrix.x4` of `operand` from `tile` (a 3-D
  /// shared f16 buffer [stage][outer][inner] in `order`), the fragment
  /// starting at (`row`, `k`) of stage `stage`: a vector<4x2xf16>.
  mlir::Value loadFragments(MmaOperand operand, TileOrder order,
                            mlir::Value tile, mlir::Value stage,
                            mlir::Value row, mlir::Value k);
  /// B registers (vector<2x2xf16>) of tile `half` (0 or 1) of a B fragment
  /// load.
  mlir::Value getBHalf(mlir::Value fragments, int64_t half);
  /// acc += a * b on the m16n8k16 atom (acc: vector<2x2xf32>).
  mlir::Value multiply(mlir::Value a, mlir::Value b, mlir::Value acc);
  /// The A registers (vector<4x2xf16>) of a 16x16 tile whose f32 values
  /// are the accumulators `left` (columns 0-7) and `right` (8-15), rounded
  /// to f16 (see getAccumulatorOfA).
  mlir::Value accumulatorsToA(mlir::Value left, mlir::Value right);
  /// An accumulator (vector<2x2xf32>) of the four f32 `values`, in the
  /// order getAccumulator numbers them.
  mlir::Value makeAccumulator(llvm::ArrayRef<mlir::Value> values);
  /// A zero accumulator.
  mlir::Value zeroAccumulator();
  /// Accumulator `i` of `acc` as an f32 value.
  mlir::Value getAccumulator(mlir::Value acc, int64_t i);
  /// The position of accumulator `i` of this lane within its m16n8 tile.
  std::pair<mlir::Value, mlir::Value> getAccumulatorPosition(int64_t i);

private:
  mlir::Value evaluate(const LaneTerm &term);

  KernelEmitter &e;
  mlir::Value lane;
};

} // namespace tesa

#endif // TESA_CODEGEN_MMAATOM_H
