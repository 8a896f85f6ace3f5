//===- OrderLoopsByOutput.cpp - Generic-path loops in the output's order --===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Interchanges the loops of each linalg op left for the generic path so
// that its parallel loops run in the order of its output's dimensions, the
// reductions after them. The generic path gives the innermost parallel
// loop thread x; in the output's order that loop walks contiguous memory.
// `linalg.depthwise_conv_2d_nchw_chw` iterates (n, oh, ow, c, kh, kw):
// without this, thread x walks channels, H * W elements apart.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallBitVector.h"

namespace tesa {
#define GEN_PASS_DEF_ORDERLOOPSBYOUTPUT
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// The loop order that puts `op`'s parallel loops in the order of its one
/// output's dimensions, then the other loops in their order; empty when
/// that is the order it has or its output map is not a projected
/// permutation.
SmallVector<unsigned> getOutputOrder(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1)
    return {};
  AffineMap output = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!output.isProjectedPermutation())
    return {};
  SmallVector<unsigned> order;
  llvm::SmallBitVector placed(op.getNumLoops());
  for (AffineExpr result : output.getResults()) {
    unsigned loop = cast<AffineDimExpr>(result).getPosition();
    order.push_back(loop);
    placed.set(loop);
  }
  for (unsigned loop = 0; loop < op.getNumLoops(); ++loop)
    if (!placed.test(loop))
      order.push_back(loop);
  bool identity = llvm::all_of(llvm::enumerate(order), [](auto entry) {
    return entry.index() == entry.value();
  });
  return identity ? SmallVector<unsigned>() : order;
}

struct OrderLoopsByOutputPass
    : public tesa::impl::OrderLoopsByOutputBase<OrderLoopsByOutputPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!getOutputOrder(op).empty())
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops) {
      SmallVector<unsigned> order = getOutputOrder(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        rewriter.setInsertionPoint(op);
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(generalized))
          continue;
        generic = *generalized;
      }
      // interchangeGenericOp takes, for each new loop, the old loop it is.
      if (failed(linalg::interchangeGenericOp(rewriter, generic, order)))
        continue;
    }
  }
};

} // namespace
