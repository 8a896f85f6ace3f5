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
  %r = tesa.part_matmul %p, %w, %z {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 0 : i64} : tensor<8x4xf32, #x>, tensor<4x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
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
  %r = tesa.part_matmul %x, %p, %z {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : tensor<8x16xf32>, tensor<16x4xf32, #w>, tensor<8x4xf32, #w> -> tensor<8x4xf32, #w>
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
  %r = tesa.part_matmul %x, %p, %z {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : tensor<8x16xf32>, tensor<16x4xf32, #v>, tensor<8x4xf32> -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}
