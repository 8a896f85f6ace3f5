//===- TensorScrambling.h - Rules derived by evaluating ops -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Tensor scrambling derives propagation facts for an op by running it on the
// CPU: inputs get random values where they may be non-zero and zeros where
// they are zero; an output that is zero in every trial is zero. Then each
// non-zero input element is perturbed in turn and the outputs that change
// are recorded: an input element none of whose outputs is live is dead, and
// an output that always equals one of the inputs it depends on passes bit
// widths through. The dependence relation is cached per op signature and
// input zero pattern.
//
// The evaluator handles linalg structured ops (payloads of `arith`/`math`
// ops), `linalg.softmax`, the tensor reshapes, slices, `tensor.concat`,
// `tensor.pad`, and elementwise `arith`/`math` ops on tensors.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_TENSORSCRAMBLING_H
#define TESA_ANALYSIS_TENSORSCRAMBLING_H

#include "tesa/Analysis/PropagationRules.h"

#include <memory>

namespace tesa {

/// A dense float64 tensor the evaluator computes with.
struct DenseTensor {
  llvm::SmallVector<int64_t> shape;
  std::vector<double> data;
};

/// Evaluates `op` on `operands` (one per operand; scalars as rank-0
/// tensors). Fails, with a reason, for ops the evaluator does not know.
mlir::FailureOr<llvm::SmallVector<DenseTensor>>
evaluateOp(mlir::Operation *op, llvm::ArrayRef<DenseTensor> operands,
           std::string &reason);

/// Derives forward and backward facts of ops by scrambling.
class TensorScrambler {
public:
  explicit TensorScrambler(const PropagationRuleOptions &options);
  ~TensorScrambler();

  /// Result contents of `op` given its operand contents.
  mlir::FailureOr<MapList>
  forward(mlir::Operation *op,
          llvm::ArrayRef<const SparsityMap *> operandContent,
          std::string &reason);

  /// Operand demands of `op` given operand contents and result demands.
  mlir::FailureOr<MapList>
  backward(mlir::Operation *op,
           llvm::ArrayRef<const SparsityMap *> operandContent,
           llvm::ArrayRef<const SparsityMap *> resultDemand,
           std::string &reason);

  struct Relation;

private:
  mlir::FailureOr<const Relation *>
  getRelation(mlir::Operation *op,
              llvm::ArrayRef<const SparsityMap *> operandContent,
              std::string &reason);

  const PropagationRuleOptions &options;
  llvm::DenseMap<std::pair<size_t, size_t>, std::unique_ptr<Relation>> cache;
};

} // namespace tesa

#endif // TESA_ANALYSIS_TENSORSCRAMBLING_H
