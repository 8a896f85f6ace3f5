//===- DecodeProductKernel.cpp - Every part of a decode product at once ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of a decode product (see PartKernels.h): all the parts
// of one product whose dense operand has few columns, in one launch. Each
// block stages the dense operand in workgroup memory once, in every
// precision its parts read: f32, rounded to f16 for f16 parts, and quantised
// to int8 for int8 parts (by one scale per column, as the dense copy kernel
// finds it). Its threads then walk the SIMT work lists of every part for
// their channels, an entry's inputs one load from the copy of its precision,
// so that the parts of all precisions add into one sum per result element,
// which is written once with the product's epilogue.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace tesa;

/// Dense columns a decode product has at most: each block stages all of
/// them, and its threads take one column each.
static constexpr int64_t kMaxDecodeColumns = 64;
/// Threads of a decode product's block.
static constexpr int64_t kDecodeThreads = 256;
/// Loads a thread issues before it uses the first of them, when it stages
/// the dense operand and (at most) when it walks a work list: each step of
/// the loops waits for one memory latency instead of one per load.
static constexpr int64_t kStagingLoads = 8, kMaxWalkLoads = 4;
/// Sums of one result element's splits its thread adds up in turn, after
/// halving strides have left no more.
static constexpr int64_t kSerialSums = 8;

namespace {

/// The shape of a decode product's kernel: `columns` dense columns (rounded
/// up to a power of two, `paddedColumns`), `channels` channels per block,
/// and `splits` threads sharing one result element, each walking every
/// `splits`-th entry of the channel's work lists.
struct DecodeShape {
  int64_t columns, paddedColumns, reduction, channels, splits;
  /// The staged copies besides the f32 one: f16 (for f16 parts) and int8
  /// (for int8 parts, with each column's scale and its inverse).
  bool withHalf, withInt8;
  /// Whether int8 parts read the staged operand quantised once (into the
  /// int8 copy) rather than quantise each input as they read it: where a
  /// block reads more int8 inputs than the copy holds, with a margin for
  /// the barrier it adds.
  bool quantiseOnce = false;
  /// Whether an f32 part reads its inputs four at a time.
  bool wideFloat;
  /// Where a staged row's zero group starts: the reduction in whole groups
  /// of four. Every staged row holds zeros from the reduction's end through
  /// the zero group, so that no entry's load needs a bound and the entries
  /// that pad the work rows, which start there, read zeros.
  int64_t zeroGroup() const { return llvm::alignTo(reduction, 4); }
  /// Row lengths of the staged copies, with the zero group: f16 and int8
  /// rows (8- and 4-byte aligned) and f32 rows read four at a time (16-byte
  /// aligned) have nothing more; f32 rows read one element at a time one
  /// more element, so that the threads of one step, one per column, read
  /// different banks.
  int64_t narrowRow() const { return zeroGroup() + 4; }
  int64_t stagedRow() const { return zeroGroup() + (wideFloat ? 4 : 5); }
  /// Workgroup memory the kernel takes at most (the int8 copy counted
  /// whether or not the parts quantise once).
  int64_t getSharedBytes() const {
    int64_t bytes = columns * stagedRow() * 4 + kDecodeThreads * 4;
    if (withHalf)
      bytes += columns * narrowRow() * 2;
    if (withInt8)
      bytes += columns * (narrowRow() + 8);
    return bytes;
  }
};

DecodeShape getDecodeShape(ArrayRef<PartLayout> layouts,
                           const ChipDescription &chip) {
  const PartLayout &first = layouts.front();
  DecodeShape shape;
  shape.columns = first.columns;
  shape.paddedColumns = int64_t(llvm::PowerOf2Ceil(first.columns));
  shape.reduction = first.reduction;
  auto any = [&](auto predicate) { return llvm::any_of(layouts, predicate); };
  shape.withHalf = any([](const PartLayout &layout) {
    return layout.compute == ComputeKind::F16;
  });
  shape.withInt8 = any([](const PartLayout &layout) {
    return layout.compute == ComputeKind::I8;
  });
  shape.wideFloat = any([](const PartLayout &layout) {
    return layout.compute == ComputeKind::F32 && layout.group == 4;
  });
  // As many channels a block as still give every multiprocessor a block.
  shape.channels = std::max<int64_t>(1, kDecodeThreads / shape.paddedColumns);
  while (shape.channels > 1 &&
         (first.channels + shape.channels - 1) / shape.channels <
             int64_t(chip.multiprocessors))
    shape.channels /= 2;
  shape.splits = kDecodeThreads / (shape.channels * shape.paddedColumns);
  // A block's int8 inputs: its channels' average entries times the
  // columns, against the groups of four of the int8 copy.
  int64_t reads = 0;
  for (const PartLayout &layout : layouts)
    if (layout.compute == ComputeKind::I8)
      reads += llvm::divideCeil(layout.getNumEntries() * shape.channels,
                                layout.channels) *
               shape.columns;
  int64_t groups = shape.columns * (shape.narrowRow() / 4);
  shape.quantiseOnce = 2 * reads > 3 * groups;
  return shape;
}

} // namespace

