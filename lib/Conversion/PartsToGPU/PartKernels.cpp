//===- PartKernels.cpp - Specialised kernels for decomposed parts ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Each part gets up to three kernels, generated from its compile-time
// layout:
//
// * pack: gathers the part's kept elements from the sparse source into the
//   compute kernel's layout (zeros in the holes of a block), rounded to f16
//   or quantised to int8 with one scale per channel;
// * dense copy (see hasDenseCopy): the dense operand as int8 with one scale
//   per column (int8 parts), or as f16 (tensor-core f16 parts with enough
//   blocks), reduction-contiguous and zero-padded;
// * compute: SIMT (one thread per result element of a work row, FFMA, or
//   dp4a / v_dot4_i32_i8 / v_dot2_f32_f16 over groups of the reduction) or
//   tensor cores (one warp per 16-channel x 8-column tile, mma.sync over the
//   blocks of its work row), or for 64-channel blocks on sm_80+ the staged
//   tensor-core kernel of StagedMmaKernel.cpp.
//
// Work lists are constant globals of the kernel module; pruned blocks and
// elements appear nowhere. Loops over the steps inside a block are unrolled.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"
#include "KernelBuilder.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace tesa;

Type tesa::getPackedElementType(MLIRContext *ctx, const PartLayout &layout) {
  switch (layout.compute) {
  case ComputeKind::F32:
    return Float32Type::get(ctx);
  case ComputeKind::F16:
    return Float16Type::get(ctx);
  case ComputeKind::I8:
    return IntegerType::get(ctx, 8);
  }
  return {};
}

MemRefType tesa::getPackedBufferType(MLIRContext *ctx,
                                     const PartLayout &layout) {
  return MemRefType::get({layout.getPackedBufferSize()},
                         getPackedElementType(ctx, layout));
}

MemRefType tesa::getScalesBufferType(MLIRContext *ctx,
                                     const PartLayout &layout) {
  return MemRefType::get({layout.channels}, Float32Type::get(ctx));
}

/// Blocks per column of blocks from which a tensor-core f16 part's kernel
/// reads an f16 copy of the dense operand: each block reads its slice of the
/// operand, so below this the copy (a pass over the whole operand) costs
/// more than it saves. Measured on an H200 (docs/benchmarks.md): with 32x32
/// blocks of a 4096^3 product the copy pays at 50-90% sparsity (about 1.3
/// blocks per block column at 99% is a loss).
static constexpr int64_t kMinBlocksPerBlockColumnForCopy = 4;

bool tesa::hasDenseCopy(const PartLayout &layout) {
  if (layout.compute == ComputeKind::I8)
    return true;
  if (layout.compute != ComputeKind::F16 || !layout.useMma || layout.gather)
    return false;
  int64_t blockColumns =
      (layout.reduction + layout.blockReduction - 1) / layout.blockReduction;
  return layout.getNumEntries() >=
         kMinBlocksPerBlockColumnForCopy * blockColumns;
}

/// The reduction is zero-padded: [column][k] for tensor cores (a fragment
/// reads consecutive k of one column), [column][k / 32][32] for structured
/// parts (each step's elements in the order the sparse mma's B fragments take
/// them, see buildConvertDense), [k / 4][column][k % 4] for SIMT parts, so
/// that the threads of a warp, one per column, read consecutive words.
MemRefType tesa::getDenseCopyType(MLIRContext *ctx, const PartLayout &layout) {
  Type element = layout.compute == ComputeKind::I8
                     ? Type(IntegerType::get(ctx, 8))
                     : Type(Float16Type::get(ctx));
  int64_t reduction = layout.getPaddedReduction();
  if (layout.structured)
    return MemRefType::get({layout.columns, reduction / 32, 32}, element);
  if (layout.useMma)
    return MemRefType::get({layout.columns, reduction}, element);
  return MemRefType::get({reduction / 4, layout.columns, 4}, element);
}

MemRefType tesa::getDenseScalesType(MLIRContext *ctx,
                                    const PartLayout &layout) {
  return MemRefType::get({layout.columns}, Float32Type::get(ctx));
}


//===----------------------------------------------------------------------===//
// Pack kernel
//===----------------------------------------------------------------------===//

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
};
} // namespace

/// Channels of a work row: one (SIMT) or a block row's.
static int64_t getRowChannels(const PartLayout &layout) {
  return layout.useMma ? layout.blockChannels : 1;
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
  return longest * getRowChannels(layout) * getEntryLength(layout) /
         getPackingUnit(layout);
}

/// Threads of a pack block (see kQuantisingPackElementsPerThread).
static int64_t getPackThreads(const PartLayout &layout) {
  if (layout.compute != ComputeKind::I8)
    return kThreads;
  int64_t elements = getLongestRowUnits(layout) * getPackingUnit(layout);
  int64_t wanted = llvm::PowerOf2Ceil(
      (elements + kQuantisingPackElementsPerThread - 1) /
      kQuantisingPackElementsPerThread);
  return std::clamp<int64_t>(wanted, kThreads, 1024);
}

