//===- PropagationRules.h - Per-op sparsity propagation rules ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The transfer functions of `--tesa-propagate`, one op at a time:
//
//  - forward: from what each operand may hold (`SparsityContent`: 0 =
//    provably zero, else bits) to what each result may hold;
//  - backward: from what each operand may hold and what consumers need of
//    each result (`SparsityDemand`: 0 = dead, else bits) to what this op
//    needs of each operand.
//
// Every `linalg` structured op goes through one rule driven by its indexing
// maps and a `BodySummary` of its payload, with a bit-set fast path for
// contractions. `tensor` shape ops, `linalg.softmax`, constants and
// `tesa.annotate` have their own rules. Ops without a rule are handled by
// tensor scrambling (see TensorScrambling.h) or, failing that, reported so
// the caller treats them conservatively.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_PROPAGATIONRULES_H
#define TESA_ANALYSIS_PROPAGATIONRULES_H

#include "tesa/Analysis/BodySummary.h"
#include "tesa/Support/SparsityMap.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>
#include <optional>
#include <string>

namespace tesa {

class TensorScrambler;

/// One map per operand or result; nullopt where a value is not tracked (a
/// scalar or a dynamically shaped tensor) or where a rule has nothing to say.
using MapList = llvm::SmallVector<std::optional<SparsityMap>>;

/// The largest scrambling budget and trial count the propagation pass
/// accepts: 2 * 10^8 scalar evaluations take some 20 seconds of one core;
/// larger budgets would let one op's experiment look like a hang.
constexpr int64_t kMaxScrambleBudget = 200'000'000;
constexpr unsigned kMaxScrambleTrials = 1000;

/// Settings of the rules.
struct PropagationRuleOptions {
  /// Derive rules by scrambling even for ops that have a hand-written rule.
  bool forceScrambling = false;
  /// Random rounds per scrambling experiment.
  unsigned scrambleTrials = 4;
  /// The most scalar evaluations one whole-op scrambling may spend.
  int64_t scrambleBudget = 50'000'000;
  /// Seed of the random values scrambling uses.
  uint64_t seed = 1;
};

/// How the facts of an op were obtained.
enum class RuleKind {
  HandWritten,    ///< A rule of this file (structured ops: abstract payload).
  BodyScrambling, ///< Structured op whose payload was summarised by scrambling.
  OpScrambling,   ///< The whole op was evaluated by tensor scrambling.
  Conservative,   ///< No rule: nothing is pruned through the op.
};

/// The transfer functions, with the caches of derived rules.
class PropagationRules {
public:
  explicit PropagationRules(PropagationRuleOptions options = {});
  ~PropagationRules();

  /// Result contents of `op` (one entry per result). `operandContent` has
  /// one entry per operand, null where the operand is not tracked.
  mlir::FailureOr<MapList>
  forward(mlir::Operation *op,
          llvm::ArrayRef<const SparsityMap *> operandContent);

  /// Operand demands of `op` (one entry per operand). `resultDemand` has one
  /// entry per result, null where the result is not tracked.
  mlir::FailureOr<MapList>
  backward(mlir::Operation *op,
           llvm::ArrayRef<const SparsityMap *> operandContent,
           llvm::ArrayRef<const SparsityMap *> resultDemand);

  /// How the last successful or failed call for `op` was served, and for
  /// conservative ops why.
  RuleKind getRuleKind(mlir::Operation *op) const;
  llvm::StringRef getConservativeReason(mlir::Operation *op) const;

  const PropagationRuleOptions &getOptions() const { return options; }

private:
  /// Tries, in order: forced scrambling, the structured-op rule (with the
  /// payload summary) or the tensor-op rule, then scrambling; records how
  /// `op` was handled.
  mlir::FailureOr<MapList> apply(
      mlir::Operation *op,
      llvm::function_ref<mlir::FailureOr<MapList>(std::string &)> scramble,
      llvm::function_ref<mlir::FailureOr<MapList>(const BodySummary &,
                                                  std::string &)>
          structured,
      llvm::function_ref<mlir::FailureOr<MapList>(bool &, std::string &)>
          tensorOp);
  /// The payload summary of a structured op, or null with a reason; looked
  /// up once per op.
  const BodySummary *getBodySummary(mlir::Operation *op, std::string &reason);
  /// Derives (or finds in the cache of equal payloads) a payload summary.
  const BodySummary *summarise(mlir::Operation *op, std::string &reason);
  /// Records how `op` was handled.
  void note(mlir::Operation *op, RuleKind kind, llvm::StringRef reason = "");

  PropagationRuleOptions options;
  std::unique_ptr<TensorScrambler> scrambler;
  llvm::DenseMap<size_t, std::unique_ptr<BodySummary>> bodyCache;
  llvm::DenseMap<mlir::Operation *, std::pair<const BodySummary *, std::string>>
      summaryOf;
  llvm::DenseMap<mlir::Operation *, std::pair<RuleKind, std::string>> kinds;
};

} // namespace tesa

#endif // TESA_ANALYSIS_PROPAGATIONRULES_H
