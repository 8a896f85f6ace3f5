//===- LaunchesToHostLoops.cpp - Kernel launches as host loops ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Runs kernel launches as loops on the host: each launch becomes loops over
// its blocks, and each stretch of the kernel between two points where its
// threads synchronise or exchange values (barriers, shuffles, the warp-wide
// ldmatrix and mma.sync) becomes loops over the block's threads. Values
// that live across such a point are kept per thread in host buffers;
// workgroup memory is a host buffer shared by a block's threads. A checking
// aid for machines without a GPU.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

namespace tesa {
#define GEN_PASS_DEF_LAUNCHESTOHOSTLOOPS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// An op that makes a block's threads wait for each other or read each
/// other's values.
bool isSynchronizing(Operation *op) {
  return isa<gpu::BarrierOp, NVVM::SyncWarpOp, gpu::ShuffleOp,
             nvgpu::LdMatrixOp, nvgpu::MmaSyncOp, NVVM::MmaOp, NVVM::MmaSpOp>(
      op);
}

/// Whether `op` is or contains a synchronising op.
bool synchronizes(Operation *op) {
  return op
      ->walk([](Operation *nested) {
        return isSynchronizing(nested) ? WalkResult::interrupt()
                                       : WalkResult::advance();
      })
      .wasInterrupted();
}

/// The asynchronous copies to workgroup memory (cp.async): the host copies
/// at once, so their groups and waits are no-ops.
bool isAsyncCopyOp(Operation *op) {
  return isa<nvgpu::DeviceAsyncCopyOp, nvgpu::DeviceAsyncCreateGroupOp,
             nvgpu::DeviceAsyncWaitOp, NVVM::CpAsyncCommitGroupOp,
             NVVM::CpAsyncWaitGroupOp>(op);
}

/// An op whose value a thread knows without computing it: its ids, the
/// launch's sizes and the workgroup memory.
bool isIdOrSize(Operation *op) {
  return isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp,
             gpu::LaneIdOp, gpu::DynamicSharedMemoryOp>(op);
}

/// A thread's dot-product instruction: NVVM's dp4a, gfx906's sdot4 and
/// fdot2 (without clamping).
bool isDotProduct(Operation *op) {
  if (isa<NVVM::DotAccumulate4WayOp>(op))
    return true;
  auto call = dyn_cast<LLVM::CallIntrinsicOp>(op);
  return call &&
         llvm::is_contained(
             ArrayRef<StringRef>{"llvm.amdgcn.sdot4", "llvm.amdgcn.fdot2"},
             call.getIntrin()) &&
         matchPattern(call.getArgs().back(), m_Zero());
}

/// A read of one accumulator of an NVVM tensor-core product (whose
/// accumulators the host loops keep per thread as a vector).
bool isAccumulatorRead(Operation *op) {
  auto extract = dyn_cast<LLVM::ExtractValueOp>(op);
  return extract && isa_and_nonnull<NVVM::MmaOp, NVVM::MmaSpOp>(
                        extract.getContainer().getDefiningOp());
}

/// The GPU ops the host loops give a meaning to.
bool isEmulated(Operation *op) {
  return isIdOrSize(op) || isSynchronizing(op) || isAsyncCopyOp(op) ||
         isDotProduct(op) || isAccumulatorRead(op) || isa<gpu::ReturnOp>(op);
}

/// Whether a value of `type` can be kept per thread in a host buffer.
bool isStorable(Type type) {
  return type.isIntOrIndexOrFloat() || isa<VectorType>(type);
}

/// `type` without a GPU address space.
Type getHostType(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref ||
      !isa_and_nonnull<gpu::AddressSpaceAttr>(memref.getMemorySpace()))
    return type;
  return MemRefType::get(memref.getShape(), memref.getElementType(),
                         memref.getLayout());
}

