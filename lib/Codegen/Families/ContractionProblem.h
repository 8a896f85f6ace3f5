//===- ContractionProblem.h - What a contraction kernel computes -*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The description of one contraction that the family's emitters share: the
// operands and their strides, the loops, the accumulator's initial value,
// the K steps each column of tiles takes, and how results are stored. The
// exact-f32 FMA emitter (Contraction.cpp) and the tensor-core emitter
// (MmaContraction.cpp) both build a kernel from it.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_CODEGEN_FAMILIES_CONTRACTIONPROBLEM_H
#define TESA_LIB_CODEGEN_FAMILIES_CONTRACTIONPROBLEM_H

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Codegen/StagedTile.h"

#include "mlir/IR/AffineMap.h"

#include <functional>
#include <optional>
#include <vector>

namespace tesa {

/// The accumulator's initial value: a constant, or a tensor read through a
/// map from the contraction's loops.
struct InitialValue {
  std::optional<double> constant;
  mlir::Value source;
  llvm::SmallVector<int64_t> loopStrides;
};

/// The initial value of an accumulator `acc` that the contraction's loops
/// read through `map`.
InitialValue getInitialValue(mlir::Value acc, mlir::AffineMap map);
/// `init` at `loops` (read from `buffer`, its source's flat buffer, unless
/// it is a constant), in f32.
mlir::Value loadInitialValue(KernelEmitter &e, const InitialValue &init,
                             mlir::Value buffer,
                             llvm::ArrayRef<mlir::Value> loops);

/// The contraction's loops and sizes.
struct ContractionShape {
  int64_t batchLoop = -1, mLoop, nLoop, kLoop;
  int64_t batch = 1, m, n, k;
  unsigned numLoops;
};

/// Which K steps the blocks of threads take: every step (`blockK` = 0), or
/// only the kept blocks of a sparse B: the blocks of column tile x are
/// `entries[offsets[x]]` ... `entries[offsets[x + 1] - 1]`, each `blockK`
/// reduction elements from entry * blockK. With `slabColumns` set, a column
/// tile is several slabs of that many columns, its entries the blocks any of
/// them keeps, and bit j of `slabMasks[e]` says whether slab j keeps entry
/// e's block (the others' products are not made). With `walkTiles` above
/// one, that many neighbouring column tiles (a cluster's) walk one list:
/// tile x walks list x / walkTiles, its slabs' bits `tileSlabs` times
/// x mod walkTiles further up the masks.
struct KStepList {
  int64_t blockK = 0;
  std::vector<int32_t> offsets, entries;
  int64_t slabColumns = 0;
  std::vector<int32_t> slabMasks;
  int64_t walkTiles = 1;
};

/// What a contraction kernel computes: C = init + A * B over the loops of
/// `shape`, A and B read through their per-loop strides, then each result
/// value goes through `partEpilogue` (if set) and `epilogue` to the one
/// store. The products accumulate in f32; the sum with the initial value
/// is converted to `resultElement` first.
struct ContractionProblem {
  mlir::Value a, b;
  llvm::SmallVector<int64_t> aStrides, bStrides;
  ContractionShape shape;
  InitialValue init;
  KStepList steps;
  /// Slices the K steps are split into (1: none). With more, the kernel
  /// writes each slice's f32 sums to a workspace and a second kernel
  /// (emitSplitKFinish) adds them up, then applies the initial value and
  /// `store`.
  int64_t splitK = 1;
  /// With a persistent work list, the grid: as many blocks of threads as
  /// the chip runs at once, `blocksPerProcessor` on each multiprocessor.
  /// Each block takes every `blocks`-th output tile from its own.
  struct PersistentGrid {
    int64_t blocks = 0, blocksPerProcessor = 0;
  } persistent;
  /// Gathered loops: with `keptK` (`keptN`) set, the kernel walks only
  /// these K (N) indices, in order, as if the operands held only them (a
  /// sparse operand whose pruned channels are whole rows or columns).
  /// Outputs of columns outside `keptN` are not written: they are dead.
  std::vector<int32_t> keptK, keptN;
  mlir::Type resultElement;
  /// The elementwise steps after the product, and the product's result
  /// coordinates as a map from its loops.
  const Epilogue *epilogue = nullptr;
  mlir::AffineMap outputMap;
  /// Applied to each value before `epilogue` (a part's own epilogue).
  std::function<mlir::Value(mlir::OpBuilder &, mlir::Value)> partEpilogue;

