//===- PartLayout.cpp - Compile-time work lists of a part -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "llvm/Support/MathExtras.h"

using namespace tesa;

int64_t PartLayout::getNumPacked() const {
  if (compressed)
    return std::max<int64_t>(1, rowOffsets.back());
  int64_t perEntry = useMma ? blockChannels * blockReduction : group;
  if (structured)
    perEntry /= 2;
  return std::max<int64_t>(1, getNumEntries() * perEntry);
}

int64_t PartLayout::getPackedBufferSize() const {
  int64_t values = getNumPacked();
  return packedInt4 ? std::max<int64_t>(1, values / 2) : values;
}

std::pair<int64_t, bool> PartLayout::getPackedByte(int64_t slot) const {
  int64_t run = getNibbleRun();
  return {slot / (2 * run) * run + slot % run, slot % (2 * run) >= run};
}

int64_t PartLayout::getMetadataIndex(int64_t entry, int64_t slice,
                                     int64_t step, int64_t lane) const {
  int64_t slices = blockChannels / mma.m, steps = blockReduction / mma.k;
  return ((entry * slices + slice) * 16 + lane) * steps + step;
}

int64_t PartLayout::getStructuredStepsPerRun() const {
  return (blockReduction / mma.k) % 2 == 0 ? 2 : 1;
}

PartLayout::StructuredPosition
PartLayout::getStructuredPosition(int64_t position) const {
  if (structuredRows)
    return {position / 16, position % 16 / 2, position % 2};
  int64_t runSteps = getStructuredStepsPerRun();
  int64_t inRun = position % (16 * runSteps);
  int64_t lane = inRun / (4 * runSteps), inLane = inRun % (4 * runSteps);
  return {position / (16 * runSteps) * runSteps + inLane / 4,
          lane + 4 * ((inLane % 4) / 2), inLane % 2};
}

int64_t PartLayout::getStructuredOffset(int64_t entry, int64_t row,
                                        int64_t position) const {
  auto [step, group, value] = getStructuredPosition(position);
  uint32_t word = uint32_t(metadata[getMetadataIndex(
      entry, row / 16, step, (row % 8) * 2 + group / 4)]);
  int64_t shift = 16 * ((row % 16) / 8) + 4 * (group % 4) + 2 * value;
  return step * 32 + 4 * group + ((word >> shift) & 3);
}

/// The metadata of one group of four reduction elements: the positions of
/// its two values, ascending (an unused value's position is any other one).
static uint32_t getGroupMetadata(llvm::ArrayRef<bool> kept) {
  llvm::SmallVector<uint32_t, 2> positions;
  for (uint32_t i = 0; i < 4 && positions.size() < 2; ++i)
    if (kept[i])
      positions.push_back(i);
  for (uint32_t i = 0; i < 4 && positions.size() < 2; ++i)
    if (!llvm::is_contained(positions, i))
      positions.push_back(i);
  llvm::sort(positions);
  return positions[0] | positions[1] << 2;
}

/// Fills `layout.metadata` for its blocks; `kept(channel, k)` says whether
/// the part keeps an element (false outside the operand).
template <typename Kept>
static void buildMetadata(PartLayout &layout, Kept kept) {
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  int64_t slices = bc / layout.mma.m, steps = br / layout.mma.k;
  layout.metadata.assign(layout.getNumEntries() * slices * steps * 16, 0);
  for (size_t w = 0; w + 1 < layout.offsets.size(); ++w) {
    for (int64_t e = layout.offsets[w]; e < layout.offsets[w + 1]; ++e) {
      int64_t firstChannel = layout.rows[w] * bc;
      int64_t firstK = layout.entries[e] * br;
      for (int64_t slice = 0; slice < slices; ++slice)
        for (int64_t step = 0; step < steps; ++step)
          for (int64_t lane = 0; lane < 16; ++lane) {
            uint32_t word = 0;
            for (int64_t half = 0; half < 2; ++half)
              for (int64_t g = 0; g < 4; ++g) {
                int64_t channel = firstChannel + slice * 16 + lane / 2 + 8 * half;
                int64_t k = firstK + step * 32 + 4 * (4 * (lane % 2) + g);
                bool groupKept[4];
                for (int64_t i = 0; i < 4; ++i)
                  groupKept[i] = kept(channel, k + i);
                word |= getGroupMetadata(groupKept) << (16 * half + 4 * g);
              }
            layout.metadata[layout.getMetadataIndex(e, slice, step, lane)] =
                int32_t(word);
          }
    }
  }
}