/// `type` as the IR prints it.
std::string describe(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

using Obstacle = std::pair<std::string, Operation *>;

/// Why `kernel` cannot run as host loops, with the op that prevents it (or
/// null), or nothing where it can.
std::optional<Obstacle> getHostObstacle(gpu::GPUFuncOp kernel) {
  if (!kernel.getBody().hasOneBlock())
    return Obstacle("its body has several blocks", nullptr);
  if (!kernel.getPrivateAttributions().empty())
    return Obstacle("it has private attributions", nullptr);
  for (BlockArgument buffer : kernel.getWorkgroupAttributions())
    if (!cast<MemRefType>(buffer.getType()).hasStaticShape())
      return Obstacle("a workgroup attribution has a dynamic shape", nullptr);
  auto kernels = kernel->getParentOfType<gpu::GPUModuleOp>();
  std::optional<Obstacle> obstacle;
  bool namesInstruction = false;
  kernel.getBody().walk([&](Operation *op) {
    if (isEmulated(op))
      return WalkResult::advance();
    if (synchronizes(op) && !isa<scf::ForOp, scf::IfOp>(op)) {
      obstacle = Obstacle(("its threads synchronise inside '" +
                           op->getName().getStringRef() + "'")
                              .str(),
                          op);
      return WalkResult::interrupt();
    }
    if (auto table = dyn_cast<memref::GetGlobalOp>(op))
      if (SymbolTable::lookupSymbolIn(kernels, table.getNameAttr()))
        return WalkResult::advance();
    StringRef dialect = op->getName().getDialectNamespace();
    bool deviceOnly = llvm::is_contained(
        ArrayRef<StringRef>{"gpu", "nvvm", "rocdl", "nvgpu", "llvm"}, dialect);
    bool namesSymbol = llvm::any_of(op->getAttrs(), [](NamedAttribute attr) {
      return isa<SymbolRefAttr>(attr.getValue());
    });
    if (!deviceOnly && !namesSymbol)
      return WalkResult::advance();
    // The first GPU instruction names the obstacle best (a wgmma, rather
    // than the LLVM constants around it).
    bool instruction = dialect != "llvm" && dialect != "gpu";
    if (!obstacle || (instruction && !namesInstruction)) {
      obstacle =
          Obstacle((Twine(deviceOnly ? "it uses '" : "it names a symbol in '") +
                    op->getName().getStringRef() + "'")
                       .str(),
                   op);
      namesInstruction = instruction;
    }
    return instruction ? WalkResult::interrupt() : WalkResult::advance();
  });
  return obstacle;
}

/// An error on `launch`: why it cannot run on the host, with a note at `op`
/// where it has a line of a file (generated kernels' ops have none).
LogicalResult reportObstacle(gpu::LaunchFuncOp launch, const Twine &why,
                             Operation *op) {
  InFlightDiagnostic error = launch.emitError()
                             << "cannot run " << launch.getKernel()
                             << " on the host: " << why;
  auto line = op ? dyn_cast<FileLineColLoc>(op->getLoc()) : FileLineColLoc();
  if (line && line.getLine() != 0)
    error.attachNote(line) << "here";
  return failure();
}

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

Value HostLaunch::allocate(MemRefType type, ValueRange sizes) {
  OpBuilder::InsertionGuard guard(b);
  b.restoreInsertionPoint(allocations);
  Value buffer =
      memref::AllocOp::create(b, loc, type, sizes, b.getI64IntegerAttr(64));
  allocations = b.saveInsertionPoint();
  b.restoreInsertionPoint(deallocations);
  memref::DeallocOp::create(b, loc, buffer);
  return buffer;
}

Value HostLaunch::allocatePerThread(Type type) {
  return allocate(MemRefType::get({ShapedType::kDynamic}, type), threadCount);
}

FailureOr<SmallVector<Value>> HostLaunch::allocateEach(ValueRange values) {
  SmallVector<Value> result;
  for (Value value : values) {
    if (!isStorable(value.getType()))
      return fail(value.getDefiningOp(), "a value of type " +
                                             describe(value.getType()) +
                                             " lives across a barrier");
    result.push_back(allocatePerThread(value.getType()));
  }
  return result;
}

LogicalResult
HostLaunch::inThreads(function_ref<LogicalResult(Thread &)> body) {
  OpBuilder::InsertionGuard guard(b);
  Value zero = index(0), one = index(1);
  Thread thread;
  if (warpStart) {
    // The warp's lanes, by linear id.
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, warpStart, index(32)),
        threadCount);
    auto loop = scf::ForOp::create(b, loc, warpStart, end, one);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    thread.linear = loop.getInductionVar();
    thread.x = arith::RemUIOp::create(b, loc, thread.linear, block.x);
    Value rest = arith::DivUIOp::create(b, loc, thread.linear, block.x);
    thread.y = arith::RemUIOp::create(b, loc, rest, block.y);
    thread.z = arith::DivUIOp::create(b, loc, rest, block.y);
  } else {
    SmallVector<Value> ids;
    for (Value size : {block.z, block.y, block.x}) {
      auto loop = scf::ForOp::create(b, loc, zero, size, one);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      ids.push_back(loop.getInductionVar());
    }
    thread.z = ids[0];
    thread.y = ids[1];
    thread.x = ids[2];
    Value plane = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, thread.z, block.y), thread.y);
    thread.linear = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, plane, block.x), thread.x);
  }
  Value active;
  for (auto [condition, taken] : conditions) {
    FailureOr<Value> holds = lookup(thread, condition);
    if (failed(holds))
      return failure();
    Value value = *holds;
    if (!taken)
      value = arith::XOrIOp::create(b, loc, value,
                                    arith::ConstantIntOp::create(b, loc, 1, 1));
    active = active ? arith::AndIOp::create(b, loc, active, value) : value;
  }
  if (active) {
    auto ifActive = scf::IfOp::create(b, loc, active, /*withElse=*/false);
    b.setInsertionPoint(ifActive.thenBlock()->getTerminator());
  }
  return body(thread);
}

Value HostLaunch::getSpecialValue(Thread &thread, Operation *op) {
  auto pick = [](gpu::Dimension dimension, Value x, Value y, Value z) {
    return dimension == gpu::Dimension::x   ? x
           : dimension == gpu::Dimension::y ? y
                                            : z;
  };
  if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
    return pick(id.getDimension(), thread.x, thread.y, thread.z);
  if (isa<gpu::LaneIdOp>(op))
    return arith::RemUIOp::create(b, loc, thread.linear, index(32));
  if (auto size = dyn_cast<gpu::BlockDimOp>(op))
    return pick(size.getDimension(), block.x, block.y, block.z);
  if (auto size = dyn_cast<gpu::GridDimOp>(op))
    return pick(size.getDimension(), grid.x, grid.y, grid.z);
  if (auto id = dyn_cast<gpu::BlockIdOp>(op))
    return pick(id.getDimension(), blockId[2], blockId[1], blockId[0]);
  if (isa<gpu::DynamicSharedMemoryOp>(op))
    return workgroupMemory;
  return Value();
}

FailureOr<Value> HostLaunch::lookup(Thread &thread, Value value) {
  if (Value known = thread.values.lookupOrNull(value))
    return known;
  if (Value known = uniform.lookupOrNull(value))
    return known;
  Operation *def = value.getDefiningOp();
  Value result;
  if (def)
    result = getSpecialValue(thread, def);
  // A copy group's token from an earlier stretch: the copies are done, and
  // the ops that take it go when the launch is emitted.
  if (isa<nvgpu::DeviceAsyncTokenType>(value.getType()))
    result = UnrealizedConversionCastOp::create(b, loc, value.getType(),
                                                ValueRange{})
                 .getResult(0);
  if (def && isAccumulatorRead(def)) {
    auto extract = cast<LLVM::ExtractValueOp>(def);
    Value accumulators = memref::LoadOp::create(
        b, loc, buffers.lookup(extract.getContainer()), thread.linear);
    result =
        vector::ExtractOp::create(b, loc, accumulators, extract.getPosition());
  }
  if (!result) {
    if (Value buffer = buffers.lookup(value)) {
      result = memref::LoadOp::create(b, loc, buffer, thread.linear);
    } else if (def && def->getNumRegions() == 0 && isMemoryEffectFree(def)) {
      // Recomputed where it is used: views of workgroup memory, constants.
      for (Value operand : def->getOperands()) {
        FailureOr<Value> mapped = lookup(thread, operand);
        if (failed(mapped))
          return failure();
        thread.values.map(operand, *mapped);
      }
      Operation *copy = b.clone(*def, thread.values);
      if (failed(adaptClone(thread, copy)))
        return failure();
      return thread.values.lookup(value);
    } else {
      return fail(def, "a value of type " + describe(value.getType()) +
                           " lives across a barrier");
    }
  }
  thread.values.map(value, result);
  return result;
}

