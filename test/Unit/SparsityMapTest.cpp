//===- SparsityMapTest.cpp - Tests of tesa::SparsityMap -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/SparsityMap.h"

#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <random>

using namespace tesa;

namespace {

SparsityMap makeMap(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> grid,
                    std::vector<uint8_t> entries) {
  llvm::Expected<SparsityMap> map = SparsityMap::get(shape, grid, entries);
  if (!map) {
    ADD_FAILURE() << llvm::toString(map.takeError());
    return SparsityMap::getUniform(shape, 32);
  }
  return std::move(*map);
}

std::string errorOf(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> grid,
                    std::vector<uint8_t> entries) {
  llvm::Expected<SparsityMap> map = SparsityMap::get(shape, grid, entries);
  if (map)
    return "";
  return llvm::toString(map.takeError());
}

TEST(SparsityMapTest, UniformMap) {
  SparsityMap map = SparsityMap::getUniform({4, 6}, 8);
  EXPECT_EQ(map.getNumElements(), 24);
  EXPECT_EQ(map.getNumBlocks(), 1);
  EXPECT_EQ(map.getBits({3, 5}), 8);
  EXPECT_EQ(map.getNumKept(), 24);
  EXPECT_EQ(map.getUniformBits(), std::optional<uint8_t>(8));
  EXPECT_TRUE(map.isCanonical());
}

TEST(SparsityMapTest, RejectsBadInput) {
  EXPECT_NE(errorOf({4, 4}, {2}, {8, 8}).find("rank"), std::string::npos);
  EXPECT_NE(errorOf({4, 4}, {3, 1}, {8, 8, 8}).find("does not divide"),
            std::string::npos);
  EXPECT_NE(errorOf({4, 4}, {2, 2}, {8, 8, 8}).find("3 entries"),
            std::string::npos);
  EXPECT_NE(errorOf({4, 4}, {2, 2}, {8, 8, 7, 8}).find("entry 2 is 7"),
            std::string::npos);
  EXPECT_NE(errorOf({4, 4}, {0, 2}, {}).find("no entries"), std::string::npos);
  EXPECT_NE(errorOf({4, 4}, {0, 2}, {8}).find("positive"), std::string::npos);
  EXPECT_NE(errorOf({-1, 4}, {1, 1}, {8}).find("not static"),
            std::string::npos);
}

TEST(SparsityMapTest, ElementAndBlockQueries) {
  // 4x6 tensor, 2x3 grid of 2x2 blocks.
  SparsityMap map = makeMap({4, 6}, {2, 3}, {32, 0, 8, 0, 16, 4});
  EXPECT_EQ(map.getBlockShape(), (llvm::SmallVector<int64_t>{2, 2}));
  EXPECT_EQ(map.getBits({0, 0}), 32);
  EXPECT_EQ(map.getBits({1, 1}), 32);
  EXPECT_TRUE(map.isPruned({0, 2}));
  EXPECT_EQ(map.getBits({1, 5}), 8);
  EXPECT_EQ(map.getBits({3, 3}), 16);
  EXPECT_EQ(map.getBits({2, 4}), 4);
  EXPECT_EQ(map.getBlockBits({1, 2}), 4);
}

TEST(SparsityMapTest, CountsAndHistogram) {
  SparsityMap map = makeMap({4, 6}, {2, 3}, {32, 0, 8, 0, 16, 4});
  EXPECT_EQ(map.getNumKept(), 16);
  EXPECT_EQ(map.getNumPruned(), 8);
  EXPECT_DOUBLE_EQ(map.getKeptFraction(), 16.0 / 24.0);
  BitHistogram histogram = map.getBitHistogram();
  EXPECT_EQ(histogram[0], 8);
  EXPECT_EQ(histogram[4], 4);
  EXPECT_EQ(histogram[8], 4);
  EXPECT_EQ(histogram[16], 4);
  EXPECT_EQ(histogram[32], 4);
}

TEST(SparsityMapTest, MeetUnitesPrunedAndTakesNarrowestBits) {
  // Rows 0-1 pruned in the first, columns 2-3 at 8 bits in the second.
  SparsityMap rows = makeMap({4, 4}, {2, 1}, {0, 32});
  SparsityMap cols = makeMap({4, 4}, {1, 2}, {16, 8});
  SparsityMap meet = rows.meet(cols);
  EXPECT_EQ(meet.getGridShape(), (llvm::ArrayRef<int64_t>{2, 2}));
  EXPECT_EQ(meet.getEntries(), (llvm::ArrayRef<uint8_t>{0, 0, 16, 8}));
  EXPECT_TRUE(meet.isEquivalentTo(cols.meet(rows)));
  // Meeting with full precision changes nothing.
  EXPECT_TRUE(rows.meet(SparsityMap::getUniform({4, 4}, 32)).isEquivalentTo(rows));
}

TEST(SparsityMapTest, MeetOfMisalignedGrids) {
  // Grids 2 and 3 along a dimension of 6 meet on grid 6, here coarsened
  // back to 3: [8 8 8 32 32 32] meet [32 32 0 0 16 16] = [8 8 0 0 16 16].
  SparsityMap halves = makeMap({6}, {2}, {8, 32});
  SparsityMap thirds = makeMap({6}, {3}, {32, 0, 16});
  SparsityMap meet = halves.meet(thirds);
  EXPECT_EQ(meet.getEntries(), (llvm::ArrayRef<uint8_t>{8, 0, 16}));
  EXPECT_EQ(meet.getGridShape(), (llvm::ArrayRef<int64_t>{3}));
  // Here no coarser grid is exact: [8 8 8 16 16 16] meet [4 4 32 32 32 32].
  SparsityMap halves2 = makeMap({6}, {2}, {8, 16});
  SparsityMap thirds2 = makeMap({6}, {3}, {4, 32, 32});
  EXPECT_EQ(halves2.meet(thirds2).getEntries(),
            (llvm::ArrayRef<uint8_t>{4, 4, 8, 16, 16, 16}));
}

TEST(SparsityMapTest, CanonicalIsCoarsestExactGrid) {
  // A per-element 4x4 map that is uniform on 2x2 blocks.
  SparsityMap perElement = makeMap(
      {4, 4}, {4, 4}, {8, 8, 0, 0, 8, 8, 0, 0, 16, 16, 32, 32, 16, 16, 32, 32});
  SparsityMap canonical = perElement.getCanonical();
  EXPECT_EQ(canonical, makeMap({4, 4}, {2, 2}, {8, 0, 16, 32}));
  EXPECT_TRUE(canonical.isCanonical());
  EXPECT_FALSE(perElement.isCanonical());
  // Coarsening along one dimension only.
  SparsityMap rowsOnly = makeMap({2, 4}, {2, 4}, {8, 0, 8, 16, 8, 0, 8, 16});
  EXPECT_EQ(rowsOnly.getCanonical(), makeMap({2, 4}, {1, 4}, {8, 0, 8, 16}));
  // A period that is not a power of two.
  SparsityMap period3 = makeMap({6}, {6}, {8, 8, 8, 0, 0, 0});
  EXPECT_EQ(period3.getCanonical(), makeMap({6}, {2}, {8, 0}));
  SparsityMap period2of6 = makeMap({6}, {6}, {8, 8, 0, 0, 8, 8});
  EXPECT_EQ(period2of6.getCanonical(), makeMap({6}, {3}, {8, 0, 8}));
  // Uniform maps become a single cell.
  EXPECT_EQ(makeMap({4}, {4}, {0, 0, 0, 0}).getCanonical(),
            SparsityMap::getUniform({4}, 0));
}

TEST(SparsityMapTest, CanonicalOfExpandedRandomBlockMaps) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    int64_t gridRows = 1 + rng() % 4, gridCols = 1 + rng() % 4;
    int64_t blockRows = 1 + rng() % 3, blockCols = 1 + rng() % 3;
    std::vector<uint8_t> entries(gridRows * gridCols);
    for (uint8_t &e : entries)
      e = kAllowedBits[rng() % kAllowedBits.size()];
    llvm::SmallVector<int64_t> shape = {gridRows * blockRows,
                                        gridCols * blockCols};
    SparsityMap blocks = makeMap(shape, {gridRows, gridCols}, entries);
    llvm::Expected<SparsityMap> perElement = blocks.regrid(shape);
    ASSERT_TRUE(static_cast<bool>(perElement));
    // The canonical form of the per-element map equals that of the block map
    // and is at least as coarse.
    EXPECT_EQ(perElement->getCanonical(), blocks.getCanonical());
    for (unsigned d = 0; d < 2; ++d)
      EXPECT_EQ(blocks.getGridShape()[d] %
                    blocks.getCanonical().getGridShape()[d],
                0);
    // Every element agrees.
    for (int64_t i = 0; i < shape[0]; ++i)
      for (int64_t j = 0; j < shape[1]; ++j)
        ASSERT_EQ(perElement->getBits({i, j}), blocks.getBits({i, j}));
  }
}

