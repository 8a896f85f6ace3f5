//===- SparsityMap.h - Per-element sparsity attribute values ----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// `tesa::SparsityMap` is the value behind the `#tesa.sparsity` tensor
// encoding: for every element of a tensor, either "pruned" (0) or the bit
// width the element is kept at (4, 8, 16 or 32). It stores one byte per cell
// of a block grid that divides the tensor shape, so a block-uniform map costs
// one byte per block and a per-element map one byte per element.
//
// The class depends on LLVM's support library only; it needs no MLIRContext.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_SUPPORT_SPARSITYMAP_H
#define TESA_SUPPORT_SPARSITYMAP_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace tesa {

/// The entry value of a pruned element.
inline constexpr uint8_t kPrunedBits = 0;

/// The entry values a sparsity map may hold, narrowest first.
inline constexpr std::array<uint8_t, 5> kAllowedBits = {0, 4, 8, 16, 32};

/// Returns true if `bits` is one of 0, 4, 8, 16, 32.
bool isAllowedBits(int64_t bits);

/// A group of four consecutive reduction elements of one channel that keeps
/// more than two of them: the channel, the group's first reduction element,
/// and how many it keeps.
struct DenseGroupOfFour {
  int64_t channel, start, kept;
};

/// The first group, in channel order, that breaks 2:4 structured sparsity
/// (keeps more than two of four consecutive reduction elements) among the
/// channels [channelBegin, channelEnd), whose reduction [reductionBegin,
/// reductionEnd) is cut into groups of four from reductionBegin (the last
/// may be shorter); `kept(channel, k)` says whether an element is kept.
/// None when every group keeps at most two.
std::optional<DenseGroupOfFour>
findDenseGroupOfFour(int64_t channelBegin, int64_t channelEnd,
                     int64_t reductionBegin, int64_t reductionEnd,
                     llvm::function_ref<bool(int64_t, int64_t)> kept);

/// The number of elements kept at each allowed bit width (pruned included).
class BitHistogram {
public:
  /// Element count for `bits` (one of `kAllowedBits`).
  int64_t operator[](uint8_t bits) const { return counts[slot(bits)]; }
  /// Adds `count` elements at `bits`.
  void add(uint8_t bits, int64_t count) { counts[slot(bits)] += count; }
  bool operator==(const BitHistogram &other) const {
    return counts == other.counts;
  }

private:
  static unsigned slot(uint8_t bits);
  std::array<int64_t, kAllowedBits.size()> counts = {};
};

/// A per-element sparsity attribute over a statically shaped tensor.
///
/// The map holds one entry per cell of a block grid: `getGridShape()[d]`
/// divides `getShape()[d]`, and an entry covers a block of
/// `getShape()[d] / getGridShape()[d]` elements along each dimension d.
/// Entries are stored row-major. Equal maps over different grids describe the
/// same sparsity; `getCanonical()` returns the unique coarsest form.
class SparsityMap {
public:
  /// A map in which every element is kept at `bits`; `bits` must be allowed.
  static SparsityMap getUniform(llvm::ArrayRef<int64_t> shape, uint8_t bits);

  /// Builds a map from row-major grid entries. Fails with a readable message
  /// if a shape is negative, ranks differ, a grid dimension is not positive or
  /// does not divide the tensor dimension, the entry count does not match the
  /// grid, or an entry is not an allowed bit width.
  static llvm::Expected<SparsityMap> get(llvm::ArrayRef<int64_t> shape,
                                         llvm::ArrayRef<int64_t> gridShape,
                                         std::vector<uint8_t> entries);

  /// Checks the arguments of `get` without building a map. `entries` may be
  /// empty to check the shapes only.
  static llvm::Error verify(llvm::ArrayRef<int64_t> shape,
                            llvm::ArrayRef<int64_t> gridShape,
                            llvm::ArrayRef<uint8_t> entries);

  //===--------------------------------------------------------------------===//
  // Shape queries
  //===--------------------------------------------------------------------===//

  llvm::ArrayRef<int64_t> getShape() const { return shape; }
  llvm::ArrayRef<int64_t> getGridShape() const { return gridShape; }
  /// Elements per block along each dimension.
  llvm::SmallVector<int64_t> getBlockShape() const;
  unsigned getRank() const { return shape.size(); }
  int64_t getNumElements() const;
  int64_t getNumBlocks() const { return entries.size(); }
  int64_t getElementsPerBlock() const;
  /// The row-major grid entries.
  llvm::ArrayRef<uint8_t> getEntries() const { return entries; }

