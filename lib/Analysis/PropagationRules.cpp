//===- PropagationRules.cpp - Per-op sparsity propagation rules -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/PropagationRules.h"

#include "RuleUtils.h"

#include "tesa/Analysis/TensorScrambling.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace tesa;

PropagationRules::PropagationRules(PropagationRuleOptions options)
    : options(options),
      scrambler(std::make_unique<TensorScrambler>(this->options)) {}

PropagationRules::~PropagationRules() = default;

void PropagationRules::note(Operation *op, RuleKind kind, StringRef reason) {
  kinds[op] = {kind, reason.str()};
}

RuleKind PropagationRules::getRuleKind(Operation *op) const {
  auto it = kinds.find(op);
  return it == kinds.end() ? RuleKind::HandWritten : it->second.first;
}

StringRef PropagationRules::getConservativeReason(Operation *op) const {
  auto it = kinds.find(op);
  return it == kinds.end() ? StringRef() : StringRef(it->second.second);
}

const BodySummary *PropagationRules::getBodySummary(Operation *op,
                                                    std::string &reason) {
  Block *body = cast<linalg::LinalgOp>(op).getBlock();
  // Structurally equal ops (same payload, maps and types) share a summary.
  size_t key = tesa::propagation::hashOpStructure(op);
  auto it = bodyCache.find(key);
  if (it != bodyCache.end())
    return it->second.get();
  FailureOr<BodySummary> summary = BodySummary::analyse(*body, reason);
  if (failed(summary)) {
    std::string scrambleReason;
    summary = BodySummary::scramble(*body, options.scrambleTrials,
                                    options.seed, scrambleReason);
    if (failed(summary)) {
      reason += "; " + scrambleReason;
      return nullptr;
    }
  }
  auto stored = std::make_unique<BodySummary>(std::move(*summary));
  const BodySummary *result = stored.get();
  bodyCache[key] = std::move(stored);
  return result;
}

/// True if `op` has a hand-written rule that scrambling can stand in for.
static bool hasScramblableRule(Operation *op) {
  return isa<linalg::LinalgOp, linalg::SoftmaxOp, tensor::ExpandShapeOp,
             tensor::CollapseShapeOp, tensor::ExtractSliceOp,
             tensor::InsertSliceOp, tensor::ConcatOp, tensor::PadOp>(op);
}

FailureOr<MapList>
PropagationRules::forward(Operation *op,
                          ArrayRef<const SparsityMap *> operandContent) {
  std::string reason;
  if (options.forceScrambling && hasScramblableRule(op)) {
    FailureOr<MapList> scrambled =
        scrambler->forward(op, operandContent, reason);
    if (succeeded(scrambled)) {
      note(op, RuleKind::OpScrambling);
      return scrambled;
    }
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    if (const BodySummary *summary = getBodySummary(op, reason)) {
      FailureOr<MapList> result = tesa::propagation::forwardStructuredOp(
          linalgOp, *summary, operandContent, reason);
      if (succeeded(result)) {
        note(op, summary->isScrambled() ? RuleKind::BodyScrambling
                                        : RuleKind::HandWritten);
        return result;
      }
    }
  } else {
    bool handled = false;
    FailureOr<MapList> result =
        tesa::propagation::forwardTensorOp(op, operandContent, handled, reason);
    if (handled) {
      if (succeeded(result))
        note(op, RuleKind::HandWritten);
      else
        note(op, RuleKind::Conservative, reason);
      return result;
    }
    reason = "there is no rule for it";
  }
  std::string scrambleReason;
  FailureOr<MapList> scrambled =
      scrambler->forward(op, operandContent, scrambleReason);
  if (succeeded(scrambled)) {
    note(op, RuleKind::OpScrambling);
    return scrambled;
  }
  note(op, RuleKind::Conservative, reason + "; " + scrambleReason);
  return failure();
}

FailureOr<MapList>
PropagationRules::backward(Operation *op,
                           ArrayRef<const SparsityMap *> operandContent,
                           ArrayRef<const SparsityMap *> resultDemand) {
  // tensor.dim reads only the shape.
  if (isa<tensor::DimOp>(op))
    return MapList(op->getNumOperands());
  std::string reason;
  if (resultDemand.empty() || llvm::is_contained(resultDemand, nullptr)) {
    note(op, RuleKind::Conservative,
         "its results are not statically shaped tensors");
    return failure();
  }
  if (options.forceScrambling && hasScramblableRule(op)) {
    FailureOr<MapList> scrambled =
        scrambler->backward(op, operandContent, resultDemand, reason);
    if (succeeded(scrambled)) {
      note(op, RuleKind::OpScrambling);
      return scrambled;
    }
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    if (const BodySummary *summary = getBodySummary(op, reason)) {
      FailureOr<MapList> result = tesa::propagation::backwardStructuredOp(
          linalgOp, *summary, operandContent, resultDemand, reason);
      if (succeeded(result))
        return result;
    }
  } else {
    bool handled = false;
    FailureOr<MapList> result = tesa::propagation::backwardTensorOp(
        op, operandContent, resultDemand, handled, reason);
    if (handled) {
      if (failed(result))
        note(op, RuleKind::Conservative, reason);
      return result;
    }
    reason = "there is no rule for it";
  }
  std::string scrambleReason;
  FailureOr<MapList> scrambled =
      scrambler->backward(op, operandContent, resultDemand, scrambleReason);
  if (succeeded(scrambled)) {
    note(op, RuleKind::OpScrambling);
    return scrambled;
  }
  note(op, RuleKind::Conservative, reason + "; " + scrambleReason);
  return failure();
}
