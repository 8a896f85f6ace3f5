//===- StridedAccessTest.cpp - The tile layer's index math ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/StridedAccess.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace tesa;

namespace {

TEST(StridedAccess, RowMajorStrides) {
  EXPECT_EQ(getRowMajorStrides({4, 5, 6}),
            (llvm::SmallVector<int64_t>{30, 6, 1}));
  EXPECT_EQ(getRowMajorStrides({7}), (llvm::SmallVector<int64_t>{1}));
}

TEST(StridedAccess, TransposeFoldedIntoTheMap) {
  MLIRContext context;
  // The batched product (b, m, n, k) reading k of shape [s, h, d] through
  // (b, m, n, k) -> (n, b, k): a transpose to [h, d, s] folded away.
  AffineMap map = AffineMap::get(
      4, 0,
      {getAffineDimExpr(2, &context), getAffineDimExpr(0, &context),
       getAffineDimExpr(3, &context)},
      &context);
  // s = 5, h = 3, d = 4: strides 12, 4, 1 for s, h, d.
  EXPECT_EQ(getLoopStrides(map, {5, 3, 4}),
            (llvm::SmallVector<int64_t>{4, 0, 12, 1}));
}

TEST(StridedAccess, BroadcastLoopsHaveNoStride) {
  MLIRContext context;
  // A bias read by (i, j) -> (j).
  AffineMap map =
      AffineMap::get(2, 0, {getAffineDimExpr(1, &context)}, &context);
  EXPECT_EQ(getLoopStrides(map, {64}), (llvm::SmallVector<int64_t>{0, 1}));
}

TEST(StridedAccess, PermutationsRoundTrip) {
  MLIRContext context;
  AffineMap map = AffineMap::getPermutationMap(
      llvm::ArrayRef<unsigned>{1, 2, 0}, &context);
  llvm::SmallVector<int> loops = {10, 20, 30};
  llvm::SmallVector<int> coordinates =
      applyProjectedPermutation<int>(map, loops);
  EXPECT_EQ(coordinates, (llvm::SmallVector<int>{20, 30, 10}));
  EXPECT_EQ(invertPermutation<int>(map, coordinates), loops);
}


TEST(StridedAccess, ExpandedDimensionsAreRowMajorWithinTheirStride) {
  // 768 columns of stride 1 as 12 heads of 64.
  EXPECT_EQ(getExpandedStrides(1, {12, 64}),
            (llvm::SmallVector<int64_t>{64, 1}));
  // A row of stride 768 as a unit batch and 128 rows.
  EXPECT_EQ(getExpandedStrides(768, {1, 128}),
            (llvm::SmallVector<int64_t>{128 * 768, 768}));
}

TEST(StridedAccess, CollapsedDimensionsMustBeEvenlySpaced) {
  // Heads of 64 contiguous elements collapse into 768 columns.
  EXPECT_EQ(getCollapsedStride({12, 64}, {64, 1}), 1);
  // Unit dimensions do not matter, whatever their stride.
  EXPECT_EQ(getCollapsedStride({1, 12}, {5, 64}), 64);
  EXPECT_EQ(getCollapsedStride({1, 1}, {7, 3}), 1);
  // Heads transposed before the rows (12 x 128 x 64 read as 128 x 12 x
  // 64): a row's 12 heads are 8192 apart, not 64.
  EXPECT_EQ(getCollapsedStride({12, 64}, {8192, 1}), std::nullopt);
  // A strided inner dimension collapses when the outer one follows it.
  EXPECT_EQ(getCollapsedStride({4, 8}, {16, 2}), 2);
}

} // namespace
