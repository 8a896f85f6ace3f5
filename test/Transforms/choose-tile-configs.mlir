// RUN: tesa-opt %s --split-input-file --tesa-choose-tile-configs=chip=sm_90 | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-choose-tile-configs="chip=sm_90 contraction-tile=64,32,16 thread-tile=4,2" | FileCheck %s --check-prefix=OVERRIDE
// RUN: not tesa-opt %s --split-input-file --tesa-choose-tile-configs="chip=sm_90 contraction-tile=64,64" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not tesa-opt %s --split-input-file --tesa-choose-tile-configs="chip=sm_90 thread-tile=4,4" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: tesa-opt %s --split-input-file --tesa-choose-tile-configs=chip=sm_75 | FileCheck %s --check-prefix=SM75
// RUN: tesa-opt %s --split-input-file --tesa-choose-tile-configs="chip=sm_90 convolution-run=1" | FileCheck %s --check-prefix=ONE
// RUN: not tesa-opt %s --split-input-file --tesa-choose-tile-configs="chip=sm_90 convolution-run=0" 2>&1 | FileCheck %s --check-prefix=RUNLESS
// RUN: tesa-opt %s --split-input-file --tesa-choose-tile-configs=chip=sm_80 | FileCheck %s --check-prefix=SM80

// 512 x 3072 outputs make 384 tiles of 64x64, more than the H200's 132
// multiprocessors: 64x64x8, 4x4 outputs a thread.
// CHECK-LABEL: func.func @large
// CHECK: tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>)
// OVERRIDE-LABEL: func.func @large
// OVERRIDE: tile = [64, 32, 16], thread_tile = [4, 2], threads = 256
func.func @large(%x: tensor<512x768xf32>, %w: tensor<768x3072xf32>, %acc: tensor<512x3072xf32>) -> tensor<512x3072xf32> {
  %r = tesa.kernel contraction -> tensor<512x3072xf32> {
    %p = linalg.matmul ins(%x, %w : tensor<512x768xf32>, tensor<768x3072xf32>) outs(%acc : tensor<512x3072xf32>) -> tensor<512x3072xf32>
    tesa.yield %p : tensor<512x3072xf32>
  }
  return %r : tensor<512x3072xf32>
}

// -----

// 128 x 768 outputs make 24 tiles of 64x64, fewer than the H200's 132
// multiprocessors: 64x64x8 still, K (96 steps) split in four slices (the
// most), for up to three blocks of threads a multiprocessor.
// CHECK-LABEL: func.func @small
// CHECK: tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 4>
func.func @small(%x: tensor<128x768xf32>, %w: tensor<768x768xf32>, %acc: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = tesa.kernel contraction -> tensor<128x768xf32> {
    %p = linalg.matmul ins(%x, %w : tensor<128x768xf32>, tensor<768x768xf32>) outs(%acc : tensor<128x768xf32>) -> tensor<128x768xf32>
    tesa.yield %p : tensor<128x768xf32>
  }
  return %r : tensor<128x768xf32>
}

// -----

// 16 rows: fewer than a 64x64 tile's, so 32x32x16 tiles (24 of them), K
// (48 steps) split in eleven slices for two blocks a multiprocessor.
// CHECK-LABEL: func.func @few_rows
// CHECK: tile = [32, 32, 16], thread_tile = [2, 2], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 11>
func.func @few_rows(%x: tensor<16x768xf32>, %w: tensor<768x768xf32>, %acc: tensor<16x768xf32>) -> tensor<16x768xf32> {
  %r = tesa.kernel contraction -> tensor<16x768xf32> {
    %p = linalg.matmul ins(%x, %w : tensor<16x768xf32>, tensor<768x768xf32>) outs(%acc : tensor<16x768xf32>) -> tensor<16x768xf32>
    tesa.yield %p : tensor<16x768xf32>
  }
  return %r : tensor<16x768xf32>
}

// -----

// A row of 512: 128 threads of four elements each.
// CHECK-LABEL: func.func @rows
// CHECK: tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 512], thread_tile = [4], threads = 128, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>)
func.func @rows(%x: tensor<12x512x512xf32>, %e: tensor<12x512x512xf32>) -> tensor<12x512x512xf32> {
  %r = tesa.kernel row_reduction -> tensor<12x512x512xf32> {
    %s = linalg.softmax dimension(2) ins(%x : tensor<12x512x512xf32>) outs(%e : tensor<12x512x512xf32>) -> tensor<12x512x512xf32>
    tesa.yield %s : tensor<12x512x512xf32>
  }
  return %r : tensor<12x512x512xf32>
}

