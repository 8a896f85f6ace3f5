//===- StructuredLayoutTest.cpp - Packed 2:4 block rows -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Where the packed values of a 2:4 structured part lie
// (lib/Conversion/PartsToGPU/PartLayout.cpp): in the order of the mma.sp
// fragments, or in reduction order for the warpgroup kernel
// (PartLayout::structuredRows), which parts that kernel takes
// (canUseWgmmaStructured), and where it splits its walks
// (getWgmmaBlockSplit).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "PartKernels.h"

#include "gtest/gtest.h"

#include <random>
#include <set>

using namespace tesa;

namespace {

const ChipDescription &chip(llvm::StringRef name) {
  return llvm::cantFail(getChip(name));
}

/// A 2:4 lhs of `channels` x `reduction` keeping two elements of every four
/// at random positions (16 bits).
SparsityMap randomTwoFour(int64_t channels, int64_t reduction) {
  std::mt19937 rng(7);
  std::vector<uint8_t> map(channels * reduction, 0);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t g = 0; g < reduction / 4; ++g) {
      int64_t first = rng() % 4, second = (first + 1 + rng() % 3) % 4;
      map[c * reduction + 4 * g + first] = 16;
      map[c * reduction + 4 * g + second] = 16;
    }
  return llvm::cantFail(
      SparsityMap::get({channels, reduction}, {channels, reduction}, map));
}

PartLayout structuredLayout(const SparsityMap &map, int64_t columns,
                            llvm::StringRef chipName = "sm_90",
                            llvm::ArrayRef<int64_t> block = {64, 64}) {
  return buildPartLayout(map, /*sparseIsLhs=*/true, columns,
                         PartKernel::Structured, block, 16, chip(chipName));
}

/// Each block row's packed values name each kept element of its block once.
void expectEveryKeptElementOnce(const PartLayout &layout,
                                const SparsityMap &map) {
  std::vector<uint8_t> bits = map.getEntriesOn(map.getShape());
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  int64_t reduction = map.getShape()[1];
  for (size_t w = 0; w + 1 < layout.offsets.size(); ++w)
    for (int64_t e = layout.offsets[w]; e < layout.offsets[w + 1]; ++e)
      for (int64_t r = 0; r < bc; ++r) {
        int64_t channel = layout.rows[w] * bc + r;
        std::set<int64_t> named;
        for (int64_t p = 0; p < br / 2; ++p)
          named.insert(layout.getStructuredOffset(e, r, p));
        EXPECT_EQ(int64_t(named.size()), br / 2);
        for (int64_t c = 0; c < br; ++c) {
          if (bits[channel * reduction + layout.entries[e] * br + c]) {
            EXPECT_TRUE(named.count(c)) << "channel " << channel << " k " << c;
          }
        }
      }
}

TEST(StructuredLayout, FragmentOrderNamesEveryKeptElement) {
  SparsityMap map = randomTwoFour(128, 128);
  expectEveryKeptElementOnce(structuredLayout(map, 256), map);
}

TEST(StructuredLayout, RowOrderIsReductionOrder) {
  SparsityMap map = randomTwoFour(128, 128);
  PartLayout layout = structuredLayout(map, 256);
  layout.structuredRows = true;
  expectEveryKeptElementOnce(layout, map);
  // Value p of a row: group p / 2 of the 32-deep step p / 16, the first of
  // the group's two before the second.
  for (int64_t p = 0; p < 32; ++p) {
    PartLayout::StructuredPosition at = layout.getStructuredPosition(p);
    EXPECT_EQ(at.step, p / 16);
    EXPECT_EQ(at.group, p % 16 / 2);
    EXPECT_EQ(at.value, p % 2);
    int64_t offset = layout.getStructuredOffset(0, 5, p);
    EXPECT_EQ(offset / 4, 8 * at.step + at.group);
    if (at.value == 1) {
      EXPECT_LT(layout.getStructuredOffset(0, 5, p - 1), offset);
    }
  }
}

