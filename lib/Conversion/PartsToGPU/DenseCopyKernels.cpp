//===- DenseCopyKernels.cpp - Copies of a part's dense operand ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The kernels that make the copy of the dense operand some compute kernels
// read (see hasDenseCopy): int8 with one scale per column for int8 parts,
// f16 for tensor-core f16 parts; reduction-contiguous and zero-padded, in
// the layout getDenseCopyType describes.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include <numeric>

using namespace mlir;
using namespace tesa;

/// Elements k .. k + run - 1 of dense column `column`: one load, or for a
/// run of several one vector load (a dense operand [column][k] whose
/// reduction is a multiple of the run).
static SmallVector<Value> loadRun(KernelBuilder &kb, Value src, Value column,
                                  Value k, int64_t run) {
  if (run == 1)
    return {memref::LoadOp::create(kb.b, src, kb.denseIndex(k, column))};
  Value vector = kb.loadVector(VectorType::get({run}, kb.b.getF32Type()), src,
                               {column, k});
  SmallVector<Value> values;
  for (int64_t i = 0; i < run; ++i)
    values.push_back(vector::ExtractOp::create(kb.b, vector, i));
  return values;
}

/// The largest magnitude among the runs of `run` elements from k = run *
/// first, every run * step elements, of dense column `column`.
static Value emitColumnMaxAbs(KernelBuilder &kb, Value src, Value column,
                              Value first, int64_t step, int64_t run = 1) {
  return kb.loop(kb.affine(first, run), kb.index(kb.layout.reduction),
                 kb.index(run * step), ValueRange{kb.f32(0.0)},
                 [&](Value k, ValueRange args) {
                   Value maxAbs = args[0];
                   for (Value value : loadRun(kb, src, column, k, run))
                     maxAbs = kb.absMax(maxAbs, value);
                   return SmallVector<Value>{maxAbs};
                 })[0];
}

/// Quantises the same runs of the zero-padded reduction of dense column
/// `column` by `scale` into the quantised copy, [column][k] for tensor
/// cores, [k / 4][column][k % 4] for SIMT parts: a run of several as one
/// vector store.
static void emitQuantiseColumn(KernelBuilder &kb, Value src, Value out,
                               Value column, Value first, int64_t step,
                               Value scale, int64_t run = 1) {
  ImplicitLocOpBuilder &b = kb.b;
  const PartLayout &layout = kb.layout;
  Value inverseScale = PartMatmulOp::buildInverseScale(b, b.getLoc(), scale);
  kb.loop(kb.affine(first, run), kb.index(layout.getPaddedReduction()),
          kb.index(run * step), ValueRange{}, [&](Value k, ValueRange) {
            // The padding reads the last run and stores zeros.
            Value inside = kb.less(k, layout.reduction);
            SmallVector<Value> quantised;
            for (Value value : loadRun(kb, src, column,
                                       kb.min(k, layout.reduction - run), run))
              quantised.push_back(PartMatmulOp::buildQuantise(
                  b, b.getLoc(),
                  arith::SelectOp::create(b, inside, value, kb.f32(0.0)),
                  inverseScale, 127));
            SmallVector<Value> at{column, k};
            if (!layout.useMma)
              at = {kb.div(k, 4), column, kb.rem(k, 4)};
            if (run == 1) {
              memref::StoreOp::create(b, quantised[0], out, at);
              return SmallVector<Value>{};
            }
            Value values = vector::FromElementsOp::create(
                b, VectorType::get({run}, b.getI8Type()), quantised);
            vector::StoreOp::create(b, values, out, at, /*nontemporal=*/false,
                                    llvm::Align(run));
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
  Value partials = kb.workgroupBuffer(fn, {kQuantiseSlices, kQuantiseColumns});
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
        memref::LoadOp::create(b, partials, ValueRange{kb.index(other), lane}));
  Value scale = PartMatmulOp::buildScale(b, b.getLoc(), maxAbs, 127);
  kb.ifThen(kb.less(column, layout.columns), [&] {
    kb.ifThen(
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slice, kb.index(0)),
        [&] {
          memref::StoreOp::create(b, scale, scaleOut, ValueRange{column});
        });
    emitQuantiseColumn(kb, src, out, column, slice, kQuantiseSlices, scale);
  });
  return fn;
}