/// Element `c` of entry `e` of the row's channel `r`: the source value (zero
/// where the part keeps nothing) and its packed slot.
static std::pair<Value, Value> loadPackElement(KernelBuilder &kb, Value src,
                                               const PackRow &row, Value r,
                                               Value e, Value c) {
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
      int64_t runSteps = layout.getStructuredStepsPerRun();
      Value inRun = kb.rem(c, 16 * runSteps);
      Value lane = kb.div(inRun, 4 * runSteps);
      Value inLane = kb.rem(inRun, 4 * runSteps);
      Value step = kb.add(kb.mul(kb.div(c, 16 * runSteps), kb.index(runSteps)),
                          kb.div(inLane, 4));
      Value group = kb.add(lane, kb.mul(kb.div(kb.rem(inLane, 4), 2),
                                        kb.index(4)));
      Value metadataLane = kb.add(kb.mul(kb.rem(r, 8), kb.index(2)),
                                  kb.div(group, 4));
      Value index = kb.metadataIndex(e, kb.div(r, 16), metadataLane, step);
      Value shift = kb.add(
          kb.mul(kb.div(kb.rem(r, 16), 8), kb.index(16)),
          kb.add(kb.mul(kb.rem(group, 4), kb.index(4)),
                 kb.mul(kb.rem(inLane, 2), kb.index(2))));
      Value position = arith::AndIOp::create(
          b,
          arith::ShRUIOp::create(
              b, kb.loadI32(row.metadata, index),
              arith::IndexCastUIOp::create(b, b.getI32Type(), shift)),
          arith::ConstantIntOp::create(b, 3, 32));
      offset = kb.add(
          kb.add(kb.mul(step, kb.index(32)), kb.mul(group, kb.index(4))),
          arith::IndexCastUIOp::create(b, b.getIndexType(), position));
    }
    Value inBlock = kb.add(kb.mul(r, kb.index(br)), offset);
    Value word = kb.loadI32(
        row.masks, kb.add(kb.mul(e, kb.index(words)), kb.div(inBlock, 32)));
    Value bit = arith::IndexCastUIOp::create(b, b.getI32Type(),
                                             kb.rem(inBlock, 32));
    k = kb.add(kb.mul(kb.loadIndex(row.entries, e), kb.index(br)), offset);
    kept = arith::AndIOp::create(
        b, kb.testBit(word, bit),
        arith::AndIOp::create(b, kb.less(k, layout.reduction),
                              kb.less(channel, layout.channels)));
    int64_t length = getEntryLength(layout);
    slot = kb.add(kb.mul(e, kb.index(bc * length)),
                  kb.add(kb.mul(r, kb.index(length)), c));
  } else {
    Value entry = kb.loadI32(row.entries, e);
    k = kb.add(kb.groupStart(entry), c);
    Value bit = arith::IndexCastUIOp::create(b, b.getI32Type(),
                                             kb.add(c, kb.index(24)));
    kept = kb.testBit(entry, bit);
    slot = kb.add(kb.mul(e, kb.index(layout.group)), c);
  }
  Value value = memref::LoadOp::create(
      b, src,
      kb.sparseIndex(kb.min(channel, layout.channels - 1),
                     kb.min(k, layout.reduction - 1)));
  return {arith::SelectOp::create(b, kept, value, kb.f32(0.0)), slot};
}

/// For an int8 part: the scale of each of the row's channels (its largest
/// kept magnitude over qmax), in workgroup memory and, for channels that
/// exist, in `scaleOut`. Each channel's elements are split into slices, one
/// per thread; the slices meet in workgroup memory by halving strides.
static Value emitRowScales(KernelBuilder &kb, gpu::GPUFuncOp fn, Value src,
                           const PackRow &row, Value thread,
                           Value scaleOut) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  int64_t channels = getRowChannels(layout), length = getEntryLength(layout);
  int64_t packThreads = getPackThreads(layout);
  int64_t slices = std::max<int64_t>(1, packThreads / channels);
  Value partials = kb.workgroupBuffer(fn, {slices * channels});
  Value rowScales = kb.workgroupBuffer(fn, {channels});
  Value threads = kb.index(packThreads);
  Value count = kb.mul(arith::SubIOp::create(b, row.hi, row.lo),
                       kb.index(length));
  // Consecutive threads take consecutive elements of a channel where the
  // source's reduction is contiguous, consecutive channels otherwise.
  kb.loop(thread, kb.index(slices * channels), threads, {},
          [&](Value q, ValueRange) {
            Value r = layout.sparseIsLhs ? kb.div(q, slices)
                                         : kb.rem(q, channels);
            Value s = layout.sparseIsLhs ? kb.rem(q, slices)
                                         : kb.div(q, channels);
            Value maxAbs =
                kb.loop(s, count, kb.index(slices), ValueRange{kb.f32(0.0)},
                        [&](Value j, ValueRange current) {
                          Value e = kb.add(row.lo, kb.div(j, length));
                          Value value = loadPackElement(kb, src, row, r, e,
                                                        kb.rem(j, length))
                                            .first;
                          return SmallVector<Value>{
                              kb.absMax(current[0], value)};
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
    kb.ifThen(kb.less(channel, layout.channels), [&] {
      memref::StoreOp::create(b, scale, scaleOut, channel);
    });
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
static gpu::GPUFuncOp buildPack(KernelBuilder &kb, MemRefType source,
                                MemRefType packed, MemRefType scales) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_pack", {source, packed, scales});
  Value src = fn.getArgument(0), out = fn.getArgument(1);
  bool quantised = layout.compute == ComputeKind::I8;
  int64_t channels = getRowChannels(layout), length = getEntryLength(layout);
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
  row.entries = kb.table("_entries", layout.entries);
  if (layout.useMma)
    row.masks = kb.table("_masks", layout.blockMasks);
  if (layout.structured)
    row.metadata = kb.table("_metadata", layout.metadata);
  Value rowScales;
  if (quantised)
    rowScales = emitRowScales(kb, fn, src, row, thread, fn.getArgument(2));

  Value threads = gpu::BlockDimOp::create(b, gpu::Dimension::x);
  Value first = kb.add(
      kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), threads), thread);
  Value stride =
      kb.mul(gpu::GridDimOp::create(b, gpu::Dimension::y), threads);
  Value units = kb.mul(arith::SubIOp::create(b, row.hi, row.lo),
                       kb.index(unitsPerEntry));
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
    Value scale =
        quantised ? memref::LoadOp::create(b, rowScales, r) : Value();
    // In slot order: a 4-bit byte's low nibble is written before its high.
    for (int64_t i = 0; i < unit; ++i) {
      auto [value, slot] = loadPackElement(kb, src, row, r, e,
                                           kb.add(firstC, kb.index(i)));
      kb.storePacked(kb.convert(value, scale), out, slot);
    }
    return SmallVector<Value>{};
  });
  return fn;
}

/// The largest magnitude among elements k = first, first + step, ... of
/// dense column `column`.
static Value emitColumnMaxAbs(KernelBuilder &kb, Value src, Value column,
                              Value first, int64_t step) {
  return kb.loop(first, kb.index(kb.layout.reduction), kb.index(step),
                 ValueRange{kb.f32(0.0)}, [&](Value k, ValueRange args) {
                   Value value = memref::LoadOp::create(
                       kb.b, src, kb.denseIndex(k, column));
                   return SmallVector<Value>{kb.absMax(args[0], value)};
                 })[0];
}

/// Quantises elements k = first, first + step, ... of the zero-padded
/// reduction of dense column `column` by `scale` into the quantised copy:
/// [column][k] for tensor cores, [k / 4][column][k % 4] for SIMT parts.
static void emitQuantiseColumn(KernelBuilder &kb, Value src, Value out,
                               Value column, Value first, int64_t step,
                               Value scale) {
  ImplicitLocOpBuilder &b = kb.b;
  const PartLayout &layout = kb.layout;
  kb.loop(first, kb.index(layout.getPaddedReduction()), kb.index(step),
          ValueRange{}, [&](Value k, ValueRange) {
            Value value = memref::LoadOp::create(
                b, src, kb.denseIndex(kb.min(k, layout.reduction - 1), column));
            value = arith::SelectOp::create(b, kb.less(k, layout.reduction),
                                            value, kb.f32(0.0));
            SmallVector<Value> at{column, k};
            if (!layout.useMma)
              at = {kb.div(k, 4), column, kb.rem(k, 4)};
            memref::StoreOp::create(
                b, PartMatmulOp::buildQuantise(b, b.getLoc(), value, scale, 127),
                out, at);
            return SmallVector<Value>{};
          });
}

