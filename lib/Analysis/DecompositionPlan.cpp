//===- DecompositionPlan.cpp - Splitting a sparse operand into parts ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/DecompositionPlan.h"

#include "llvm/ADT/DenseSet.h"

#include <functional>
#include <limits>

#include <queue>

using namespace tesa;

namespace {

/// A block candidate in the greedy cover.
struct Candidate {
  double savings;
  /// Index into the cover's candidate shapes (see BlockChoice).
  unsigned shapeIndex;
  int64_t blockRow, blockColumn;
  bool operator<(const Candidate &other) const {
    return savings < other.savings;
  }
};

/// A block shape the greedy cover may take, dense or 2:4 structured, with
/// the cost of one block.
struct BlockChoice {
  BlockShape shape;
  bool structured;
  double cost;
};

/// Element-level planning state for one operand.
class Planner {
public:
  Planner(const SparsityMap &operand, bool channelsAlongRows,
          const ChipDescription &chip)
      : rows(operand.getShape()[0]), columns(operand.getShape()[1]),
        channelsAlongRows(channelsAlongRows), chip(chip),
        bits(operand.getEntriesOn(operand.getShape())),
        owner(bits.size(), -1) {}

  llvm::SmallVector<PlannedPart> plan(const DecompositionOptions &options) {
    for (unsigned classBits : {32u, 16u, 8u, 4u}) {
      if (llvm::none_of(bits, [&](uint8_t b) { return b == classBits; }))
        continue;
      ComputeKind kind = getComputeKind(classBits);
      switch (options.mode) {
      case DecompositionOptions::Mode::Fine:
        break;
      case DecompositionOptions::Mode::Block:
        coverEveryBlock(classBits, options.forcedBlock, false);
        break;
      case DecompositionOptions::Mode::Structured:
        coverEveryBlock(classBits, options.forcedBlock,
                        acceptsStructured(kind, options.forcedBlock));
        break;
      case DecompositionOptions::Mode::Auto:
        coverCheapest(classBits, kind);
        break;
      }
      addFineRemainder(classBits, kind);
      materialiseMaps(classBits);
    }
    return std::move(parts);
  }

private:
  /// The (rows, columns) of a block given as (channels, reduction).
  std::pair<int64_t, int64_t> orient(BlockShape shape) const {
    return channelsAlongRows
               ? std::make_pair(shape.channels, shape.reduction)
               : std::make_pair(shape.reduction, shape.channels);
  }

  /// Calls `fn(index)` for every element of the block.
  template <typename Fn>
  void forEachInBlock(std::pair<int64_t, int64_t> block, int64_t blockRow,
                      int64_t blockColumn, Fn fn) const {
    int64_t rowEnd = std::min(rows, (blockRow + 1) * block.first);
    int64_t columnEnd = std::min(columns, (blockColumn + 1) * block.second);
    for (int64_t r = blockRow * block.first; r < rowEnd; ++r)
      for (int64_t c = blockColumn * block.second; c < columnEnd; ++c)
        fn(r * columns + c);
  }

  int64_t countUncovered(unsigned classBits,
                         std::pair<int64_t, int64_t> block, int64_t blockRow,
                         int64_t blockColumn) const {
    int64_t count = 0;
    forEachInBlock(block, blockRow, blockColumn, [&](int64_t i) {
      count += bits[i] == classBits && owner[i] < 0;
    });
    return count;
  }

  /// Whether parts of `kind` may be 2:4 structured in blocks of `shape`.
  bool acceptsStructured(ComputeKind kind, BlockShape shape) const {
    return kind == ComputeKind::F16 && chip.acceptsStructuredBlock(shape);
  }

  /// Whether every channel of the block keeps at most two uncovered elements
  /// of `classBits` in each four consecutive reduction elements (groups
  /// aligned to the block, whose reduction is a multiple of four).
  bool isStructured(unsigned classBits, std::pair<int64_t, int64_t> block,
                    int64_t blockRow, int64_t blockColumn) const {
    // The block's channels and reduction elements, as [first, end) ranges.
    int64_t rowEnd = std::min(rows, (blockRow + 1) * block.first);
    int64_t columnEnd = std::min(columns, (blockColumn + 1) * block.second);
    std::pair<int64_t, int64_t> rowRange = {blockRow * block.first, rowEnd};
    std::pair<int64_t, int64_t> columnRange = {blockColumn * block.second,
                                               columnEnd};
    auto [channels, reduction] = channelsAlongRows
                                     ? std::make_pair(rowRange, columnRange)
                                     : std::make_pair(columnRange, rowRange);
    return !findDenseGroupOfFour(
        channels.first, channels.second, reduction.first, reduction.second,
        [&](int64_t channel, int64_t k) {
          int64_t i = channelsAlongRows ? channel * columns + k
                                        : k * columns + channel;
          return bits[i] == classBits && owner[i] < 0;
        });
  }

