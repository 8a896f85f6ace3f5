// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_90" | FileCheck %s

// f16 operands accumulating in f32 (a product that widens them): one
// 16-bit block part that reads the f16 operands and accumulates in f32.
// CHECK-LABEL: func.func @f16_into_f32(
// CHECK-SAME: %[[X:[^:]+]]: tensor<32x64xf16>, %[[W:[^:]+]]: tensor<64x64xf16, {{.*}}>, %[[ACC:[^:]+]]: tensor<32x64xf32>)
// CHECK: %[[P:.+]] = tesa.extract_part %[[W]] : tensor<64x64xf16, {{.*}}> -> tensor<64x64xf16, {{.*}}>
// CHECK: %[[R:.+]] = tesa.part_matmul block %[[X]], %[[P]], %[[ACC]] {bits = 16 : i64, block = array<i64: 32, {{[0-9]+}}>, sparse_operand = 1 : i64} : tensor<32x64xf16>, tensor<64x64xf16, {{.*}}>, tensor<32x64xf32> -> tensor<32x64xf32>
// CHECK-NOT: tesa.part_matmul
// CHECK: return %[[R]]
#h = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
func.func @f16_into_f32(%x: tensor<32x64xf16>, %w: tensor<64x64xf16, #h>, %acc: tensor<32x64xf32>) -> tensor<32x64xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<32x64xf16>, tensor<64x64xf16, #h>) outs(%acc : tensor<32x64xf32>) -> tensor<32x64xf32>
  return %r : tensor<32x64xf32>
}
