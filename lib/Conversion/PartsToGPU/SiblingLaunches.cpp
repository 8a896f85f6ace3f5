//===- SiblingLaunches.cpp - Part kernels of one dense operand together --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The warpgroup kernels of parts that read one dense operand (a layer's Q,
// K and V projections) each fill a fraction of the GPU at few dense
// columns; they run as one grid instead (fuseKernelBodies: each block runs
// its member's body with the block coordinates of its own launch). The
// lowering launches each part where it was; the members' launches then
// move down to the last one's place, which is sound where nothing between
// reads what they write or writes what they read: the ops between may
// free their buffers (those deallocs move after the fused launch) or view
// them, and read what they read (the other members do: the dense
// operand).
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace tesa;

/// Whether `op` only views its operands (their elements are neither read
/// nor written).
static bool isView(Operation *op) {
  return isa<bufferization::ToTensorOp, AnnotateOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp, memref::ReinterpretCastOp, memref::CastOp>(
      op);
}

/// Whether `member`'s launch can move down to just before `next`'s (later
/// in its block; `next` one of `group`, the launches that are to run
/// together): of the ops between, those that use what it writes (or views
/// of it) only view or free it, and those that use what it reads do not
/// write it (the group's launches write only their `written` operands);
/// `next` neither reads nor writes what it writes. The frees are added to
/// `frees`.
static bool canMoveTo(const WarpgroupLaunch &member,
                      const WarpgroupLaunch &next,
                      ArrayRef<WarpgroupLaunch> group,
                      SmallVectorImpl<Operation *> &frees) {
  gpu::LaunchFuncOp launch = member.launch;
  llvm::SmallPtrSet<Value, 8> written(member.written.begin(),
                                      member.written.end());
  llvm::SmallPtrSet<Value, 8> read;
  for (Value operand : launch.getKernelOperands())
    if (!written.contains(operand))
      read.insert(operand);
  for (Operation *op = launch->getNextNode();; op = op->getNextNode()) {
    bool usesWritten = false, usesRead = false;
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        usesWritten |= written.contains(operand);
        usesRead |= read.contains(operand);
      }
    });
    auto sibling = llvm::find_if(group, [&](const WarpgroupLaunch &other) {
      return other.launch == op;
    });
    bool writesRead = sibling != group.end() &&
                      llvm::any_of(sibling->written, [&](Value value) {
                        return read.contains(value);
                      });
    if (op == next.launch)
      return !usesWritten && !writesRead;
    if (!usesWritten && !usesRead)
      continue;
    if (isa<memref::DeallocOp>(op)) {
      frees.push_back(op);
    } else if (isView(op)) {
      (usesWritten ? written : read)
          .insert(op->result_begin(), op->result_end());
    } else if (usesWritten || writesRead) {
      return false;
    } else if (sibling == group.end()) {
      auto effects = dyn_cast<MemoryEffectOpInterface>(op);
      if (!effects || effects.hasEffect<MemoryEffects::Write>())
        return false;
    }
  }
}

/// Whether `next` may join `group` (its launches at the place of `next`'s).
static bool canJoin(ArrayRef<WarpgroupLaunch> group,
                    const WarpgroupLaunch &next) {
  const WarpgroupLaunch &first = group.front();
  if (first.dense != next.dense ||
      first.launch->getBlock() != next.launch->getBlock() ||
      first.sizes.block != next.sizes.block ||
      first.sizes.clusterBlocks != next.sizes.clusterBlocks)
    return false;
  SmallVector<WarpgroupLaunch> together(group);
  together.push_back(next);
  SmallVector<Operation *> frees;
  return llvm::all_of(group, [&](const WarpgroupLaunch &member) {
    return canMoveTo(member, next, together, frees);
  });
}

/// Launches `group` as one kernel at its last member's place.
static gpu::LaunchFuncOp launchTogether(ArrayRef<WarpgroupLaunch> group,
                                        gpu::GPUModuleOp module) {
  gpu::LaunchFuncOp last = group.back().launch;
  SmallVector<gpu::GPUFuncOp> kernels;
  SmallVector<std::array<int64_t, 3>> grids;
  SmallVector<Value> operands;
  SmallVector<Operation *> frees;
  std::string name = "parts";
  int64_t blocks = 0, sharedBytes = 0;
  for (const WarpgroupLaunch &member : group) {
    gpu::LaunchFuncOp memberLaunch = member.launch;
    auto kernel =
        module.lookupSymbol<gpu::GPUFuncOp>(memberLaunch.getKernelName());
    kernels.push_back(kernel);
    name += "_" + kernel.getName().str();
    auto [x, y] = member.sizes.grid;
    grids.push_back({x, y, 1});
    blocks += x * y;
    sharedBytes = std::max(sharedBytes, member.sizes.sharedBytes);
    llvm::append_range(operands, memberLaunch.getKernelOperands());
    if (memberLaunch != last)
      (void)canMoveTo(member, group.back(), group, frees);
  }
  gpu::GPUFuncOp fused = fuseKernelBodies(kernels, grids, module, name);
  OpBuilder builder(last);
  const KernelLaunch &sizes = group.front().sizes;
  gpu::LaunchFuncOp launch =
      emitKernelLaunch(builder, last.getLoc(), fused, {blocks, 1, 1},
                       {sizes.block[0], sizes.block[1], 1}, sharedBytes,
                       operands, sizes.clusterBlocks);
  for (Operation *free : llvm::reverse(frees))
    free->moveAfter(launch);
  for (auto [member, kernel] : llvm::zip_equal(group, kernels)) {
    gpu::LaunchFuncOp memberLaunch = member.launch;
    memberLaunch.erase();
    kernel.erase();
  }
  return launch;
}

void tesa::launchSiblingsTogether(
    ArrayRef<WarpgroupLaunch> launches, gpu::GPUModuleOp module,
    llvm::function_ref<void(Operation *, Operation *)> replaced) {
  SmallVector<SmallVector<WarpgroupLaunch>> groups;
  for (const WarpgroupLaunch &next : launches) {
    if (!groups.empty() && canJoin(groups.back(), next))
      groups.back().push_back(next);
    else
      groups.push_back({next});
  }
  for (ArrayRef<WarpgroupLaunch> group : groups) {
    if (group.size() < 2)
      continue;
    gpu::LaunchFuncOp launch = launchTogether(group, module);
    for (const WarpgroupLaunch &member : group)
      replaced(member.launch, launch);
  }
}
