// RUN: tesa-opt %s --split-input-file --tesa-drop-encodings | FileCheck %s

// Types lose their #tesa.sparsity encoding, and annotations that no longer
// change a type disappear.
// CHECK-LABEL: func.func @signature(
// CHECK-SAME: %[[X:.+]]: tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: return %[[X]] : tensor<2x2xf32>
func.func @signature(%x: tensor<2x2xf32, #tesa.sparsity<bits = 8>>) -> tensor<2x2xf32> {
  %y = tesa.annotate %x : tensor<2x2xf32, #tesa.sparsity<bits = 8>> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// A constant's value has the type of its result: both lose the encoding.
// CHECK-LABEL: func.func @dense_constant(
// CHECK: arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00]]> : tensor<1x2xf32>
func.func @dense_constant() -> tensor<1x2xf32, #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>> {
  %w = arith.constant dense<[[1.0, 0.0]]> : tensor<1x2xf32, #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>>
  return %w : tensor<1x2xf32, #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>>
}

// -----

// CHECK-LABEL: func.func @resource_constant(
// CHECK: arith.constant dense_resource<weights> : tensor<2xf32>
func.func @resource_constant() -> tensor<2xf32, #tesa.sparsity<bits = 16>> {
  %w = arith.constant dense_resource<weights> : tensor<2xf32, #tesa.sparsity<bits = 16>>
  return %w : tensor<2xf32, #tesa.sparsity<bits = 16>>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040"
    }
  }
#-}
