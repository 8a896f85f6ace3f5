//===- StagedSimtTest.cpp - The staged SIMT kernel's chunks ---------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The rules of lib/Conversion/PartsToGPU/StagedSimtKernel.cpp: which parts it
// computes, and where each row's entries of each chunk of 32 reduction
// elements start.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

const ChipDescription &sm90() { return llvm::cantFail(getChip("sm_90")); }

/// The SIMT layout of a fine-grained f32 part of `x @ W` whose kept
/// elements are `map` (W's orientation: reduction x channels), with
/// `columns` rows of x.
PartLayout fineLayout(const SparsityMap &map, int64_t columns) {
  return buildPartLayout(map, /*sparseIsLhs=*/false, columns, PartKernel::Fine,
                         {}, 32, sm90());
}

TEST(StagedSimt, ChunkOffsetsSplitEachRowAtChunks) {
  // 96 reduction elements (three chunks) by two channels: channel 0 keeps
  // k 0-63 (chunks 0 and 1), channel 1 keeps k 64-95 (chunk 2).
  PartLayout layout = fineLayout(
      llvm::cantFail(SparsityMap::get({96, 2}, {3, 2}, {32, 0, 32, 0, 0, 32})),
      /*columns=*/128);
  ASSERT_EQ(layout.offsets, (std::vector<int32_t>{0, 64, 96}));
  EXPECT_EQ(getStagedSimtChunkOffsets(layout),
            (std::vector<int32_t>{0, 32, 64, 64, 64, 64, 64, 96}));
}

TEST(StagedSimt, DenseEnoughPartsWithEnoughColumns) {
  // Every element kept: 32 a row in every chunk.
  SparsityMap full = SparsityMap::getUniform({64, 64}, 32);
  PartLayout layout = fineLayout(full, /*columns=*/128);
  EXPECT_TRUE(usesStagedSimt(layout));
  // Fewer than 128 columns, or columns not in runs of four.
  EXPECT_FALSE(usesStagedSimt(fineLayout(full, /*columns=*/64)));
  EXPECT_FALSE(usesStagedSimt(fineLayout(full, /*columns=*/130)));
  // A live-column list.
  PartLayout live = layout;
  live.liveColumns = {0, 1};
  EXPECT_FALSE(usesStagedSimt(live));
}

TEST(StagedSimt, SparsePartsKeepThePlainKernel) {
  // One kept element in four along the reduction (8 a chunk) takes the
  // staged kernel; one in eight (4 a chunk) does not.
  auto everyNth = [](int64_t n) {
    std::vector<uint8_t> map(64 * 8, 0);
    for (int64_t k = 0; k < 64; k += n)
      for (int64_t c = 0; c < 8; ++c)
        map[k * 8 + c] = 32;
    return llvm::cantFail(SparsityMap::get({64, 8}, {64, 8}, map));
  };
  EXPECT_TRUE(usesStagedSimt(fineLayout(everyNth(4), /*columns=*/128)));
  EXPECT_FALSE(usesStagedSimt(fineLayout(everyNth(8), /*columns=*/128)));
}

} // namespace
