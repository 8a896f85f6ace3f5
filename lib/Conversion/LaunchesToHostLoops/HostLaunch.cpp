//===- HostLaunch.cpp - One kernel launch as host loops -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Each launch becomes loops over its blocks, and each stretch of the kernel
// between two points where its threads synchronise or exchange values
// becomes loops over the block's threads; values that live across such a
// point are kept per thread in host buffers. Warp-wide loops run per warp,
// branches around barriers mask their thread loops, cp.async copies at
// once and dot-product instructions become their arithmetic.
//
//===----------------------------------------------------------------------===//

#include "HostLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace tesa::host_loops;

namespace tesa::host_loops {

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
  // A failed check's trap (--tesa-asserts-to-traps) traps on the host too.
  return isIdOrSize(op) || isSynchronizing(op) || isAsyncCopyOp(op) ||
         isDotProduct(op) || isAccumulatorRead(op) ||
         isa<gpu::ReturnOp, LLVM::Trap>(op);
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

} // namespace tesa::host_loops

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
      return failLivingAcross(value);
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
      return failLivingAcross(value);
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
                    debugString(value.getType()));
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
