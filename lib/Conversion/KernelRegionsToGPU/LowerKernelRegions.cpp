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
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<KernelOp> regions;
    module.walk([&](KernelOp op) { regions.push_back(op); });
    if (regions.empty())
      return;
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
    IRMapping replaced;
    for (ArrayRef<unsigned> group : groups) {
      SmallVector<RegionKernel> members;
      for (unsigned index : group) {
        members.push_back(built[index]);
        remapInputs(members.back(), replaced);
      }
      if (members.size() == 1) {
        launch(rewriter, cast<KernelOp>(sites[group.front()]),
               members.front(), replaced);
        continue;
      }
      std::string name = "fused";
      for (const RegionKernel &member : members)
        name += "_" + gpu::GPUFuncOp(member.kernel).getName().str();
      RegionKernel fused = fuseKernels(members, kernels, name);
      symbols.insert(fused.kernel);
      launchGroup(rewriter, group, sites, members, fused, replaced);
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

  /// Makes `kernel` (and its split-K finish) read the launched results in
  /// place of the regions they replaced.
  static void remapInputs(RegionKernel &kernel, const IRMapping &replaced) {
    for (Value &input : kernel.inputs)
      input = replaced.lookupOrDefault(input);
    if (kernel.finish)
      remapInputs(*kernel.finish, replaced);
  }

  /// Replaces `region` by the launch of its kernel, which writes a new
  /// buffer for the result, and records the replacement in `replaced`.
  void launch(IRRewriter &rewriter, KernelOp region, const RegionKernel &k,
              IRMapping &replaced) {
    rewriter.setInsertionPoint(region);
    Value result = launchRegionKernel(rewriter, region.getLoc(), k,
                                      getResultType(region));
    replace(rewriter, region, result, replaced);
  }

  /// Replaces the regions of `group` (indices of `sites`) by one launch of
  /// `fused`, made from their kernels `members`, at the first one.
  void launchGroup(IRRewriter &rewriter, ArrayRef<unsigned> group,
                   ArrayRef<Operation *> sites,
                   ArrayRef<RegionKernel> members, const RegionKernel &fused,
                   IRMapping &replaced) {
    Operation *first = sites[group.front()];
    rewriter.setInsertionPoint(first);
    SmallVector<SmallVector<Value>> inputs;
    SmallVector<RankedTensorType> types;
    for (auto [index, member] : llvm::zip_equal(group, members)) {
      inputs.push_back(member.inputs);
      types.push_back(getResultType(cast<KernelOp>(sites[index])));
    }
    SmallVector<Value> results =
        launchFusedKernels(rewriter, first->getLoc(), fused, inputs, types);
    for (auto [index, result] : llvm::zip_equal(group, results))
      replace(rewriter, cast<KernelOp>(sites[index]), result, replaced);
  }

  /// The type of `region`'s one result.
  static RankedTensorType getResultType(KernelOp region) {
    return cast<RankedTensorType>(region.getResult(0).getType());
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
