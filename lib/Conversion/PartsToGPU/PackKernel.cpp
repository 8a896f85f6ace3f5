//===- PackKernel.cpp - The kernel that packs a part's weights ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The pack kernel of a part: gathers the part's kept elements from the
// sparse source into the compute kernel's layout (zeros in the holes of a
// block), rounded to f16, or quantised to int8 with one scale per channel.
// It runs on every call, or once when OutlineWeightPacking moves it into an
// entry point of its own; constant weights are packed at compile time
// instead (HostPacking.cpp).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace tesa;

/// Threads of a pack block. A float part's blocks each take kThreads packing
/// units of one work row; an int8 part's block takes a whole work row, whose
/// channels' scales it finds before converting, with about
/// kQuantisingPackElementsPerThread of its longest row's elements per thread
/// (a power of two from kThreads to 1024 threads).
static constexpr int64_t kQuantisingPackElementsPerThread = 16;

namespace {
/// One work row as the pack kernel sees it: its first channel and its
/// entries [lo, hi), with the work-list tables.
struct PackRow {
  Value firstChannel, lo, hi;
  Value entries, masks, metadata;
  /// Of a compressed part: where each block row's values start.
  Value rowOffsets;
};

/// A packing unit's element: its value (zero where the part keeps
/// nothing), its packed slot, and whether the part keeps it.
struct PackElement {
  Value value, slot, kept;
};
} // namespace

/// Whether the pack kernel reads the plain SIMT kernel's table of dense
/// offsets (getSimtDenseOffsets) instead of the entries, so that the part
/// keeps one table: entries of one element, whose start is the offset over
/// the columns.
static bool sharesDenseOffsets(const PartLayout &layout) {
  return layout.group == 1 && readsDenseByOffsets(layout);
}

/// Packed values of one channel in one entry: a SIMT group or a block row
/// (half of it, structured).
static int64_t getEntryLength(const PartLayout &layout) {
  if (!layout.useMma)
    return layout.group;
  return layout.structured ? layout.blockReduction / 2 : layout.blockReduction;
}

/// Consecutive slots one thread converts: a SIMT entry; one element of a
/// block, or for 4-bit parts the eight consecutive ones whose bytes hold
/// two of them each (see getPackedByte), so no byte has two writers.
static int64_t getPackingUnit(const PartLayout &layout) {
  if (!layout.useMma)
    return layout.group;
  return layout.packedInt4 ? 2 * layout.getNibbleRun() : 1;
}

/// Packing units of the longest work row.
static int64_t getLongestRowUnits(const PartLayout &layout) {
  int64_t longest = 0;
  for (size_t row = 0; row + 1 < layout.offsets.size(); ++row)
    longest = std::max<int64_t>(longest,
                                layout.offsets[row + 1] - layout.offsets[row]);
  return longest * layout.getWorkRowChannels() * getEntryLength(layout) /
         getPackingUnit(layout);
}

/// Threads of a pack block (see kQuantisingPackElementsPerThread).
static int64_t getPackThreads(const PartLayout &layout) {
  if (layout.compute != ComputeKind::I8)
    return kThreads;
  int64_t elements = getLongestRowUnits(layout) * getPackingUnit(layout);
  int64_t wanted =
      llvm::PowerOf2Ceil((elements + kQuantisingPackElementsPerThread - 1) /
                         kQuantisingPackElementsPerThread);
  return std::clamp<int64_t>(wanted, kThreads, 1024);
}

/// PartLayout::getStructuredPosition of an SSA packed position: its step,
/// group of four and value.
static std::array<Value, 3> getStructuredPosition(KernelBuilder &kb,
                                                  Value position) {
  const PartLayout &layout = kb.layout;
  if (layout.structuredRows)
    return {kb.div(position, 16), kb.div(kb.rem(position, 16), 2),
            kb.rem(position, 2)};
  int64_t runSteps = layout.getStructuredStepsPerRun();
  Value inRun = kb.rem(position, 16 * runSteps);
  Value lane = kb.div(inRun, 4 * runSteps);
  Value inLane = kb.rem(inRun, 4 * runSteps);
  return {kb.add(kb.mul(kb.div(position, 16 * runSteps), kb.index(runSteps)),
                 kb.div(inLane, 4)),
          kb.add(lane, kb.mul(kb.div(kb.rem(inLane, 4), 2), kb.index(4))),
          kb.rem(inLane, 2)};
}