bool tesa::fitsDecodeProduct(ArrayRef<PartLayout> layouts,
                             const ChipDescription &chip) {
  const PartLayout &first = layouts.front();
  if (first.columns < 1 || first.columns > kMaxDecodeColumns ||
      first.reduction < 1 || first.channels < 1 || first.gather)
    return false;
  for (const PartLayout &layout : layouts)
    if (layout.useMma || layout.sparseIsLhs != first.sparseIsLhs ||
        layout.columns != first.columns ||
        layout.reduction != first.reduction ||
        layout.channels != first.channels ||
        int64_t(layout.rows.size()) != layout.channels)
      return false;
  return getDecodeShape(layouts, chip).getSharedBytes() <=
         chip.sharedMemoryPerBlock;
}

void tesa::padDecodeProductRows(MutableArrayRef<PartLayout> layouts,
                                const ChipDescription &chip) {
  DecodeShape shape = getDecodeShape(layouts, chip);
  for (PartLayout &layout : layouts) {
    // Entries a thread loads a step: as many as its share of an average
    // row, up to kMaxWalkLoads.
    int64_t share = llvm::divideCeil(layout.getNumEntries(),
                                     layout.channels * shape.splits);
    int64_t walkLoads = std::min<int64_t>(
        llvm::PowerOf2Ceil(std::max<int64_t>(share, 1)), kMaxWalkLoads);
    padWorkRows(layout, shape.splits * walkLoads, int32_t(shape.zeroGroup()));
  }
}

KernelLaunch tesa::getDecodeProductLaunch(ArrayRef<PartLayout> layouts,
                                          const ChipDescription &chip) {
  DecodeShape shape = getDecodeShape(layouts, chip);
  int64_t channels = layouts.front().channels;
  return {{(channels + shape.channels - 1) / shape.channels, 1},
          {kDecodeThreads, 1}};
}

namespace {

/// One step of a thread's walk over a part's work list: the reduction
/// starts and weights of its entries (the part's row multiple over the
/// splits).
using WalkStep = SmallVector<std::pair<Value, Value>, kMaxWalkLoads>;

/// A thread's walk over one part's entries for its channel: its first step,
/// loaded before the dense operand is staged, and where the rest begins and
/// ends.
struct PartWalk {
  WalkStep first;
  Value rest, end;
};

/// Emits the kernel's body for the parts with builders `builders` (one per
/// part, over its layout).
class DecodeProductEmitter {
public:
  DecodeProductEmitter(ArrayRef<KernelBuilder *> builders,
                       const DecodeShape &shape)
      : builders(builders), kb(*builders.front()), b(kb.b), layout(kb.layout),
        shape(shape) {}

  /// The kernel `name`, taking `arguments`: the dense operand, the
  /// accumulator unless `initialValue` is set, each part's packed values
  /// (and scales, for int8 parts), the result.
  gpu::GPUFuncOp emit(StringRef name, ArrayRef<Type> arguments,
                      std::optional<float> initialValue);

private:
  /// Copies the dense operand into `staged` ([column][k], f32) and, for f16
  /// parts, rounded into `stagedHalf`; zeros past the reduction.
  void stageDense(Value dense);
  /// Zeros in `buffer`'s rows from the reduction's end through the zero
  /// group.
  void zeroRowTails(Value buffer);
  /// The scale of each staged column (for int8 parts) into `denseScales`
  /// (its largest magnitude over 127, as the dense copy kernel finds it) and
  /// its inverse into `inverseScales`.
  void findScales();
  /// The staged columns quantised by their scales into `stagedInt8`.
  void quantiseStaged();
  /// The four staged inputs of `stagedColumn` from `first`, quantised by
  /// `inverseScale` (the inverse of the column's scale).
  Value quantiseGroup(Value stagedColumn, Value first, Value inverseScale);
  /// Loads the step of `part`'s entries `from`, `from` + splits, ...
  WalkStep loadStep(KernelBuilder &part, Value packed, Value from);
  /// The four int8 inputs of the thread's column from `start`: from the
  /// int8 copy, or quantised as they are read.
  Value loadQuantised(Value start);
  /// `acc` plus the products of `step`'s entries with the thread's column
  /// of the staged copy of the part's precision.
  Value multiplyStep(KernelBuilder &part, const WalkStep &step, Value acc);
  /// `sum` plus the thread's share of `part`'s products: the prefetched
  /// first step, then the rest of the walk (int8 sums dequantised).
  Value finishPart(KernelBuilder &part, Value packed, Value partScales,
                   const PartWalk &walk, Value sum);

