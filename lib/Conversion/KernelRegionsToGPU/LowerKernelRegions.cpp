//===- LowerKernelRegions.cpp - tesa.kernel regions to GPU launches -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
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
  using LowerKernelRegionsBase::LowerKernelRegionsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<KernelOp> regions;
    module.walk([&](KernelOp op) { regions.push_back(op); });
    if (regions.empty())
      return;
    const ChipDescription *chipDescription = nullptr;
    if (!chip.empty()) {
      llvm::Expected<const ChipDescription &> found = getChip(chip);
      if (!found) {
        emitError(module.getLoc()) << llvm::toString(found.takeError());
        return signalPassFailure();
      }
      chipDescription = &*found;
    }
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(module);
    SymbolTable symbols(kernels);
    IRRewriter rewriter(&getContext());
    // Regions are built in program order: one that falls back is inlined
    // before a later region takes its result as an input.
    SmallVector<RegionKernel> built;
    SmallVector<Operation *> sites;
    for (auto [index, region] : llvm::enumerate(regions)) {
      std::string name =
          (stringifyKernelFamily(region.getFamily()) + Twine(index)).str();
      llvm::Expected<RegionKernel> kernel = build(region, kernels, name);
      if (kernel && chipDescription &&
          kernel->sharedBytes > chipDescription->maxSharedMemoryPerBlock) {
        int64_t bytes = kernel->sharedBytes;
        kernel->kernel.erase();
        if (kernel->finish)
          kernel->finish->kernel.erase();
        kernel = llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "its kernel takes " + std::to_string(bytes) +
                " bytes of shared memory a block, more than the " +
                std::to_string(chipDescription->maxSharedMemoryPerBlock) +
                " of " + chip);
      }
      if (!kernel) {
        region.emitRemark("kept on the generic path: ")
            << llvm::toString(kernel.takeError());
        inlineKernelRegion(rewriter, region);
        continue;
      }
      symbols.insert(kernel->kernel);
      built.push_back(std::move(*kernel));
      sites.push_back(region);
    }
    // Regions that read one tensor (a layer's Q, K and V projections of
    // its input) run as one launch where their kernels allow it.
    SmallVector<SmallVector<unsigned>> groups = groupSiblingKernels(
        built, sites, [&](unsigned first, unsigned next) {
          return llvm::any_of(built[next].inputs, [&](Value input) {
            return llvm::is_contained(built[first].inputs, input);
          });
        });
    SmallVector<RankedTensorType> resultTypes = llvm::map_to_vector(
        sites, [](Operation *site) {
          return cast<RankedTensorType>(site->getResult(0).getType());
        });
    IRMapping replaced;
    launchKernelGroups(built, sites, resultTypes, groups, kernels, "fused",
                       replaced, [&](unsigned index, Value result) {
                         replace(rewriter, cast<KernelOp>(sites[index]),
                                 result, replaced);
                       });
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
      return buildElementwiseKernel(region, kernels, name);
    case KernelFamily::Convolution:
      return buildConvolutionKernel(region, kernels, name);
    }
    llvm_unreachable("every kernel family is handled above");
  }

  /// Replaces `region` by `result` (annotated with the region's encoding
  /// where it has one).
  static void replace(IRRewriter &rewriter, KernelOp region, Value result,
                      IRMapping &replaced) {
    Type resultType = region.getResult(0).getType();
    if (result.getType() != resultType) {
      rewriter.setInsertionPointAfterValue(result);
      result = AnnotateOp::create(rewriter, region.getLoc(), resultType,
                                  result);
    }
    replaced.map(region.getResult(0), result);
    rewriter.replaceOp(region, result);
  }
};

} // namespace