  //===--------------------------------------------------------------------===//
  // Element and block queries
  //===--------------------------------------------------------------------===//

  /// Bits of the element at `index` (0 if pruned). `index` must be in range.
  uint8_t getBits(llvm::ArrayRef<int64_t> index) const;
  bool isPruned(llvm::ArrayRef<int64_t> index) const {
    return getBits(index) == kPrunedBits;
  }
  /// Bits of the grid cell at `blockIndex`. `blockIndex` must be in range.
  uint8_t getBlockBits(llvm::ArrayRef<int64_t> blockIndex) const;

  //===--------------------------------------------------------------------===//
  // Counts
  //===--------------------------------------------------------------------===//

  int64_t getNumKept() const;
  int64_t getNumPruned() const { return getNumElements() - getNumKept(); }
  /// Kept elements over all elements; 1 for an empty tensor.
  double getKeptFraction() const;
  /// Element counts per bit width.
  BitHistogram getBitHistogram() const;
  /// The bit width of every element if they all share one.
  std::optional<uint8_t> getUniformBits() const;

  //===--------------------------------------------------------------------===//
  // Lattice and grid operations
  //===--------------------------------------------------------------------===//

  /// The meet of two maps over the same shape: an element is pruned if either
  /// map prunes it, otherwise it is kept at the narrower width. The result is
  /// canonical.
  SparsityMap meet(const SparsityMap &other) const;
  /// The join of two maps over the same shape: an element is kept if either
  /// map keeps it, at the wider width. The result is canonical. Propagation
  /// uses it to merge facts: an element is zero only if it is zero on every
  /// path, and dead only if every use finds it dead.
  SparsityMap join(const SparsityMap &other) const;

  /// The same sparsity on the coarsest grid that represents it exactly, with
  /// an all-ones grid when uniform. Two maps describe the same sparsity iff
  /// their canonical forms compare equal.
  SparsityMap getCanonical() const;
  bool isCanonical() const;

  /// The same sparsity on `grid`, which must divide the shape. Fails if the
  /// map is not constant on the blocks of `grid`.
  llvm::Expected<SparsityMap> regrid(llvm::ArrayRef<int64_t> grid) const;

  /// The entries on `fineGrid`, which must be a multiple of the grid and
  /// divide the shape, row-major.
  std::vector<uint8_t> getEntriesOn(llvm::ArrayRef<int64_t> fineGrid) const;
  /// The coarsest grid that refines the grids of every map of `maps` (at
  /// least one, all over one shape): comparing them on its cells costs a byte
  /// a cell, not a byte an element.
  static llvm::SmallVector<int64_t>
  getCommonGrid(llvm::ArrayRef<const SparsityMap *> maps);
  /// A conservative view at the granularity of `grid` (which must divide the
  /// shape): a block is kept if any of its elements is kept, at the widest
  /// width among them. This is the cover a block-sparse kernel must compute.
  SparsityMap getBlockView(llvm::ArrayRef<int64_t> grid) const;

  /// The number of kept elements in each block of `grid` (which must divide
  /// the shape), row-major.
  std::vector<int64_t> getKeptCountsPerBlock(llvm::ArrayRef<int64_t> grid) const;

  /// True if both maps describe the same sparsity over the same shape,
  /// whatever their grids.
  bool isEquivalentTo(const SparsityMap &other) const;

  /// Structural equality: same shape, grid and entries.
  bool operator==(const SparsityMap &other) const {
    return shape == other.shape && gridShape == other.gridShape &&
           entries == other.entries;
  }
  bool operator!=(const SparsityMap &other) const { return !(*this == other); }

  /// Prints a short description, e.g. `64x64 grid 2x2 [32 0 0 8]`.
  void print(llvm::raw_ostream &os) const;

private:
  SparsityMap(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> gridShape,
              std::vector<uint8_t> entries)
      : shape(shape), gridShape(gridShape), entries(std::move(entries)) {}

  /// `fn(lhs, rhs)` per element of this map and `other`, canonical.
  template <typename Fn>
  SparsityMap combine(const SparsityMap &other, Fn fn) const;
  /// This map's entries expanded to `fineGrid`, a multiple of the grid.
  std::vector<uint8_t> expandTo(llvm::ArrayRef<int64_t> fineGrid) const;

  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<int64_t> gridShape;
  std::vector<uint8_t> entries;
};

} // namespace tesa

#endif // TESA_SUPPORT_SPARSITYMAP_H