LogicalResult HostLaunch::adaptClone(Thread &thread, Operation *copy,
                                     Operation *original) {
  SmallVector<Operation *> special;
  copy->walk([&](Operation *op) {
    for (Value result : op->getResults())
      result.setType(getHostType(result.getType()));
    for (Region &region : op->getRegions())
      for (BlockArgument argument : region.getArguments())
        argument.setType(getHostType(argument.getType()));
    if (auto table = dyn_cast<memref::GetGlobalOp>(op)) {
      auto kernels = kernel->getParentOfType<gpu::GPUModuleOp>();
      Operation *global =
          SymbolTable::lookupSymbolIn(kernels, table.getNameAttr());
      table.setNameAttr(FlatSymbolRefAttr::get(globals.lookup(global)));
    }
    if ((op != copy && isa<gpu::GPUDialect>(op->getDialect())) ||
        isDotProduct(op))
      special.push_back(op);
  });
  for (Operation *op : special) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(op);
    Value replacement;
    if (isDotProduct(op))
      replacement = expandDotProduct(op);
    else
      replacement = getSpecialValue(thread, op);
    if (!replacement)
      return fail(op, "'" + op->getName().getStringRef() +
                          "' is nested where it cannot run");
    op->getResult(0).replaceAllUsesWith(replacement);
    // The kernel's op, whose clone this was, now stands for the
    // replacement.
    if (op == copy && original)
      thread.values.map(original->getResult(0), replacement);
    op->erase();
  }
  return success();
}

Value HostLaunch::expandDotProduct(Operation *op) {
  // Its operands as vectors of four i8 or two f16, signed or not, and its
  // accumulator.
  Value a = op->getOperand(0), bVector = op->getOperand(1), sum;
  bool aSigned = true, bSigned = true;
  if (auto dot = dyn_cast<NVVM::DotAccumulate4WayOp>(op)) {
    a = dot.getA();
    bVector = dot.getB();
    sum = dot.getC();
    aSigned = dot.getAType() == NVVM::DotAccumulateType::SIGNED;
    bSigned = dot.getBType() == NVVM::DotAccumulateType::SIGNED;
  } else {
    sum = op->getOperand(2);
    if (a.getType().isInteger(32)) {
      // sdot4 takes its bytes packed in words, the first in the low byte.
      auto words = VectorType::get({1}, a.getType());
      auto bytes = VectorType::get({4}, b.getI8Type());
      auto unpack = [&](Value word) -> Value {
        return vector::BitCastOp::create(
            b, loc, bytes, vector::FromElementsOp::create(b, loc, words, word));
      };
      a = unpack(a);
      bVector = unpack(bVector);
    }
  }
  Type accumulator = sum.getType();
  int64_t lanes = cast<VectorType>(a.getType()).getNumElements();
  for (int64_t lane = 0; lane < lanes; ++lane) {
    auto widen = [&](Value vector, bool isSigned) -> Value {
      Value element =
          vector::ExtractOp::create(b, loc, vector, ArrayRef<int64_t>{lane});
      if (isa<FloatType>(accumulator))
        return arith::ExtFOp::create(b, loc, accumulator, element);
      if (isSigned)
        return arith::ExtSIOp::create(b, loc, accumulator, element);
      return arith::ExtUIOp::create(b, loc, accumulator, element);
    };
    Value x = widen(a, aSigned), y = widen(bVector, bSigned);
    if (isa<FloatType>(accumulator))
      sum = math::FmaOp::create(b, loc, x, y, sum);
    else
      sum = arith::AddIOp::create(b, loc, sum,
                                  arith::MulIOp::create(b, loc, x, y));
  }
  return sum;
}

LogicalResult HostLaunch::storeEach(ValueRange values,
                                    ArrayRef<Value> targets) {
  if (values.empty())
    return success();
  return inThreads([&](Thread &thread) -> LogicalResult {
    // Every value first: a loop's next values may be its current ones in
    // another order.
    SmallVector<Value> resolved;
    for (Value value : values) {
      FailureOr<Value> mapped = lookup(thread, value);
      if (failed(mapped))
        return failure();
      resolved.push_back(*mapped);
    }
    for (auto [value, target] : llvm::zip(resolved, targets))
      memref::StoreOp::create(b, loc, value, target, thread.linear);
    return success();
  });
}

FailureOr<Value> HostLaunch::getUniform(Value value, int64_t initial) {
  if (Value known = uniform.lookupOrNull(value))
    return known;
  if (Operation *def = value.getDefiningOp();
      def && def->hasTrait<OpTrait::ConstantLike>())
    return b.clone(*def)->getResult(0);
  if (!value.getType().isIndex())
    return fail(value.getDefiningOp(),
                "a loop around a barrier has bounds of type " +
                    describe(value.getType()));
  Value slot = allocate(MemRefType::get({}, b.getIndexType()), {});
  memref::StoreOp::create(b, loc, index(initial), slot);
  if (failed(inThreads([&](Thread &thread) -> LogicalResult {
        FailureOr<Value> mine = lookup(thread, value);
        if (failed(mine))
          return failure();
        memref::StoreOp::create(b, loc, *mine, slot);
        return success();
      })))
    return failure();
  Value agreed = memref::LoadOp::create(b, loc, slot);
  if (failed(inThreads([&](Thread &thread) -> LogicalResult {
        FailureOr<Value> mine = lookup(thread, value);
        if (failed(mine))
          return failure();
        Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           *mine, agreed);
        cf::AssertOp::create(
            b, loc, same,
            "tesa host loops: the threads disagree on the bounds of a loop "
            "around a barrier");
        return success();
      })))
    return failure();
  return agreed;
}

DenseMap<Value, Value>
HostLaunch::allocateOutliving(ArrayRef<Operation *> ops) {
  DenseMap<Value, Value> outlive;
  if (ops.empty())
    return outlive;
  llvm::SmallPtrSet<Operation *, 16> members(ops.begin(), ops.end());
  Block *body = ops.front()->getBlock();
  auto usedLater = [&](Value value) {
    return llvm::any_of(value.getUsers(), [&](Operation *user) {
      return !members.contains(body->findAncestorOpInBlock(*user));
    });
  };
  for (Operation *op : ops) {
    // Ids, constants and accumulator reads are recomputed where used.
    if (isIdOrSize(op) || isAccumulatorRead(op) ||
        op->hasTrait<OpTrait::ConstantLike>())
      continue;
    for (Value result : op->getResults())
      if (usedLater(result) && isStorable(result.getType()))
        outlive[result] = allocatePerThread(result.getType());
  }
  return outlive;
}

