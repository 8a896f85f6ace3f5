//===- KernelBuilder.h - Building the kernels of parts ----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The helpers every part kernel is built with: index arithmetic, work-list
// tables, loops, element conversions and the result update. Private to the
// PartsToGPU conversion.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_CONVERSION_PARTSTOGPU_KERNELBUILDER_H
#define TESA_LIB_CONVERSION_PARTSTOGPU_KERNELBUILDER_H

#include "PartKernels.h"

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/KernelEmitter.h"

#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace tesa {

/// Threads of a block of the compute kernels (and most others).
constexpr int64_t kThreads = 128;
/// CUDA's limit on the grid's y (and z) size.
constexpr int64_t kMaxGridY = 65535;

/// Builds the body of one kernel of a part: the tile layer's vocabulary
/// (KernelEmitter) and the part's layout.
class KernelBuilder : public KernelEmitter {
public:
  KernelBuilder(mlir::ImplicitLocOpBuilder &b, mlir::gpu::GPUModuleOp module,
                llvm::StringRef prefix, const PartLayout &layout,
                const ChipDescription &chip, PartMatmulOp part)
      : KernelEmitter(b), module(module), prefix(prefix), layout(layout),
        chip(chip), part(part) {}

  mlir::gpu::GPUFuncOp begin(llvm::StringRef suffix,
                             llvm::ArrayRef<mlir::Type> arguments) {
    return beginKernel(module, (prefix + suffix).str(), arguments);
  }

  mlir::Value min(mlir::Value x, int64_t y) {
    return mlir::arith::MinUIOp::create(b, x, index(y));
  }

  /// The dense column (SIMT) or column tile (MMA) of the compute kernel's
  /// `index`-th unit of column work.
  mlir::Value getColumnWork(mlir::Value index) {
    if (layout.liveColumns.empty())
      return index;
    return loadIndex(table("_columns", layout.liveColumns), index);
  }

