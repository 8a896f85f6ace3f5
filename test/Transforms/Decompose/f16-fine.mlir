// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_90" -verify-diagnostics | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_90 plan=fine" | FileCheck %s --check-prefix=FINE

// An f16 weight keeping four elements of 256 (1.6%, and four consecutive
// along the reduction: no 2:4 block), by 16 dense columns (a decode step):
// `auto` computes it as one fine-grained part, whose SIMT kernel reads the
// f16 operands as they are, where the cost model's block plan is not one
// the f16 parts compute.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[X:[^:]+]]: tensor<16x32xf16>, %[[W:[^:]+]]: tensor<32x8xf16, {{.*}}>, %[[ACC:[^:]+]]: tensor<16x8xf16>)
// CHECK: %[[P:.+]] = tesa.extract_part %[[W]]
// CHECK: %[[R:.+]] = tesa.part_matmul fine %[[X]], %[[P]], %[[ACC]] {bits = 16 : i64, block = array<i64>, sparse_operand = 1 : i64}
// CHECK-NOT: tesa.part_matmul
// CHECK: return %[[R]]
// FINE-LABEL: func.func @decode(
// FINE: tesa.part_matmul fine
#w = #tesa.sparsity<map = dense<[[16, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<8x8xi8>>
func.func @decode(%x: tensor<16x32xf16>, %w: tensor<32x8xf16, #w>, %acc: tensor<16x8xf16>) -> tensor<16x8xf16> {
  %r = linalg.matmul ins(%x, %w : tensor<16x32xf16>, tensor<32x8xf16, #w>) outs(%acc : tensor<16x8xf16>) -> tensor<16x8xf16>
  return %r : tensor<16x8xf16>
}

// -----

// The same weight by 128 dense columns: `auto` keeps the product dense
// (the SIMT kernel pays only over few columns); `fine` computes it as one
// fine-grained part all the same.
// CHECK-LABEL: func.func @many_columns(
// CHECK-NOT: tesa.part_matmul
// CHECK: linalg.matmul
// FINE-LABEL: func.func @many_columns(
// FINE: tesa.part_matmul fine
#w = #tesa.sparsity<map = dense<[[16, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<8x8xi8>>
func.func @many_columns(%x: tensor<128x32xf16>, %w: tensor<32x8xf16, #w>, %acc: tensor<128x8xf16>) -> tensor<128x8xf16> {
  // expected-remark @below {{one fine-grained 16-bit part pays only over at most 64 dense columns keeping at most 2% of the elements; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<128x32xf16>, tensor<32x8xf16, #w>) outs(%acc : tensor<128x8xf16>) -> tensor<128x8xf16>
  return %r : tensor<128x8xf16>
}
