//===- PartLayout.cpp - Compile-time work lists of a part -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

using namespace tesa;

int64_t PartLayout::getNumPacked() const {
  int64_t perEntry = useMma ? blockChannels * blockReduction : group;
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
  int64_t rowChannels = layout.useMma ? layout.blockChannels : 1;
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

PartLayout tesa::buildPartLayout(const SparsityMap &part, bool sparseIsLhs,
                                 int64_t columns, bool blockKernel,
                                 llvm::ArrayRef<int64_t> block, unsigned bits,
                                 const ChipDescription &chip) {
  PartLayout layout;
  layout.compute = getComputeKind(bits);
  layout.qmax = bits == 4 ? 7 : 127;
  layout.packedInt4 = bits == 4;
  layout.sparseIsLhs = sparseIsLhs;
  llvm::ArrayRef<int64_t> shape = part.getShape();
  layout.channels = sparseIsLhs ? shape[0] : shape[1];
  layout.reduction = sparseIsLhs ? shape[1] : shape[0];
  layout.columns = columns;
  std::vector<uint8_t> bitsOf = part.getEntriesOn(shape);
  auto kept = [&](int64_t channel, int64_t k) {
    return bitsOf[sparseIsLhs ? channel * shape[1] + k
                              : k * shape[1] + channel] != 0;
  };
  BlockShape blockShape = {0, 0};
  if (blockKernel)
    blockShape = sparseIsLhs ? BlockShape{block[0], block[1]}
                             : BlockShape{block[1], block[0]};
  std::optional<MatrixShape> mma = chip.getMatrixShape(layout.compute);
  layout.useMma = blockKernel && mma && chip.acceptsBlock(layout.compute,
                                                          blockShape);
  int64_t p = layout.channels, k = layout.reduction;
  layout.offsets.push_back(0);
  if (layout.useMma) {
    layout.mma = *mma;
    layout.blockChannels = blockShape.channels;
    layout.blockReduction = blockShape.reduction;
    int64_t bc = blockShape.channels, br = blockShape.reduction;
    int64_t words = (bc * br + 31) / 32;
    for (int64_t row = 0; row * bc < p; ++row) {
      for (int64_t col = 0; col * br < k; ++col) {
        std::vector<int32_t> mask(words, 0);
        bool any = false;
        for (int64_t r = 0; r < bc && row * bc + r < p; ++r)
          for (int64_t c = 0; c < br && col * br + c < k; ++c)
            if (kept(row * bc + r, col * br + c)) {
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
