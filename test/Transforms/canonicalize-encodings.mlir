// RUN: tesa-opt %s --tesa-canonicalize-encodings | FileCheck %s

// A uniform resource map becomes bits = N, a block-uniform one its block
// form, and the signature, body and result types all change together.
// CHECK-LABEL: func.func @resources
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

// Inline maps are already canonical and stay as they are.
// CHECK-LABEL: func.func @inline
// CHECK-SAME: #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi8>>
func.func @inline(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 8, 0, 0]> : tensor<4xi8>>>) {
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
