//===- WarpgroupMmaTest.cpp - Index math of the wgmma atom ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Checks the swizzled shared layouts, the matrix descriptor's fields and the
// accumulator layout of `wgmma.mma_async` m64nNk16 against the PTX ISA
// ("Matrix Descriptor Format", "Shared Memory Matrix Layout", "Matrix
// Fragments for wgmma.mma_async.m64nNk16").
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/WarpgroupMma.h"

#include "gtest/gtest.h"

#include <set>

using namespace tesa;

namespace {

constexpr int64_t kRowBytes[] = {32, 64, 128};

TEST(WarpgroupMmaTest, SwizzleIsTheByteAddressXor) {
  // The PTX swizzle modes XOR bits 4.. of a byte offset with bits 7..: one
  // bit for 32-byte rows, two for 64, three for 128.
  for (int64_t rowBytes : kRowBytes)
    for (int64_t row = 0; row < 64; ++row)
      for (int64_t chunk = 0; chunk < rowBytes / 16; ++chunk) {
        int64_t plain = row * rowBytes + 16 * chunk;
        int64_t mask = rowBytes / 16 - 1;
        EXPECT_EQ(getSwizzledChunkOffset(row, chunk, rowBytes),
                  plain ^ (((plain >> 7) & mask) << 4))
            << rowBytes << " " << row << " " << chunk;
      }
  EXPECT_EQ(getSwizzledChunkOffset(1, 0, 128), 128 + 16);
  EXPECT_EQ(getSwizzledChunkOffset(7, 7, 128), 7 * 128);
  EXPECT_EQ(getSwizzledChunkOffset(1, 0, 64), 64);
  EXPECT_EQ(getSwizzledChunkOffset(2, 1, 64), 128);
  EXPECT_EQ(getSwizzledChunkOffset(4, 0, 32), 128 + 16);
}

TEST(WarpgroupMmaTest, SwizzleKeepsRowsAndSpreadsBanks) {
  for (int64_t rowBytes : kRowBytes) {
    int64_t chunks = rowBytes / 16;
    for (int64_t row = 0; row < 16; ++row) {
      // A permutation of the row's own chunks.
      std::set<int64_t> positions;
      for (int64_t chunk = 0; chunk < chunks; ++chunk)
        positions.insert(getSwizzledChunk(row, chunk, rowBytes));
      EXPECT_EQ(int64_t(positions.size()), chunks);
      EXPECT_EQ(*positions.rbegin(), chunks - 1);
    }
    // The same chunk of the eight rows of a core matrix lies in eight
    // different 16-byte bank groups of a 128-byte line.
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      std::set<int64_t> banks;
      for (int64_t row = 0; row < 8; ++row)
        banks.insert(getSwizzledChunkOffset(row, chunk, rowBytes) % 128 / 16);
      EXPECT_EQ(banks.size(), 8u) << rowBytes << " " << chunk;
    }
  }
}

TEST(WarpgroupMmaTest, DescriptorFields) {
  // Leading byte offset 16 (bits 16-29, in 16-byte units), stride byte
  // offset of 8 rows (bits 32-45), layout mode (bits 62-63).
  EXPECT_EQ(getWgmmaDescriptorFields(128),
            (1ull << 16) | (64ull << 32) | (1ull << 62));
  EXPECT_EQ(getWgmmaDescriptorFields(64),
            (1ull << 16) | (32ull << 32) | (2ull << 62));
  EXPECT_EQ(getWgmmaDescriptorFields(32),
            (1ull << 16) | (16ull << 32) | (3ull << 62));
  for (int64_t rowBytes : kRowBytes)
    EXPECT_EQ(getWgmmaDescriptorFields(rowBytes) & 0x3fff, 0u);
}

TEST(WarpgroupMmaTest, AccumulatorLayout) {
  // The figure's first entries: thread 0 holds d0, d1 at row 0, columns 0
  // and 1, d2, d3 at row 8, d4 at column 8; thread 5 starts at row 1,
  // column 2; warp 1 at row 16.
  using Position = std::pair<int64_t, int64_t>;
  EXPECT_EQ(getWgmmaAccumulatorPosition(0, 0), Position(0, 0));
  EXPECT_EQ(getWgmmaAccumulatorPosition(0, 1), Position(0, 1));
  EXPECT_EQ(getWgmmaAccumulatorPosition(0, 2), Position(8, 0));
  EXPECT_EQ(getWgmmaAccumulatorPosition(0, 3), Position(8, 1));
  EXPECT_EQ(getWgmmaAccumulatorPosition(0, 4), Position(0, 8));
  EXPECT_EQ(getWgmmaAccumulatorPosition(5, 0), Position(1, 2));
  EXPECT_EQ(getWgmmaAccumulatorPosition(32, 0), Position(16, 0));
  // Every output of a 64 x N tile exactly once; pairs are neighbours.
  for (int64_t n : {8, 64, 256}) {
    std::set<Position> seen;
    for (int64_t thread = 0; thread < kWarpgroupThreads; ++thread)
      for (int64_t i = 0; i < n / 2; ++i) {
        Position at = getWgmmaAccumulatorPosition(thread, i);
        EXPECT_LT(at.first, kWgmmaRows);
        EXPECT_LT(at.second, n);
        seen.insert(at);
        if (i % 2 == 1) {
          Position first = getWgmmaAccumulatorPosition(thread, i - 1);
          EXPECT_EQ(first.first, at.first);
          EXPECT_EQ(first.second + 1, at.second);
          EXPECT_EQ(first.second % 2, 0);
        }
      }
    EXPECT_EQ(int64_t(seen.size()), kWgmmaRows * n);
  }
}

} // namespace