/// Threads of the dense quantisation kernel that takes columns along x:
/// 32 columns, 8 slices of the reduction along y.
static constexpr int64_t kQuantiseColumns = 32, kQuantiseSlices = 8;

/// int8 copy of the dense operand with one scale per column, for a dense
/// operand whose columns are contiguous in memory. A block of
/// kQuantiseColumns x kQuantiseSlices threads takes 32 columns; each thread
/// finds the largest magnitude in its slice of the reduction, the slices meet
/// in workgroup memory, and each thread then quantises its slice.
static gpu::GPUFuncOp buildQuantiseDenseByColumns(KernelBuilder &kb,
                                                  MemRefType dense,
                                                  MemRefType quantised,
                                                  MemRefType scales) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_quantise_dense", {dense, quantised, scales});
  Value partials =
      kb.workgroupBuffer(fn, {kQuantiseSlices, kQuantiseColumns});
  Value src = fn.getArgument(0), out = fn.getArgument(1),
        scaleOut = fn.getArgument(2);
  Value lane = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value slice = gpu::ThreadIdOp::create(b, gpu::Dimension::y);
  Value column = kb.globalId();
  // Columns past the end read the last one, so every thread reaches the
  // barrier; only the stores are guarded.
  Value partial = emitColumnMaxAbs(kb, src, kb.min(column, layout.columns - 1),
                                   slice, kQuantiseSlices);
  memref::StoreOp::create(b, partial, partials, ValueRange{slice, lane});
  gpu::BarrierOp::create(b);
  Value maxAbs = kb.f32(0.0);
  for (int64_t other = 0; other < kQuantiseSlices; ++other)
    maxAbs = arith::MaximumFOp::create(
        b, maxAbs,
        memref::LoadOp::create(b, partials,
                               ValueRange{kb.index(other), lane}));
  Value scale = PartMatmulOp::buildScale(b, b.getLoc(), maxAbs, 127);
  kb.ifThen(kb.less(column, layout.columns), [&] {
    kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slice,
                                    kb.index(0)),
              [&] {
                memref::StoreOp::create(b, scale, scaleOut,
                                        ValueRange{column});
              });
    emitQuantiseColumn(kb, src, out, column, slice, kQuantiseSlices, scale);
  });
  return fn;
}

/// Threads of the dense quantisation kernel that takes one column a block.
static constexpr int64_t kQuantiseThreads = 256, kWarp = 32;

/// int8 copy of the dense operand with one scale per column, for a dense
/// operand whose reduction is contiguous in memory (`x @ W` with W sparse):
/// one block per column, its threads striding over the reduction, so that
/// a few columns (a decode step) still fill the GPU and the reads coalesce.
/// The magnitudes meet by shuffles within each warp, then in workgroup
/// memory.
static gpu::GPUFuncOp buildQuantiseDenseByReduction(KernelBuilder &kb,
                                                    MemRefType dense,
                                                    MemRefType quantised,
                                                    MemRefType scales) {
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_quantise_dense", {dense, quantised, scales});
  Value warpMaxima = kb.workgroupBuffer(fn, {kQuantiseThreads / kWarp});
  Value src = fn.getArgument(0), out = fn.getArgument(1),
        scaleOut = fn.getArgument(2);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value column = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value partial =
      emitColumnMaxAbs(kb, src, column, thread, kQuantiseThreads);
  for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, partial, offset, kWarp,
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    partial = arith::MaximumFOp::create(b, partial, other);
  }
  Value isFirstLane = arith::CmpIOp::create(
      b, arith::CmpIPredicate::eq, kb.rem(thread, kWarp), kb.index(0));
  kb.ifThen(isFirstLane, [&] {
    memref::StoreOp::create(b, partial, warpMaxima,
                            ValueRange{kb.div(thread, kWarp)});
  });
  gpu::BarrierOp::create(b);
  Value maxAbs = kb.f32(0.0);
  for (int64_t warp = 0; warp < kQuantiseThreads / kWarp; ++warp)
    maxAbs = arith::MaximumFOp::create(
        b, maxAbs,
        memref::LoadOp::create(b, warpMaxima, ValueRange{kb.index(warp)}));
  Value scale = PartMatmulOp::buildScale(b, b.getLoc(), maxAbs, 127);
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, thread,
                                  kb.index(0)),
            [&] {
              memref::StoreOp::create(b, scale, scaleOut, ValueRange{column});
            });
  emitQuantiseColumn(kb, src, out, column, thread, kQuantiseThreads, scale);
  return fn;
}

/// f16 copy of the dense operand for tensor-core f16 parts, [column][k] with
/// the reduction zero-padded, so that each fragment register is one aligned
/// load: one thread per element, consecutive threads along the reduction
/// when it is contiguous in the source, else along the columns.
static gpu::GPUFuncOp buildConvertDense(KernelBuilder &kb, MemRefType dense,
                                        MemRefType converted,
                                        bool reductionContiguous) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_convert_dense", {dense, converted});
  int64_t columns = layout.columns, padded = layout.getPaddedReduction();
  Value id = kb.globalId();
  kb.ifThen(kb.less(id, columns * padded), [&] {
    Value column = reductionContiguous ? kb.div(id, padded)
                                       : kb.rem(id, columns);
    Value k = reductionContiguous ? kb.rem(id, padded) : kb.div(id, columns);
    Value value = memref::LoadOp::create(
        b, fn.getArgument(0),
        kb.denseIndex(kb.min(k, layout.reduction - 1), column));
    value = arith::SelectOp::create(b, kb.less(k, layout.reduction), value,
                                    kb.f32(0.0));
    SmallVector<Value> at = {column, k};
    if (layout.structured) {
      // A step's 32 elements in the order lanes read them (see
      // getDenseCopyType): lane i's B fragment registers j = 0..3, elements
      // 8j + 2i and 8j + 2i + 1, are its eight consecutive values from 8i.
      Value inStep = kb.rem(k, 32);
      Value position = kb.add(
          kb.add(kb.mul(kb.div(kb.rem(inStep, 8), 2), kb.index(8)),
                 kb.mul(kb.div(inStep, 8), kb.index(2))),
          kb.rem(inStep, 2));
      at = {column, kb.div(k, 32), position};
    }
    memref::StoreOp::create(
        b, arith::TruncFOp::create(b, b.getF16Type(), value),
        fn.getArgument(1), at);
  });
  return fn;
}

