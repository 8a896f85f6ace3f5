// RUN: tesa-opt %s --tesa-propagate | FileCheck %s

// Bit widths flow forward through value-preserving ops and backward from what
// consumers need; the lowest precision wins a conflict.

#i8 = #tesa.sparsity<bits = 8>
#i16 = #tesa.sparsity<bits = 16>
#mixed = #tesa.sparsity<map = dense<[[8, 32], [32, 4]]> : tensor<2x2xi8>>

// Forward: an 8-bit input stays 8-bit through transpose and relu; the matmul
// computes at full precision.
// CHECK-LABEL: func.func @forward_bits(
// CHECK: linalg.transpose{{.*}}outs({{.*}}tensor<4x4xf32, #tesa.sparsity<bits = 8>>)
// CHECK: linalg.generic{{.*}}outs({{.*}}tensor<4x4xf32, #tesa.sparsity<bits = 8>>)
// CHECK: linalg.matmul{{.*}}-> tensor<4x4xf32>
func.func @forward_bits(%x: tensor<4x4xf32, #i8>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%x : tensor<4x4xf32, #i8>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%t : tensor<4x4xf32>) outs(%e2 : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %e3 = tensor.empty() : tensor<4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e3 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = linalg.matmul ins(%r, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// Backward: the caller needs 16 bits of the result, so the transposed input
// needs no more than 16.
// CHECK-LABEL: func.func @backward_bits(
// CHECK-SAME: %arg0: tensor<4x4xf32, #tesa.sparsity<bits = 16>>) -> tensor<4x4xf32, #tesa.sparsity<bits = 16>>
func.func @backward_bits(%x: tensor<4x4xf32>) -> tensor<4x4xf32, #i16> {
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %a = tesa.annotate %t : tensor<4x4xf32> -> tensor<4x4xf32, #i16>
  return %a : tensor<4x4xf32, #i16>
}

// Conflict: 8 bits forward meet 16 needed backward: 8 wins; per element, the
// lower of the two.
// CHECK-LABEL: func.func @conflict(
// CHECK-SAME: %arg0: tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 16], [16, 4]]> : tensor<2x2xi8>>>) -> tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 16], [16, 4]]> : tensor<2x2xi8>>>
func.func @conflict(%x: tensor<2x2xf32, #mixed>) -> tensor<2x2xf32, #i16> {
  %e = tensor.empty() : tensor<2x2xf32>
  %t = linalg.transpose ins(%x : tensor<2x2xf32, #mixed>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
  %a = tesa.annotate %t : tensor<2x2xf32> -> tensor<2x2xf32, #i16>
  return %a : tensor<2x2xf32, #i16>
}
