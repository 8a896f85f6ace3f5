//===- SparsityPropagation.cpp - Whole-program sparsity analysis ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/SparsityPropagation.h"

#include "mlir/Analysis/DataFlow/ConstantPropagationAnalysis.h"
#include "mlir/Analysis/DataFlow/DeadCodeAnalysis.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::dataflow;
using namespace tesa;

/// Pointers to the maps of `lattices` for tracked `values` (bottom where
/// uninitialised, kept alive in `storage`), null for untracked ones.
template <typename LatticeT>
static SmallVector<const SparsityMap *>
collectMaps(ValueRange values, ArrayRef<const LatticeT *> lattices,
            std::deque<SparsityMap> &storage) {
  SmallVector<const SparsityMap *> maps;
  for (auto [value, lattice] : llvm::zip_equal(values, lattices)) {
    RankedTensorType type = getTrackedTensorType(value.getType());
    if (!type) {
      maps.push_back(nullptr);
      continue;
    }
    if (lattice && lattice->getMap()) {
      maps.push_back(&*lattice->getMap());
      continue;
    }
    storage.push_back(SparsityMap::getUniform(type.getShape(), kPrunedBits));
    maps.push_back(&storage.back());
  }
  return maps;
}

static SparsityMap fullMap(RankedTensorType type) {
  return SparsityMap::getUniform(type.getShape(),
                                 *getFullBits(type.getElementType()));
}

namespace {

/// Forward: what each tensor may hold.
class SparsityContentAnalysis
    : public SparseForwardDataFlowAnalysis<SparsityContent> {
public:
  SparsityContentAnalysis(DataFlowSolver &solver, PropagationRules &rules)
      : SparseForwardDataFlowAnalysis(solver), rules(rules) {}

  LogicalResult visitOperation(Operation *op,
                               ArrayRef<const SparsityContent *> operands,
                               ArrayRef<SparsityContent *> results) override {
    if (llvm::none_of(op->getResultTypes(), getTrackedTensorType))
      return success();
    std::deque<SparsityMap> storage;
    SmallVector<const SparsityMap *> content =
        collectMaps(op->getOperands(), operands, storage);
    FailureOr<MapList> facts = rules.forward(op, content);
    for (auto [r, result] : llvm::enumerate(op->getResults())) {
      RankedTensorType type = getTrackedTensorType(result.getType());
      if (!type)
        continue;
      SparsityMap map = succeeded(facts) && (*facts)[r] ? *(*facts)[r]
                                                        : fullMap(type);
      // An encoding already on the result is a fact too.
      if (type.getEncoding())
        map = map.meet(getDeclaredMap(type));
      propagateIfChanged(results[r], results[r]->raise(map));
    }
    return success();
  }

  void setToEntryState(SparsityContent *lattice) override {
    if (RankedTensorType type =
            getTrackedTensorType(lattice->getAnchor().getType()))
      propagateIfChanged(lattice, lattice->raise(getDeclaredMap(type)));
  }

private:
  PropagationRules &rules;
};

/// Backward: what consumers need of each tensor.
class SparsityDemandAnalysis
    : public SparseBackwardDataFlowAnalysis<SparsityDemand> {
public:
  SparsityDemandAnalysis(DataFlowSolver &solver,
                         SymbolTableCollection &symbolTables,
                         PropagationRules &rules)
      : SparseBackwardDataFlowAnalysis(solver, symbolTables), rules(rules) {}

  LogicalResult visitOperation(Operation *op,
                               ArrayRef<SparsityDemand *> operands,
                               ArrayRef<const SparsityDemand *> results) override {
    if (llvm::none_of(op->getOperandTypes(), getTrackedTensorType))
      return success();
    // The forward facts of the operands decide, for example, which weight
    // rows meet only zero activations.
    SmallVector<const SparsityContent *> contentLattices;
    for (Value operand : op->getOperands())
      contentLattices.push_back(
          getOrCreateFor<SparsityContent>(getProgramPointAfter(op), operand));
    std::deque<SparsityMap> storage;
    SmallVector<const SparsityMap *> content =
        collectMaps(op->getOperands(), ArrayRef(contentLattices), storage);
    SmallVector<const SparsityMap *> demand =
        collectMaps(op->getResults(), results, storage);
    // An op with side effects needs its operands whatever becomes of its
    // results.
    FailureOr<MapList> facts = failure();
    if (isMemoryEffectFree(op))
      facts = rules.backward(op, content, demand);
    for (auto [k, operand] : llvm::enumerate(op->getOperands())) {
      RankedTensorType type = getTrackedTensorType(operand.getType());
      if (!type)
        continue;
      SparsityMap map = failed(facts) ? fullMap(type)
                        : (*facts)[k] ? *(*facts)[k]
                                      : SparsityMap::getUniform(type.getShape(),
                                                                kPrunedBits);
      propagateIfChanged(operands[k], operands[k]->raise(map));
    }
    return success();
  }

  void visitBranchOperand(OpOperand &operand) override { setFull(operand); }
  /// Region arguments no operand flows into (loop induction variables) are
  /// not tensors.
  void visitNonControlFlowArguments(RegionSuccessor &,
                                    ArrayRef<BlockArgument>) override {}
  void visitCallOperand(OpOperand &operand) override { setFull(operand); }

  void setToExitState(SparsityDemand *lattice) override {
    Value value = lattice->getAnchor();
    RankedTensorType type = getTrackedTensorType(value.getType());
    if (!type)
      return;
    // A returned value is needed as the function's result type says.
    bool returned = false;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      auto function = dyn_cast<FunctionOpInterface>(user->getParentOp());
      if (!function || !user->hasTrait<OpTrait::ReturnLike>())
        continue;
      auto resultType = getTrackedTensorType(
          function.getResultTypes()[use.getOperandNumber()]);
      if (!resultType)
        continue;
      returned = true;
      propagateIfChanged(lattice, lattice->raise(getDeclaredMap(resultType)));
    }
    if (!returned)
      propagateIfChanged(lattice, lattice->raise(fullMap(type)));
  }

private:
  void setFull(OpOperand &operand) {
    if (RankedTensorType type = getTrackedTensorType(operand.get().getType())) {
      SparsityDemand *lattice = getLatticeElement(operand.get());
      propagateIfChanged(lattice, lattice->raise(fullMap(type)));
    }
  }