  /// The global thread id along x.
  mlir::Value globalId() {
    return add(mul(mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::x),
                   mlir::gpu::BlockDimOp::create(b, mlir::gpu::Dimension::x)),
               mlir::gpu::ThreadIdOp::create(b, mlir::gpu::Dimension::x));
  }

  /// A constant i32 work list, as a global of the kernel module.
  mlir::Value table(llvm::StringRef suffix, llvm::ArrayRef<int32_t> data) {
    return KernelEmitter::table(module, (prefix + suffix).str(), data);
  }

  mlir::Value loadI32(mlir::Value memref, mlir::Value i) {
    return mlir::memref::LoadOp::create(b, memref, mlir::ValueRange{i});
  }

  /// Element (channel, k) of the sparse source / (k, column) of the dense
  /// operand / the result element (channel, column), in memref order.
  llvm::SmallVector<mlir::Value> sparseIndex(mlir::Value channel,
                                             mlir::Value k) {
    if (layout.sparseIsLhs)
      return {channel, k};
    return {k, channel};
  }
  llvm::SmallVector<mlir::Value> denseIndex(mlir::Value k, mlir::Value column) {
    llvm::SmallVector<mlir::Value> at{column, k};
    if (layout.sparseIsLhs || layout.transposedDense)
      at = {k, column};
    if (!layout.gather)
      return at;
    // The gather's source element: both indices delinearised into the
    // gather's dimensions, then its map.
    llvm::SmallVector<mlir::Value> dims =
        delinearize(at[0], layout.gather->rowShape);
    llvm::append_range(dims, delinearize(at[1], layout.gather->columnShape));
    llvm::SmallVector<mlir::Value> source;
    for (mlir::AffineExpr expr : layout.gather->map.getResults())
      source.push_back(mlir::affine::expandAffineExpr(b, b.getLoc(), expr, dims,
                                                      mlir::ValueRange{}));
    return source;
  }

  /// `index` as coordinates in row-major `shape`.
  llvm::SmallVector<mlir::Value> delinearize(mlir::Value index,
                                             llvm::ArrayRef<int64_t> shape) {
    llvm::SmallVector<mlir::Value> coordinates(shape.size());
    for (int64_t d = shape.size() - 1; d > 0; --d) {
      coordinates[d] = rem(index, shape[d]);
      index = div(index, shape[d]);
    }
    coordinates[0] = index;
    return coordinates;
  }
  llvm::SmallVector<mlir::Value> resultIndex(mlir::Value channel,
                                             mlir::Value column) {
    if (layout.sparseIsLhs)
      return {channel, column};
    return {column, channel};
  }

  /// An scf.for from `lo` to `hi` carrying `inits`; `body(iv, args)` returns
  /// the values to yield.
  mlir::ValueRange
  loop(mlir::Value lo, mlir::Value hi, mlir::ValueRange inits,
       llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                         mlir::ValueRange)>
           body) {
    return loop(lo, hi, index(1), inits, body);
  }
  mlir::ValueRange
  loop(mlir::Value lo, mlir::Value hi, mlir::Value step, mlir::ValueRange inits,
       llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                         mlir::ValueRange)>
           body) {
    auto op = mlir::scf::ForOp::create(b, lo, hi, step, inits);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.getBody());
    llvm::SmallVector<mlir::Value> yielded =
        body(op.getInductionVar(), op.getRegionIterArgs());
    if (op.getBody()->mightHaveTerminator())
      op.getBody()->getTerminator()->erase();
    b.setInsertionPointToEnd(op.getBody());
    mlir::scf::YieldOp::create(b, yielded);
    return op.getResults();
  }

  /// Runs `body(r, c)` for each element of a block's `rows` x `columns`
  /// sums, `threads` threads each taking every threads-th from `thread`, in
  /// the result's order: consecutive threads take consecutive elements of
  /// the result whichever way it is laid out.
  void forEachInResultOrder(
      mlir::Value thread, int64_t rows, int64_t columns, int64_t threads,
      llvm::function_ref<void(mlir::Value, mlir::Value)> body) {
    loop(thread, index(rows * columns), index(threads), {},
         [&](mlir::Value i, mlir::ValueRange) {
           mlir::Value r = layout.sparseIsLhs ? div(i, columns) : rem(i, rows);
           mlir::Value c = layout.sparseIsLhs ? rem(i, columns) : div(i, rows);
           body(r, c);
           return llvm::SmallVector<mlir::Value>{};
         });
  }

  /// Runs `body` for each of `count` rows of blocks along y: the block's own
  /// row and, when there are more rows than the grid may have along y
  /// (kMaxGridY), every gridDim.y-th row after it.
  void forEachGridRow(int64_t count,
                      llvm::function_ref<void(mlir::Value)> body) {
    mlir::Value first =
        mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::y);
    if (count <= kMaxGridY)
      return body(first);
    loop(first, index(count),
         mlir::gpu::GridDimOp::create(b, mlir::gpu::Dimension::y), {},
         [&](mlir::Value y, mlir::ValueRange) {
           body(y);
           return llvm::SmallVector<mlir::Value>{};
         });
  }

  mlir::Value i32(int32_t value) {
    return mlir::arith::ConstantOp::create(b, b.getI32IntegerAttr(value));
  }

  /// Whether bit `bit` (an i32 value) of the i32 `word` is set.
  mlir::Value testBit(mlir::Value word, mlir::Value bit) {
    mlir::Value shifted = mlir::arith::ShRUIOp::create(b, word, bit);
    return mlir::arith::CmpIOp::create(
        b, mlir::arith::CmpIPredicate::ne,
        mlir::arith::AndIOp::create(b, shifted, i32(1)), i32(0));
  }

  /// Of a compressed part (PartLayout::compressed): the kept elements of
  /// block row `row` of entry `e` before its reduction element `c` (index
  /// values), as an index: where element c's value lies after the row's
  /// first. The row's mask words (at most two) are read as one i64.
  mlir::Value countKeptBefore(mlir::Value masks, mlir::Value e, mlir::Value row,
                              mlir::Value c) {
    int64_t rowWords = layout.blockReduction / 32;
    assert(rowWords <= 2 && "a compressed block row fits 64 mask bits");
    mlir::Type i64 = b.getI64Type();
    mlir::Value first = add(mul(e, index(layout.blockChannels * rowWords)),
                            mul(row, index(rowWords)));
    mlir::Value bits = mlir::arith::ConstantIntOp::create(b, i64, 0);
    for (int64_t j = 0; j < rowWords; ++j) {
      mlir::Value word = mlir::arith::ExtUIOp::create(
          b, i64, loadI32(masks, add(first, index(j))));
      bits = mlir::arith::OrIOp::create(
          b, bits,
          mlir::arith::ShLIOp::create(
              b, word, mlir::arith::ConstantIntOp::create(b, i64, 32 * j)));
    }
    mlir::Value below = mlir::arith::SubIOp::create(
        b,
        mlir::arith::ShLIOp::create(
            b, mlir::arith::ConstantIntOp::create(b, i64, 1),
            mlir::arith::IndexCastUIOp::create(b, i64, c)),
        mlir::arith::ConstantIntOp::create(b, i64, 1));
    return mlir::arith::IndexCastUIOp::create(
        b, b.getIndexType(),
        mlir::math::CtPopOp::create(
            b, mlir::arith::AndIOp::create(b, bits, below)));
  }

  /// The reduction start of a SIMT work-list entry (bits 0-23).
  mlir::Value groupStart(mlir::Value entry) {
    return mlir::arith::IndexCastUIOp::create(
        b, b.getIndexType(),
        mlir::arith::AndIOp::create(b, entry, i32(0xFFFFFF)));
  }

  /// `value` rounded to the packed type: f32 as is, f16, or int8 by the
  /// inverse of its channel's scale (PartMatmulOp::buildInverseScale).
  mlir::Value convert(mlir::Value value, mlir::Value inverseScale) {
    switch (layout.compute) {
    case ComputeKind::F32:
      return value;
    case ComputeKind::F16:
      return mlir::arith::TruncFOp::create(b, b.getF16Type(), value);
    case ComputeKind::I8:
      return PartMatmulOp::buildQuantise(b, b.getLoc(), value, inverseScale,
                                         layout.qmax);
    }
    return value;
  }

  /// The zero of a compute kernel's sum: i32 for int8 parts, else f32.
  mlir::Value zeroSum() {
    return layout.compute == ComputeKind::I8 ? i32(0) : f32(0.0);
  }

  /// The total of two partial sums of the part's accumulator type.
  mlir::Value addSums(mlir::Value x, mlir::Value y) {
    if (layout.compute == ComputeKind::I8)
      return mlir::arith::AddIOp::create(b, x, y);
    return mlir::arith::AddFOp::create(b, x, y);
  }

  /// A compute kernel's arguments: the dense operand (int8 parts: its
  /// quantised copy and scales), the packed values (and their scales), the
  /// result. The scales are null for float parts.
  std::array<mlir::Value, 5> computeArguments(mlir::gpu::GPUFuncOp fn) {
    // The bias and the following steps' buffers follow the result (tensor
    // maps may follow them).
    bool isInt = layout.compute == ComputeKind::I8;
    bindTrailingArguments(fn, isInt ? 5 : 3);
    if (isInt)
      return {fn.getArgument(0), fn.getArgument(1), fn.getArgument(2),
              fn.getArgument(3), fn.getArgument(4)};
    return {fn.getArgument(0), mlir::Value(), fn.getArgument(1), mlir::Value(),
            fn.getArgument(2)};
  }

  /// Takes the arguments after a kernel's result, from argument `first`:
  /// the bias (see PartLayout::initialBiasDim), then the flat buffers of
  /// the following steps' inputs and of their result (see `steps`).
  void bindTrailingArguments(mlir::gpu::GPUFuncOp fn, unsigned first) {
    if (layout.initialBiasDim)
      initialBias = fn.getArgument(first++);
    if (!steps)
      return;
    stepInputs.clear();
    for (size_t i = 0; i < steps->getInputs().size(); ++i)
      stepInputs.push_back(fn.getArgument(first++));
    stepsOut = fn.getArgument(first);
  }

  mlir::Value absMax(mlir::Value current, mlir::Value value) {
    return mlir::arith::MaximumFOp::create(
        b, current, mlir::math::AbsFOp::create(b, value));
  }

  /// `value` (f32 or f16) in f32: f16 extended, exactly.
  mlir::Value toF32(mlir::Value value) {
    if (value.getType().isF32())
      return value;
    return mlir::arith::ExtFOp::create(b, b.getF32Type(), value);
  }

  /// The f32 `value` as an element of `buffer`: rounded to f16 for an f16
  /// buffer.
  mlir::Value toElementOf(mlir::Value buffer, mlir::Value value) {
    mlir::Type element =
        mlir::cast<mlir::MemRefType>(buffer.getType()).getElementType();
    if (element == value.getType())
      return value;
    return mlir::arith::TruncFOp::create(b, element, value);
  }

  /// The value result(channel, column) starts from, in f32: the layout's
  /// initial value or bias where it has one, else the result's own (an f16
  /// result extended).
  mlir::Value loadInitial(mlir::Value out, mlir::Value channel,
                          mlir::Value column) {
    llvm::SmallVector<mlir::Value> at = resultIndex(channel, column);
    mlir::Value old =
        layout.initialValue ? f32(*layout.initialValue)
        : layout.initialBiasDim
            ? mlir::memref::LoadOp::create(
                  b, initialBias, mlir::ValueRange{at[*layout.initialBiasDim]})
                  .getResult()
            : mlir::memref::LoadOp::create(b, out, at).getResult();
    return toF32(old);
  }

  /// What `accumulate` reads for one element besides its sum: the initial
  /// value (loadInitial) and the following steps' inputs.
  struct ElementLoads {
    mlir::Value initial;
    llvm::SmallVector<mlir::Value> stepInputs;
  };

  /// The loads of `accumulate` for result(channel, column), issued here: a
  /// kernel that loads several elements' before it stores any of them lets
  /// those loads overlap (a load after a store that may alias it waits for
  /// the store).
  ElementLoads loadElement(mlir::Value out, mlir::Value channel,
                           mlir::Value column) {
    ElementLoads loads{loadInitial(out, channel, column), {}};
    if (steps)
      loads.stepInputs =
          steps->loadInputs(*this, resultIndex(channel, column), stepInputs);
    return loads;
  }

  /// What `accumulate` stores for result(channel, column), and where: the
  /// buffer (the result, or the following steps' flat result) and the
  /// indices into it.
  struct ElementUpdate {
    mlir::Value value, buffer;
    llvm::SmallVector<mlir::Value> at;
  };

  /// epilogue(update(result(channel, column))), with the layout's initial
  /// value or bias in place of the result's when it has one. `update`
  /// takes and returns f32; an f16 result (an f16 program's) is rounded
  /// before the epilogue, which computes in the result's type. `loads`,
  /// where given, are the element's loads, issued earlier by loadElement.
  ElementUpdate
  computeUpdate(mlir::Value out, mlir::Value channel, mlir::Value column,
                llvm::function_ref<mlir::Value(mlir::Value)> update,
                const ElementLoads *loads = nullptr) {
    llvm::SmallVector<mlir::Value> at = resultIndex(channel, column);
    mlir::Value initial =
        loads ? loads->initial : loadInitial(out, channel, column);
    mlir::Value sum = toElementOf(out, update(initial));
    mlir::Value value = part.buildEpilogue(b, sum);
    if (!steps)
      return {value, out, at};
    auto [result, index] =
        steps->apply(*this, value, at, stepInputs,
                     loads ? llvm::ArrayRef<mlir::Value>(loads->stepInputs)
                           : llvm::ArrayRef<mlir::Value>());
    return {result, stepsOut, {index}};
  }

  /// result(channel, column) = computeUpdate(...), stored.
  void accumulate(mlir::Value out, mlir::Value channel, mlir::Value column,
                  llvm::function_ref<mlir::Value(mlir::Value)> update,
                  const ElementLoads *loads = nullptr) {
    ElementUpdate element = computeUpdate(out, channel, column, update, loads);
    mlir::memref::StoreOp::create(b, element.value, element.buffer, element.at);
  }

  /// `old` + a compute kernel's `sum` for (channel, column): f32 as is, an
  /// int32 product dequantised by the two scales.
  mlir::Value addSum(mlir::Value old, mlir::Value sum, mlir::Value channel,
                     mlir::Value column, mlir::Value scales,
                     mlir::Value denseScales) {
    // The lanes of 4-bit values hold 16 times each; the shift is exact.
    if (layout.packedInt4)
      sum = mlir::arith::ShRSIOp::create(b, sum, i32(4));
    if (layout.compute != ComputeKind::I8)
      return mlir::arith::AddFOp::create(b, old, sum);
    return PartMatmulOp::buildDequantise(
        b, b.getLoc(), sum,
        mlir::memref::LoadOp::create(b, scales, mlir::ValueRange{channel}),
        mlir::memref::LoadOp::create(b, denseScales, mlir::ValueRange{column}),
        old);
  }

  /// Adds a compute kernel's sum for (channel, column) to the result
  /// (addSum). `loads`: as in `accumulate`.
  void accumulateSum(mlir::Value out, mlir::Value channel, mlir::Value column,
                     mlir::Value sum, mlir::Value scales,
                     mlir::Value denseScales,
                     const ElementLoads *loads = nullptr) {
    accumulate(
        out, channel, column,
        [&](mlir::Value old) {
          return addSum(old, sum, channel, column, scales, denseScales);
        },
        loads);
  }

  /// Whether a run of `count` consecutive channels at one column of `out`
  /// (or of the following steps' result) is contiguous, 16-bit and aligned
  /// to its size (count a power of two), so that accumulateRun stores it
  /// as one vector.
  bool canStoreChannelRuns(mlir::Value out, int64_t count) const {
    if (layout.sparseIsLhs || layout.channels % count != 0)
      return false;
    if (steps)
      return steps->getResultType().getElementTypeBitWidth() == 16 &&
             steps->getResultStride(1) == 1 &&
             steps->getResultStride(0) % count == 0;
    auto type = mlir::cast<mlir::MemRefType>(out.getType());
    return type.getElementTypeBitWidth() == 16 && type.getLayout().isIdentity();
  }

  /// accumulateSum for the channels from `channel` on at `column`
  /// (`sums[i]` is channel + i's), stored as one vector (see
  /// canStoreChannelRuns). `loads`: each element's, as in `accumulate`.
  void accumulateRun(mlir::Value out, mlir::Value channel, mlir::Value column,
                     llvm::ArrayRef<mlir::Value> sums, mlir::Value scales,
                     mlir::Value denseScales,
                     llvm::ArrayRef<ElementLoads> loads = {}) {
    llvm::SmallVector<mlir::Value> values;
    ElementUpdate first;
    for (auto [i, sum] : llvm::enumerate(sums)) {
      mlir::Value row = affine(channel, 1, int64_t(i));
      ElementUpdate element = computeUpdate(
          out, row, column,
          [&](mlir::Value old) {
            return addSum(old, sum, row, column, scales, denseScales);
          },
          loads.empty() ? nullptr : &loads[i]);
      values.push_back(element.value);
      if (i == 0)
        first = std::move(element);
    }
    mlir::Type elementType = values.front().getType();
    mlir::Value run = mlir::vector::FromElementsOp::create(
        b, mlir::VectorType::get({int64_t(values.size())}, elementType),
        values);
    mlir::vector::StoreOp::create(
        b, run, first.buffer, first.at, /*nontemporal=*/false,
        llvm::Align(values.size() * elementType.getIntOrFloatBitWidth() / 8));
  }

  /// Loads a vector from `memref` at `indices`. The kernels only load
  /// vectors at offsets that are multiples of their size from buffers the
  /// runtime allocates (256-byte aligned), so the load is aligned to its
  /// size and becomes one instruction instead of one per element.
  mlir::Value loadVector(mlir::VectorType type, mlir::Value memref,
                         mlir::ValueRange indices) {
    int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
    return mlir::vector::LoadOp::create(b, type, memref, indices,
                                        /*nontemporal=*/false,
                                        llvm::Align(bytes));
  }

  /// Stores the converted `value` of packed slot `slot`: as is, or for 4-bit
  /// parts into its nibble. The thread that writes a byte's high
  /// nibble has written its low one before (slots are visited in order).
  void storePacked(mlir::Value value, mlir::Value packed, mlir::Value slot) {
    if (!layout.packedInt4) {
      mlir::memref::StoreOp::create(b, value, packed, mlir::ValueRange{slot});
      return;
    }
    int64_t run = layout.getNibbleRun();
    mlir::Value byte = add(mul(div(slot, 2 * run), index(run)), rem(slot, run));
    mlir::Value nibble = mlir::arith::AndIOp::create(
        b, value, mlir::arith::ConstantOp::create(b, b.getI8IntegerAttr(15)));
    auto isHigh = mlir::scf::IfOp::create(
        b,
        mlir::arith::CmpIOp::create(b, mlir::arith::CmpIPredicate::uge,
                                    rem(slot, 2 * run), index(run)),
        /*withElseRegion=*/true);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(isHigh.thenBlock());
    mlir::Value low =
        mlir::memref::LoadOp::create(b, packed, mlir::ValueRange{byte});
    mlir::Value high = mlir::arith::ShLIOp::create(
        b, nibble, mlir::arith::ConstantOp::create(b, b.getI8IntegerAttr(4)));
    mlir::memref::StoreOp::create(b, mlir::arith::OrIOp::create(b, low, high),
                                  packed, mlir::ValueRange{byte});
    b.setInsertionPointToStart(isHigh.elseBlock());
    mlir::memref::StoreOp::create(b, nibble, packed, mlir::ValueRange{byte});
  }

  /// The four int8 lanes (16 times each value) of a SIMT entry of a 4-bit
  /// part, from its two bytes (lanes 0 and 2 in the first, 1 and 3 in the
  /// second): each nibble moves to the top of its lane.
  mlir::Value unpackEntry(mlir::Value pair) {
    mlir::Value half = mlir::vector::ExtractOp::create(
        b,
        mlir::vector::BitCastOp::create(
            b, mlir::VectorType::get({1}, b.getI16Type()), pair),
        llvm::ArrayRef<int64_t>{0});
    mlir::Value word = mlir::arith::ExtUIOp::create(b, b.getI32Type(), half);
    auto shiftAnd = [&](int32_t shift, int32_t mask) -> mlir::Value {
      return mlir::arith::AndIOp::create(
          b, mlir::arith::ShLIOp::create(b, word, i32(shift)), i32(mask));
    };
    mlir::Value lanes01 = shiftAnd(4, 0x0000F0F0);
    mlir::Value lanes23 = shiftAnd(16, int32_t(0xF0F00000));
    mlir::Value lanes = mlir::arith::OrIOp::create(b, lanes01, lanes23);
    return bitcastToVector4xi8(lanes);
  }

  /// The packed values of SIMT entry `e`: four int8 lanes (a 4-bit part's
  /// unpacked, see unpackEntry), a vector of `group` float lanes, or one
  /// value of the packed type (groups of one).
  mlir::Value loadEntryWeights(mlir::Value packed, mlir::Value e) {
    mlir::Value at = mul(e, index(layout.group));
    if (layout.compute == ComputeKind::I8)
      return layout.packedInt4
                 ? unpackEntry(
                       loadVector(mlir::VectorType::get({2}, b.getI8Type()),
                                  packed, mlir::ValueRange{mul(e, index(2))}))
                 : loadVector(mlir::VectorType::get({4}, b.getI8Type()), packed,
                              mlir::ValueRange{at});
    if (layout.group > 1)
      return loadVector(
          mlir::VectorType::get(
              {layout.group},
              mlir::cast<mlir::MemRefType>(packed.getType()).getElementType()),
          packed, mlir::ValueRange{at});
    return mlir::memref::LoadOp::create(b, packed, mlir::ValueRange{at});
  }

  /// acc + a float SIMT entry's `weights` (as loadEntryWeights gives them)
  /// times its inputs, `input(t)` being the dense element t after the
  /// entry's start (f16 for f16 parts): dot2 over pairs of f16 lanes where
  /// the chip has it, else FFMA in f32 per lane.
  mlir::Value multiplyFloatEntry(mlir::Value weights,
                                 llvm::function_ref<mlir::Value(int64_t)> input,
                                 mlir::Value acc) {
    bool isHalf = layout.compute == ComputeKind::F16;
    if (isHalf && chip.hasF16Dot2 && layout.group % 2 == 0) {
      for (int64_t t = 0; t < layout.group; t += 2) {
        mlir::Value pair =
            layout.group == 2
                ? weights
                : mlir::vector::ShuffleOp::create(
                      b, weights, weights, llvm::ArrayRef<int64_t>{t, t + 1});
        mlir::Value inputs = mlir::vector::FromElementsOp::create(
            b, mlir::VectorType::get({2}, b.getF16Type()),
            mlir::ValueRange{input(t), input(t + 1)});
        acc = dot2(pair, inputs, acc);
      }
      return acc;
    }
    for (int64_t t = 0; t < layout.group; ++t) {
      mlir::Value weight = layout.group == 1
                               ? weights
                               : mlir::vector::ExtractOp::create(b, weights, t);
      mlir::Value value = input(t);
      if (isHalf) {
        weight = mlir::arith::ExtFOp::create(b, b.getF32Type(), weight);
        value = mlir::arith::ExtFOp::create(b, b.getF32Type(), value);
      }
      acc = mlir::math::FmaOp::create(b, weight, value, acc);
    }
    return acc;
  }

  /// Four int8 lanes (16 times each value) from a word of eight 4-bit values
  /// of a block row: the low nibbles (values 0-3) or the high ones (4-7).
  mlir::Value unpackWord(mlir::Value word, mlir::Value high) {
    mlir::Value mask = i32(int32_t(0xF0F0F0F0));
    mlir::Value low = mlir::arith::AndIOp::create(
        b, mlir::arith::ShLIOp::create(b, word, i32(4)), mask);
    mlir::Value highValues = mlir::arith::AndIOp::create(b, word, mask);
    return mlir::arith::SelectOp::create(b, high, highValues, low);
  }

  mlir::Value bitcastToVector4xi8(mlir::Value word) {
    mlir::Value asVector = mlir::vector::BroadcastOp::create(
        b, mlir::VectorType::get({1}, b.getI32Type()), word);
    return mlir::vector::BitCastOp::create(
        b, mlir::VectorType::get({4}, b.getI8Type()), asVector);
  }

  mlir::Value bitcastToI32(mlir::Value vector4xi8) {
    mlir::Value asVector = mlir::vector::BitCastOp::create(
        b, mlir::VectorType::get({1}, b.getI32Type()), vector4xi8);
    return mlir::vector::ExtractOp::create(b, asVector,
                                           llvm::ArrayRef<int64_t>{0});
  }

  /// acc + dot(a, b) over four int8 lanes.
  mlir::Value dot4(mlir::Value a, mlir::Value bVec, mlir::Value acc) {
    if (chip.backend == GPUBackend::NVVM) {
      auto signedType = mlir::NVVM::DotAccumulateTypeAttr::get(
          b.getContext(), mlir::NVVM::DotAccumulateType::SIGNED);
      return mlir::NVVM::DotAccumulate4WayOp::create(
          b, b.getI32Type(), a, signedType, bVec, signedType, acc);
    }
    mlir::Value clamp =
        mlir::arith::ConstantOp::create(b, b.getBoolAttr(false));
    return mlir::LLVM::CallIntrinsicOp::create(
               b, b.getI32Type(), b.getStringAttr("llvm.amdgcn.sdot4"),
               mlir::ValueRange{bitcastToI32(a), bitcastToI32(bVec), acc,
                                clamp})
        .getResult(0);
  }

  /// acc + dot(a, b) over two f16 lanes, in f32 (gfx906).
  mlir::Value dot2(mlir::Value a, mlir::Value bVec, mlir::Value acc) {
    mlir::Value clamp =
        mlir::arith::ConstantOp::create(b, b.getBoolAttr(false));
    return mlir::LLVM::CallIntrinsicOp::create(
               b, b.getF32Type(), b.getStringAttr("llvm.amdgcn.fdot2"),
               mlir::ValueRange{a, bVec, acc, clamp})
        .getResult(0);
  }

  /// The tensor-core fragment registers of `run`, consecutive elements
  /// loaded at once: words of four int8 values, or pairs of f16 values.
  llvm::SmallVector<mlir::Value> fragmentRegisters(mlir::Value run) {
    auto type = mlir::cast<mlir::VectorType>(run.getType());
    llvm::SmallVector<mlir::Value> registers;
    if (type.getElementType().isInteger(8)) {
      mlir::Value words = mlir::vector::BitCastOp::create(
          b, mlir::VectorType::get({type.getNumElements() / 4}, b.getI32Type()),
          run);
      for (int64_t j = 0; j < type.getNumElements() / 4; ++j)
        registers.push_back(mlir::vector::ExtractOp::create(b, words, j));
      return registers;
    }
    for (int64_t j = 0; j < type.getNumElements() / 2; ++j)
      registers.push_back(mlir::vector::ShuffleOp::create(
          b, run, run, llvm::ArrayRef<int64_t>{2 * j, 2 * j + 1}));
    return registers;
  }

  /// One tensor-core instruction of the part (mma.m x mma.n x mma.k, A row
  /// major, B column major): `acc` += A * B with the fragment registers `a`
  /// and `bFragment`. A structured part's instruction is the sparse one,
  /// with `metadata` its metadata word (sparsity selector 0).
  void mma(llvm::ArrayRef<mlir::Value> a, llvm::ArrayRef<mlir::Value> bFragment,
           llvm::MutableArrayRef<mlir::Value> acc, mlir::Value metadata) {
    bool isInt = layout.compute == ComputeKind::I8;
    auto resultType = mlir::LLVM::LLVMStructType::getLiteral(
        b.getContext(),
        llvm::SmallVector<mlir::Type>(acc.size(), acc.front().getType()));
    mlir::NVVM::MMATypes operand =
        isInt ? mlir::NVVM::MMATypes::s8 : mlir::NVVM::MMATypes::f16;
    std::array<mlir::NVVM::MMATypes, 2> types = {operand, operand};
    std::array<int64_t, 3> shape = {layout.mma.m, layout.mma.n, layout.mma.k};
    mlir::Value d;
    if (layout.structured) {
      d = mlir::NVVM::MmaSpOp::create(
          b, resultType, a, bFragment, acc, metadata,
          mlir::arith::ConstantIntOp::create(b, 0, 32), shape, std::nullopt,
          types);
    } else {
      std::optional<mlir::NVVM::MMAIntOverflow> overflow;
      if (isInt)
        overflow = mlir::NVVM::MMAIntOverflow::wrapped;
      d = mlir::NVVM::MmaOp::create(
          b, resultType, a, bFragment, acc, shape, std::nullopt, overflow,
          types,
          std::array<mlir::NVVM::MMALayout, 2>{mlir::NVVM::MMALayout::row,
                                               mlir::NVVM::MMALayout::col});
    }
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = mlir::LLVM::ExtractValueOp::create(b, d, i);
  }

  /// Adds a warp's accumulators of one mma tile to the result (see
  /// accumulateSum): accumulator 2i + h is channel `channelBase` + lane / 4
  /// + 8i and column `firstColumn` + 2 (lane % 4) + h (PTX ISA, "Matrix
  /// Fragments for mma.m16n8k*"). Nothing is written for a tile that does
  /// not exist or outside the result.
  void storeAccumulators(mlir::Value out, mlir::Value channelBase,
                         mlir::Value firstColumn, mlir::Value tileExists,
                         llvm::ArrayRef<mlir::Value> sums, mlir::Value lane,
                         mlir::Value scales, mlir::Value denseScales) {
    for (auto [i, sum] : llvm::enumerate(sums)) {
      mlir::Value channel =
          add(channelBase, add(div(lane, 4), index(i / 2 * 8)));
      mlir::Value column =
          add(firstColumn, add(mul(rem(lane, 4), index(2)), index(i % 2)));
      mlir::Value inside = mlir::arith::AndIOp::create(
          b, tileExists,
          mlir::arith::AndIOp::create(b, less(channel, layout.channels),
                                      less(column, layout.columns)));
      ifThen(inside, [&, channel = channel, column = column, sum = sum] {
        accumulateSum(out, channel, column, sum, scales, denseScales);
      });
    }
  }

  /// The index of a structured part's metadata word (entry `e`, slice of
  /// mma.m channels of its block, lane, step), as
  /// PartLayout::getMetadataIndex computes it.
  mlir::Value metadataIndex(mlir::Value e, mlir::Value slice, mlir::Value lane,
                            mlir::Value step) {
    int64_t slices = layout.blockChannels / layout.mma.m;
    int64_t steps = layout.blockReduction / layout.mma.k;
    mlir::Value blockSlice = add(mul(e, index(slices)), slice);
    return add(mul(add(mul(blockSlice, index(16)), lane), index(steps)), step);
  }

  mlir::gpu::GPUModuleOp module;
  llvm::StringRef prefix;
  const PartLayout &layout;
  const ChipDescription &chip;
  /// The part, whose epilogue the compute kernel applies.
  PartMatmulOp part;
  /// The compute kernel's bias argument (see PartLayout::initialBiasDim),
  /// set by computeArguments.
  mlir::Value initialBias;
  /// The elementwise steps after the part that the kernel applies to each
  /// element it writes (after the part's epilogue), storing the last step's
  /// value into `stepsOut` instead of the result; null for none. Their
  /// buffers are set by computeArguments.
  const Epilogue *steps = nullptr;
  llvm::SmallVector<mlir::Value> stepInputs;
  mlir::Value stepsOut;
};