/// Threads of the dense quantisation kernel that takes one column a block.
static constexpr int64_t kQuantiseThreads = 256, kWarp = 32;
/// Consecutive reduction elements a thread of that kernel takes at once
/// where the reduction is a multiple of them: one 16-byte load, one 4-byte
/// store. On an H200 this took about 9 us off the packed-once times of
/// 4096^3 int8 blocks (the kernel took 37 us one element at a time, at
/// Nsight Compute's base clocks).
static constexpr int64_t kQuantiseRun = 4;

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
  int64_t run = kb.layout.reduction % kQuantiseRun == 0 ? kQuantiseRun : 1;
  Value partial =
      emitColumnMaxAbs(kb, src, column, thread, kQuantiseThreads, run);
  for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
    Value other =
        gpu::ShuffleOp::create(b, partial, offset, kWarp, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    partial = arith::MaximumFOp::create(b, partial, other);
  }
  Value isFirstLane = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                            kb.rem(thread, kWarp), kb.index(0));
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
  kb.ifThen(
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, thread, kb.index(0)),
      [&] { memref::StoreOp::create(b, scale, scaleOut, ValueRange{column}); });
  emitQuantiseColumn(kb, src, out, column, thread, kQuantiseThreads, scale,
                     run);
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
    Value column =
        reductionContiguous ? kb.div(id, padded) : kb.rem(id, columns);
    Value k = reductionContiguous ? kb.rem(id, padded) : kb.div(id, columns);
    Value value = kb.toF32(memref::LoadOp::create(
        b, fn.getArgument(0),
        kb.denseIndex(kb.min(k, layout.reduction - 1), column)));
    value = arith::SelectOp::create(b, kb.less(k, layout.reduction), value,
                                    kb.f32(0.0));
    SmallVector<Value> at = {column, k};
    if (layout.hasFragmentOrderedDenseCopy()) {
      // A step's 32 elements in the order lanes read them (see
      // getDenseCopyType): lane i's B fragment registers j = 0..3, elements
      // 8j + 2i and 8j + 2i + 1, are its eight consecutive values from 8i.
      Value inStep = kb.rem(k, 32);
      Value position =
          kb.add(kb.add(kb.mul(kb.div(kb.rem(inStep, 8), 2), kb.index(8)),
                        kb.mul(kb.div(inStep, 8), kb.index(2))),
                 kb.rem(inStep, 2));
      at = {column, kb.div(k, 32), position};
    }
    memref::StoreOp::create(b,
                            arith::TruncFOp::create(b, b.getF16Type(), value),
                            fn.getArgument(1), at);
  });
  return fn;
}

/// Reduction elements a thread of the vectorised f16 copy converts: one
/// 16-byte store.
static constexpr int64_t kConvertRun = 8;

/// Whether the f16 copy can be made a run of kConvertRun elements a thread:
/// [column][k] from a source whose reduction is contiguous and a multiple
/// of the run (so that a run is all inside it or all padding).
static bool convertsInRuns(const PartLayout &layout,
                           bool reductionContiguous) {
  return reductionContiguous && !layout.hasFragmentOrderedDenseCopy() &&
         layout.reduction % kConvertRun == 0;
}

/// The f16 copy of buildConvertDense, a run of kConvertRun consecutive
/// reduction elements of one column a thread: one 16-byte load of an f16
/// source or two of an f32 one (16-byte aligned, as every buffer), one
/// 16-byte store, zeros in the padding.
static gpu::GPUFuncOp buildConvertDenseInRuns(KernelBuilder &kb,
                                              MemRefType dense,
                                              MemRefType converted) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  auto fn = kb.begin("_convert_dense", {dense, converted});
  int64_t runs = layout.getPaddedReduction() / kConvertRun;
  auto halves = VectorType::get({kConvertRun}, b.getF16Type());
  Value id = kb.globalId();
  kb.ifThen(kb.less(id, layout.columns * runs), [&] {
    Value column = kb.div(id, runs);
    Value k = kb.affine(kb.rem(id, runs), kConvertRun);
    // The padding reads the last run and stores zeros.
    Value from = kb.min(k, layout.reduction - kConvertRun);
    Value src = fn.getArgument(0);
    Value values;
    if (dense.getElementType().isF16()) {
      values = kb.loadVector(halves, src, {column, from});
    } else {
      auto quarter = VectorType::get({kConvertRun / 2}, b.getF32Type());
      Value low = kb.loadVector(quarter, src, {column, from});
      Value high = kb.loadVector(quarter, src,
                                 {column, kb.affine(from, 1, kConvertRun / 2)});
      SmallVector<int64_t> both(kConvertRun);
      std::iota(both.begin(), both.end(), 0);
      values = arith::TruncFOp::create(
          b, halves, vector::ShuffleOp::create(b, low, high, both));
    }
    Value zeros = arith::ConstantOp::create(
        b, halves, DenseElementsAttr::get(halves, b.getF16FloatAttr(0.0)));
    values = arith::SelectOp::create(b, kb.less(k, layout.reduction), values,
                                     zeros);
    vector::StoreOp::create(b, values, fn.getArgument(1), ValueRange{column, k},
                            /*nontemporal=*/false,
                            llvm::Align(2 * kConvertRun));
  });
  return fn;
}

gpu::GPUFuncOp tesa::buildDenseCopy(KernelBuilder &kb, MemRefType dense,
                                    MemRefType copy, MemRefType scales,
                                    KernelLaunch &launch) {
  const PartLayout &layout = kb.layout;
  auto ceilDiv = [](int64_t x, int64_t y) { return (x + y - 1) / y; };
  // A dense operand read in place whose reduction is contiguous.
  bool reductionContiguous = !layout.sparseIsLhs && !layout.gather;
  if (layout.compute != ComputeKind::I8) {
    if (convertsInRuns(layout, reductionContiguous)) {
      launch = {{ceilDiv(copy.getNumElements() / kConvertRun, kThreads), 1},
                {kThreads, 1}};
      return buildConvertDenseInRuns(kb, dense, copy);
    }
    launch = {{ceilDiv(copy.getNumElements(), kThreads), 1}, {kThreads, 1}};
    return buildConvertDense(kb, dense, copy, reductionContiguous);
  }
  // Quantised by one block per column when its reduction is contiguous,
  // otherwise by blocks of 32 columns.
  int64_t q = layout.columns;
  if (reductionContiguous) {
    launch = {{q, 1}, {kQuantiseThreads, 1}};
    return buildQuantiseDenseByReduction(kb, dense, copy, scales);
  }
  launch = {{ceilDiv(q, kQuantiseColumns), 1},
            {kQuantiseColumns, kQuantiseSlices}};
  return buildQuantiseDenseByColumns(kb, dense, copy, scales);
}
