//===- DecompositionPlanTest.cpp - Parts cover their operand exactly ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/DecompositionPlan.h"

#include "gtest/gtest.h"

#include <random>

using namespace tesa;

namespace {

/// A random map mixing dense blocks and scattered elements at every width.
SparsityMap randomMap(std::mt19937 &rng, int64_t rows, int64_t columns) {
  std::vector<uint8_t> entries(rows * columns, 0);
  const uint8_t widths[] = {4, 8, 16, 32};
  std::uniform_int_distribution<int> pick(0, 3);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int64_t br = 0; br < rows; br += 16)
    for (int64_t bc = 0; bc < columns; bc += 16) {
      bool dense = unit(rng) < 0.3;
      uint8_t bits = widths[pick(rng)];
      for (int64_t r = br; r < std::min(rows, br + 16); ++r)
        for (int64_t c = bc; c < std::min(columns, bc + 16); ++c)
          if (dense || unit(rng) < 0.05)
            entries[r * columns + c] = dense ? bits : widths[pick(rng)];
    }
  return cantFail(SparsityMap::get({rows, columns}, {rows, columns}, entries));
}

void expectExactCover(const SparsityMap &operand,
                      llvm::ArrayRef<PlannedPart> parts) {
  std::vector<uint8_t> expected = operand.getEntriesOn(operand.getShape());
  std::vector<uint8_t> covered(expected.size(), 0);
  for (const PlannedPart &part : parts) {
    std::vector<uint8_t> bits = part.map.getEntriesOn(operand.getShape());
    for (size_t i = 0; i < bits.size(); ++i) {
      if (!bits[i])
        continue;
      ASSERT_EQ(covered[i], 0) << "element " << i << " in two parts";
      ASSERT_EQ(bits[i], part.bits) << "element " << i << " off its width";
      covered[i] = bits[i];
    }
  }
  EXPECT_EQ(covered, expected);
}

TEST(DecompositionPlanTest, EveryModeCoversExactly) {
  std::mt19937 rng(7);
  for (const ChipDescription &chip : getKnownChips())
    for (auto mode : {DecompositionOptions::Mode::Auto,
                      DecompositionOptions::Mode::Fine,
                      DecompositionOptions::Mode::Block})
      for (int trial = 0; trial < 4; ++trial) {
        SparsityMap operand = randomMap(rng, 37 + 13 * trial, 70 - 9 * trial);
        DecompositionOptions options;
        options.mode = mode;
        options.forcedBlock = {16, 32};
        expectExactCover(operand,
                         planDecomposition(operand, trial % 2 == 0, chip,
                                           options));
      }
}

/// A map over `rows` x `columns` with a `gridRows` x `gridColumns` grid of
/// random widths, half of its blocks pruned.
static SparsityMap randomBlockMap(std::mt19937 &rng, int64_t rows,
                                  int64_t columns, int64_t gridRows,
                                  int64_t gridColumns) {
  const uint8_t widths[] = {0, 0, 0, 4, 8, 16, 16, 32};
  std::uniform_int_distribution<int> pick(0, 7);
  std::vector<uint8_t> entries(gridRows * gridColumns);
  for (uint8_t &entry : entries)
    entry = widths[pick(rng)];
  return cantFail(
      SparsityMap::get({rows, columns}, {gridRows, gridColumns}, entries));
}