//===----------------------------------------------------------------------===//
// Kernels built in their own files
//===----------------------------------------------------------------------===//

/// The pack kernel (PackKernel.cpp): `source` -> the packed values and, for
/// int8 parts, one scale per channel; and its launch.
mlir::gpu::GPUFuncOp buildPack(KernelBuilder &kb, mlir::MemRefType source,
                               mlir::MemRefType packed,
                               mlir::MemRefType scales);
KernelLaunch getPackLaunch(const PartLayout &layout);

/// The kernel that makes the copy of the dense operand (DenseCopyKernels.cpp;
/// see hasDenseCopy): `dense` -> `copy` and, for int8 parts, one scale per
/// dense column in `scales`. Sets `launch`.
mlir::gpu::GPUFuncOp buildDenseCopy(KernelBuilder &kb, mlir::MemRefType dense,
                                    mlir::MemRefType copy,
                                    mlir::MemRefType scales,
                                    KernelLaunch &launch);

/// The SIMT compute kernel (SimtKernel.cpp), and its launch.
mlir::gpu::GPUFuncOp buildSimtCompute(KernelBuilder &kb,
                                      llvm::ArrayRef<mlir::Type> arguments);
KernelLaunch getSimtLaunch(const PartLayout &layout,
                           const ChipDescription &chip);