// -----

// A convolution: each thread a run of neighbouring outputs along the last
// dimension (of 10: two, its longest power of two up to 8, whose outputs
// one aligned store writes), 256 threads a block; with convolution-run=1,
// one output a thread.
// CHECK-LABEL: func.func @convolution
// CHECK: tesa.kernel convolution config(#tesa.tile_config<tile = [512], thread_tile = [2], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>)
// ONE-LABEL: func.func @convolution
// ONE: tesa.kernel convolution config(#tesa.tile_config<tile = [256], thread_tile = [1], threads = 256
func.func @convolution(%x: tensor<2x8x12x12xf32>, %w: tensor<8x3x3xf32>, %acc: tensor<2x8x10x10xf32>) -> tensor<2x8x10x10xf32> {
  %r = tesa.kernel convolution -> tensor<2x8x10x10xf32> {
    %y = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %w : tensor<2x8x12x12xf32>, tensor<8x3x3xf32>) outs(%acc : tensor<2x8x10x10xf32>) -> tensor<2x8x10x10xf32>
    tesa.yield %y : tensor<2x8x10x10xf32>
  }
  return %r : tensor<2x8x10x10xf32>
}

// -----

// A configuration in the input stays.
// CHECK-LABEL: func.func @given
// CHECK: tile = [64, 64, 8], thread_tile = [4, 4], threads = 256
// OVERRIDE-LABEL: func.func @given
// OVERRIDE: tile = [64, 64, 8], thread_tile = [4, 4], threads = 256
func.func @given(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<8x8xf32> {
    %p = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
    tesa.yield %p : tensor<8x8xf32>
  }
  return %r : tensor<8x8xf32>
}

// BAD: contraction-tile takes three sizes (M,N,K) and thread-tile two (M,N)
// RUNLESS: convolution-run must be at least 1 (one output a thread), got 0

// -----

// f16 operands whose innermost dimensions are multiples of eight: tensor
// cores. On sm_90 the weight, stored [K][N], is read MN-major by the wgmma
// atom in tiles of at most 64 columns: 192 tiles of 128x64 fill the
// multiprocessors and pad no more than 64x64; five K steps of 64 in
// flight (24 KiB each). On sm_80 (mma.sync), 512 x 3072 outputs give 192
// tiles of 128x64, fewer than two a multiprocessor, and 384 of 64x64: four
// warps of 32x32, K steps of 64 four deep. sm_75 has no cp.async: FMA
// tiles.
// CHECK-LABEL: func.func @f16_large
// CHECK: tesa.kernel contraction config(#tesa.tile_config<tile = [128, 64, 64], thread_tile = [64, 64], threads = 256, stages = 5, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>)
// SM80-LABEL: func.func @f16_large
// SM80: tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 64], thread_tile = [32, 32], threads = 128, stages = 4, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>)
// SM75-LABEL: func.func @f16_large
// SM75: atom = fma_f32
func.func @f16_large(%x: tensor<512x1024xf16>, %w: tensor<1024x3072xf16>, %acc: tensor<512x3072xf16>) -> tensor<512x3072xf16> {
  %r = tesa.kernel contraction -> tensor<512x3072xf16> {
    %p = linalg.matmul ins(%x, %w : tensor<512x1024xf16>, tensor<1024x3072xf16>) outs(%acc : tensor<512x3072xf16>) -> tensor<512x3072xf16>
    tesa.yield %p : tensor<512x3072xf16>
  }
  return %r : tensor<512x3072xf16>
}

// -----

// 128 x 768 f16 outputs: on sm_90, 24 wgmma tiles of 64x64, K (24 steps of
// 64) split in four slices. On sm_80, 48 tiles of the smallest mma.sync
// tile, 64x32, K split in five slices.
// CHECK-LABEL: func.func @f16_small
// CHECK: tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 8, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 4>
// SM80-LABEL: func.func @f16_small
// SM80: tile = [64, 32, 64], thread_tile = [32, 16], threads = 128, stages = 4, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 5>
func.func @f16_small(%x: tensor<128x1536xf16>, %w: tensor<1536x768xf16>, %acc: tensor<128x768xf16>) -> tensor<128x768xf16> {
  %r = tesa.kernel contraction -> tensor<128x768xf16> {
    %p = linalg.matmul ins(%x, %w : tensor<128x1536xf16>, tensor<1536x768xf16>) outs(%acc : tensor<128x768xf16>) -> tensor<128x768xf16>
    tesa.yield %p : tensor<128x768xf16>
  }
  return %r : tensor<128x768xf16>
}

