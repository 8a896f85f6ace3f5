//===- DecompositionPlan.h - Splitting a sparse operand into parts -*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The transformation policy: split the kept elements of a 2-D sparse operand
// into disjoint parts, each computed by one kernel kind at one precision,
// whose union is exactly the kept set. Blocks are chosen by a weighted greedy
// cover over the chip's block menu against its cost table.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_DECOMPOSITIONPLAN_H
#define TESA_ANALYSIS_DECOMPOSITIONPLAN_H

#include "tesa/Support/SparsityMap.h"
#include "tesa/Target/ChipDescription.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/CommandLine.h"

namespace tesa {

/// One part of a decomposed operand.
struct PlannedPart {
  /// Block: dense tiles. Structured: blocks in which every channel keeps at
  /// most two of every four consecutive reduction elements (2:4, computed on
  /// sparse tensor cores). Fine: scattered elements.
  enum class Kind { Block, Structured, Fine };
  Kind kind;
  /// For block and structured parts: the block shape in the operand's own
  /// (row, column) order.
  int64_t blockRows = 0, blockColumns = 0;
  /// The bit width the part's elements are kept at (4, 8, 16 or 32).
  unsigned bits;
  /// The part's elements, at `bits`; every other element pruned.
  SparsityMap map;
  /// Number of blocks (block and structured parts) or kept elements (fine
  /// parts).
  int64_t numUnits;
  /// Estimated cost per dense column, in cost-table units.
  double cost;
};

/// How to choose the parts.
struct DecompositionOptions {
  enum class Mode {
    /// Cost-model-driven cover over the chip's block menu.
    Auto,
    /// Everything fine-grained.
    Fine,
    /// Every block of `forcedBlock` that holds a kept element.
    Block,
    /// As Block, but f16 blocks that are 2:4 structured along the reduction
    /// become structured blocks where the chip has sparse tensor cores.
    Structured,
  };
  Mode mode = Mode::Auto;
  BlockShape forcedBlock = {16, 16};
};

/// The names of the decomposition plans (DecompositionOptions::Mode), for
/// the options that take one.
inline llvm::cl::ValuesClass getDecompositionPlanValues() {
  using Mode = DecompositionOptions::Mode;
  return llvm::cl::values(
      clEnumValN(Mode::Auto, "auto", "the cost model's cover"),
      clEnumValN(Mode::Fine, "fine", "every kept element fine-grained"),
      clEnumValN(Mode::Block, "block",
                 "every block of block-shape holding a kept element"),
      clEnumValN(Mode::Structured, "structured",
                 "as block, f16 blocks that are 2:4 along the reduction on "
                 "sparse tensor cores"));
}

/// The most planning cells decomposition takes on (a 16384x16384 weight
/// with a per-element map): planning takes about 16 bytes a cell.
constexpr int64_t kMaxPlanningCells = int64_t(1) << 28;

/// The cells planDecomposition works on for `operand`: rectangles that
/// divide the map's blocks and every block shape the plan may take (one
/// element each for a per-element map).
int64_t getPlanningCells(const SparsityMap &operand, bool channelsAlongRows,
                         const ChipDescription &chip,
                         const DecompositionOptions &options);

/// Plans the parts of `operand`, a 2-D map whose output channels run along
/// rows (`channelsAlongRows`, e.g. the lhs of a matmul) or columns (the rhs).
/// Parts come ordered by bits (32, 16, 8, 4), block and structured parts
/// before the fine remainder; their maps are disjoint and their union equals
/// `operand`.
llvm::SmallVector<PlannedPart>
planDecomposition(const SparsityMap &operand, bool channelsAlongRows,
                  const ChipDescription &chip,
                  const DecompositionOptions &options);

/// The kept slabs of a part `rhs` of a product's rhs (K x N), in slabs of
/// `slabRows` reduction rows by `slabColumns` columns: those of column of
/// slabs c are `rows[offsets[c]]` ... `rows[offsets[c + 1] - 1]` (slab
/// indices along K). What the contraction family walks for a block part.
struct KeptSlabs {
  std::vector<int32_t> offsets, rows;
};

/// Columns of `slabs` in groups of `groupSize` (the last group takes what
/// is left): for group g, the slab rows any of its columns keeps, in order,
/// `rows[offsets[g]]` ... `rows[offsets[g + 1] - 1]`, each with a mask
/// whose bit j says whether the group's column j keeps it. A tile of
/// several slab columns walks these, reading each row's dense slice once.
struct KeptSlabGroups {
  std::vector<int32_t> offsets, rows, masks;
};
KeptSlabGroups groupKeptSlabs(const KeptSlabs &slabs, int64_t groupSize);

/// `rhs`'s kept slabs, or none when a slab keeps some of its elements
/// only.
std::optional<KeptSlabs> getKeptSlabs(const SparsityMap &rhs,
                                      int64_t slabRows, int64_t slabColumns);
/// The rows and columns an operand part keeps, where its kept elements are
/// exactly those of a kept row and a kept column (its pruned channels are
/// whole rows or columns); each list is empty where every row (column) is
/// kept.
struct KeptChannels {
  std::vector<int32_t> rows, columns;
};

/// `map`'s kept channels (2-D), or none when it keeps nothing or some
/// pruned element lies in a kept row and a kept column.
std::optional<KeptChannels> getKeptChannels(const SparsityMap &map);

/// The kept slabs of a part `lhs` of a product's lhs (M x K) whose slabs
/// of `slabDepth` reduction columns are kept for every row or for none (the
/// dead columns of an activation), as the KeptSlabs of `columnTiles`
/// columns of slabs that all walk the same K slabs; none when a slab keeps
/// some of its elements only.
std::optional<KeptSlabs> getKeptLhsSlabs(const SparsityMap &lhs,
                                         int64_t slabDepth,
                                         int64_t columnTiles);

} // namespace tesa

#endif // TESA_ANALYSIS_DECOMPOSITIONPLAN_H
