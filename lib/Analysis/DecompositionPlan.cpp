//===- DecompositionPlan.cpp - Splitting a sparse operand into parts ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/DecompositionPlan.h"

#include "llvm/Support/MathExtras.h"

#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
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

/// The (rows, columns) of a block given as (channels, reduction).
static std::pair<int64_t, int64_t> orientBlock(BlockShape shape,
                                               bool channelsAlongRows) {
  return channelsAlongRows ? std::make_pair(shape.channels, shape.reduction)
                           : std::make_pair(shape.reduction, shape.channels);
}

/// Whether every block shape the plan may take divides the operand map's
/// blocks: each block then lies in one map block, all kept or all pruned.
static bool isTiledByEveryShape(const SparsityMap &operand,
                                bool channelsAlongRows,
                                const ChipDescription &chip,
                                const DecompositionOptions &options) {
  llvm::SmallVector<int64_t> mapBlock = operand.getBlockShape();
  auto divides = [&](BlockShape shape) {
    std::pair<int64_t, int64_t> block = orientBlock(shape, channelsAlongRows);
    return mapBlock[0] % block.first == 0 && mapBlock[1] % block.second == 0;
  };
  return llvm::all_of(chip.blockMenu, divides) && divides(options.forcedBlock);
}

/// The planning cell (see Planner): the operand map's blocks where every
/// block shape the plan may take divides them, else the largest rectangle
/// that divides the map's blocks and every such shape.
static std::pair<int64_t, int64_t>
getPlanningCell(const SparsityMap &operand, bool channelsAlongRows,
                const ChipDescription &chip,
                const DecompositionOptions &options) {
  llvm::SmallVector<int64_t> mapBlock = operand.getBlockShape();
  std::pair<int64_t, int64_t> cell = {mapBlock[0], mapBlock[1]};
  if (isTiledByEveryShape(operand, channelsAlongRows, chip, options))
    return cell;
  auto divideBoth = [&](BlockShape shape) {
    std::pair<int64_t, int64_t> block = orientBlock(shape, channelsAlongRows);
    cell.first = std::gcd(cell.first, block.first);
    cell.second = std::gcd(cell.second, block.second);
  };
  for (BlockShape shape : chip.blockMenu)
    divideBoth(shape);
  divideBoth(options.forcedBlock);
  return cell;
}

/// The planning state for one operand. It plans on cells of cell.first x
/// cell.second elements, on which the map is constant. Usually the largest
/// that divide the operand map's blocks and every block shape the plan may
/// take, so that every block is made of whole cells: a per-element map
/// plans per element. Where every shape divides the map's blocks instead
/// (`wholeCells`), a cell is a map block, made of whole blocks of every
/// shape: planning costs a step per map block, whatever the operand's size.
class Planner {
public:
  Planner(const SparsityMap &operand, bool channelsAlongRows,
          const ChipDescription &chip, const DecompositionOptions &options)
      : rows(operand.getShape()[0]), columns(operand.getShape()[1]),
        channelsAlongRows(channelsAlongRows), chip(chip),
        cell(getPlanningCell(operand, channelsAlongRows, chip, options)),
        cellRows(rows / cell.first),
        cellColumns(columns / cell.second),
        cellElements(cell.first * cell.second),
        wholeCells(
            isTiledByEveryShape(operand, channelsAlongRows, chip, options)),
        bits(operand.getEntriesOn({cellRows, cellColumns})),
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
  std::pair<int64_t, int64_t> orient(BlockShape shape) const {
    return orientBlock(shape, channelsAlongRows);
  }

  /// Calls `fn(cellIndex)` for every cell of the block.
  template <typename Fn>
  void forEachInBlock(std::pair<int64_t, int64_t> block, int64_t blockRow,
                      int64_t blockColumn, Fn fn) const {
    // Cells divide blocks and the operand, so the block is whole cells.
    int64_t rowBegin = blockRow * block.first / cell.first;
    int64_t rowEnd = std::min(rows, (blockRow + 1) * block.first) / cell.first;
    int64_t columnBegin = blockColumn * block.second / cell.second;
    int64_t columnEnd =
        std::min(columns, (blockColumn + 1) * block.second) / cell.second;
    for (int64_t r = rowBegin; r < rowEnd; ++r)
      for (int64_t i = r * cellColumns + columnBegin,
                   end = r * cellColumns + columnEnd;
           i < end; ++i)
        fn(i);
  }