TEST(StructuredLayout, WarpgroupKernelTakesWideSm90Parts) {
  SparsityMap map = randomTwoFour(128, 128);
  EXPECT_TRUE(canUseWgmmaStructured(structuredLayout(map, 256), chip("sm_90")));
  EXPECT_TRUE(canUseWgmmaStructured(structuredLayout(map, 64, "sm_90", {64, 32}),
                                    chip("sm_90")));
  // No warpgroup tensor cores; fewer than 64 columns; blocks of 32
  // channels (less than a warpgroup's rows) or 128 reduction elements (a
  // packed row of 128 bytes, the dense one of 256).
  EXPECT_FALSE(
      canUseWgmmaStructured(structuredLayout(map, 256, "sm_80"), chip("sm_80")));
  EXPECT_FALSE(canUseWgmmaStructured(structuredLayout(map, 32), chip("sm_90")));
  EXPECT_FALSE(canUseWgmmaStructured(
      structuredLayout(map, 256, "sm_90", {32, 64}), chip("sm_90")));
  EXPECT_FALSE(canUseWgmmaStructured(
      structuredLayout(map, 256, "sm_90", {64, 128}), chip("sm_90")));
}

/// A structured layout of a random 2:4 lhs as the lowering makes it for
/// the warpgroup kernel.
PartLayout warpgroupLayout(int64_t channels, int64_t reduction,
                           int64_t columns) {
  PartLayout layout =
      structuredLayout(randomTwoFour(channels, reduction), columns);
  layout.structuredRows = true;
  return layout;
}

TEST(StructuredLayout, WarpgroupKernelSplitsTheWalksOfFewTiles) {
  const ChipDescription &sm90 = chip("sm_90");
  ASSERT_EQ(sm90.multiprocessors, 132u);
  // BERT-base's FFN2 at 128 tokens: 12 block rows by two tiles of 64
  // columns (24 tiles), 48 steps each: slices for two blocks of threads a
  // multiprocessor (11), at most eight (a portable cluster): 192 blocks in
  // clusters of eight, each cluster a tile's slices.
  PartLayout ffn2 = warpgroupLayout(768, 3072, 128);
  EXPECT_EQ(getWgmmaBlockSplit(ffn2, sm90), 8);
  KernelLaunch compute = getWgmmaBlockLaunch(ffn2, sm90);
  EXPECT_EQ(compute.grid[0], 12 * 8);
  EXPECT_EQ(compute.grid[1], 2);
  EXPECT_EQ(compute.clusterBlocks, 8);
  // The FFN1 product at 128 tokens: 48 block rows by two tiles (96, fewer
  // than two a multiprocessor), 12 steps each: three slices of four.
  EXPECT_EQ(getWgmmaBlockSplit(warpgroupLayout(3072, 768, 128), sm90), 3);
  // An MLP's 4096 x 4096 product at 128 rows: 128 tiles of 64 steps, three
  // slices.
  EXPECT_EQ(getWgmmaBlockSplit(warpgroupLayout(4096, 4096, 128), sm90), 3);
  // The sums of a warpgroup (64 x 64 f32) fit where the rings were.
  EXPECT_GE(compute.sharedBytes, 64 * 64 * 4);
  // Walks of 12 steps: at most three slices of four.
  EXPECT_EQ(getWgmmaBlockSplit(warpgroupLayout(768, 768, 128), sm90), 3);
  // Walks of four steps, and tiles that give every multiprocessor two (the
  // FFN1 product at 4096 tokens), are not split.
  EXPECT_EQ(getWgmmaBlockSplit(warpgroupLayout(768, 256, 128), sm90), 1);
  PartLayout ffn1 = warpgroupLayout(3072, 768, 4096);
  EXPECT_EQ(getWgmmaBlockSplit(ffn1, sm90), 1);
  EXPECT_EQ(getWgmmaBlockLaunch(ffn1, sm90).clusterBlocks, 1);
}

} // namespace