TEST(DecompositionPlanTest, BlockMapsPlanAsTheirElementsWould) {
  // The planner works on cells that divide the map's blocks and the block
  // menu, or on the map's blocks where every shape divides them (the last
  // two grids: blocks of 128x128 and 128x256); the same sparsity written
  // per element must plan the same parts.
  std::mt19937 rng(11);
  const int64_t grids[][4] = {{192, 256, 6, 4}, {192, 256, 6, 8},
                              {192, 256, 6, 16}, {256, 384, 2, 3},
                              {256, 512, 2, 2}};
  for (const ChipDescription &chip : getKnownChips())
    for (auto mode : {DecompositionOptions::Mode::Auto,
                      DecompositionOptions::Mode::Fine,
                      DecompositionOptions::Mode::Block,
                      DecompositionOptions::Mode::Structured})
      for (int trial = 0; trial < 5; ++trial) {
        auto [rows, columns, gridRows, gridColumns] = grids[trial];
        SparsityMap blocks =
            randomBlockMap(rng, rows, columns, gridRows, gridColumns);
        SparsityMap elements = cantFail(SparsityMap::get(
            blocks.getShape(), blocks.getShape(),
            blocks.getEntriesOn(blocks.getShape())));
        DecompositionOptions options;
        options.mode = mode;
        options.forcedBlock = {32, 16};
        bool alongRows = trial % 2 == 0;
        auto coarse = planDecomposition(blocks, alongRows, chip, options);
        auto fine = planDecomposition(elements, alongRows, chip, options);
        ASSERT_EQ(coarse.size(), fine.size());
        for (auto [a, b] : llvm::zip_equal(coarse, fine)) {
          EXPECT_EQ(a.kind, b.kind);
          EXPECT_EQ(a.blockRows, b.blockRows);
          EXPECT_EQ(a.blockColumns, b.blockColumns);
          EXPECT_EQ(a.bits, b.bits);
          EXPECT_EQ(a.numUnits, b.numUnits);
          // Summed in another order where whole map blocks are planned.
          EXPECT_NEAR(a.cost, b.cost, 1e-9 * b.cost);
          EXPECT_EQ(a.map.getCanonical(), b.map.getCanonical());
        }
      }
}

TEST(DecompositionPlanTest, LargeBlockMapsPlanPerCell) {
  // 2^31 elements, a 2x2 map: per element this took 24 GB and was killed.
  SparsityMap operand = cantFail(
      SparsityMap::get({32768, 65536}, {2, 2}, std::vector<uint8_t>{0, 32, 32, 0}));
  auto parts = planDecomposition(operand, false, *lookupChip("sm_90"), {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].kind, PlannedPart::Kind::Block);
  EXPECT_EQ(parts[0].map.getCanonical(), operand.getCanonical());
  EXPECT_EQ(parts[0].numUnits * parts[0].blockRows * parts[0].blockColumns,
            operand.getNumKept());
}

TEST(DecompositionPlanTest, DenseBlocksGoToBlockParts) {
  // One dense 64x64 block: the cost model takes it as a single block.
  std::vector<uint8_t> entries(128 * 128, 0);
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 64; ++c)
      entries[r * 128 + c] = 16;
  SparsityMap operand =
      cantFail(SparsityMap::get({128, 128}, {128, 128}, entries));
  auto parts = planDecomposition(operand, true, *lookupChip("sm_80"), {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].kind, PlannedPart::Kind::Block);
  EXPECT_EQ(parts[0].numUnits, 1);
  EXPECT_EQ(parts[0].blockRows, 64);
}

TEST(DecompositionPlanTest, ScatteredElementsStayFineGrained) {
  std::mt19937 rng(3);
  std::vector<uint8_t> entries(256 * 256, 0);
  std::uniform_real_distribution<double> unit(0, 1);
  for (uint8_t &entry : entries)
    entry = unit(rng) < 0.05 ? 32 : 0;
  SparsityMap operand =
      cantFail(SparsityMap::get({256, 256}, {256, 256}, entries));
  auto parts = planDecomposition(operand, false, *lookupChip("sm_75"), {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].kind, PlannedPart::Kind::Fine);
}

/// A 16x16 f16 operand with `kept` of its elements kept, in row order.
static SparsityMap getPartlyKeptBlock(int64_t kept) {
  std::vector<uint8_t> entries(16 * 16, 0);
  for (int64_t i = 0; i < kept; ++i)
    entries[i] = 16;
  return cantFail(SparsityMap::get({16, 16}, {16, 16}, entries));
}

