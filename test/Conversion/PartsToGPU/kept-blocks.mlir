// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false tma=false" | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false" | FileCheck %s --check-prefix=TMA
// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s --check-prefix=SM80
// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false block-clusters=fewer-reads" | FileCheck %s --check-prefix=CLUSTER

// A 32-bit block part of x @ W whose slabs of one block's depth (16) by 32
// columns are kept whole: the contraction family computes it over the kept
// slabs only (column tile 0 takes slab 0, tile 1 slab 1), reading W in
// place: no pack kernel, no packed copy. The accumulator is a zero fill.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_offsets : memref<3xi32> = dense<[0, 1, 2]>
// CHECK-DAG: memref.global "private" constant @part0_entries : memref<2xi32> = dense<[0, 1]>
// CHECK-NOT: @part0_pack
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.*}}: memref<256xf32>, %[[W:.*]]: memref<2048xf32>, %[[OUT:.*]]: memref<512xf32>)
// CHECK: scf.for
// CHECK: memref.load %[[W]]
// CHECK: math.fma
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @whole_slabs
// CHECK: %[[WB:.*]] = bufferization.to_buffer %arg1
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2, %c1{{.*}}, %c1{{.*}}) threads in (%c256
#w = #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>
func.func @whole_slabs(%x: tensor<8x32xf32>, %w: tensor<32x64xf32, #w>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %p = tesa.extract_part %w : tensor<32x64xf32, #w> -> tensor<32x64xf32, #w>
  %r = tesa.part_matmul block %x, %p, %z {bits = 32 : i64, block = array<i64: 16, 16>, sparse_operand = 1 : i64} : tensor<8x32xf32>, tensor<32x64xf32, #w>, tensor<8x64xf32> -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// A block part of a sparse lhs (an activation whose second slab of 16
// columns is dead for every row): each of the two column tiles walks the
// kept K slabs 0 and 2, reading x in place.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_offsets : memref<3xi32> = dense<[0, 2, 4]>
// CHECK-DAG: memref.global "private" constant @part0_entries : memref<4xi32> = dense<[0, 2, 0, 2]>
// CHECK-NOT: @part0_pack
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[X:.*]]: memref<384xf32>, %{{.*}}: memref<3072xf32>, %[[OUT:.*]]: memref<512xf32>)
// CHECK: scf.for
// CHECK: memref.load %[[X]]
// CHECK: math.fma
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @dead_lhs_slabs
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2, %c1{{.*}}, %c1{{.*}}) threads in (%c256
#x = #tesa.sparsity<map = dense<[[32, 0, 32]]> : tensor<1x3xi8>>
func.func @dead_lhs_slabs(%x: tensor<8x48xf32, #x>, %w: tensor<48x64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %p = tesa.extract_part %x : tensor<8x48xf32, #x> -> tensor<8x48xf32, #x>
  %r = tesa.part_matmul block %p, %w, %z {bits = 32 : i64, block = array<i64: 8, 16>, sparse_operand = 0 : i64} : tensor<8x48xf32, #x>, tensor<48x64xf32>, tensor<8x64xf32> -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// One tile of FMA outputs for 132 multiprocessors: the column's four kept
// slabs split into two slices of two steps (z), whose sums a second kernel
// adds up.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: gpu.func @part0(
// CHECK: gpu.func @part0_split_k(
// CHECK-LABEL: func.func @split_slabs
// CHECK: %[[SUMS:.*]] = memref.alloc() : memref<512xf32>
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{.*}}, %c1{{.*}}, %c2{{.*}})
// CHECK: gpu.launch_func @tesa_kernels::@part0_split_k
// CHECK: memref.dealloc %[[SUMS]]
#s = #tesa.sparsity<map = dense<[[32], [32], [32], [32]]> : tensor<4x1xi8>>
func.func @split_slabs(%x: tensor<8x128xf32>, %w: tensor<128x32xf32, #s>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %p = tesa.extract_part %w : tensor<128x32xf32, #s> -> tensor<128x32xf32, #s>
  %r = tesa.part_matmul block %x, %p, %z {bits = 32 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<8x128xf32>, tensor<128x32xf32, #s>, tensor<8x32xf32> -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// Two split parts of one product, the second accumulating onto the first:
// its second kernel (the slices' sum) reads the first launch's result.
// CHECK-LABEL: func.func @split_chain
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks
// CHECK: gpu.launch_func @tesa_kernels::@part0_split_k
// CHECK: %[[FIRST:.*]] = bufferization.to_tensor
// CHECK: gpu.launch_func @tesa_kernels::@part1 blocks
// CHECK: %[[FIRSTB:.*]] = bufferization.to_buffer %[[FIRST]]
// CHECK: gpu.launch_func @tesa_kernels::@part1_split_k
#c = #tesa.sparsity<map = dense<[[32], [32], [32], [32]]> : tensor<4x1xi8>>
func.func @split_chain(%x: tensor<8x128xf32>, %w: tensor<128x32xf32, #c>, %v: tensor<128x32xf32, #c>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %p = tesa.extract_part %w : tensor<128x32xf32, #c> -> tensor<128x32xf32, #c>
  %r = tesa.part_matmul block %x, %p, %z {bits = 32 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<8x128xf32>, tensor<128x32xf32, #c>, tensor<8x32xf32> -> tensor<8x32xf32>
  %q = tesa.extract_part %v : tensor<128x32xf32, #c> -> tensor<128x32xf32, #c>
  %r2 = tesa.part_matmul block %x, %q, %r {bits = 32 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<8x128xf32>, tensor<128x32xf32, #c>, tensor<8x32xf32> -> tensor<8x32xf32>
  return %r2 : tensor<8x32xf32>
}

// -----

// A slab that keeps half its columns: the part keeps its SIMT kernel and
// packing.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: gpu.func @part0_pack
// CHECK-LABEL: func.func @partial_slab
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
#v = #tesa.sparsity<map = dense<[[32, 0, 0, 0], [0, 0, 0, 32]]> : tensor<2x4xi8>>
func.func @partial_slab(%x: tensor<8x32xf32>, %w: tensor<32x64xf32, #v>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %p = tesa.extract_part %w : tensor<32x64xf32, #v> -> tensor<32x64xf32, #v>
  %r = tesa.part_matmul block %x, %p, %z {bits = 32 : i64, block = array<i64: 16, 16>, sparse_operand = 1 : i64} : tensor<8x32xf32>, tensor<32x64xf32, #v>, tensor<8x64xf32> -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// An f16 part kept at 16 bits on tensor cores, with the bias and GELU that
// follow it applied as it stores (two neighbouring columns a store): the
// generic op takes no kernel of its own. On sm_90 a warpgroup (cp.async,
// wgmma) reads the weight, stored [K][N], MN-major: its ring is
// [stage][k][32 columns], three stages: no deeper than the longest walk
// (one block), three at least.
// On sm_80, mma.sync from ldmatrix.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.*}}: memref<2048xf16>, %[[W:.*]]: memref<4096xf16>, %[[BIAS:.*]]: memref<64xf16>, %[[OUT:.*]]: memref<2048xf16>)
// CHECK: memref<3x32x32xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy
// CHECK: scf.for
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// SM80-LABEL: gpu.func @part0(
// SM80: nvgpu.ldmatrix
// SM80: nvgpu.mma.sync
// SM80-LABEL: func.func @f16_bias_gelu
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[B]] : f16
// CHECK: math.erf
// Each quad of lanes exchanges its pairs of outputs by shuffles and stores
// 16 bytes a lane.
// CHECK: %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: vector.bitcast %[[PAIR]] : vector<2xf16> to vector<1xi32>
// CHECK-COUNT-3: gpu.shuffle  idx
// CHECK: %[[CHUNK:.*]] = vector.bitcast %{{.*}} : vector<4xi32> to vector<8xf16>
// CHECK: vector.store %[[CHUNK]], %[[OUT]][%{{.*}}] {alignment = 16 : i64} : memref<2048xf16>, vector<8xf16>
// CHECK-LABEL: func.func @f16_bias_gelu
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch_func @tesa_kernels::@part0
// CHECK-NOT: linalg.generic
// CHECK: return
#h = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
func.func @f16_bias_gelu(%x: tensor<32x64xf16>, %w: tensor<64x64xf16, #h>, %b: tensor<64xf16>) -> tensor<32x64xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<32x64xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<32x64xf16>) -> tensor<32x64xf16>
  %p = tesa.extract_part %w : tensor<64x64xf16, #h> -> tensor<64x64xf16, #h>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<32x64xf16>, tensor<64x64xf16, #h>, tensor<32x64xf16> -> tensor<32x64xf16>
  %g = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%r, %b : tensor<32x64xf16>, tensor<64xf16>) outs(%e : tensor<32x64xf16>) {
  ^bb0(%a: f16, %c: f16, %o: f16):
    %s = arith.addf %a, %c : f16
    %u = math.erf %s : f16
    %y = arith.mulf %s, %u : f16
    linalg.yield %y : f16
  } -> tensor<32x64xf16>
  return %g : tensor<32x64xf16>
}

// -----

// torch-mlir's f32 Linear: the bias is broadcast after the product, then
// added. The part's kernel applies the addition as it stores, reading the
// bias vector itself (the broadcast is not made).
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.*}}: memref<256xf32>, %{{.*}}: memref<2048xf32>, %[[BIAS:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<512xf32>)
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: arith.addf %{{.*}}, %[[B]] : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @bias_broadcast_after_part
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args(%{{[^:]+}} : memref<256xf32>, %{{[^:]+}} : memref<2048xf32>, %{{[^:]+}} : memref<64xf32>, %{{[^:]+}} : memref<512xf32>)
// CHECK-NOT: gpu.launch_func
#c = #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>
func.func @bias_broadcast_after_part(%x: tensor<8x32xf32>, %w: tensor<32x64xf32, #c>, %b: tensor<64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %p = tesa.extract_part %w : tensor<32x64xf32, #c> -> tensor<32x64xf32, #c>
  %r = tesa.part_matmul block %x, %p, %z {bits = 32 : i64, block = array<i64: 16, 32>, sparse_operand = 1 : i64} : tensor<8x32xf32>, tensor<32x64xf32, #c>, tensor<8x64xf32> -> tensor<8x64xf32>
  %bias = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  } -> tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%r, %bias : tensor<8x64xf32>, tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// An f16 part accumulating in f32 (torch-mlir's f16 Linear: the f16 bias
// widened and broadcast into the accumulator, which Decompose copies and
// annotates; the sum rounded to f16 after): the part reads the f16
// operands on tensor cores (sm_90's wgmma), adds the bias read where it is (as f16,
// widened), and rounds as it stores.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.*}}: memref<2048xf16>, %[[W:.*]]: memref<4096xf16>, %[[BIAS:.*]]: memref<64xf16>, %[[OUT:.*]]: memref<2048xf16>)
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.wgmma.mma_async
// CHECK: %[[B16:.*]] = memref.load %[[BIAS]]
// CHECK: %[[B:.*]] = arith.extf %[[B16]] : f16 to f32
// CHECK: %[[SUM:.*]] = arith.addf %[[B]], %{{.*}} : f32
// CHECK: arith.truncf %[[SUM]] : f32 to f16
// CHECK-LABEL: func.func @f16_into_f32
// CHECK-SAME: %[[XT:[^:]+]]: tensor<32x64xf16>, %[[WT:[^:]+]]: tensor<64x64xf16, {{.*}}>, %[[BT:[^:]+]]: tensor<64xf16>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BT]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args({{.*}}, %[[BB]] : memref<64xf16>, %{{.*}} : memref<2048xf16>)
// CHECK-NOT: linalg.generic
// CHECK: return
#h = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
func.func @f16_into_f32(%x: tensor<32x64xf16>, %w: tensor<64x64xf16, #h>, %b: tensor<64xf16>) -> tensor<32x64xf16> {
  %ev = tensor.empty() : tensor<64xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%b : tensor<64xf16>) outs(%ev : tensor<64xf32>) {
  ^bb0(%c: f16, %o: f32):
    %v = arith.extf %c : f16 to f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  %e = tensor.empty() : tensor<32x64xf32>
  %bias = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%wide : tensor<64xf32>) outs(%e : tensor<32x64xf32>) {
  ^bb0(%c: f32, %o: f32):
    linalg.yield %c : f32
  } -> tensor<32x64xf32>
  %copy = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%bias : tensor<32x64xf32>) outs(%e : tensor<32x64xf32>) {
  ^bb0(%c: f32, %o: f32):
    linalg.yield %c : f32
  } -> tensor<32x64xf32>
  %acc = tesa.annotate %copy : tensor<32x64xf32> -> tensor<32x64xf32, #tesa.sparsity<bits = 32>>
  %p = tesa.extract_part %w : tensor<64x64xf16, #h> -> tensor<64x64xf16, #h>
  %r = tesa.part_matmul block %x, %p, %acc {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<32x64xf16>, tensor<64x64xf16, #h>, tensor<32x64xf32, #tesa.sparsity<bits = 32>> -> tensor<32x64xf32>
  %e16 = tensor.empty() : tensor<32x64xf16>
  %t = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%r : tensor<32x64xf32>) outs(%e16 : tensor<32x64xf16>) {
  ^bb0(%a: f32, %o: f16):
    %y = arith.truncf %a : f32 to f16
    linalg.yield %y : f16
  } -> tensor<32x64xf16>
  return %t : tensor<32x64xf16>
}

