//===- Pipelines.h - tesa's end-to-end pass pipelines -----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_PIPELINES_PIPELINES_H
#define TESA_PIPELINES_PIPELINES_H

#include "tesa/Analysis/DecompositionPlan.h"
#include "tesa/Codegen/BlockClusters.h"
#include "tesa/Target/ChipDescription.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace tesa {

/// The toolkit directory the build prepared for linking HSACO (LLVM's
/// ld.lld and the ROCm device libraries).
std::string getDefaultROCmToolkit();

/// How the kernels are kept in the program: as binaries (cubin / HSACO), as
/// assembly (PTX, compiled by the driver at load; AMDGPU assembly), or as a
/// fat binary; gpu-module-to-binary's formats.
enum class KernelFormat { Bin, Isa, Fatbin };

/// gpu-module-to-binary's name of `format`: "bin", "isa" or "fatbin".
llvm::StringRef getKernelFormatName(KernelFormat format);

/// Options of `--tesa-pipeline`.
struct GPUPipelineOptions
    : public mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<GPUBackend> target{*this, "target", llvm::cl::desc("GPU backend"),
                            llvm::cl::init(GPUBackend::NVVM),
                            getGPUBackendValues()};
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("Chip to compile for (sm_75, sm_80, "
                                          "sm_86, sm_89, sm_90, gfx906)"),
                           llvm::cl::init("sm_80")};
  Option<KernelFormat> format{
      *this, "format", llvm::cl::desc("How the kernels are kept"),
      llvm::cl::init(KernelFormat::Bin),
      llvm::cl::values(
          clEnumValN(KernelFormat::Bin, "bin", "cubin / HSACO"),
          clEnumValN(KernelFormat::Isa, "isa",
                     "PTX (compiled by the driver at load) / AMDGPU assembly"),
          clEnumValN(KernelFormat::Fatbin, "fatbin", "a fat binary"))};
  Option<DecompositionOptions::Mode> plan{
      *this, "plan", llvm::cl::desc("Decomposition plan"),
      llvm::cl::init(DecompositionOptions::Mode::Auto),
      getDecompositionPlanValues()};
  Option<std::string> blockShape{
      *this, "block-shape",
      llvm::cl::desc("Block shape for plan=block and plan=structured "
                     "(<channels>x<reduction>)"),
      llvm::cl::init("16x16")};
  Option<bool> packEntryPoints{
      *this, "pack-entry-points",
      llvm::cl::desc("Give public functions that pack argument weights the "
                     "entry points <f>_pack and <f>_packed"),
      llvm::cl::init(true)};
  Option<bool> decodeProducts{
      *this, "decode-products",
      llvm::cl::desc("Compute the parts of a product of at most 64 dense "
                     "columns in one launch (false: one launch per part)"),
      llvm::cl::init(true)};
  Option<bool> fineTensorCores{
      *this, "fine-tensor-cores",
      llvm::cl::desc("Compute fine-grained 16-bit parts of f16 programs that "
                     "keep at least 5% of their elements on tensor cores "
                     "(false: on the SIMT kernel; see "
                     "--tesa-lower-parts-to-gpu)"),
      llvm::cl::init(true)};
  Option<bool> wgmmaStructured{
      *this, "wgmma-structured",
      llvm::cl::desc("Compute 2:4 structured parts of 64-channel blocks on "
                     "sparse warpgroup tensor cores (wgmma.mma_async.sp) "
                     "where the chip has them (false: on mma.sp)"),
      llvm::cl::init(true)};
  Option<BlockClusters> blockClusters{
      *this, "block-clusters",
      llvm::cl::desc("Where tiles of groups of block rows run in clusters "
                     "that share the dense operand's slices (see "
                     "--tesa-lower-parts-to-gpu)"),
      llvm::cl::init(BlockClusters::Auto), getBlockClustersValues()};
  ListOption<int64_t> structuredTiling{
      *this, "structured-tiling",
      llvm::cl::desc("The tiling of every 2:4 structured part on "
                     "wgmma.mma_async.sp instead of the heuristic's (see "
                     "--tesa-lower-parts-to-gpu)")};
  Option<int64_t> convolutionRun{
      *this, "convolution-run",
      llvm::cl::desc("The most neighbouring outputs a thread of a "
                     "convolution kernel computes (1: one output a thread)"),
      llvm::cl::init(8)};
  Option<bool> kernelRegions{
      *this, "kernel-regions",
      llvm::cl::desc("Compile contractions and softmaxes outside the "
                     "decomposed parts as kernel regions (false: all of "
                     "them on the generic path)"),
      llvm::cl::init(true)};
  Option<bool> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("On chips with grid dependency control (sm_90), let "
                     "each kernel start while the previous one finishes "
                     "(--tesa-programmatic-launch)"),
      llvm::cl::init(true)};
  Option<std::string> rocmToolkit{
      *this, "rocm-toolkit",
      llvm::cl::desc("Directory with llvm/bin/ld.lld, for linking HSACO"),
      llvm::cl::init(getDefaultROCmToolkit())};
};

/// Appends the pipeline that runs a (decomposed) linalg program on the host:
/// decomposition parts lowered to linalg, bufferization, loops, LLVM.
void buildCPUPipeline(mlir::OpPassManager &pm);

/// Appends the whole GPU pipeline: buildGPUPartsPipeline, then
/// buildGPULoweringPipeline.
void buildGPUPipeline(mlir::OpPassManager &pm,
                      const GPUPipelineOptions &options);

/// Appends the GPU pipeline's first half, on tensors: decomposition,
/// specialised kernels for the parts, and the weight-packing entry points.
/// Public functions do not change after it.
void buildGPUPartsPipeline(mlir::OpPassManager &pm,
                           const GPUPipelineOptions &options);

/// Appends the GPU pipeline's second half: kernel regions (contractions,
/// softmaxes) lowered through their families, the rest of the program through
/// the generic linalg-to-GPU path, host code in the LLVM dialect and
/// `gpu.binary` kernels.
void buildGPULoweringPipeline(mlir::OpPassManager &pm,
                              const GPUPipelineOptions &options);

/// Appends the GPU pipeline with its kernels run on the host: the parts'
/// and kernel regions' kernels generated for `options.chip`, the generic
/// path, then every launch as loops over its blocks and threads
/// (`--tesa-launches-to-host-loops`, which fails on sm_90's warpgroup and
/// TMA kernels) and the program lowered for the host. Buffers stay in host
/// memory and launches run in order.
void buildHostPipeline(mlir::OpPassManager &pm,
                       const GPUPipelineOptions &options);

/// Registers `--tesa-cpu-pipeline`, `--tesa-host-pipeline` and
/// `--tesa-pipeline`.
void registerPipelines();

} // namespace tesa

#endif // TESA_PIPELINES_PIPELINES_H
