//===- Propagate.cpp - Propagate #tesa.sparsity through programs ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Runs SparsityPropagation, reports what it found, and writes the result
// into every tensor type. Types that MLIR requires to be equal (a `linalg`
// init and its result, call operands and the callee's arguments, returned
// values and the function's results, loop-carried values) are reconciled:
// a single-use `tensor.empty`/`linalg.fill` init takes its result's type,
// everything else gets a `tesa.annotate` that converts between the two.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/PropagationReport.h"
#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Analysis/SparsityPropagation.h"
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"

namespace tesa {
#define GEN_PASS_DEF_PROPAGATE
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct PropagatePass : public tesa::impl::PropagateBase<PropagatePass> {
  using Base::Base;
  void runOnOperation() override;

private:
  LogicalResult writeReport(const PropagationReport &table);
  void emitRuleRemarks(PropagationRules &rules);
};
} // namespace

/// The type `type` takes for the propagation result `map`.
static RankedTensorType typeFor(RankedTensorType type, const SparsityMap &map) {
  std::optional<uint8_t> full = getFullBits(type.getElementType());
  if (map.getUniformBits() == full)
    return withSparsityEncoding(type, nullptr);
  return withSparsityEncoding(type, SparsityAttr::get(type.getContext(), map));
}

/// True if `value`'s type is tied to others by region control flow; such
/// values keep their type and annotations convert at the boundaries.
static bool isRegionCarried(Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    Operation *parent = arg.getOwner()->getParentOp();
    return !(isa<FunctionOpInterface>(parent) && arg.getOwner()->isEntryBlock());
  }
  return isa<RegionBranchOpInterface>(value.getDefiningOp());
}

/// Makes `operand` have `type`: by retyping a single-use `tensor.empty` or
/// destination-passing producer (and its own init, recursively), or with a
/// `tesa.annotate` in front of the user.
static void convertOperand(OpOperand &operand, Type type) {
  Value value = operand.get();
  if (value.getType() == type)
    return;
  Operation *producer = value.getDefiningOp();
  if (producer && value.hasOneUse() && !isRegionCarried(value)) {
    if (isa<tensor::EmptyOp>(producer)) {
      value.setType(type);
      return;
    }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(producer)) {
      if (OpOperand *init = dps.getTiedOpOperand(cast<OpResult>(value))) {
        value.setType(type);
        convertOperand(*init, type);
        return;
      }
    }
  }
  OpBuilder builder(operand.getOwner());
  operand.set(AnnotateOp::create(builder, operand.getOwner()->getLoc(), type,
                                 value));
}

/// Makes `result` have `type` while its users keep seeing the old type.
static void convertResult(OpResult result, Type type) {
  Type old = result.getType();
  if (old == type)
    return;
  result.setType(type);
  OpBuilder builder(result.getOwner()->getContext());
  builder.setInsertionPointAfter(result.getOwner());
  auto annotate = AnnotateOp::create(builder, result.getLoc(), old, result);
  result.replaceAllUsesExcept(annotate.getResult(), annotate);
}

void PropagatePass::emitRuleRemarks(PropagationRules &rules) {
  getOperation()->walk([&](Operation *op) {
    switch (rules.getRuleKind(op)) {
    case RuleKind::HandWritten:
      break;
    case RuleKind::Conservative:
      op->emitRemark() << "tesa-propagate: no propagation rule for '"
                       << op->getName() << "' ("
                       << rules.getConservativeReason(op)
                       << "); nothing is pruned through it";
      break;
    case RuleKind::BodyScrambling:
      if (!forceScrambling)
        op->emitRemark() << "tesa-propagate: rule for the payload of '"
                         << op->getName() << "' derived by tensor scrambling";
      break;
    case RuleKind::OpScrambling:
      if (!forceScrambling)
        op->emitRemark() << "tesa-propagate: rule for '" << op->getName()
                         << "' derived by tensor scrambling";
      break;
    }
  });
}

LogicalResult PropagatePass::writeReport(const PropagationReport &table) {
  std::string message;
  std::unique_ptr<llvm::ToolOutputFile> file =
      openOutputFile(this->report, &message);
  if (!file)
    return emitError(getOperation().getLoc())
           << "tesa-propagate: cannot write the report: " << message;
  if (reportFormat == "json")
    table.printJSON(file->os());
  else
    table.printTable(file->os());
  file->keep();
  return success();
}

