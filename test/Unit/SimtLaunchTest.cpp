//===- SimtLaunchTest.cpp - The plain SIMT kernel's grid -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The rules of lib/Conversion/PartsToGPU/SimtKernel.cpp that shape its grid:
// how many work rows a block of threads walks and how many dense columns
// each thread computes, seen through getSimtLaunch.
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
PartLayout everyNthLayout(int64_t step) {
  constexpr int64_t n = 1024;
  std::vector<uint8_t> map(n * n, 0);
  for (int64_t k = 0; k < n; k += step)
    for (int64_t c = 0; c < n; ++c)
      map[k * n + c] = 32;
  return buildPartLayout(
      llvm::cantFail(SparsityMap::get({n, n}, {n, n}, map)),
      /*sparseIsLhs=*/false, /*columns=*/n, PartKernel::Fine, {}, 32, sm90());
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

} // namespace
