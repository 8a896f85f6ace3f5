//===- FusedLaunch.cpp - Independent kernels in one launch ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Kernels that do not depend on each other (the Q, K and V projections of
// one input) run as one grid: the blocks of each member follow the
// previous member's, and each block runs its member's body with the block
// coordinates it would have had in its own launch. Small kernels that each
// fill a fraction of the GPU then run side by side instead of one after
// the other. Split-K members' finishing kernels run as a second grid.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace tesa;

/// The split-K finishing kernels of `members` (each has one).
static SmallVector<RegionKernel> getFinishes(ArrayRef<RegionKernel> members) {
  return llvm::map_to_vector(
      members, [](const RegionKernel &member) { return *member.finish; });
}

std::optional<std::string>
tesa::checkFusable(ArrayRef<RegionKernel> members) {
  if (members.size() < 2)
    return "fewer than two kernels";
  bool split = bool(members.front().finish);
  for (const RegionKernel &member : members) {
    gpu::GPUFuncOp kernel = member.kernel;
    if (bool(member.finish) != split)
      return "some kernels are split-K and others are not";
    if (kernel->hasAttr(NVVM::NVVMDialect::getMinctasmAttrName()) ||
        kernel->hasAttr(NVVM::NVVMDialect::getMaxntidAttrName()))
      return "a kernel has launch bounds (a persistent grid)";
    if (member.clusterBlocks != 1)
      return "a kernel runs in clusters of blocks";
    if (member.threads != members.front().threads)
      return "the kernels take different numbers of threads";
    if (kernel.getNumWorkgroupAttributions() ||
        kernel.getNumPrivateAttributions())
      return "a kernel has workgroup or private attributions";
    if (!llvm::hasSingleElement(kernel.getBody()))
      return "a kernel's body is more than one block";
  }
  if (split) {
    if (std::optional<std::string> reason = checkFusable(getFinishes(members)))
      return "their split-K finishes: " + *reason;
  }
  return std::nullopt;
}

/// Whether `value` exists before `op`: an argument of `op`'s block or
/// defined before `op` in it.
static bool isDefinedBefore(Value value, Operation *op) {
  Operation *definition = value.getDefiningOp();
  if (!definition)
    return cast<BlockArgument>(value).getOwner() == op->getBlock();
  return definition->getBlock() == op->getBlock() &&
         definition->isBeforeInBlock(op);
}

/// Whether every input of `kernel` and of its split-K finish exists before
/// `op` (see isDefinedBefore).
static bool readsOnlyBefore(const RegionKernel &kernel, Operation *op) {
  return llvm::all_of(kernel.inputs,
                      [&](Value input) { return isDefinedBefore(input, op); }) &&
         (!kernel.finish || readsOnlyBefore(*kernel.finish, op));
}

SmallVector<SmallVector<unsigned>>
tesa::groupSiblingKernels(ArrayRef<RegionKernel> kernels,
                          ArrayRef<Operation *> sites,
                          function_ref<bool(unsigned, unsigned)> related) {
  SmallVector<SmallVector<unsigned>> groups;
  for (unsigned next = 0; next < kernels.size(); ++next) {
    auto joins = [&](ArrayRef<unsigned> group) {
      unsigned first = group.front();
      return related(first, next) &&
             sites[first]->getBlock() == sites[next]->getBlock() &&
             readsOnlyBefore(kernels[next], sites[first]) &&
             !checkFusable({kernels[first], kernels[next]});
    };
    auto group = llvm::find_if(groups, joins);
    if (group == groups.end())
      groups.push_back({next});
    else
      group->push_back(next);
  }
  return groups;
}

void tesa::remapKernelInputs(RegionKernel &kernel, const IRMapping &replaced) {
  for (Value &input : kernel.inputs)
    input = replaced.lookupOrDefault(input);
  if (kernel.finish)
    remapKernelInputs(*kernel.finish, replaced);
}

