//===- TransposedSums.cpp - Accumulator columns as runs of rows -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/TransposedSums.h"
#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace tesa;

/// Rows of a warp's share of an m64nN accumulator, and lanes of a warp.
static constexpr int64_t kWarpRows = 16, kLanes = 32;

int64_t tesa::getTransposedWord(int64_t row, int64_t column) {
  return column * kTransposedColumnWords + row;
}

std::pair<int64_t, int64_t> tesa::getTransposedRun(int64_t run) {
  return {run % 8 + 8 * (run / 16), kRunRows * ((run / 8) % 2)};
}

int64_t tesa::getTransposedSumsBytes(int64_t columns) {
  return 4 * columns * kTransposedColumnWords * 4;
}

Value TransposedSums::getAddress(Value thread, Value word) {
  int64_t warpBytes = getTransposedSumsBytes(columns) / 4;
  Value offset =
      e.add(e.affine(e.div(thread, kLanes), warpBytes), e.affine(word, 4));
  return getSharedPointer(e, e.add(base, offset));
}

void TransposedSums::write(Value thread, ArrayRef<Value> sums) {
  assert(int64_t(sums.size()) == columns / 2 && "a sum per accumulator");
  // The lane's word (where getWgmmaAccumulatorPosition puts its
  // accumulator 0 in warp 0's rows), then each accumulator's offset from
  // it, a constant.
  Value lane = e.rem(thread, kLanes);
  Value laneWord = e.add(e.affine(e.rem(lane, 4), 2 * kTransposedColumnWords),
                         e.div(lane, 4));
  Value first = getAddress(thread, laneWord);
  for (auto [i, sum] : llvm::enumerate(sums)) {
    auto [row, column] = getWgmmaAccumulatorPosition(0, int64_t(i));
    Value at = LLVM::GEPOp::create(
        e.b, first.getType(), e.b.getF32Type(), first,
        ArrayRef<LLVM::GEPArg>{int32_t(getTransposedWord(row, column))});
    LLVM::StoreOp::create(e.b, sum, at);
  }
}

std::pair<Value, Value> TransposedSums::getRunPosition(Value thread,
                                                       int64_t k) {
  // getTransposedRun of run 32 k + lane.
  Value run = e.affine(e.rem(thread, kLanes), 1, kLanes * k);
  Value column = e.add(e.rem(run, 8), e.affine(e.div(run, 16), 8));
  Value row = e.add(e.affine(e.div(thread, kLanes), kWarpRows),
                    e.affine(e.rem(e.div(run, 8), 2), kRunRows));
  return {row, column};
}

SmallVector<Value> TransposedSums::read(Value thread, int64_t k) {
  auto [row, column] = getRunPosition(thread, k);
  Value word =
      e.add(e.affine(column, kTransposedColumnWords), e.rem(row, kWarpRows));
  auto quad = VectorType::get({4}, e.b.getF32Type());
  SmallVector<Value> sums;
  for (int64_t half = 0; half < kRunRows / 4; ++half) {
    Value four = LLVM::LoadOp::create(
        e.b, quad, getAddress(thread, e.affine(word, 1, 4 * half)),
        /*alignment=*/16);
    for (int64_t j = 0; j < 4; ++j)
      sums.push_back(LLVM::ExtractElementOp::create(
          e.b, four, arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(j))));
  }
  return sums;
}

void TransposedSums::syncWarp() {
  NVVM::SyncWarpOp::create(
      e.b, arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(-1)));
}
