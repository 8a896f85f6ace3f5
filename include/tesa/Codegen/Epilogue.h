//===- Epilogue.h - The elementwise tail of a kernel region -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The ops of a kernel region after its root (a contraction's bias,
// activation, residual add, scaling, transpose of the result), applied to
// each element the root computes, in registers, and written once.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_EPILOGUE_H
#define TESA_CODEGEN_EPILOGUE_H

#include "tesa/Codegen/KernelEmitter.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace tesa {

/// The elementwise steps that follow a region's root value.
class Epilogue {
public:
  /// `ops` follow `root` one after the other, each reading the previous
  /// value (see isEpilogueStep); `tesa.annotate`s among them pass it on.
  /// Fails when one of them is neither.
  static llvm::FailureOr<Epilogue> get(mlir::Value root,
                                       llvm::ArrayRef<mlir::Operation *> ops);

  /// The tensors the steps read besides the running value, in the order
  /// their buffers are passed to `emit`.
  llvm::ArrayRef<mlir::Value> getInputs() const { return inputs; }
  /// The type of the value the last step gives.
  mlir::RankedTensorType getResultType() const { return resultType; }

  /// Applies the steps to `value`, the root's element at `coordinates`,
  /// and stores the result into the flat `out`. `inputBuffers` are the
  /// flat buffers of getInputs(); `loaded`, where given, what loadInputs
  /// gave for the element (loaded earlier, so that the loads of several
  /// elements overlap), else the inputs are loaded here.
  void emit(KernelEmitter &e, mlir::Value value,
            llvm::ArrayRef<mlir::Value> coordinates,
            llvm::ArrayRef<mlir::Value> inputBuffers, mlir::Value out,
            llvm::ArrayRef<mlir::Value> loaded = {}) const;
  /// What `emit` stores: the last step's value, and its index in the flat
  /// result.
  std::pair<mlir::Value, mlir::Value>
  apply(KernelEmitter &e, mlir::Value value,
        llvm::ArrayRef<mlir::Value> coordinates,
        llvm::ArrayRef<mlir::Value> inputBuffers,
        llvm::ArrayRef<mlir::Value> loaded = {}) const;
  /// The elements the steps read from their inputs for the root's element
  /// at `coordinates`, step by step.
  llvm::SmallVector<mlir::Value>
  loadInputs(KernelEmitter &e, llvm::ArrayRef<mlir::Value> coordinates,
             llvm::ArrayRef<mlir::Value> inputBuffers) const;
  /// How far apart in the flat result the results of two root elements one
  /// apart along the root's dimension `dim` are.
  int64_t getResultStride(unsigned dim) const;

private:
  /// Calls `visit` with each step, its running input and its loops at the
  /// root's element at `coordinates`; returns the element's coordinates in
  /// the last step's result.
  llvm::SmallVector<mlir::Value>
  walkSteps(llvm::ArrayRef<mlir::Value> coordinates,
            llvm::function_ref<void(mlir::linalg::GenericOp, unsigned,
                                    llvm::ArrayRef<mlir::Value>)>
                visit) const;

  llvm::SmallVector<mlir::linalg::GenericOp> steps;
  /// Per step, the input that reads the running value.
  llvm::SmallVector<unsigned> runningInput;
  llvm::SmallVector<mlir::Value> inputs;
  mlir::RankedTensorType resultType;
};

} // namespace tesa

#endif // TESA_CODEGEN_EPILOGUE_H
