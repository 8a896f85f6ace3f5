//===- HostLaunch.h - One kernel launch as host loops -----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The pieces of --tesa-launches-to-host-loops: which ops the host loops give
// a meaning to, and HostLaunch, which replaces one launch by loops
// (HostLaunch.cpp; its tensor-core instructions in TensorCores.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_CONVERSION_LAUNCHESTOHOSTLOOPS_HOSTLAUNCH_H
#define TESA_LIB_CONVERSION_LAUNCHESTOHOSTLOOPS_HOSTLAUNCH_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Support/DebugStringHelper.h"

namespace tesa::host_loops {

using namespace mlir;

/// An op that makes a block's threads wait for each other or read each
/// other's values.
bool isSynchronizing(Operation *op);

/// Whether `op` is or contains a synchronising op.
bool synchronizes(Operation *op);

/// The asynchronous copies to workgroup memory (cp.async): the host copies
/// at once, so their groups and waits are no-ops.
bool isAsyncCopyOp(Operation *op);

/// An op whose value a thread knows without computing it: its ids, the
/// launch's sizes and the workgroup memory.
bool isIdOrSize(Operation *op);

/// A thread's dot-product instruction: NVVM's dp4a, gfx906's sdot4 and
/// fdot2 (without clamping).
bool isDotProduct(Operation *op);

/// A read of one accumulator of an NVVM tensor-core product (whose
/// accumulators the host loops keep per thread as a vector).
bool isAccumulatorRead(Operation *op);

/// The GPU ops the host loops give a meaning to (and a trap, which keeps
/// its own).
bool isEmulated(Operation *op);

/// Whether a value of `type` can be kept per thread in a host buffer.
bool isStorable(Type type);

/// `type` without a GPU address space.
Type getHostType(Type type);

/// An error on `launch`: why it cannot run on the host, with a note at `op`
/// where it has a line of a file (generated kernels' ops have none).
LogicalResult reportObstacle(gpu::LaunchFuncOp launch, const Twine &why,
                             Operation *op);

/// The host copies of the kernel modules' constant tables, by the table.
using HostGlobals = DenseMap<Operation *, StringAttr>;

/// Replaces one launch by host loops.
///
/// The launch becomes loops over blocks z, y, x. Inside, the kernel's body
/// is cut at each synchronising op: each stretch between two of them runs
/// in loops over threads z, y, x (x fastest, as lanes are numbered), one
/// thread after another. A value one stretch defines and a later one uses
/// is stored per thread in a host buffer indexed by the thread's linear id
/// (pure ops of other types, such as views of workgroup memory, are
/// recomputed where used). A barrier is the cut itself. A shuffle stores
/// its operand for every thread, then gives each thread its source lane's.
/// A loop or branch around a synchronising op runs on the host: a loop's
/// bounds must agree between the threads (checked as it runs) and its
/// iteration values are buffers; a branch's condition masks each thread
/// loop inside it.
class HostLaunch {
public:
  HostLaunch(gpu::LaunchFuncOp launch, gpu::GPUFuncOp kernel,
             HostGlobals &globals)
      : launch(launch), kernel(kernel), globals(globals), b(launch),
        loc(launch.getLoc()), grid(launch.getGridSizeOperandValues()),
        block(launch.getBlockSizeOperandValues()) {}

  /// Emits the loops, or fails with an error on the launch.
  LogicalResult emit();

private:
  /// A thread of a block, inside its thread loops.
  struct Thread {
    Value x, y, z, linear;
    /// The kernel's values as this thread sees them in this stretch.
    IRMapping values;
  };

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  /// A buffer before the block loops (freed after them).
  Value allocate(MemRefType type, ValueRange sizes);
  /// A buffer of one value of `type` a thread.
  Value allocatePerThread(Type type);
  /// Runs `body` in loops over the threads, for those where the enclosing
  /// branches' conditions hold.
  LogicalResult inThreads(function_ref<LogicalResult(Thread &)> body);
  /// `value` for `thread`: its own, a uniform value, a buffered one or one
  /// recomputed.
  FailureOr<Value> lookup(Thread &thread, Value value);
  /// What a thread or block id, a size or the workgroup memory is for
  /// `thread`, or null for other ops.
  Value getSpecialValue(Thread &thread, Operation *op);
  /// The value of `value` every active thread agrees on, on the host.
  FailureOr<Value> getUniform(Value value, int64_t initial);
  /// Stores `values` of each thread into `buffers` (per thread).
  LogicalResult storeEach(ValueRange values, ArrayRef<Value> buffers);
  /// A per-thread buffer for each of `values`, or failure with an error.
  FailureOr<SmallVector<Value>> allocateEach(ValueRange values);

