// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

// A fine part of a sparse lhs whose pruned elements are whole columns (an
// activation with dead channels): the contraction family walks the kept K
// only, gathering each step's K indices (1 and 3) from a table for both
// operands, and reading x in place: no pack kernel.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_kept_k : memref<2xi32> = dense<[1, 3]>
// CHECK-NOT: @part0_pack
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[X:[^:]*]]: memref<32xf32>, %[[W:[^:]*]]: memref<64xf32>, %[[OUT:[^:]*]]: memref<128xf32>)
// CHECK: %[[KEPT:.*]] = memref.get_global @part0_kept_k
// CHECK: %[[K:.*]] = memref.load %[[KEPT]]
// CHECK: arith.index_castui %[[K]]
// CHECK: memref.load %[[X]]
// CHECK: math.fma
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @dead_lhs_columns
// CHECK: gpu.launch_func @tesa_kernels::@part0
#x = #tesa.sparsity<map = dense<[[0, 32, 0, 32]]> : tensor<1x4xi8>>
func.func @dead_lhs_columns(%x: tensor<8x4xf32, #x>, %w: tensor<4x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %p = tesa.extract_part %x : tensor<8x4xf32, #x> -> tensor<8x4xf32, #x>
  %r = tesa.part_matmul fine %p, %w, %z {bits = 32 : i64, block = array<i64>, sparse_operand = 0 : i64} : tensor<8x4xf32, #x>, tensor<4x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// A fine part of a sparse W that prunes whole columns (neurons), whose
// result declares those columns dead: only the kept columns (0, 2 and 3 of
// 4) are computed and stored, through a table; the grid covers them only.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_kept_n : memref<3xi32> = dense<[0, 2, 3]>
// CHECK-LABEL: gpu.func @part0(
// CHECK: memref.get_global @part0_kept_n
// CHECK: math.fma
// CHECK: memref.store
// CHECK-LABEL: func.func @dead_columns
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}})
#w = #tesa.sparsity<map = dense<[[32, 0, 32, 32]]> : tensor<1x4xi8>>
func.func @dead_columns(%x: tensor<8x16xf32>, %w: tensor<16x4xf32, #w>) -> tensor<8x4xf32, #w> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32, #w>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x4xf32, #w>) -> tensor<8x4xf32, #w>
  %p = tesa.extract_part %w : tensor<16x4xf32, #w> -> tensor<16x4xf32, #w>
  %r = tesa.part_matmul fine %x, %p, %z {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<8x16xf32>, tensor<16x4xf32, #w>, tensor<8x4xf32, #w> -> tensor<8x4xf32, #w>
  return %r : tensor<8x4xf32, #w>
}

// -----

// The same W whose result does not declare the pruned columns dead: they
// must hold the accumulator, so the part keeps its SIMT kernel.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: gpu.func @part0_pack
// CHECK-LABEL: func.func @live_columns
#v = #tesa.sparsity<map = dense<[[32, 0, 32, 32]]> : tensor<1x4xi8>>
func.func @live_columns(%x: tensor<8x16xf32>, %w: tensor<16x4xf32, #v>) -> tensor<8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %p = tesa.extract_part %w : tensor<16x4xf32, #v> -> tensor<16x4xf32, #v>
  %r = tesa.part_matmul fine %x, %p, %z {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<8x16xf32>, tensor<16x4xf32, #v>, tensor<8x4xf32> -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Kept channels of W too few for the multiprocessors (16 rows by 128 kept
// columns, four tiles): the 256 kept rows of K split into four slices,
// each summing into a workspace of the kept columns only (4 x 16 x 128),
// and a second kernel adds them up, gathering each kept column's index.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[X:[^:]*]]: memref<8192xf32>, %[[W:[^:]*]]: memref<131072xf32>, %[[WORKSPACE:[^:]*]]: memref<8192xf32>)
// CHECK: memref.get_global @part0_kept_k : memref<256xi32>
// CHECK: memref.store %{{.*}}, %[[WORKSPACE]]
// CHECK-LABEL: gpu.func @part0_split_k(
// CHECK-SAME: %[[SLICES:[^:]*]]: memref<8192xf32>, %[[OUT:[^:]*]]: memref<4096xf32>)
// CHECK: %[[KEPT:.*]] = memref.get_global @part0_split_k_kept_n : memref<128xi32>
// CHECK: memref.load %[[SLICES]]
// CHECK: memref.load %[[KEPT]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @split_kept_columns
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c4{{.*}}, %c1{{.*}}, %c4{{.*}})
// CHECK: gpu.launch_func @tesa_kernels::@part0_split_k blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}})
#s = #tesa.sparsity<map = dense<[[32, 0], [0, 0]]> : tensor<2x2xi8>>
func.func @split_kept_columns(%x: tensor<16x512xf32>, %w: tensor<512x256xf32, #s>) -> tensor<16x256xf32, #s> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x256xf32, #s>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x256xf32, #s>) -> tensor<16x256xf32, #s>
  %p = tesa.extract_part %w : tensor<512x256xf32, #s> -> tensor<512x256xf32, #s>
  %r = tesa.part_matmul fine %x, %p, %z {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<16x512xf32>, tensor<512x256xf32, #s>, tensor<16x256xf32, #s> -> tensor<16x256xf32, #s>
  return %r : tensor<16x256xf32, #s>
}
