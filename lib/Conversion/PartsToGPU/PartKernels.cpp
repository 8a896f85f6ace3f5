//===- PartKernels.cpp - Specialised kernels for decomposed parts ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Each part gets up to three kernels, generated from its compile-time
// layout:
//
// * pack (PackKernel.cpp): gathers the part's kept elements from the sparse
//   source into the compute kernel's layout (zeros in the holes of a block),
//   rounded to f16 or quantised to int8 with one scale per channel;
// * dense copy (DenseCopyKernels.cpp, see hasDenseCopy): the dense operand
//   as int8 with one scale per column (int8 parts), or as f16 (tensor-core
//   f16 parts with enough blocks), reduction-contiguous and zero-padded;
// * compute: SIMT (SimtKernel.cpp: FFMA, or dp4a / v_dot4_i32_i8 /
//   v_dot2_f32_f16 over groups of the reduction), tensor cores fed from
//   registers (RegisterMmaKernel.cpp: mma.sync over the blocks of a work
//   row), or for 64-channel blocks on sm_80+ tensor cores fed from shared
//   memory (StagedMmaKernel.cpp).
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
  if (layout.compute == ComputeKind::I8 || layout.structuredRows ||
      (layout.f16Dense && layout.useMma))
    return true;
  if (layout.compute != ComputeKind::F16 || !layout.useMma || layout.gather)
    return false;
  int64_t blockColumns =
      (layout.reduction + layout.blockReduction - 1) / layout.blockReduction;
  return layout.getNumEntries() >=
         kMinBlocksPerBlockColumnForCopy * blockColumns;
}

/// The reduction is zero-padded: [column][k] for tensor cores (a fragment
/// reads consecutive k of one column; the warpgroup kernels copy slices of
/// it), [column][k / 32][32] for structured parts on `mma.sp` (each step's
/// elements in the order the sparse mma's B fragments take them, see
/// buildConvertDense), [k / 4][column][k % 4] for SIMT parts, so that the
/// threads of a warp, one per column, read consecutive words.
MemRefType tesa::getDenseCopyType(MLIRContext *ctx, const PartLayout &layout) {
  Type element = layout.compute == ComputeKind::I8
                     ? Type(IntegerType::get(ctx, 8))
                     : Type(Float16Type::get(ctx));
  int64_t reduction = layout.getPaddedReduction();
  if (layout.hasFragmentOrderedDenseCopy())
    return MemRefType::get({layout.columns, reduction / 32, 32}, element);
  if (layout.useMma)
    return MemRefType::get({layout.columns, reduction}, element);
  return MemRefType::get({reduction / 4, layout.columns, 4}, element);
}

MemRefType tesa::getDenseScalesType(MLIRContext *ctx,
                                    const PartLayout &layout) {
  return MemRefType::get({layout.columns}, Float32Type::get(ctx));
}

/// The sparse operand's buffer type, in its own orientation, of `element`s.
static MemRefType getSourceType(const PartLayout &layout, Type element) {
  int64_t p = layout.channels, k = layout.reduction;
  return layout.sparseIsLhs ? MemRefType::get({p, k}, element)
                            : MemRefType::get({k, p}, element);
}

static Type getElementType(Value tensor) {
  return cast<RankedTensorType>(tensor.getType()).getElementType();
}

gpu::GPUFuncOp tesa::buildPartPack(OpBuilder &builder, Location loc,
                                   gpu::GPUModuleOp module, StringRef prefix,
                                   const PartLayout &layout,
                                   const ChipDescription &chip,
                                   PartMatmulOp part, KernelLaunch &launch) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  KernelBuilder kb(b, module, prefix, layout, chip, part);
  launch = getPackLaunch(layout);
  return buildPack(kb, getSourceType(layout, getElementType(part.getSparse())),
                   getPackedBufferType(b.getContext(), layout),
                   getScalesBufferType(b.getContext(), layout));
}