//===----------------------------------------------------------------------===//
// Compute kernels
//===----------------------------------------------------------------------===//

/// Blocks per multiprocessor the SIMT kernel's grid should at least have.
static constexpr int64_t kSimtBlocksPerMultiprocessor = 8;
/// Sums one block of the SIMT kernel keeps in workgroup memory at most.
static constexpr int64_t kMaxSimtStagedSums = 32 * kThreads;
static constexpr int64_t kMaxEntriesPerRowForStaging = 128;
static constexpr int64_t kMaxSimtColumnsPerThread = 4;

/// Blocks of the SIMT kernel's grid along its columns, with
/// `columnsPerThread` columns per thread.
static int64_t getSimtColumnBlocks(const PartLayout &layout,
                                   int64_t columnsPerThread) {
  int64_t blockColumns = columnsPerThread * kThreads;
  return (layout.getNumColumnWork() + blockColumns - 1) / blockColumns;
}

/// Work rows one block of the SIMT kernel computes, with `columnsPerThread`
/// columns per thread. Several rows pay when rows are short (at most
/// kMaxEntriesPerRowForStaging entries on average): writing the result then
/// costs about as much as computing it, and the block writes its rows' sums
/// together. Long rows keep one row per block, so that the blocks running
/// at once read the same dense columns (measured on an H200:
/// docs/benchmarks.md). As many rows as still leave about
/// kSimtBlocksPerMultiprocessor blocks for each multiprocessor (a decode
/// step, a few columns, keeps one row per block), with at most
/// kMaxSimtStagedSums sums in workgroup memory.
static int64_t getSimtRowsPerBlock(const PartLayout &layout,
                                   const ChipDescription &chip,
                                   int64_t columnsPerThread) {
  int64_t numRows = layout.rows.size();
  if (layout.getNumEntries() > kMaxEntriesPerRowForStaging * numRows)
    return 1;
  int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
  int64_t wanted = kSimtBlocksPerMultiprocessor * chip.multiprocessors;
  int64_t rows = 1;
  while (2 * rows * columnsPerThread * kThreads <= kMaxSimtStagedSums &&
         numRows / (2 * rows) * columnBlocks >= wanted)
    rows *= 2;
  return rows;
}

/// Whether the SIMT kernel's grid has work rows along x (and columns along
/// y): with several rows per block, or when the dense operand does not fit
/// in the L2 cache, so that the blocks running at once (consecutive along x)
/// read the same columns of it. Otherwise consecutive blocks take the
/// columns of one row, which measured faster (docs/benchmarks.md).
static bool hasSimtRowsAlongX(const PartLayout &layout,
                              const ChipDescription &chip) {
  int64_t elementBytes = layout.compute == ComputeKind::I8 ? 1 : 4;
  return getSimtRowsPerBlock(layout, chip, 1) > 1 ||
         layout.reduction * layout.columns * elementBytes > chip.l2CacheBytes;
}

/// Dense columns one thread of the SIMT kernel computes, kThreads apart:
/// each work-list entry and packed value it loads then feeds that many
/// products, and the loads of its columns are independent. Only with rows
/// along x, where this measured 1.17-1.25x faster on an H200; with columns
/// along x (the consecutive blocks of one row) it measured 1.2x slower
/// (docs/benchmarks.md). Up to kMaxSimtColumnsPerThread, as many as the
/// columns fill while the grid keeps about kSimtBlocksPerMultiprocessor
/// blocks per multiprocessor and a block with several rows keeps at least
/// kMinSimtStagedRows of them (or all it had): with the result laid out
/// `C[column][channel]`, that many consecutive channels fill a 32-byte
/// sector when the block writes its sums.
static constexpr int64_t kMinSimtStagedRows = 8;
static int64_t getSimtColumnsPerThread(const PartLayout &layout,
                                       const ChipDescription &chip) {
  if (!hasSimtRowsAlongX(layout, chip))
    return 1;
  int64_t numRows = layout.rows.size();
  int64_t wanted = kSimtBlocksPerMultiprocessor * chip.multiprocessors;
  int64_t stagedRows = getSimtRowsPerBlock(layout, chip, 1);
  auto fits = [&](int64_t columns) {
    if (columns * kThreads > layout.getNumColumnWork())
      return false;
    if (stagedRows > 1)
      return getSimtRowsPerBlock(layout, chip, columns) >=
             std::min(stagedRows, kMinSimtStagedRows);
    return getSimtColumnBlocks(layout, columns) * numRows >= wanted;
  };
  int64_t columns = 1;
  while (2 * columns <= kMaxSimtColumnsPerThread && fits(2 * columns))
    columns *= 2;
  return columns;
}

