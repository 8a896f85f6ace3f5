// RUN: tesa-opt %s | tesa-opt | FileCheck %s

// A tesa.kernel region and its configuration print and parse back.
// CHECK-LABEL: func.func @configured
// CHECK: %[[R:.*]] = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<4x4xf32> {
// CHECK-NEXT: tesa.yield %{{.*}} : tensor<4x4xf32>
// CHECK: return %[[R]]
func.func @configured(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<4x4xf32> {
    tesa.yield %x : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @unconfigured
// CHECK: tesa.kernel row_reduction -> tensor<4x4xf32> {
func.func @unconfigured(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = tesa.kernel row_reduction -> tensor<4x4xf32> {
    tesa.yield %x : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}
