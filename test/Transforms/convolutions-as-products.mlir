// RUN: tesa-opt %s --split-input-file --tesa-convolutions-as-products | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-convolutions-as-products=only-pointwise=true | FileCheck %s --check-prefix=POINTWISE

// NCHW / FCHW in f32: the filter as f x (c kh kw) times the patches
// (c kh kw) x (n oh ow), accumulated through f x n x oh x ow.
// CHECK-LABEL: func.func @nchw_f32(
// CHECK-SAME: %[[IMAGE:.*]]: tensor<1x2x3x3xf32>, %[[FILTER:.*]]: tensor<3x2x2x2xf32>
// CHECK: %[[COPIED:.*]] = linalg.generic {{.*}} ins(%[[IMAGE]] : tensor<1x2x3x3xf32>)
// CHECK: %[[PATCHES:.*]] = tensor.collapse_shape %[[COPIED]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<2x2x2x1x2x2xf32> into tensor<8x4xf32>
// CHECK: %[[MATRIX:.*]] = tensor.collapse_shape %[[FILTER]] {{\[\[}}0], [1, 2, 3]] : tensor<3x2x2x2xf32> into tensor<3x8xf32>
// CHECK: %[[PRODUCT:.*]] = linalg.matmul ins(%[[MATRIX]], %[[PATCHES]] : tensor<3x8xf32>, tensor<8x4xf32>)
// CHECK: %[[EXPANDED:.*]] = tensor.expand_shape %[[PRODUCT]]
// CHECK: %[[RESULT:.*]] = linalg.transpose ins(%[[EXPANDED]] : tensor<3x1x2x2xf32>)
// CHECK: return %[[RESULT]]
// CHECK-NOT: linalg.conv_2d
func.func @nchw_f32(%image: tensor<1x2x3x3xf32>, %filter: tensor<3x2x2x2xf32>, %acc: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x2x3x3xf32>, tensor<3x2x2x2xf32>)
         outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %r : tensor<1x3x2x2xf32>
}

// -----

// f16 image and filter accumulating in f32, as torch-mlir writes an f16
// convolution: an f16 product with an f32 accumulator.
// CHECK-LABEL: func.func @nchw_f16_accumulating_in_f32(
// CHECK: %[[COPIED:.*]] = linalg.generic
// CHECK: %[[PATCHES:.*]] = tensor.collapse_shape %[[COPIED]] {{.*}} : tensor<2x2x2x1x2x2xf16> into tensor<8x4xf16>
// CHECK: %[[MATRIX:.*]] = tensor.collapse_shape {{.*}} into tensor<3x8xf16>
// CHECK: linalg.matmul ins(%[[MATRIX]], %[[PATCHES]] : tensor<3x8xf16>, tensor<8x4xf16>) outs(%{{.*}} : tensor<3x4xf32>)
func.func @nchw_f16_accumulating_in_f32(%image: tensor<1x2x3x3xf16>, %filter: tensor<3x2x2x2xf16>, %acc: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x2x3x3xf16>, tensor<3x2x2x2xf16>)
         outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %r : tensor<1x3x2x2xf32>
}

// -----

// Depthwise convolutions and other element types stay.
// CHECK-LABEL: func.func @left_alone(
// CHECK: linalg.depthwise_conv_2d_nchw_chw
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-NOT: linalg.matmul
func.func @left_alone(%image: tensor<1x2x3x3xf32>, %dw: tensor<2x2x2xf32>, %acc: tensor<1x2x2x2xf32>,
                      %i8: tensor<1x2x3x3xi8>, %f8: tensor<3x2x2x2xi8>, %acc32: tensor<1x3x2x2xi32>) -> (tensor<1x2x2x2xf32>, tensor<1x3x2x2xi32>) {
  %d = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %dw : tensor<1x2x3x3xf32>, tensor<2x2x2xf32>)
         outs(%acc : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%i8, %f8 : tensor<1x2x3x3xi8>, tensor<3x2x2x2xi8>)
         outs(%acc32 : tensor<1x3x2x2xi32>) -> tensor<1x3x2x2xi32>
  return %d, %c : tensor<1x2x2x2xf32>, tensor<1x3x2x2xi32>
}

// -----

// A 1x1 NCHW convolution, f16 accumulating in f32: a batched product over
// the two images (n), which the filter does not have; only reshapes
// around it.
// CHECK-LABEL: func.func @pointwise_f16(
// POINTWISE-LABEL: func.func @pointwise_f16(
// POINTWISE-SAME: %[[X:[^:]*]]: tensor<2x8x4x4xf16>, %[[W:[^:]*]]: tensor<16x8x1x1xf16>, %[[ACC:[^:]*]]: tensor<2x16x4x4xf32>
// POINTWISE-DAG: %[[XS:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]] : tensor<2x8x4x4xf16> into tensor<2x8x16xf16>
// POINTWISE-DAG: %[[WS:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2, 3]] : tensor<16x8x1x1xf16> into tensor<16x8xf16>
// POINTWISE-DAG: %[[AS:.*]] = tensor.collapse_shape %[[ACC]] {{\[}}[0], [1], [2, 3]] : tensor<2x16x4x4xf32> into tensor<2x16x16xf32>
// POINTWISE: %[[P:.*]] = linalg.generic {indexing_maps = [#[[FILTER:.*]], #[[IMAGE:.*]], #[[OUT:.*]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// POINTWISE-SAME: ins(%[[WS]], %[[XS]] : tensor<16x8xf16>, tensor<2x8x16xf16>) outs(%[[AS]] : tensor<2x16x16xf32>)
// POINTWISE: arith.extf
// POINTWISE: arith.extf
// POINTWISE: arith.mulf
// POINTWISE: arith.addf
// POINTWISE: %[[Y:.*]] = tensor.expand_shape %[[P]] {{\[}}[0], [1], [2, 3]] output_shape [2, 16, 4, 4]
// POINTWISE: return %[[Y]]
func.func @pointwise_f16(%x: tensor<2x8x4x4xf16>, %w: tensor<16x8x1x1xf16>, %acc: tensor<2x16x4x4xf32>) -> tensor<2x16x4x4xf32> {
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<2x8x4x4xf16>, tensor<16x8x1x1xf16>) outs(%acc : tensor<2x16x4x4xf32>) -> tensor<2x16x4x4xf32>
  return %y : tensor<2x16x4x4xf32>
}

// -----

// With only-pointwise, a 3x3 convolution stays.
// POINTWISE-LABEL: func.func @not_pointwise(
// POINTWISE: linalg.conv_2d_nchw_fchw
// CHECK-LABEL: func.func @not_pointwise(
// CHECK-NOT: linalg.conv_2d_nchw_fchw
func.func @not_pointwise(%x: tensor<1x2x3x3xf32>, %w: tensor<3x2x2x2xf32>, %acc: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x2x3x3xf32>, tensor<3x2x2x2xf32>) outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %y : tensor<1x3x2x2xf32>
}
