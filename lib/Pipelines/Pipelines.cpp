//===- Pipelines.cpp - tesa's end-to-end pass pipelines -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Pipelines/Pipelines.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

static void addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  // Its constant globals in an order that does not change between runs.
  pm.addPass(tesa::createOrderConstantGlobals());
  pm.addPass(createCanonicalizerPass());
}

/// Host code (and kernels run as host loops) to the LLVM dialect.
static void addHostLowering(OpPassManager &pm) {
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Vector stores of kernels run as host loops (--tesa-launches-to-host-loops).
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  // What has no LLVM intrinsic (math.erf of GELU) calls libm.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  // Poison lanes of vectors built element by element (emulated mma.sync
  // fragments).
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void tesa::buildCPUPipeline(OpPassManager &pm) {
  pm.addPass(createLowerPartsToLinalg());
  pm.addPass(createDecomposeAggregatedOps());
  pm.addPass(createDropEncodings());
  addBufferization(pm);
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  addHostLowering(pm);
}

/// Results become out-parameters (the caller owns the output buffers) and
/// every buffer of the host program moves to device memory.
static void addDeviceMemory(OpPassManager &pm) {
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(tesa::createHostBuffersToDevice());
  pm.addPass(createCanonicalizerPass());
}

/// The generic path: every linalg op left becomes parallel loops, tiled into
/// blocks of threads and launched as a kernel.
static void addGenericGPUPath(OpPassManager &pm) {
  // The innermost parallel loop walks the output's contiguous dimension.
  pm.addNestedPass<func::FuncOp>(tesa::createOrderLoopsByOutput());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // A fill, the reduction into it and the elementwise ops after it as one
  // loop, whose sums stay in registers.
  pm.addNestedPass<func::FuncOp>(tesa::createHoistAllocations());
  pm.addNestedPass<func::FuncOp>(createParallelLoopFusionPass());
  pm.addNestedPass<func::FuncOp>(tesa::createPromoteLoopAccumulators());
  pm.addNestedPass<func::FuncOp>(tesa::createAssertsToTraps());
  // No canonicalization until the loops are kernels: it would merge the
  // tiles back into their loop.
  pm.addNestedPass<func::FuncOp>(tesa::createTileParallelLoops());
  // The innermost (contiguous) dimension goes to thread x: coalesced.
  GpuMapParallelLoopsPassOptions mapping;
  mapping.mappingPolicyStr = "innermost-first";
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass(mapping));
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
}

static void addROCDLLowering(OpPassManager &pm,
                             const tesa::GPUPipelineOptions &options) {
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuROCDLAttachTargetOptions attach;
  attach.chip = options.chip;
  attach.optLevel = 3;
  pm.addPass(createGpuROCDLAttachTarget(attach));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ConvertGpuOpsToROCDLOpsOptions toROCDL;
  toROCDL.chipset = options.chip;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToROCDLOps(toROCDL));
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = getKernelFormatName(options.format).str();
  binary.toolkitPath = options.rocmToolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

/// MLIR's NVVM lowering (gpu::buildLowerToNVVMPassPipeline) with the
/// kernels' tensor maps made grid-constant parameters between the lowering
/// of the kernels and the reconciliation of casts.
static void addNVVMLowering(OpPassManager &pm,
                            const tesa::ChipDescription *chip,
                            const tesa::GPUPipelineOptions &options) {
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions attach;
  attach.chip = chip ? chip->getTargetChip().str() : std::string(options.chip);
  attach.features = chip ? chip->features.str() : "";
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  ConvertIndexToLLVMPassOptions index;
  index.indexBitwidth = 64;
  pm.addPass(createConvertIndexToLLVMPass(index));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.indexBitwidth = 64;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(toNVVM));
  pm.addNestedPass<gpu::GPUModuleOp>(tesa::createTensorMapParams());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = getKernelFormatName(options.format).str();
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void tesa::buildGPUPipeline(OpPassManager &pm,
                            const GPUPipelineOptions &options) {
  buildGPUPartsPipeline(pm, options);
  buildGPULoweringPipeline(pm, options);
}

void tesa::buildGPUPartsPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  pm.addPass(tesa::createCheckStaticShapes());
  // Products of widened f16 operands as products of the f16 operands, so
  // that their parts read the f16 weights as they are.
  pm.addPass(createFoldOperandExtensions());
  // A bias becomes the accumulator the parts start from.
  pm.addNestedPass<func::FuncOp>(createFoldBiasIntoAccumulator());
  DecomposeOptions decompose;
  decompose.chip = options.chip;
  decompose.plan = options.plan;
  decompose.blockShape = options.blockShape;
  pm.addPass(createDecompose(decompose));
  // Activations after a product run in its last part's kernel.
  pm.addNestedPass<func::FuncOp>(createFuseEpilogues());
  LowerPartsToGPUOptions parts;
  parts.chip = options.chip;
  parts.target = options.target;
  parts.decodeProducts = options.decodeProducts;
  parts.fineTensorCores = options.fineTensorCores;
  parts.wgmmaStructured = options.wgmmaStructured;
  parts.blockClusters = options.blockClusters;
  parts.structuredTiling.assign(options.structuredTiling.begin(),
                                options.structuredTiling.end());
  pm.addPass(createLowerPartsToGPU(parts));
  if (options.packEntryPoints)
    pm.addPass(createOutlineWeightPacking());
}