// -----

// A product the mma.sync table holds for sm_90 (BERT-base's second FFN
// product at seq 512, its weight stored [K][N]): the wgmma atom takes it
// first, by its rule (96 tiles of 64x64, more than half the
// multiprocessors: no split); the table's 128x128 mma.sync tiles over four
// slices apply where wgmma does not. sm_75 still takes FMA tiles.
// CHECK-LABEL: func.func @f16_measured
// CHECK: tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 8, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>
// SM75-LABEL: func.func @f16_measured
// SM75: atom = fma_f32
func.func @f16_measured(%x: tensor<512x3072xf16>, %w: tensor<3072x768xf16>, %acc: tensor<512x768xf16>) -> tensor<512x768xf16> {
  %r = tesa.kernel contraction -> tensor<512x768xf16> {
    %p = linalg.matmul ins(%x, %w : tensor<512x3072xf16>, tensor<3072x768xf16>) outs(%acc : tensor<512x768xf16>) -> tensor<512x768xf16>
    tesa.yield %p : tensor<512x768xf16>
  }
  return %r : tensor<512x768xf16>
}

// -----

// A Linear: its weight stored [N][K] and transposed by linalg.transpose,
// which the kernel reads in place, so both operands are contiguous along K:
// sm_90's warpgroup atom. 256 x 512 outputs give 32 tiles of 64x64 (the
// most of any wgmma tile), fewer than half the multiprocessors; K (32 steps
// of 64) is split in four slices; eight steps in flight (128 KiB). sm_75
// takes FMA tiles.
// CHECK-LABEL: func.func @f16_linear
// CHECK: tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 8, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 4>
// SM75-LABEL: func.func @f16_linear
// SM75: atom = fma_f32
func.func @f16_linear(%x: tensor<256x2048xf16>, %w: tensor<512x2048xf16>, %acc: tensor<256x512xf16>) -> tensor<256x512xf16> {
  %e = tensor.empty() : tensor<2048x512xf16>
  %wt = linalg.transpose ins(%w : tensor<512x2048xf16>) outs(%e : tensor<2048x512xf16>) permutation = [1, 0]
  %r = tesa.kernel contraction -> tensor<256x512xf16> {
    %p = linalg.matmul ins(%x, %wt : tensor<256x2048xf16>, tensor<2048x512xf16>) outs(%acc : tensor<256x512xf16>) -> tensor<256x512xf16>
    tesa.yield %p : tensor<256x512xf16>
  }
  return %r : tensor<256x512xf16>
}

// -----

// Linears the measured wgmma table holds for sm_90: the f16 MLP's second
// product unsplit over 128 tiles of 64x64, where the rule would split it
// in two; BERT-base's second FFN product at seq 512 unsplit on 64x64 tiles
// copied by TMA (one warpgroup and the copying warp), six steps in flight.
// CHECK-LABEL: func.func @f16_linear_measured
// CHECK: tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 8, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>
func.func @f16_linear_measured(%x: tensor<128x4096xf16>, %w: tensor<4096x4096xf16>, %acc: tensor<128x4096xf16>) -> tensor<128x4096xf16> {
  %e = tensor.empty() : tensor<4096x4096xf16>
  %wt = linalg.transpose ins(%w : tensor<4096x4096xf16>) outs(%e : tensor<4096x4096xf16>) permutation = [1, 0]
  %r = tesa.kernel contraction -> tensor<128x4096xf16> {
    %p = linalg.matmul ins(%x, %wt : tensor<128x4096xf16>, tensor<4096x4096xf16>) outs(%acc : tensor<128x4096xf16>) -> tensor<128x4096xf16>
    tesa.yield %p : tensor<128x4096xf16>
  }
  return %r : tensor<128x4096xf16>
}

// -----

