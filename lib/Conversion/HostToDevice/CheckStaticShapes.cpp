//===- CheckStaticShapes.cpp - Host programs with static shapes only ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Reports values of host functions whose shapes are only known at run time,
// which the GPU pipeline cannot compile.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

namespace tesa {
#define GEN_PASS_DEF_CHECKSTATICSHAPES
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct CheckStaticShapesPass
    : public tesa::impl::CheckStaticShapesBase<CheckStaticShapesPass> {
  void runOnOperation() override;
};
} // namespace

static bool isDynamic(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  return shaped && shaped.hasRank() && !shaped.hasStaticShape();
}

static constexpr llvm::StringLiteral kNeedsStaticShapes =
    "; the GPU pipeline needs static shapes";

/// Reports the first dynamically shaped value of `fn`.
static LogicalResult checkFunction(func::FuncOp fn) {
  for (auto [index, type] : llvm::enumerate(fn.getArgumentTypes()))
    if (isDynamic(type))
      return fn.emitError() << "argument " << index << " of @" << fn.getName()
                            << " has a dynamic shape (" << type << ")"
                            << kNeedsStaticShapes;
  for (auto [index, type] : llvm::enumerate(fn.getResultTypes()))
    if (isDynamic(type))
      return fn.emitError() << "result " << index << " of @" << fn.getName()
                            << " has a dynamic shape (" << type << ")"
                            << kNeedsStaticShapes;
  WalkResult result = fn.walk([](Operation *op) {
    for (Type type : llvm::concat<const Type>(op->getOperandTypes(),
                                              op->getResultTypes()))
      if (isDynamic(type)) {
        op->emitOpError() << "has a value of dynamic shape (" << type << ")"
                        << kNeedsStaticShapes;
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

void CheckStaticShapesPass::runOnOperation() {
  bool failed = false;
  for (auto fn : getOperation().getOps<func::FuncOp>())
    if (!fn.isExternal())
      failed |= mlir::failed(checkFunction(fn));
  if (failed)
    signalPassFailure();
}