  ArrayRef<KernelBuilder *> builders;
  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const PartLayout &layout;
  DecodeShape shape;
  /// The staged copies of the operand and, for int8 parts, its columns'
  /// scales and their inverses.
  Value staged, stagedHalf, stagedInt8, denseScales, inverseScales;
  /// The inverse of the thread's column's scale (int8 parts quantising as
  /// they read).
  Value columnInverseScale;
  /// The thread's channel and column, clamped into the result (threads
  /// outside it compute a copy of an element and do not store it).
  Value channel, column;
};

} // namespace

void DecodeProductEmitter::stageDense(Value dense) {
  // The operand is read in its own row-major order, four elements a load
  // where its rows allow: along the reduction for `x @ W`, along the
  // columns for `W @ x`.
  auto denseType = cast<MemRefType>(dense.getType());
  int64_t inner = denseType.getDimSize(1);
  int64_t width = inner % 4 == 0 ? 4 : 1;
  int64_t loads = shape.columns * shape.reduction / width;
  int64_t perThread = (loads + kDecodeThreads - 1) / kDecodeThreads;
  int64_t groups = (perThread + kStagingLoads - 1) / kStagingLoads;
  Type f32 = b.getF32Type();
  kb.loop(kb.index(0), kb.index(groups), {}, [&](Value group, ValueRange) {
    // The group's loads first, then its stores.
    SmallVector<std::pair<Value, Value>> loaded;
    for (int64_t j = 0; j < kStagingLoads; ++j) {
      Value load = kb.add(
          kb.mul(kb.add(kb.mul(group, kb.index(kStagingLoads)), kb.index(j)),
                 kb.index(kDecodeThreads)),
          kb.threadId());
      Value at = kb.mul(kb.min(load, loads - 1), kb.index(width));
      SmallVector<Value, 2> position = {kb.div(at, inner), kb.rem(at, inner)};
      Value values =
          width == 4 ? kb.loadVector(VectorType::get({4}, f32), dense, position)
                     : memref::LoadOp::create(b, dense, position).getResult();
      loaded.push_back({load, values});
    }
    // Along the reduction, four elements go to one row at once where the
    // rows are aligned for it.
    bool vectorStores =
        width == 4 && !layout.sparseIsLhs && shape.stagedRow() % 4 == 0;
    for (auto [load, values] : loaded) {
      kb.ifThen(kb.less(load, loads), [&, load = load, values = values] {
        Value at = kb.mul(load, kb.index(width));
        Value row = kb.div(at, inner), first = kb.rem(at, inner);
        if (vectorStores) {
          vector::StoreOp::create(b, values, staged, ValueRange{row, first});
          if (stagedHalf)
            vector::StoreOp::create(
                b,
                arith::TruncFOp::create(b, VectorType::get({4}, b.getF16Type()),
                                        values),
                stagedHalf, ValueRange{row, first});
          return;
        }
        for (int64_t t = 0; t < width; ++t) {
          Value value =
              width == 4 ? vector::ExtractOp::create(b, values, t) : values;
          // Operand element (row, first + t) is (column, k) of x @ W, (k,
          // column) of W @ x.
          SmallVector<Value, 2> staging = {row, kb.add(first, kb.index(t))};
          if (layout.sparseIsLhs)
            std::swap(staging[0], staging[1]);
          memref::StoreOp::create(b, value, staged, staging);
          if (stagedHalf)
            memref::StoreOp::create(
                b, arith::TruncFOp::create(b, b.getF16Type(), value),
                stagedHalf, staging);
        }
      });
    }
    return SmallVector<Value>{};
  });
  zeroRowTails(staged);
  if (stagedHalf)
    zeroRowTails(stagedHalf);
  kb.barrier();
}

