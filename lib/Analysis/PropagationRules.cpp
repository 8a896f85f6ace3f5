//===- PropagationRules.cpp - Per-op sparsity propagation rules -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/PropagationRules.h"

#include "RuleUtils.h"

#include "tesa/Analysis/SparsityLattice.h"
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
  auto known = summaryOf.find(op);
  if (known != summaryOf.end()) {
    reason = known->second.second;
    return known->second.first;
  }
  const BodySummary *summary = summarise(op, reason);
  summaryOf[op] = {summary, reason};
  return summary;
}

const BodySummary *PropagationRules::summarise(Operation *op,
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

FailureOr<MapList> PropagationRules::apply(
    Operation *op, function_ref<FailureOr<MapList>(std::string &)> scramble,
    function_ref<FailureOr<MapList>(const BodySummary &, std::string &)>
        structured,
    function_ref<FailureOr<MapList>(bool &, std::string &)> tensorOp) {
  std::string reason;
  if (options.forceScrambling && hasScramblableRule(op)) {
    FailureOr<MapList> scrambled = scramble(reason);
    if (succeeded(scrambled)) {
      note(op, RuleKind::OpScrambling);
      return scrambled;
    }
  }
  if (isa<linalg::LinalgOp>(op)) {
    if (const BodySummary *summary = getBodySummary(op, reason)) {
      FailureOr<MapList> result = structured(*summary, reason);
      if (succeeded(result)) {
        note(op, summary->isScrambled() ? RuleKind::BodyScrambling
                                        : RuleKind::HandWritten);
        return result;
      }
    }
  } else {
    bool handled = false;
    FailureOr<MapList> result = tensorOp(handled, reason);
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
  FailureOr<MapList> scrambled = scramble(scrambleReason);
  if (succeeded(scrambled)) {
    note(op, RuleKind::OpScrambling);
    return scrambled;
  }
  // Both say the same where an operand is not tracked.
  if (scrambleReason != reason)
    reason += "; " + scrambleReason;
  note(op, RuleKind::Conservative, reason);
  return failure();
}

FailureOr<MapList>
PropagationRules::forward(Operation *op,
                          ArrayRef<const SparsityMap *> operandContent) {
  return apply(
      op,
      [&](std::string &reason) {
        return scrambler->forward(op, operandContent, reason);
      },
      [&](const BodySummary &summary, std::string &reason) {
        return propagation::forwardStructuredOp(cast<linalg::LinalgOp>(op),
                                                summary, operandContent,
                                                reason);
      },
      [&](bool &handled, std::string &reason) {
        return propagation::forwardTensorOp(op, operandContent, handled,
                                            reason);
      });
}

FailureOr<MapList>
PropagationRules::backward(Operation *op,
                           ArrayRef<const SparsityMap *> operandContent,
                           ArrayRef<const SparsityMap *> resultDemand) {
  for (auto [result, demand] : llvm::zip_equal(op->getResults(), resultDemand))
    if (isa<ShapedType>(result.getType()) && !demand) {
      note(op, RuleKind::Conservative, describeUntrackedResult(result));
      return failure();
    }
  return apply(
      op,
      [&](std::string &reason) {
        return scrambler->backward(op, operandContent, resultDemand, reason);
      },
      [&](const BodySummary &summary, std::string &reason) {
        return propagation::backwardStructuredOp(cast<linalg::LinalgOp>(op),
                                                 summary, operandContent,
                                                 resultDemand, reason);
      },
      [&](bool &handled, std::string &reason) {
        return propagation::backwardTensorOp(op, operandContent, resultDemand,
                                             handled, reason);
      });
}