void tesa::launchKernelGroups(ArrayRef<RegionKernel> kernels,
                              ArrayRef<Operation *> sites,
                              ArrayRef<RankedTensorType> resultTypes,
                              ArrayRef<SmallVector<unsigned>> groups,
                              gpu::GPUModuleOp module, StringRef prefix,
                              IRMapping &replaced,
                              function_ref<void(unsigned, Value)> replace) {
  for (ArrayRef<unsigned> group : groups) {
    Operation *first = sites[group.front()];
    OpBuilder builder(first);
    SmallVector<RegionKernel> members;
    for (unsigned index : group) {
      members.push_back(kernels[index]);
      remapKernelInputs(members.back(), replaced);
    }
    if (members.size() == 1) {
      replace(group.front(),
              launchRegionKernel(builder, first->getLoc(), members.front(),
                                 resultTypes[group.front()]));
      continue;
    }
    std::string name = prefix.str();
    SmallVector<RankedTensorType> types;
    for (auto [index, member] : llvm::zip_equal(group, members)) {
      name += "_" + gpu::GPUFuncOp(member.kernel).getName().str();
      types.push_back(resultTypes[index]);
    }
    RegionKernel fused = fuseKernels(members, module, name);
    SmallVector<Value> results =
        launchFusedKernels(builder, first->getLoc(), fused, members, types);
    for (auto [index, result] : llvm::zip_equal(group, results))
      replace(index, result);
  }
}

gpu::GPUFuncOp tesa::fuseKernelBodies(ArrayRef<gpu::GPUFuncOp> kernels,
                                      ArrayRef<std::array<int64_t, 3>> grids,
                                      gpu::GPUModuleOp module, StringRef name) {
  ImplicitLocOpBuilder b(module.getLoc(), module.getContext());
  KernelEmitter e(b);
  SmallVector<Type> arguments;
  for (gpu::GPUFuncOp kernel : kernels)
    llvm::append_range(arguments, kernel.getArgumentTypes());
  gpu::GPUFuncOp fused = e.beginKernel(module, name, arguments);
  Value block = e.blockId(gpu::Dimension::x);
  int64_t first = 0;
  unsigned argument = 0;
  for (auto [index, grid] : llvm::enumerate(grids)) {
    gpu::GPUFuncOp kernel = kernels[index];
    auto [x, y, z] = grid;
    int64_t count = x * y * z;
    Value inside = e.both(
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, block,
                              e.index(first)),
        e.less(block, first + count));
    e.ifThen(inside, [&] {
      Value local = e.affine(block, 1, -first);
      Value coordinates[3] = {e.rem(local, x), e.rem(e.div(local, x), y),
                              e.div(local, x * y)};
      IRMapping mapping;
      for (BlockArgument memberArgument : kernel.getArguments())
        mapping.map(memberArgument, fused.getArgument(argument++));
      for (Operation &op : kernel.getBody().front().without_terminator())
        b.clone(op, mapping);
      // The member's block coordinates and grid, as its own launch had
      // them.
      Block *body = b.getInsertionBlock();
      body->walk([&](Operation *op) {
        if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
          id.replaceAllUsesWith(
              coordinates[static_cast<unsigned>(id.getDimension())]);
          id.erase();
        } else if (auto dim = dyn_cast<gpu::GridDimOp>(op)) {
          OpBuilder at(dim);
          dim.replaceAllUsesWith(
              arith::ConstantIndexOp::create(
                  at, dim.getLoc(),
                  grid[static_cast<unsigned>(dim.getDimension())])
                  .getResult());
          dim.erase();
        }
      });
    });
    first += count;
  }
  return fused;
}

RegionKernel tesa::fuseKernels(ArrayRef<RegionKernel> members,
                               gpu::GPUModuleOp module, StringRef name) {
  SmallVector<gpu::GPUFuncOp> kernels;
  SmallVector<std::array<int64_t, 3>> grids;
  RegionKernel fused;
  fused.threads = members.front().threads;
  int64_t first = 0;
  for (const RegionKernel &member : members) {
    kernels.push_back(member.kernel);
    grids.push_back(member.grid);
    first += member.grid[0] * member.grid[1] * member.grid[2];
    fused.sharedBytes = std::max(fused.sharedBytes, member.sharedBytes);
    llvm::append_range(fused.inputs, member.inputs);
  }
  fused.kernel = fuseKernelBodies(kernels, grids, module, name);
  fused.grid = {first, 1, 1};
  for (const RegionKernel &member : members)
    gpu::GPUFuncOp(member.kernel).erase();
  if (members.front().finish)
    fused.finish = std::make_shared<RegionKernel>(fuseKernels(
        getFinishes(members), module, (name + "_split_k").str()));
  return fused;
}