/// SIMT: each thread computes getSimtColumnsPerThread() result columns,
/// kThreads apart, so a block covers getSimtBlockColumns() consecutive
/// ones. Either block (x) per block of columns and (y) per work row, or
/// (see hasSimtRowsAlongX) block (x) per getSimtRowsPerBlock() work rows,
/// which its threads walk in turn, and (y) per block of columns. With
/// several rows per block, the sums meet in workgroup memory and the block
/// then writes them in result order: consecutive threads write consecutive
/// elements whichever way the result is laid out.
static gpu::GPUFuncOp buildSimtCompute(KernelBuilder &kb,
                                       ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  bool isInt = layout.compute == ComputeKind::I8;
  bool isHalf = layout.compute == ComputeKind::F16;
  int64_t numRows = layout.rows.size();
  int64_t numWork = layout.getNumColumnWork();
  int64_t columnsPerThread = getSimtColumnsPerThread(layout, kb.chip);
  int64_t rowsPerBlock = getSimtRowsPerBlock(layout, kb.chip, columnsPerThread);
  int64_t blockColumns = columnsPerThread * kThreads;
  auto fn = kb.begin("", arguments);
  Value rows = kb.table("_rows", layout.rows);
  Value offsets = kb.table("_offsets", layout.offsets);
  Value entries = kb.table("_entries", layout.entries);
  auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  // The thread's j-th unit of column work, from the block's first.
  auto getThreadOffset = [&](int64_t j) {
    return j == 0 ? thread : kb.add(thread, kb.index(j * kThreads));
  };
  // The thread's units of column work in the block from `firstWork`.
  auto getThreadWork = [&](Value firstWork) {
    SmallVector<Value> work;
    for (int64_t j = 0; j < columnsPerThread; ++j)
      work.push_back(kb.add(firstWork, getThreadOffset(j)));
    return work;
  };
  // The packed values of entry `e`: four int8 lanes, two f16 lanes or one
  // float (f16 widened to f32).
  auto loadWeights = [&](Value e) -> Value {
    Value at = kb.mul(e, kb.index(layout.group));
    if (isInt)
      return layout.packedInt4
                 ? kb.unpackEntry(kb.loadVector(
                       VectorType::get({2}, b.getI8Type()), packed,
                       ValueRange{kb.mul(e, kb.index(2))}))
                 : kb.loadVector(VectorType::get({4}, b.getI8Type()), packed,
                                 ValueRange{at});
    if (layout.group == 2)
      return kb.loadVector(VectorType::get({2}, b.getF16Type()), packed,
                           ValueRange{at});
    Value weight = memref::LoadOp::create(b, packed, ValueRange{at});
    return isHalf ? arith::ExtFOp::create(b, b.getF32Type(), weight) : weight;
  };
  // acc + the entry's weights times dense column `column` from `start`.
  auto multiplyAdd = [&](Value weights, Value start, Value column,
                         Value acc) -> Value {
    if (isInt) {
      Value inputs =
          kb.loadVector(VectorType::get({4}, b.getI8Type()), dense,
                        ValueRange{kb.div(start, 4), column, kb.index(0)});
      return kb.dot4(weights, inputs, acc);
    }
    auto loadInput = [&](int64_t t) {
      Value k = kb.min(kb.add(start, kb.index(t)), layout.reduction - 1);
      Value value = memref::LoadOp::create(b, dense, kb.denseIndex(k, column));
      return isHalf ? arith::TruncFOp::create(b, b.getF16Type(), value) : value;
    };
    if (layout.group == 2) {
      Value inputs = vector::FromElementsOp::create(
          b, VectorType::get({2}, b.getF16Type()),
          ValueRange{loadInput(0), loadInput(1)});
      return kb.dot2(weights, inputs, acc);
    }
    Value input = loadInput(0);
    if (isHalf)
      input = arith::ExtFOp::create(b, b.getF32Type(), input);
    return math::FmaOp::create(b, weights, input, acc);
  };
  // The sums of work row `w` for the thread's units of column `work`, the
  // first of which exists. The others are read clamped to the last one.
  auto emitSums = [&](Value w, ArrayRef<Value> work) -> SmallVector<Value> {
    SmallVector<Value> columns;
    for (auto [j, unit] : llvm::enumerate(work))
      columns.push_back(
          kb.getColumnWork(j == 0 ? unit : kb.min(unit, numWork - 1)));
    Value lo = kb.loadIndex(offsets, w);
    Value hi = kb.loadIndex(offsets, kb.add(w, kb.index(1)));
    SmallVector<Value> zeros(work.size(), kb.zeroSum());
    return kb.loop(lo, hi, zeros, [&](Value e, ValueRange sums) {
      Value start = kb.groupStart(kb.loadI32(entries, e));
      Value weights = loadWeights(e);
      SmallVector<Value> next;
      for (auto [column, sum] : llvm::zip(columns, sums))
        next.push_back(multiplyAdd(weights, start, column, sum));
      return next;
    });
  };
  auto accumulate = [&](Value w, Value unit, Value sum) {
    kb.accumulateSum(out, kb.loadIndex(rows, w), kb.getColumnWork(unit), sum,
                     scales, denseScales);
  };
  // One thread's whole work with one row per block.
  auto sumOneRow = [&](Value w, Value firstWork) {
    SmallVector<Value> work = getThreadWork(firstWork);
    kb.ifThen(kb.less(work[0], numWork), [&] {
      SmallVector<Value> sums = emitSums(w, work);
      accumulate(w, work[0], sums[0]);
      for (int64_t j = 1; j < columnsPerThread; ++j)
        kb.ifThen(kb.less(work[j], numWork),
                  [&] { accumulate(w, work[j], sums[j]); });
    });
  };

  int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
  if (!hasSimtRowsAlongX(layout, kb.chip)) {
    Value firstWork = kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                             kb.index(blockColumns));
    kb.forEachGridRow(numRows, [&](Value w) { sumOneRow(w, firstWork); });
    return fn;
  }
  Value firstRow = kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                          kb.index(rowsPerBlock));
  Value sums;
  if (rowsPerBlock > 1)
    sums = kb.workgroupBuffer(fn, {rowsPerBlock, blockColumns + 1},
                           kb.zeroSum().getType());
  kb.forEachGridRow(columnBlocks, [&](Value y) {
    Value firstWork = kb.mul(y, kb.index(blockColumns));
    if (rowsPerBlock == 1)
      return sumOneRow(firstRow, firstWork);
    SmallVector<Value> work = getThreadWork(firstWork);
    kb.ifThen(kb.less(work[0], numWork), [&] {
      kb.loop(kb.index(0), kb.index(rowsPerBlock), {},
              [&](Value r, ValueRange) {
                Value w = kb.add(firstRow, r);
                kb.ifThen(kb.less(w, numRows), [&] {
                  for (auto [j, sum] : llvm::enumerate(emitSums(w, work)))
                    memref::StoreOp::create(b, sum, sums,
                                            ValueRange{r, getThreadOffset(j)});
                });
                return SmallVector<Value>{};
              });
    });
    gpu::BarrierOp::create(b);
    // Element i of the block's rows x columns, in result order.
    kb.loop(thread, kb.index(rowsPerBlock * blockColumns), kb.index(kThreads),
            {}, [&](Value i, ValueRange) {
              Value r = layout.sparseIsLhs ? kb.div(i, blockColumns)
                                           : kb.rem(i, rowsPerBlock);
              Value c = layout.sparseIsLhs ? kb.rem(i, blockColumns)
                                           : kb.div(i, rowsPerBlock);
              Value w = kb.add(firstRow, r), unit = kb.add(firstWork, c);
              Value inside = arith::AndIOp::create(b, kb.less(w, numRows),
                                                   kb.less(unit, numWork));
              kb.ifThen(inside, [&] {
                accumulate(w, unit,
                           memref::LoadOp::create(b, sums, ValueRange{r, c}));
              });
              return SmallVector<Value>{};
            });
    // The next column block's sums reuse the buffer.
    gpu::BarrierOp::create(b);
  });
  return fn;
}

/// Column tiles (mma.n columns each) one warp of the tensor-core kernel
/// computes: several when there are enough columns, so that each fragment of
/// the packed block feeds that many mma instructions.
static int64_t getColumnTilesPerWarp(const PartLayout &layout) {
  return layout.getNumColumnWork() >= 4 * kThreads / 32 ? 4 : 1;
}