/// Element `c` of entry `e` of the row's channel `r`. A compressed part's
/// slot is its place among the row's kept values (meaningless where the
/// element is not kept).
static PackElement loadPackElement(KernelBuilder &kb, Value src,
                                   const PackRow &row, Value r, Value e,
                                   Value c) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  Value channel = kb.add(row.firstChannel, r);
  Value k, kept, slot;
  if (layout.useMma) {
    int64_t bc = layout.blockChannels, br = layout.blockReduction;
    int64_t words = (bc * br + 31) / 32;
    // The element's offset in the block's row: `c` itself, or for a
    // structured part the one its metadata names (getStructuredOffset).
    Value offset = c;
    if (layout.structured) {
      auto [step, group, value] = getStructuredPosition(kb, c);
      Value metadataLane =
          kb.add(kb.mul(kb.rem(r, 8), kb.index(2)), kb.div(group, 4));
      Value index = kb.metadataIndex(e, kb.div(r, 16), metadataLane, step);
      Value shift = kb.add(kb.mul(kb.div(kb.rem(r, 16), 8), kb.index(16)),
                           kb.add(kb.mul(kb.rem(group, 4), kb.index(4)),
                                  kb.mul(value, kb.index(2))));
      Value position = arith::AndIOp::create(
          b,
          arith::ShRUIOp::create(
              b, kb.loadI32(row.metadata, index),
              arith::IndexCastUIOp::create(b, b.getI32Type(), shift)),
          arith::ConstantIntOp::create(b, 3, 32));
      offset =
          kb.add(kb.add(kb.mul(step, kb.index(32)), kb.mul(group, kb.index(4))),
                 arith::IndexCastUIOp::create(b, b.getIndexType(), position));
    }
    Value inBlock = kb.add(kb.mul(r, kb.index(br)), offset);
    Value word = kb.loadI32(
        row.masks, kb.add(kb.mul(e, kb.index(words)), kb.div(inBlock, 32)));
    Value bit =
        arith::IndexCastUIOp::create(b, b.getI32Type(), kb.rem(inBlock, 32));
    k = kb.add(kb.mul(kb.loadIndex(row.entries, e), kb.index(br)), offset);
    kept = arith::AndIOp::create(
        b, kb.testBit(word, bit),
        arith::AndIOp::create(b, kb.less(k, layout.reduction),
                              kb.less(channel, layout.channels)));
    int64_t length = getEntryLength(layout);
    slot = kb.add(kb.mul(e, kb.index(bc * length)),
                  kb.add(kb.mul(r, kb.index(length)), c));
    if (layout.compressed)
      slot = kb.add(
          kb.loadIndex(row.rowOffsets, kb.add(kb.mul(e, kb.index(bc)), r)),
          kb.countKeptBefore(row.masks, e, r, c));
  } else if (sharesDenseOffsets(layout)) {
    // The entry's offset in the flat dense operand, start * columns; an
    // entry of one element keeps it.
    k = kb.div(kb.loadIndex(row.entries, e), layout.columns);
    kept = arith::ConstantOp::create(b, b.getBoolAttr(true));
    slot = e;
  } else {
    Value entry = kb.loadI32(row.entries, e);
    k = kb.add(kb.groupStart(entry), c);
    Value bit = arith::IndexCastUIOp::create(b, b.getI32Type(),
                                             kb.add(c, kb.index(24)));
    kept = kb.testBit(entry, bit);
    slot = kb.add(kb.mul(e, kb.index(layout.group)), c);
  }
  Value value = kb.toF32(memref::LoadOp::create(
      b, src,
      kb.sparseIndex(kb.min(channel, layout.channels - 1),
                     kb.min(k, layout.reduction - 1))));
  return {arith::SelectOp::create(b, kept, value, kb.f32(0.0)), slot, kept};
}

