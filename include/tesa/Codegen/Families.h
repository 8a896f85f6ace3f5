//===- Families.h - The kernel families of code generation ------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Each family turns a configured tesa.kernel region into one GPU kernel
// (see docs/codegen.md). The host side (--tesa-lower-kernel-regions) passes
// the kernel the flat buffers of `inputs`, then the flat result buffer.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_FAMILIES_H
#define TESA_CODEGEN_FAMILIES_H

#include "tesa/Codegen/BlockClusters.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Target/ChipDescription.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/Error.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tesa {

/// The error a family returns when it cannot build a region's kernel:
/// `message` says why (LowerKernelRegions puts it in its remark).
inline llvm::Error kernelError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 message.str());
}

/// A TMA tensor map of a kernel's input: a 2-D view of input `input`'s
/// buffer in 16-bit units (f16 elements; an 8-bit tensor is viewed two
/// elements a unit, which TMA copies alike), `inner` units along its
/// contiguous dimension by `outer` rows `outerStride` units apart, read in
/// boxes of `boxInner` x `boxOuter` units with the swizzle of rows
/// `boxInner` * 2 bytes long.
struct TensorMapOperand {
  unsigned input;
  int64_t inner, outer, outerStride;
  int64_t boxInner, boxOuter;
};
/// The tensor map `map` of `buffer` (a memref), encoded on the host before
/// a launch: an `!llvm.array<16 x i64>` value, passed to the kernel by
/// value.
mlir::Value encodeTensorMap(mlir::OpBuilder &builder, mlir::Location loc,
                            mlir::Value buffer, const TensorMapOperand &map);

/// A kernel built for a region, and how to launch it.
struct RegionKernel {
  mlir::gpu::GPUFuncOp kernel;
  std::array<int64_t, 3> grid = {1, 1, 1};
  int64_t threads = 1;
  /// Bytes of dynamic shared memory the kernel takes.
  int64_t sharedBytes = 0;
  /// Blocks of a cluster, consecutive along x (1: no clusters).
  int64_t clusterBlocks = 1;
  /// Split-K: `kernel` writes its partial sums to a workspace of this many
  /// f32 elements (its last argument, in place of the result), and
  /// `finish` (reading the workspace, then its own `inputs`) adds them up
  /// into the result.
  int64_t workspaceElements = 0;
  std::shared_ptr<RegionKernel> finish;
  /// The tensors whose flat buffers the kernel reads, in argument order;
  /// the flat result buffer follows them.
  llvm::SmallVector<mlir::Value> inputs;
  /// The TMA tensor maps the kernel takes after the result buffer, in
  /// argument order, each an `!llvm.array<16 x i64>` the host encodes from
  /// its input's buffer before the launch.
  std::vector<TensorMapOperand> tensorMaps;
};

/// The contraction family, on the region's configured atom: exact f32 FMA
/// over tiles staged in workgroup memory, each thread keeping a register
/// tile of the outputs, or the m16n8k16 f16 tensor-core atom over a ring of
/// tiles copied by cp.async, each warp keeping a tile of accumulators;
/// split-K as configured; the epilogue applied as the outputs are written.
/// Fails, saying why, when the region is not one it computes.
llvm::Expected<RegionKernel>
buildContractionKernel(KernelOp region, mlir::gpu::GPUModuleOp module,
                       llvm::StringRef name);

/// A block part of `x @ W` kept at the operands' own precision (f32 at 32
/// bits, f16 at 16) whose slabs of one block's depth are kept whole or not
/// at all: by 32 columns of a sparse W, or across every row of a sparse x
/// (its dead columns). The contraction family computes it over the kept
/// slabs only: each column tile of 32 columns walks the kept slabs of its
/// column, reading the sparse operand in place (no packing) and the other
/// through its strides, f32 on FMA register tiles, f16 on `chip`'s
/// tensor cores where it has the m16n8k16 atom and asynchronous copies; the
/// accumulator's initial value, the part's epilogue and then
/// `epilogueOps` (elementwise steps that follow the part one after the
/// other, see Epilogue::get, such as a bias and GELU) are applied before
/// the one store, whose type is the last step's. `siblings` parts (itself
/// included) may share its launch (those reading its dense operand): their
/// tiles count towards filling `chip`'s multiprocessors, and where they
/// give every multiprocessor one, no part of them splits its walks (a split
/// part takes launches of its own). `clusters` says where its tiles of slab
/// groups on sm_90 run in clusters that share the dense operand's slices.
/// Fails, saying why, for any other part.
llvm::Expected<RegionKernel>
buildKeptBlockPartKernel(PartMatmulOp part, mlir::gpu::GPUModuleOp module,
                         llvm::StringRef name, const ChipDescription &chip,
                         llvm::ArrayRef<mlir::Operation *> epilogueOps = {},
                         int64_t siblings = 1,
                         BlockClusters clusters = BlockClusters::Auto);