// CHECK-LABEL: func.func @f16_linear_ffn2
// CHECK: tile = [64, 48, 64], thread_tile = [64, 48], threads = 160, stages = 8, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>
func.func @f16_linear_ffn2(%x: tensor<512x3072xf16>, %w: tensor<768x3072xf16>, %acc: tensor<512x768xf16>) -> tensor<512x768xf16> {
  %e = tensor.empty() : tensor<3072x768xf16>
  %wt = linalg.transpose ins(%w : tensor<768x3072xf16>) outs(%e : tensor<3072x768xf16>) permutation = [1, 0]
  %r = tesa.kernel contraction -> tensor<512x768xf16> {
    %p = linalg.matmul ins(%x, %wt : tensor<512x3072xf16>, tensor<3072x768xf16>) outs(%acc : tensor<512x768xf16>) -> tensor<512x768xf16>
    tesa.yield %p : tensor<512x768xf16>
  }
  return %r : tensor<512x768xf16>
}

// -----

// Three Linears of one input (a layer's Q, K and V projections at seq 512,
// each starting from its broadcast bias) run as one launch: they take the
// table's tiling of their product of 2304 columns, 128x96 tiles copied by
// TMA (two warpgroups and the copying warp). A lone one of the same sizes
// takes the table's row for 768 columns, 64x48 tiles.
// CHECK-LABEL: func.func @f16_linear_siblings
// CHECK-COUNT-3: tile = [128, 96, 64], thread_tile = [64, 96], threads = 288, stages = 6, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>
// CHECK-LABEL: func.func @f16_linear_alone
// CHECK: tile = [64, 48, 64], thread_tile = [64, 48], threads = 160, stages = 8, copy = tma
func.func @f16_linear_siblings(%x: tensor<512x768xf16>, %wq: tensor<768x768xf16>, %wk: tensor<768x768xf16>, %wv: tensor<768x768xf16>, %bq: tensor<768xf16>, %bk: tensor<768xf16>, %bv: tensor<768xf16>) -> (tensor<512x768xf32>, tensor<512x768xf32>, tensor<512x768xf32>) {
  %e = tensor.empty() : tensor<768x768xf16>
  %wqt = linalg.transpose ins(%wq : tensor<768x768xf16>) outs(%e : tensor<768x768xf16>) permutation = [1, 0]
  %wkt = linalg.transpose ins(%wk : tensor<768x768xf16>) outs(%e : tensor<768x768xf16>) permutation = [1, 0]
  %wvt = linalg.transpose ins(%wv : tensor<768x768xf16>) outs(%e : tensor<768x768xf16>) permutation = [1, 0]
  %q0 = call @broadcast(%bq) : (tensor<768xf16>) -> tensor<512x768xf32>
  %q = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wqt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%q0 : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  %k0 = call @broadcast(%bk) : (tensor<768xf16>) -> tensor<512x768xf32>
  %k = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wkt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%k0 : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  %v0 = call @broadcast(%bv) : (tensor<768xf16>) -> tensor<512x768xf32>
  %v = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wvt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%v0 : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  return %q, %k, %v : tensor<512x768xf32>, tensor<512x768xf32>, tensor<512x768xf32>
}
func.func @f16_linear_alone(%x: tensor<512x768xf16>, %w: tensor<768x768xf16>, %acc: tensor<512x768xf32>) -> tensor<512x768xf32> {
  %e = tensor.empty() : tensor<768x768xf16>
  %wt = linalg.transpose ins(%w : tensor<768x768xf16>) outs(%e : tensor<768x768xf16>) permutation = [1, 0]
  %r = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%acc : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  return %r : tensor<512x768xf32>
}
func.func private @broadcast(tensor<768xf16>) -> tensor<512x768xf32>

// -----

// Two Linears of one input where the second starts from the first's sums:
// they cannot run as one launch, and each keeps the row for 768 columns.
// CHECK-LABEL: func.func @f16_linear_dependent
// CHECK-COUNT-2: tile = [64, 48, 64], thread_tile = [64, 48], threads = 160, stages = 8, copy = tma
func.func @f16_linear_dependent(%x: tensor<512x768xf16>, %w: tensor<768x768xf16>, %acc: tensor<512x768xf32>) -> tensor<512x768xf32> {
  %e = tensor.empty() : tensor<768x768xf16>
  %wt = linalg.transpose ins(%w : tensor<768x768xf16>) outs(%e : tensor<768x768xf16>) permutation = [1, 0]
  %first = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%acc : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  %second = tesa.kernel contraction -> tensor<512x768xf32> {
    %p = linalg.matmul ins(%x, %wt : tensor<512x768xf16>, tensor<768x768xf16>) outs(%first : tensor<512x768xf32>) -> tensor<512x768xf32>
    tesa.yield %p : tensor<512x768xf32>
  }
  return %second : tensor<512x768xf32>
}

