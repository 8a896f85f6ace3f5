//===- DecomposeAggregatedOps.cpp - Expand linalg.softmax and kin ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_DECOMPOSEAGGREGATEDOPS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {

/// `type` if it is a tensor type with a sparsity encoding.
RankedTensorType getEncodedType(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tesa::getSparsityEncoding(tensor) ? tensor
                                                      : RankedTensorType();
}

bool hasEncodings(Operation *op) {
  return llvm::any_of(op->getOperandTypes(), getEncodedType) ||
         llvm::any_of(op->getResultTypes(), getEncodedType);
}

struct DecomposeAggregate
    : OpInterfaceRewritePattern<linalg::AggregatedOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(linalg::AggregatedOpInterface op,
                                PatternRewriter &rewriter) const override {
    // Upstream's expansions give intermediate results the input's type: an
    // op with encodings is first rewritten on plain tensors, between
    // annotations.
    if (hasEncodings(op)) {
      Location loc = op.getLoc();
      IRMapping operands;
      for (Value operand : op->getOperands())
        if (auto type = getEncodedType(operand.getType()))
          operands.map(operand, tesa::AnnotateOp::create(
                                    rewriter, loc,
                                    tesa::withSparsityEncoding(type, nullptr),
                                    operand));
      Operation *plain = rewriter.clone(*op, operands);
      SmallVector<Value> results;
      for (OpResult result : plain->getResults()) {
        Type original = result.getType();
        if (auto type = getEncodedType(original)) {
          result.setType(tesa::withSparsityEncoding(type, nullptr));
          results.push_back(
              tesa::AnnotateOp::create(rewriter, loc, original, result));
        } else {
          results.push_back(result);
        }
      }
      rewriter.replaceOp(op, results);
      return success();
    }
    FailureOr<SmallVector<Value>> results = op.decomposeOperation(rewriter);
    if (failed(results))
      return rewriter.notifyMatchFailure(op, "cannot decompose");
    rewriter.replaceOp(op, *results);
    return success();
  }
};

struct DecomposeAggregatedOpsPass
    : public tesa::impl::DecomposeAggregatedOpsBase<
          DecomposeAggregatedOpsPass> {
  void runOnOperation() override {
    // Upstream's expansions build floating-point arithmetic on tensors: an
    // aggregate of other elements (a softmax of integers) or of buffers is
    // an error, not a crash or invalid IR.
    WalkResult unsupported =
        getOperation()->walk([](linalg::AggregatedOpInterface op) {
          for (Type type : op->getOperandTypes()) {
            if (isa<BaseMemRefType>(type)) {
              op->emitOpError("cannot be decomposed on buffers: it is "
                              "expanded on tensors, before bufferization");
              return WalkResult::interrupt();
            }
            Type element = getElementTypeOrSelf(type);
            if (!isa<FloatType>(element)) {
              op->emitOpError("cannot be decomposed: its elements are ")
                  << element << ", not floating point";
              return WalkResult::interrupt();
            }
          }
          return WalkResult::advance();
        });
    if (unsupported.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeAggregate>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
