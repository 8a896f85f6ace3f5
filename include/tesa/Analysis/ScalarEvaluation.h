//===- ScalarEvaluation.h - Evaluate scalar payload ops ---------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A small interpreter for the scalar `arith` and `math` ops that appear in
// linalg payloads and elementwise tensor ops. Tensor scrambling uses it to
// evaluate ops on the CPU with random inputs. Every value is a double;
// integer ops truncate like their integer semantics where that matters.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_SCALAREVALUATION_H
#define TESA_ANALYSIS_SCALAREVALUATION_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"

namespace tesa {

/// Evaluates the scalar op `op` on `operands`. Fails if the op is not one the
/// interpreter knows.
mlir::FailureOr<double> evaluateScalarOp(mlir::Operation *op,
                                         llvm::ArrayRef<double> operands);

/// True if every op nested in `block` (its terminator excluded) can be
/// evaluated by `evaluateScalarOp`; `linalg.index` counts when
/// `allowIndex` is set. Names the first op that cannot in `unsupported`.
bool canEvaluateBlock(mlir::Block &block, bool allowIndex,
                      mlir::Operation **unsupported = nullptr);

/// Evaluates the ops of `block` with its arguments bound to `arguments` and
/// returns the operands of its terminator. Values defined outside the block
/// are looked up in `outside` (constants are read from their op).
/// `loopIndices` gives `linalg.index` results. Fails on an unknown op or an
/// unbound outside value.
mlir::FailureOr<llvm::SmallVector<double>>
evaluateBlock(mlir::Block &block, llvm::ArrayRef<double> arguments,
              const llvm::DenseMap<mlir::Value, double> &outside,
              llvm::ArrayRef<int64_t> loopIndices = {});

/// The value of a scalar constant defined outside a payload, if `value` is
/// one.
std::optional<double> getScalarConstant(mlir::Value value);

/// True if `value` is a scalar constant zero (of either sign).
bool isZeroConstant(mlir::Value value);

/// The value of every element of the tensor `value` if it is a splat known at
/// compile time: a splat constant or a `linalg.fill` with a constant.
std::optional<double> getKnownSplat(mlir::Value value);

} // namespace tesa

#endif // TESA_ANALYSIS_SCALAREVALUATION_H
