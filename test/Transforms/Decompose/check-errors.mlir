// RUN: tesa-opt %s -split-input-file --tesa-check-decomposition -verify-diagnostics

func.func @overlap(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [32]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %p0 = tesa.extract_part %w : tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [32]]> : tensor<2x1xi8>>> -> tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>
  %r0 = tesa.part_matmul fine %x, %p0, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, tensor<4x4xf32> -> tensor<4x4xf32>
  // expected-error @below {{element 0 (row-major) is in more than one part}}
  %p1 = tesa.extract_part %w : tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [32]]> : tensor<2x1xi8>>> -> tensor<8x4xf32, #tesa.sparsity<bits = 32>>
  %r1 = tesa.part_matmul fine %x, %p1, %r0 {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r1 : tensor<4x4xf32>
}

// -----

func.func @missing(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [8]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %p0 = tesa.extract_part %w : tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [8]]> : tensor<2x1xi8>>> -> tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>
  // expected-error @below {{element 16 (row-major) is kept at 8 bits by the operand but at 0 by the parts}}
  %r0 = tesa.part_matmul fine %x, %p0, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r0 : tensor<4x4xf32>
}