namespace tesa {
/// The GPU pipeline's second half up to kernels outlined into gpu.module
/// ops and launched; `onHost`: without device memory or streams, each
/// launch then run as host loops and the program lowered for the host.
static void addKernelLowering(OpPassManager &pm,
                              const GPUPipelineOptions &options, bool onHost) {
  if (options.kernelRegions) {
    // Softmaxes as the reductions a row-reduction region is made of.
    pm.addPass(createDecomposeAggregatedOps());
    // 1x1 convolutions as batched products.
    ConvolutionsAsProductsOptions convolutions;
    convolutions.onlyPointwise = true;
    pm.addPass(createConvolutionsAsProducts(convolutions));
    // Reductions in the forms row programs take.
    pm.addPass(createNormalizeRowPrograms());
    // Chains of elementwise ops as one op each.
    pm.addPass(createFuseElementwiseChains());
    // Attention's steps between its batched products over their
    // coordinates, without torch-mlir's unit batch loop.
    pm.addPass(createDropUnitBatchLoops());
    // Products of f16 operands that those chains widen, move and scale
    // (torch-mlir's attention heads) read the f16 tensors.
    pm.addPass(createFoldOperandExtensions());
    pm.addNestedPass<func::FuncOp>(createFormKernelRegions());
    FormAttentionRegionsOptions attention;
    attention.chip = options.chip;
    pm.addNestedPass<func::FuncOp>(createFormAttentionRegions(attention));
    ChooseTileConfigsOptions configs;
    configs.chip = options.chip;
    configs.convolutionRun = options.convolutionRun;
    pm.addNestedPass<func::FuncOp>(createChooseTileConfigs(configs));
    LowerKernelRegionsOptions lowering;
    lowering.chip = options.chip;
    pm.addPass(createLowerKernelRegions(lowering));
  }
  // What is left of the parts: masks of operands that the parts read densely.
  pm.addPass(createLowerPartsToLinalg());
  pm.addPass(createDecomposeAggregatedOps());
  // Cheaper scalar math in every kernel and payload, once the regions'
  // patterns have seen the program as written: exact divisions by constants
  // as multiplications, 16-bit erf without branches.
  pm.addPass(createSimplifyFloatMath());
  pm.addPass(createExpandHalfErf());
  pm.addPass(createDropEncodings());
  addBufferization(pm);
  if (!onHost)
    addDeviceMemory(pm);
  addGenericGPUPath(pm);
  pm.addNestedPass<func::FuncOp>(tesa::createNameKernels());
  pm.addPass(createGpuKernelOutliningPass());
  // Loads from regular work lists as index arithmetic.
  pm.addNestedPass<gpu::GPUModuleOp>(createFoldTableLoads());
  if (onHost) {
    pm.addPass(createLaunchesToHostLoops());
    addHostLowering(pm);
    return;
  }
  // Kernels named after their ops, then one stream per call, no
  // synchronisation between launches.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
}
} // namespace tesa

void tesa::buildGPULoweringPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  addKernelLowering(pm, options, /*onHost=*/false);
  const ChipDescription *chip = lookupChip(options.chip);
  if (chip && chip->hasGridDependencyControl && options.programmaticLaunch)
    pm.addPass(createProgrammaticLaunch());
  // Launch bounds, without which ptxas may give a kernel of more than 256
  // threads more registers than its blocks can have.
  pm.addPass(createKernelBlockSizes());
  if (options.target == GPUBackend::ROCDL) {
    addROCDLLowering(pm, options);
  } else {
    addNVVMLowering(pm, chip, options);
  }
  pm.addPass(tesa::createDeviceConstants());
}

void tesa::buildHostPipeline(OpPassManager &pm,
                             const GPUPipelineOptions &options) {
  buildGPUPartsPipeline(pm, options);
  addKernelLowering(pm, options, /*onHost=*/true);
}

std::string tesa::getDefaultROCmToolkit() { return TESA_DEFAULT_ROCM_TOOLKIT; }

llvm::StringRef tesa::getKernelFormatName(KernelFormat format) {
  switch (format) {
  case KernelFormat::Bin:
    return "bin";
  case KernelFormat::Isa:
    return "isa";
  case KernelFormat::Fatbin:
    return "fatbin";
  }
  llvm_unreachable("unknown kernel format");
}

void tesa::registerPipelines() {
  PassPipelineRegistration<>(
      "tesa-cpu-pipeline",
      "Lower a (decomposed) linalg-on-tensors program to LLVM for the host "
      "CPU; run --tesa-decompose first to split sparse products",
      buildCPUPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "tesa-host-pipeline",
      "The GPU pipeline with every kernel run on the host: decomposition, "
      "the parts' and kernel regions' kernels for `chip`, the generic path, "
      "each launch as loops over its blocks and threads "
      "(--tesa-launches-to-host-loops), host code in the LLVM dialect; a "
      "check of the generated kernels without a GPU",
      buildHostPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "tesa-pipeline",
      "Compile a linalg-on-tensors program with #tesa.sparsity encodings "
      "for a GPU: decomposition, specialised kernels for the parts, the "
      "rest through the generic linalg-to-GPU path, host code in the LLVM "
      "dialect and gpu.binary kernels",
      buildGPUPipeline);
}