void DecodeProductEmitter::zeroRowTails(Value buffer) {
  int64_t tail = shape.zeroGroup() + 4 - shape.reduction;
  Type elementType = cast<MemRefType>(buffer.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(elementType));
  kb.loop(kb.threadId(), kb.index(shape.columns * tail),
          kb.index(kDecodeThreads), {}, [&](Value i, ValueRange) {
            Value k = kb.add(kb.rem(i, tail), kb.index(shape.reduction));
            memref::StoreOp::create(b, zero, buffer,
                                    ValueRange{kb.div(i, tail), k});
            return SmallVector<Value>{};
          });
}

void DecodeProductEmitter::findScales() {
  constexpr int64_t warp = 32, warps = kDecodeThreads / warp;
  Value lane = kb.rem(kb.threadId(), warp);
  Value firstColumn = kb.div(kb.threadId(), warp);
  int64_t perLane = (shape.reduction + warp - 1) / warp;
  // A warp per column, each lane's loads issued together.
  kb.loop(
      firstColumn, kb.index(shape.columns), kb.index(warps), {},
      [&](Value staging, ValueRange) {
        SmallVector<Value> values;
        for (int64_t i = 0; i < perLane; ++i) {
          Value k = kb.add(lane, kb.index(i * warp));
          Value value = memref::LoadOp::create(
              b, staged, ValueRange{staging, kb.min(k, shape.reduction - 1)});
          values.push_back(value);
        }
        Value partial = kb.f32(0.0);
        for (Value value : values)
          partial = kb.absMax(partial, value);
        Value maxAbs = kb.reduceAcrossLanes(partial, ReductionKind::Max, warp);
        kb.ifThen(kb.less(lane, 1), [&] {
          Value scale = PartMatmulOp::buildScale(b, b.getLoc(), maxAbs, 127);
          memref::StoreOp::create(b, scale, denseScales, ValueRange{staging});
          memref::StoreOp::create(
              b, PartMatmulOp::buildInverseScale(b, b.getLoc(), scale),
              inverseScales, ValueRange{staging});
        });
        return SmallVector<Value>{};
      });
  kb.barrier();
}

void DecodeProductEmitter::quantiseStaged() {
  // Thread t quantises groups of four t, t + threads, ... of [group]
  // [padded column] (consecutive threads, consecutive columns: different
  // banks), through the zero group: zeros stay zeros.
  int64_t groupsPerRow = shape.zeroGroup() / 4 + 1;
  kb.loop(kb.threadId(), kb.index(shape.paddedColumns * groupsPerRow),
          kb.index(kDecodeThreads), {}, [&](Value i, ValueRange) {
            Value column = kb.rem(i, shape.paddedColumns);
            Value first = kb.mul(kb.div(i, shape.paddedColumns), kb.index(4));
            kb.ifThen(kb.less(column, shape.columns), [&] {
              Value inverse =
                  memref::LoadOp::create(b, inverseScales, ValueRange{column});
              vector::StoreOp::create(b, quantiseGroup(column, first, inverse),
                                      stagedInt8, ValueRange{column, first});
            });
            return SmallVector<Value>{};
          });
  kb.barrier();
}

WalkStep DecodeProductEmitter::loadStep(KernelBuilder &part, Value packed,
                                        Value from) {
  // The rows are padded to whole steps (padDecodeProductRows).
  Value entries = part.table("_entries", part.layout.entries);
  WalkStep step;
  for (int64_t j = 0; j < part.layout.rowMultiple / shape.splits; ++j) {
    Value entry = kb.add(from, kb.index(j * shape.splits));
    step.push_back({kb.groupStart(kb.loadI32(entries, entry)),
                    part.loadEntryWeights(packed, entry)});
  }
  return step;
}

Value DecodeProductEmitter::quantiseGroup(Value stagedColumn, Value first,
                                          Value inverseScale) {
  SmallVector<Value, 4> lanes;
  for (int64_t t = 0; t < 4; ++t) {
    Value value = memref::LoadOp::create(
        b, staged, ValueRange{stagedColumn, kb.add(first, kb.index(t))});
    lanes.push_back(
        PartMatmulOp::buildQuantise(b, b.getLoc(), value, inverseScale, 127));
  }
  return vector::FromElementsOp::create(b, VectorType::get({4}, b.getI8Type()),
                                        lanes);
}