  /// The uncovered elements of `classBits` in the block.
  int64_t countUncovered(unsigned classBits,
                         std::pair<int64_t, int64_t> block, int64_t blockRow,
                         int64_t blockColumn) const {
    int64_t count = 0;
    forEachInBlock(block, blockRow, blockColumn, [&](int64_t i) {
      count += bits[i] == classBits && owner[i] < 0;
    });
    return count * cellElements;
  }

  /// Whether the element at (row, column) is of `classBits` and uncovered.
  bool isUncoveredElement(unsigned classBits, int64_t row,
                          int64_t column) const {
    int64_t i = row / cell.first * cellColumns + column / cell.second;
    return bits[i] == classBits && owner[i] < 0;
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
    // Cells a multiple of four deep along the reduction hold whole groups
    // of four, so an uncovered cell of classBits holds a dense group.
    int64_t cellReduction = channelsAlongRows ? cell.second : cell.first;
    if (cellReduction % 4 == 0)
      return countUncovered(classBits, block, blockRow, blockColumn) == 0;
    std::pair<int64_t, int64_t> rowRange = {blockRow * block.first, rowEnd};
    std::pair<int64_t, int64_t> columnRange = {blockColumn * block.second,
                                               columnEnd};
    auto [channels, reduction] = channelsAlongRows
                                     ? std::make_pair(rowRange, columnRange)
                                     : std::make_pair(columnRange, rowRange);
    return !findDenseGroupOfFour(
        channels.first, channels.second, reduction.first, reduction.second,
        [&](int64_t channel, int64_t k) {
          return channelsAlongRows ? isUncoveredElement(classBits, channel, k)
                                   : isUncoveredElement(classBits, k, channel);
        });
  }

  /// Assigns the uncovered elements of `classBits` in a block to the block
  /// (or structured) part of `shape`, creating the part on first use.
  void takeBlock(unsigned classBits, BlockShape shape, bool structured,
                 double cost, int64_t blockRow, int64_t blockColumn) {
    std::pair<int64_t, int64_t> block = orient(shape);
    int partIndex = getBlockPart(classBits, block, structured);
    parts[partIndex].numUnits += 1;
    parts[partIndex].cost += cost;
    forEachInBlock(block, blockRow, blockColumn, [&](int64_t i) {
      if (bits[i] == classBits && owner[i] < 0)
        owner[i] = partIndex;
    });
  }

  /// The index of the block (or structured) part of `classBits` in blocks
  /// of `block`, created on first use.
  int getBlockPart(unsigned classBits, std::pair<int64_t, int64_t> block,
                   bool structured) {
    PlannedPart::Kind kind =
        structured ? PlannedPart::Kind::Structured : PlannedPart::Kind::Block;
    for (auto [i, part] : llvm::enumerate(parts))
      if (part.kind == kind && part.bits == classBits &&
          part.blockRows == block.first && part.blockColumns == block.second)
        return i;
    parts.push_back(
        {kind, block.first, block.second, classBits,
         SparsityMap::getUniform({rows, columns}, 0), 0,
         chip.costs.partOverhead[unsigned(getComputeKind(classBits))]});
    return parts.size() - 1;
  }

  /// With whole cells: every uncovered cell of `classBits` tiled with
  /// blocks of `shape`. Its elements are all kept, so never 2:4.
  void tileWholeCells(unsigned classBits, BlockShape shape) {
    std::pair<int64_t, int64_t> block = orient(shape);
    int64_t blocksPerCell = cellElements / (block.first * block.second);
    double cellCost =
        blocksPerCell * chip.getBlockCost(getComputeKind(classBits), shape);
    int partIndex = -1;
    for (size_t i = 0; i < bits.size(); ++i) {
      if (bits[i] != classBits || owner[i] >= 0)
        continue;
      if (partIndex < 0)
        partIndex = getBlockPart(classBits, block, /*structured=*/false);
      owner[i] = partIndex;
      parts[partIndex].numUnits += blocksPerCell;
      parts[partIndex].cost += cellCost;
    }
  }

