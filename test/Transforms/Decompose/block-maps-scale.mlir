// RUN: tesa-opt %s --tesa-decompose=remarks=true --tesa-check-decomposition -o /dev/null 2>&1 | FileCheck %s

// A 2^31-element weight with a 2x2 map plans on cells of the smallest menu
// block, not per element (which was killed at 24 GB), and its cover checks
// on the maps' grid.

// CHECK:      remark: decomposed operand 1 into 1 part; 262144 blocks of 64x64 at 32 bits
// CHECK:      remark: exact disjoint cover of 1073741824 elements by 1 parts
func.func @big(%x: tensor<4x32768xf32>, %w: tensor<32768x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [32, 0]]> : tensor<2x2xi8>>>) -> tensor<4x65536xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x65536xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x32768xf32>, tensor<32768x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [32, 0]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  return %y : tensor<4x65536xf32>
}