TEST(DecompositionPlanTest, MeasuredCostsCoverTheMenu) {
  const ChipDescription &chip = *lookupChip("sm_90");
  EXPECT_TRUE(chip.costs.origin.starts_with("measured on"));
  for (ComputeKind kind : {ComputeKind::F32, ComputeKind::F16, ComputeKind::I8})
    for (BlockShape shape : chip.blockMenu) {
      if (!chip.acceptsBlock(kind, shape))
        continue;
      auto measured = llvm::find_if(
          chip.costs.measuredBlocks, [&](const MeasuredBlockCost &entry) {
            return entry.kind == kind &&
                   entry.shape.channels == shape.channels &&
                   entry.shape.reduction == shape.reduction;
          });
      ASSERT_NE(measured, chip.costs.measuredBlocks.end())
          << "no measured cost for " << shape.channels << "x"
          << shape.reduction << "; re-run bench/cost_table.py";
      EXPECT_EQ(chip.getBlockCost(kind, shape), measured->cost);
    }
  // A shape off the menu falls back to the per-MAC rate.
  BlockShape offMenu{8, 8};
  EXPECT_DOUBLE_EQ(chip.getBlockCost(ComputeKind::F16, offMenu),
                   chip.costs.blockOverhead[1] + 64 * chip.costs.blockPerMac[1]);
  EXPECT_EQ(lookupChip("sm_80")->costs.origin, "analytical");
}

TEST(DecompositionPlanTest, MeasuredBlockCostDecides) {
  // A 16x16 block pays on sm_90 once it holds more kept elements than its
  // measured cost buys fine-grained. (Without the fixed cost per channel of
  // a fine part, which alone makes the block pay here: see
  // FixedCostsChooseTheCover.)
  ChipDescription chip = *lookupChip("sm_90");
  for (double &overhead : chip.costs.fineChannelOverhead)
    overhead = 0;
  double breakEven = chip.getBlockCost(ComputeKind::F16, {16, 16}) /
                     chip.costs.finePerElement[unsigned(ComputeKind::F16)];
  ASSERT_LT(breakEven, 240.0) << "16x16 f16 blocks no longer pay at all";
  DecompositionOptions options;
  options.mode = DecompositionOptions::Mode::Auto;
  auto above = planDecomposition(getPartlyKeptBlock(int64_t(breakEven) + 16),
                                 true, chip, options);
  ASSERT_EQ(above.size(), 1u);
  EXPECT_EQ(above[0].kind, PlannedPart::Kind::Block);
  auto below = planDecomposition(
      getPartlyKeptBlock(std::max<int64_t>(1, int64_t(breakEven) - 16)), true,
      chip, options);
  ASSERT_EQ(below.size(), 1u);
  EXPECT_EQ(below[0].kind, PlannedPart::Kind::Fine);
}

TEST(DecompositionPlanTest, FixedCostsChooseTheCover) {
  // 48 scattered f16 elements, three in each of 16 channels: one 16x16
  // block (cost 100) does not pay against 48 fine elements (cost 1 each),
  // so block by block the cover stays fine-grained. With a fixed cost of
  // 10 per channel of a fine part, the fine part costs 48 + 160, and the
  // plan takes the whole block instead.
  std::vector<uint8_t> entries(16 * 16, 0);
  for (int64_t channel = 0; channel < 16; ++channel)
    for (int64_t k : {1, 7, 12})
      entries[channel * 16 + (k + channel) % 16] = 16;
  SparsityMap operand =
      cantFail(SparsityMap::get({16, 16}, {16, 16}, entries));
  static constexpr MeasuredBlockCost blockCosts[] = {
      {ComputeKind::F16, {16, 16}, 100.0}};
  ChipDescription chip = *lookupChip("sm_90");
  // Other shapes on the menu cost 1000 per MAC: never taken.
  chip.costs = KernelCosts{{1, 1, 1}, {1000, 1000, 1000}, {0, 0, 0},
                           blockCosts, "test", {0, 0, 0}, {0, 0, 0}};
  // Dense blocks only: the 16x16 block is 2:4 along the reduction, and a
  // structured block would cost less than either cover compared here.
  chip.sparseF16Mma = std::nullopt;
  DecompositionOptions options;
  auto withoutFixedCosts = planDecomposition(operand, true, chip, options);
  ASSERT_EQ(withoutFixedCosts.size(), 1u);
  EXPECT_EQ(withoutFixedCosts[0].kind, PlannedPart::Kind::Fine);
  EXPECT_DOUBLE_EQ(withoutFixedCosts[0].cost, 48.0);

  chip.costs.fineChannelOverhead[unsigned(ComputeKind::F16)] = 10.0;
  auto withFixedCosts = planDecomposition(operand, true, chip, options);
  ASSERT_EQ(withFixedCosts.size(), 1u);
  EXPECT_EQ(withFixedCosts[0].kind, PlannedPart::Kind::Block);
  EXPECT_EQ(withFixedCosts[0].blockRows, 16);
  EXPECT_DOUBLE_EQ(withFixedCosts[0].cost, 100.0);
  expectExactCover(operand, withFixedCosts);
}

