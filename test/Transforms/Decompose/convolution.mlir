// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="plan=fine" | FileCheck %s

// NHWC / HWCF: the patches (n oh ow) x (kh kw c), copied by a generic that
// reads the input at (n, oh * 2 + kh, ow * 2 + kw * 2, c), times the filter
// collapsed to (kh kw c) x f with its sparsity; the result is expanded back.
// CHECK-DAG: #[[PATCH:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 2 + d3, d2 * 2 + d4 * 2, d5)>
// CHECK-LABEL: func.func @nhwc(
// CHECK-SAME: %[[IMAGE:[^:]+]]: tensor<1x5x7x2xf32>, %[[FILTER:[^:]+]]: tensor<2x2x2x3xf32, {{.*}}>, %[[ACC:[^:]+]]: tensor<1x2x2x3xf32>)
// CHECK: %[[COPY:.+]] = linalg.generic {indexing_maps = [#[[PATCH]], {{.*}}]} ins(%[[IMAGE]] : tensor<1x5x7x2xf32>)
// CHECK: %[[PATCHES:.+]] = tensor.collapse_shape %[[COPY]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<1x2x2x2x2x2xf32> into tensor<4x8xf32>
// CHECK: %[[W:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1, 2], [3]] : tensor<2x2x2x3xf32> into tensor<8x3xf32>
// CHECK: %[[SW:.+]] = tesa.annotate %[[W]] : tensor<8x3xf32> -> tensor<8x3xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 0]]> : tensor<1x3xi8>>>
// CHECK: %[[M:.+]] = tensor.collapse_shape %[[ACC]] {{\[\[}}0, 1, 2], [3]] : tensor<1x2x2x3xf32> into tensor<4x3xf32>
// CHECK: %[[P:.+]] = tesa.extract_part %[[SW]]
// CHECK: %[[R:.+]] = tesa.part_matmul fine %[[PATCHES]], %[[P]], %[[M]] {{.*}}sparse_operand = 1
// CHECK: %[[OUT:.+]] = tensor.expand_shape %[[R]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 2, 2, 3]
// CHECK: return %[[OUT]]
func.func @nhwc(%image: tensor<1x5x7x2xf32>, %filter: tensor<2x2x2x3xf32, #tesa.sparsity<map = dense<[[[[32, 0, 0]]]]> : tensor<1x1x1x3xi8>>>, %acc: tensor<1x2x2x3xf32>) -> tensor<1x2x2x3xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x5x7x2xf32>, tensor<2x2x2x3xf32, #tesa.sparsity<map = dense<[[[[32, 0, 0]]]]> : tensor<1x1x1x3xi8>>>)
         outs(%acc : tensor<1x2x2x3xf32>) -> tensor<1x2x2x3xf32>
  return %r : tensor<1x2x2x3xf32>
}

// -----

// NCHW / FCHW: the filter is the lhs, f x (c kh kw); the patches are
// (c kh kw) x (n oh ow); the accumulator goes through f x n x oh x ow.
// CHECK-LABEL: func.func @nchw(
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<2x2x2x1x2x2xf32> into tensor<8x4xf32>
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0], [1, 2, 3]] : tensor<3x2x2x2xf32> into tensor<3x8xf32>
// CHECK: linalg.transpose ins(%{{.+}} : tensor<1x3x2x2xf32>) outs(%{{.+}} : tensor<3x1x2x2xf32>) permutation = [1, 0, 2, 3]
// CHECK: tesa.part_matmul {{.*}}sparse_operand = 0
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2, 3]] output_shape [3, 1, 2, 2]
// CHECK: linalg.transpose ins(%{{.+}} : tensor<3x1x2x2xf32>) outs(%{{.+}} : tensor<1x3x2x2xf32>) permutation = [1, 0, 2, 3]
func.func @nchw(%image: tensor<1x2x3x3xf32>, %filter: tensor<3x2x2x2xf32, #tesa.sparsity<map = dense<[[[[32]]], [[[0]]], [[[16]]]]> : tensor<3x1x1x1xi8>>>, %acc: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x2x3x3xf32>, tensor<3x2x2x2xf32, #tesa.sparsity<map = dense<[[[[32]]], [[[0]]], [[[16]]]]> : tensor<3x1x1x1xi8>>>)
         outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %r : tensor<1x3x2x2xf32>
}

// -----