LogicalResult HostLaunch::cloneStretch(Thread &thread,
                                       ArrayRef<Operation *> ops,
                                       const DenseMap<Value, Value> &outlive) {
  for (Operation *op : ops) {
    if (isIdOrSize(op) || isAccumulatorRead(op))
      continue;
    llvm::SetVector<Value> used(op->getOperands().begin(),
                                op->getOperands().end());
    getUsedValuesDefinedAbove(op->getRegions(), used);
    for (Value value : used) {
      FailureOr<Value> mapped = lookup(thread, value);
      if (failed(mapped))
        return failure();
      thread.values.map(value, *mapped);
    }
    Operation *copy = b.clone(*op, thread.values);
    if (failed(adaptClone(thread, copy, op)))
      return failure();
    for (Value result : op->getResults())
      if (Value buffer = outlive.lookup(result))
        memref::StoreOp::create(b, loc, thread.values.lookup(result), buffer,
                                thread.linear);
  }
  return success();
}

LogicalResult HostLaunch::emitStretch(ArrayRef<Operation *> ops) {
  if (ops.empty())
    return success();
  DenseMap<Value, Value> outlive = allocateOutliving(ops);
  buffers.insert(outlive.begin(), outlive.end());
  return inThreads(
      [&](Thread &thread) { return cloneStretch(thread, ops, outlive); });
}

FailureOr<Value> HostLaunch::keepPerThread(Value value) {
  if (Value kept = buffers.lookup(value))
    return kept;
  FailureOr<SmallVector<Value>> kept = allocateEach(ValueRange{value});
  if (failed(kept) || failed(storeEach(value, *kept)))
    return failure();
  return kept->front();
}

Value HostLaunch::getWarpStart(Thread &thread) {
  return arith::SubIOp::create(
      b, loc, thread.linear,
      arith::RemUIOp::create(b, loc, thread.linear, index(32)));
}

LogicalResult HostLaunch::emitLoadMatrix(nvgpu::LdMatrixOp load) {
  // Lane 8i + r gives the address of row r of matrix i.
  SmallVector<Value> rowStarts;
  for (Value position : load.getIndices()) {
    FailureOr<Value> kept = keepPerThread(position);
    if (failed(kept))
      return failure();
    rowStarts.push_back(*kept);
  }
  FailureOr<SmallVector<Value>> results = allocateEach(load.getResult());
  if (failed(results))
    return failure();
  auto type = cast<VectorType>(load.getResult().getType());
  int64_t perLane = type.getDimSize(1);
  if (load.getTranspose() && perLane != 2)
    return fail(load, "a transposed matrix load of 8-bit elements");
  return inThreads([&](Thread &thread) -> LogicalResult {
    FailureOr<Value> matrix = lookup(thread, load.getSrcMemref());
    if (failed(matrix))
      return failure();
    Value lane = arith::RemUIOp::create(b, loc, thread.linear, index(32));
    Value warp = getWarpStart(thread);
    Value group = arith::DivUIOp::create(b, loc, lane, index(4));
    Value inGroup = arith::RemUIOp::create(b, loc, lane, index(4));
    SmallVector<Value> elements;
    for (int64_t i = 0; i < type.getDimSize(0); ++i) {
      for (int64_t j = 0; j < perLane; ++j) {
        // Lane (g, t) holds row g, elements t * perLane + j of each matrix;
        // transposed, column g of rows 2t + j.
        Value row = group, column;
        Value inRow = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, inGroup, index(perLane)),
            index(j));
        column = inRow;
        if (load.getTranspose())
          std::swap(row, column);
        Value source = arith::AddIOp::create(
            b, loc, warp, arith::AddIOp::create(b, loc, row, index(8 * i)));
        SmallVector<Value> indices;
        for (Value starts : rowStarts)
          indices.push_back(memref::LoadOp::create(b, loc, starts, source));
        indices.back() = arith::AddIOp::create(b, loc, indices.back(), column);
        Value element = memref::LoadOp::create(b, loc, *matrix, indices);
        elements.push_back(element);
      }
    }
    Value result = vector::FromElementsOp::create(b, loc, type, elements);
    memref::StoreOp::create(b, loc, result, results->front(), thread.linear);
    buffers[load.getResult()] = results->front();
    return success();
  });
}

HostLaunch::LaneIds HostLaunch::getLaneIds(Thread &thread) {
  Value lane = arith::RemUIOp::create(b, loc, thread.linear, index(32));
  return {getWarpStart(thread), arith::DivUIOp::create(b, loc, lane, index(4)),
          arith::RemUIOp::create(b, loc, lane, index(4))};
}

Value HostLaunch::getLane(const LaneIds &ids, Value group, Value inGroup) {
  return arith::AddIOp::create(
      b, loc, ids.warp,
      arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, group, index(4)), inGroup));
}

FailureOr<HostLaunch::Fragments>
HostLaunch::keepFragments(ValueRange registers) {
  Fragments kept;
  for (Value value : registers) {
    FailureOr<Value> buffer = keepPerThread(value);
    if (failed(buffer))
      return failure();
    kept.buffers.push_back(*buffer);
  }
  return kept;
}

Value HostLaunch::readFragment(const Fragments &kept, Value lane, int64_t reg,
                               OpFoldResult element) {
  // One buffer of 2-D vectors, a register a row, or one buffer a register.
  auto vector = dyn_cast<VectorType>(
      cast<MemRefType>(kept.buffers.front().getType()).getElementType());
  bool rows = vector && vector.getRank() == 2;
  Value registers =
      memref::LoadOp::create(b, loc, kept.buffers[rows ? 0 : reg], lane);
  if (registers.getType().isInteger(32)) {
    // A signed byte of a word, the first in the low byte.
    int64_t byte = *getConstantIntValue(element);
    return arith::ShRSIOp::create(
        b, loc,
        arith::ShLIOp::create(
            b, loc, registers,
            arith::ConstantIntOp::create(b, loc, 24 - 8 * byte, 32)),
        arith::ConstantIntOp::create(b, loc, 24, 32));
  }
  SmallVector<OpFoldResult> position = {element};
  if (rows)
    position.insert(position.begin(), b.getIndexAttr(reg));
  return arith::ExtFOp::create(
      b, loc, b.getF32Type(),
      vector::ExtractOp::create(b, loc, registers, position).getResult());
}

