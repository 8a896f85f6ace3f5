//===- QuadExchangeTest.cpp - Index math of the quad exchange -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Simulates the exchange of QuadExchange.h on four lanes: after its rounds
// each lane holds its piece's words from every lane of the quad, in order.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/QuadExchange.h"

#include "gtest/gtest.h"

#include <array>

using namespace tesa;

namespace {

TEST(QuadExchangeTest, EachLaneGathersItsPiece) {
  // words[lane][piece]: a distinct value for each lane and piece.
  std::array<std::array<int64_t, kQuadLanes>, kQuadLanes> words;
  for (int64_t lane = 0; lane < kQuadLanes; ++lane)
    for (int64_t piece = 0; piece < kQuadLanes; ++piece)
      words[lane][piece] = 10 * lane + piece;
  // received[lane][round]: what the lane has after each round.
  std::array<std::array<int64_t, kQuadLanes>, kQuadLanes> received;
  for (int64_t round = 0; round < kQuadLanes; ++round)
    for (int64_t lane = 0; lane < kQuadLanes; ++lane) {
      int64_t source = getQuadSourceLane(lane, round);
      received[lane][round] =
          words[source][getQuadSentPiece(source, round)];
    }
  for (int64_t lane = 0; lane < kQuadLanes; ++lane)
    for (int64_t from = 0; from < kQuadLanes; ++from)
      EXPECT_EQ(received[lane][getQuadRound(lane, from)], words[from][lane])
          << "lane " << lane << " from " << from;
}

TEST(QuadExchangeTest, RoundZeroKeepsTheLanesOwnWord) {
  for (int64_t lane = 0; lane < kQuadLanes; ++lane) {
    EXPECT_EQ(getQuadSourceLane(lane, 0), lane);
    EXPECT_EQ(getQuadSentPiece(lane, 0), lane);
    EXPECT_EQ(getQuadRound(lane, lane), 0);
  }
}

TEST(QuadExchangeTest, EachRoundIsAPermutation) {
  // Every lane sends once and receives once a round, so one shuffle serves
  // the whole quad.
  for (int64_t round = 0; round < kQuadLanes; ++round) {
    std::array<int, kQuadLanes> sources{};
    for (int64_t lane = 0; lane < kQuadLanes; ++lane)
      ++sources[getQuadSourceLane(lane, round)];
    for (int count : sources)
      EXPECT_EQ(count, 1) << "round " << round;
  }
}

} // namespace