  /// The tensors the kernel reads, in argument order: A, B, then (without
  /// split-K) getFinishInputs().
  llvm::SmallVector<mlir::Value> getInputs() const;
  /// The initial value's tensor if any, then the epilogue's inputs.
  llvm::SmallVector<mlir::Value> getFinishInputs() const;
  /// What is stored for the value (already converted) at `loops`: the
  /// epilogue's result and its index in the flat result. `buffers` are the
  /// epilogue inputs' buffers.
  std::pair<mlir::Value, mlir::Value>
  computeOutput(KernelEmitter &e, mlir::Value value,
                llvm::ArrayRef<mlir::Value> loops,
                llvm::ArrayRef<mlir::Value> buffers) const;
  /// How far apart in the flat result (or the split-K workspace) outputs one
  /// column apart are stored.
  int64_t getColumnStride() const;
  /// How far apart in the flat result outputs one step of loop `loop` apart
  /// are stored (0 where the result does not vary along it).
  int64_t getOutputStride(int64_t loop) const;
  /// The K and N extents the kernel walks (those of keptK and keptN where
  /// they are set).
  int64_t getWalkedK() const {
    return keptK.empty() ? shape.k : int64_t(keptK.size());
  }
  int64_t getWalkedN() const {
    return keptN.empty() ? shape.n : int64_t(keptN.size());
  }
  /// Elements of the split-K workspace: splitK x batch x M x the walked N
  /// (the kept columns where N is gathered).
  int64_t getWorkspaceElements() const {
    return splitK * shape.batch * shape.m * getWalkedN();
  }
};

/// The contraction `contraction` (see isContractionForKernel) as a
/// problem: its loops, operands and strides, initial value, result type
/// and output map; no epilogue and no split-K yet. With `views`, each
/// operand is read from the tensor it views (getStridedView), so that the
/// copies and reshapes between them are not made.
enum class OperandViews { None, SameType, Widening };
ContractionProblem
describeContraction(mlir::linalg::GenericOp contraction,
                    OperandViews views = OperandViews::None);

/// The values of `shape`'s loops at output (`row`, `column`) of batch
/// `batchId` (the reduction loop at zero).
llvm::SmallVector<mlir::Value> getOutputLoops(KernelEmitter &e,
                                              const ContractionShape &shape,
                                              mlir::Value batchId,
                                              mlir::Value row,
                                              mlir::Value column);

/// The type of the flat (1-D) buffer a kernel reads `tensor` through.
mlir::MemRefType getFlatType(mlir::Value tensor);

/// An f16 or f32 operand of a contraction of `shape` (the flat buffer `global`,
/// read through per-loop `strides`) staged in slices of `rows` rows (its
/// loop `rowLoop`, `rowCount` long) by `depth` reduction elements, for the
/// block of threads of batch `batchId`; without its ring.
StagedOperand stageOperand(KernelEmitter &e, mlir::Value global,
                           const ContractionShape &shape,
                           llvm::ArrayRef<int64_t> strides,
                           mlir::Value batchId, int64_t rowLoop,
                           int64_t rowCount, int64_t rows, int64_t depth);

/// A block of threads of a contraction kernel: its place in the grid (x:
/// column tiles, y: row tiles, z: slices x batches) and the kernel's
/// buffers.
struct ContractionBlock {
  mlir::Value batchId, slice, rowTile, columnTile;
  /// Without split-K, the initial value's and the store's buffers.
  mlir::Value initBuffer;
  llvm::SmallVector<mlir::Value> storeBuffers;
  /// The result buffer, or with split-K the workspace.
  mlir::Value out;