/// A part of `x @ W` kept at the operands' own precision whose pruned
/// elements are whole channels: rows and columns of a sparse W, or columns
/// of a sparse x (the dead channels of an activation), as the contraction
/// family computes it on FMA register tiles over the kept channels only:
/// the kept K indices and kept columns are gathered through tables, the
/// other columns (which must be dead in the stored value) not written.
/// The epilogues as for buildKeptBlockPartKernel. Fails, saying why, for
/// any other part.
llvm::Expected<RegionKernel>
buildKeptChannelPartKernel(PartMatmulOp part, mlir::gpu::GPUModuleOp module,
                           llvm::StringRef name, const ChipDescription &chip,
                           llvm::ArrayRef<mlir::Operation *> epilogueOps = {});

/// Why `members` cannot run as one launch (fuseKernels), or none: each
/// must have the same number of threads, no launch bounds (a persistent
/// grid), no workgroup or private attributions and a body of one block;
/// either none is split-K or all are, their finishing kernels fusable too.
std::optional<std::string> checkFusable(llvm::ArrayRef<RegionKernel> members);
/// Groups, in program order, of `kernels` (kernel i is launched in place of
/// `sites[i]`) that run as one launch at their first member's site: a
/// kernel joins the first group whose first member `f` has
/// `related(f, i)`, whose kernel it fuses with (checkFusable), whose site
/// is in the block of kernel i's site, and before whose site every input of
/// kernel i (and of its split-K finish) is defined in that block (so no member reads another's result,
/// and none is moved out of a branch or loop). Each other kernel is a group of one.
llvm::SmallVector<llvm::SmallVector<unsigned>> groupSiblingKernels(
    llvm::ArrayRef<RegionKernel> kernels,
    llvm::ArrayRef<mlir::Operation *> sites,
    llvm::function_ref<bool(unsigned first, unsigned next)> related);
/// Makes `kernel` (and its split-K finish) read the values that replaced
/// its inputs in `replaced`.
void remapKernelInputs(RegionKernel &kernel, const mlir::IRMapping &replaced);
/// Launches `kernels` (kernel i in place of `sites[i]`, giving a value of
/// `resultTypes[i]`) by `groups` (see groupSiblingKernels): a group of one
/// as its own launch, a larger one as one fused kernel named `prefix` and
/// its members' names, launched at its first site. Inputs that an earlier
/// launch replaced read its result (through `replaced`); `replace(i, value)`
/// replaces what kernel i computes and records it in `replaced`.
void launchKernelGroups(
    llvm::ArrayRef<RegionKernel> kernels,
    llvm::ArrayRef<mlir::Operation *> sites,
    llvm::ArrayRef<mlir::RankedTensorType> resultTypes,
    llvm::ArrayRef<llvm::SmallVector<unsigned>> groups,
    mlir::gpu::GPUModuleOp module, llvm::StringRef prefix,
    mlir::IRMapping &replaced,
    llvm::function_ref<void(unsigned, mlir::Value)> replace);
/// One kernel `name` in `module` that runs `members` (see checkFusable) as
/// one grid: their blocks one after the other along x, each running its
/// member's body with the block coordinates of its own launch; its
/// arguments are the members' arguments in order, its dynamic shared memory
/// the largest member's; split-K members' finishing kernels are fused the
/// same way, as its `finish`. The members' kernels are erased; launch it
/// with launchFusedKernels.
RegionKernel fuseKernels(llvm::ArrayRef<RegionKernel> members,
                         mlir::gpu::GPUModuleOp module, llvm::StringRef name);
/// One kernel `name` in `module` that runs `kernels` (kernel i launched on
/// `grids[i]` blocks) as one grid along x, their blocks one after the
/// other, each running its kernel's body with the block coordinates and
/// grid of its own launch; its arguments are the kernels' arguments in
/// order. The kernels stay (fuseKernels erases its members').
mlir::gpu::GPUFuncOp
fuseKernelBodies(llvm::ArrayRef<mlir::gpu::GPUFuncOp> kernels,
                 llvm::ArrayRef<std::array<int64_t, 3>> grids,
                 mlir::gpu::GPUModuleOp module, llvm::StringRef name);
