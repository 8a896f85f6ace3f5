// RUN: tesa-opt %s -split-input-file -verify-diagnostics

func.func @threads_do_not_fit(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{a 64x64 tile in thread tiles of 4x4 does not take 128 threads}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 128, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<4xf32> {
    tesa.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @unknown_atom(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{expected ::tesa::MmaAtom to be one of: fma_f32, mma_f16_m16n8k16}}
  // expected-error @+1 {{failed to parse Tesa_TileConfigAttr parameter 'atom'}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f64, work = dense_grid, split_k = 1>) -> tensor<4xf32> {
    tesa.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @row_config_on_contraction(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{a contraction's tile_config needs a tile of three sizes (M, N, K) and a thread_tile of two (M, N)}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [1, 512], thread_tile = [4], threads = 128, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<4xf32> {
    tesa.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @yield_mismatch(%x: tensor<4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'tesa.kernel' op yields 1 values whose types differ from the op's results}}
  %r = tesa.kernel elementwise -> tensor<8xf32> {
    tesa.yield %x : tensor<4xf32>
  }
  return %r : tensor<8xf32>
}

// -----

func.func @zero_threads(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{threads must be a multiple of 32 in [32, 1024], got 0}}
  %r = tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 512], thread_tile = [4], threads = 0, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<4xf32> {
    tesa.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @persistent_without_tma(%a: tensor<256x64xf16>, %b: tensor<64x64xf16>) -> tensor<256x64xf16> {
  // expected-error @+1 {{a persistent work list takes tiles copied by tma}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 64, 64], thread_tile = [64, 64], threads = 256, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = persistent, split_k = 1>) -> tensor<256x64xf16> {
    tesa.yield %a : tensor<256x64xf16>
  }
  return %r : tensor<256x64xf16>
}

// -----

func.func @cluster_of_three(%a: tensor<256x64xf16>) -> tensor<256x64xf16> {
  // expected-error @+1 {{cluster must be 1, 2, 4 or 8 blocks, got 3}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 64, 64], thread_tile = [64, 64], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 3>) -> tensor<256x64xf16> {
    tesa.yield %a : tensor<256x64xf16>
  }
  return %r : tensor<256x64xf16>
}

// -----

func.func @cluster_without_tma(%a: tensor<256x64xf16>) -> tensor<256x64xf16> {
  // expected-error @+1 {{clusters of blocks take wgmma tiles copied by tma on a dense_grid without split_k}}
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 64, 64], thread_tile = [64, 64], threads = 256, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 2>) -> tensor<256x64xf16> {
    tesa.yield %a : tensor<256x64xf16>
  }
  return %r : tensor<256x64xf16>
}