/// The staged SIMT compute kernel (StagedSimtKernel.cpp; see
/// PartLayout::stagedSimt), and its launch.
mlir::gpu::GPUFuncOp
buildStagedSimtCompute(KernelBuilder &kb, llvm::ArrayRef<mlir::Type> arguments);
KernelLaunch getStagedSimtLaunch(const PartLayout &layout);

/// The tensor-core compute kernel fed from registers
/// (RegisterMmaKernel.cpp), and its launch.
mlir::gpu::GPUFuncOp
buildRegisterMmaCompute(KernelBuilder &kb,
                        llvm::ArrayRef<mlir::Type> arguments);
KernelLaunch getRegisterMmaLaunch(const PartLayout &layout);

/// Whether a tensor-core part's compute kernel is the staged one
/// (StagedMmaKernel.cpp): on chips with asynchronous copies, for parts that
/// read a copy of the dense operand and have at least one block's worth of
/// columns.
bool usesStagedMma(const PartLayout &layout, const ChipDescription &chip);

/// The staged tensor-core compute kernel, and its launch.
mlir::gpu::GPUFuncOp
buildStagedMmaCompute(KernelBuilder &kb, llvm::ArrayRef<mlir::Type> arguments);
KernelLaunch getStagedMmaLaunch(const PartLayout &layout,
                                const ChipDescription &chip);

