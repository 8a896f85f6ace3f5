// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_90" | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_75" | FileCheck %s --check-prefix=TURING
// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_80 plan=structured block-shape=32x32" | FileCheck %s --check-prefix=FORCED
// RUN: tesa-opt %s --split-input-file --tesa-decompose="chip=sm_90" --tesa-check-decomposition | FileCheck %s --check-prefix=COVER

// 2:4 f16 weights: two of every four consecutive reduction elements (rows of
// the rhs) kept, at positions that differ between the two halves of the
// columns. Where the chip has sparse tensor cores they become structured
// blocks; sm_75 has none and computes dense blocks.

#two_four = #tesa.sparsity<map = dense<[[16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16], [16, 0], [16, 16], [0, 0], [0, 16]]> : tensor<64x2xi8>>

// CHECK-LABEL: func.func @two_four(
// CHECK-SAME: %[[X:[^:]+]]: tensor<24x64xf32>, %[[W:[^:]+]]: tensor<64x64xf32, {{.*}}>, %[[ACC:[^:]+]]: tensor<24x64xf32>)
// CHECK: %[[P:.+]] = tesa.extract_part %[[W]]
// CHECK: %[[R:.+]] = tesa.part_matmul structured %[[X]], %[[P]], %[[ACC]] {bits = 16 : i64, block = array<i64: 64, 64>, sparse_operand = 1 : i64}
// CHECK-NOT: tesa.part_matmul
// CHECK: return %[[R]]

// TURING-LABEL: func.func @two_four(
// TURING-NOT: part_matmul structured
// TURING: tesa.part_matmul block
// TURING-NOT: part_matmul structured

// COVER-LABEL: func.func @two_four(
// COVER: tesa.part_matmul structured
func.func @two_four(%x: tensor<24x64xf32>, %w: tensor<64x64xf32, #two_four>, %acc: tensor<24x64xf32>) -> tensor<24x64xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<24x64xf32>, tensor<64x64xf32, #two_four>) outs(%acc : tensor<24x64xf32>) -> tensor<24x64xf32>
  return %r : tensor<24x64xf32>
}

// -----

// With a forced plan, blocks whose channels keep three of four consecutive
// reduction elements (the second half of the columns) stay dense blocks.

#broken = #tesa.sparsity<map = dense<[[16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16], [16, 16], [0, 16], [16, 0], [0, 16]]> : tensor<64x2xi8>>

// FORCED-LABEL: func.func @partly_two_four(
// FORCED-DAG: tesa.part_matmul structured
// FORCED-DAG: tesa.part_matmul block
func.func @partly_two_four(%x: tensor<24x64xf32>, %w: tensor<64x64xf32, #broken>, %acc: tensor<24x64xf32>) -> tensor<24x64xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<24x64xf32>, tensor<64x64xf32, #broken>) outs(%acc : tensor<24x64xf32>) -> tensor<24x64xf32>
  return %r : tensor<24x64xf32>
}
