// RUN: tesa-opt %s --tesa-propagate | FileCheck %s
// RUN: not tesa-opt %s --tesa-propagate="scramble-budget=9223372036854775807" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not tesa-opt %s --tesa-propagate="scramble-trials=100000" 2>&1 | FileCheck %s --check-prefix=BUDGET

// Function ops whose type is not a builtin function type (an llvm.func)
// hold no tensors: propagation leaves their signatures alone (it used to
// crash setting a FunctionType on them), and still refines func.func.
// CHECK-LABEL: llvm.func @helper(%arg0: i64) -> i64
// CHECK: llvm.return %arg0 : i64
llvm.func @helper(%x: i64) -> i64 {
  llvm.return %x : i64
}

// CHECK-LABEL: func.func @scale(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<bits = 8>>) -> tensor<4xf32, #tesa.sparsity<bits = 8>>
func.func @scale(%x: tensor<4xf32, #tesa.sparsity<bits = 8>>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.copy ins(%x : tensor<4xf32, #tesa.sparsity<bits = 8>>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// A budget that would let one op's scrambling run for hours is refused.
// BUDGET: error: tesa-propagate: scramble-budget must be in [0, 200000000] and scramble-trials at most 1000
