// RUN: tesa-opt %s --tesa-propagate | FileCheck %s

// Calls are followed: pruned rows of the weight in @second make columns of the
// weight in @first dead, across the call and its result.

#rows = #tesa.sparsity<map = dense<[[32], [0], [32], [0]]> : tensor<4x1xi8>>
// CHECK-LABEL: func.func private @first(
// CHECK-SAME: %arg0: tensor<2x4xf32>, %arg1: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>) -> tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>> {
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.fill{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = linalg.matmul{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: return
func.func private @first(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
// CHECK-LABEL: func.func private @second(
// CHECK-SAME: %arg0: tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>, %arg1: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [32], [0]]> : tensor<4x1xi8>>>) -> tensor<2x4xf32> {
// CHECK: = tensor.empty{{.*}}tensor<2x4xf32>
// CHECK: = linalg.fill{{.*}}tensor<2x4xf32>
// CHECK: = linalg.matmul{{.*}}tensor<2x4xf32>
// CHECK: return
func.func private @second(%x: tensor<2x4xf32>, %w: tensor<4x4xf32, #rows>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x4xf32, #rows>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
// CHECK-LABEL: func.func @model(
// CHECK-SAME: %arg0: tensor<2x4xf32>, %arg1: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>, %arg2: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [32], [0]]> : tensor<4x1xi8>>>) -> tensor<2x4xf32> {
// CHECK: = call{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = call{{.*}}tensor<2x4xf32>
// CHECK: return
func.func @model(%x: tensor<2x4xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32, #rows>) -> tensor<2x4xf32> {
  %h = call @first(%x, %w1) : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %y = call @second(%h, %w2) : (tensor<2x4xf32>, tensor<4x4xf32, #rows>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
