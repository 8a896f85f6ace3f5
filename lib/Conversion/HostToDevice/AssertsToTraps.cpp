//===- AssertsToTraps.cpp - Asserts of device loops become traps ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Replaces each `cf.assert` inside an `scf.parallel` with a branch to
// `llvm.intr.trap`, so that the generic path can map the loop onto the GPU:
// a failed check stops the kernel instead of keeping the loop on the host.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"

namespace tesa {
#define GEN_PASS_DEF_ASSERTSTOTRAPS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct AssertsToTrapsPass
    : public tesa::impl::AssertsToTrapsBase<AssertsToTrapsPass> {
  void runOnOperation() override;
};
} // namespace

/// Replaces `check` with `if (!condition) trap`.
static void replaceWithTrap(cf::AssertOp check) {
  OpBuilder builder(check);
  Location loc = check.getLoc();
  Value always = arith::ConstantIntOp::create(builder, loc, 1, 1);
  Value failed =
      arith::XOrIOp::create(builder, loc, check.getArg(), always).getResult();
  auto branch = scf::IfOp::create(builder, loc, failed, /*withElse=*/false);
  builder.setInsertionPoint(branch.thenBlock()->getTerminator());
  LLVM::Trap::create(builder, loc);
  check.erase();
}

void AssertsToTrapsPass::runOnOperation() {
  SmallVector<cf::AssertOp> checks;
  getOperation().walk([&](cf::AssertOp check) {
    if (check->getParentOfType<scf::ParallelOp>())
      checks.push_back(check);
  });
  for (cf::AssertOp check : checks)
    replaceWithTrap(check);
}