  static ContractionBlock get(KernelEmitter &e,
                              const ContractionProblem &problem,
                              mlir::gpu::GPUFuncOp kernel);
};

/// Writes the output at (`row`, `column`) of the block's batch whose sum
/// over this block's K steps is `acc` (f32): the initial value added,
/// converted and stored through the problem's epilogues; with split-K,
/// `acc` into the block's slice of the workspace.
void storeOutput(KernelEmitter &e, const ContractionProblem &problem,
                 const ContractionBlock &block, mlir::Value acc,
                 mlir::Value row, mlir::Value column);
/// The same for the outputs at (`row`, `column`) and (`row`, `column` + 1)
/// (`column` even, both inside the result), stored as one vector where
/// they lie next to each other in the result.
void storeOutputPair(KernelEmitter &e, const ContractionProblem &problem,
                     const ContractionBlock &block, mlir::Value first,
                     mlir::Value second, mlir::Value row, mlir::Value column);

/// storeOutputPair for the accumulators at (`row`, `column`) and (`row`,
/// `column` + 1) of a tensor-core tile (`column` even), each stored where
/// it lies inside the result.
void storeAccumulatorPair(KernelEmitter &e, const ContractionProblem &problem,
                          const ContractionBlock &block, mlir::Value first,
                          mlir::Value second, mlir::Value row,
                          mlir::Value column);

/// Outputs of a 16-byte chunk of 16-bit results.
constexpr int64_t kChunkOutputs = 8;

/// Two neighbouring accumulators of a tensor-core tile, at (`row`,
/// `column`) and (`row`, `column` + 1) of the output, `column` even.
struct AccumulatorPair {
  mlir::Value first, second, row, column;
};

/// Whether a quad of lanes can store its accumulators as 16-byte chunks of
/// the result (storeOutputChunks): one batch slice, 16-bit results, the
/// columns of a row next to each other, rows and batches whole chunks
/// apart.
bool canStoreOutputChunks(const ContractionProblem &problem);

/// The pairs of four 1 x 8 pieces of a tensor-core tile, held by the four
/// lanes of a quad (lanes 4i .. 4i + 3 of a warp) as the mma and wgmma
/// accumulators lie: lane q holds, of each piece c, its outputs 2q and
/// 2q + 1 (`pairs[c]`).
using QuadPieces = llvm::SmallVector<AccumulatorPair, 4>;

/// Stores the outputs of `quads` (see QuadPieces): the lanes of each quad
/// exchange their pairs by shuffles so that lane q stores piece q, one
/// 16-byte store, instead of four stores of 4 bytes each. The outputs of
/// several quads' pieces (the epilogue, with the loads of its inputs) are
/// computed before any of them is stored, so that those loads do not wait
/// behind the stores: `quadsPerBatch` quads at a time (more cost
/// registers: ptxas -v on the GPU suite's f16 region cases at sm_90, the
/// 128x256 wgmma tiles of linear_1024x128x2304 took 107 registers one quad
/// a batch, 112 in twos, 128 in fours, 140 in eights). Every lane of the
/// warp takes part; pieces outside the result are not stored. `lane` is
/// the lane's id in its warp.
void storeOutputChunks(KernelEmitter &e, const ContractionProblem &problem,
                       const ContractionBlock &block,
                       llvm::ArrayRef<QuadPieces> quads, mlir::Value lane,
                       int64_t quadsPerBatch = 2);

/// Stores the output of every element of the tile of `tileM` x `tileN`
/// (`tileN` a multiple of kChunkOutputs) from (`rowStart`, `columnStart`)
/// whose sum is zero: its initial value through the epilogues, with no
/// accumulators, for a tile that walks no K step. Thread `thread` of
/// `threads` takes every threads-th run of kChunkOutputs columns of a row,
/// the runs in row-major order, and stores it as one 16-byte chunk where
/// canStoreOutputChunks holds, else in pairs.
void storeInitialTile(KernelEmitter &e, const ContractionProblem &problem,
                      const ContractionBlock &block, mlir::Value rowStart,
                      mlir::Value columnStart, int64_t tileM, int64_t tileN,
                      mlir::Value thread, int64_t threads);

/// Runs `store` (the accumulators' stores) for a tile that walked `count`
/// K steps: always for a dense problem; for kept blocks (`steps.offsets`
/// set) where `count` is not zero, else `none` (storeInitialTile). Only the
/// stores are under the branch: wgmma products under one are serialised
/// by ptxas (1.75x slower on 32x32 slab groups at 50%). The branch is
/// taken on the warp's first lane's count, so that it is uniform.
void ifTileWalked(KernelEmitter &e, const ContractionProblem &problem,
                  mlir::Value count, llvm::function_ref<void()> store,
                  llvm::function_ref<void()> none);

/// Why the tensor-core emitters cannot stage `problem`'s operands in slices
/// of tileM (A) and tileN (B) rows by tileK, or none: f16 operands, kept
/// blocks of whole steps, 16-byte copies unless `narrowCopies`
/// (checkStagedOperand).
std::optional<std::string> checkStagedOperands(const ContractionProblem &problem,
                                               int64_t tileM, int64_t tileN,
                                               int64_t tileK,
                                               bool narrowCopies = false);

/// The K steps of tileK reduction elements that one column of tiles takes
/// (with split-K, the block's slice of them).
class KStepWalker {
public:
  /// `slice`: the block's slice of a split K (null without split-K).
  KStepWalker(KernelEmitter &e, const ContractionProblem &problem,
              mlir::gpu::GPUFuncOp kernel, int64_t tileK, mlir::Value slice)
      : e(e), problem(problem), kernel(kernel), tileK(tileK), slice(slice) {}

