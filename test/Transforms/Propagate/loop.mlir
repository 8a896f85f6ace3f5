// RUN: tesa-opt %s --tesa-propagate | FileCheck %s

// Loop-carried tensors keep their types; facts flow around the loop to a fixed point.

// CHECK-LABEL: func.func @loop(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> {
// CHECK: = scf.for
// CHECK: = tensor.empty{{.*}}tensor<4xi8>>>
// CHECK: = linalg.add{{.*}}tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
// CHECK: = tesa.annotate{{.*}}tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<4xi8>>>
// CHECK: = linalg.mul{{.*}}tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
// CHECK: return
func.func @loop(%x: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %x) -> (tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) {
    %e = tensor.empty() : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
    %a = linalg.add ins(%acc, %acc : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>, tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) outs(%e : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
    scf.yield %a : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
  }
  %c = tesa.annotate %r : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4xf32>
  %m = linalg.mul ins(%c, %c : tensor<4xf32>, tensor<4xf32>) outs(%e2 : tensor<4xf32>) -> tensor<4xf32>
  return %m : tensor<4xf32>
}
