// RUN: tesa-opt %s --split-input-file --tesa-fold-operand-extensions | FileCheck %s

#id = affine_map<(i, j) -> (i, j)>

// Both operands widened from f16 (torch-mlir's f16 Linear): the product
// reads them directly and the widenings go.
// CHECK-LABEL: func.func @widened(
// CHECK-SAME: %[[X:.*]]: tensor<16x64xf16>, %[[W:.*]]: tensor<64x32xf16>, %[[ACC:.*]]: tensor<16x32xf32>
// CHECK-NOT: arith.extf
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<16x64xf16>, tensor<64x32xf16>) outs(%[[ACC]] : tensor<16x32xf32>) -> tensor<16x32xf32>
// CHECK: return %[[P]]
func.func @widened(%x: tensor<16x64xf16>, %w: tensor<64x32xf16>, %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %ex = tensor.empty() : tensor<16x64xf32>
  %x32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x64xf16>) outs(%ex : tensor<16x64xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<16x64xf32>
  %ew = tensor.empty() : tensor<64x32xf32>
  %w32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<64x32xf16>) outs(%ew : tensor<64x32xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<64x32xf32>
  %p = linalg.matmul ins(%x32, %w32 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %p : tensor<16x32xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Only one operand widened: nothing changes.
// CHECK-LABEL: func.func @one_widened(
// CHECK: %[[X32:.*]] = linalg.generic
// CHECK: arith.extf
// CHECK: linalg.matmul ins(%[[X32]], %{{.*}} : tensor<16x64xf32>, tensor<64x32xf32>)
func.func @one_widened(%x: tensor<16x64xf16>, %w: tensor<64x32xf32>, %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %ex = tensor.empty() : tensor<16x64xf32>
  %x32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x64xf16>) outs(%ex : tensor<16x64xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x32, %w : tensor<16x64xf32>, tensor<64x32xf32>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %p : tensor<16x32xf32>
}
