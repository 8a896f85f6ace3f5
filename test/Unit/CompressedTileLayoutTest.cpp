//===- CompressedTileLayoutTest.cpp - Fine f16 parts on tensor cores ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The layout of a fine-grained 16-bit part computed on tensor cores
// (buildCompressedTileLayout, lib/Conversion/PartsToGPU/PartLayout.cpp):
// 16x64 blocks with their masks, and each block row's kept values packed
// after the previous row's; and which parts take it (usesCompressedTiles).
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "gtest/gtest.h"

#include "llvm/ADT/bit.h"

#include <random>

using namespace tesa;

namespace {

const ChipDescription &chip(llvm::StringRef name) {
  return llvm::cantFail(getChip(name));
}

/// A sparse rhs (reduction x channels) keeping each element with
/// probability `kept` at 16 bits.
SparsityMap randomRhs(int64_t reduction, int64_t channels, double kept,
                      unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<uint8_t> map(reduction * channels, 0);
  for (uint8_t &entry : map)
    entry = uniform(rng) < kept ? 16 : 0;
  return llvm::cantFail(SparsityMap::get({reduction, channels},
                                         {reduction, channels}, map));
}

TEST(CompressedTileLayoutTest, RowsPackTheirKeptValuesInOrder) {
  // Neither dimension a multiple of the block: edge blocks have rows and
  // reduction elements outside the operand, which keep nothing.
  int64_t reduction = 150, channels = 37;
  SparsityMap map = randomRhs(reduction, channels, 0.3, 11);
  PartLayout layout = buildCompressedTileLayout(map, /*sparseIsLhs=*/false,
                                                /*columns=*/16, chip("sm_90"));
  ASSERT_TRUE(layout.compressed && layout.useMma);
  EXPECT_EQ(layout.blockChannels, kCompressedTile.channels);
  EXPECT_EQ(layout.blockReduction, kCompressedTile.reduction);
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  ASSERT_EQ(layout.rowOffsets.size(), size_t(layout.getNumEntries() * bc + 1));
  std::vector<uint8_t> bits = map.getEntriesOn(map.getShape());
  // Every kept element is one slot: row r of entry e's k-th kept value is
  // slot rowOffsets[e * bc + r] + k, and the slots follow each other.
  int64_t expected = 0;
  for (size_t w = 0; w + 1 < layout.offsets.size(); ++w)
    for (int64_t e = layout.offsets[w]; e < layout.offsets[w + 1]; ++e)
      for (int64_t r = 0; r < bc; ++r) {
        EXPECT_EQ(layout.rowOffsets[e * bc + r], expected);
        int64_t channel = layout.rows[w] * bc + r;
        for (int64_t c = 0; c < br; ++c) {
          int64_t k = layout.entries[e] * br + c;
          bool kept = channel < channels && k < reduction &&
                      bits[k * channels + channel] != 0;
          uint32_t word = uint32_t(layout.blockMasks[(e * bc * br + r * br +
                                                      c) / 32]);
          EXPECT_EQ(kept, ((word >> ((r * br + c) % 32)) & 1) != 0)
              << "entry " << e << " row " << r << " element " << c;
          expected += kept;
        }
      }
  EXPECT_EQ(layout.rowOffsets.back(), expected);
  EXPECT_EQ(layout.getNumPacked(), map.getNumKept());
}

TEST(CompressedTileLayoutTest, BlocksWithoutKeptElementsAreSkipped) {
  // Only the second 64 reduction elements of the first 16 channels keep
  // anything: one block, at column of blocks 1.
  std::vector<uint8_t> map(128 * 32, 0);
  for (int64_t k = 64; k < 128; k += 3)
    map[k * 32 + 5] = 16;
  SparsityMap sparse =
      llvm::cantFail(SparsityMap::get({128, 32}, {128, 32}, map));
  PartLayout layout = buildCompressedTileLayout(sparse, /*sparseIsLhs=*/false,
                                                16, chip("sm_80"));
  ASSERT_EQ(layout.getNumEntries(), 1);
  EXPECT_EQ(layout.entries[0], 1);
  EXPECT_EQ(layout.rows, std::vector<int32_t>{0});
  int64_t keptInRow5 = 0;
  for (int64_t w = 0; w < 2; ++w)
    keptInRow5 += llvm::popcount(uint32_t(layout.blockMasks[5 * 2 + w]));
  EXPECT_EQ(keptInRow5, 22);
  EXPECT_EQ(layout.rowOffsets[6] - layout.rowOffsets[5], 22);
}

TEST(CompressedTileLayoutTest, TakenByDenseEnoughF16PartsOnTensorCores) {
  SparsityMap enough = randomRhs(256, 64, 0.2, 3);
  SparsityMap sparse = randomRhs(256, 64, 0.01, 3);
  EXPECT_TRUE(usesCompressedTiles(enough, /*sparseIsLhs=*/false, 16,
                                  /*f16Dense=*/true, chip("sm_90")));
  // Too few kept elements: the SIMT kernel reads less.
  EXPECT_FALSE(usesCompressedTiles(sparse, false, 16, true, chip("sm_90")));
  // A sparse lhs, an f32 program's 16-bit part, an int8 part, a chip
  // without f16 mma.
  EXPECT_FALSE(usesCompressedTiles(enough, true, 16, true, chip("sm_90")));
  EXPECT_FALSE(usesCompressedTiles(enough, false, 16, false, chip("sm_90")));
  EXPECT_FALSE(usesCompressedTiles(enough, false, 8, true, chip("sm_90")));
  EXPECT_FALSE(usesCompressedTiles(enough, false, 16, true, chip("gfx906")));
}

} // namespace
