// RUN: tesa-opt %s --tesa-propagate | FileCheck %s

// A pruned row of the second weight makes the matching hidden unit dead: its
// bias entry, the column of the first weight, and the activations in between.

#w2 = #tesa.sparsity<map = dense<[[32], [0], [32], [32]]> : tensor<4x1xi8>>
// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %arg0: tensor<4x8xf32>, %arg1: tensor<8x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 32]]> : tensor<1x4xi8>>>, %arg2: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 32]> : tensor<4xi8>>>, %arg3: tensor<4x2xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [32], [32]]> : tensor<4x1xi8>>>) -> tensor<4x2xf32> {
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.fill{{.*}}tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 32]]> : tensor<1x4xi8>>>
// CHECK: = linalg.matmul{{.*}}tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 32]]> : tensor<1x4xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.generic{{.*}}tensor<1x4xi8>>>)
// CHECK: = tensor.empty{{.*}}tensor<4x2xf32>
// CHECK: = linalg.fill{{.*}}tensor<4x2xf32>
// CHECK: = linalg.matmul{{.*}}tensor<4x2xf32>
// CHECK: return
func.func @mlp(%x: tensor<4x8xf32>, %w1: tensor<8x4xf32>, %b1: tensor<4xf32>, %w2: tensor<4x2xf32, #w2>) -> tensor<4x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<4x8xf32>, tensor<8x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%h, %b1 : tensor<4x4xf32>, tensor<4xf32>) outs(%e2 : tensor<4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %e3 = tensor.empty() : tensor<4x2xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x2xf32>) -> tensor<4x2xf32>
  %y = linalg.matmul ins(%r, %w2 : tensor<4x4xf32>, tensor<4x2xf32, #w2>) outs(%f3 : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
