// RUN: tesa-opt %s --tesa-propagate | FileCheck %s

// Convolutions, depthwise convolution, max and sum pooling (a -inf init is the
// max identity), broadcast, transpose, reduce and named elementwise ops.

#ch = #tesa.sparsity<map = dense<[[[[32, 0]]]]> : tensor<1x1x1x2xi8>>
// CHECK-LABEL: func.func @conv(
// CHECK-SAME: %arg0: tensor<1x5x5x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}32, 0]]]]> : tensor<1x1x1x2xi8>>>, %arg1: tensor<3x3x2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}32], [0]]]]> : tensor<1x1x2x1xi8>>>) -> tensor<1x3x3x2xf32> {
// CHECK: = tensor.empty{{.*}}tensor<1x3x3x2xf32>
// CHECK: = linalg.fill{{.*}}tensor<1x3x3x2xf32>
// CHECK: = linalg.conv_2d_nhwc_hwcf {{.*}}tensor<1x3x3x2xf32>
// CHECK: return
func.func @conv(%x: tensor<1x5x5x2xf32, #ch>, %w: tensor<3x3x2x2xf32>) -> tensor<1x3x3x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x5x5x2xf32, #ch>, tensor<3x3x2x2xf32>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}
// CHECK-LABEL: func.func @conv_nchw(
// CHECK-SAME: %arg0: tensor<1x2x5x5xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}32]], {{\[\[}}0]]]]> : tensor<1x2x1x1xi8>>>, %arg1: tensor<2x2x3x3xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}32]], {{\[\[}}0]]]]> : tensor<1x2x1x1xi8>>>) -> tensor<1x2x3x3xf32> {
// CHECK: = tensor.empty{{.*}}tensor<1x2x3x3xf32>
// CHECK: = linalg.fill{{.*}}tensor<1x2x3x3xf32>
// CHECK: = linalg.conv_2d_nchw_fchw {{.*}}tensor<1x2x3x3xf32>
// CHECK: return
func.func @conv_nchw(%x: tensor<1x2x5x5xf32, #tesa.sparsity<map = dense<[[[[32]], [[0]]]]> : tensor<1x2x1x1xi8>>>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x2x5x5xf32, #tesa.sparsity<map = dense<[[[[32]], [[0]]]]> : tensor<1x2x1x1xi8>>>, tensor<2x2x3x3xf32>) outs(%f : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
// CHECK-LABEL: func.func @depthwise_pool(
// CHECK-SAME: %arg0: tensor<1x4x4x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>, %arg1: tensor<2x2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}[0, 32]]]> : tensor<1x1x2xi8>>>) -> (tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>, tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>) {
// CHECK: = tensor.empty{{.*}}tensor<1x1x1x2xi8>>>
// CHECK: = linalg.fill{{.*}}tensor<1x3x3x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = linalg.depthwise_conv_2d_nhwc_hwc {{.*}}tensor<1x3x3x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<3x3xf32, #tesa.sparsity<bits = 0>>
// CHECK: = tensor.empty{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<bits = 0>>
// CHECK: = tesa.annotate{{.*}}tensor<1x1x1x2xf32>
// CHECK: = tesa.annotate{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = linalg.fill{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = linalg.pooling_nhwc_max{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = tesa.annotate{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = linalg.fill{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: = linalg.pooling_nhwc_sum{{.*}}tensor<1x1x1x2xf32, #tesa.sparsity<map = dense<{{\[\[}}{{\[\[}}0, 32]]]]> : tensor<1x1x1x2xi8>>>
// CHECK: return
func.func @depthwise_pool(%x: tensor<1x4x4x2xf32>, %w: tensor<2x2x2xf32, #tesa.sparsity<map = dense<[[[0, 32]]]> : tensor<1x1x2xi8>>>) -> (tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %d = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x4x4x2xf32>, tensor<2x2x2xf32, #tesa.sparsity<map = dense<[[[0, 32]]]> : tensor<1x1x2xi8>>>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %win = tensor.empty() : tensor<3x3xf32>
  %e2 = tensor.empty() : tensor<1x1x1x2xf32>
  %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  %mp = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%d, %win : tensor<1x3x3x2xf32>, tensor<3x3xf32>) outs(%f2 : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  %sp = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%d, %win : tensor<1x3x3x2xf32>, tensor<3x3xf32>) outs(%f3 : tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  return %mp, %sp : tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>
}
// CHECK-LABEL: func.func @misc(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>, %arg1: tensor<3x4xf32>) -> (tensor<4x3xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [32], [0]]> : tensor<4x1xi8>>>, tensor<3xf32>, tensor<3x4xf32>, tensor<3x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>) {
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.broadcast{{.*}}tensor<1x4xi8>>>) dimensions = [0]
// CHECK: = tensor.empty{{.*}}tensor<4x1xi8>>>
// CHECK: = linalg.transpose{{.*}}tensor<4x1xi8>>>) permutation = [1, 0]
// CHECK: = tensor.empty{{.*}}tensor<3xf32>
// CHECK: = linalg.fill{{.*}}tensor<3xf32>
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.mul{{.*}}tensor<3x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = linalg.reduce{{.*}}tensor<3xf32>) dimensions = [1]
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.sub{{.*}}tensor<3x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<3x4xf32>
// CHECK: = linalg.exp{{.*}}tensor<3x4xf32>
// CHECK: = tensor.empty{{.*}}tensor<3x4xf32>
// CHECK: = linalg.min{{.*}}tensor<3x4xf32>
// CHECK: = tensor.empty{{.*}}tensor<3x4xf32>
// CHECK: = linalg.add{{.*}}tensor<3x4xf32>
// CHECK: return
func.func @misc(%x: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>, %m: tensor<3x4xf32>) -> (tensor<4x3xf32>, tensor<3xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4xf32>
  %b = linalg.broadcast ins(%x : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) outs(%e : tensor<3x4xf32>) dimensions = [0]
  %et = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%b : tensor<3x4xf32>) outs(%et : tensor<4x3xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<3xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<3xf32>) -> tensor<3xf32>
  %e4 = tensor.empty() : tensor<3x4xf32>
  %mul = linalg.mul ins(%b, %m : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e4 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %r = linalg.reduce ins(%mul : tensor<3x4xf32>) outs(%f1 : tensor<3xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %e5 = tensor.empty() : tensor<3x4xf32>
  %sub = linalg.sub ins(%b, %b : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e5 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %e6 = tensor.empty() : tensor<3x4xf32>
  %exp = linalg.exp ins(%sub : tensor<3x4xf32>) outs(%e6 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %e7 = tensor.empty() : tensor<3x4xf32>
  %min = linalg.min ins(%b, %m : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e7 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %e8 = tensor.empty() : tensor<3x4xf32>
  %add = linalg.add ins(%min, %exp : tensor<3x4xf32>, tensor<3x4xf32>) outs(%e8 : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %t, %r, %add, %sub : tensor<4x3xf32>, tensor<3xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}