/// Launches `fused` (made by fuseKernels from `members`) on the members'
/// inputs' flat buffers, tensor maps and new result buffers of
/// `resultTypes`, one a member (through a workspace and `fused`'s finish
/// for split-K members), and returns those buffers as tensors.
llvm::SmallVector<mlir::Value>
launchFusedKernels(mlir::OpBuilder &builder, mlir::Location loc,
                   const RegionKernel &fused,
                   llvm::ArrayRef<RegionKernel> members,
                   llvm::ArrayRef<mlir::RankedTensorType> resultTypes);
/// A 1-D view of `buffer` (identity layout, as bufferization makes function
/// arguments and allocations), as kernels take their flat buffers.
mlir::Value flattenBuffer(mlir::OpBuilder &builder, mlir::Location loc,
                          mlir::Value buffer);
/// A `gpu.launch_func` of `kernel` on `arguments`, `grid` blocks of `block`
/// threads, with `sharedBytes` of dynamic shared memory (none for 0), in
/// clusters of `clusterBlocks` consecutive blocks along x where more than
/// one (sm_90 thread block clusters).
mlir::gpu::LaunchFuncOp
emitKernelLaunch(mlir::OpBuilder &builder, mlir::Location loc,
                 mlir::gpu::GPUFuncOp kernel, std::array<int64_t, 3> grid,
                 std::array<int64_t, 3> block, int64_t sharedBytes,
                 mlir::ValueRange arguments, int64_t clusterBlocks = 1);
/// Launches `kernel` at `builder`'s insertion point on the flat buffers of
/// its inputs and a new result buffer of `resultType`'s shape, and returns
/// that buffer as a tensor (without `resultType`'s encoding).
mlir::Value launchRegionKernel(mlir::OpBuilder &builder, mlir::Location loc,
                               const RegionKernel &kernel,
                               mlir::RankedTensorType resultType);

/// The attention family: scores, softmax and context in one kernel on the
/// m16n8k16 f16 atom, the scores kept in registers (an online softmax over
/// steps of keys), Q, K and V staged by asynchronous copies; the region's
/// score steps and context steps applied on the way.
llvm::Expected<RegionKernel>
buildAttentionKernel(KernelOp region, mlir::gpu::GPUModuleOp module,
                     llvm::StringRef name);
/// The convolution family: each thread a run of neighbouring outputs of a
/// convolution (see isConvolutionForKernel) along the output's last
/// dimension (the config's thread_tile), their window (filter taps and
/// input channels) walked in registers from the accumulator's initial
/// value, each input element the run reads loaded once, an input padded by
/// a constant read from the pad's source, the epilogue applied before the
/// run's stores.
llvm::Expected<RegionKernel>
buildConvolutionKernel(KernelOp region, mlir::gpu::GPUModuleOp module,
                       llvm::StringRef name);
/// Window elements (filter taps and input channels) a thread of the
/// convolution family takes without a loop.
constexpr int64_t kConvolutionUnrolledTaps = 64;
/// Of a window's reduction loops of `extents` (outermost first), the first
/// one unrolled: the innermost loops whose product is at most `maxTaps`
/// are unrolled, the ones before them are scf.for loops (extents.size()
/// when even the innermost one is longer).
unsigned getFirstUnrolledLoop(llvm::ArrayRef<int64_t> extents,
                              int64_t maxTaps = kConvolutionUnrolledTaps);
/// The elementwise family: so far a region of one 2-D transpose, as a copy
/// through workgroup memory in tiles of 32 x 32 elements that coalesces
/// both its reads and its writes. Fails, saying why, for any other region.
llvm::Expected<RegionKernel>
buildElementwiseKernel(KernelOp region, mlir::gpu::GPUModuleOp module,
                       llvm::StringRef name);
/// The launch of a transpose of `rows` x `columns` elements: one block of
/// `threads` threads a tile, tiles along the columns (x) and rows (y).
struct TransposeTiling {
  std::array<int64_t, 3> grid;
  int64_t threads;
};
TransposeTiling getTransposeTiling(int64_t rows, int64_t columns);

/// The row-reduction family: a softmax along the last dimension, one row
/// per block of threads, held in registers.
llvm::Expected<RegionKernel>
buildRowReductionKernel(KernelOp region, mlir::gpu::GPUModuleOp module,
                        llvm::StringRef name);

} // namespace tesa

#endif // TESA_CODEGEN_FAMILIES_H