// -----

// An innermost dimension of 45 cannot be copied in 16-byte pieces: not the
// warpgroup atom (its tiles are copied in 16-byte pieces), but mma.sync
// tiles, which copy x an element at a time.
// CHECK-LABEL: func.func @f16_unaligned
// CHECK: copy = async_copy, atom = mma_f16_m16n8k16
func.func @f16_unaligned(%x: tensor<64x45xf16>, %w: tensor<45x64xf16>, %acc: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %r = tesa.kernel contraction -> tensor<64x64xf16> {
    %p = linalg.matmul ins(%x, %w : tensor<64x45xf16>, tensor<45x64xf16>) outs(%acc : tensor<64x64xf16>) -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// Attention of 2 heads of 80 queries: blocks of 64 queries would give 4
// blocks, far fewer than half of the H200's 132 multiprocessors: 32 a
// block, in two groups of 16 whose keys two warps split (128 a step).
// CHECK-LABEL: func.func @attention_small
// CHECK: tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 32], thread_tile = [16, 64], threads = 128, stages = 2, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>)
// SM75-LABEL: func.func @attention_small
// SM75: tesa.kernel attention ->
#map = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @attention_small(%arg0: tensor<80x2x32xf16>, %arg1: tensor<80x2x32xf16>, %arg2: tensor<80x2x32xf16>) -> tensor<80x64xf16> {
  %cst = arith.constant 0xFE00 : f16
  %cst_0 = arith.constant 1.767580e-01 : f16
  %cst_1 = arith.constant 0.000000e+00 : f16
  %0 = tensor.empty() : tensor<2x80x32xf16>
  %1 = tensor.empty() : tensor<2x32x80xf16>
  %2 = tensor.empty() : tensor<2x80x32xf16>
  %3 = tensor.empty() : tensor<2x80x80xf16>
  %4 = linalg.fill ins(%cst_1 : f16) outs(%3 : tensor<2x80x80xf16>) -> tensor<2x80x80xf16>
  %5 = tensor.empty() : tensor<2x80x80xf16>
  %6 = tensor.empty() : tensor<2x80x80xf16>
  %7 = tensor.empty() : tensor<2x80xf16>
  %8 = linalg.fill ins(%cst : f16) outs(%7 : tensor<2x80xf16>) -> tensor<2x80xf16>
  %9 = linalg.fill ins(%cst_1 : f16) outs(%7 : tensor<2x80xf16>) -> tensor<2x80xf16>
  %10 = tensor.empty() : tensor<2x80x32xf16>
  %11 = linalg.fill ins(%cst_1 : f16) outs(%10 : tensor<2x80x32xf16>) -> tensor<2x80x32xf16>
  %12 = tensor.empty() : tensor<80x2x32xf16>
  %13 = tesa.kernel attention -> tensor<80x2x32xf16> {
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<80x2x32xf16>, tensor<80x2x32xf16>) outs(%4 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x80xf16>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<2x80x80xf16>) outs(%5 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.mulf %in, %cst_0 : f16
      linalg.yield %22 : f16
    } -> tensor<2x80x80xf16>
    %16 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<2x80x80xf16>) outs(%8 : tensor<2x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.maxnumf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<2x80xf16>
    %17 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<2x80x80xf16>, tensor<2x80xf16>) outs(%6 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.subf %in, %in_2 : f16
      %23 = math.exp %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x80xf16>
    %18 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<2x80x80xf16>) outs(%9 : tensor<2x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.addf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<2x80xf16>
    %19 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<2x80x80xf16>, tensor<2x80xf16>) outs(%6 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.divf %in, %in_2 : f16
      linalg.yield %22 : f16
    } -> tensor<2x80x80xf16>
    %20 = linalg.generic {indexing_maps = [#map5, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<2x80x80xf16>, tensor<80x2x32xf16>) outs(%11 : tensor<2x80x32xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x32xf16>
    %21 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<2x80x32xf16>) outs(%12 : tensor<80x2x32xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<80x2x32xf16>
    tesa.yield %21 : tensor<80x2x32xf16>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<80x2x32xf16> into tensor<80x64xf16>
  return %collapsed : tensor<80x64xf16>
}

// -----

// BERT-base's attention at seq 512 (12 heads here of 32): 96 blocks of 64
// queries, four groups of 16 whose keys two warps split.
// CHECK-LABEL: func.func @attention_bert
// CHECK: tesa.kernel attention config(#tesa.tile_config<tile = [64, 128, 32], thread_tile = [16, 64], threads = 256, stages = 2, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>)
#map = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @attention_bert(%arg0: tensor<512x12x32xf16>, %arg1: tensor<512x12x32xf16>, %arg2: tensor<512x12x32xf16>) -> tensor<512x384xf16> {
  %cst = arith.constant 0xFE00 : f16
  %cst_0 = arith.constant 1.767580e-01 : f16
  %cst_1 = arith.constant 0.000000e+00 : f16
  %0 = tensor.empty() : tensor<12x512x32xf16>
  %1 = tensor.empty() : tensor<12x32x512xf16>
  %2 = tensor.empty() : tensor<12x512x32xf16>
  %3 = tensor.empty() : tensor<12x512x512xf16>
  %4 = linalg.fill ins(%cst_1 : f16) outs(%3 : tensor<12x512x512xf16>) -> tensor<12x512x512xf16>
  %5 = tensor.empty() : tensor<12x512x512xf16>
  %6 = tensor.empty() : tensor<12x512x512xf16>
  %7 = tensor.empty() : tensor<12x512xf16>
  %8 = linalg.fill ins(%cst : f16) outs(%7 : tensor<12x512xf16>) -> tensor<12x512xf16>
  %9 = linalg.fill ins(%cst_1 : f16) outs(%7 : tensor<12x512xf16>) -> tensor<12x512xf16>
  %10 = tensor.empty() : tensor<12x512x32xf16>
  %11 = linalg.fill ins(%cst_1 : f16) outs(%10 : tensor<12x512x32xf16>) -> tensor<12x512x32xf16>
  %12 = tensor.empty() : tensor<512x12x32xf16>
  %13 = tesa.kernel attention -> tensor<512x12x32xf16> {
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<512x12x32xf16>, tensor<512x12x32xf16>) outs(%4 : tensor<12x512x512xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<12x512x512xf16>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<12x512x512xf16>) outs(%5 : tensor<12x512x512xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.mulf %in, %cst_0 : f16
      linalg.yield %22 : f16
    } -> tensor<12x512x512xf16>
    %16 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<12x512x512xf16>) outs(%8 : tensor<12x512xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.maxnumf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<12x512xf16>
    %17 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<12x512x512xf16>, tensor<12x512xf16>) outs(%6 : tensor<12x512x512xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.subf %in, %in_2 : f16
      %23 = math.exp %22 : f16
      linalg.yield %23 : f16
    } -> tensor<12x512x512xf16>
    %18 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<12x512x512xf16>) outs(%9 : tensor<12x512xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.addf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<12x512xf16>
    %19 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<12x512x512xf16>, tensor<12x512xf16>) outs(%6 : tensor<12x512x512xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.divf %in, %in_2 : f16
      linalg.yield %22 : f16
    } -> tensor<12x512x512xf16>
    %20 = linalg.generic {indexing_maps = [#map5, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<12x512x512xf16>, tensor<512x12x32xf16>) outs(%11 : tensor<12x512x32xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<12x512x32xf16>
    %21 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<12x512x32xf16>) outs(%12 : tensor<512x12x32xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<512x12x32xf16>
    tesa.yield %21 : tensor<512x12x32xf16>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<512x12x32xf16> into tensor<512x384xf16>
  return %collapsed : tensor<512x384xf16>
}

// -----

// The same attention in f32, on exact-f32 FMA tiles: 96 blocks of 64
// queries, each query's keys split over two groups of 16 lanes (8 queries a
// group, 4 keys a lane: 128 keys a step).
// CHECK-LABEL: func.func @attention_bert_f32(
// CHECK: tesa.kernel attention config(#tesa.tile_config<tile = [64, 128, 32], thread_tile = [8, 4], threads = 256, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>)
// SM75-LABEL: func.func @attention_bert_f32(
// SM75: tesa.kernel attention ->
#map = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @attention_bert_f32(%arg0: tensor<512x12x32xf32>, %arg1: tensor<512x12x32xf32>, %arg2: tensor<512x12x32xf32>) -> tensor<512x384xf32> {
  %cst = arith.constant 0xFFC00000 : f32
  %cst_0 = arith.constant 1.767580e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<12x512x32xf32>
  %1 = tensor.empty() : tensor<12x32x512xf32>
  %2 = tensor.empty() : tensor<12x512x32xf32>
  %3 = tensor.empty() : tensor<12x512x512xf32>
  %4 = linalg.fill ins(%cst_1 : f32) outs(%3 : tensor<12x512x512xf32>) -> tensor<12x512x512xf32>
  %5 = tensor.empty() : tensor<12x512x512xf32>
  %6 = tensor.empty() : tensor<12x512x512xf32>
  %7 = tensor.empty() : tensor<12x512xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<12x512xf32>) -> tensor<12x512xf32>
  %9 = linalg.fill ins(%cst_1 : f32) outs(%7 : tensor<12x512xf32>) -> tensor<12x512xf32>
  %10 = tensor.empty() : tensor<12x512x32xf32>
  %11 = linalg.fill ins(%cst_1 : f32) outs(%10 : tensor<12x512x32xf32>) -> tensor<12x512x32xf32>
  %12 = tensor.empty() : tensor<512x12x32xf32>
  %13 = tesa.kernel attention -> tensor<512x12x32xf32> {
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<512x12x32xf32>, tensor<512x12x32xf32>) outs(%4 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x512xf32>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<12x512x512xf32>) outs(%5 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.mulf %in, %cst_0 : f32
      linalg.yield %22 : f32
    } -> tensor<12x512x512xf32>
    %16 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<12x512x512xf32>) outs(%8 : tensor<12x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.maxnumf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x512xf32>
    %17 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<12x512x512xf32>, tensor<12x512xf32>) outs(%6 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.subf %in, %in_2 : f32
      %23 = math.exp %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x512xf32>
    %18 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<12x512x512xf32>) outs(%9 : tensor<12x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x512xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<12x512x512xf32>, tensor<12x512xf32>) outs(%6 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.divf %in, %in_2 : f32
      linalg.yield %22 : f32
    } -> tensor<12x512x512xf32>
    %20 = linalg.generic {indexing_maps = [#map5, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<12x512x512xf32>, tensor<512x12x32xf32>) outs(%11 : tensor<12x512x32xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x32xf32>
    %21 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<12x512x32xf32>) outs(%12 : tensor<512x12x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<512x12x32xf32>
    tesa.yield %21 : tensor<512x12x32xf32>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<512x12x32xf32> into tensor<512x384xf32>
  return %collapsed : tensor<512x384xf32>
}

// -----

// At seq 128 blocks of 64 or 32 queries would leave more than half of the
// multiprocessors idle: 16 queries a block, 2 a group, one split of 64
// keys.
// CHECK-LABEL: func.func @attention_bert_f32_s128(
// CHECK: tesa.kernel attention config(#tesa.tile_config<tile = [16, 64, 32], thread_tile = [2, 4], threads = 128, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>)
#map = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @attention_bert_f32_s128(%arg0: tensor<128x12x32xf32>, %arg1: tensor<128x12x32xf32>, %arg2: tensor<128x12x32xf32>) -> tensor<128x384xf32> {
  %cst = arith.constant 0xFFC00000 : f32
  %cst_0 = arith.constant 1.767580e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<12x128x32xf32>
  %1 = tensor.empty() : tensor<12x32x128xf32>
  %2 = tensor.empty() : tensor<12x128x32xf32>
  %3 = tensor.empty() : tensor<12x128x128xf32>
  %4 = linalg.fill ins(%cst_1 : f32) outs(%3 : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
  %5 = tensor.empty() : tensor<12x128x128xf32>
  %6 = tensor.empty() : tensor<12x128x128xf32>
  %7 = tensor.empty() : tensor<12x128xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<12x128xf32>) -> tensor<12x128xf32>
  %9 = linalg.fill ins(%cst_1 : f32) outs(%7 : tensor<12x128xf32>) -> tensor<12x128xf32>
  %10 = tensor.empty() : tensor<12x128x32xf32>
  %11 = linalg.fill ins(%cst_1 : f32) outs(%10 : tensor<12x128x32xf32>) -> tensor<12x128x32xf32>
  %12 = tensor.empty() : tensor<128x12x32xf32>
  %13 = tesa.kernel attention -> tensor<128x12x32xf32> {
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<128x12x32xf32>, tensor<128x12x32xf32>) outs(%4 : tensor<12x128x128xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x128x128xf32>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<12x128x128xf32>) outs(%5 : tensor<12x128x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.mulf %in, %cst_0 : f32
      linalg.yield %22 : f32
    } -> tensor<12x128x128xf32>
    %16 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<12x128x128xf32>) outs(%8 : tensor<12x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.maxnumf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x128xf32>
    %17 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<12x128x128xf32>, tensor<12x128xf32>) outs(%6 : tensor<12x128x128xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.subf %in, %in_2 : f32
      %23 = math.exp %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x128x128xf32>
    %18 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<12x128x128xf32>) outs(%9 : tensor<12x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x128xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<12x128x128xf32>, tensor<12x128xf32>) outs(%6 : tensor<12x128x128xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.divf %in, %in_2 : f32
      linalg.yield %22 : f32
    } -> tensor<12x128x128xf32>
    %20 = linalg.generic {indexing_maps = [#map5, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<12x128x128xf32>, tensor<128x12x32xf32>) outs(%11 : tensor<12x128x32xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x128x32xf32>
    %21 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<12x128x32xf32>) outs(%12 : tensor<128x12x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<128x12x32xf32>
    tesa.yield %21 : tensor<128x12x32xf32>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<128x12x32xf32> into tensor<128x384xf32>
  return %collapsed : tensor<128x384xf32>
}

// -----

// Four of the 12 heads pruned whole in the context's encoding: 64 blocks
// of 64 queries would leave more than half of the multiprocessors idle, so
// 32 queries a block (128 blocks), 4 a group, two splits.
// CHECK-LABEL: func.func @attention_bert_f32_dead_heads(
// CHECK: tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 32], thread_tile = [4, 4], threads = 256, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>)
#map = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @attention_bert_f32_dead_heads(%arg0: tensor<512x12x32xf32>, %arg1: tensor<512x12x32xf32>, %arg2: tensor<512x12x32xf32>) -> tensor<512x384xf32> {
  %cst = arith.constant 0xFFC00000 : f32
  %cst_0 = arith.constant 1.767580e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>
  %1 = tensor.empty() : tensor<12x32x512xf32>
  %2 = tensor.empty() : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>
  %3 = tensor.empty() : tensor<12x512x512xf32>
  %4 = linalg.fill ins(%cst_1 : f32) outs(%3 : tensor<12x512x512xf32>) -> tensor<12x512x512xf32>
  %5 = tensor.empty() : tensor<12x512x512xf32>
  %6 = tensor.empty() : tensor<12x512x512xf32>
  %7 = tensor.empty() : tensor<12x512xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<12x512xf32>) -> tensor<12x512xf32>
  %9 = linalg.fill ins(%cst_1 : f32) outs(%7 : tensor<12x512xf32>) -> tensor<12x512xf32>
  %10 = tensor.empty() : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>
  %11 = linalg.fill ins(%cst_1 : f32) outs(%10 : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>) -> tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>
  %12 = tensor.empty() : tensor<512x12x32xf32>
  %13 = tesa.kernel attention -> tensor<512x12x32xf32> {
    %14 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<512x12x32xf32>, tensor<512x12x32xf32>) outs(%4 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x512xf32>
    %15 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<12x512x512xf32>) outs(%5 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.mulf %in, %cst_0 : f32
      linalg.yield %22 : f32
    } -> tensor<12x512x512xf32>
    %16 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<12x512x512xf32>) outs(%8 : tensor<12x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.maxnumf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x512xf32>
    %17 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<12x512x512xf32>, tensor<12x512xf32>) outs(%6 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.subf %in, %in_2 : f32
      %23 = math.exp %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x512xf32>
    %18 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<12x512x512xf32>) outs(%9 : tensor<12x512xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<12x512xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<12x512x512xf32>, tensor<12x512xf32>) outs(%6 : tensor<12x512x512xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.divf %in, %in_2 : f32
      linalg.yield %22 : f32
    } -> tensor<12x512x512xf32>
    %20 = linalg.generic {indexing_maps = [#map5, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<12x512x512xf32>, tensor<512x12x32xf32>) outs(%11 : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>
    %21 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<12x512x32xf32, #tesa.sparsity<map = dense<[[[0]], [[0]], [[32]], [[32]], [[32]], [[0]], [[32]], [[32]], [[0]], [[32]], [[32]], [[32]]]> : tensor<12x1x1xi8>>>) outs(%12 : tensor<512x12x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<512x12x32xf32>
    tesa.yield %21 : tensor<512x12x32xf32>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<512x12x32xf32> into tensor<512x384xf32>
  return %collapsed : tensor<512x384xf32>
}
