// RUN: not tesa-opt %s 2>&1 | FileCheck %s

// MLIR 22's parser reports a `.` right after a dialect attribute in a type
// and then returns the module anyway (mlir-opt prints the error and exits
// 0); tesa-opt exits 1 whenever an error was reported. Found by the module
// fuzzer.
// CHECK: error: expected three consecutive dots for an ellipsis
func.func @dot_after_encoding(%w: tensor<4xf32, #tesa.sparsity<bits = 8>.>) {
  return
}
