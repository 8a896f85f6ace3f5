//===- SparsityPropagation.h - Whole-program sparsity analysis --*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The forward (`SparsityContent`) and backward (`SparsityDemand`) sparse
// dataflow analyses behind `--tesa-propagate`, on MLIR's dataflow framework.
// Both are interprocedural: calls to functions with bodies are followed.
// Facts meet as the propagation contract says (docs/propagation.md):
//
//  - forward, an element is zero if the op's rule proves it from zero
//    operands; function arguments hold what their type's encoding says;
//  - backward, an element is dead if no use needs it; results of public
//    functions are needed as their type's encoding says (all of them at full
//    precision when there is none);
//  - the backward rules consult the forward facts (a weight row multiplied
//    by zero activations is dead), and the solver iterates both to a fixed
//    point.
//
// Forward rules consult only zero facts, never dead ones: pruning an element
// that is dead can only make other dead elements zero, so the pruned set is
// the same, and reasoning from deadness forwards would let two uses justify
// each other's pruning in a cycle.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_SPARSITYPROPAGATION_H
#define TESA_ANALYSIS_SPARSITYPROPAGATION_H

#include "tesa/Analysis/PropagationRules.h"
#include "tesa/Analysis/SparsityLattice.h"

#include "mlir/Analysis/DataFlowFramework.h"
#include "mlir/IR/SymbolTable.h"

namespace tesa {

/// Runs sparsity propagation on `root` (usually a module) and holds its
/// results.
class SparsityPropagation {
public:
  explicit SparsityPropagation(PropagationRuleOptions options = {});

  /// Solves both analyses to a fixed point.
  mlir::LogicalResult run(mlir::Operation *root);

  /// The forward facts of a tracked value; nullopt if the value is not
  /// tracked or was never reached (dead code).
  std::optional<SparsityMap> getContent(mlir::Value value) const;
  /// The backward facts of a tracked value (all dead if nothing needs it).
  std::optional<SparsityMap> getDemand(mlir::Value value) const;
  /// What propagation concludes: `content.meet(demand)`.
  std::optional<SparsityMap> getResult(mlir::Value value) const;

  PropagationRules &getRules() { return rules; }

private:
  PropagationRules rules;
  mlir::SymbolTableCollection symbolTables;
  mlir::DataFlowSolver solver;
};

} // namespace tesa

#endif // TESA_ANALYSIS_SPARSITYPROPAGATION_H
