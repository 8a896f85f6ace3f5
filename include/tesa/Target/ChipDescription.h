//===- ChipDescription.h - What the policies know about a GPU ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// One description per supported chip: the facts the decomposition and
// specialisation policies need (warp or wave size, matrix and dot
// instructions, shared memory, multiprocessors, L2 cache, the block-size
// menu) and the cost table the decomposition uses. docs/decomposition.md
// says where the costs come from.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_TARGET_CHIPDESCRIPTION_H
#define TESA_TARGET_CHIPDESCRIPTION_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace tesa {

/// The MLIR dialect a chip's kernels are emitted through.
enum class GPUBackend { NVVM, ROCDL };

/// The precision a part is computed in. Parts kept at 4 or 8 bits are both
/// computed on int8 instructions.
enum class ComputeKind { F32 = 0, F16 = 1, I8 = 2 };

/// The compute kind for a part whose elements are kept at `bits`.
ComputeKind getComputeKind(unsigned bits);

/// A warp-level matrix instruction shape (`mma.sync` m x n x k).
struct MatrixShape {
  int64_t m, n, k;
};

/// A block of a sparse operand: `channels` along the output dimension the
/// operand shares with the result, `reduction` along the contracted one.
struct BlockShape {
  int64_t channels, reduction;
};

/// The cost of one block of `shape` for parts of `kind`, as measured.
struct MeasuredBlockCost {
  ComputeKind kind;
  BlockShape shape;
  double cost;
};

/// Relative costs, per column of the dense operand, in units of one kept
/// f32 element computed by the fine-grained kernel.
struct KernelCosts {
  /// Fine-grained kernel, per kept element, indexed by ComputeKind.
  double finePerElement[3];
  /// Block kernel, per multiply-accumulate of a block computed densely, and
  /// fixed per block (work-list entry, fragment setup), indexed by
  /// ComputeKind: the cost of a shape that `measuredBlocks` does not list.
  double blockPerMac[3];
  double blockOverhead[3];
  /// Per-block costs measured on the chip, for the shapes they list.
  llvm::ArrayRef<MeasuredBlockCost> measuredBlocks;
  /// Where the numbers come from: "analytical", or the device, date and
  /// commit of the measurement.
  llvm::StringRef origin;
  /// Fixed costs, indexed by ComputeKind: per part (a launch, and for int8
  /// parts the dense operand's quantisation), and per channel with work of
  /// a fine-grained part (its threads, one per result element, each start a
  /// walk of the channel's work list and update one result element). Only
  /// measured tables have them; the analytical ones leave them zero.
  double partOverhead[3] = {0, 0, 0};
  double fineChannelOverhead[3] = {0, 0, 0};
};

struct ChipDescription {
  llvm::StringRef name;
  GPUBackend backend;
  unsigned warpSize;
  /// Shared memory a block may use: statically, and at most (dynamic shared
  /// memory beyond the static limit, which a kernel opts in to at launch).
  int64_t sharedMemoryPerBlock, maxSharedMemoryPerBlock;
  unsigned multiprocessors;
  /// Size of the level-2 cache, in bytes.
  int64_t l2CacheBytes;
  /// Tensor-core shapes, if the chip has them.
  std::optional<MatrixShape> f16Mma, i8Mma;
  /// The sparse tensor-core shape for f16 (`mma.sp`, sm_80+), whose A
  /// operand keeps at most two of every four consecutive reduction elements.
  std::optional<MatrixShape> sparseF16Mma;
  /// 4-way int8 dot product (`dp4a`, `v_dot4_i32_i8`).
  bool hasInt8Dot4;
  /// 2-way f16 dot product into f32 (`v_dot2_f32_f16`).
  bool hasF16Dot2;
  /// Asynchronous copies from global to shared memory (`cp.async`, sm_80+).
  bool hasAsyncCopy;
  /// Target features passed to the backend (e.g. the PTX version).
  llvm::StringRef features;
  llvm::ArrayRef<BlockShape> blockMenu;
  KernelCosts costs;
  /// Per-block costs of 2:4 structured f16 blocks measured on the chip, in
  /// the units of `costs`.
  llvm::ArrayRef<MeasuredBlockCost> structuredCosts = {};
  /// Grid dependency control (`griddepcontrol`, sm_90+): a kernel may be
  /// launched before its predecessor in the stream has finished.
  bool hasGridDependencyControl = false;
  /// Warpgroup tensor-core products (`wgmma.mma_async`, sm_90a): the
  /// contraction family's wgmma_f16_m64nNk16 atom.
  bool hasWarpgroupMma = false;
  /// The chip the backend compiles for where it is not `name` (sm_90a:
  /// wgmma is an architecture-specific feature of sm_90).
  llvm::StringRef targetChip = {};
  /// The tensor memory accelerator (TMA, `cp.async.bulk.tensor`, sm_90):
  /// tiles copied by one thread from a tensor map, signalled through
  /// mbarriers.
  bool hasTensorMemoryAccelerator = false;

  llvm::StringRef getTargetChip() const {
    return targetChip.empty() ? name : targetChip;
  }

  /// The matrix instruction used for block parts of `kind`, if any.
  std::optional<MatrixShape> getMatrixShape(ComputeKind kind) const;
  /// Whether a block part of `kind` may use `shape` on this chip.
  bool acceptsBlock(ComputeKind kind, BlockShape shape) const;
  /// Whether a 2:4 structured part (f16, sparse tensor cores) may use
  /// `shape` on this chip.
  bool acceptsStructuredBlock(BlockShape shape) const;
  /// The cost of one block of `shape` in a part of `kind`: measured where
  /// the cost table lists the shape, else from the per-MAC rate.
  double getBlockCost(ComputeKind kind, BlockShape shape) const;
  /// The cost of one 2:4 structured f16 block of `shape`: measured where
  /// `structuredCosts` lists the shape, else half the f16 block's (half the
  /// multiply-accumulates and half the packed values).
  double getStructuredBlockCost(BlockShape shape) const;
};

/// The description of `name` (e.g. "sm_80", "gfx906"), or null.
const ChipDescription *lookupChip(llvm::StringRef name);

/// The description of `name`, or an error that lists the known chips.
llvm::Expected<const ChipDescription &> getChip(llvm::StringRef name);

/// `name`, which must be a chip of `backend`; the error lists the
/// backend's chips otherwise.
llvm::Expected<const ChipDescription &> getChip(GPUBackend backend,
                                                llvm::StringRef name);
/// The backend's name in options and libraries: "nvvm" or "rocdl".
llvm::StringRef getGPUBackendName(GPUBackend backend);
/// The backends' names, for the options that take one.
inline llvm::cl::ValuesClass getGPUBackendValues() {
  return llvm::cl::values(
      clEnumValN(GPUBackend::NVVM, "nvvm", "NVIDIA GPUs (NVVM, PTX)"),
      clEnumValN(GPUBackend::ROCDL, "rocdl", "AMD GPUs (ROCDL)"));
}

/// Every known chip.
llvm::ArrayRef<ChipDescription> getKnownChips();

/// The known chip names for `backend` (all if none), comma separated.
std::string
getKnownChipNames(std::optional<GPUBackend> backend = std::nullopt);

} // namespace tesa

#endif // TESA_TARGET_CHIPDESCRIPTION_H
