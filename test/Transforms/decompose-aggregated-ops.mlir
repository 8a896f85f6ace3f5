// RUN: tesa-opt %s --split-input-file --tesa-decompose-aggregated-ops | FileCheck %s

// A softmax becomes a max reduction, a subtract-and-exp, a sum and a
// division.
// CHECK-LABEL: func.func @softmax(
// CHECK-NOT: linalg.softmax
// CHECK: math.exp
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// -----

// With a sparse input (as after propagation) the expansion runs on plain
// tensors between annotations, so every intermediate type verifies.
// CHECK-LABEL: func.func @encoded_softmax(
// CHECK-SAME: %[[X:.+]]: tensor<4x8xf32, #tesa.sparsity<{{.*}}>>)
// CHECK: %[[PLAIN:.+]] = tesa.annotate %[[X]] : tensor<4x8xf32, #tesa.sparsity<{{.*}}>> -> tensor<4x8xf32>
// CHECK-NOT: linalg.softmax
// CHECK: linalg.generic {{.*}} ins(%[[PLAIN]]
// CHECK: return %{{.+}} : tensor<4x8xf32>
func.func @encoded_softmax(%x: tensor<4x8xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<4x8xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// -----

// An encoded result is given back by an annotation.
// CHECK-LABEL: func.func @encoded_result(
// CHECK: arith.divf
// CHECK: } -> tensor<4x8xf32>
// CHECK: %[[OUT:.+]] = tesa.annotate %{{.+}} : tensor<4x8xf32> -> tensor<4x8xf32, #tesa.sparsity<bits = 16>>
// CHECK: return %[[OUT]]
func.func @encoded_result(%x: tensor<4x8xf32>) -> tensor<4x8xf32, #tesa.sparsity<bits = 16>> {
  %e = tensor.empty() : tensor<4x8xf32, #tesa.sparsity<bits = 16>>
  %s = linalg.softmax dimension(1) ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32, #tesa.sparsity<bits = 16>>) -> tensor<4x8xf32, #tesa.sparsity<bits = 16>>
  return %s : tensor<4x8xf32, #tesa.sparsity<bits = 16>>
}
