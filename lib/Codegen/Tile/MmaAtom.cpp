//===- MmaAtom.cpp - The m16n8k16 f16 tensor-core atom --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/MmaAtom.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace tesa;

LaneCoordinates tesa::getFragmentLoadCoordinates(MmaOperand operand,
                                                 TileOrder order) {
  // The four matrices of an A load are, in register order, (rows 0-7, k
  // 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15): the
  // low bit of the matrix index moves the rows, the high bit k. Those of a
  // B load are (tile 0, k 0-7), (tile 0, k 8-15), (tile 1, k 0-7), (tile 1,
  // k 8-15): the low bit moves k, the high bit the rows (the second tile).
  // Each lane addresses one 16-byte row of its matrix: a row of the tile
  // when the tile is [row][k], a k when it is [k][row] (and the load
  // transposes).
  bool isA = operand == MmaOperand::A;
  LaneCoordinates coordinates;
  coordinates.row = {0, isA ? 8 : 0, isA ? 0 : 8};
  coordinates.k = {0, isA ? 0 : 8, isA ? 8 : 0};
  if (order == TileOrder::RowMajor)
    coordinates.row.inMatrix = 1;
  else
    coordinates.k.inMatrix = 1;
  return coordinates;
}

std::pair<int64_t, int64_t> tesa::getAccumulatorPosition(int64_t lane,
                                                         int64_t i) {
  return {lane / 4 + 8 * (i / 2), 2 * (lane % 4) + i % 2};
}

std::pair<int64_t, int64_t> tesa::getAccumulatorOfA(int64_t reg,
                                                    int64_t element) {
  // A registers 0-3 hold (row, k) = (g, 2t), (g + 8, 2t), (g, 2t + 8),
  // (g + 8, 2t + 8) (plus `element`); accumulators 0-3 of an m16n8 tile
  // hold (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1).
  return {reg / 2, 2 * (reg % 2) + element};
}

MmaAtomEmitter::MmaAtomEmitter(KernelEmitter &e, Value lane)
    : e(e), lane(lane) {}

Value MmaAtomEmitter::evaluate(const LaneTerm &term) {
  Value inMatrix = e.affine(e.rem(lane, 8), term.inMatrix);
  Value low = e.affine(e.rem(e.div(lane, 8), 2), term.lowMatrix);
  Value high = e.affine(e.div(lane, 16), term.highMatrix);
  return e.add(inMatrix, e.add(low, high));
}

Value MmaAtomEmitter::loadFragments(MmaOperand operand, TileOrder order,
                                    Value tile, Value stage, Value row,
                                    Value k) {
  LaneCoordinates at = getFragmentLoadCoordinates(operand, order);
  Value laneRow = e.add(row, evaluate(at.row));
  Value laneK = e.add(k, evaluate(at.k));
  SmallVector<Value> indices = {stage, laneRow, laneK};
  if (order == TileOrder::KMajor)
    indices = {stage, laneK, laneRow};
  auto type = VectorType::get({4, 2}, e.b.getF16Type());
  return nvgpu::LdMatrixOp::create(e.b, type, tile, indices,
                                   e.b.getBoolAttr(isTransposedLoad(order)),
                                   e.b.getI32IntegerAttr(4));
}

Value MmaAtomEmitter::getBHalf(Value fragments, int64_t half) {
  // Row by row: the LLVM lowering takes 2-D vectors as arrays of rows.
  auto type = VectorType::get({2, 2}, e.b.getF16Type());
  Value result = arith::ConstantOp::create(
      e.b, DenseElementsAttr::get(type, e.b.getF16FloatAttr(0.0)));
  for (int64_t row = 0; row < 2; ++row) {
    Value registers = vector::ExtractOp::create(
        e.b, fragments, ArrayRef<int64_t>{2 * half + row});
    result = vector::InsertOp::create(e.b, registers, result,
                                      ArrayRef<int64_t>{row});
  }
  return result;
}

Value MmaAtomEmitter::multiply(Value a, Value b, Value acc) {
  return nvgpu::MmaSyncOp::create(e.b, a, b, acc,
                                  ArrayRef<int64_t>{16, 8, 16});
}

/// A 2-D vector of `rows` rows of two `values` each, built row by row (the
/// LLVM lowering takes 2-D vectors as arrays of rows).
static Value makeRows(KernelEmitter &e, ArrayRef<Value> values) {
  Type element = values.front().getType();
  int64_t rows = values.size() / 2;
  auto type = VectorType::get({rows, 2}, element);
  Value result = arith::ConstantOp::create(
      e.b, DenseElementsAttr::get(type, e.b.getZeroAttr(element)));
  for (int64_t row = 0; row < rows; ++row) {
    Value pair = vector::FromElementsOp::create(
        e.b, VectorType::get({2}, element), values.slice(2 * row, 2));
    result = vector::InsertOp::create(e.b, pair, result,
                                      ArrayRef<int64_t>{row});
  }
  return result;
}

Value MmaAtomEmitter::accumulatorsToA(Value left, Value right) {
  SmallVector<Value> values;
  for (int64_t reg = 0; reg < 4; ++reg)
    for (int64_t element = 0; element < 2; ++element) {
      auto [tile, i] = getAccumulatorOfA(reg, element);
      values.push_back(e.convert(getAccumulator(tile ? right : left, i),
                                 e.b.getF16Type()));
    }
  return makeRows(e, values);
}

Value MmaAtomEmitter::makeAccumulator(ArrayRef<Value> values) {
  return makeRows(e, values);
}

Value MmaAtomEmitter::zeroAccumulator() {
  auto type = VectorType::get({2, 2}, e.b.getF32Type());
  return arith::ConstantOp::create(
      e.b, DenseElementsAttr::get(type, e.b.getF32FloatAttr(0.0)));
}

Value MmaAtomEmitter::getAccumulator(Value acc, int64_t i) {
  return vector::ExtractOp::create(e.b, acc, ArrayRef<int64_t>{i / 2, i % 2});
}

std::pair<Value, Value> MmaAtomEmitter::getAccumulatorPosition(int64_t i) {
  return {e.affine(e.div(lane, 4), 1, 8 * (i / 2)),
          e.affine(e.rem(lane, 4), 2, i % 2)};
}