int64_t PartLayout::getPaddedReduction() const {
  int64_t multiple = useMma ? blockReduction : 4;
  return (reduction + multiple - 1) / multiple * multiple;
}

int64_t PartLayout::getNumColumnWork() const {
  if (!liveColumns.empty())
    return liveColumns.size();
  return useMma ? (columns + mma.n - 1) / mma.n : columns;
}

void tesa::restrictToLiveColumns(PartLayout &layout,
                                 const SparsityMap &result) {
  layout.liveColumns.clear();
  if (result.getNumPruned() == 0)
    return;
  std::vector<uint8_t> bits = result.getEntriesOn(result.getShape());
  int64_t channels = layout.channels, columns = layout.columns;
  int64_t tileWidth = layout.useMma ? layout.mma.n : 1;
  std::vector<bool> live((columns + tileWidth - 1) / tileWidth, false);
  for (int64_t column = 0; column < columns; ++column)
    for (int64_t channel = 0; channel < channels; ++channel)
      if (bits[layout.sparseIsLhs ? channel * columns + column
                                  : column * channels + channel]) {
        live[column / tileWidth] = true;
        break;
      }
  if (llvm::all_of(live, [](bool isLive) { return isLive; }))
    return;
  for (auto [tile, isLive] : llvm::enumerate(live))
    if (isLive)
      layout.liveColumns.push_back(int32_t(tile));
}

void tesa::addEmptyWorkRows(PartLayout &layout) {
  int64_t rowChannels = layout.getWorkRowChannels();
  int64_t numRows = (layout.channels + rowChannels - 1) / rowChannels;
  std::vector<int32_t> rows, offsets = {0};
  size_t next = 0;
  for (int64_t row = 0; row < numRows; ++row) {
    if (next < layout.rows.size() && layout.rows[next] == row)
      ++next;
    rows.push_back(int32_t(row));
    offsets.push_back(layout.offsets[next]);
  }
  layout.rows = std::move(rows);
  layout.offsets = std::move(offsets);
}

void tesa::padWorkRows(PartLayout &layout, int64_t multiple, int32_t filler) {
  assert(!layout.useMma && "only SIMT work rows are padded");
  std::vector<int32_t> entries, offsets = {0};
  for (size_t row = 0; row + 1 < layout.offsets.size(); ++row) {
    int64_t first = layout.offsets[row], last = layout.offsets[row + 1];
    int64_t padded =
        std::max<int64_t>(1, llvm::divideCeil(last - first, multiple)) *
        multiple;
    entries.insert(entries.end(), layout.entries.begin() + first,
                   layout.entries.begin() + last);
    entries.resize(entries.size() + padded - (last - first), filler);
    offsets.push_back(int32_t(entries.size()));
  }
  layout.entries = std::move(entries);
  layout.offsets = std::move(offsets);
  layout.rowMultiple = multiple;
}

PartLayout tesa::regroupInFours(const PartLayout &layout) {
  assert(!layout.useMma && 4 % layout.group == 0 && "SIMT entries of 1, 2, 4");
  PartLayout regrouped = layout;
  regrouped.group = 4;
  regrouped.entries.clear();
  regrouped.offsets = {0};
  for (size_t row = 0; row + 1 < layout.offsets.size(); ++row) {
    // A row's entries lie in increasing order: those of one group of four
    // are consecutive.
    for (int32_t e = layout.offsets[row]; e < layout.offsets[row + 1]; ++e) {
      uint32_t entry = uint32_t(layout.entries[e]);
      uint32_t start = entry & 0xFFFFFF, first = start & ~3u;
      uint32_t mask = (entry >> 24) << (start - first);
      if (regrouped.entries.size() > size_t(regrouped.offsets.back()) &&
          (uint32_t(regrouped.entries.back()) & 0xFFFFFF) == first)
        regrouped.entries.back() |= int32_t(mask << 24);
      else
        regrouped.entries.push_back(int32_t(first | mask << 24));
    }
    regrouped.offsets.push_back(int32_t(regrouped.entries.size()));
  }
  return regrouped;
}

