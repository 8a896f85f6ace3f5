// RUN: tesa-opt %s --tesa-canonicalize-encodings | FileCheck %s
// RUN: tesa-opt %s | FileCheck %s --check-prefix=INLINE

// A uniform resource map becomes bits = N, a block-uniform one its block
// form, and the signature, body and result types all change together.
// CHECK-LABEL: func.func @resources
// tesa-opt alone canonicalizes inline maps only (resource-maps=false).
// INLINE-LABEL: func.func @resources
// INLINE-SAME: #tesa.sparsity<map = dense_resource<uniform> : tensor<4x4xi8>>
// CHECK-SAME: (%[[U:[^:]*]]: tensor<4x4xf32, #tesa.sparsity<bits = 8>>,
// CHECK-SAME: %[[B:[^:]*]]: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 32]]> : tensor<2x2xi8>>>)
// CHECK-SAME: -> tensor<4x4xf32, #tesa.sparsity<bits = 8>>
// CHECK: %[[A:.*]] = tesa.annotate %[[B]] : tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 32]]> : tensor<2x2xi8>>> -> tensor<4x4xf32>
// CHECK: return %[[U]] : tensor<4x4xf32, #tesa.sparsity<bits = 8>>
func.func @resources(%u: tensor<4x4xf32, #tesa.sparsity<map = dense_resource<uniform> : tensor<4x4xi8>>>,
                     %b: tensor<4x4xf32, #tesa.sparsity<map = dense_resource<blocks> : tensor<4x4xi8>>>)
    -> tensor<4x4xf32, #tesa.sparsity<map = dense_resource<uniform> : tensor<4x4xi8>>> {
  %0 = tesa.annotate %b : tensor<4x4xf32, #tesa.sparsity<map = dense_resource<blocks> : tensor<4x4xi8>>> -> tensor<4x4xf32>
  return %u : tensor<4x4xf32, #tesa.sparsity<map = dense_resource<uniform> : tensor<4x4xi8>>>
}

// Inline maps too; a constant's value keeps the type of its result.
// CHECK-LABEL: func.func @inline
// INLINE-LABEL: func.func @inline
// INLINE-SAME: #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi8>>
// INLINE: arith.constant dense<1.000000e+00> : tensor<4xf32, #tesa.sparsity<bits = 16>>
// CHECK-SAME: #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi8>>
// CHECK: %[[C:.*]] = arith.constant dense<1.000000e+00> : tensor<4xf32, #tesa.sparsity<bits = 16>>
// CHECK: tesa.annotate %[[C]] : tensor<4xf32, #tesa.sparsity<bits = 16>> -> tensor<4xf32>
func.func @inline(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 8, 0, 0]> : tensor<4xi8>>>) {
  %c = arith.constant dense<1.0> : tensor<4xf32, #tesa.sparsity<map = dense<16> : tensor<2xi8>>>
  %0 = tesa.annotate %c : tensor<4xf32, #tesa.sparsity<map = dense<16> : tensor<2xi8>>> -> tensor<4xf32>
  return
}

{-#
  dialect_resources: {
    builtin: {
      uniform: "0x0100000008080808080808080808080808080808",
      blocks: "0x0100000008080000080800000000202000002020"
    }
  }
#-}
