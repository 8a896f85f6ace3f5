// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" --tesa-outline-weight-packing | FileCheck %s

#w = #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 16, 0, 0]]> : tensor<3x6xi8>>

// Two parts (int8 and f16) pack the argument %w: @f_pack returns the f16
// values, the int8 values and the int8 scales; @f_packed reads them instead
// of %w, which it no longer takes; @f still packs on every call.
// CHECK-LABEL: func.func @f_pack(
// CHECK-SAME: %[[W:.+]]: tensor<3x6xf32, {{.*}}>) -> (tensor<1xf16>, tensor<12xi8>, tensor<3xf32>)
// CHECK-DAG: %[[SOURCE:.+]] = bufferization.to_buffer %[[W]]
// CHECK-DAG: %[[F16:.+]] = memref.alloc() : memref<1xf16>
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack {{.*}} args(%[[SOURCE]] : memref<3x6xf32>, %[[F16]] : memref<1xf16>
// CHECK: gpu.launch_func @tesa_kernels::@part1_pack
// CHECK: return
// CHECK-LABEL: func.func @f(
// CHECK: @part0_pack
// CHECK: @part1_pack
// CHECK-LABEL: func.func @f_packed(
// CHECK-SAME: %[[X:[^:]+]]: tensor<6x5xf32>, %[[ACC:[^:]+]]: tensor<3x5xf32>, %[[P0:[^:]+]]: tensor<1xf16>, %[[P1:[^:]+]]: tensor<12xi8>, %[[S1:[^:]+]]: tensor<3xf32>) -> tensor<3x5xf32>
// CHECK: %[[B0:.+]] = bufferization.to_buffer %[[P0]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}}, %[[B0]] : memref<1xf16>
// CHECK-DAG: %[[B1:.+]] = bufferization.to_buffer %[[P1]]
// CHECK-DAG: %[[BS1:.+]] = bufferization.to_buffer %[[S1]]
// CHECK-NOT: _pack
// CHECK: gpu.launch_func @tesa_kernels::@part1 {{.*}}, %[[B1]] : memref<12xi8>, %[[BS1]] : memref<3xf32>
func.func @f(%x: tensor<6x5xf32>, %w: tensor<3x6xf32, #w>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<3x6xf32, #w>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}

// -----

// A weight that is a layout op of an argument is packed with that op; the
// argument stays an argument of @g_packed because the product reads it too.
// CHECK-LABEL: func.func @g_pack(
// CHECK-SAME: %[[W:.+]]: tensor<6x3xf32>)
// CHECK: linalg.transpose ins(%[[W]]
// CHECK: @part0_pack
// CHECK-LABEL: func.func @g_packed(
// CHECK-SAME: %{{.+}}: tensor<6x5xf32>, %{{.+}}: tensor<6x3xf32>, %{{.+}}: tensor<3x5xf32>, %{{.+}}: tensor<3xf32>)
// CHECK-NOT: _pack
// CHECK: return
func.func @g(%x: tensor<6x5xf32>, %w: tensor<6x3xf32>, %acc: tensor<3x5xf32>) -> (tensor<3x5xf32>, tensor<6x3xf32>) {
  %empty = tensor.empty() : tensor<3x6xf32>
  %t = linalg.transpose ins(%w : tensor<6x3xf32>) outs(%empty : tensor<3x6xf32>) permutation = [1, 0]
  %sparse = tesa.annotate %t : tensor<3x6xf32> -> tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>
  %r = linalg.matmul ins(%sparse, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r, %w : tensor<3x5xf32>, tensor<6x3xf32>
}

// -----

// A sparse operand computed from the arguments (an activation) is packed on
// every call: nothing to outline.
// CHECK-LABEL: func.func @activation(
// CHECK: @part0_pack
// CHECK-NOT: func.func @activation_pack
func.func @activation(%x: tensor<6x5xf32>, %w: tensor<3x6xf32>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %relu = linalg.exp ins(%w : tensor<3x6xf32>) outs(%w : tensor<3x6xf32>) -> tensor<3x6xf32>
  %sparse = tesa.annotate %relu : tensor<3x6xf32> -> tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>
  %r = linalg.matmul ins(%sparse, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}

// -----

// expected-error @below {{cannot add the weight-packing entry points of @h: @h_pack already exists}}
func.func @h(%x: tensor<6x5xf32>, %w: tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 0, 32, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}
func.func private @h_pack()