TEST(DecompositionPlanTest, UnknownChipIsNull) {
  EXPECT_EQ(lookupChip("sm_1"), nullptr);
  EXPECT_EQ(getKnownChipNames(), "sm_75, sm_80, sm_86, sm_89, sm_90, gfx906");
  EXPECT_EQ(getKnownChipNames(GPUBackend::ROCDL), "gfx906");
}

} // namespace

TEST(KeptSlabsTest, LhsSlabsKeptForEveryRowRepeatPerColumnTile) {
  // 4 x 48 with the second slab of 16 columns dead for every row.
  SparsityMap lhs = cantFail(SparsityMap::get({4, 48}, {1, 3}, {32, 0, 32}));
  std::optional<KeptSlabs> slabs = getKeptLhsSlabs(lhs, 16, 2);
  ASSERT_TRUE(slabs);
  EXPECT_EQ(slabs->offsets, (std::vector<int32_t>{0, 2, 4}));
  EXPECT_EQ(slabs->rows, (std::vector<int32_t>{0, 2, 0, 2}));
  // A slab kept by some rows only is no slab walk.
  SparsityMap partial =
      cantFail(SparsityMap::get({4, 48}, {2, 3}, {32, 0, 32, 0, 0, 32}));
  EXPECT_FALSE(getKeptLhsSlabs(partial, 16, 2));
}

TEST(KeptSlabsTest, GroupsWalkTheRowsAnyOfTheirColumnsKeep) {
  // Five columns of slabs in groups of two: rows {0, 2}, {1, 2}, {}, {3}
  // and {0}; the last group is one column.
  KeptSlabs slabs;
  slabs.offsets = {0, 2, 4, 4, 5, 6};
  slabs.rows = {0, 2, 1, 2, 3, 0};
  KeptSlabGroups groups = groupKeptSlabs(slabs, 2);
  EXPECT_EQ(groups.offsets, (std::vector<int32_t>{0, 3, 4, 5}));
  EXPECT_EQ(groups.rows, (std::vector<int32_t>{0, 1, 2, 3, 0}));
  EXPECT_EQ(groups.masks, (std::vector<int32_t>{1, 2, 3, 2, 1}));
  // Groups of one are the slabs themselves, every mask 1.
  KeptSlabGroups single = groupKeptSlabs(slabs, 1);
  EXPECT_EQ(single.offsets, slabs.offsets);
  EXPECT_EQ(single.rows, slabs.rows);
  EXPECT_EQ(single.masks, std::vector<int32_t>(6, 1));
}

TEST(KeptChannelsTest, KeptRowsAndColumnsOfAProductMap) {
  // Rows 0 and 2 and columns 1 and 3 kept: their product.
  std::vector<uint8_t> entries(4 * 4, 0);
  for (int row : {0, 2})
    for (int column : {1, 3})
      entries[row * 4 + column] = 32;
  SparsityMap map = cantFail(SparsityMap::get({4, 4}, {4, 4}, entries));
  std::optional<KeptChannels> channels = getKeptChannels(map);
  ASSERT_TRUE(channels);
  EXPECT_EQ(channels->rows, (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(channels->columns, (std::vector<int32_t>{1, 3}));
  // Whole columns pruned: every row kept, so no row list.
  SparsityMap neurons =
      cantFail(SparsityMap::get({8, 4}, {1, 4}, {32, 0, 32, 32}));
  channels = getKeptChannels(neurons);
  ASSERT_TRUE(channels);
  EXPECT_TRUE(channels->rows.empty());
  EXPECT_EQ(channels->columns, (std::vector<int32_t>{0, 2, 3}));
  // A pruned element in a kept row and a kept column: not channels.
  entries[0 * 4 + 1] = 0;
  EXPECT_FALSE(
      getKeptChannels(cantFail(SparsityMap::get({4, 4}, {4, 4}, entries))));
  // Nothing kept: nothing to gather.
  EXPECT_FALSE(getKeptChannels(cantFail(
      SparsityMap::get({4, 4}, {1, 1}, std::vector<uint8_t>{0}))));
}