PartKernels tesa::buildPartKernels(OpBuilder &builder, Location loc,
                                   gpu::GPUModuleOp module, StringRef prefix,
                                   const PartLayout &layout,
                                   const ChipDescription &chip,
                                   PartMatmulOp part, bool withPack,
                                   bool withDenseCopy, const Epilogue *steps) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  KernelBuilder kb(b, module, prefix, layout, chip, part);
  Type f32 = b.getF32Type();
  int64_t p = layout.channels, k = layout.reduction, q = layout.columns;
  // f32 operands and result, or in f16 programs f16 ones (read only by the
  // pack and dense copy kernels, written through accumulate).
  Type denseElement = getElementType(part.getDense());
  Type resultElement = getElementType(part.getResult());
  MemRefType source = getSourceType(layout, getElementType(part.getSparse()));
  MemRefType dense = layout.gather ? layout.gather->sourceType
                     : layout.sparseIsLhs || layout.transposedDense
                         ? MemRefType::get({k, q}, denseElement)
                         : MemRefType::get({q, k}, denseElement);
  MemRefType result = layout.sparseIsLhs
                          ? MemRefType::get({p, q}, resultElement)
                          : MemRefType::get({q, p}, resultElement);
  MemRefType packed = getPackedBufferType(b.getContext(), layout);
  MemRefType scales = getScalesBufferType(b.getContext(), layout);
  MemRefType denseCopy = getDenseCopyType(b.getContext(), layout);
  MemRefType denseScales = getDenseScalesType(b.getContext(), layout);

  PartKernels kernels;
  if (withPack) {
    kernels.pack = buildPack(kb, source, packed, scales);
    kernels.packLaunch = getPackLaunch(layout);
  }
  if (withDenseCopy && hasDenseCopy(layout))
    kernels.denseCopy = buildDenseCopy(kb, dense, denseCopy, denseScales,
                                       kernels.denseCopyLaunch);
  SmallVector<Type> computeArguments = {dense, packed, result};
  if (layout.compute == ComputeKind::I8)
    computeArguments = {denseCopy, denseScales, packed, scales, result};
  else if (hasDenseCopy(layout))
    computeArguments = {denseCopy, packed, result};
  // After the result: the bias, the flat buffers of the steps' inputs and
  // of their result.
  SmallVector<Type> trailing;
  if (layout.initialBiasDim)
    trailing.push_back(
        MemRefType::get({result.getDimSize(*layout.initialBiasDim)},
                        layout.f16Bias ? Type(b.getF16Type()) : f32));
  if (steps) {
    auto flat = [](Type tensor) {
      auto type = cast<RankedTensorType>(tensor);
      return MemRefType::get({type.getNumElements()}, type.getElementType());
    };
    for (Value input : steps->getInputs())
      trailing.push_back(flat(input.getType()));
    trailing.push_back(flat(steps->getResultType()));
  }
  kb.steps = steps;
  llvm::append_range(computeArguments, trailing);
  kernels.warpgroupCompute = usesWgmmaBlocks(layout, chip);
  if (kernels.warpgroupCompute) {
    kernels.compute = buildWgmmaBlockCompute(kb, computeArguments);
    kernels.computeLaunch = getWgmmaBlockLaunch(layout, chip);
  } else if (usesStagedMma(layout, chip)) {
    kernels.compute = buildStagedMmaCompute(kb, computeArguments);
    kernels.computeLaunch = getStagedMmaLaunch(layout, chip);
  } else if (layout.useMma) {
    kernels.compute = buildRegisterMmaCompute(kb, computeArguments);
    kernels.computeLaunch = getRegisterMmaLaunch(layout);
  } else if (layout.stagedSimt) {
    kernels.compute = buildStagedSimtCompute(kb, computeArguments);
    kernels.computeLaunch = getStagedSimtLaunch(layout);
  } else {
    kernels.compute = buildSimtCompute(kb, computeArguments);
    kernels.computeLaunch = getSimtLaunch(layout, chip);
  }
  return kernels;
}
