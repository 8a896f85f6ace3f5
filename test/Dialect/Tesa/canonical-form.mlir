// RUN: tesa-opt %s | FileCheck %s

// Equal sparsity gives the identical attribute: a per-element map that is
// uniform on 32x32 blocks prints exactly like its block form.
// CHECK-LABEL: func.func @block_uniform_per_element
// CHECK-SAME: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [16, 32]]> : tensor<2x2xi8>>>
// CHECK-SAME: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [16, 32]]> : tensor<2x2xi8>>>
func.func @block_uniform_per_element(
    %per_element: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [16, 16, 32, 32], [16, 16, 32, 32]]> : tensor<4x4xi8>>>,
    %blocks: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [16, 32]]> : tensor<2x2xi8>>>) {
  return
}

// A uniform map, splat or not, is written bits = N. A splat is read without
// expanding it: the 2^32-entry one below costs nothing (it took 44 s and
// 8.5 GB to expand).
// CHECK-LABEL: func.func @uniform_maps
// CHECK-SAME: tensor<4x4xf32, #tesa.sparsity<bits = 8>>
// CHECK-SAME: tensor<4x4xf32, #tesa.sparsity<bits = 8>>
// CHECK-SAME: tensor<4x4xf32, #tesa.sparsity<bits = 0>>
// CHECK-SAME: tensor<65536x65536xf32, #tesa.sparsity<bits = 16>>
func.func @uniform_maps(
    %splat: tensor<4x4xf32, #tesa.sparsity<map = dense<8> : tensor<2x2xi8>>>,
    %listed: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 8], [8, 8]]> : tensor<2x2xi8>>>,
    %pruned: tensor<4x4xf32, #tesa.sparsity<map = dense<0> : tensor<4x4xi8>>>,
    %huge: tensor<65536x65536xf32, #tesa.sparsity<map = dense<16> : tensor<65536x65536xi8>>>) {
  return
}

// Coarsening happens per dimension: rows here, columns stay.
// CHECK-LABEL: func.func @coarsen_one_dimension
// CHECK-SAME: #tesa.sparsity<map = dense<{{\[\[}}8, 0, 8, 16]]> : tensor<1x4xi8>>
func.func @coarsen_one_dimension(
    %w: tensor<2x4xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 16], [8, 0, 8, 16]]> : tensor<2x4xi8>>>) {
  return
}

// Block sizes need not be powers of two.
// CHECK-LABEL: func.func @period_three
// CHECK-SAME: #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi8>>
// CHECK-SAME: #tesa.sparsity<map = dense<[8, 0, 8]> : tensor<3xi8>>
func.func @period_three(
    %a: tensor<6xf32, #tesa.sparsity<map = dense<[8, 8, 8, 0, 0, 0]> : tensor<6xi8>>>,
    %b: tensor<6xf32, #tesa.sparsity<map = dense<[8, 8, 0, 0, 8, 8]> : tensor<6xi8>>>) {
  return
}

// Since the types are identical, an annotation between the two spellings is
// an identity and folds away.
// RUN: tesa-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD
// FOLD-LABEL: func.func @identity_annotation
// FOLD-SAME: (%[[W:[^:]*]]: tensor
// FOLD-NOT: tesa.annotate
// FOLD: return %[[W]]
func.func @identity_annotation(
    %w: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [16, 16, 32, 32], [16, 16, 32, 32]]> : tensor<4x4xi8>>>)
    -> tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [16, 32]]> : tensor<2x2xi8>>> {
  %0 = tesa.annotate %w : tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [16, 16, 32, 32], [16, 16, 32, 32]]> : tensor<4x4xi8>>> -> tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [16, 32]]> : tensor<2x2xi8>>>
  return %0 : tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [16, 32]]> : tensor<2x2xi8>>>
}
