//===- FuseEpilogues.cpp - Activations into the last part of a product ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Moves the body of an elementwise op that consumes a product's last part
// into the part's epilogue region.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace tesa {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct FuseEpiloguesPass
    : public tesa::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override;
};

/// An elementwise op fusable into the part that produces one of its inputs.
struct Epilogue {
  linalg::LinalgOp op;
  PartMatmulOp part;
  /// The part's operand number in `op`.
  unsigned partInput;
};

/// The constant op defining `value`, if any.
Operation *getConstant(Value value) {
  Operation *constant = value.getDefiningOp();
  return constant && matchPattern(constant, m_Constant()) ? constant : nullptr;
}

/// The constant op a tensor is filled with, if it is one.
Operation *getFillConstant(Value tensor) {
  auto fill = tensor.getDefiningOp<linalg::FillOp>();
  return fill ? getConstant(fill.value()) : nullptr;
}

/// `op` as an epilogue of the part producing one of its inputs, if it is
/// one: all-parallel, identity maps, a single result of the part's shape
/// and element type, a body without side effects that ignores the output's value, and
/// no input but the part's result and constant-filled tensors.
std::optional<Epilogue> matchEpilogue(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op->getNumResults() != 1 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return std::nullopt;
  std::optional<Epilogue> match;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto part = input->get().getDefiningOp<PartMatmulOp>();
    if (part && !match && !part.hasEpilogue() && part->hasOneUse()) {
      match = Epilogue{op, part, input->getOperandNumber()};
      continue;
    }
    if (!getFillConstant(input->get()))
      return std::nullopt;
  }
  if (!match)
    return std::nullopt;
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  auto partType = cast<RankedTensorType>(match->part.getType());
  if (resultType.getElementType() != partType.getElementType() ||
      resultType.getShape() != partType.getShape())
    return std::nullopt;
  // The body: pure arith and math ops of the inputs, and of constants
  // defined outside it (copied in), as the epilogue region allows.
  Block *body = op.getBlock();
  if (!body->getArguments().back().use_empty())
    return std::nullopt;
  for (Operation &bodyOp : *body) {
    if (&bodyOp != body->getTerminator() &&
        !PartMatmulOp::canBeInEpilogue(&bodyOp))
      return std::nullopt;
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentBlock() != body && !getConstant(operand))
        return std::nullopt;
  }
  return match;
}

/// Replaces `epilogue.op` by a copy of its part that carries its body.
void fuse(const Epilogue &epilogue) {
  linalg::LinalgOp op = epilogue.op;
  PartMatmulOp part = epilogue.part;
  OpBuilder builder(op);
  auto fused = cast<PartMatmulOp>(builder.clone(*part));
  fused->getResult(0).setType(op->getResult(0).getType());
  // The region takes one element of the result, of its element type.
  Block *region = builder.createBlock(
      &fused.getEpilogue(), {}, {getElementTypeOrSelf(fused.getType())},
      {op.getLoc()});
  Block *body = op.getBlock();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    BlockArgument argument = body->getArgument(input->getOperandNumber());
    if (input->getOperandNumber() == epilogue.partInput) {
      mapping.map(argument, region->getArgument(0));
      continue;
    }
    mapping.map(argument,
                builder.clone(*getFillConstant(input->get()))->getResult(0));
  }
  // Constants from outside the body are copied in.
  for (Operation &bodyOp : *body)
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentBlock() != body && !mapping.contains(operand))
        mapping.map(operand,
                    builder.clone(*getConstant(operand))->getResult(0));
  for (Operation &bodyOp : body->without_terminator())
    builder.clone(bodyOp, mapping);
  Value value = mapping.lookup(body->getTerminator()->getOperand(0));
  YieldOp::create(builder, op.getLoc(), value);
  op->replaceAllUsesWith(fused->getResults());
  op->erase();
  part->erase();
}

} // namespace

void FuseEpiloguesPass::runOnOperation() {
  SmallVector<Epilogue> epilogues;
  getOperation()->walk([&](linalg::LinalgOp op) {
    if (std::optional<Epilogue> epilogue = matchEpilogue(op))
      epilogues.push_back(*epilogue);
  });
  for (const Epilogue &epilogue : epilogues)
    fuse(epilogue);
}