  /// Takes every block of `shape` that holds an uncovered element; with
  /// `structuredWherePossible`, as a structured block where it is 2:4.
  void coverEveryBlock(unsigned classBits, BlockShape shape,
                       bool structuredWherePossible) {
    if (wholeCells)
      return tileWholeCells(classBits, shape);
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
    if (wholeCells)
      return coverWholeCellsGreedily(classBits, kind, fineCost);
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

  /// The greedy cover with whole cells: every block of every shape is all
  /// kept, so the first block taken is of the shape that saves most per
  /// block, and blocks of that shape then tile every cell.
  void coverWholeCellsGreedily(unsigned classBits, ComputeKind kind,
                               double fineCost) {
    std::optional<BlockShape> best;
    double bestSavings = 0;
    for (BlockShape shape : getAcceptedShapes(kind)) {
      double savings = shape.channels * shape.reduction * fineCost -
                       chip.getBlockCost(kind, shape);
      if (savings > bestSavings) {
        bestSavings = savings;
        best = shape;
      }
    }
    if (best)
      tileWholeCells(classBits, *best);
  }

  void addFineRemainder(unsigned classBits, ComputeKind kind) {
    int64_t count = 0;
    // Channels with work, as the cells' channel ranges.
    std::vector<bool> channelCells(channelsAlongRows ? cellRows : cellColumns);
    int64_t numChannelCells = 0;
    for (int64_t r = 0, i = 0; r < cellRows; ++r)
      for (int64_t c = 0; c < cellColumns; ++c, ++i)
        if (bits[i] == classBits && owner[i] < 0) {
          owner[i] = parts.size();
          count += cellElements;
          int64_t channel = channelsAlongRows ? r : c;
          numChannelCells += !channelCells[channel];
          channelCells[channel] = true;
        }
    if (count == 0)
      return;
    int64_t channels =
        numChannelCells * (channelsAlongRows ? cell.first : cell.second);
    const KernelCosts &costs = chip.costs;
    double cost = costs.partOverhead[unsigned(kind)] +
                  channels * costs.fineChannelOverhead[unsigned(kind)] +
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
    // Each cover is tried and undone; only the cheapest is done again, so
    // that no copy of the assignment (4 bytes a cell) is kept.
    size_t partsBefore = parts.size();
    double bestCost = std::numeric_limits<double>::infinity();
    const std::function<void()> *best = nullptr;
    for (const std::function<void()> &cover : covers) {
      cover();
      addFineRemainder(classBits, kind);
      double cost = 0;
      for (size_t p = partsBefore; p < parts.size(); ++p)
        cost += parts[p].cost;
      if (cost < bestCost) {
        bestCost = cost;
        best = &cover;
      }
      undoCovers(classBits, partsBefore);
    }
    // The best cover, its fine remainder included.
    (*best)();
    addFineRemainder(classBits, kind);
  }

  /// Forgets the parts from `firstPart` on and which cells of `classBits`
  /// they took (only parts of `classBits` take those cells).
  void undoCovers(unsigned classBits, size_t firstPart) {
    for (size_t i = 0; i < bits.size(); ++i)
      if (bits[i] == classBits)
        owner[i] = -1;
    parts.truncate(firstPart);
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
      part.map = llvm::cantFail(SparsityMap::get(
                                    {rows, columns}, {cellRows, cellColumns},
                                    std::move(entries)))
                     .getCanonical();
    }
  }

  int64_t rows, columns;
  bool channelsAlongRows;
  const ChipDescription &chip;
  /// Elements of a cell along rows and columns; cells along rows and
  /// columns; elements of a cell.
  std::pair<int64_t, int64_t> cell;
  int64_t cellRows, cellColumns, cellElements;
  /// Whether a cell is a map block made of whole blocks of every shape.
  bool wholeCells;
  /// The bits of each cell, row-major.
  std::vector<uint8_t> bits;
  /// The part each cell is assigned to, -1 while unassigned.
  std::vector<int> owner;
  llvm::SmallVector<PlannedPart> parts;
};

} // namespace

int64_t tesa::getPlanningCells(const SparsityMap &operand,
                               bool channelsAlongRows,
                               const ChipDescription &chip,
                               const DecompositionOptions &options) {
  std::pair<int64_t, int64_t> cell =
      getPlanningCell(operand, channelsAlongRows, chip, options);
  return operand.getShape()[0] / cell.first *
         (operand.getShape()[1] / cell.second);
}

llvm::SmallVector<PlannedPart>
tesa::planDecomposition(const SparsityMap &operand, bool channelsAlongRows,
                        const ChipDescription &chip,
                        const DecompositionOptions &options) {
  assert(operand.getRank() == 2 && "decomposition plans 2-D operands");
  return Planner(operand, channelsAlongRows, chip, options).plan(options);
}