  PropagationRules &rules;
};

} // namespace

SparsityPropagation::SparsityPropagation(PropagationRuleOptions options)
    : rules(options) {
  solver.load<DeadCodeAnalysis>();
  solver.load<SparseConstantPropagation>();
  solver.load<SparsityContentAnalysis>(rules);
  solver.load<SparsityDemandAnalysis>(symbolTables, rules);
}

LogicalResult SparsityPropagation::run(Operation *root) {
  return solver.initializeAndRun(root);
}

std::optional<SparsityMap> SparsityPropagation::getContent(Value value) const {
  if (!getTrackedTensorType(value.getType()))
    return std::nullopt;
  const SparsityContent *state = solver.lookupState<SparsityContent>(value);
  if (!state || !state->getMap())
    return std::nullopt;
  return *state->getMap();
}

std::optional<SparsityMap> SparsityPropagation::getDemand(Value value) const {
  RankedTensorType type = getTrackedTensorType(value.getType());
  if (!type)
    return std::nullopt;
  const SparsityDemand *state = solver.lookupState<SparsityDemand>(value);
  if (!state || !state->getMap())
    return SparsityMap::getUniform(type.getShape(), kPrunedBits);
  return *state->getMap();
}

std::optional<SparsityMap> SparsityPropagation::getResult(Value value) const {
  std::optional<SparsityMap> content = getContent(value);
  if (!content)
    return std::nullopt;
  return content->meet(*getDemand(value));
}
