// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="chip=sm_90 remarks=true" | FileCheck %s

// A 1x1 NCHW convolution whose filter keeps half its filters (more than a
// fifth of its elements) stays dense: --tesa-convolutions-as-products makes
// it one batched product, faster than parts over its copied patches. It
// reads the filter with its pruned elements zeroed (an argument may hold
// anything there); the image has no encoding.
// CHECK-LABEL: func.func @structured_pointwise(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3x3xf32>, %[[W:.*]]: tensor<4x4x1x1xf32, #{{.*}}>, %[[ACC:.*]]: tensor<2x4x3x3xf32>
// CHECK-NOT: tesa.part_matmul
// CHECK: %[[KEPT:.*]] = tesa.extract_part %[[W]]
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[KEPT]] :
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

// -----

// An image whose dead channels (channels 2 and 3) are those the filter
// prunes: the image is read as it is, the filter zeroed where it prunes.
// CHECK-LABEL: func.func @dead_channels_meet_pruned(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3x3xf32, #{{.*}}>, %[[W:.*]]: tensor<4x4x1x1xf32, #{{.*}}>
// CHECK: %[[KEPT:.*]] = tesa.extract_part %[[W]]
// CHECK-NOT: tesa.extract_part
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X]], %[[KEPT]] :
#image = #tesa.sparsity<map = dense<[[[[32]], [[32]], [[0]], [[0]]]]> : tensor<1x4x1x1xi8>>
#columns = #tesa.sparsity<map = dense<[[[[32]], [[32]], [[0]], [[0]]], [[[32]], [[32]], [[0]], [[0]]], [[[32]], [[32]], [[0]], [[0]]], [[[32]], [[32]], [[0]], [[0]]]]> : tensor<4x4x1x1xi8>>
func.func @dead_channels_meet_pruned(%x: tensor<2x4x3x3xf32, #image>, %w: tensor<4x4x1x1xf32, #columns>, %acc: tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32> {
  // expected-remark @below {{1x1 convolution kept dense}}
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x4x3x3xf32, #image>, tensor<4x4x1x1xf32, #columns>)
         outs(%acc : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  return %r : tensor<2x4x3x3xf32>
}

// -----

// An image pruned where the filter keeps elements: both are zeroed.
// CHECK-LABEL: func.func @dead_channels_meet_kept(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3x3xf32, #{{.*}}>, %[[W:.*]]: tensor<4x4x1x1xf32, #{{.*}}>
// CHECK-DAG: %[[IMAGE:.*]] = tesa.extract_part %[[X]]
// CHECK-DAG: %[[KEPT:.*]] = tesa.extract_part %[[W]]
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%[[IMAGE]], %[[KEPT]] :
#dead = #tesa.sparsity<map = dense<[[[[32]], [[32]], [[0]], [[0]]]]> : tensor<1x4x1x1xi8>>
#rows = #tesa.sparsity<map = dense<[[[[32]], [[32]], [[32]], [[32]]], [[[32]], [[32]], [[32]], [[32]]], [[[0]], [[0]], [[0]], [[0]]], [[[0]], [[0]], [[0]], [[0]]]]> : tensor<4x4x1x1xi8>>
func.func @dead_channels_meet_kept(%x: tensor<2x4x3x3xf32, #dead>, %w: tensor<4x4x1x1xf32, #rows>, %acc: tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32> {
  // expected-remark @below {{1x1 convolution kept dense}}
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%x, %w : tensor<2x4x3x3xf32, #dead>, tensor<4x4x1x1xf32, #rows>)
         outs(%acc : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  return %r : tensor<2x4x3x3xf32>
}