// A bias broadcast along the filters into the accumulator (as
// --tesa-fold-bias-into-accumulator writes it) is broadcast straight into
// the f x (n oh ow) matrix, not transposed: the parts read the bias vector.
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @nchw_bias(
// CHECK-SAME: %[[BIAS:[^:]+]]: tensor<3xf32>)
// CHECK-NOT: linalg.transpose ins(%{{.+}} : tensor<1x3x2x2xf32>)
// CHECK: %[[M:.+]] = linalg.generic {indexing_maps = [#[[ROWS]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%[[BIAS]] : tensor<3xf32>) outs(%{{.+}} : tensor<3x4xf32>)
// CHECK: tesa.part_matmul fine %{{.+}}, %{{.+}}, %[[M]] {{.*}}sparse_operand = 0
func.func @nchw_bias(%image: tensor<1x2x3x3xf32>, %filter: tensor<3x2x2x2xf32, #tesa.sparsity<map = dense<[[[[32]]], [[[0]]], [[[16]]]]> : tensor<3x1x1x1xi8>>>, %bias: tensor<3xf32>) -> tensor<1x3x2x2xf32> {
  %e = tensor.empty() : tensor<1x3x2x2xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(n, f, y, x) -> (f)>, affine_map<(n, f, y, x) -> (n, f, y, x)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%bias : tensor<3xf32>) outs(%e : tensor<1x3x2x2xf32>) {
  ^bb0(%b: f32, %o: f32):
    linalg.yield %b : f32
  } -> tensor<1x3x2x2xf32>
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x2x3x3xf32>, tensor<3x2x2x2xf32, #tesa.sparsity<map = dense<[[[[32]]], [[[0]]], [[[16]]]]> : tensor<3x1x1x1xi8>>>)
         outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  return %r : tensor<1x3x2x2xf32>
}

// -----

// A sparse input gives the patches its sparsity element by element: here
// only input column 0 is kept, so each patch row keeps the elements that
// read it.
// CHECK-LABEL: func.func @sparse_input(
// CHECK: tesa.annotate %{{.+}} : tensor<2x2xf32> -> tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [0, 0]]> : tensor<2x2xi8>>>
func.func @sparse_input(%image: tensor<1x1x3x1xf32, #tesa.sparsity<map = dense<[[[[32], [0], [0]]]]> : tensor<1x1x3x1xi8>>>, %filter: tensor<1x2x1x1xf32>, %acc: tensor<1x1x2x1xf32>) -> tensor<1x1x2x1xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%image, %filter : tensor<1x1x3x1xf32, #tesa.sparsity<map = dense<[[[[32], [0], [0]]]]> : tensor<1x1x3x1xi8>>>, tensor<1x2x1x1xf32>)
         outs(%acc : tensor<1x1x2x1xf32>) -> tensor<1x1x2x1xf32>
  return %r : tensor<1x1x2x1xf32>
}

// -----

func.func @f16_convolution(%image: tensor<1x3x3x1xf16>, %filter: tensor<2x2x1x1xf16, #tesa.sparsity<bits = 8>>, %acc: tensor<1x2x2x1xf16>) -> tensor<1x2x2x1xf16> {
  // expected-remark @below {{sparse convolution not decomposed: element type f16 is not f32; it is computed densely}}
  %r = linalg.conv_2d_nhwc_hwcf ins(%image, %filter : tensor<1x3x3x1xf16>, tensor<2x2x1x1xf16, #tesa.sparsity<bits = 8>>)
         outs(%acc : tensor<1x2x2x1xf16>) -> tensor<1x2x2x1xf16>
  return %r : tensor<1x2x2x1xf16>
}

// -----

// An image whose only zeros are its padding (a computed value that keeps
// most of its elements) and a dense filter: one dense convolution, not a
// product split around the padding.
// CHECK-LABEL: func.func @padded_image(
// CHECK-SAME: %[[IMAGE:.*]]: tensor<1x1x8x8xf32>, %[[FILTER:.*]]: tensor<2x1x3x3xf32>
// CHECK: %[[PADDED:.*]] = tensor.pad %[[IMAGE]]
// CHECK: %[[KEPT:.*]] = tesa.annotate %[[PADDED]]
// CHECK-NOT: tesa.part_matmul
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%[[KEPT]], %[[FILTER]] :
func.func @padded_image(%image: tensor<1x1x8x8xf32>, %filter: tensor<2x1x3x3xf32>, %acc: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %padded = tensor.pad %image low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%n: index, %c: index, %h: index, %w: index):
    tensor.yield %zero : f32
  } : tensor<1x1x8x8xf32> to tensor<1x1x10x10xf32>
  %kept = tesa.annotate %padded : tensor<1x1x10x10xf32> -> tensor<1x1x10x10xf32, #tesa.sparsity<map = dense<[[[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]]]> : tensor<1x1x10x10xi8>>>
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
         ins(%kept, %filter : tensor<1x1x10x10xf32, #tesa.sparsity<map = dense<[[[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 32, 32, 32, 32, 32, 32, 32, 32, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]]]> : tensor<1x1x10x10xi8>>>, tensor<2x1x3x3xf32>)
         outs(%acc : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}