/// For an int8 part: the scale of each of the row's channels (its largest
/// kept magnitude over qmax), in workgroup memory and, for channels that
/// exist, in `scaleOut`. Each channel's elements are split into slices, one
/// per thread; the slices meet in workgroup memory by halving strides.
static Value emitRowScales(KernelBuilder &kb, gpu::GPUFuncOp fn, Value src,
                           const PackRow &row, Value thread, Value scaleOut) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  int64_t channels = layout.getWorkRowChannels(),
          length = getEntryLength(layout);
  int64_t packThreads = getPackThreads(layout);
  int64_t slices = std::max<int64_t>(1, packThreads / channels);
  Value partials = kb.workgroupBuffer(fn, {slices * channels});
  Value rowScales = kb.workgroupBuffer(fn, {channels});
  Value threads = kb.index(packThreads);
  Value count =
      kb.mul(arith::SubIOp::create(b, row.hi, row.lo), kb.index(length));
  // Consecutive threads take consecutive elements of a channel where the
  // source's reduction is contiguous, consecutive channels otherwise.
  kb.loop(
      thread, kb.index(slices * channels), threads, {},
      [&](Value q, ValueRange) {
        Value r = layout.sparseIsLhs ? kb.div(q, slices) : kb.rem(q, channels);
        Value s = layout.sparseIsLhs ? kb.rem(q, slices) : kb.div(q, channels);
        Value maxAbs = kb.loop(
            s, count, kb.index(slices), ValueRange{kb.f32(0.0)},
            [&](Value j, ValueRange current) {
              Value e = kb.add(row.lo, kb.div(j, length));
              Value value =
                  loadPackElement(kb, src, row, r, e, kb.rem(j, length)).value;
              return SmallVector<Value>{kb.absMax(current[0], value)};
            })[0];
        memref::StoreOp::create(
            b, maxAbs, partials,
            ValueRange{kb.add(kb.mul(s, kb.index(channels)), r)});
        return SmallVector<Value>{};
      });
  gpu::BarrierOp::create(b);
  for (int64_t stride = int64_t(llvm::PowerOf2Ceil(slices)) / 2; stride >= 1;
       stride /= 2) {
    kb.loop(thread, kb.index(stride * channels), threads, {},
            [&](Value q, ValueRange) {
              Value s = kb.div(q, channels);
              kb.ifThen(kb.less(kb.add(s, kb.index(stride)), slices), [&] {
                Value other = memref::LoadOp::create(
                    b, partials,
                    ValueRange{kb.add(q, kb.index(stride * channels))});
                Value mine = memref::LoadOp::create(b, partials, q);
                memref::StoreOp::create(
                    b, arith::MaximumFOp::create(b, mine, other), partials, q);
              });
              return SmallVector<Value>{};
            });
    gpu::BarrierOp::create(b);
  }
  kb.loop(thread, kb.index(channels), threads, {}, [&](Value r, ValueRange) {
    Value scale = PartMatmulOp::buildScale(
        b, b.getLoc(), memref::LoadOp::create(b, partials, r), layout.qmax);
    memref::StoreOp::create(b, scale, rowScales, r);
    Value channel = kb.add(row.firstChannel, r);
    kb.ifThen(kb.less(channel, layout.channels),
              [&] { memref::StoreOp::create(b, scale, scaleOut, channel); });
    return SmallVector<Value>{};
  });
  gpu::BarrierOp::create(b);
  return rowScales;
}