/// Slices of mma.m channels of a block row one warp computes: all of them
/// when the warp takes several column tiles, so that each fragment of the
/// dense operand also feeds several mma instructions; one otherwise, so that
/// few columns (a decode step) still spread over many blocks.
static int64_t getChannelSlicesPerWarp(const PartLayout &layout) {
  return getColumnTilesPerWarp(layout) > 1
             ? layout.blockChannels / layout.mma.m
             : 1;
}

/// Reduction elements in one fragment register of the tensor-core kernel:
/// four int8 or two f16 values (PTX ISA, "Matrix Fragments for mma.m16n8k*").
static int64_t getRegisterWidth(const PartLayout &layout) {
  return layout.compute == ComputeKind::I8 ? 4 : 2;
}

/// Fragment registers one thread holds per row (or column) in one mma step:
/// the step's reduction shared by the four threads of a group.
static int64_t getRegistersPerStep(const PartLayout &layout) {
  return layout.mma.k / (4 * getRegisterWidth(layout));
}

/// Steps (mma.k reductions) of a block's reduction in one chunk of the
/// tensor-core kernel: as many as make a thread's run of the chunk 16 bytes
/// (four registers) at most, and that divide the block's steps; for a
/// structured part, the steps of a packed run.
static int64_t getStepsPerChunk(const PartLayout &layout) {
  if (layout.structured)
    return layout.getStructuredStepsPerRun();
  int64_t registersPerStep = getRegistersPerStep(layout);
  int64_t blockSteps = layout.blockReduction / layout.mma.k;
  int64_t steps = 4 / registersPerStep;
  while (blockSteps % steps != 0)
    --steps;
  return steps;
}

