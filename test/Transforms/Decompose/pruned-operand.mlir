// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="chip=sm_90 remarks=true" | FileCheck %s

// A filter that is entirely pruned (MobileNet-V2's 96x16 expansion with
// 90% of its blocks pruned keeps none): the convolution adds nothing to its
// accumulator, which becomes its result, whatever the element type.
// CHECK-LABEL: func.func @pruned_filter(
// CHECK-SAME: %[[IMAGE:.*]]: tensor<2x16x4x4xf16>, %[[FILTER:.*]]: tensor<96x16x1x1xf16, #tesa.sparsity<bits = 0>>, %[[ACC:.*]]: tensor<2x96x4x4xf32>
// CHECK-NOT: linalg.conv_2d_nchw_fchw
// CHECK: return %[[ACC]]
func.func @pruned_filter(%image: tensor<2x16x4x4xf16>, %filter: tensor<96x16x1x1xf16, #tesa.sparsity<bits = 0>>, %acc: tensor<2x96x4x4xf32>) -> tensor<2x96x4x4xf32> {
  // expected-remark @below {{operand 1 is entirely pruned: the result is the accumulator}}
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<2x16x4x4xf16>, tensor<96x16x1x1xf16, #tesa.sparsity<bits = 0>>)
         outs(%acc : tensor<2x96x4x4xf32>) -> tensor<2x96x4x4xf32>
  return %r : tensor<2x96x4x4xf32>
}

// -----

// The same for a product whose pruned lhs has f16 elements (no f16 part
// computes a sparse lhs).
// CHECK-LABEL: func.func @pruned_lhs(
// CHECK-SAME: %[[X:.*]]: tensor<16x32xf16, #tesa.sparsity<bits = 0>>, %[[W:.*]]: tensor<32x8xf16>, %[[ACC:.*]]: tensor<16x8xf16>
// CHECK-NEXT: return %[[ACC]]
func.func @pruned_lhs(%x: tensor<16x32xf16, #tesa.sparsity<bits = 0>>, %w: tensor<32x8xf16>, %acc: tensor<16x8xf16>) -> tensor<16x8xf16> {
  // expected-remark @below {{operand 0 is entirely pruned: the result is the accumulator}}
  %r = linalg.matmul ins(%x, %w : tensor<16x32xf16, #tesa.sparsity<bits = 0>>, tensor<32x8xf16>) outs(%acc : tensor<16x8xf16>) -> tensor<16x8xf16>
  return %r : tensor<16x8xf16>
}
