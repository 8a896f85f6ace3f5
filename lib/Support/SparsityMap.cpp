//===- SparsityMap.cpp - Per-element sparsity attribute values ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/SparsityMap.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <numeric>

using namespace tesa;
using llvm::ArrayRef;
using llvm::SmallVector;

bool tesa::isAllowedBits(int64_t bits) {
  return llvm::is_contained(kAllowedBits, bits);
}

std::optional<DenseGroupOfFour>
tesa::findDenseGroupOfFour(int64_t channelBegin, int64_t channelEnd,
                           int64_t reductionBegin, int64_t reductionEnd,
                           llvm::function_ref<bool(int64_t, int64_t)> kept) {
  for (int64_t channel = channelBegin; channel < channelEnd; ++channel)
    for (int64_t start = reductionBegin; start < reductionEnd; start += 4) {
      int64_t count = 0;
      for (int64_t k = start; k < std::min(start + 4, reductionEnd); ++k)
        count += kept(channel, k);
      if (count > 2)
        return DenseGroupOfFour{channel, start, count};
    }
  return std::nullopt;
}

unsigned BitHistogram::slot(uint8_t bits) {
  const auto *it = llvm::find(kAllowedBits, bits);
  assert(it != kAllowedBits.end() && "not an allowed bit width");
  return it - kAllowedBits.begin();
}

//===----------------------------------------------------------------------===//
// Grid helpers
//===----------------------------------------------------------------------===//