Value DecodeProductEmitter::loadQuantised(Value start) {
  if (shape.quantiseOnce)
    return kb.loadVector(VectorType::get({4}, b.getI8Type()), stagedInt8,
                         ValueRange{column, start});
  return quantiseGroup(column, start, columnInverseScale);
}

Value DecodeProductEmitter::multiplyStep(KernelBuilder &part,
                                         const WalkStep &step, Value acc) {
  const PartLayout &partLayout = part.layout;
  for (auto [start, weights] : step) {
    // The entry's inputs, one load from the staged copy of its precision.
    if (partLayout.compute == ComputeKind::I8) {
      acc = kb.dot4(weights, loadQuantised(start), acc);
      continue;
    }
    SmallVector<Value, 2> at = {column, start};
    Value copy = partLayout.compute == ComputeKind::F16 ? stagedHalf : staged;
    Type elementType = cast<MemRefType>(copy.getType()).getElementType();
    int64_t group = partLayout.group;
    Value inputs =
        group == 1
            ? memref::LoadOp::create(b, copy, at).getResult()
            : kb.loadVector(VectorType::get({group}, elementType), copy, at);
    acc = part.multiplyFloatEntry(
        weights,
        [&](int64_t t) -> Value {
          return group == 1 ? inputs : vector::ExtractOp::create(b, inputs, t);
        },
        acc);
  }
  return acc;
}

Value DecodeProductEmitter::finishPart(KernelBuilder &part, Value packed,
                                       Value partScales, const PartWalk &walk,
                                       Value sum) {
  const PartLayout &partLayout = part.layout;
  Value partSum = multiplyStep(part, walk.first, part.zeroSum());
  partSum =
      kb.loop(walk.rest, walk.end, kb.index(partLayout.rowMultiple),
              ValueRange{partSum}, [&](Value e, ValueRange acc) {
                WalkStep step = loadStep(part, packed, e);
                return SmallVector<Value>{multiplyStep(part, step, acc[0])};
              })[0];
  if (partLayout.compute != ComputeKind::I8)
    return arith::AddFOp::create(b, sum, partSum);
  // The lanes of 4-bit values hold 16 times each; the shift is exact.
  if (partLayout.packedInt4)
    partSum = arith::ShRSIOp::create(b, partSum, kb.i32(4));
  Value partScale = memref::LoadOp::create(b, partScales, ValueRange{channel});
  Value denseScale = memref::LoadOp::create(b, denseScales, ValueRange{column});
  return PartMatmulOp::buildDequantise(b, b.getLoc(), partSum, partScale,
                                       denseScale, sum);
}