/// Whether a block part's compute kernel is the warpgroup one
/// (WgmmaBlockKernel.cpp): for a structured part, where the layout says so
/// (PartLayout::structuredRows, see canUseWgmmaStructured); for an int8
/// part on chips with wgmma, for blocks of 8, 16, 24 or a multiple of 16
/// channels (at most 256) by 32, 64 or 128 reduction elements whose packed
/// blocks are whole KiB, with at least 64 dense columns and no live-column
/// list.
bool usesWgmmaBlocks(const PartLayout &layout, const ChipDescription &chip);

/// The warpgroup compute kernel, which takes two tensor maps after
/// `arguments` (see KernelLaunch::tensorMaps), and its launch.
mlir::gpu::GPUFuncOp buildWgmmaBlockCompute(KernelBuilder &kb,
                                            llvm::ArrayRef<mlir::Type> arguments);
KernelLaunch getWgmmaBlockLaunch(const PartLayout &layout,
                                 const ChipDescription &chip);
/// Split-K of the warpgroup kernel: the number of slices each walk is split
/// into (1: none), each taken by one block of a thread block cluster of
/// that many blocks; the blocks add their sums up through distributed
/// shared memory, in slice order, and update the result as unsplit blocks
/// do.
int64_t getWgmmaBlockSplit(const PartLayout &layout,
                           const ChipDescription &chip);

} // namespace tesa

#endif // TESA_LIB_CONVERSION_PARTSTOGPU_KERNELBUILDER_H
