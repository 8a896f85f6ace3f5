//===- OutlineWeightPacking.cpp - Pack argument weights once --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Splits the pack kernel launches that read a public function's arguments
// out of it: `@f_pack` runs them and returns the packed buffers as tensors,
// `@f_packed` is a copy of `@f` that takes those buffers as arguments.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "tesa/Conversion/Passes.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace tesa {
#define GEN_PASS_DEF_OUTLINEWEIGHTPACKING
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// A pack launch of a function, what it needs from the function, and which
/// of the buffers it writes the rest of the function reads.
struct PackLaunch {
  gpu::LaunchFuncOp launch;
  /// The ops that compute its operands (sources and launch sizes), in
  /// program order; layout ops that only read function arguments.
  SetVector<Operation *> slice;
  /// The written buffers (allocations) that something other than the
  /// launch and their deallocation reads.
  SmallVector<unsigned> exportedOperands;
};

struct OutlineWeightPackingPass
    : public tesa::impl::OutlineWeightPackingBase<
          OutlineWeightPackingPass> {
  void runOnOperation() override;

private:
  LogicalResult outline(func::FuncOp function,
                        MutableArrayRef<PackLaunch> launches);
};

/// Whether something other than `user` and the deallocations of `buffer`
/// uses it (the compute kernel that reads what the pack kernel wrote).
bool isReadByOthers(Value buffer, Operation *user) {
  return llvm::any_of(buffer.getUsers(), [&](Operation *other) {
    return other != user && !isa<memref::DeallocOp>(other);
  });
}

/// Whether `op` only rearranges or relabels the values of a weight, so that
/// a weight computed by it from arguments is still a weight.
bool isLayoutOp(Operation *op) {
  return isa<arith::ConstantOp, bufferization::ToBufferOp,
             tensor::CollapseShapeOp, tensor::ExpandShapeOp,
             tensor::ExtractSliceOp, tensor::EmptyOp, linalg::TransposeOp,
             AnnotateOp>(op) &&
         isMemoryEffectFree(op);
}

/// The launch's operand slice if it is computed from function arguments by
/// layout ops, else failure: packing a weight that is computed (an
/// activation) would have to run on every call anyway.
FailureOr<SetVector<Operation *>> getArgumentSlice(gpu::LaunchFuncOp launch,
                                                   Block &entry) {
  SetVector<Operation *> slice;
  BackwardSliceOptions options;
  options.inclusive = true;
  options.omitUsesFromAbove = false;
  // The written buffers are made afresh in the outlined function.
  options.filter = [](Operation *op) { return !isa<memref::AllocOp>(op); };
  for (Value operand : launch->getOperands()) {
    if (auto argument = dyn_cast<BlockArgument>(operand)) {
      if (argument.getOwner() != &entry)
        return failure();
      continue;
    }
    if (!operand.getDefiningOp<memref::AllocOp>() &&
        failed(getBackwardSlice(operand, &slice, options)))
      return failure();
  }
  for (Operation *op : slice) {
    if (op->getBlock() != &entry || !isLayoutOp(op))
      return failure();
    for (Value operand : op->getOperands())
      if (auto argument = dyn_cast<BlockArgument>(operand))
        if (argument.getOwner() != &entry)
          return failure();
  }
  // Program order (every op is in the entry block), so that the slice can
  // be cloned as it is.
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) {
    return a->isBeforeInBlock(b);
  });
  return SetVector<Operation *>(ordered.begin(), ordered.end());
}

} // namespace

void OutlineWeightPackingPass::runOnOperation() {
  SmallVector<func::FuncOp> functions(
      getOperation().getOps<func::FuncOp>());
  for (func::FuncOp function : functions) {
    if (function.isExternal() || !function.isPublic())
      continue;
    Block &entry = function.getBody().front();
    SmallVector<PackLaunch> launches;
    function.walk([&](gpu::LaunchFuncOp launch) {
      if (!launch->hasAttr(kPackLaunchAttr))
        return;
      FailureOr<SetVector<Operation *>> slice =
          getArgumentSlice(launch, entry);
      if (failed(slice))
        return;
      PackLaunch pack{launch, std::move(*slice), {}};
      for (auto [i, operand] : llvm::enumerate(launch.getKernelOperands()))
        if (operand.getDefiningOp<memref::AllocOp>() &&
            isReadByOthers(operand, launch))
          pack.exportedOperands.push_back(i);
      launches.push_back(std::move(pack));
    });
    if (!launches.empty() && failed(outline(function, launches)))
      return signalPassFailure();
  }
}