int64_t PartLayout::getNumKept() const {
  int64_t kept = 0;
  for (int32_t entry : entries)
    kept += llvm::popcount(uint32_t(entry) >> 24 & 0xF);
  return kept;
}

/// `block` (in the sparse operand's dimensions) as channels x reduction.
static BlockShape getBlockShape(llvm::ArrayRef<int64_t> block,
                                bool sparseIsLhs) {
  return sparseIsLhs ? BlockShape{block[0], block[1]}
                     : BlockShape{block[1], block[0]};
}

bool tesa::isSparseTensorCorePart(PartKernel kernel,
                                  llvm::ArrayRef<int64_t> block,
                                  bool sparseIsLhs, unsigned bits,
                                  const ChipDescription &chip) {
  return kernel == PartKernel::Structured && block.size() == 2 &&
         getComputeKind(bits) == ComputeKind::F16 &&
         chip.acceptsStructuredBlock(getBlockShape(block, sparseIsLhs));
}

/// A part's layout fields that depend only on its operand: compute kind,
/// orientation and sizes.
static PartLayout startLayout(const SparsityMap &part, bool sparseIsLhs,
                              int64_t columns, unsigned bits) {
  PartLayout layout;
  layout.compute = getComputeKind(bits);
  layout.qmax = bits == 4 ? 7 : 127;
  layout.packedInt4 = bits == 4;
  layout.sparseIsLhs = sparseIsLhs;
  llvm::ArrayRef<int64_t> shape = part.getShape();
  layout.channels = sparseIsLhs ? shape[0] : shape[1];
  layout.reduction = sparseIsLhs ? shape[1] : shape[0];
  layout.columns = columns;
  layout.offsets.push_back(0);
  return layout;
}

/// Whether the part keeps element (channel, k), from its entries on its
/// shape (`bitsOf`).
static bool isKept(const PartLayout &layout, llvm::ArrayRef<uint8_t> bitsOf,
                   int64_t channel, int64_t k) {
  return bitsOf[layout.sparseIsLhs ? channel * layout.reduction + k
                                   : k * layout.channels + channel] != 0;
}

/// Fills the work lists of a tensor-core layout of `shape` blocks: every
/// block that keeps an element, with its mask, row of blocks by row.
static void fillBlocks(PartLayout &layout, BlockShape shape,
                       llvm::ArrayRef<uint8_t> bitsOf) {
  layout.blockChannels = shape.channels;
  layout.blockReduction = shape.reduction;
  int64_t p = layout.channels, k = layout.reduction;
  int64_t bc = shape.channels, br = shape.reduction;
  int64_t words = (bc * br + 31) / 32;
  for (int64_t row = 0; row * bc < p; ++row) {
    for (int64_t col = 0; col * br < k; ++col) {
      std::vector<int32_t> mask(words, 0);
      bool any = false;
      for (int64_t r = 0; r < bc && row * bc + r < p; ++r)
        for (int64_t c = 0; c < br && col * br + c < k; ++c)
          if (isKept(layout, bitsOf, row * bc + r, col * br + c)) {
            mask[(r * br + c) / 32] |= int32_t(1u << ((r * br + c) % 32));
            any = true;
          }
      if (!any)
        continue;
      layout.entries.push_back(col);
      layout.blockMasks.insert(layout.blockMasks.end(), mask.begin(),
                               mask.end());
    }
    if (int64_t(layout.entries.size()) > layout.offsets.back()) {
      layout.rows.push_back(row);
      layout.offsets.push_back(layout.entries.size());
    }
  }
}