/// Tensor cores: four warps per block, each a tile of getChannelSlicesPerWarp()
/// x mma.m channels by getColumnTilesPerWarp() x mma.n columns; row of blocks
/// (y) per (work row, group of channel slices of its blocks).
///
/// The reduction of a block is walked in chunks of getStepsPerChunk() mma
/// steps. Within a chunk the reduction is permuted the same way for both
/// operands, which leaves the sum unchanged: the four threads of a group
/// (lane % 4) take consecutive quarters of the chunk instead of interleaved
/// pairs (PTX ISA, "Matrix Fragments for mma.m16n8k*"), so that each thread
/// loads all its registers of a row or column of the chunk with one vector
/// load of up to 16 bytes. The loop is software-pipelined: the registers of
/// the next chunk (of this block, or of the row's next block) are loaded
/// before the mma instructions of the current one.
static gpu::GPUFuncOp buildMmaCompute(KernelBuilder &kb,
                                      ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  bool isInt = layout.compute == ComputeKind::I8;
  MatrixShape shape = layout.mma;
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  int64_t slices = getChannelSlicesPerWarp(layout);
  int64_t sliceGroups = bc / shape.m / slices;
  int64_t tiles = getColumnTilesPerWarp(layout);
  int64_t numWork = layout.getNumColumnWork();
  int64_t width = getRegisterWidth(layout);
  int64_t registersPerStep = getRegistersPerStep(layout);
  int64_t steps = getStepsPerChunk(layout);
  int64_t chunkLength = steps * shape.k, chunks = br / chunkLength;
  int64_t registers = steps * registersPerStep;
  int64_t runLength = registers * width;
  // A structured block row packs half the values: two registers per step
  // (getStructuredOffset), one step per chunk.
  bool structured = layout.structured;
  int64_t packedPerStep = structured ? registersPerStep / 2 : registersPerStep;
  int64_t packedRegisters = steps * packedPerStep;
  int64_t packedRowLength = structured ? br / 2 : br;
  SmallVector<int64_t> rowOffsets = shape.m == 16 ? SmallVector<int64_t>{0, 8}
                                                  : SmallVector<int64_t>{0};
  int64_t numRowOffsets = rowOffsets.size();
  int64_t numAccumulators = numRowOffsets * 2;
  Type fragmentType = isInt ? Type(b.getI32Type())
                            : Type(VectorType::get({2}, b.getF16Type()));
  auto runType = VectorType::get({runLength}, isInt ? Type(b.getI8Type())
                                                    : Type(b.getF16Type()));

  auto fn = kb.begin("", arguments);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = kb.div(thread, 32), lane = kb.rem(thread, 32);
  Value group = kb.div(lane, 4), inGroup = kb.rem(lane, 4);
  Value firstWork = kb.mul(
      kb.add(kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                    kb.index(kThreads / 32)),
             warp),
      kb.index(tiles));
  // The whole warp takes this branch together, as mma.sync requires.
  kb.ifThen(kb.less(firstWork, numWork), [&] {
    // Each tile's first column, and the column this lane reads; tiles past
    // the end repeat the last one and store nothing.
    SmallVector<Value> firstColumns, columns, tileExists;
    for (int64_t t = 0; t < tiles; ++t) {
      Value work = kb.add(firstWork, kb.index(t));
      tileExists.push_back(kb.less(work, numWork));
      firstColumns.push_back(kb.mul(kb.getColumnWork(kb.min(work, numWork - 1)),
                                    kb.index(shape.n)));
      columns.push_back(
          kb.min(kb.add(firstColumns.back(), group), layout.columns - 1));
    }
    Value rows = kb.table("_rows", layout.rows);
    Value offsets = kb.table("_offsets", layout.offsets);
    Value entries = kb.table("_entries", layout.entries);
    Value metadata =
        structured ? kb.table("_metadata", layout.metadata) : Value();
    auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
    // This thread's first reduction element of a chunk.
    Value runStart = kb.mul(inGroup, kb.index(runLength));

    // The packed block's registers of `row` from reduction element
    // `kInBlock` of the block at `blockBase`; 4-bit parts unpack each from
    // the word of eight values holding it.
    auto loadPackedRun = [&](Value row, Value kInBlock, Value blockBase) {
      Value at = kb.add(blockBase,
                        kb.add(kb.mul(row, kb.index(packedRowLength)),
                               kInBlock));
      if (structured)
        return kb.fragmentRegisters(kb.loadVector(
            VectorType::get({packedRegisters * width}, b.getF16Type()), packed,
            ValueRange{at}));
      if (!layout.packedInt4)
        return kb.fragmentRegisters(
            kb.loadVector(runType, packed, ValueRange{at}));
      SmallVector<Value> split;
      for (int64_t j = 0; j < registers; ++j) {
        Value value = kb.add(at, kb.index(j * width));
        Value word = kb.bitcastToI32(
            kb.loadVector(VectorType::get({4}, b.getI8Type()), packed,
                          ValueRange{kb.mul(kb.div(value, 8), kb.index(4))}));
        Value high = arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                           kb.rem(value, 8), kb.index(4));
        split.push_back(kb.unpackWord(word, high));
      }
      return split;
    };
    // The dense operand's registers of `column` from reduction element `k`:
    // from its copy, or (an implicit GEMM, or too few blocks to pay for a
    // copy) as pairs of f32 elements, through the gather if there is one.
    // A structured part's steps are in the instruction's own order:
    // register j holds elements 8j + 2 (lane % 4) and the next of a step
    // (`k`), consecutive in the copy (getDenseCopyType).
    auto loadDenseRun = [&](Value column, Value k) {
      if (structured && hasDenseCopy(layout)) {
        SmallVector<Value> split;
        for (int64_t s = 0; s < steps; ++s)
          llvm::append_range(
              split,
              kb.fragmentRegisters(kb.loadVector(
                  VectorType::get({registersPerStep * width}, b.getF16Type()),
                  dense,
                  ValueRange{column, kb.add(kb.div(k, 32), kb.index(s)),
                             kb.mul(inGroup, kb.index(8))})));
        return split;
      }
      if (structured) {
        SmallVector<Value> split;
        VectorType pair = VectorType::get({2}, b.getF16Type());
        for (int64_t j = 0; j < registers; ++j) {
          Value kk = kb.add(k, kb.add(kb.index(8 * j),
                                      kb.mul(inGroup, kb.index(2))));
          SmallVector<Value> halves;
          for (int64_t h = 0; h < 2; ++h)
            halves.push_back(arith::TruncFOp::create(
                b, b.getF16Type(),
                memref::LoadOp::create(
                    b, dense,
                    kb.denseIndex(kb.min(kb.add(kk, kb.index(h)),
                                         layout.reduction - 1),
                                  column))));
          split.push_back(vector::FromElementsOp::create(b, pair, halves));
        }
        return split;
      }
      if (hasDenseCopy(layout))
        return kb.fragmentRegisters(
            kb.loadVector(runType, dense, ValueRange{column, k}));
      SmallVector<Value> split;
      for (int64_t j = 0; j < registers; ++j) {
        SmallVector<Value> halves;
        for (int64_t h = 0; h < 2; ++h) {
          Value kk = kb.min(kb.add(k, kb.index(j * width + h)),
                            layout.reduction - 1);
          halves.push_back(arith::TruncFOp::create(
              b, b.getF16Type(),
              memref::LoadOp::create(b, dense, kb.denseIndex(kk, column))));
        }
        split.push_back(
            vector::FromElementsOp::create(b, fragmentType, halves));
      }
      return split;
    };

    kb.forEachGridRow(layout.rows.size() * sliceGroups, [&](Value y) {
      Value w = kb.div(y, sliceGroups);
      Value firstSlice = kb.mul(kb.rem(y, sliceGroups), kb.index(slices));
      Value lo = kb.loadIndex(offsets, w);
      Value hi = kb.loadIndex(offsets, kb.add(w, kb.index(1)));
      SmallVector<Value> sliceRows;
      for (int64_t sl = 0; sl < slices; ++sl)
        sliceRows.push_back(
            kb.mul(kb.add(firstSlice, kb.index(sl)), kb.index(shape.m)));

      // The registers of chunk `c` of block `e`: the packed block's, per
      // (slice, row offset), for a structured part each slice's metadata
      // word, then the dense operand's, per tile.
      auto loadChunk = [&](Value e, int64_t c) {
        Value kInBlock = kb.add(kb.index(c * chunkLength), runStart);
        Value packedInBlock =
            structured ? kb.add(kb.index(c * chunkLength / 2),
                                kb.mul(inGroup, kb.index(4 * steps)))
                       : kInBlock;
        Value blockBase = kb.mul(e, kb.index(bc * packedRowLength));
        SmallVector<Value> chunk;
        for (int64_t sl = 0; sl < slices; ++sl)
          for (int64_t rowOffset : rowOffsets)
            llvm::append_range(
                chunk, loadPackedRun(kb.add(sliceRows[sl],
                                            kb.add(group, kb.index(rowOffset))),
                                     packedInBlock, blockBase));
        if (structured) {
          // Lanes 2 and 3 of a group hold no metadata (sparsity selector
          // 0); they load lane 0's and 1's words, those of the chunk's steps
          // at once.
          Value lane = kb.add(kb.mul(group, kb.index(2)), kb.rem(inGroup, 2));
          for (int64_t sl = 0; sl < slices; ++sl) {
            Value index = kb.metadataIndex(e, kb.add(firstSlice, kb.index(sl)),
                                           lane, kb.index(c * steps));
            Value words = kb.loadVector(
                VectorType::get({steps}, b.getI32Type()), metadata,
                ValueRange{index});
            for (int64_t s = 0; s < steps; ++s)
              chunk.push_back(vector::ExtractOp::create(b, words, s));
          }
        }
        Value k = kb.mul(kb.loadIndex(entries, e), kb.index(br));
        k = kb.add(k, structured ? kb.index(c * chunkLength) : kInBlock);
        for (int64_t t = 0; t < tiles; ++t)
          llvm::append_range(chunk, loadDenseRun(columns[t], k));
        return chunk;
      };
      int64_t numPacked = slices * numRowOffsets * packedRegisters;
      int64_t numMetadata = structured ? slices * steps : 0;
      // The mma instructions of one chunk. Accumulators of (tile t, slice sl)
      // are at (t * slices + sl) * numAccumulators.
      auto computeChunk = [&](ArrayRef<Value> chunk,
                              MutableArrayRef<Value> acc) {
        for (int64_t s = 0; s < steps; ++s) {
          SmallVector<SmallVector<Value>> a(slices);
          for (int64_t sl = 0; sl < slices; ++sl)
            for (int64_t r = 0; r < packedPerStep; ++r)
              for (int64_t ro = 0; ro < numRowOffsets; ++ro)
                a[sl].push_back(
                    chunk[(sl * numRowOffsets + ro) * packedRegisters +
                          s * packedPerStep + r]);
          for (int64_t t = 0; t < tiles; ++t) {
            ArrayRef<Value> bFrag =
                chunk.slice(numPacked + numMetadata + t * registers +
                                s * registersPerStep,
                            registersPerStep);
            for (int64_t sl = 0; sl < slices; ++sl) {
              MutableArrayRef<Value> tileAcc =
                  acc.slice((t * slices + sl) * numAccumulators,
                            numAccumulators);
              kb.mma(a[sl], bFrag, tileAcc,
                     structured ? chunk[numPacked + sl * steps + s] : Value());
            }
          }
        }
      };

      int64_t numSums = tiles * slices * numAccumulators;
      SmallVector<Value> sums(numSums, kb.zeroSum());
      if (!layout.entries.empty()) {
        // The first chunk is loaded before the loop (from an entry that
        // exists even when the row has none, and is then unused).
        Value first = arith::MinUIOp::create(
            b, lo, kb.index(layout.getNumEntries() - 1));
        SmallVector<Value> inits(sums);
        llvm::append_range(inits, loadChunk(first, 0));
        ValueRange results =
            kb.loop(lo, hi, inits, [&](Value e, ValueRange args) {
              SmallVector<Value> acc(args.take_front(numSums));
              SmallVector<Value> current(args.drop_front(numSums));
              Value following = arith::MinUIOp::create(
                  b, kb.add(e, kb.index(1)),
                  arith::SubIOp::create(b, hi, kb.index(1)));
              for (int64_t c = 0; c < chunks; ++c) {
                SmallVector<Value> next = c + 1 < chunks
                                              ? loadChunk(e, c + 1)
                                              : loadChunk(following, 0);
                computeChunk(current, acc);
                current = std::move(next);
              }
              llvm::append_range(acc, current);
              return acc;
            });
        sums.assign(results.begin(), results.begin() + numSums);
      }

      Value rowBase = kb.mul(kb.loadIndex(rows, w), kb.index(bc));
      for (int64_t tileSlice = 0; tileSlice < tiles * slices; ++tileSlice) {
        int64_t t = tileSlice / slices, sl = tileSlice % slices;
        Value channelBase = kb.add(rowBase, sliceRows[sl]);
        kb.storeAccumulators(
            out, channelBase, firstColumns[t], tileExists[t],
            ArrayRef<Value>(sums).slice(tileSlice * numAccumulators,
                                        numAccumulators),
            lane, scales, denseScales);
      }
    });
  });
  return fn;
}