TEST(SparsityMapTest, Regrid) {
  SparsityMap map = makeMap({4, 4}, {2, 2}, {8, 0, 16, 32});
  llvm::Expected<SparsityMap> fine = map.regrid({4, 2});
  ASSERT_TRUE(static_cast<bool>(fine));
  EXPECT_EQ(fine->getEntries(),
            (llvm::ArrayRef<uint8_t>{8, 0, 8, 0, 16, 32, 16, 32}));
  llvm::Expected<SparsityMap> coarse = map.regrid({1, 1});
  ASSERT_FALSE(static_cast<bool>(coarse));
  EXPECT_NE(llvm::toString(coarse.takeError()).find("not uniform"),
            std::string::npos);
  llvm::Expected<SparsityMap> bad = map.regrid({3, 1});
  ASSERT_FALSE(static_cast<bool>(bad));
  llvm::consumeError(bad.takeError());
}

TEST(SparsityMapTest, BlockViewKeepsAnyKeptBlockAtWidestBits) {
  SparsityMap map = makeMap({4, 4}, {4, 4},
                            {0, 0, 0, 8, 0, 0, 0, 0, 4, 16, 0, 0, 0, 0, 0, 0});
  SparsityMap view = map.getBlockView({2, 2});
  EXPECT_EQ(view.getEntries(), (llvm::ArrayRef<uint8_t>{0, 8, 16, 0}));
  EXPECT_EQ(map.getKeptCountsPerBlock({2, 2}),
            (std::vector<int64_t>{0, 1, 2, 0}));
  // A view on a grid that does not align with the map's grid.
  SparsityMap thirds = makeMap({6}, {3}, {0, 8, 0});
  EXPECT_EQ(thirds.getBlockView({2}).getEntries(),
            (llvm::ArrayRef<uint8_t>{8, 8}));
  EXPECT_EQ(thirds.getKeptCountsPerBlock({2}), (std::vector<int64_t>{1, 1}));
}

