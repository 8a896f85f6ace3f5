// RUN: tesa-opt %s --tesa-decompose="chip=sm_80 remarks=true" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" -verify-diagnostics | FileCheck %s

// Two int8 block parts of different shapes (a 64x64 and a 32x32 block)
// read the same dense operand in the same layout: it is quantised once, by
// the first part's kernel, and freed after the second part's launch.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: gpu.func @part0_quantise_dense(
// CHECK-NOT: gpu.func @part1_quantise_dense(
// CHECK-LABEL: func.func @two_block_shapes
// CHECK: %[[VALUES:.*]] = memref.alloc() : memref<8x128xi8>
// CHECK: %[[SCALES:.*]] = memref.alloc() : memref<8xf32>
// CHECK: gpu.launch_func @tesa_kernels::@part0_quantise_dense {{.*}} args({{.*}}, %[[VALUES]] : memref<8x128xi8>, %[[SCALES]] : memref<8xf32>)
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args(%[[VALUES]] : memref<8x128xi8>, %[[SCALES]] : memref<8xf32>,
// CHECK-NOT: memref.dealloc %[[VALUES]]
// CHECK: gpu.launch_func @tesa_kernels::@part1 {{.*}} args(%[[VALUES]] : memref<8x128xi8>, %[[SCALES]] : memref<8xf32>,
// CHECK-NEXT: memref.dealloc %[[VALUES]]
// CHECK-NEXT: memref.dealloc %[[SCALES]]
func.func @two_block_shapes(%x: tensor<8x128xf32>,
    %w: tensor<128x128xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [0, 0, 8, 0], [0, 0, 0, 0]]> : tensor<4x4xi8>>>,
    %acc: tensor<8x128xf32>) -> tensor<8x128xf32> {
  // expected-remark @below {{decomposed operand 1 into 2 parts; 1 blocks of 64x64 at 8 bits; 1 blocks of 32x32 at 8 bits}}
  %r = linalg.matmul ins(%x, %w : tensor<8x128xf32>, tensor<128x128xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [0, 0, 8, 0], [0, 0, 0, 0]]> : tensor<4x4xi8>>>)
                     outs(%acc : tensor<8x128xf32>) -> tensor<8x128xf32>
  return %r : tensor<8x128xf32>
}