LogicalResult HostLaunch::emitWarpProduct(
    Value result, VectorType type,
    function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf,
    function_ref<Value(const LaneIds &, int64_t, Value, Value)> addProducts) {
  Value results = allocatePerThread(type);
  if (failed(inThreads([&](Thread &thread) -> LogicalResult {
        LaneIds ids = getLaneIds(thread);
        SmallVector<Value> sums;
        for (int64_t i = 0; i < type.getNumElements(); ++i) {
          FailureOr<Value> initial = initialOf(thread, i);
          if (failed(initial))
            return failure();
          Value column = arith::AddIOp::create(
              b, loc, arith::MulIOp::create(b, loc, ids.inGroup, index(2)),
              index(i % 2));
          Value sum = addProducts(ids, i, column, *initial);
          if (sum.getType() != type.getElementType())
            sum = arith::TruncFOp::create(b, loc, type.getElementType(), sum);
          sums.push_back(sum);
        }
        memref::StoreOp::create(
            b, loc, vector::FromElementsOp::create(b, loc, type, sums), results,
            thread.linear);
        return success();
      })))
    return failure();
  buffers[result] = results;
  return success();
}

LogicalResult HostLaunch::emitDenseProduct(
    Value result, VectorType type,
    function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf, ValueRange a,
    ValueRange bRegisters, int64_t m, int64_t k, int64_t perWord) {
  FailureOr<Fragments> as = keepFragments(a);
  FailureOr<Fragments> bs = keepFragments(bRegisters);
  if (failed(as) || failed(bs))
    return failure();
  // Four lanes cover 4 perWord elements of k; A's registers alternate the
  // rows g and g + 8 (m16) before moving along k.
  int64_t perGroup = 4 * perWord;
  return emitWarpProduct(
      result, type, initialOf,
      [&](const LaneIds &ids, int64_t i, Value column, Value total) {
        int64_t rowHalf = i / 2;
        for (int64_t kk = 0; kk < k; ++kk) {
          int64_t chunk = kk / perGroup, t = (kk % perGroup) / perWord;
          int64_t aReg = m == 16 ? rowHalf + 2 * chunk : chunk;
          Value x = readFragment(*as, getLane(ids, ids.group, index(t)), aReg,
                                 b.getIndexAttr(kk % perWord));
          Value y = readFragment(*bs, getLane(ids, column, index(t)), chunk,
                                 b.getIndexAttr(kk % perWord));
          total =
              isa<FloatType>(total.getType())
                  ? Value(math::FmaOp::create(b, loc, x, y, total))
                  : Value(arith::AddIOp::create(
                        b, loc, total, arith::MulIOp::create(b, loc, x, y)));
        }
        return total;
      });
}

LogicalResult HostLaunch::emitMmaSync(nvgpu::MmaSyncOp mma) {
  auto aType = cast<VectorType>(mma.getMatrixA().getType());
  auto accType = cast<VectorType>(mma.getMatrixC().getType());
  if (ArrayRef<int64_t>(mma.getMmaShapeAsArray()) !=
          ArrayRef<int64_t>{16, 8, 16} ||
      !aType.getElementType().isF16() ||
      aType.getShape() != ArrayRef<int64_t>{4, 2})
    return fail(mma, "only the m16n8k16 f16 product runs on the host");
  // Accumulator i is element (i / 2, i % 2) of the 2x2 vector, in f32.
  return emitDenseProduct(
      mma.getRes(), accType,
      [&](Thread &thread, int64_t i) -> FailureOr<Value> {
        FailureOr<Value> acc = lookup(thread, mma.getMatrixC());
        if (failed(acc))
          return failure();
        Value value = vector::ExtractOp::create(
            b, loc, *acc, ArrayRef<int64_t>{i / 2, i % 2});
        if (!value.getType().isF32())
          value = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
        return value;
      },
      mma.getMatrixA(), mma.getMatrixB(), 16, 16, 2);
}

LogicalResult HostLaunch::emitNvvmMma(NVVM::MmaOp mma) {
  int64_t m = mma.getShape().getM(), k = mma.getShape().getK();
  ValueRange initial = mma.getOperandC();
  Type word = mma.getOperandA().front().getType();
  bool isF16 = word == VectorType::get({2}, b.getF16Type());
  bool isS8 =
      word.isInteger(32) && mma.getMultiplicandAPtxType() == NVVM::MMATypes::s8;
  Type accumulator = initial.front().getType();
  if (mma.getLayoutA() != NVVM::MMALayout::row ||
      mma.getLayoutB() != NVVM::MMALayout::col || (!isF16 && !isS8) ||
      accumulator != (isF16 ? Type(b.getF32Type()) : Type(b.getI32Type())) ||
      (m != 8 && m != 16))
    return fail(mma, "only row-major by column-major f16 (into f32) and s8 "
                     "(into s32) tensor-core products run on the host");
  return emitDenseProduct(
      mma.getRes(), VectorType::get({int64_t(initial.size())}, accumulator),
      [&](Thread &thread, int64_t i) { return lookup(thread, initial[i]); },
      mma.getOperandA(), mma.getOperandB(), m, k, isF16 ? 2 : 4);
}

