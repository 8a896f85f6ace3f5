//===- TransposedSumsTest.cpp - Index math of the transposed sums ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The layout of TransposedSums.h: every accumulator of a warp lands on its
// own word, every word is read by exactly one run, as the rows of the
// accumulators it holds, and the warp's stores and each quarter-warp's
// 16-byte loads fall in distinct banks.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/TransposedSums.h"
#include "tesa/Codegen/WarpgroupMma.h"

#include "gtest/gtest.h"

#include <map>
#include <set>

using namespace tesa;

namespace {

constexpr int64_t kLanes = 32, kBanks = 32;

class TransposedSumsTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(TransposedSumsTest, RunsHoldTheAccumulatorsOfTheirRows) {
  int64_t columns = GetParam();
  // word -> the (row, column) an accumulator left there; threads 0-31 are
  // warp 0, whose rows are 0-15 (every warp's area is laid out alike).
  std::map<int64_t, std::pair<int64_t, int64_t>> written;
  for (int64_t lane = 0; lane < kLanes; ++lane)
    for (int64_t i = 0; i < columns / 2; ++i) {
      auto [row, column] = getWgmmaAccumulatorPosition(lane, i);
      ASSERT_LT(row, 16);
      ASSERT_LT(column, columns);
      int64_t word = getTransposedWord(row, column);
      EXPECT_TRUE(written.emplace(word, std::make_pair(row, column)).second)
          << "lane " << lane << " accumulator " << i;
    }
  EXPECT_EQ(int64_t(written.size()), 16 * columns);
  // Every accumulator is read once, by the run of its column and rows.
  std::set<int64_t> read;
  for (int64_t run = 0; run < 2 * columns; ++run) {
    auto [column, first] = getTransposedRun(run);
    for (int64_t r = 0; r < kRunRows; ++r) {
      int64_t word = getTransposedWord(first + r, column);
      auto it = written.find(word);
      ASSERT_NE(it, written.end()) << "run " << run << " row " << r;
      EXPECT_EQ(it->second, std::make_pair(first + r, column));
      EXPECT_TRUE(read.insert(word).second) << "run " << run;
    }
  }
  EXPECT_EQ(read.size(), written.size());
  // The four warps' areas hold every word.
  EXPECT_GE(getTransposedSumsBytes(columns) / 4,
            4 * getTransposedWord(15, columns - 1) + 4);
}

TEST_P(TransposedSumsTest, StoresOfOneAccumulatorHitDistinctBanks) {
  int64_t columns = GetParam();
  for (int64_t i = 0; i < columns / 2; ++i) {
    std::set<int64_t> banks;
    for (int64_t lane = 0; lane < kLanes; ++lane) {
      auto [row, column] = getWgmmaAccumulatorPosition(lane, i);
      banks.insert(getTransposedWord(row, column) % kBanks);
    }
    EXPECT_EQ(int64_t(banks.size()), kLanes) << "accumulator " << i;
  }
}

TEST_P(TransposedSumsTest, QuarterWarpLoadsHitDistinctBanks) {
  // A 16-byte load is served a quarter-warp (8 lanes, 128 bytes) at a time.
  int64_t columns = GetParam();
  for (int64_t k = 0; k < 2 * columns / kLanes; ++k)
    for (int64_t half = 0; half < kRunRows / 4; ++half)
      for (int64_t quarter = 0; quarter < 4; ++quarter) {
        std::set<int64_t> groups;
        for (int64_t lane = 8 * quarter; lane < 8 * quarter + 8; ++lane) {
          auto [column, first] = getTransposedRun(kLanes * k + lane);
          int64_t word = getTransposedWord(first + 4 * half, column);
          EXPECT_EQ(word % 4, 0) << "a 16-byte load must be aligned";
          groups.insert(word / 4 % (kBanks / 4));
        }
        EXPECT_EQ(groups.size(), 8u)
            << "run " << k << " half " << half << " quarter " << quarter;
      }
}

INSTANTIATE_TEST_SUITE_P(Columns, TransposedSumsTest,
                         ::testing::Values(16, 32, 64, 96, 128, 256));

} // namespace