PartLayout tesa::buildPartLayout(const SparsityMap &part, bool sparseIsLhs,
                                 int64_t columns, PartKernel kernel,
                                 llvm::ArrayRef<int64_t> block, unsigned bits,
                                 const ChipDescription &chip) {
  bool blockKernel = kernel != PartKernel::Fine;
  PartLayout layout = startLayout(part, sparseIsLhs, columns, bits);
  std::vector<uint8_t> bitsOf = part.getEntriesOn(part.getShape());
  auto kept = [&](int64_t channel, int64_t k) {
    return isKept(layout, bitsOf, channel, k);
  };
  auto keptInside = [&](int64_t channel, int64_t k) {
    return channel < layout.channels && k < layout.reduction &&
           kept(channel, k);
  };
  BlockShape blockShape = {0, 0};
  if (blockKernel)
    blockShape = getBlockShape(block, sparseIsLhs);
  std::optional<MatrixShape> mma = chip.getMatrixShape(layout.compute);
  layout.structured =
      isSparseTensorCorePart(kernel, block, sparseIsLhs, bits, chip);
  if (layout.structured)
    mma = chip.sparseF16Mma;
  layout.useMma = layout.structured ||
                  (blockKernel && mma &&
                   chip.acceptsBlock(layout.compute, blockShape));
  int64_t p = layout.channels, k = layout.reduction;
  if (layout.useMma) {
    layout.mma = *mma;
    fillBlocks(layout, blockShape, bitsOf);
    if (layout.structured)
      buildMetadata(layout, keptInside);
    return layout;
  }
  // SIMT: groups of consecutive reduction elements, as wide as the dot
  // instruction of the compute kind.
  layout.transposedDense = !sparseIsLhs && layout.compute != ComputeKind::I8;
  layout.group = layout.compute == ComputeKind::I8 ? 4
                 : layout.compute == ComputeKind::F16 && chip.hasF16Dot2 ? 2
                                                                         : 1;
  for (int64_t channel = 0; channel < p; ++channel) {
    for (int64_t start = 0; start < k; start += layout.group) {
      int32_t mask = 0;
      for (int64_t t = 0; t < layout.group && start + t < k; ++t)
        if (kept(channel, start + t))
          mask |= 1 << t;
      if (mask)
        layout.entries.push_back(int32_t(start) | (mask << 24));
    }
    if (int64_t(layout.entries.size()) > layout.offsets.back()) {
      layout.rows.push_back(channel);
      layout.offsets.push_back(layout.entries.size());
    }
  }
  return layout;
}

bool tesa::usesCompressedTiles(const SparsityMap &part, bool sparseIsLhs,
                               unsigned bits, bool f16Dense,
                               const ChipDescription &chip) {
  return !sparseIsLhs && bits == 16 && f16Dense && chip.f16Mma &&
         chip.f16Mma->m == kCompressedTile.channels &&
         double(part.getNumKept()) >=
             kMinCompressedKeptFraction * double(part.getNumElements());
}

PartLayout tesa::buildCompressedTileLayout(const SparsityMap &part,
                                           bool sparseIsLhs, int64_t columns,
                                           const ChipDescription &chip) {
  PartLayout layout = startLayout(part, sparseIsLhs, columns, /*bits=*/16);
  layout.useMma = true;
  layout.compressed = true;
  layout.mma = *chip.f16Mma;
  fillBlocks(layout, kCompressedTile, part.getEntriesOn(part.getShape()));
  // Each block row's values follow the previous row's.
  int64_t rowWords = kCompressedTile.reduction / 32;
  int32_t offset = 0;
  for (size_t row = 0; row * rowWords < layout.blockMasks.size(); ++row) {
    layout.rowOffsets.push_back(offset);
    for (int64_t w = 0; w < rowWords; ++w)
      offset += llvm::popcount(uint32_t(layout.blockMasks[row * rowWords + w]));
  }
  layout.rowOffsets.push_back(offset);
  return layout;
}