void PropagatePass::runOnOperation() {
  ModuleOp module = getOperation();
  if (reportFormat != "table" && reportFormat != "json") {
    emitError(module.getLoc())
        << "tesa-propagate: report-format must be 'table' or 'json', got '"
        << reportFormat << "'";
    return signalPassFailure();
  }
  if (scrambleBudget < 0 || scrambleBudget > kMaxScrambleBudget ||
      scrambleTrials > kMaxScrambleTrials) {
    emitError(module.getLoc())
        << "tesa-propagate: scramble-budget must be in [0, "
        << kMaxScrambleBudget << "] and scramble-trials at most "
        << kMaxScrambleTrials << ", got " << int64_t(scrambleBudget)
        << " and " << unsigned(scrambleTrials);
    return signalPassFailure();
  }
  if (failed(verifyEncodingsIn(module)) ||
      failed(checkCountableSizes(module, "tesa-propagate")))
    return signalPassFailure();

  PropagationRuleOptions options;
  options.forceScrambling = forceScrambling;
  options.scrambleTrials = scrambleTrials;
  options.scrambleBudget = scrambleBudget;
  options.seed = seed;
  SparsityPropagation propagation(options);
  if (failed(propagation.run(module)))
    return signalPassFailure();
  emitRuleRemarks(propagation.getRules());
  if (!report.empty() &&
      failed(writeReport(PropagationReport::build(module, propagation))))
    return signalPassFailure();

  // Write the results into the types.
  DenseMap<Value, Type> originalTypes;
  module.walk([&](FunctionOpInterface function) {
    if (function.isExternal())
      return;
    auto retype = [&](Value value) {
      RankedTensorType type = getTrackedTensorType(value.getType());
      if (!type || isRegionCarried(value))
        return;
      std::optional<SparsityMap> result = propagation.getResult(value);
      if (!result)
        return;
      RankedTensorType newType = typeFor(type, *result);
      if (newType == type)
        return;
      originalTypes[value] = type;
      value.setType(newType);
    };
    for (BlockArgument arg : function.getArguments())
      retype(arg);
    function.walk([&](Operation *op) {
      for (Value result : op->getResults())
        retype(result);
    });
  });

  // Function signatures follow their entry block and first return. Only
  // builtin function types can hold tensors (an llvm.func's cannot).
  module.walk([&](FunctionOpInterface function) {
    if (function.isExternal() || !isa<FunctionType>(function.getFunctionType()))
      return;
    SmallVector<Type> results(function.getResultTypes());
    function.walk([&](Operation *op) {
      if (op->hasTrait<OpTrait::ReturnLike>() &&
          op->getParentOp() == function.getOperation()) {
        results.assign(op->getOperandTypes().begin(),
                       op->getOperandTypes().end());
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    function.setType(FunctionType::get(
        &getContext(), function.front().getArgumentTypes(), results));
    function.walk([&](Operation *op) {
      if (op->hasTrait<OpTrait::ReturnLike>() &&
          op->getParentOp() == function.getOperation())
        for (auto [operand, type] :
             llvm::zip_equal(op->getOpOperands(), results))
          convertOperand(operand, type);
    });
  });

  SymbolTableCollection symbols;
  module.walk([&](Operation *op) {
    // Inits take their results' types.
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op)) {
      for (OpOperand &init : dps.getDpsInitsMutable())
        if (isa<RankedTensorType>(init.get().getType()))
          convertOperand(init, dps.getTiedOpResult(&init).getType());
    }
    // Calls match their callee's signature.
    if (auto call = dyn_cast<CallOpInterface>(op)) {
      auto callee = dyn_cast_or_null<FunctionOpInterface>(
          call.resolveCallableInTable(&symbols));
      if (!callee)
        return;
      for (auto [operand, type] :
           llvm::zip(call.getArgOperandsMutable(), callee.getArgumentTypes()))
        convertOperand(operand, type);
      for (auto [result, type] :
           llvm::zip(op->getResults(), callee.getResultTypes()))
        convertResult(cast<OpResult>(result), type);
    }
  });

  // Any other op whose verifier rejects the new types (region control flow,
  // ops that require equal encodings) sees its original types again.
  SmallVector<Operation *> changed;
  module.walk([&](Operation *op) {
    if (isa<AnnotateOp, FunctionOpInterface>(op))
      return;
    auto isChanged = [&](Value v) { return originalTypes.count(v); };
    if (llvm::any_of(op->getOperands(), isChanged) ||
        llvm::any_of(op->getResults(), isChanged))
      changed.push_back(op);
  });
  for (Operation *op : changed) {
    bool valid;
    {
      ScopedDiagnosticHandler silence(&getContext(),
                                      [](Diagnostic &) { return success(); });
      valid = succeeded(verify(op, /*verifyRecursively=*/false));
    }
    if (valid)
      continue;
    for (OpOperand &operand : op->getOpOperands()) {
      auto it = originalTypes.find(operand.get());
      if (it != originalTypes.end())
        convertOperand(operand, it->second);
    }
    for (OpResult result : op->getResults()) {
      auto it = originalTypes.find(result);
      if (it == originalTypes.end())
        continue;
      convertResult(result, it->second);
    }
  }
}
