// RUN: tesa-opt %s | FileCheck %s
// Printing is a fixpoint: print, parse, print again.
// RUN: tesa-opt %s | tesa-opt | FileCheck %s
// Bytecode keeps every form, resource maps with their blobs included.
// RUN: tesa-opt %s --emit-bytecode | tesa-opt | FileCheck %s
// RUN: tesa-opt %s --verify-roundtrip -o /dev/null

// CHECK-LABEL: func.func @uniform_bits
// CHECK-SAME: tensor<8x8xf32, #tesa.sparsity<bits = 0>>
// CHECK-SAME: tensor<8x8xf32, #tesa.sparsity<bits = 4>>
// CHECK-SAME: tensor<8x8xf32, #tesa.sparsity<bits = 8>>
// CHECK-SAME: tensor<8x8xf32, #tesa.sparsity<bits = 16>>
// CHECK-SAME: tensor<8x8xf32, #tesa.sparsity<bits = 32>>
func.func @uniform_bits(%a: tensor<8x8xf32, #tesa.sparsity<bits = 0>>,
                        %b: tensor<8x8xf32, #tesa.sparsity<bits = 4>>,
                        %c: tensor<8x8xf32, #tesa.sparsity<bits = 8>>,
                        %d: tensor<8x8xf32, #tesa.sparsity<bits = 16>>,
                        %e: tensor<8x8xf32, #tesa.sparsity<bits = 32>>) {
  return
}

// CHECK-LABEL: func.func @block_map
// CHECK-SAME: tensor<64x64xf16, #tesa.sparsity<map = dense<{{\[\[}}16, 0], [0, 8]]> : tensor<2x2xi8>>>
func.func @block_map(%w: tensor<64x64xf16, #tesa.sparsity<map = dense<[[16, 0], [0, 8]]> : tensor<2x2xi8>>>) {
  return
}

// CHECK-LABEL: func.func @per_element_map
// CHECK-SAME: #tesa.sparsity<map = dense<{{\[\[}}8, 0, 4], [0, 32, 8]]> : tensor<2x3xi8>>
func.func @per_element_map(%w: tensor<2x3xf32, #tesa.sparsity<map = dense<[[8, 0, 4], [0, 32, 8]]> : tensor<2x3xi8>>>) {
  return
}

// A hex map is read like any dense<...> literal.
// CHECK-LABEL: func.func @hex_map
// CHECK-SAME: #tesa.sparsity<map = dense<[8, 0, 16, 32]> : tensor<4xi8>>
func.func @hex_map(%w: tensor<8xf32, #tesa.sparsity<map = dense<"0x08001020"> : tensor<4xi8>>>) {
  return
}

// Large maps print as hex and parse back.
// CHECK-LABEL: func.func @large_hex_map
// CHECK-SAME: #tesa.sparsity<map = dense<"0x{{(0800)+}}"> : tensor<128xi8>>
func.func @large_hex_map(%w: tensor<128xf32, #tesa.sparsity<map = dense<"0x0800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800080008000800"> : tensor<128xi8>>>) {
  return
}

// CHECK-LABEL: func.func @resource_map
// CHECK-SAME: #tesa.sparsity<map = dense_resource<mask> : tensor<4x4xi8>>
func.func @resource_map(%w: tensor<4x4xf32, #tesa.sparsity<map = dense_resource<mask> : tensor<4x4xi8>>>) {
  return
}

// CHECK-LABEL: func.func @scalar
// CHECK-SAME: tensor<f32, #tesa.sparsity<bits = 8>>
func.func @scalar(%s: tensor<f32, #tesa.sparsity<bits = 8>>) {
  return
}

// A map dimension over a dynamic tensor dimension is 1.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: tensor<?x8xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0]]> : tensor<1x2xi8>>>
func.func @dynamic(%d: tensor<?x8xf32, #tesa.sparsity<map = dense<[[8, 0]]> : tensor<1x2xi8>>>) {
  return
}

// Integer and index elements take encodings no wider than themselves.
// CHECK-LABEL: func.func @integer_elements
// CHECK-SAME: tensor<4xi8, #tesa.sparsity<bits = 4>>
// CHECK-SAME: tensor<4xindex, #tesa.sparsity<bits = 32>>
func.func @integer_elements(%i: tensor<4xi8, #tesa.sparsity<bits = 4>>,
                            %x: tensor<4xindex, #tesa.sparsity<bits = 32>>) {
  return
}

// CHECK-LABEL: func.func @annotate
// CHECK-SAME: (%[[X:.*]]: tensor<64x64xf32>)
// CHECK: %[[A:.*]] = tesa.annotate %[[X]] : tensor<64x64xf32> -> tensor<64x64xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 8]]> : tensor<2x2xi8>>>
// CHECK: %[[B:.*]] = tesa.annotate %[[A]] : tensor<64x64xf32, #tesa.sparsity<map = {{.*}}>> -> tensor<64x64xf32>
// CHECK: return %[[B]]
func.func @annotate(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = tesa.annotate %x : tensor<64x64xf32> -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>
  %1 = tesa.annotate %0 : tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>> -> tensor<64x64xf32>
  return %1 : tensor<64x64xf32>
}

// CHECK: dialect_resources
// CHECK: mask: "0x0100000008000800080008000800080008000800"
{-#
  dialect_resources: {
    builtin: {
      mask: "0x0100000008000800080008000800080008000800"
    }
  }
#-}