LogicalResult
OutlineWeightPackingPass::outline(func::FuncOp function,
                                  MutableArrayRef<PackLaunch> launches) {
  ModuleOp module = getOperation();
  std::string packName = (function.getName() + "_pack").str();
  std::string packedName = (function.getName() + "_packed").str();
  for (StringRef name : {StringRef(packName), StringRef(packedName)})
    if (module.lookupSymbol(name))
      return function.emitError("cannot add the weight-packing entry points "
                                "of @")
             << function.getName() << ": @" << name << " already exists";

  // The arguments the packing reads, in order.
  Block &entry = function.getBody().front();
  llvm::SmallSetVector<unsigned, 4> packArguments;
  for (PackLaunch &pack : launches) {
    auto note = [&](Value value) {
      if (auto argument = dyn_cast<BlockArgument>(value))
        if (argument.getOwner() == &entry)
          packArguments.insert(argument.getArgNumber());
    };
    for (Value operand : pack.launch->getOperands())
      note(operand);
    for (Operation *op : pack.slice)
      for (Value operand : op->getOperands())
        note(operand);
  }
  SmallVector<unsigned> argumentOrder(packArguments.begin(),
                                      packArguments.end());
  llvm::sort(argumentOrder);

  // @f_pack: the slices and launches, fresh buffers, returned as tensors.
  OpBuilder builder(function);
  Location loc = function.getLoc();
  SmallVector<Type> argumentTypes, resultTypes;
  for (unsigned i : argumentOrder)
    argumentTypes.push_back(entry.getArgument(i).getType());
  for (PackLaunch &pack : launches)
    for (unsigned i : pack.exportedOperands) {
      auto type = cast<MemRefType>(pack.launch.getKernelOperands()[i].getType());
      resultTypes.push_back(
          RankedTensorType::get(type.getShape(), type.getElementType()));
    }
  auto packFunction = func::FuncOp::create(
      builder, loc, packName,
      builder.getFunctionType(argumentTypes, resultTypes));
  Block *body = packFunction.addEntryBlock();
  builder.setInsertionPointToStart(body);
  IRMapping mapping;
  for (auto [i, argument] : llvm::enumerate(argumentOrder))
    mapping.map(entry.getArgument(argument), body->getArgument(i));
  SmallVector<Value> results;
  for (PackLaunch &pack : launches) {
    for (Operation *op : pack.slice)
      if (!mapping.contains(op->getResult(0)))
        builder.clone(*op, mapping);
    for (Value operand : pack.launch.getKernelOperands())
      if (auto alloc = operand.getDefiningOp<memref::AllocOp>())
        mapping.map(operand, builder.clone(*alloc)->getResult(0));
    builder.clone(*pack.launch, mapping);
    for (unsigned i : pack.exportedOperands) {
      Value buffer = mapping.lookup(pack.launch.getKernelOperands()[i]);
      auto type = cast<MemRefType>(buffer.getType());
      results.push_back(bufferization::ToTensorOp::create(
          builder, loc,
          RankedTensorType::get(type.getShape(), type.getElementType()),
          buffer, /*restrict=*/builder.getUnitAttr(),
          /*writable=*/builder.getUnitAttr()));
    }
  }
  func::ReturnOp::create(builder, loc, results);

  // @f_packed: @f reading the packed buffers from new arguments.
  builder.setInsertionPointAfter(function);
  IRMapping cloned;
  auto packedFunction = cast<func::FuncOp>(builder.clone(*function, cloned));
  packedFunction.setName(packedName);
  Block &packedEntry = packedFunction.getBody().front();
  for (PackLaunch &pack : launches) {
    auto launch = cast<gpu::LaunchFuncOp>(cloned.lookup(pack.launch));
    SmallVector<Value> buffers(launch.getKernelOperands());
    launch.erase();
    for (auto [i, buffer] : llvm::enumerate(buffers)) {
      auto alloc = buffer.getDefiningOp<memref::AllocOp>();
      if (!alloc)
        continue;
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      if (llvm::is_contained(pack.exportedOperands, i)) {
        auto type = cast<MemRefType>(buffer.getType());
        unsigned position = packedFunction.getNumArguments();
        if (failed(packedFunction.insertArgument(
                position,
                RankedTensorType::get(type.getShape(), type.getElementType()),
                DictionaryAttr(), loc)))
          return packedFunction.emitError("cannot add a packed argument");
        BlockArgument argument = packedEntry.getArgument(position);
        builder.setInsertionPoint(alloc);
        buffer.replaceAllUsesWith(bufferization::ToBufferOp::create(
            builder, loc, type, argument, /*read_only=*/true));
      }
      alloc.erase();
    }
  }
  // The slices that fed the launches, and the arguments only they read.
  IRRewriter rewriter(builder);
  (void)eraseUnreachableBlocks(rewriter, packedFunction->getRegions());
  (void)runRegionDCE(rewriter, packedFunction->getRegions());
  llvm::BitVector unused(packedEntry.getNumArguments());
  for (unsigned i : argumentOrder)
    if (packedEntry.getArgument(i).use_empty())
      unused.set(i);
  if (failed(packedFunction.eraseArguments(unused)))
    return packedFunction.emitError("cannot drop the packed arguments");

  // Which of @f's arguments each takes (@f_packed: followed by the packed
  // buffers), for library interfaces.
  SmallVector<int64_t> packedArguments;
  for (unsigned i = 0; i < function.getNumArguments(); ++i)
    if (i >= unused.size() || !unused.test(i))
      packedArguments.push_back(i);
  StringAttr of = builder.getStringAttr(function.getName());
  packFunction->setAttr(kPackOfAttr, of);
  packFunction->setAttr(kArgumentsOfAttr,
                        builder.getDenseI64ArrayAttr(SmallVector<int64_t>(
                            argumentOrder.begin(), argumentOrder.end())));
  packedFunction->setAttr(kPackedOfAttr, of);
  packedFunction->setAttr(kArgumentsOfAttr,
                          builder.getDenseI64ArrayAttr(packedArguments));
  return success();
}
