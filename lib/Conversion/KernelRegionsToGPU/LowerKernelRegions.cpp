//===- LowerKernelRegions.cpp - tesa.kernel regions to GPU launches -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

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
          (stringifyKernelFamily(region.getFamily()) + Twine(index)).str();
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
    case KernelFamily::Attention:
      return buildAttentionKernel(region, kernels, name);
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
    auto resultType = cast<RankedTensorType>(region.getResult(0).getType());
    Value result =
        launchRegionKernel(rewriter, region.getLoc(), k, resultType);
    if (result.getType() != resultType)
      result = AnnotateOp::create(rewriter, region.getLoc(), resultType,
                                  result);
    rewriter.replaceOp(region, result);
  }
};

} // namespace
