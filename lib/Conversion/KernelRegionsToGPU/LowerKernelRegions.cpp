//===- LowerKernelRegions.cpp - tesa.kernel regions to GPU launches -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace tesa {
#define GEN_PASS_DEF_LOWERKERNELREGIONS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// The name of the gpu.module that holds the kernels of the program.
constexpr StringLiteral kKernelModuleName = "tesa_kernels";

gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return existing;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  return gpu::GPUModuleOp::create(builder, module.getLoc(), kKernelModuleName);
}

StringRef getFamilyStem(KernelFamily family) {
  switch (family) {
  case KernelFamily::Contraction:
    return "contraction";
  case KernelFamily::RowReduction:
    return "row_reduction";
  case KernelFamily::Elementwise:
    return "elementwise";
  }
  llvm_unreachable("unknown family");
}

/// A 1-D view of the buffer of `tensor` (identity layout, as bufferization
/// makes function arguments and allocations).
Value getFlatBuffer(OpBuilder &builder, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = bufferization::ToBufferOp::create(builder, loc, bufferType,
                                                   tensor, /*read_only=*/true);
  if (type.getRank() == 1)
    return buffer;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  return memref::CollapseShapeOp::create(builder, loc, buffer,
                                         ArrayRef<ReassociationIndices>{all});
}

struct LowerKernelRegionsPass
    : public tesa::impl::LowerKernelRegionsBase<LowerKernelRegionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<KernelOp> regions;
    module.walk([&](KernelOp op) { regions.push_back(op); });
    if (regions.empty())
      return;
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(module);
    SymbolTable symbols(kernels);
    IRRewriter rewriter(&getContext());
    for (auto [index, region] : llvm::enumerate(regions)) {
      std::string name =
          (getFamilyStem(region.getFamily()) + Twine(index)).str();
      llvm::Expected<RegionKernel> built = build(region, kernels, name);
      if (!built) {
        region.emitRemark("kept on the generic path: ")
            << llvm::toString(built.takeError());
        inlineKernelRegion(rewriter, region);
        continue;
      }
      symbols.insert(built->kernel);
      launch(rewriter, region, *built);
    }
  }

  llvm::Expected<RegionKernel> build(KernelOp region, gpu::GPUModuleOp kernels,
                                     StringRef name) {
    if (region.getNumResults() != 1)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "a region must give one result");
    switch (region.getFamily()) {
    case KernelFamily::Contraction:
      return buildContractionKernel(region, kernels, name);
    case KernelFamily::RowReduction:
      return buildRowReductionKernel(region, kernels, name);
    case KernelFamily::Elementwise:
      break;
    }
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no kernel family lowers elementwise "
                                   "regions yet");
  }

  /// Replaces `region` by the launch of its kernel, which writes a new
  /// buffer for the result.
  void launch(IRRewriter &rewriter, KernelOp region, const RegionKernel &k) {
    rewriter.setInsertionPoint(region);
    Location loc = region.getLoc();
    SmallVector<Value> arguments;
    for (Value input : k.inputs)
      arguments.push_back(getFlatBuffer(rewriter, loc, input));
    auto resultType = cast<RankedTensorType>(region.getResult(0).getType());
    auto plainType =
        RankedTensorType::get(resultType.getShape(), resultType.getElementType());
    Value out = memref::AllocOp::create(
        rewriter, loc,
        MemRefType::get(resultType.getShape(), resultType.getElementType()));
    Value flatOut = out;
    if (resultType.getRank() != 1) {
      ReassociationIndices all =
          llvm::to_vector(llvm::seq<int64_t>(0, resultType.getRank()));
      flatOut = memref::CollapseShapeOp::create(
          rewriter, loc, out, ArrayRef<ReassociationIndices>{all});
    }
    arguments.push_back(flatOut);
    auto size = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    gpu::LaunchFuncOp::create(
        rewriter, loc, k.kernel, {size(k.grid[0]), size(k.grid[1]), size(k.grid[2])},
        {size(k.threads), size(1), size(1)}, /*dynamicSharedMemorySize=*/Value(),
        arguments);
    Value result = bufferization::ToTensorOp::create(
        rewriter, loc, plainType, out, /*restrict=*/true, /*writable=*/true);
    if (plainType != resultType)
      result = AnnotateOp::create(rewriter, loc, resultType, result);
    rewriter.replaceOp(region, result);
  }
};

} // namespace
