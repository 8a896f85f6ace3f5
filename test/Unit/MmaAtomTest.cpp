//===- MmaAtomTest.cpp - Fragment index math of the tensor-core atom ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Simulates `ldmatrix.x4` (and its `.trans` form) on a tile whose elements
// name their own (row, k), with the lane addresses the atom computes, and
// checks that every lane's registers hold what `mma.m16n8k16` expects of
// it (PTX ISA, "Matrix Fragments for mma.m16n8k16" with .f16 operands).
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/MmaAtom.h"

#include "gtest/gtest.h"

#include <set>

using namespace tesa;

namespace {

/// An element of an operand tile, by its coordinates.
struct Element {
  int64_t row, k;
  bool operator==(const Element &other) const {
    return row == other.row && k == other.k;
  }
};

/// The two elements of register `reg` of lane `lane` after an
/// `ldmatrix.x4` from a tile in `order`, with each lane giving the address
/// that `coordinates` compute. Register j comes from matrix j, whose eight
/// 16-byte rows lanes 8j .. 8j + 7 address; without transposition lane t
/// gets elements 2(t % 4), 2(t % 4) + 1 of the matrix's row t / 4, with it,
/// element t / 4 of its rows 2(t % 4) and 2(t % 4) + 1.
std::pair<Element, Element> simulateLoad(const LaneCoordinates &coordinates,
                                         TileOrder order, int64_t lane,
                                         int64_t reg) {
  auto rowStart = [&](int64_t matrixRow) {
    int64_t addressLane = 8 * reg + matrixRow;
    return Element{coordinates.row.evaluate(addressLane),
                   coordinates.k.evaluate(addressLane)};
  };
  // Element `offset` of the 16-byte row that starts at `start`: along k
  // in a [row][k] tile, along rows in a [k][row] tile.
  auto at = [&](Element start, int64_t offset) {
    if (order == TileOrder::RowMajor)
      return Element{start.row, start.k + offset};
    return Element{start.row + offset, start.k};
  };
  if (!isTransposedLoad(order)) {
    Element start = rowStart(lane / 4);
    return {at(start, 2 * (lane % 4)), at(start, 2 * (lane % 4) + 1)};
  }
  return {at(rowStart(2 * (lane % 4)), lane / 4),
          at(rowStart(2 * (lane % 4) + 1), lane / 4)};
}

/// What the mma reads from register `reg` of lane `lane` for the A operand
/// (a 16x16 tile of rows x k).
std::pair<Element, Element> expectedA(int64_t lane, int64_t reg) {
  int64_t row = lane / 4 + 8 * (reg % 2), k = 2 * (lane % 4) + 8 * (reg / 2);
  return {{row, k}, {row, k + 1}};
}

/// The same for the B registers of two 8-column tiles: registers 0-1 of
/// tile 0 (rows 0-7), registers 2-3 of tile 1 (rows 8-15); the row is the
/// column of the output.
std::pair<Element, Element> expectedB(int64_t lane, int64_t reg) {
  int64_t row = lane / 4 + 8 * (reg / 2), k = 2 * (lane % 4) + 8 * (reg % 2);
  return {{row, k}, {row, k + 1}};
}

class FragmentLoadTest
    : public testing::TestWithParam<std::tuple<MmaOperand, TileOrder>> {};

TEST_P(FragmentLoadTest, RegistersHoldTheMmaFragments) {
  auto [operand, order] = GetParam();
  LaneCoordinates coordinates = getFragmentLoadCoordinates(operand, order);
  for (int64_t lane = 0; lane < 32; ++lane) {
    for (int64_t reg = 0; reg < 4; ++reg) {
      auto [first, second] = simulateLoad(coordinates, order, lane, reg);
      auto [wantFirst, wantSecond] =
          operand == MmaOperand::A ? expectedA(lane, reg)
                                   : expectedB(lane, reg);
      EXPECT_EQ(first, wantFirst) << "lane " << lane << " register " << reg;
      EXPECT_EQ(second, wantSecond) << "lane " << lane << " register " << reg;
    }
  }
}

TEST_P(FragmentLoadTest, AddressesStayInTheFragment) {
  auto [operand, order] = GetParam();
  LaneCoordinates coordinates = getFragmentLoadCoordinates(operand, order);
  for (int64_t lane = 0; lane < 32; ++lane) {
    int64_t row = coordinates.row.evaluate(lane);
    int64_t k = coordinates.k.evaluate(lane);
    EXPECT_GE(row, 0);
    EXPECT_LT(row, 16);
    EXPECT_GE(k, 0);
    EXPECT_LT(k, 16);
    // Rows of 16 bytes start at multiples of eight elements along the
    // contiguous dimension.
    EXPECT_EQ((order == TileOrder::RowMajor ? k : row) % 8, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllOperandsAndOrders, FragmentLoadTest,
    testing::Combine(testing::Values(MmaOperand::A, MmaOperand::B),
                     testing::Values(TileOrder::RowMajor, TileOrder::KMajor)));

TEST(MmaAtomTest, AccumulatorsCoverTheTileOnce) {
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t lane = 0; lane < 32; ++lane) {
    for (int64_t i = 0; i < 4; ++i) {
      auto [row, column] = getAccumulatorPosition(lane, i);
      EXPECT_LT(row, 16);
      EXPECT_LT(column, 8);
      EXPECT_TRUE(seen.insert({row, column}).second);
    }
  }
  EXPECT_EQ(seen.size(), 128u);
  // Lane 5 holds row 1, columns 2-3, and row 9, columns 2-3.
  EXPECT_EQ(getAccumulatorPosition(5, 0), std::make_pair(int64_t(1), int64_t(2)));
  EXPECT_EQ(getAccumulatorPosition(5, 3), std::make_pair(int64_t(9), int64_t(3)));
}

TEST(MmaAtomTest, AccumulatorsBecomeTheNextProductsA) {
  // Two m16n8 accumulator tiles side by side are a 16x16 tile; each lane's
  // A registers of it must come from its own accumulators.
  for (int64_t lane = 0; lane < 32; ++lane) {
    for (int64_t reg = 0; reg < 4; ++reg) {
      auto [first, second] = expectedA(lane, reg);
      for (auto [element, expected] :
           {std::pair(int64_t(0), first), std::pair(int64_t(1), second)}) {
        auto [tile, i] = getAccumulatorOfA(reg, element);
        auto [row, column] = getAccumulatorPosition(lane, i);
        EXPECT_EQ((Element{row, 8 * tile + column}), expected)
            << "lane " << lane << " register " << reg << " element "
            << element;
      }
    }
  }
}

} // namespace