gpu::GPUFuncOp DecodeProductEmitter::emit(StringRef name,
                                          ArrayRef<Type> arguments,
                                          std::optional<float> initialValue) {
  gpu::GPUFuncOp fn = kb.beginKernel(kb.module, name, arguments);
  unsigned next = 0;
  Value dense = fn.getArgument(next++);
  Value init = initialValue ? Value() : fn.getArgument(next++);
  SmallVector<std::pair<Value, Value>> packedAndScales;
  for (KernelBuilder *builder : builders) {
    Value packed = fn.getArgument(next++);
    Value scales;
    if (builder->layout.compute == ComputeKind::I8)
      scales = fn.getArgument(next++);
    packedAndScales.push_back({packed, scales});
  }
  Value out = fn.getArgument(next);
  staged = kb.workgroupBuffer(fn, {shape.columns, shape.stagedRow()});
  if (shape.withHalf)
    stagedHalf = kb.workgroupBuffer(fn, {shape.columns, shape.narrowRow()},
                                    b.getF16Type());
  if (shape.withInt8) {
    if (shape.quantiseOnce)
      stagedInt8 = kb.workgroupBuffer(fn, {shape.columns, shape.narrowRow()},
                                      b.getI8Type());
    denseScales = kb.workgroupBuffer(fn, {shape.columns});
    inverseScales = kb.workgroupBuffer(fn, {shape.columns});
  }
  Value partials = kb.workgroupBuffer(fn, {kDecodeThreads});

  // Thread t: column t % paddedColumns, channel (t / paddedColumns) %
  // channels of the block's, split t / (paddedColumns * channels). The
  // threads of a warp share entries and differ in columns.
  int64_t units = shape.channels * shape.paddedColumns;
  Value thread = kb.threadId();
  Value threadColumn = kb.rem(thread, shape.paddedColumns);
  Value threadChannel =
      kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.index(shape.channels)),
             kb.rem(kb.div(thread, shape.paddedColumns), shape.channels));
  Value split = kb.div(thread, units);
  Value active = kb.both(kb.less(threadColumn, shape.columns),
                         kb.less(threadChannel, layout.channels));
  column = kb.min(threadColumn, shape.columns - 1);
  channel = kb.min(threadChannel, layout.channels - 1);

  // Every part's first step is loaded before the operand is staged, so
  // that their memory latencies overlap.
  SmallVector<PartWalk> walks;
  for (auto [builder, packedAndScale] : llvm::zip(builders, packedAndScales)) {
    Value offsets = builder->table("_offsets", builder->layout.offsets);
    PartWalk walk;
    Value from = kb.add(kb.loadIndex(offsets, channel), split);
    walk.end = kb.loadIndex(offsets, kb.add(channel, kb.index(1)));
    walk.first = loadStep(*builder, packedAndScale.first, from);
    walk.rest = kb.add(from, kb.index(builder->layout.rowMultiple));
    walks.push_back(walk);
  }
  stageDense(dense);
  if (shape.withInt8) {
    findScales();
    if (shape.quantiseOnce)
      quantiseStaged();
    else
      columnInverseScale =
          memref::LoadOp::create(b, inverseScales, ValueRange{column});
  }
  Value sum = kb.f32(0.0);
  for (auto [builder, packedAndScale, walk] :
       llvm::zip(builders, packedAndScales, walks))
    sum = finishPart(*builder, packedAndScale.first, packedAndScale.second,
                     walk, sum);

  // The splits' sums meet in a fixed order: by halving strides while a
  // unit has more than kSerialSums of them, then added up in turn by the
  // unit's first thread (one barrier instead of one a halving).
  kb.store(sum, partials, thread);
  kb.barrier();
  int64_t remaining = shape.splits;
  for (int64_t stride = kDecodeThreads / 2; remaining > kSerialSums;
       stride /= 2, remaining /= 2) {
    kb.ifThen(kb.less(thread, stride), [&] {
      Value other = kb.load(partials, kb.add(thread, kb.index(stride)));
      kb.store(arith::AddFOp::create(b, kb.load(partials, thread), other),
               partials, thread);
    });
    kb.barrier();
  }
  kb.ifThen(kb.both(active, kb.less(thread, units)), [&] {
    Value partial = kb.load(partials, thread);
    for (int64_t s = 1; s < remaining; ++s)
      partial = arith::AddFOp::create(
          b, partial, kb.load(partials, kb.add(thread, kb.index(s * units))));
    SmallVector<Value> at = kb.resultIndex(channel, column);
    Value old = initialValue ? kb.f32(*initialValue)
                             : memref::LoadOp::create(b, init, at).getResult();
    Value total = arith::AddFOp::create(b, old, partial);
    // The last part carries the product's epilogue.
    memref::StoreOp::create(b, builders.back()->part.buildEpilogue(b, total),
                            out, at);
  });
  return fn;
}

gpu::GPUFuncOp tesa::buildDecodeProductCompute(
    OpBuilder &builder, Location loc, gpu::GPUModuleOp module, StringRef prefix,
    ArrayRef<PartLayout> layouts, ArrayRef<PartMatmulOp> parts,
    const ChipDescription &chip, ArrayRef<Type> arguments,
    std::optional<float> initialValue) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  SmallVector<std::string> prefixes;
  SmallVector<std::unique_ptr<KernelBuilder>> owned;
  SmallVector<KernelBuilder *> builders;
  for (auto [i, layout] : llvm::enumerate(layouts))
    prefixes.push_back((prefix + "_part" + std::to_string(i)).str());
  // One builder per part, for its tables.
  for (auto [i, layout] : llvm::enumerate(layouts)) {
    owned.push_back(std::make_unique<KernelBuilder>(b, module, prefixes[i],
                                                    layout, chip, parts[i]));
    builders.push_back(owned.back().get());
  }
  DecodeProductEmitter emitter(builders, getDecodeShape(layouts, chip));
  return emitter.emit(prefix, arguments, initialValue);
}