LogicalResult HostLaunch::emitNvvmMmaSparse(NVVM::MmaSpOp mma) {
  auto pair = VectorType::get({2}, b.getF16Type());
  ValueRange initial = mma.getOperandC();
  if (mma.getShape().getM() != 16 || mma.getShape().getN() != 8 ||
      mma.getShape().getK() != 32 || mma.getOperandA().size() != 4 ||
      mma.getOperandA().front().getType() != pair ||
      mma.getOperandB().size() != 4 || initial.size() != 4 ||
      !initial.front().getType().isF32() ||
      !matchPattern(mma.getSparsitySelector(), m_Zero()))
    return fail(mma, "only the m16n8k32 f16 sparse product with sparsity "
                     "selector 0 runs on the host");
  FailureOr<Fragments> as = keepFragments(mma.getOperandA());
  FailureOr<Fragments> bs = keepFragments(mma.getOperandB());
  FailureOr<Value> metadata = keepPerThread(mma.getSparseMetadata());
  if (failed(as) || failed(bs) || failed(metadata))
    return failure();
  return emitWarpProduct(
      mma.getRes(), VectorType::get({4}, b.getF32Type()),
      [&](Thread &thread, int64_t i) { return lookup(thread, initial[i]); },
      [&](const LaneIds &ids, int64_t i, Value column, Value total) {
        int64_t half = i / 2;
        for (int64_t j = 0; j < 8; ++j) {
          // Group j's metadata: lane 4g + j / 4, bits 16 half + 4 (j % 4).
          Value word = memref::LoadOp::create(
              b, loc, *metadata, getLane(ids, ids.group, index(j / 4)));
          for (int64_t v = 0; v < 2; ++v) {
            Value shift = arith::ConstantIntOp::create(
                b, loc, 16 * half + 4 * (j % 4) + 2 * v, 32);
            Value position = arith::IndexCastUIOp::create(
                b, loc, b.getIndexType(),
                arith::AndIOp::create(
                    b, loc, arith::ShRUIOp::create(b, loc, word, shift),
                    arith::ConstantIntOp::create(b, loc, 3, 32)));
            // A's value 2j + v of the row, in the dense m16n8k16 layout.
            int64_t c = 2 * j + v;
            Value x =
                readFragment(*as, getLane(ids, ids.group, index((c % 8) / 2)),
                             half + 2 * (c / 8), b.getIndexAttr(c % 2));
            // B(4j + position, column): register j / 2, lane 4 column +
            // (4 (j % 2) + position) / 2, element position % 2.
            Value inChunk =
                arith::AddIOp::create(b, loc, index(4 * (j % 2)), position);
            Value y = readFragment(
                *bs,
                getLane(ids, column,
                        arith::DivUIOp::create(b, loc, inChunk, index(2))),
                j / 2,
                arith::RemUIOp::create(b, loc, position, index(2)).getResult());
            total = math::FmaOp::create(b, loc, x, y, total);
          }
        }
        return total;
      });
}

LogicalResult HostLaunch::emitShuffle(gpu::ShuffleOp shuffle) {
  // Every thread's operand, then each thread's source lane's.
  FailureOr<Value> operands = keepPerThread(shuffle.getValue());
  FailureOr<SmallVector<Value>> results = allocateEach(shuffle.getResults());
  if (failed(operands) || failed(results))
    return failure();
  if (failed(inThreads([&](Thread &thread) -> LogicalResult {
        FailureOr<Value> offset = lookup(thread, shuffle.getOffset());
        FailureOr<Value> width = lookup(thread, shuffle.getWidth());
        if (failed(offset) || failed(width))
          return failure();
        Type i32 = b.getI32Type();
        Value laneIndex =
            arith::RemUIOp::create(b, loc, thread.linear, index(32));
        Value lane = arith::IndexCastOp::create(b, loc, i32, laneIndex);
        // Lanes shuffle within groups of `width`.
        Value relative = arith::RemUIOp::create(b, loc, lane, *width);
        Value source;
        switch (shuffle.getMode()) {
        case gpu::ShuffleMode::XOR:
          source = arith::XOrIOp::create(b, loc, relative, *offset);
          break;
        case gpu::ShuffleMode::UP:
          source = arith::SubIOp::create(b, loc, relative, *offset);
          break;
        case gpu::ShuffleMode::DOWN:
          source = arith::AddIOp::create(b, loc, relative, *offset);
          break;
        case gpu::ShuffleMode::IDX:
          source = *offset;
          break;
        }
        Value inGroup = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                              source, *width);
        Value sourceLane = arith::AddIOp::create(
            b, loc, arith::SubIOp::create(b, loc, lane, relative), source);
        Value sourceThread = arith::AddIOp::create(
            b, loc, arith::SubIOp::create(b, loc, thread.linear, laneIndex),
            arith::IndexCastOp::create(b, loc, b.getIndexType(), sourceLane));
        Value valid = arith::AndIOp::create(
            b, loc, inGroup,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                  sourceThread, threadCount));
        // Outside its group a lane keeps its own value.
        Value read =
            arith::SelectOp::create(b, loc, valid, sourceThread, thread.linear);
        Value value = memref::LoadOp::create(b, loc, *operands, read);
        memref::StoreOp::create(b, loc, value, (*results)[0], thread.linear);
        memref::StoreOp::create(b, loc, valid, (*results)[1], thread.linear);
        return success();
      })))
    return failure();
  for (auto [result, buffer] : llvm::zip(shuffle.getResults(), *results))
    buffers[result] = buffer;
  return success();
}

/// Whether `op` is or contains a barrier of the whole block.
static bool hasBlockBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