  LogicalResult emitOps(Block &body);
  /// Emits `ops`, ops of one block: stretches and synchronising ops.
  LogicalResult emitRange(ArrayRef<Operation *> ops);
  /// Buffers for the values of `ops` that later ops use.
  DenseMap<Value, Value> allocateOutliving(ArrayRef<Operation *> ops);
  /// Clones `ops` for `thread`, storing the values later ops use into
  /// `outlive`.
  LogicalResult cloneStretch(Thread &thread, ArrayRef<Operation *> ops,
                             const DenseMap<Value, Value> &outlive);
  /// Replaces the asynchronous copies in `root` by loads and stores, and
  /// drops their groups, waits and tokens.
  LogicalResult finishAsyncCopies(Operation *root);
  LogicalResult emitStretch(ArrayRef<Operation *> ops);
  LogicalResult emitShuffle(gpu::ShuffleOp shuffle);
  /// ldmatrix: each lane's fragments of up to four 8x8 matrices whose rows
  /// the warp's lanes address.
  LogicalResult emitLoadMatrix(nvgpu::LdMatrixOp load);
  /// mma.sync m16n8k16: each lane's accumulators from the warp's
  /// fragments, in the PTX ISA's layout.
  LogicalResult emitMmaSync(nvgpu::MmaSyncOp mma);
  /// NVVM's mma.sync (row-major A, column-major B): f16 products into f32
  /// and s8 products into s32 accumulators, m16n8k8/16 and m8n8k16,
  /// m16n8k16/32; the accumulators, an LLVM struct, are kept per thread as
  /// a vector, which the reads of its members load.
  LogicalResult emitNvvmMma(NVVM::MmaOp mma);
  /// NVVM's mma.sp m16n8k32 (f16 into f32, sparsity selector 0): A's 2:4
  /// values in the m16n8k16 fragment layout, their positions in the
  /// metadata words of lanes 4g and 4g + 1 (rows g and g + 8, groups of
  /// four 0-3 and 4-7).
  LogicalResult emitNvvmMmaSparse(NVVM::MmaSpOp mma);
  /// A buffer of `value` for every thread (the one kept already where an
  /// earlier stretch made it).
  FailureOr<Value> keepPerThread(Value value);
  /// The linear id of the first thread of `thread`'s warp.
  Value getWarpStart(Thread &thread);
  /// A thread's place in its warp: the warp's first thread, and the lane
  /// as its group of four (g) and its place in it (t).
  struct LaneIds {
    Value warp, group, inGroup;
  };
  LaneIds getLaneIds(Thread &thread);
  /// The linear id of lane 4 `group` + `inGroup` of the warp.
  Value getLane(const LaneIds &ids, Value group, Value inGroup);
  /// A tensor-core operand's registers kept for every thread: one buffer
  /// of 2-D vectors (nvgpu, a register a row) or one buffer a register
  /// (NVVM: pairs of f16, or words of four s8).
  struct Fragments {
    SmallVector<Value> buffers;
  };
  FailureOr<Fragments> keepFragments(ValueRange registers);
  /// Element `element` of register `reg` of `lane`'s fragments, widened:
  /// f16 to f32, a signed byte to i32.
  Value readFragment(const Fragments &kept, Value lane, int64_t reg,
                     OpFoldResult element);
  /// A warp-wide product: each thread's accumulator i, at row g + 8 (i / 2)
  /// and column 2t + i % 2 of the tile, is `addProducts` of its initial
  /// value (`initialOf`); the accumulators are kept per thread as `type`
  /// (row-major) for `result`.
  LogicalResult emitWarpProduct(
      Value result, VectorType type,
      function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf,
      function_ref<Value(const LaneIds &, int64_t, Value, Value)> addProducts);
  /// A dense mma.sync of `m` rows and depth `k`, its registers holding
  /// `perWord` elements: A's register r + 2c (m16) or c holds rows g + 8r
  /// and elements 4c perWord + t perWord + e of k; B's register c the same
  /// elements of k for column g.
  LogicalResult
  emitDenseProduct(Value result, VectorType type,
                   function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf,
                   ValueRange a, ValueRange bRegisters, int64_t m, int64_t k,
                   int64_t perWord);
  /// A loop around synchronising ops: per warp where only warp-wide ops
  /// are inside, else for the block.
  LogicalResult emitFor(scf::ForOp loop);
  /// The loop for the block, or for the warp at warpStart.
  LogicalResult emitLoop(scf::ForOp loop);
  LogicalResult emitIf(scf::IfOp branch);
  /// Host types, host ids and host tables in `copy`, a clone for `thread`.
  /// `original` (the kernel's op `copy` clones, if any) is remapped where
  /// `copy` itself is replaced.
  LogicalResult adaptClone(Thread &thread, Operation *copy,
                           Operation *original = nullptr);
  /// A dot-product instruction as widened products added to its
  /// accumulator.
  Value expandDotProduct(Operation *op);
  LogicalResult fail(Operation *op, const Twine &why) {
    return reportObstacle(launch, why, op);
  }
  /// The error of a value no per-thread buffer can keep (a thread's own
  /// memref) that a later stretch uses.
  LogicalResult failLivingAcross(Value value) {
    return fail(value.getDefiningOp(), "a value of type " +
                                           debugString(value.getType()) +
                                           " lives across a barrier");
  }

  gpu::LaunchFuncOp launch;
  gpu::GPUFuncOp kernel;
  HostGlobals &globals;
  OpBuilder b;
  Location loc;
  gpu::KernelDim3 grid, block;
  /// The insertion point of buffers, and that of their deallocation.
  OpBuilder::InsertPoint allocations, deallocations;
  Value threadCount, workgroupMemory;
  /// The linear id of the first thread of the warp whose loop is being
  /// emitted (a loop around warp-wide ops only, whose bounds need agree
  /// within a warp), or null when thread loops cover the block.
  Value warpStart;
  /// The block loops' indices, z, y, x.
  Value blockId[3];
  /// Values the same for every thread of a block: the kernel's arguments,
  /// the block's ids, workgroup memory, the host loops' indices.
  IRMapping uniform;
  /// The per-thread buffers of values that outlive their stretch.
  DenseMap<Value, Value> buffers;
  /// Conditions (and the branch taken) of the branches around the op being
  /// emitted.
  SmallVector<std::pair<Value, bool>> conditions;
};

} // namespace tesa::host_loops

#endif // TESA_LIB_CONVERSION_LAUNCHESTOHOSTLOOPS_HOSTLAUNCH_H
