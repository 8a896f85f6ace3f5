//===- DecodeProductKernel.cpp - Every part of a decode product at once ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of a decode product (see PartKernels.h): all the parts
// of one product whose dense operand has few columns, in one launch. Each
// block stages the dense operand in workgroup memory once (with, for int8
// parts, one scale per column, as the dense copy kernel finds it), then its
// threads walk the SIMT work lists of every part for their channels
// (quantising the inputs of int8 entries as they read them), so that the
// parts of all precisions add into one sum per result element, which is
// written once with the product's epilogue.
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
/// the dense operand and when it walks a work list: each step of the loops
/// waits for one memory latency instead of one per load.
static constexpr int64_t kStagingLoads = 8, kWalkLoads = 4;

namespace {

/// The shape of a decode product's kernel: `columns` dense columns (rounded
/// up to a power of two, `paddedColumns`), `channels` channels per block,
/// and `splits` threads sharing one result element, each walking every
/// `splits`-th entry of the channel's work lists.
struct DecodeShape {
  int64_t columns, paddedColumns, reduction, channels, splits;
  bool withScales;
  /// Row length of the staged operand: one more than the reduction, so
  /// that the threads of one step, one per column, read different banks.
  int64_t stagedRow() const { return reduction + 1; }
  int64_t getSharedBytes() const {
    int64_t bytes = columns * stagedRow() * 4 + kDecodeThreads * 4;
    if (withScales)
      bytes += columns * 4;
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
  shape.withScales = llvm::any_of(layouts, [](const PartLayout &layout) {
    return layout.compute == ComputeKind::I8;
  });
  // As many channels a block as still give every multiprocessor a block.
  shape.channels = std::max<int64_t>(1, kDecodeThreads / shape.paddedColumns);
  while (shape.channels > 1 &&
         (first.channels + shape.channels - 1) / shape.channels <
             int64_t(chip.multiprocessors))
    shape.channels /= 2;
  shape.splits = kDecodeThreads / (shape.channels * shape.paddedColumns);
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

KernelLaunch tesa::getDecodeProductLaunch(ArrayRef<PartLayout> layouts,
                                          const ChipDescription &chip) {
  DecodeShape shape = getDecodeShape(layouts, chip);
  int64_t channels = layouts.front().channels;
  return {{(channels + shape.channels - 1) / shape.channels, 1},
          {kDecodeThreads, 1}};
}

namespace {

/// One step of a thread's walk over a part's work list: the reduction
/// starts and weights of kWalkLoads entries (zero weights past the list's
/// end).
using WalkStep = SmallVector<std::pair<Value, Value>, kWalkLoads>;

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
  /// Copies the dense operand into `staged` ([column][k], f32).
  void stageDense(Value dense);
  /// The scale of each staged column (for int8 parts) into `denseScales`:
  /// its largest magnitude over 127, as the dense copy kernel finds it.
  void findScales();
  /// Loads the step of `part`'s entries `from`, `from` + splits, ... (those
  /// before `end`).
  WalkStep loadStep(KernelBuilder &part, Value packed, Value from, Value end);
  /// `acc` plus the products of `step`'s entries with the staged inputs of
  /// the thread's column (for int8 parts quantised by the inverse of the
  /// column's scale, `inverseScale`).
  Value multiplyStep(KernelBuilder &part, const WalkStep &step,
                     Value inverseScale, Value acc);
  /// `sum` plus the thread's share of `part`'s products: the prefetched
  /// first step, then the rest of the walk (int8 sums dequantised).
  Value finishPart(KernelBuilder &part, Value packed, Value partScales,
                   const PartWalk &walk, Value sum);

  ArrayRef<KernelBuilder *> builders;
  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const PartLayout &layout;
  DecodeShape shape;
  /// The staged operand and, for int8 parts, its columns' scales.
  Value staged, denseScales;
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
    for (auto [load, values] : loaded) {
      kb.ifThen(kb.less(load, loads), [&, load = load, values = values] {
        Value at = kb.mul(load, kb.index(width));
        Value row = kb.div(at, inner), first = kb.rem(at, inner);
        for (int64_t t = 0; t < width; ++t) {
          Value value =
              width == 4 ? vector::ExtractOp::create(b, values, t) : values;
          // Operand element (row, first + t) is (column, k) of x @ W, (k,
          // column) of W @ x.
          SmallVector<Value, 2> staging = {row, kb.add(first, kb.index(t))};
          if (layout.sparseIsLhs)
            std::swap(staging[0], staging[1]);
          memref::StoreOp::create(b, value, staged, staging);
        }
      });
    }
    return SmallVector<Value>{};
  });
  kb.barrier();
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
          memref::StoreOp::create(
              b, PartMatmulOp::buildScale(b, b.getLoc(), maxAbs, 127),
              denseScales, ValueRange{staging});
        });
        return SmallVector<Value>{};
      });
  kb.barrier();
}

