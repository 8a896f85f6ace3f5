// RUN: tesa-opt %s --tesa-decompose="plan=fine chip=sm_90" --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false" | FileCheck %s

// Fine-grained float parts of a sparse rhs read the dense lhs transposed,
// so that a warp's loads are coalesced; the two parts (32 and 16 bits)
// share one transpose.
// CHECK-LABEL: func.func @two_parts
// CHECK-SAME: (%[[X:.*]]: tensor<16x64xf32>
// CHECK: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<16x64xf32>) outs(%{{.*}} : tensor<64x16xf32>) permutation = [1, 0]
// CHECK-NOT: linalg.transpose
// CHECK: %[[B0:.*]] = bufferization.to_buffer %[[XT]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}}args(%[[B0]] : memref<64x16xf32>
// CHECK: %[[B1:.*]] = bufferization.to_buffer %[[XT]]
// CHECK: gpu.launch_func @tesa_kernels::@part1 {{.*}}args(%[[B1]] : memref<64x16xf32>
func.func @two_parts(%x: tensor<16x64xf32>, %w: tensor<64x32xf32, #tesa.sparsity<map = dense<[[32, 16], [0, 32]]> : tensor<2x2xi8>>>, %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<[[32, 16], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}