LogicalResult HostLaunch::emitFor(scf::ForOp loop) {
  if (warpStart || hasBlockBarrier(loop))
    return emitLoop(loop);
  // Only warp-wide ops inside: each warp runs the loop on its own, with
  // bounds its lanes agree on.
  auto warps = scf::ForOp::create(b, loc, index(0), threadCount, index(32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(warps.getBody()->getTerminator());
  warpStart = warps.getInductionVar();
  LogicalResult emitted = emitLoop(loop);
  warpStart = Value();
  return emitted;
}

LogicalResult HostLaunch::emitLoop(scf::ForOp loop) {
  FailureOr<Value> lower = getUniform(loop.getLowerBound(), 0);
  FailureOr<Value> upper = getUniform(loop.getUpperBound(), 0);
  FailureOr<Value> step = getUniform(loop.getStep(), 1);
  if (failed(lower) || failed(upper) || failed(step))
    return failure();
  // Each thread's iteration values live in buffers.
  FailureOr<SmallVector<Value>> carried = allocateEach(loop.getInitArgs());
  if (failed(carried) || failed(storeEach(loop.getInitArgs(), *carried)))
    return failure();
  for (auto [argument, buffer] : llvm::zip(loop.getRegionIterArgs(), *carried))
    buffers[argument] = buffer;
  // The body: its head before its first synchronising op, the middle, its
  // tail after the last. No barrier separates an iteration's tail from the
  // next one's head: they run in one thread loop.
  Block *body = loop.getBody();
  SmallVector<Operation *> ops = llvm::map_to_vector(
      body->without_terminator(), [](Operation &op) { return &op; });
  auto first = llvm::find_if(ops, synchronizes);
  auto last = llvm::find_if(llvm::reverse(ops), synchronizes);
  ArrayRef<Operation *> all(ops);
  size_t headSize = first - ops.begin();
  size_t tailSize = last - llvm::reverse(ops).begin();
  ArrayRef<Operation *> head = all.take_front(headSize);
  ArrayRef<Operation *> middle =
      all.slice(headSize, ops.size() - headSize - tailSize);
  ArrayRef<Operation *> tail = all.take_back(tailSize);
  DenseMap<Value, Value> headOutlive = allocateOutliving(head);
  buffers.insert(headOutlive.begin(), headOutlive.end());
  Value induction = loop.getInductionVar();
  auto emitHead = [&](Thread &thread, Value iteration) {
    Thread fresh;
    fresh.x = thread.x;
    fresh.y = thread.y;
    fresh.z = thread.z;
    fresh.linear = thread.linear;
    fresh.values.map(induction, iteration);
    return cloneStretch(fresh, head, headOutlive);
  };
  {
    // The first iteration's head.
    OpBuilder::InsertionGuard guard(b);
    Value runs = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                       *lower, *upper);
    auto ifRuns = scf::IfOp::create(b, loc, runs, /*withElse=*/false);
    b.setInsertionPoint(ifRuns.thenBlock()->getTerminator());
    if (failed(inThreads(
            [&](Thread &thread) { return emitHead(thread, *lower); })))
      return failure();
  }
  auto hostLoop = scf::ForOp::create(b, loc, *lower, *upper, *step);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(hostLoop.getBody()->getTerminator());
    Value iteration = hostLoop.getInductionVar();
    uniform.map(induction, iteration);
    if (failed(emitRange(middle)))
      return failure();
    Value next = arith::AddIOp::create(b, loc, iteration, *step);
    Value more =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, next, *upper);
    DenseMap<Value, Value> tailOutlive = allocateOutliving(tail);
    buffers.insert(tailOutlive.begin(), tailOutlive.end());
    // The tail, the next iteration values, the next iteration's head.
    if (failed(inThreads([&](Thread &thread) -> LogicalResult {
          if (failed(cloneStretch(thread, tail, tailOutlive)))
            return failure();
          SmallVector<Value> yielded;
          for (Value value : body->getTerminator()->getOperands()) {
            FailureOr<Value> mapped = lookup(thread, value);
            if (failed(mapped))
              return failure();
            yielded.push_back(*mapped);
          }
          for (auto [value, buffer] : llvm::zip(yielded, *carried))
            memref::StoreOp::create(b, loc, value, buffer, thread.linear);
          auto ifMore = scf::IfOp::create(b, loc, more, /*withElse=*/false);
          OpBuilder::InsertionGuard inside(b);
          b.setInsertionPoint(ifMore.thenBlock()->getTerminator());
          return emitHead(thread, next);
        })))
      return failure();
  }
  for (auto [result, buffer] : llvm::zip(loop.getResults(), *carried))
    buffers[result] = buffer;
  return success();
}

LogicalResult HostLaunch::emitIf(scf::IfOp branch) {
  FailureOr<SmallVector<Value>> results = allocateEach(branch.getResults());
  if (failed(results))
    return failure();
  for (auto [region, taken] :
       {std::make_pair(&branch.getThenRegion(), true),
        std::make_pair(&branch.getElseRegion(), false)}) {
    if (region->empty())
      continue;
    conditions.emplace_back(branch.getCondition(), taken);
    Block &body = region->front();
    LogicalResult emitted = emitOps(body);
    if (succeeded(emitted))
      emitted = storeEach(body.getTerminator()->getOperands(), *results);
    conditions.pop_back();
    if (failed(emitted))
      return failure();
  }
  for (auto [result, buffer] : llvm::zip(branch.getResults(), *results))
    buffers[result] = buffer;
  return success();
}

LogicalResult HostLaunch::emitOps(Block &body) {
  SmallVector<Operation *> ops = llvm::map_to_vector(
      body.without_terminator(), [](Operation &op) { return &op; });
  return emitRange(ops);
}

LogicalResult HostLaunch::emitRange(ArrayRef<Operation *> ops) {
  SmallVector<Operation *> stretch;
  for (Operation *opPtr : ops) {
    Operation &op = *opPtr;
    if (!synchronizes(&op)) {
      stretch.push_back(&op);
      continue;
    }
    if (failed(emitStretch(stretch)))
      return failure();
    stretch.clear();
    LogicalResult emitted =
        TypeSwitch<Operation *, LogicalResult>(&op)
            // A warp's barrier is a block's here: every thread reaches it.
            .Case<gpu::BarrierOp, NVVM::SyncWarpOp>(
                [](Operation *) { return success(); })
            .Case([&](gpu::ShuffleOp shuffle) { return emitShuffle(shuffle); })
            .Case([&](nvgpu::LdMatrixOp load) { return emitLoadMatrix(load); })
            .Case([&](nvgpu::MmaSyncOp mma) { return emitMmaSync(mma); })
            .Case([&](NVVM::MmaOp mma) { return emitNvvmMma(mma); })
            .Case([&](NVVM::MmaSpOp mma) { return emitNvvmMmaSparse(mma); })
            .Case([&](scf::ForOp loop) { return emitFor(loop); })
            .Case([&](scf::IfOp branch) { return emitIf(branch); })
            .Default([&](Operation *other) {
              return fail(other, "its threads synchronise inside '" +
                                     other->getName().getStringRef() + "'");
            });
    if (failed(emitted))
      return failure();
  }
  return emitStretch(stretch);
}