WalkStep DecodeProductEmitter::loadStep(KernelBuilder &part, Value packed,
                                        Value from, Value end) {
  const PartLayout &partLayout = part.layout;
  Value entries = part.table("_entries", partLayout.entries);
  // Entries past the end read the step's first (which the list holds when
  // it is not empty, else entry 0 of the table) and weigh zero.
  Value last = kb.index(std::max<int64_t>(0, partLayout.getNumEntries() - 1));
  Value inRange = arith::MinUIOp::create(b, from, last);
  WalkStep step;
  for (int64_t j = 0; j < kWalkLoads; ++j) {
    Value next = kb.add(from, kb.index(j * shape.splits));
    Value inside =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, end);
    Value entry = arith::SelectOp::create(b, inside, next, inRange);
    Value start = kb.groupStart(kb.loadI32(entries, entry));
    Value weights = part.loadEntryWeights(packed, entry);
    weights = arith::SelectOp::create(
        b, inside, weights,
        arith::ConstantOp::create(b, b.getZeroAttr(weights.getType())));
    step.push_back({start, weights});
  }
  return step;
}

Value DecodeProductEmitter::multiplyStep(KernelBuilder &part,
                                         const WalkStep &step,
                                         Value inverseScale, Value acc) {
  bool isHalf = part.layout.compute == ComputeKind::F16;
  for (auto [start, weights] : step) {
    // Staged element `t` after the entry's start as the part's width reads
    // it: int8 parts quantise it by the column's scale.
    auto loadInput = [&, start = start](int64_t t) -> Value {
      Value k = kb.min(kb.add(start, kb.index(t)), shape.reduction - 1);
      Value value = memref::LoadOp::create(b, staged, ValueRange{column, k});
      if (inverseScale)
        return PartMatmulOp::buildQuantise(b, b.getLoc(), value, inverseScale,
                                           127);
      return isHalf ? arith::TruncFOp::create(b, b.getF16Type(), value) : value;
    };
    if (inverseScale) {
      SmallVector<Value, 4> lanes;
      for (int64_t t = 0; t < 4; ++t)
        lanes.push_back(loadInput(t));
      Value inputs = vector::FromElementsOp::create(
          b, VectorType::get({4}, b.getI8Type()), lanes);
      acc = kb.dot4(weights, inputs, acc);
    } else {
      acc = part.multiplyFloatEntry(weights, loadInput, acc);
    }
  }
  return acc;
}

Value DecodeProductEmitter::finishPart(KernelBuilder &part, Value packed,
                                       Value partScales, const PartWalk &walk,
                                       Value sum) {
  const PartLayout &partLayout = part.layout;
  bool isInt = partLayout.compute == ComputeKind::I8;
  Value denseScale, inverseScale;
  if (isInt) {
    denseScale = memref::LoadOp::create(b, denseScales, ValueRange{column});
    inverseScale = PartMatmulOp::buildInverseScale(b, b.getLoc(), denseScale);
  }
  Value partSum = multiplyStep(part, walk.first, inverseScale, part.zeroSum());
  partSum = kb.loop(walk.rest, walk.end, kb.index(shape.splits * kWalkLoads),
                    ValueRange{partSum}, [&](Value e, ValueRange acc) {
                      WalkStep step = loadStep(part, packed, e, walk.end);
                      return SmallVector<Value>{
                          multiplyStep(part, step, inverseScale, acc[0])};
                    })[0];
  if (!isInt)
    return arith::AddFOp::create(b, sum, partSum);
  // The lanes of 4-bit values hold 16 times each; the shift is exact.
  if (partLayout.packedInt4)
    partSum = arith::ShRSIOp::create(b, partSum, kb.i32(4));
  Value partScale = memref::LoadOp::create(b, partScales, ValueRange{channel});
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
  Value partials = kb.workgroupBuffer(fn, {kDecodeThreads});
  if (shape.withScales)
    denseScales = kb.workgroupBuffer(fn, {shape.columns});

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
    walk.first = loadStep(*builder, packedAndScale.first, from, walk.end);
    walk.rest = kb.add(from, kb.index(shape.splits * kWalkLoads));
    walks.push_back(walk);
  }
  stageDense(dense);
  if (shape.withScales)
    findScales();
  Value sum = kb.f32(0.0);
  for (auto [builder, packedAndScale, walk] :
       llvm::zip(builders, packedAndScales, walks))
    sum = finishPart(*builder, packedAndScale.first, packedAndScale.second,
                     walk, sum);

  // The splits' sums meet by halving strides, in a fixed order.
  kb.store(sum, partials, thread);
  kb.barrier();
  for (int64_t stride = kDecodeThreads / 2; stride >= units; stride /= 2) {
    kb.ifThen(kb.less(thread, stride), [&] {
      Value other = kb.load(partials, kb.add(thread, kb.index(stride)));
      kb.store(arith::AddFOp::create(b, kb.load(partials, thread), other),
               partials, thread);
    });
    kb.barrier();
  }
  kb.ifThen(kb.both(active, kb.less(thread, units)), [&] {
    SmallVector<Value> at = kb.resultIndex(channel, column);
    Value old = initialValue ? kb.f32(*initialValue)
                             : memref::LoadOp::create(b, init, at).getResult();
    Value total = arith::AddFOp::create(b, old, kb.load(partials, thread));
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
