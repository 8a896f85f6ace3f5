//===- TransposeTilingTest.cpp - The elementwise family's transpose grid --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// getTransposeTiling (lib/Codegen/Families/Elementwise.cpp): one block of
// 32 x 8 threads a tile of 32 x 32 elements, tiles along the source's
// columns (x) and rows (y), partial tiles at the edges.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

TEST(TransposeTiling, OneBlockATileOfThirtyTwo) {
  TransposeTiling tiling = getTransposeTiling(/*rows=*/128, /*columns=*/768);
  EXPECT_EQ(tiling.grid, (std::array<int64_t, 3>{24, 4, 1}));
  EXPECT_EQ(tiling.threads, 256);
}

TEST(TransposeTiling, PartialTilesAtTheEdges) {
  EXPECT_EQ(getTransposeTiling(40, 72).grid, (std::array<int64_t, 3>{3, 2, 1}));
  EXPECT_EQ(getTransposeTiling(1, 1).grid, (std::array<int64_t, 3>{1, 1, 1}));
  EXPECT_EQ(getTransposeTiling(33, 32).grid, (std::array<int64_t, 3>{1, 2, 1}));
}

} // namespace