// -----

// The weight as torch-mlir passes it (out x in) and transposes it for the
// product: the tensor-core part reads the weight where it is, so nothing
// launches for the transpose. Both operands then lie along K: on sm_90 the
// part runs on a warpgroup, 64 rows by the slab's 32 columns, steps of 32.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.*}}: memref<2048xf16>, %{{.*}}: memref<4096xf16>, %{{.*}}: memref<2048xf32>)
// CHECK: memref<3x64x32xf16, #gpu.address_space<workgroup>>
// CHECK: memref<3x32x32xf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// CHECK-LABEL: func.func @transposed_weight
// CHECK-SAME: %[[XT:[^:]+]]: tensor<32x64xf16>, %[[WT:[^:]+]]: tensor<64x64xf16, {{.*}}>)
// CHECK: %[[WB:.*]] = bufferization.to_buffer %[[WT]]
// CHECK: %[[WF:.*]] = memref.collapse_shape %[[WB]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args(%{{.*}} : memref<2048xf16>, %[[WF]] : memref<4096xf16>, %{{.*}} : memref<2048xf32>)
#h = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
#ht = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
func.func @transposed_weight(%x: tensor<32x64xf16>, %wt: tensor<64x64xf16, #ht>) -> tensor<32x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<32x64xf32>) -> tensor<32x64xf32>
  %ew = tensor.empty() : tensor<64x64xf16, #h>
  %w = linalg.transpose ins(%wt : tensor<64x64xf16, #ht>) outs(%ew : tensor<64x64xf16, #h>) permutation = [1, 0]
  %p = tesa.extract_part %w : tensor<64x64xf16, #h> -> tensor<64x64xf16, #h>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<32x64xf16>, tensor<64x64xf16, #h>, tensor<32x64xf32> -> tensor<32x64xf32>
  return %r : tensor<32x64xf32>
}

// -----

// 64x64 f16 blocks on sm_90: slabs and column tiles 64 columns wide, so
// that each warpgroup multiplies m64n64 (its A slice read half as often as
// by two 32-column tiles), K steps of a block's 64; B's ring is
// [stage][k][64 columns], MN-major. Two column tiles. On sm_80 the tiles
// stay 32 columns wide.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @part0(
// CHECK: memref<3x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: memref<3x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// CHECK-LABEL: func.func @f16_wide_blocks
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128
// SM80-LABEL: func.func @f16_wide_blocks
// SM80: gpu.launch_func @tesa_kernels::@part0 blocks in (%c4{{.*}}, %c1{{.*}}, %c1{{.*}})
#h64 = #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>
func.func @f16_wide_blocks(%x: tensor<64x128xf16>, %w: tensor<128x128xf16, #h64>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %p = tesa.extract_part %w : tensor<128x128xf16, #h64> -> tensor<128x128xf16, #h64>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 64, 64>, sparse_operand = 1 : i64} : tensor<64x128xf16>, tensor<128x128xf16, #h64>, tensor<64x128xf32> -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// -----

// f16 blocks on sm_90 with a tile for every multiprocessor and more (33 x 4
// tiles of 128 rows for 132): a shallow ring, so that several blocks of
// threads share a multiprocessor (four stages, here three: no deeper than
// the longest walk). The column tiles whose slab keeps no block walk none
// (offsets 1, 1) and store the zero fill.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_offsets : memref<5xi32> = dense<[0, 1, 1, 2, 3]>
// CHECK-LABEL: gpu.func @part0(
// CHECK: memref<3x128x32xf16, #gpu.address_space<workgroup>>
// CHECK: memref<3x32x32xf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// CHECK-LABEL: func.func @many_tiles
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c4{{.*}}, %c33{{.*}}, %c1{{.*}}) threads in (%c256
#m = #tesa.sparsity<map = dense<[[16, 0, 16, 16]]> : tensor<1x4xi8>>
func.func @many_tiles(%x: tensor<4224x32xf16>, %w: tensor<32x128xf16, #m>) -> tensor<4224x128xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<4224x128xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<4224x128xf16>) -> tensor<4224x128xf16>
  %p = tesa.extract_part %w : tensor<32x128xf16, #m> -> tensor<32x128xf16, #m>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<4224x32xf16>, tensor<32x128xf16, #m>, tensor<4224x128xf16> -> tensor<4224x128xf16>
  return %r : tensor<4224x128xf16>
}

// -----

// f16 blocks on sm_90 whose columns walk at least four blocks on average
// (five here): copies by TMA. The kernel takes the tensor maps of x and W
// after its buffers. Thread 0 initialises each slot's `full` and `empty`
// mbarriers; the fifth warp's first lane waits for a slot to be released,
// expects its 6144 bytes (64 x 32 of x, 32 x 32 of W) and loads both boxes;
// the warpgroup, on a branch on the warpgroup of its warp's first lane (so
// that ptxas sees it is uniform and does not serialise the products), waits
// for the slot, multiplies and, once a step's products are complete,
// releases the slot of the step before by a predicated arrival. The host
// encodes x's map (256 x 32 elements, rows of 512 bytes, boxes of 32 x 64,
// the 64-byte swizzle) and W's (64 x 256, boxes of 32 x 32) before the
// launch. Without TMA (tma=false), cp.async copies. The one tile has a
// multiprocessor to itself: a deep ring, as deep as the longest walk (five
// steps).
// CHECK-LABEL: gpu.func @part0(
// CHECK: memref<5x64x32xf16, #gpu.address_space<workgroup>>
// CHECK-LABEL: func.func @long_walks
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} threads in (%c128
// TMA: gpu.func @part0({{.*}}%[[XMAP:arg[0-9]+]]: !llvm.array<16 x i64>, %[[WMAP:arg[0-9]+]]: !llvm.array<16 x i64>) kernel
// TMA: nvvm.mbarrier.init
// TMA: nvvm.fence.mbarrier.init
// TMA: gpu.barrier
// TMA: %[[X:.*]] = builtin.unrealized_conversion_cast %[[XMAP]] : !llvm.array<16 x i64> to !llvm.ptr
// TMA: %[[W:.*]] = builtin.unrealized_conversion_cast %[[WMAP]] : !llvm.array<16 x i64> to !llvm.ptr
// TMA: scf.for
// TMA: nvvm.mbarrier.try_wait.parity
// TMA: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c6144_i32
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[X]], %{{.*}}, box[
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[W]], %{{.*}}, box[
// TMA: %[[WARPGROUP:.*]] = gpu.shuffle idx
// TMA: %[[CONSUMER:.*]] = arith.cmpi ult, %{{.*}}, %c1
// TMA: scf.if %[[CONSUMER]]
// TMA: scf.for {{.*}} iter_args
// TMA: nvvm.mbarrier.try_wait.parity
// TMA: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// TMA: nvvm.wgmma.wait.group.sync.aligned 1
// TMA: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c0_i32{{.*}}, predicate =
// TMA-LABEL: func.func @long_walks
// TMA: %[[XSTORE:.*]] = llvm.alloca %{{.*}} x !llvm.array<16 x i64> {alignment = 64 : i64}
// TMA: %[[C256:.*]] = llvm.mlir.constant(256 : i64)
// TMA: %[[C32:.*]] = llvm.mlir.constant(32 : i64)
// TMA: %[[C512:.*]] = llvm.mlir.constant(512 : i64)
// TMA: %[[BOX32:.*]] = llvm.mlir.constant(32 : i32)
// TMA: %[[BOX64:.*]] = llvm.mlir.constant(64 : i32)
// TMA: %[[SWIZZLE:.*]] = llvm.mlir.constant(2 : i32)
// TMA: llvm.call @mgpuTesaEncodeTensorMap2D(%[[XSTORE]], %{{.*}}, %[[C256]], %[[C32]], %[[C512]], %[[BOX32]], %[[BOX64]], %[[SWIZZLE]])
// TMA: %[[XVALUE:.*]] = llvm.load %[[XSTORE]]
// TMA: %[[WSTORE:.*]] = llvm.alloca
// TMA: llvm.call @mgpuTesaEncodeTensorMap2D(%[[WSTORE]],
// TMA: %[[WVALUE:.*]] = llvm.load %[[WSTORE]]
// TMA: gpu.launch_func @tesa_kernels::@part0 {{.*}} threads in (%c160, {{.*}}, %[[XVALUE]] : !llvm.array<16 x i64>, %[[WVALUE]] : !llvm.array<16 x i64>)
#l = #tesa.sparsity<map = dense<[[16, 0], [16, 0], [16, 0], [16, 16], [16, 16], [0, 16], [0, 16], [0, 16]]> : tensor<8x2xi8>>
func.func @long_walks(%x: tensor<32x256xf16>, %w: tensor<256x64xf16, #l>) -> tensor<32x64xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<32x64xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<32x64xf16>) -> tensor<32x64xf16>
  %p = tesa.extract_part %w : tensor<256x64xf16, #l> -> tensor<256x64xf16, #l>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<32x256xf16>, tensor<256x64xf16, #l>, tensor<32x64xf16> -> tensor<32x64xf16>
  return %r : tensor<32x64xf16>
}

// -----

// f16 64x64 blocks on sm_90 over more tiles than the chip runs at once (5 x
// 66 tiles of 128 x 64; two blocks of threads of 100 KB a multiprocessor,
// 264), each column walking four steps of 64: a persistent grid of 264
// blocks with TMA copies. Each block takes every 264th tile from its id;
// the copying lane and the warpgroups number the steps across their tiles
// (slot and parity from the running count), and the warpgroups release the
// slot of each tile's last step after its products. Without TMA, the dense
// grid of 66 x 5 blocks. ptxas is asked to fit two blocks a multiprocessor
// (minctasm, with the block's threads). No clusters: its tiles are single
// slabs.
// CHECK-LABEL: func.func @persistent_tiles
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c66{{.*}}, %c5{{.*}}, %c1{{.*}}) threads in (%c256
// TMA-LABEL: gpu.func @part0(
// TMA-SAME: kernel attributes {nvvm.maxntid = array<i32: 288, 1, 1>, nvvm.minctasm = 2 : i32}
// TMA: nvvm.fence.mbarrier.init
// TMA: %[[FIRST:.*]] = gpu.block_id  x
// TMA-NEXT: scf.for %{{.*}} = %[[FIRST]] to %c330 step %c264 iter_args(%[[COPIED:.*]] = %c0
// TMA: scf.for %[[STEP:.*]] = %c0
// TMA: arith.addi %[[COPIED]], %[[STEP]]
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global
// TMA: scf.if
// TMA: %[[AGAIN:.*]] = gpu.block_id  x
// TMA-NEXT: scf.for %{{.*}} = %[[AGAIN]] to %c330 step %c264 iter_args(%[[DONE:.*]] = %c0
// TMA: scf.for %[[I:.*]] = %c0{{.*}} to %{{.*}} step %c1{{.*}} iter_args
// TMA: arith.addi %[[DONE]], %[[I]]
// TMA: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// TMA: nvvm.wgmma.wait.group.sync.aligned 0
// TMA: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c0_i32{{.*}}, predicate =
// TMA-LABEL: func.func @persistent_tiles
// TMA: gpu.launch_func @tesa_kernels::@part0 blocks in (%c264{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c288
// CLUSTER-LABEL: func.func @persistent_tiles
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 blocks in (%c264{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c288
#pt = #tesa.sparsity<map = dense<16> : tensor<4x66xi8>>
func.func @persistent_tiles(%x: tensor<640x256xf16>, %w: tensor<256x4224xf16, #pt>) -> tensor<640x4224xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<640x4224xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<640x4224xf16>) -> tensor<640x4224xf16>
  %p = tesa.extract_part %w : tensor<256x4224xf16, #pt> -> tensor<256x4224xf16, #pt>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 64, 64>, sparse_operand = 1 : i64} : tensor<640x256xf16>, tensor<256x4224xf16, #pt>, tensor<640x4224xf16> -> tensor<640x4224xf16>
  return %r : tensor<640x4224xf16>
}

// -----

// 32x32 f16 blocks on sm_90 whose slabs keep much the same blocks (rows 0
// and 2 of every slab but the 13th, which keeps none, and row 3 of the
// sixth): tiles of four slabs (128 columns, 33 x 4 of them) walk the
// blocks any of their slabs keeps, 9 steps against the slabs' 31, each
// reading its slice of x once. Each step loads x's slice and the kept
// slabs' blocks of W, and each warpgroup multiplies a slab's block only
// where the step's mask keeps it, on a branch on the mask's bit taken from
// the warp's first lane. Without TMA, one slab a tile. With
// `block-clusters=fewer-reads`, pairs of neighbouring tiles run as clusters
// of two that walk the blocks any of their eight slabs keeps (5 steps
// against the groups' 9; 8-bit masks): tile x walks list x / 2 and reads
// its slabs' bits 4 (x mod 2) up the masks; each block loads half of each
// step's x slice and multicasts it to both, and each warpgroup's threads
// 0 and 1 release each slot in blocks 0 and 1.
// CHECK-LABEL: func.func @slab_groups
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c16{{.*}}, %c33{{.*}}, %c1{{.*}}) threads in (%c256
// TMA-DAG: memref.global "private" constant @part0_offsets : memref<5xi32> = dense<[0, 2, 5, 7, 9]>
// TMA-DAG: memref.global "private" constant @part0_entries : memref<9xi32> = dense<[0, 2, 0, 2, 3, 0, 2, 0, 2]>
// TMA-DAG: memref.global "private" constant @part0_slab_masks : memref<9xi32> = dense<[15, 15, 15, 15, 2, 15, 15, 14, 14]>
// TMA-LABEL: gpu.func @part0(
// TMA: %[[MASKS:.*]] = memref.get_global @part0_slab_masks
// TMA: memref.load %[[MASKS]]
// TMA: nvvm.mbarrier.arrive.expect_tx
// TMA: scf.if
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global
// TMA: nvvm.wgmma.fence.aligned
// TMA: gpu.shuffle idx
// TMA: %[[KEEP:.*]] = arith.cmpi ne
// TMA: scf.if %[[KEEP]] -> (!llvm.struct
// TMA: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// TMA-LABEL: func.func @slab_groups
// TMA: gpu.launch_func @tesa_kernels::@part0 blocks in (%c4{{.*}}, %c33{{.*}}, %c1{{.*}}) threads in (%c288
// CLUSTER-DAG: memref.global "private" constant @part0_offsets : memref<3xi32> = dense<[0, 3, 5]>
// CLUSTER-DAG: memref.global "private" constant @part0_entries : memref<5xi32> = dense<[0, 2, 3, 0, 2]>
// CLUSTER-DAG: memref.global "private" constant @part0_slab_masks : memref<5xi32> = dense<[255, 255, 32, 239, 239]>
// CLUSTER-LABEL: gpu.func @part0(
// CLUSTER: %[[IN_GROUP:.*]] = arith.remui %thread_id_x, %c128
// CLUSTER: %[[MASKS:.*]] = memref.get_global @part0_slab_masks
// CLUSTER: %[[WALK:.*]] = arith.divui %block_id_x, %c2
// CLUSTER-NEXT: memref.load %{{.*}}[%[[WALK]]] : memref<3xi32>
// CLUSTER: %[[MASK:.*]] = memref.load %[[MASKS]]
// CLUSTER-NEXT: %[[BITS:.*]] = arith.index_castui %[[MASK]]
// CLUSTER: %[[RANK:.*]] = arith.remui %block_id_x, %c2
// CLUSTER: %[[SHIFT:.*]] = arith.muli %[[RANK]], %c4
// CLUSTER-NEXT: arith.shrui %[[BITS]], %[[SHIFT]]
// CLUSTER: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} multicast_mask = %c3_i16
// CLUSTER: %[[RELEASES:.*]] = arith.cmpi ult, %[[IN_GROUP]], %c2
// CLUSTER: %[[RELEASE:.*]] = arith.andi %{{.*}}, %[[RELEASES]] : i1
// CLUSTER: %[[BLOCK:.*]] = arith.index_castui %[[IN_GROUP]] : index to i32
// CLUSTER: %[[SLOT:.*]] = nvvm.mapa %{{.*}}, %[[BLOCK]]
// CLUSTER: %[[FLAG:.*]] = arith.extui %[[RELEASE]] : i1 to i32
// CLUSTER: mbarrier.arrive.shared::cluster.b64{{.*}} %[[SLOT]], %[[FLAG]]
// CLUSTER-NOT: nvvm.mapa %{{.*}}, %c1_i32
// CLUSTER-LABEL: func.func @slab_groups
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c4{{.*}}, %c33{{.*}}, %c1{{.*}}) threads in (%c288
#g = #tesa.sparsity<map = dense<[[16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 0, 16, 16, 16], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 0, 16, 16, 16], [0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<8x16xi8>>
func.func @slab_groups(%x: tensor<4224x256xf16>, %w: tensor<256x512xf16, #g>) -> tensor<4224x512xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<4224x512xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<4224x512xf16>) -> tensor<4224x512xf16>
  %p = tesa.extract_part %w : tensor<256x512xf16, #g> -> tensor<256x512xf16, #g>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<4224x256xf16>, tensor<256x512xf16, #g>, tensor<4224x512xf16> -> tensor<4224x512xf16>
  return %r : tensor<4224x512xf16>
}

// -----

// 64x64 blocks whose slabs keep the same blocks (row 0 of every slab, row 1
// of the second): tiles of four 64-column slabs (256 columns, 66 x 2 of
// them), 3 steps against the slabs' 9, each warpgroup multiplying m64n64
// per kept slab. In clusters, one walk of 2 steps for both tiles.
// TMA-DAG: memref.global "private" constant @part0_offsets : memref<3xi32> = dense<[0, 2, 3]>
// TMA-DAG: memref.global "private" constant @part0_slab_masks : memref<3xi32> = dense<[15, 2, 15]>
// TMA-LABEL: gpu.func @part0(
// TMA: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// TMA-LABEL: func.func @wide_slab_groups
// TMA: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2{{.*}}, %c66{{.*}}, %c1{{.*}}) threads in (%c288
// CLUSTER-DAG: memref.global "private" constant @part0_offsets : memref<2xi32> = dense<[0, 2]>
// CLUSTER-DAG: memref.global "private" constant @part0_slab_masks : memref<2xi32> = dense<[255, 2]>
// CLUSTER-LABEL: func.func @wide_slab_groups
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c2{{.*}}, %c66{{.*}}, %c1{{.*}}) threads in (%c288
#wg = #tesa.sparsity<map = dense<[[16, 16, 16, 16, 16, 16, 16, 16], [0, 16, 0, 0, 0, 0, 0, 0]]> : tensor<2x8xi8>>
func.func @wide_slab_groups(%x: tensor<8448x128xf16>, %w: tensor<128x512xf16, #wg>) -> tensor<8448x512xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<8448x512xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<8448x512xf16>) -> tensor<8448x512xf16>
  %p = tesa.extract_part %w : tensor<128x512xf16, #wg> -> tensor<128x512xf16, #wg>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 64, 64>, sparse_operand = 1 : i64} : tensor<8448x128xf16>, tensor<128x512xf16, #wg>, tensor<8448x512xf16> -> tensor<8448x512xf16>
  return %r : tensor<8448x512xf16>
}

// -----

// A column of slabs that keeps no block (the second: offsets 2, 2): its
// tiles walk no K step. They store, instead of their accumulators, the
// initial values: each thread a run of 8 columns of a row, one 16-byte
// store, in row-major order. Only the stores are under the branch on the
// tile's count (taken on the warp's first lane, so that it is uniform):
// ptxas serialises wgmma products under a branch.
// CHECK-LABEL: memref.global "private" constant @part0_offsets : memref<3xi32> = dense<[0, 2, 2]>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT:[^:]+]]: memref<8192xf16>)
// CHECK: nvvm.wgmma.mma_async
// CHECK: %[[COUNT:.+]], %{{.+}} = gpu.shuffle  idx %{{.+}}, %c0_i32
// CHECK: %[[STEPS:.+]] = arith.index_castui %[[COUNT]] : i32 to index
// CHECK: %[[WALKED:.+]] = arith.cmpi ne, %[[STEPS]], %c0
// CHECK: scf.if %[[WALKED]] {
// CHECK: gpu.shuffle  idx
// CHECK: } else {
// CHECK: %[[RUN_ROW:.+]] = arith.divui %thread_id_x{{.*}}, %c4
// CHECK: %[[CHUNK:.+]] = vector.from_elements {{.*}} : vector<8xf16>
// CHECK: vector.store %[[CHUNK]], %[[OUT]][%{{.+}}] {alignment = 16 : i64} : memref<8192xf16>, vector<8xf16>
// CHECK-LABEL: func.func @empty_slab_column
// TMA-LABEL: gpu.func @part0(
// TMA: nvvm.wgmma.mma_async
// TMA: } else {
// TMA: vector.store %{{.+}} : memref<8192xf16>, vector<8xf16>
// TMA-LABEL: func.func @empty_slab_column
// SM80-LABEL: gpu.func @part0(
// SM80: nvgpu.mma.sync
// SM80: } else {
// SM80: vector.store %{{.+}} : memref<8192xf16>, vector<8xf16>
// SM80-LABEL: func.func @empty_slab_column
#h = #tesa.sparsity<map = dense<[[16, 0], [16, 0]]> : tensor<2x2xi8>>
func.func @empty_slab_column(%x: tensor<128x64xf16>, %w: tensor<64x64xf16, #h>) -> tensor<128x64xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<128x64xf16>
  %z = linalg.fill ins(%zero : f16) outs(%e : tensor<128x64xf16>) -> tensor<128x64xf16>
  %p = tesa.extract_part %w : tensor<64x64xf16, #h> -> tensor<64x64xf16, #h>
  %r = tesa.part_matmul block %x, %p, %z {bits = 16 : i64, block = array<i64: 32, 32>, sparse_operand = 1 : i64} : tensor<128x64xf16>, tensor<64x64xf16, #h>, tensor<128x64xf16> -> tensor<128x64xf16>
  return %r : tensor<128x64xf16>
}