/// Whether every element of the 2-D `map` in rows [rowBegin, rowEnd) and
/// columns [columnBegin, columnEnd) is kept (true), none is (false), or
/// some are (none). Looks at the map's blocks that meet the rectangle: each
/// is kept or pruned as a whole.
static std::optional<bool> isRectangleKept(const SparsityMap &map,
                                           int64_t rowBegin, int64_t rowEnd,
                                           int64_t columnBegin,
                                           int64_t columnEnd) {
  llvm::SmallVector<int64_t> block = map.getBlockShape();
  int64_t gridColumns = map.getGridShape()[1];
  llvm::ArrayRef<uint8_t> entries = map.getEntries();
  int64_t kept = 0, total = 0;
  for (int64_t i = rowBegin / block[0]; i * block[0] < rowEnd; ++i)
    for (int64_t j = columnBegin / block[1]; j * block[1] < columnEnd; ++j) {
      kept += entries[i * gridColumns + j] != 0;
      ++total;
    }
  if (kept == 0)
    return false;
  if (kept != total)
    return std::nullopt;
  return true;
}

std::optional<KeptSlabs> tesa::getKeptSlabs(const SparsityMap &rhs,
                                            int64_t slabRows,
                                            int64_t slabColumns) {
  llvm::ArrayRef<int64_t> shape = rhs.getShape();
  int64_t k = shape[0], n = shape[1];
  KeptSlabs slabs;
  slabs.offsets.push_back(0);
  for (int64_t column = 0; column < int64_t(llvm::divideCeil(n, slabColumns));
       ++column) {
    for (int64_t row = 0; row < int64_t(llvm::divideCeil(k, slabRows)); ++row) {
      std::optional<bool> kept = isRectangleKept(
          rhs, row * slabRows, std::min(k, (row + 1) * slabRows),
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

KeptSlabGroups tesa::groupKeptSlabs(const KeptSlabs &slabs,
                                    int64_t groupSize) {
  KeptSlabGroups groups;
  groups.offsets.push_back(0);
  int64_t columns = int64_t(slabs.offsets.size()) - 1;
  for (int64_t first = 0; first < columns; first += groupSize) {
    // Row -> the mask of the group's columns that keep it, rows in order.
    std::map<int32_t, int32_t> masks;
    for (int64_t j = 0; j < groupSize && first + j < columns; ++j)
      for (int32_t entry = slabs.offsets[first + j];
           entry < slabs.offsets[first + j + 1]; ++entry)
        masks[slabs.rows[entry]] |= int32_t(1) << j;
    for (auto [row, mask] : masks) {
      groups.rows.push_back(row);
      groups.masks.push_back(mask);
    }
    groups.offsets.push_back(int32_t(groups.rows.size()));
  }
  return groups;
}

std::optional<KeptSlabs> tesa::getKeptLhsSlabs(const SparsityMap &lhs,
                                               int64_t slabDepth,
                                               int64_t columnTiles) {
  llvm::ArrayRef<int64_t> shape = lhs.getShape();
  int64_t m = shape[0], k = shape[1];
  std::vector<int32_t> keptSlabs;
  for (int64_t slab = 0; slab < int64_t(llvm::divideCeil(k, slabDepth)); ++slab) {
    std::optional<bool> kept = isRectangleKept(
        lhs, 0, m, slab * slabDepth, std::min(k, (slab + 1) * slabDepth));
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
  // On the map's grid: a block row (column) is kept if any of its blocks is.
  llvm::ArrayRef<int64_t> grid = map.getGridShape();
  llvm::ArrayRef<uint8_t> bits = map.getEntries();
  std::vector<bool> gridRowKept(grid[0]), gridColumnKept(grid[1]);
  for (int64_t i = 0; i < grid[0]; ++i)
    for (int64_t j = 0; j < grid[1]; ++j)
      if (bits[i * grid[1] + j]) {
        gridRowKept[i] = true;
        gridColumnKept[j] = true;
      }
  if (llvm::none_of(gridRowKept, [](bool kept) { return kept; }))
    return std::nullopt;
  for (int64_t i = 0; i < grid[0]; ++i)
    for (int64_t j = 0; j < grid[1]; ++j)
      if (gridRowKept[i] && gridColumnKept[j] && !bits[i * grid[1] + j])
        return std::nullopt;
  // Per element row and column.
  auto expand = [](const std::vector<bool> &gridKept, int64_t size) {
    std::vector<bool> kept(size);
    int64_t block = size / int64_t(gridKept.size());
    for (int64_t i = 0; i < size; ++i)
      kept[i] = gridKept[i / block];
    return kept;
  };
  llvm::ArrayRef<int64_t> shape = map.getShape();
  std::vector<bool> rowKept = expand(gridRowKept, shape[0]);
  std::vector<bool> columnKept = expand(gridColumnKept, shape[1]);
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
