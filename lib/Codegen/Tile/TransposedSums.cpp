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

int64_t tesa::getTransposedRunAccumulator(int64_t run) {
  // Run r holds column r mod 8 + 8 (r / 16) from row 8 ((r / 8) mod 2):
  // the column's parity is bit 0 of its accumulator, the rows' half bit
  // 1, its group of eight columns the bits above.
  return run % 2 + 2 * ((run / 8) % 2) + 4 * (run / 16);
}

int64_t tesa::getTransposedShareRun(int64_t index, int64_t slice,
                                    int64_t split) {
  // The bits of the run that the accumulator's low bits fix (0, 3, 4:
  // see getTransposedRunAccumulator) are the slice's; the others, in
  // order, are the index's.
  switch (split) {
  case 1:
    return index;
  case 2:
    return slice + 2 * index;
  case 4:
    return slice % 2 + 2 * (index % 4) + 8 * (slice / 2) + 16 * (index / 4);
  case 8:
    return slice % 2 + 2 * (index % 4) + 8 * ((slice / 2) % 2) +
           16 * (slice / 4) + 32 * (index / 4);
  }
  llvm_unreachable("a share of a split of 1, 2, 4 or 8");
}

/// The word of lane 0's area that holds its accumulator `i`.
static int64_t getAccumulatorWord(int64_t i) {
  auto [row, column] = getWgmmaAccumulatorPosition(0, i);
  return getTransposedWord(row, column);
}

void TransposedSums::setShare(Value shareSlice, int64_t shareSplit) {
  assert((shareSplit == 2 || shareSplit == 4 || shareSplit == 8) &&
         "a share of a split of 2, 4 or 8");
  slice = shareSlice;
  split = shareSplit;
}

int64_t TransposedSums::getRunsPerLane() const {
  return llvm::divideCeil(getWarpRuns(), kLanes);
}

bool TransposedSums::everyLaneHasRuns() const {
  return getWarpRuns() % kLanes == 0;
}

Value TransposedSums::hasRun(Value thread, int64_t k) {
  return e.less(e.affine(e.rem(thread, kLanes), 1, kLanes * k),
                getWarpRuns());
}

Value TransposedSums::getRun(Value index) {
  if (split == 1)
    return index;
  // getTransposedShareRun, as index arithmetic on the slice.
  Value low = split == 2 ? e.affine(index, 2) : e.affine(e.rem(index, 4), 2);
  Value run = e.add(e.rem(slice, 2), low);
  if (split == 2)
    return run;
  run = e.add(run, e.affine(e.rem(e.div(slice, 2), 2), 8));
  if (split == 4)
    return e.add(run, e.affine(e.div(index, 4), 16));
  return e.add(e.add(run, e.affine(e.div(slice, 4), 16)),
               e.affine(e.div(index, 4), 32));
}

Value TransposedSums::getAddress(Value thread, Value word) {
  int64_t warpBytes = getTransposedSumsBytes(columns) / 4;
  Value offset =
      e.add(e.affine(e.div(thread, kLanes), warpBytes), e.affine(word, 4));
  return getSharedPointer(e, e.add(base, offset));
}

void TransposedSums::write(Value thread, ArrayRef<Value> sums) {
  // The lane's word (where getWgmmaAccumulatorPosition puts its
  // accumulator 0 in warp 0's rows), then each accumulator's offset from
  // it, a constant.
  Value lane = e.rem(thread, kLanes);
  Value laneWord = e.add(e.affine(e.rem(lane, 4), 2 * kTransposedColumnWords),
                         e.div(lane, 4));
  // A share's accumulator slice + u split is at the word of the slice's
  // plus that of u split: the word is a sum over the index's bits (0, 1
  // and those above), of which the slice's and u split's are distinct.
  if (split > 1) {
    Value sliceWord =
        e.add(e.add(e.affine(e.rem(slice, 2), getAccumulatorWord(1)),
                    e.affine(e.rem(e.div(slice, 2), 2), getAccumulatorWord(2))),
              e.affine(e.div(slice, 4), getAccumulatorWord(4)));
    laneWord = e.add(laneWord, sliceWord);
  }
  assert(int64_t(sums.size()) == columns / 2 / split && "a sum per accumulator");
  Value first = getAddress(thread, laneWord);
  for (auto [u, sum] : llvm::enumerate(sums)) {
    Value at = LLVM::GEPOp::create(
        e.b, first.getType(), e.b.getF32Type(), first,
        ArrayRef<LLVM::GEPArg>{
            int32_t(getAccumulatorWord(int64_t(u) * split))});
    LLVM::StoreOp::create(e.b, sum, at);
  }
}

std::pair<Value, Value> TransposedSums::getRunPosition(Value thread,
                                                       int64_t k) {
  // getTransposedRun of the lanes' run 32 k + lane.
  Value run = getRun(e.affine(e.rem(thread, kLanes), 1, kLanes * k));
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
