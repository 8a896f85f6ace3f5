//===- DecodeProductTest.cpp - Which products are decode products ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The rules of lib/Conversion/PartsToGPU/DecodeProductKernel.cpp: which parts
// one launch may compute (columns, layouts, workgroup memory) and how its
// grid divides the channels.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

const ChipDescription &sm90() { return llvm::cantFail(getChip("sm_90")); }

/// The SIMT layout a decode product takes for a part of `x @ W` (W of
/// `reduction` x `channels`, every element kept at `bits`) with `columns`
/// rows of x.
PartLayout decodeLayout(int64_t reduction, int64_t channels, int64_t columns,
                        unsigned bits) {
  PartLayout layout = buildPartLayout(
      SparsityMap::getUniform({reduction, channels}, uint8_t(bits)),
      /*sparseIsLhs=*/false, columns, PartKernel::Fine, {}, bits, sm90());
  layout.transposedDense = false;
  addEmptyWorkRows(layout);
  return layout;
}

TEST(DecodeProduct, EveryChannelIsAWorkRow) {
  PartLayout layout = buildPartLayout(
      llvm::cantFail(SparsityMap::get({4, 4}, {1, 2}, {32, 0})),
      /*sparseIsLhs=*/false, /*columns=*/8, PartKernel::Fine, {}, 32, sm90());
  EXPECT_EQ(layout.rows.size(), 2u);
  addEmptyWorkRows(layout);
  ASSERT_EQ(layout.rows.size(), 4u);
  // Channels 2 and 3 keep nothing: their rows are empty.
  EXPECT_EQ(layout.offsets, (std::vector<int32_t>{0, 4, 8, 8, 8}));
}

/// A 32-bit and an 8-bit part of `x @ W` as decodeLayout lays them out.
std::vector<PartLayout> mixedParts(int64_t reduction, int64_t channels,
                                   int64_t columns) {
  return {decodeLayout(reduction, channels, columns, 32),
          decodeLayout(reduction, channels, columns, 8)};
}

TEST(DecodeProduct, PaddedRowsHoldWholeSteps) {
  PartLayout layout = buildPartLayout(
      llvm::cantFail(SparsityMap::get({8, 4}, {1, 2}, {32, 0})),
      /*sparseIsLhs=*/false, /*columns=*/8, PartKernel::Fine, {}, 32, sm90());
  addEmptyWorkRows(layout);
  // Channels 0 and 1 keep eight elements, 2 and 3 none.
  ASSERT_EQ(layout.offsets, (std::vector<int32_t>{0, 8, 16, 16, 16}));
  padWorkRows(layout, /*multiple=*/6, /*filler=*/-1);
  // Eight entries take two steps of six; an empty row takes one.
  EXPECT_EQ(layout.offsets, (std::vector<int32_t>{0, 12, 24, 30, 36}));
  EXPECT_EQ(layout.rowMultiple, 6);
  EXPECT_EQ(layout.entries[7], 7 | 1 << 24);
  EXPECT_EQ(layout.entries[8], -1);
  EXPECT_EQ(layout.entries[12], 0 | 1 << 24);
  EXPECT_EQ(layout.entries[24], -1);
}

TEST(DecodeProduct, FloatEntriesOfFourReadWholeGroups) {
  // Every element kept: entries of four, each with all four lanes.
  PartLayout layout = regroupInFours(buildPartLayout(
      SparsityMap::getUniform({10, 2}, 32), /*sparseIsLhs=*/false,
      /*columns=*/4, PartKernel::Fine, {}, 32, sm90()));
  EXPECT_EQ(layout.group, 4);
  // Reduction 10: groups at 0, 4 and 8, the last with two lanes kept.
  ASSERT_EQ(layout.offsets, (std::vector<int32_t>{0, 3, 6}));
  EXPECT_EQ(layout.entries[2], 8 | 3 << 24);
  EXPECT_EQ(layout.getNumKept(), 20);
}

TEST(DecodeProduct, RegroupingMergesEntriesOfOneGroup) {
  // x @ W with W 8 x 1 (one channel) keeping k = 1, 2 and 5.
  PartLayout layout = buildPartLayout(
      llvm::cantFail(SparsityMap::get(
          {8, 1}, {8, 1}, {0, 32, 32, 0, 0, 32, 0, 0})),
      /*sparseIsLhs=*/false, /*columns=*/4, PartKernel::Fine, {}, 32, sm90());
  ASSERT_EQ(layout.group, 1);
  ASSERT_EQ(layout.getNumEntries(), 3);
  PartLayout inFours = regroupInFours(layout);
  // k = 1 and 2 share the group at 0 (lanes 1 and 2); k = 5 is lane 1 of
  // the group at 4.
  EXPECT_EQ(inFours.entries,
            (std::vector<int32_t>{0 | 0b0110 << 24, 4 | 0b0010 << 24}));
  EXPECT_EQ(inFours.offsets, (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(inFours.getNumKept(), 3);
}

TEST(DecodeProduct, AtMost64Columns) {
  EXPECT_TRUE(fitsDecodeProduct(mixedParts(64, 128, 64), sm90()));
  EXPECT_FALSE(fitsDecodeProduct(mixedParts(64, 128, 65), sm90()));
}

TEST(DecodeProduct, StagedOperandFitsStaticWorkgroupMemory) {
  // 16 columns of K + 5 floats and K + 4 int8 values (K in whole groups of
  // four, then a group of zeros), 256 partial sums and 16 scales and their
  // inverses within 48 KiB: K at most 592.
  EXPECT_TRUE(fitsDecodeProduct(mixedParts(592, 64, 16), sm90()));
  EXPECT_FALSE(fitsDecodeProduct(mixedParts(593, 64, 16), sm90()));
}

TEST(DecodeProduct, PartsMustAgree) {
  std::vector<PartLayout> parts = {decodeLayout(64, 128, 16, 32),
                                   decodeLayout(64, 96, 16, 8)};
  EXPECT_FALSE(fitsDecodeProduct(parts, sm90()));
  // A part without a row per channel is not laid out for one.
  parts = {decodeLayout(64, 128, 16, 32),
           buildPartLayout(
               llvm::cantFail(SparsityMap::get({64, 128}, {1, 2}, {32, 0})),
               /*sparseIsLhs=*/false, 16, PartKernel::Fine, {}, 32, sm90())};
  EXPECT_FALSE(fitsDecodeProduct(parts, sm90()));
}

TEST(DecodeProduct, ChannelsPerBlockStillFillTheChip) {
  // 256 threads: 16 columns leave room for 16 channels a block; 512
  // channels in blocks of two give 256 blocks for 132 multiprocessors, in
  // blocks of four only 128.
  KernelLaunch launch =
      getDecodeProductLaunch(mixedParts(256, 512, 16), sm90());
  EXPECT_EQ(launch.grid, (std::array<int64_t, 2>{256, 1}));
  EXPECT_EQ(launch.block, (std::array<int64_t, 2>{256, 1}));
  // One column (a decode step) of 4096 channels: 16 channels a block.
  EXPECT_EQ(getDecodeProductLaunch(mixedParts(64, 4096, 1), sm90()).grid,
            (std::array<int64_t, 2>{256, 1}));
  // Fewer channels than multiprocessors: one a block.
  EXPECT_EQ(getDecodeProductLaunch(mixedParts(64, 100, 16), sm90()).grid,
            (std::array<int64_t, 2>{100, 1}));
}

} // namespace