PartKernels tesa::buildPartKernels(OpBuilder &builder, Location loc,
                                   gpu::GPUModuleOp module, StringRef prefix,
                                   const PartLayout &layout,
                                   const ChipDescription &chip,
                                   PartMatmulOp part, bool withPack,
                                   bool withDenseCopy) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  KernelBuilder kb(b, module, prefix, layout, chip, part);
  Type f32 = b.getF32Type();
  int64_t p = layout.channels, k = layout.reduction, q = layout.columns;
  MemRefType source = layout.sparseIsLhs ? MemRefType::get({p, k}, f32)
                                         : MemRefType::get({k, p}, f32);
  MemRefType dense = layout.gather ? layout.gather->sourceType
                     : layout.sparseIsLhs || layout.transposedDense
                         ? MemRefType::get({k, q}, f32)
                         : MemRefType::get({q, k}, f32);
  MemRefType result = layout.sparseIsLhs ? MemRefType::get({p, q}, f32)
                                         : MemRefType::get({q, p}, f32);
  MemRefType packed = getPackedBufferType(b.getContext(), layout);
  MemRefType scales = getScalesBufferType(b.getContext(), layout);
  MemRefType denseCopy = getDenseCopyType(b.getContext(), layout);
  MemRefType denseScales = getDenseScalesType(b.getContext(), layout);
  auto ceilDiv = [](int64_t x, int64_t y) { return (x + y - 1) / y; };

  PartKernels kernels;
  int64_t numRows = layout.rows.size();
  if (withPack) {
    kernels.pack = buildPack(kb, source, packed, scales);
    // Rows along x; for float parts, as many blocks along y as the longest
    // row has packing units for (at most kMaxGridY; the blocks then stride).
    bool quantised = layout.compute == ComputeKind::I8;
    int64_t splits = ceilDiv(getLongestRowUnits(layout), kThreads);
    kernels.packGrid = {numRows,
                        quantised ? 1 : std::min(splits, kMaxGridY)};
    kernels.packBlock = {getPackThreads(layout), 1};
  }
  SmallVector<Type> computeArguments;
  // A dense operand read in place whose reduction is contiguous.
  bool reductionContiguous = !layout.sparseIsLhs && !layout.gather;
  if (layout.compute == ComputeKind::I8) {
    // Quantised by one block per column when its reduction is contiguous,
    // otherwise by blocks of 32 columns.
    if (withDenseCopy && reductionContiguous) {
      kernels.denseCopy =
          buildQuantiseDenseByReduction(kb, dense, denseCopy, denseScales);
      kernels.denseCopyGrid = {q, 1};
      kernels.denseCopyBlock = {kQuantiseThreads, 1};
    } else if (withDenseCopy) {
      kernels.denseCopy =
          buildQuantiseDenseByColumns(kb, dense, denseCopy, denseScales);
      kernels.denseCopyGrid = {ceilDiv(q, kQuantiseColumns), 1};
      kernels.denseCopyBlock = {kQuantiseColumns, kQuantiseSlices};
    }
    computeArguments = {denseCopy, denseScales, packed, scales, result};
  } else if (hasDenseCopy(layout)) {
    if (withDenseCopy) {
      kernels.denseCopy =
          buildConvertDense(kb, dense, denseCopy, reductionContiguous);
      kernels.denseCopyGrid = {
          ceilDiv(denseCopy.getNumElements(), kThreads), 1};
      kernels.denseCopyBlock = {kThreads, 1};
    }
    computeArguments = {denseCopy, packed, result};
  } else {
    computeArguments = {dense, packed, result};
  }
  if (usesStagedMma(layout, chip)) {
    kernels.compute = buildStagedMmaCompute(kb, computeArguments);
    kernels.computeLaunch = getStagedMmaLaunch(layout, chip);
  } else if (layout.useMma) {
    kernels.compute = buildMmaCompute(kb, computeArguments);
    kernels.computeLaunch.grid = {
        ceilDiv(layout.getNumColumnWork(),
                getColumnTilesPerWarp(layout) * kThreads / 32),
        std::min(numRows * (layout.blockChannels / layout.mma.m /
                            getChannelSlicesPerWarp(layout)),
                 kMaxGridY)};
    kernels.computeLaunch.block = {kThreads, 1};
  } else {
    kernels.compute = buildSimtCompute(kb, computeArguments);
    int64_t columnsPerThread = getSimtColumnsPerThread(layout, chip);
    int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
    kernels.computeLaunch.grid =
        hasSimtRowsAlongX(layout, chip)
            ? std::array<int64_t, 2>{ceilDiv(numRows, getSimtRowsPerBlock(
                                                          layout, chip,
                                                          columnsPerThread)),
                                     std::min(columnBlocks, kMaxGridY)}
            : std::array<int64_t, 2>{columnBlocks,
                                     std::min(numRows, kMaxGridY)};
    kernels.computeLaunch.block = {kThreads, 1};
  }
  return kernels;
}
