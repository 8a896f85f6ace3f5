// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="chip=sm_90 remarks=true" | FileCheck %s

// A 1x1 NCHW convolution whose filter keeps half its filters (more than a
// fifth of its elements) stays dense: --tesa-convolutions-as-products makes
// it one batched product, faster than parts over its copied patches.
// CHECK-LABEL: func.func @structured_pointwise(
// CHECK-NOT: tesa.part_matmul
// CHECK: linalg.conv_2d_nchw_fchw
#half = #tesa.sparsity<map = dense<[[[[32]], [[32]], [[32]], [[32]]], [[[32]], [[32]], [[32]], [[32]]], [[[0]], [[0]], [[0]], [[0]]], [[[0]], [[0]], [[0]], [[0]]]]> : tensor<4x4x1x1xi8>>
func.func @structured_pointwise(%x: tensor<2x4x3x3xf32>, %w: tensor<4x4x1x1xf32, #half>, %acc: tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32> {
  // expected-remark @below {{1x1 convolution kept dense: its operands keep more than 20% of their elements}}
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x4x3x3xf32>, tensor<4x4x1x1xf32, #half>)
         outs(%acc : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  return %r : tensor<2x4x3x3xf32>
}

// -----

// One element of sixteen kept: decomposed over the patches.
// CHECK-LABEL: func.func @sparse_pointwise(
// CHECK: tesa.part_matmul
// CHECK-NOT: linalg.conv_2d_nchw_fchw
#one = #tesa.sparsity<map = dense<[[[[32]], [[0]], [[0]], [[0]]], [[[0]], [[0]], [[0]], [[0]]], [[[0]], [[0]], [[0]], [[0]]], [[[0]], [[0]], [[0]], [[0]]]]> : tensor<4x4x1x1xi8>>
func.func @sparse_pointwise(%x: tensor<2x4x3x3xf32>, %w: tensor<4x4x1x1xf32, #one>, %acc: tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32> {
  // expected-remark @below {{decomposed operand 0}}
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x4x3x3xf32>, tensor<4x4x1x1xf32, #one>)
         outs(%acc : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  return %r : tensor<2x4x3x3xf32>
}
