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

// A cluster of blocks prints after split_k; one block (the default) is
// not printed.
// CHECK-LABEL: func.func @clustered
// CHECK: tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 2>)
// CHECK: tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>)
func.func @clustered(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 2>) -> tensor<4x4xf32> {
    tesa.yield %x : tensor<4x4xf32>
  }
  %s = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 1>) -> tensor<4x4xf32> {
    tesa.yield %r : tensor<4x4xf32>
  }
  return %s : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @unconfigured
// CHECK: tesa.kernel row_reduction -> tensor<4x4xf32> {
func.func @unconfigured(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = tesa.kernel row_reduction -> tensor<4x4xf32> {
    tesa.yield %x : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}