  /// Assigns the uncovered elements of `classBits` in a block to the block
  /// (or structured) part of `shape`, creating the part on first use.
  void takeBlock(unsigned classBits, BlockShape shape, bool structured,
                 double cost, int64_t blockRow, int64_t blockColumn) {
    std::pair<int64_t, int64_t> block = orient(shape);
    PlannedPart::Kind kind =
        structured ? PlannedPart::Kind::Structured : PlannedPart::Kind::Block;
    int partIndex = -1;
    for (auto [i, part] : llvm::enumerate(parts))
      if (part.kind == kind && part.bits == classBits &&
          part.blockRows == block.first && part.blockColumns == block.second)
        partIndex = i;
    if (partIndex < 0) {
      partIndex = parts.size();
      parts.push_back(
          {kind, block.first, block.second, classBits,
           SparsityMap::getUniform({rows, columns}, 0), 0,
           chip.costs.partOverhead[unsigned(getComputeKind(classBits))]});
    }
    parts[partIndex].numUnits += 1;
    parts[partIndex].cost += cost;
    forEachInBlock(block, blockRow, blockColumn, [&](int64_t i) {
      if (bits[i] == classBits && owner[i] < 0)
        owner[i] = partIndex;
    });
  }

  /// Takes every block of `shape` that holds an uncovered element; with
  /// `structuredWherePossible`, as a structured block where it is 2:4.
  void coverEveryBlock(unsigned classBits, BlockShape shape,
                       bool structuredWherePossible) {
    std::pair<int64_t, int64_t> block = orient(shape);
    double cost = chip.getBlockCost(getComputeKind(classBits), shape);
    double structuredCost = chip.getStructuredBlockCost(shape);
    for (int64_t br = 0; br * block.first < rows; ++br)
      for (int64_t bc = 0; bc * block.second < columns; ++bc) {
        if (countUncovered(classBits, block, br, bc) == 0)
          continue;
        bool structured = structuredWherePossible &&
                          isStructured(classBits, block, br, bc);
        takeBlock(classBits, shape, structured,
                  structured ? structuredCost : cost, br, bc);
      }
  }

  /// Weighted greedy cover: repeatedly take the block, of any shape on the
  /// menu, that saves most against computing its uncovered elements
  /// fine-grained; savings are re-evaluated lazily as blocks are taken.
  /// Structured blocks are candidates only where they are 2:4 when the cover
  /// starts; taking other blocks only removes elements, so they stay 2:4.
  void coverGreedily(unsigned classBits, ComputeKind kind) {
    double fineCost = chip.costs.finePerElement[unsigned(kind)];
    llvm::SmallVector<BlockChoice> choices;
    for (BlockShape shape : getAcceptedShapes(kind))
      choices.push_back({shape, false, chip.getBlockCost(kind, shape)});
    for (BlockShape shape : chip.blockMenu)
      if (acceptsStructured(kind, shape))
        choices.push_back({shape, true, chip.getStructuredBlockCost(shape)});
    std::priority_queue<Candidate> queue;
    for (auto [s, choice] : llvm::enumerate(choices)) {
      std::pair<int64_t, int64_t> block = orient(choice.shape);
      for (int64_t br = 0; br * block.first < rows; ++br)
        for (int64_t bc = 0; bc * block.second < columns; ++bc) {
          double savings =
              countUncovered(classBits, block, br, bc) * fineCost -
              choice.cost;
          if (savings > 0 &&
              (!choice.structured || isStructured(classBits, block, br, bc)))
            queue.push({savings, unsigned(s), br, bc});
        }
    }
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      const BlockChoice &choice = choices[top.shapeIndex];
      BlockShape shape = choice.shape;
      double cost = choice.cost;
      double savings = countUncovered(classBits, orient(shape), top.blockRow,
                                      top.blockColumn) *
                           fineCost -
                       cost;
      if (savings <= 0)
        continue;
      if (savings < top.savings && !queue.empty() &&
          savings < queue.top().savings) {
        top.savings = savings;
        queue.push(top);
        continue;
      }
      takeBlock(classBits, shape, choice.structured, cost, top.blockRow,
                top.blockColumn);
    }
  }

