//===- SimtLaunchTest.cpp - The plain SIMT kernel's grid
//-------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The rules of lib/Conversion/PartsToGPU/SimtKernel.cpp that shape its grid:
// how many work rows a block of threads walks and how many dense columns
// each thread computes, seen through getSimtLaunch; and where it reads the
// dense operand (getSimtDenseOffsets).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

const ChipDescription &sm90() { return llvm::cantFail(getChip("sm_90")); }

/// The SIMT layout of a fine-grained f32 part of `x @ W`, W 1024 x 1024
/// (reduction x channels), each channel keeping every `step`-th reduction
/// element, with 1024 rows of x.
PartLayout everyNthLayout(int64_t step, unsigned bits = 32) {
  constexpr int64_t n = 1024;
  std::vector<uint8_t> map(n * n, 0);
  for (int64_t k = 0; k < n; k += step)
    for (int64_t c = 0; c < n; ++c)
      map[k * n + c] = bits;
  return buildPartLayout(llvm::cantFail(SparsityMap::get({n, n}, {n, n}, map)),
                         /*sparseIsLhs=*/false, /*columns=*/n, PartKernel::Fine,
                         {}, bits, sm90());
}

TEST(SimtLaunch, ShortRowsKeepFourRowsABlock) {
  // 11 entries a row: one column a thread, four rows a block (256 blocks
  // of rows), 1024 columns in 8 blocks of 128.
  PartLayout layout = everyNthLayout(100);
  ASSERT_FALSE(usesStagedSimt(layout));
  KernelLaunch launch = getSimtLaunch(layout, sm90());
  EXPECT_EQ(launch.grid, (std::array<int64_t, 2>{256, 8}));
  EXPECT_EQ(launch.block, (std::array<int64_t, 2>{128, 1}));
}

TEST(SimtLaunch, LongRowsTakeTwoColumnsAThread) {
  // 52 entries a row: two columns a thread (4 blocks of 256 columns), two
  // rows a block.
  PartLayout layout = everyNthLayout(20);
  ASSERT_FALSE(usesStagedSimt(layout));
  KernelLaunch launch = getSimtLaunch(layout, sm90());
  EXPECT_EQ(launch.grid, (std::array<int64_t, 2>{512, 4}));
}

TEST(SimtDenseOffsets, EntryStartTimesColumns) {
  // f32 entries of one element: reduction elements 0, 100, ..., 1000 of
  // every channel, at k * 1024 in the flat [k][column] operand.
  PartLayout layout = everyNthLayout(100);
  std::vector<int32_t> offsets = getSimtDenseOffsets(layout);
  ASSERT_EQ(offsets.size(), layout.entries.size());
  EXPECT_EQ(llvm::ArrayRef(offsets).take_front(11),
            llvm::ArrayRef<int32_t>({0, 102400, 204800, 307200, 409600, 512000,
                                     614400, 716800, 819200, 921600, 1024000}));
  // int8 entries are groups of four from a multiple of four, whose kept
  // elements (bits 24-27) do not move the offset: element 100 lies in the
  // group from 100, 1000 in the group from 1000; the quantised operand is
  // [k / 4][column][4], so group g starts at g * 1024 * 4 bytes.
  PartLayout int8 = everyNthLayout(100, 8);
  ASSERT_EQ(int8.group, 4);
  std::vector<int32_t> int8Offsets = getSimtDenseOffsets(int8);
  EXPECT_EQ(int8Offsets[1], 100 / 4 * 1024 * 4);
  EXPECT_EQ(int8Offsets[10], 1000 / 4 * 1024 * 4);
}

TEST(SimtDenseOffsets, OnlyWhereEveryEntryIsReal) {
  PartLayout layout = everyNthLayout(100);
  EXPECT_TRUE(readsDenseByOffsets(layout));
  // Rows padded with entries that keep nothing (the decode product's) keep
  // the entries, whose masks tell the pack kernel which are real.
  PartLayout padded = layout;
  padWorkRows(padded, 4, /*filler=*/1024);
  EXPECT_FALSE(readsDenseByOffsets(padded));
  // A dense operand of 2^31 elements or more is read by (k, column).
  PartLayout wide = layout;
  wide.columns = int64_t(1) << 21;
  EXPECT_FALSE(readsDenseByOffsets(wide));
}

} // namespace
