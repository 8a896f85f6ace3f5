// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-fuse-epilogues --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// A ReLU after the product is the epilogue of its only part. The part's
// kernel then writes every element of the result: channel 1 of the weight
// keeps nothing, yet it is a work row (with no entries), so its outputs get
// the ReLU too; no column is skipped. The accumulator is a fill of zeros,
// so the kernel adds its sums to that constant instead of reading the
// result.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_rows : memref<3xi32> = dense<[0, 1, 2]>
// CHECK-DAG: memref.global "private" constant @part0_offsets : memref<4xi32> = dense<[0, 2, 2, 3]>
// CHECK-NOT: _columns
// CHECK-LABEL: gpu.func @part0(
// CHECK: scf.for
// CHECK-NOT: memref.load %{{.*}} : memref<5x3xf32>
// CHECK: %[[INIT:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: memref.load %{{.*}} : memref<5x3xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[INIT]]
// CHECK: %[[RELU:.*]] = arith.maximumf %[[SUM]], %{{.*}} : f32
// CHECK: memref.store %[[RELU]]
// CHECK-LABEL: func.func @relu
// CHECK-NOT: linalg.max
func.func @relu(%x: tensor<5x4xf32>,
                %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
    -> tensor<5x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%zeros : tensor<5x3xf32>) -> tensor<5x3xf32>
  %r = linalg.max ins(%p, %zeros : tensor<5x3xf32>, tensor<5x3xf32>) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %r : tensor<5x3xf32>
}