  void addFineRemainder(unsigned classBits, ComputeKind kind) {
    int64_t count = 0;
    llvm::DenseSet<int64_t> channels;
    for (size_t i = 0; i < bits.size(); ++i)
      if (bits[i] == classBits && owner[i] < 0) {
        owner[i] = parts.size();
        ++count;
        channels.insert(channelsAlongRows ? i / columns : i % columns);
      }
    if (count == 0)
      return;
    const KernelCosts &costs = chip.costs;
    double cost = costs.partOverhead[unsigned(kind)] +
                  channels.size() * costs.fineChannelOverhead[unsigned(kind)] +
                  count * costs.finePerElement[unsigned(kind)];
    parts.push_back({PlannedPart::Kind::Fine, 0, 0, classBits,
                     SparsityMap::getUniform({rows, columns}, 0), count,
                     cost});
  }

  /// Auto: the cheapest of the greedy cover, every block of one menu shape
  /// (dense, or structured where 2:4), and no blocks at all, counting each
  /// part's fixed costs (which the greedy cover, deciding block by block,
  /// cannot see).
  void coverCheapest(unsigned classBits, ComputeKind kind) {
    llvm::SmallVector<std::function<void()>> covers = {
        [&] { coverGreedily(classBits, kind); }, [] {}};
    for (BlockShape shape : getAcceptedShapes(kind))
      covers.push_back(
          [&, shape] { coverEveryBlock(classBits, shape, false); });
    for (BlockShape shape : chip.blockMenu)
      if (acceptsStructured(kind, shape))
        covers.push_back(
            [&, shape] { coverEveryBlock(classBits, shape, true); });
    std::vector<int> ownerBefore = owner, bestOwner;
    llvm::SmallVector<PlannedPart> partsBefore = parts, bestParts;
    double bestCost = std::numeric_limits<double>::infinity();
    for (const std::function<void()> &cover : covers) {
      cover();
      addFineRemainder(classBits, kind);
      double cost = 0;
      for (size_t p = partsBefore.size(); p < parts.size(); ++p)
        cost += parts[p].cost;
      if (cost < bestCost) {
        bestCost = cost;
        bestOwner = std::move(owner);
        bestParts = std::move(parts);
      }
      owner = ownerBefore;
      parts = partsBefore;
    }
    // The best cover, its fine remainder included.
    owner = std::move(bestOwner);
    parts = std::move(bestParts);
  }

  /// The shapes of the chip's menu that parts of `kind` can use.
  llvm::SmallVector<BlockShape> getAcceptedShapes(ComputeKind kind) const {
    llvm::SmallVector<BlockShape> shapes;
    for (BlockShape shape : chip.blockMenu)
      if (chip.acceptsBlock(kind, shape))
        shapes.push_back(shape);
    return shapes;
  }

  /// Writes the maps of the parts of `classBits` from the assignment.
  void materialiseMaps(unsigned classBits) {
    for (auto [index, part] : llvm::enumerate(parts)) {
      if (part.bits != classBits)
        continue;
      std::vector<uint8_t> entries(bits.size(), 0);
      for (size_t i = 0; i < bits.size(); ++i)
        if (owner[i] == int(index))
          entries[i] = classBits;
      part.map = llvm::cantFail(SparsityMap::get({rows, columns},
                                                 {rows, columns}, entries))
                     .getCanonical();
    }
  }

  int64_t rows, columns;
  bool channelsAlongRows;
  const ChipDescription &chip;
  std::vector<uint8_t> bits;
  /// The part each element is assigned to, -1 while unassigned.
  std::vector<int> owner;
  llvm::SmallVector<PlannedPart> parts;
};

} // namespace

llvm::SmallVector<PlannedPart>
tesa::planDecomposition(const SparsityMap &operand, bool channelsAlongRows,
                        const ChipDescription &chip,
                        const DecompositionOptions &options) {
  assert(operand.getRank() == 2 && "decomposition plans 2-D operands");
  return Planner(operand, channelsAlongRows, chip).plan(options);
}