static int64_t product(ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

/// Walks the cells of the `fine` grid in row-major order and calls
/// `fn(fineLinear, coarseLinear)` with the row-major index of the cell of the
/// `coarse` grid that contains each one. Every coarse dimension must divide
/// the matching fine dimension.
template <typename Fn>
static void forEachCell(ArrayRef<int64_t> fine, ArrayRef<int64_t> coarse,
                        Fn fn) {
  unsigned rank = fine.size();
  if (rank == 0) {
    fn(0, 0);
    return;
  }
  if (product(fine) == 0)
    return;
  SmallVector<int64_t> ratio(rank), coarseStride(rank);
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    coarseStride[d] = stride;
    stride *= coarse[d];
    ratio[d] = fine[d] / coarse[d];
  }
  unsigned last = rank - 1;
  SmallVector<int64_t> index(rank, 0);
  int64_t fineLinear = 0;
  while (true) {
    int64_t base = 0;
    for (unsigned d = 0; d < last; ++d)
      base += index[d] / ratio[d] * coarseStride[d];
    for (int64_t i = 0, e = fine[last], r = ratio[last]; i < e; i += r)
      for (int64_t j = 0; j < r; ++j)
        fn(fineLinear++, base + i / r);
    int d = static_cast<int>(last) - 1;
    for (; d >= 0; --d) {
      if (++index[d] < fine[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      return;
  }
}

/// The element-wise least common multiple of two grids.
static SmallVector<int64_t> lcmGrid(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  SmallVector<int64_t> result;
  for (auto [x, y] : llvm::zip_equal(a, b))
    result.push_back(std::lcm(x, y));
  return result;
}

SmallVector<int64_t>
SparsityMap::getCommonGrid(ArrayRef<const SparsityMap *> maps) {
  assert(!maps.empty() && "no maps");
  SmallVector<int64_t> grid(maps.front()->getGridShape());
  for (const SparsityMap *map : maps.drop_front()) {
    assert(map->getShape() == maps.front()->getShape() && "shapes differ");
    grid = lcmGrid(grid, map->getGridShape());
  }
  return grid;
}

/// Row-major linear index of `index` in `dims`.
static int64_t linearize(ArrayRef<int64_t> index, ArrayRef<int64_t> dims) {
  int64_t linear = 0;
  for (auto [i, n] : llvm::zip_equal(index, dims)) {
    assert(i >= 0 && i < n && "index out of range");
    linear = linear * n + i;
  }
  return linear;
}

static std::string formatShape(ArrayRef<int64_t> dims) {
  if (dims.empty())
    return "scalar";
  return llvm::join(llvm::map_range(dims, [](int64_t d) { return std::to_string(d); }), "x");
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

SparsityMap SparsityMap::getUniform(ArrayRef<int64_t> shape, uint8_t bits) {
  assert(isAllowedBits(bits) && "not an allowed bit width");
  assert(llvm::all_of(shape, [](int64_t d) { return d >= 0; }) &&
         "shape must be static");
  return SparsityMap(shape, SmallVector<int64_t>(shape.size(), 1), {bits});
}

llvm::Error SparsityMap::verify(ArrayRef<int64_t> shape,
                                ArrayRef<int64_t> gridShape,
                                ArrayRef<uint8_t> entries) {
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  if (gridShape.size() != shape.size())
    return error("map rank " + llvm::Twine(gridShape.size()) +
                 " does not match tensor rank " + llvm::Twine(shape.size()));
  for (auto [d, dims] : llvm::enumerate(llvm::zip_equal(shape, gridShape))) {
    auto [size, cells] = dims;
    if (size < 0)
      return error("tensor dimension " + llvm::Twine(d) + " is not static");
    if (cells <= 0)
      return error("map dimension " + llvm::Twine(d) + " is " +
                   llvm::Twine(cells) + ", expected a positive size");
    if (size % cells != 0)
      return error("map dimension " + llvm::Twine(d) + " (" +
                   llvm::Twine(cells) + ") does not divide tensor dimension " +
                   llvm::Twine(size));
  }
  if (entries.empty())
    return llvm::Error::success();
  if (static_cast<int64_t>(entries.size()) != product(gridShape))
    return error("map has " + llvm::Twine(entries.size()) +
                 " entries, expected " + llvm::Twine(product(gridShape)) +
                 " for grid " + formatShape(gridShape));
  for (auto [i, bits] : llvm::enumerate(entries))
    if (!isAllowedBits(bits))
      return error("map entry " + llvm::Twine(i) + " is " +
                   llvm::Twine(static_cast<unsigned>(bits)) +
                   ", expected one of 0, 4, 8, 16, 32");
  return llvm::Error::success();
}

llvm::Expected<SparsityMap> SparsityMap::get(ArrayRef<int64_t> shape,
                                             ArrayRef<int64_t> gridShape,
                                             std::vector<uint8_t> entries) {
  if (entries.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "map has no entries");
  if (llvm::Error err = verify(shape, gridShape, entries))
    return std::move(err);
  return SparsityMap(shape, gridShape, std::move(entries));
}

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

SmallVector<int64_t> SparsityMap::getBlockShape() const {
  SmallVector<int64_t> block;
  for (auto [size, cells] : llvm::zip_equal(shape, gridShape))
    block.push_back(size / cells);
  return block;
}

int64_t SparsityMap::getNumElements() const { return product(shape); }

int64_t SparsityMap::getElementsPerBlock() const {
  return product(getBlockShape());
}

uint8_t SparsityMap::getBits(ArrayRef<int64_t> index) const {
  assert(index.size() == getRank() && "index rank mismatch");
  SmallVector<int64_t> blockIndex;
  for (auto [i, block] : llvm::zip_equal(index, getBlockShape())) {
    assert(block > 0 && "index into an empty tensor");
    blockIndex.push_back(i / block);
  }
  return getBlockBits(blockIndex);
}

uint8_t SparsityMap::getBlockBits(ArrayRef<int64_t> blockIndex) const {
  assert(blockIndex.size() == getRank() && "block index rank mismatch");
  return entries[linearize(blockIndex, gridShape)];
}

int64_t SparsityMap::getNumKept() const {
  int64_t keptCells = llvm::count_if(entries, [](uint8_t b) { return b != 0; });
  return keptCells * getElementsPerBlock();
}

double SparsityMap::getKeptFraction() const {
  int64_t total = getNumElements();
  return total == 0 ? 1.0 : static_cast<double>(getNumKept()) / total;
}

BitHistogram SparsityMap::getBitHistogram() const {
  std::array<int64_t, 33> cells = {};
  for (uint8_t bits : entries)
    ++cells[bits];
  BitHistogram histogram;
  int64_t perBlock = getElementsPerBlock();
  for (uint8_t bits : kAllowedBits)
    histogram.add(bits, cells[bits] * perBlock);
  return histogram;
}

std::optional<uint8_t> SparsityMap::getUniformBits() const {
  if (llvm::all_equal(entries))
    return entries.front();
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Grid operations
//===----------------------------------------------------------------------===//

std::vector<uint8_t> SparsityMap::expandTo(ArrayRef<int64_t> fineGrid) const {
  if (fineGrid == ArrayRef<int64_t>(gridShape))
    return entries;
  if (entries.size() == 1)
    return std::vector<uint8_t>(product(fineGrid), entries.front());
  std::vector<uint8_t> fine(product(fineGrid));
  forEachCell(fineGrid, gridShape,
              [&](int64_t f, int64_t c) { fine[f] = entries[c]; });
  return fine;
}

std::vector<uint8_t> SparsityMap::getEntriesOn(ArrayRef<int64_t> fineGrid) const {
  assert(fineGrid.size() == getRank() && "grid rank mismatch");
  assert(llvm::all_of(llvm::seq<unsigned>(0, getRank()),
                      [&](unsigned d) {
                        return fineGrid[d] % gridShape[d] == 0 &&
                               shape[d] % fineGrid[d] == 0;
                      }) &&
         "not a refinement of the grid");
  return expandTo(fineGrid);
}

SparsityMap SparsityMap::getCanonical() const {
  if (std::optional<uint8_t> bits = getUniformBits())
    return getUniform(shape, *bits);
  // Along each dimension, the largest block factor that keeps the map exact is
  // the gcd of the grid size and of every position where the entries change.
  // Exact factors are closed under lcm, so the per-dimension maxima together
  // give the unique coarsest exact grid.
  SmallVector<int64_t> coarse;
  for (unsigned d = 0, rank = getRank(); d < rank; ++d) {
    int64_t outer = product(ArrayRef(gridShape).take_front(d));
    int64_t length = gridShape[d];
    int64_t inner = product(ArrayRef(gridShape).drop_front(d + 1));
    int64_t factor = length;
    for (int64_t o = 0; o < outer && factor > 1; ++o) {
      const uint8_t *slab = entries.data() + o * length * inner;
      for (int64_t j = 1; j < length && factor > 1; ++j)
        if (std::memcmp(slab + (j - 1) * inner, slab + j * inner, inner) != 0)
          factor = std::gcd(factor, j);
    }
    coarse.push_back(length / factor);
  }
  if (coarse == gridShape)
    return *this;
  std::vector<uint8_t> coarseEntries(product(coarse));
  forEachCell(gridShape, coarse,
              [&](int64_t f, int64_t c) { coarseEntries[c] = entries[f]; });
  return SparsityMap(shape, coarse, std::move(coarseEntries));
}

bool SparsityMap::isCanonical() const { return getCanonical() == *this; }

llvm::Expected<SparsityMap>
SparsityMap::regrid(ArrayRef<int64_t> grid) const {
  if (llvm::Error err = verify(shape, grid, {}))
    return std::move(err);
  SparsityMap canonical = getCanonical();
  for (auto [d, cells] : llvm::enumerate(grid))
    if (cells % canonical.gridShape[d] != 0)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "the map is not uniform on the blocks of grid " + formatShape(grid));
  return SparsityMap(shape, grid, canonical.expandTo(grid));
}

SparsityMap SparsityMap::getBlockView(ArrayRef<int64_t> grid) const {
  llvm::cantFail(verify(shape, grid, {}));
  SmallVector<int64_t> fine = lcmGrid(gridShape, grid);
  std::vector<uint8_t> fineEntries = expandTo(fine);
  std::vector<uint8_t> view(product(grid), kPrunedBits);
  forEachCell(fine, grid, [&](int64_t f, int64_t c) {
    view[c] = std::max(view[c], fineEntries[f]);
  });
  return SparsityMap(shape, grid, std::move(view));
}

std::vector<int64_t>
SparsityMap::getKeptCountsPerBlock(ArrayRef<int64_t> grid) const {
  llvm::cantFail(verify(shape, grid, {}));
  SmallVector<int64_t> fine = lcmGrid(gridShape, grid);
  std::vector<uint8_t> fineEntries = expandTo(fine);
  int64_t fineCells = product(fine);
  int64_t perFineCell = fineCells == 0 ? 0 : getNumElements() / fineCells;
  std::vector<int64_t> counts(product(grid), 0);
  forEachCell(fine, grid, [&](int64_t f, int64_t c) {
    if (fineEntries[f] != kPrunedBits)
      counts[c] += perFineCell;
  });
  return counts;
}

template <typename Fn>
SparsityMap SparsityMap::combine(const SparsityMap &other, Fn fn) const {
  assert(shape == other.shape && "combining maps over different shapes");
  SmallVector<int64_t> fine = lcmGrid(gridShape, other.gridShape);
  std::vector<uint8_t> lhs = expandTo(fine);
  // A uniform map (the common case of a fact about a whole tensor) is not
  // expanded.
  if (other.entries.size() == 1) {
    uint8_t r = other.entries.front();
    for (uint8_t &l : lhs)
      l = fn(l, r);
  } else {
    std::vector<uint8_t> rhs = other.expandTo(fine);
    for (auto [l, r] : llvm::zip_equal(lhs, rhs))
      l = fn(l, r);
  }
  return SparsityMap(shape, fine, std::move(lhs)).getCanonical();
}

SparsityMap SparsityMap::join(const SparsityMap &other) const {
  return combine(other, [](uint8_t l, uint8_t r) { return std::max(l, r); });
}

SparsityMap SparsityMap::meet(const SparsityMap &other) const {
  return combine(other, [](uint8_t l, uint8_t r) {
    return (l == kPrunedBits || r == kPrunedBits) ? kPrunedBits
                                                  : std::min(l, r);
  });
}

bool SparsityMap::isEquivalentTo(const SparsityMap &other) const {
  return shape == other.shape && getCanonical() == other.getCanonical();
}

void SparsityMap::print(llvm::raw_ostream &os) const {
  os << formatShape(shape) << " grid " << formatShape(gridShape) << " [";
  llvm::interleave(
      entries, os, [&](uint8_t bits) { os << static_cast<unsigned>(bits); },
      " ");
  os << "]";
}