TEST(SparsityMapTest, ScalarAndEmptyTensors) {
  SparsityMap scalar = makeMap({}, {}, {4});
  EXPECT_EQ(scalar.getNumElements(), 1);
  EXPECT_EQ(scalar.getBits({}), 4);
  SparsityMap empty = makeMap({0, 4}, {1, 2}, {8, 0});
  EXPECT_EQ(empty.getNumElements(), 0);
  EXPECT_EQ(empty.getNumKept(), 0);
  EXPECT_DOUBLE_EQ(empty.getKeptFraction(), 1.0);
}

TEST(SparsityMapTest, LargePerElementMapCostsAByteAnElement) {
  constexpr int64_t n = 4096;
  std::vector<uint8_t> entries(n * n);
  std::mt19937 rng(1);
  for (uint8_t &e : entries)
    e = (rng() % 10 == 0) ? 32 : 0;
  SparsityMap map = makeMap({n, n}, {n, n}, std::move(entries));
  EXPECT_EQ(map.getEntries().size(), static_cast<size_t>(n * n));
  // A random map has no coarser exact grid.
  SparsityMap canonical = map.getCanonical();
  EXPECT_EQ(canonical.getGridShape(), (llvm::ArrayRef<int64_t>{n, n}));
  EXPECT_NEAR(map.getKeptFraction(), 0.1, 0.01);
}

TEST(SparsityMapTest, Print) {
  std::string text;
  llvm::raw_string_ostream os(text);
  makeMap({4, 4}, {2, 2}, {8, 0, 16, 32}).print(os);
  EXPECT_EQ(text, "4x4 grid 2x2 [8 0 16 32]");
}

} // namespace