  /// The number of steps of column tile `columnTile`.
  mlir::Value getCount(mlir::Value columnTile);
  /// The reduction start of step `i` of `count` (the reduction's end, where
  /// every load is zero, for a step past the last).
  mlir::Value getStart(mlir::Value columnTile, mlir::Value i,
                       mlir::Value count);
  /// The slabs of column tile `columnTile` that keep step `i`'s block (an
  /// index whose bit j is slab j's; steps.slabMasks), where the tile is
  /// `tileSlabs` slabs.
  mlir::Value getSlabMask(mlir::Value columnTile, mlir::Value i,
                          int64_t tileSlabs);

private:
  /// The list of K steps column tile `columnTile` walks.
  mlir::Value getWalk(mlir::Value columnTile);
  mlir::Value table(llvm::StringRef suffix, llvm::ArrayRef<int32_t> data);
  /// All the steps of column tile `columnTile`, and the steps of a slice
  /// of a walk of `total` steps.
  mlir::Value getTotal(mlir::Value columnTile);
  mlir::Value getSliceSteps(mlir::Value total);

  KernelEmitter &e;
  const ContractionProblem &problem;
  mlir::gpu::GPUFuncOp kernel;
  int64_t tileK;
  mlir::Value slice;
};

/// The copies of the tensor-core emitters' K steps: step `i` of a column
/// tile's walk copies A's and B's slices into slot i % stages of their
/// rings, as one cp.async group.
struct StagedSteps {
  KernelEmitter &e;
  KStepWalker &steps;
  const StagedOperand &a, &b;
  mlir::Value columnTile, count, rowStart, columnStart;
  int64_t stages, threads;

  /// Issues the copies of step `i` when the step exists, and commits them
  /// as one group either way, so that every iteration has the same number
  /// of groups in flight.
  void issue(mlir::Value i);
};

/// The value stored for one output: `acc` (f32) plus the initial value at
/// `loops`, converted to the problem's result element type.
mlir::Value addInitialValue(KernelEmitter &e, const ContractionProblem &problem,
                            mlir::Value acc, mlir::Value initBuffer,
                            llvm::ArrayRef<mlir::Value> loops);

/// Emits the kernel that finishes a split-K `problem`: one thread per
/// output sums its slices of the workspace (the kernel's first argument;
/// then getFinishInputs()' buffers and the result), adds the initial value
/// and stores it. Its launch takes `kSplitKFinishThreads` threads a block.
void emitSplitKFinish(KernelEmitter &e, const ContractionProblem &problem,
                      mlir::gpu::GPUFuncOp kernel);
constexpr int64_t kSplitKFinishThreads = 256;

/// Emits `problem`'s kernel with FMA register tiles, and returns the bytes
/// of dynamic shared memory it takes.
int64_t emitFmaContraction(KernelEmitter &e, const ContractionProblem &problem,
                           TileConfigAttr config, mlir::gpu::GPUFuncOp kernel);
/// Emits `problem`'s kernel on the m16n8k16 tensor-core atom, its operand
/// tiles staged in dynamic shared memory by asynchronous copies.
void emitMmaContraction(KernelEmitter &e, const ContractionProblem &problem,
                        TileConfigAttr config, mlir::gpu::GPUFuncOp kernel);
/// Why the tensor-core emitter cannot compute `problem` with `config`, or
/// none.
std::optional<std::string> checkMmaProblem(const ContractionProblem &problem,
                                           TileConfigAttr config);

/// Emits `problem`'s kernel on the sm_90 warpgroup atom, its operand tiles
/// staged in the swizzled layout wgmma reads: by asynchronous copies of
/// every thread, or (copy = tma) by TMA loads that one more warp issues,
/// from the tensor maps getWgmmaTensorMaps describes (the kernel's last
/// arguments).
void emitWgmmaContraction(KernelEmitter &e, const ContractionProblem &problem,
                          TileConfigAttr config, mlir::gpu::GPUFuncOp kernel);
/// The tensor maps of A and B a warpgroup kernel with TMA copies takes;
/// none with copies of every thread.
std::vector<TensorMapOperand>
getWgmmaTensorMaps(const ContractionProblem &problem, TileConfigAttr config);
/// The shared-memory bytes of a warpgroup kernel's mbarriers (TMA copies).
int64_t getWgmmaBarrierBytes(TileConfigAttr config);
/// Why the warpgroup emitter cannot compute `problem` with `config`, or
/// none.
std::optional<std::string> checkWgmmaProblem(const ContractionProblem &problem,
                                             TileConfigAttr config);

} // namespace tesa

#endif // TESA_LIB_CODEGEN_FAMILIES_CONTRACTIONPROBLEM_H