LogicalResult HostLaunch::emit() {
  // Host copies of the tables the kernel reads.
  auto module = launch->getParentOfType<ModuleOp>();
  auto kernels = kernel->getParentOfType<gpu::GPUModuleOp>();
  kernel.walk([&](memref::GetGlobalOp table) {
    Operation *global =
        SymbolTable::lookupSymbolIn(kernels, table.getNameAttr());
    if (globals.count(global))
      return;
    OpBuilder atStart(module.getBodyRegion());
    Operation *copy = atStart.clone(*global);
    SymbolTable::setSymbolName(copy,
                               (kernels.getName() + "_" +
                                SymbolTable::getSymbolName(global).getValue())
                                   .str());
    globals[global] = SymbolTable(module).insert(copy);
  });

  threadCount = arith::MulIOp::create(
      b, loc, arith::MulIOp::create(b, loc, block.x, block.y), block.z);
  Value zero = index(0), one = index(1);
  Operation *outermost = nullptr;
  SmallVector<Value> blockIds;
  {
    OpBuilder::InsertionGuard guard(b);
    for (Value size : {grid.z, grid.y, grid.x}) {
      auto loop = scf::ForOp::create(b, loc, zero, size, one);
      outermost = outermost ? outermost : loop.getOperation();
      b.setInsertionPoint(loop.getBody()->getTerminator());
      blockIds.push_back(loop.getInductionVar());
    }
  }
  llvm::copy(blockIds, blockId);
  allocations =
      OpBuilder::InsertPoint(outermost->getBlock(), Block::iterator(outermost));
  deallocations = b.saveInsertionPoint();
  if (Value bytes = launch.getDynamicSharedMemorySize()) {
    OpBuilder::InsertionGuard guard(b);
    b.restoreInsertionPoint(allocations);
    Value size = arith::IndexCastOp::create(b, loc, b.getIndexType(), bytes);
    workgroupMemory =
        allocate(MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), size);
  }
  for (BlockArgument buffer : kernel.getWorkgroupAttributions())
    uniform.map(buffer,
                allocate(cast<MemRefType>(getHostType(buffer.getType())), {}));
  uniform.map(kernel.getArguments().take_front(kernel.getNumArguments()),
              launch.getKernelOperands());

  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(
      cast<scf::ForOp>(blockIds.back().getParentBlock()->getParentOp())
          .getBody()
          ->getTerminator());
  if (failed(emitOps(kernel.getBody().front())))
    return failure();
  return finishAsyncCopies(outermost);
}

LogicalResult HostLaunch::finishAsyncCopies(Operation *root) {
  SmallVector<Operation *> bookkeeping;
  SmallVector<nvgpu::DeviceAsyncCopyOp> copies;
  root->walk([&](Operation *op) {
    if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op))
      copies.push_back(copy);
    else if (isAsyncCopyOp(op) ||
             (isa<UnrealizedConversionCastOp>(op) &&
              isa<nvgpu::DeviceAsyncTokenType>(op->getResultTypes()[0])))
      bookkeeping.push_back(op);
  });
  for (nvgpu::DeviceAsyncCopyOp copy : copies) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(copy);
    // Elements past srcElements are zeros.
    Type element = copy.getDst().getType().getElementType();
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
    for (int64_t i = 0, e = copy.getDstElements().getZExtValue(); i < e; ++i) {
      auto shifted = [&](ValueRange indices) {
        SmallVector<Value> result(indices);
        result.back() = arith::AddIOp::create(b, loc, result.back(), index(i));
        return result;
      };
      SmallVector<Value> source = shifted(copy.getSrcIndices());
      Value value;
      if (Value count = copy.getSrcElements()) {
        Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             index(i), count);
        auto read = scf::IfOp::create(b, loc, element, inside,
                                      /*withElseRegion=*/true);
        OpBuilder::InsertionGuard branch(b);
        b.setInsertionPointToStart(read.thenBlock());
        scf::YieldOp::create(
            b, loc,
            ValueRange{memref::LoadOp::create(b, loc, copy.getSrc(), source)});
        b.setInsertionPointToStart(read.elseBlock());
        scf::YieldOp::create(b, loc, zero);
        value = read.getResult(0);
      } else {
        value = memref::LoadOp::create(b, loc, copy.getSrc(), source);
      }
      memref::StoreOp::create(b, loc, value, copy.getDst(),
                              shifted(copy.getDstIndices()));
    }
    bookkeeping.push_back(copy);
  }
  // Waits, then groups, then copies and placeholders: users first.
  auto rank = [](Operation *op) {
    return isa<nvgpu::DeviceAsyncWaitOp>(op)          ? 0
           : isa<nvgpu::DeviceAsyncCreateGroupOp>(op) ? 1
                                                      : 2;
  };
  llvm::stable_sort(bookkeeping, [&](Operation *x, Operation *y) {
    return rank(x) < rank(y);
  });
  for (Operation *op : bookkeeping) {
    if (!op->use_empty())
      return fail(op, "an asynchronous copy's token is used by '" +
                          (*op->getUsers().begin())->getName().getStringRef() +
                          "'");
    op->erase();
  }
  return success();
}

struct LaunchesToHostLoopsPass
    : public tesa::impl::LaunchesToHostLoopsBase<LaunchesToHostLoopsPass> {
  using LaunchesToHostLoopsBase::LaunchesToHostLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    HostGlobals globals;
    bool failed = false;
    for (gpu::LaunchFuncOp launch : launches) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      std::optional<Obstacle> obstacle;
      if (!kernel)
        obstacle = Obstacle("its kernel is not found", nullptr);
      else if (launch.getAsyncToken() ||
               !launch.getAsyncDependencies().empty() ||
               launch.hasClusterSize())
        obstacle = Obstacle("the launch is asynchronous or clustered", nullptr);
      else
        obstacle = getHostObstacle(kernel);
      if (obstacle) {
        (void)reportObstacle(launch, obstacle->first, obstacle->second);
        failed = true;
        continue;
      }
      if (mlir::failed(HostLaunch(launch, kernel, globals).emit())) {
        failed = true;
        continue;
      }
      launch.erase();
    }
    if (failed)
      return signalPassFailure();
    // Kernel modules that no launch names any more.
    llvm::DenseSet<StringRef> used;
    module.walk([&](gpu::LaunchFuncOp launch) {
      used.insert(launch.getKernelModuleName().getValue());
    });
    for (auto kernels :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
      if (!used.contains(kernels.getName()))
        kernels.erase();
    if (module.getOps<gpu::GPUModuleOp>().empty())
      module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
