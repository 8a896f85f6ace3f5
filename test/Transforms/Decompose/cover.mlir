// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=32x32" --tesa-check-decomposition -verify-diagnostics | FileCheck %s --check-prefix=BLOCK
// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-check-decomposition -verify-diagnostics | FileCheck %s --check-prefix=FINE

// Two widths in one operand: one part per width, disjoint, covering it.
// BLOCK-LABEL: func.func @two_widths
// BLOCK-SAME: (%[[X:.*]]: tensor<16x64xf32>, %[[W:.*]]: tensor<64x64xf32, {{.*}}>, %[[ACC:.*]]: tensor<16x64xf32>)
// BLOCK: %[[P0:.*]] = tesa.extract_part %[[W]] : {{.*}} -> tensor<64x64xf32, #tesa.sparsity<map = dense<{{\[\[}}0, 0], [0, 32]]> : tensor<2x2xi8>>>
// BLOCK: %[[R0:.*]] = tesa.part_matmul block %[[X]], %[[P0]], %[[ACC]] {bits = 32 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64}
// BLOCK: %[[P1:.*]] = tesa.extract_part %[[W]] : {{.*}} -> tensor<64x64xf32, #tesa.sparsity<map = dense<{{\[\[}}16, 0], [0, 0]]> : tensor<2x2xi8>>>
// BLOCK: %[[R1:.*]] = tesa.part_matmul block %[[X]], %[[P1]], %[[R0]] {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64}
// BLOCK: return %[[R1]]
// FINE-LABEL: func.func @two_widths
// FINE: tesa.part_matmul fine {{.*}} {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64}
// FINE: tesa.part_matmul fine {{.*}} {bits = 16 : i64, block = array<i64>, sparse_operand = 1 : i64}
func.func @two_widths(%x: tensor<16x64xf32>, %w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 32]]> : tensor<2x2xi8>>>, %acc: tensor<16x64xf32>) -> tensor<16x64xf32> {
  // expected-remark @below {{exact disjoint cover of 2048 elements by 2 parts}}
  %r = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// A sparse lhs: blocks are (rows, columns) of the lhs, channels along rows.
// BLOCK-LABEL: func.func @sparse_lhs
// BLOCK: %[[P:.*]] = tesa.extract_part
// BLOCK: tesa.part_matmul block %[[P]], {{.*}} {bits = 8 : i64, block = array<i64: 32, 32>, sparse_operand = 0 : i64}
// BLOCK-NOT: tesa.part_matmul
// FINE-LABEL: func.func @sparse_lhs
func.func @sparse_lhs(%w: tensor<64x96xf32, #tesa.sparsity<map = dense<[[8, 0, 0], [0, 0, 8]]> : tensor<2x3xi8>>>, %x: tensor<96x5xf32>, %acc: tensor<64x5xf32>) -> tensor<64x5xf32> {
  // expected-remark @below {{exact disjoint cover of 2048 elements by 1 parts}}
  %r = linalg.matmul ins(%w, %x : tensor<64x96xf32, #tesa.sparsity<map = dense<[[8, 0, 0], [0, 0, 8]]> : tensor<2x3xi8>>>, tensor<96x5xf32>) outs(%acc : tensor<64x5xf32>) -> tensor<64x5xf32>
  return %r : tensor<64x5xf32>
}

// Dense products are left alone.
// BLOCK-LABEL: func.func @dense
// BLOCK: linalg.matmul
// BLOCK-NOT: tesa.part_matmul
func.func @dense(%a: tensor<4x8xf32>, %b: tensor<8x4xf32, #tesa.sparsity<bits = 32>>, %acc: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>) outs(%acc : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