/// Whether every element of `bits` (a row-major map `columns` wide) in
/// rows [rowBegin, rowEnd) and columns [columnBegin, columnEnd) is kept
/// (true), none is (false), or some are (none).
static std::optional<bool> isRectangleKept(llvm::ArrayRef<uint8_t> bits,
                                           int64_t columns, int64_t rowBegin,
                                           int64_t rowEnd, int64_t columnBegin,
                                           int64_t columnEnd) {
  int64_t kept = 0;
  for (int64_t i = rowBegin; i < rowEnd; ++i)
    for (int64_t j = columnBegin; j < columnEnd; ++j)
      kept += bits[i * columns + j] != 0;
  if (kept == 0)
    return false;
  if (kept != (rowEnd - rowBegin) * (columnEnd - columnBegin))
    return std::nullopt;
  return true;
}

std::optional<KeptSlabs> tesa::getKeptSlabs(const SparsityMap &rhs,
                                            int64_t slabRows,
                                            int64_t slabColumns) {
  llvm::ArrayRef<int64_t> shape = rhs.getShape();
  int64_t k = shape[0], n = shape[1];
  std::vector<uint8_t> bits = rhs.getEntriesOn(shape);
  KeptSlabs slabs;
  slabs.offsets.push_back(0);
  for (int64_t column = 0; column < llvm::divideCeil(n, slabColumns);
       ++column) {
    for (int64_t row = 0; row < llvm::divideCeil(k, slabRows); ++row) {
      std::optional<bool> kept = isRectangleKept(
          bits, n, row * slabRows, std::min(k, (row + 1) * slabRows),
          column * slabColumns, std::min(n, (column + 1) * slabColumns));
      if (!kept)
        return std::nullopt;
      if (*kept)
        slabs.rows.push_back(int32_t(row));
    }
    slabs.offsets.push_back(int32_t(slabs.rows.size()));
  }
  return slabs;
}

std::optional<KeptSlabs> tesa::getKeptLhsSlabs(const SparsityMap &lhs,
                                               int64_t slabDepth,
                                               int64_t columnTiles) {
  llvm::ArrayRef<int64_t> shape = lhs.getShape();
  int64_t m = shape[0], k = shape[1];
  std::vector<uint8_t> bits = lhs.getEntriesOn(shape);
  std::vector<int32_t> keptSlabs;
  for (int64_t slab = 0; slab < llvm::divideCeil(k, slabDepth); ++slab) {
    std::optional<bool> kept = isRectangleKept(
        bits, k, 0, m, slab * slabDepth, std::min(k, (slab + 1) * slabDepth));
    if (!kept)
      return std::nullopt;
    if (*kept)
      keptSlabs.push_back(int32_t(slab));
  }
  KeptSlabs slabs;
  slabs.offsets.push_back(0);
  for (int64_t column = 0; column < columnTiles; ++column) {
    llvm::append_range(slabs.rows, keptSlabs);
    slabs.offsets.push_back(int32_t(slabs.rows.size()));
  }
  return slabs;
}

std::optional<KeptChannels> tesa::getKeptChannels(const SparsityMap &map) {
  llvm::ArrayRef<int64_t> shape = map.getShape();
  int64_t rows = shape[0], columns = shape[1];
  std::vector<uint8_t> bits = map.getEntriesOn(shape);
  std::vector<bool> rowKept(rows), columnKept(columns);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j)
      if (bits[i * columns + j]) {
        rowKept[i] = true;
        columnKept[j] = true;
      }
  if (llvm::none_of(rowKept, [](bool kept) { return kept; }))
    return std::nullopt;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j)
      if (rowKept[i] && columnKept[j] && !bits[i * columns + j])
        return std::nullopt;
  // The kept indices, or none where all are kept.
  auto keptOf = [](const std::vector<bool> &kept) {
    std::vector<int32_t> indices;
    for (size_t i = 0; i < kept.size(); ++i)
      if (kept[i])
        indices.push_back(int32_t(i));
    if (indices.size() == kept.size())
      indices.clear();
    return indices;
  };
  return KeptChannels{keptOf(rowKept), keptOf(columnKept)};
}