/// The pack kernel: block (x, y) converts packing units y * threads, ... of
/// work row x into their packed slots (holes and out-of-range elements of
/// blocks as zero); an int8 part's single block per row first finds the
/// scales. Consecutive threads write consecutive slots, and read consecutive
/// source elements where the reduction is contiguous.
gpu::GPUFuncOp tesa::buildPack(KernelBuilder &kb, MemRefType source,
                               MemRefType packed, MemRefType scales) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_pack", {source, packed, scales});
  Value src = fn.getArgument(0), out = fn.getArgument(1);
  bool quantised = layout.compute == ComputeKind::I8;
  int64_t channels = layout.getWorkRowChannels(),
          length = getEntryLength(layout);
  int64_t unit = getPackingUnit(layout);
  int64_t unitsPerEntry = channels * length / unit;
  Value w = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value offsets = kb.table("_offsets", layout.offsets);
  PackRow row;
  row.firstChannel = kb.mul(kb.loadIndex(kb.table("_rows", layout.rows), w),
                            kb.index(channels));
  row.lo = kb.loadIndex(offsets, w);
  row.hi = kb.loadIndex(offsets, kb.add(w, kb.index(1)));
  row.entries = sharesDenseOffsets(layout)
                    ? kb.table("_dense_offsets", getSimtDenseOffsets(layout))
                    : kb.table("_entries", layout.entries);
  if (layout.useMma)
    row.masks = kb.table("_masks", layout.blockMasks);
  if (layout.structured)
    row.metadata = kb.table("_metadata", layout.metadata);
  if (layout.compressed)
    row.rowOffsets = kb.table("_row_offsets", layout.rowOffsets);
  Value rowScales;
  if (quantised)
    rowScales = emitRowScales(kb, fn, src, row, thread, fn.getArgument(2));

  Value threads = gpu::BlockDimOp::create(b, gpu::Dimension::x);
  Value first = kb.add(
      kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), threads), thread);
  Value stride = kb.mul(gpu::GridDimOp::create(b, gpu::Dimension::y), threads);
  Value units =
      kb.mul(arith::SubIOp::create(b, row.hi, row.lo), kb.index(unitsPerEntry));
  kb.loop(first, units, stride, {}, [&](Value u, ValueRange) {
    Value e = kb.add(row.lo, kb.div(u, unitsPerEntry));
    Value v = kb.rem(u, unitsPerEntry);
    Value r = kb.index(0), firstC = kb.index(0);
    if (layout.useMma && layout.sparseIsLhs) {
      r = kb.div(v, length / unit);
      firstC = kb.mul(kb.rem(v, length / unit), kb.index(unit));
    } else if (layout.useMma) {
      r = kb.rem(v, channels);
      firstC = kb.mul(kb.div(v, channels), kb.index(unit));
    }
    Value inverseScale;
    if (quantised)
      inverseScale = PartMatmulOp::buildInverseScale(
          b, b.getLoc(), memref::LoadOp::create(b, rowScales, r));
    // In slot order: a 4-bit byte's low nibble is written before its high.
    // A compressed part has slots for its kept elements only.
    for (int64_t i = 0; i < unit; ++i) {
      PackElement element =
          loadPackElement(kb, src, row, r, e, kb.add(firstC, kb.index(i)));
      auto store = [&] {
        kb.storePacked(kb.convert(element.value, inverseScale), out,
                       element.slot);
      };
      if (layout.compressed)
        kb.ifThen(element.kept, store);
      else
        store();
    }
    return SmallVector<Value>{};
  });
  return fn;
}

KernelLaunch tesa::getPackLaunch(const PartLayout &layout) {
  // Rows along x; for float parts, as many blocks along y as the longest
  // row has packing units for (at most kMaxGridY; the blocks then stride).
  bool quantised = layout.compute == ComputeKind::I8;
  int64_t splits = (getLongestRowUnits(layout) + kThreads - 1) / kThreads;
  return {{static_cast<int64_t>(layout.rows.size()),
           quantised ? 1 : std::min(splits, kMaxGridY)},
          {getPackThreads(layout), 1}};
}
