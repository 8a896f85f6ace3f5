// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// x @ W^T with W stored [N][K], as a Linear keeps it, on sm_90's warpgroup
// atom: both rings are [stage][row][k], 64 f16 (128 bytes) a row and no
// padding, from the first 1 KiB boundary of the dynamic shared memory. Each
// 16-byte copy lands at its chunk XOR the row's position (the 128-byte
// swizzle). Copies run two steps ahead; a step waits for its group, fences
// the copies for the asynchronous proxy and synchronises, then issues four
// m64n64k16 products on descriptors of the slices and leaves them in
// flight (wait 1); the last are waited for after the loop. 66560 bytes of
// dynamic shared memory: four stages of two 64x64 f16 slices and 1 KiB to
// align them.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[X:.*]]: memref<12800xf16>, %[[W:.*]]: memref<10240xf16>, %[[BIAS:.*]]: memref<80xf16>, %[[OUT:.*]]: memref<8000xf16>) kernel
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %[[SHARED]]
// CHECK: %[[ARING:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: %[[BRING:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: %[[SWIZZLED:.*]] = arith.xori
// CHECK: %[[INNER:.*]] = arith.muli %[[SWIZZLED]], %c8
// CHECK: nvgpu.device_async_copy %[[X]][%{{.*}}], %[[ARING]][%{{.*}}, %{{.*}}, %[[INNER]]], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_copy %[[W]][%{{.*}}], %[[BRING]]
// CHECK: nvvm.cp.async.commit.group
// CHECK: %[[RESULT:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (!llvm.struct<(f32, {{.*}})>)
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: %[[P0:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[ACC]], <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK: %[[P1:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[P0]]
// CHECK: %[[P2:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[P1]]
// CHECK: %[[P3:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[P2]]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.yield %[[P3]]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.extractvalue %[[RESULT]][0]
// CHECK: memref.load %[[BIAS]]
// Each quad of lanes exchanges its pairs of outputs by shuffles and stores
// 16 bytes a lane.
// CHECK: %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: vector.bitcast %[[PAIR]] : vector<2xf16> to vector<1xi32>
// CHECK-COUNT-3: gpu.shuffle  idx
// CHECK: %[[CHUNK:.*]] = vector.bitcast %{{.*}} : vector<4xi32> to vector<8xf16>
// CHECK: vector.store %[[CHUNK]], %[[OUT]][%{{.*}}] {alignment = 16 : i64} : memref<8000xf16>, vector<8xf16>
// CHECK-LABEL: func.func @linear
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 blocks in (%c2, %c2{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c66560_i32
func.func @linear(%x: tensor<100x128xf16>, %w: tensor<80x128xf16>, %b: tensor<80xf16>) -> tensor<100x80xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<100x80xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<100x80xf16>) -> tensor<100x80xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<100x128xf16>, tensor<80x128xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<100x80xf16>, tensor<80xf16>) outs(%e : tensor<100x80xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %s = arith.addf %a, %c : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %y : tensor<100x80xf16>
  }
  return %r : tensor<100x80xf16>
}

// -----

// Two warpgroups of 64 rows by 128 columns, K steps of 32 (64-byte rows,
// the 64-byte swizzle): the second warpgroup's descriptors of A start 64
// rows (4096 bytes) further.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK: memref<3x128x32xf16, #gpu.address_space<workgroup>>
// CHECK: memref<3x128x32xf16, #gpu.address_space<workgroup>>
// CHECK: arith.muli %{{.*}}, %c4096
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-LABEL: func.func @two_warpgroups
// CHECK: threads in (%c256
func.func @two_warpgroups(%x: tensor<256x96xf16>, %w: tensor<256x96xf16>, %acc: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128], threads = 256, stages = 3, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<256x256xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<256x96xf16>, tensor<256x96xf16>) outs(%acc : tensor<256x256xf32>) {
    ^bb0(%a: f16, %c: f16, %o: f32):
      %a32 = arith.extf %a : f16 to f32
      %c32 = arith.extf %c : f16 to f32
      %m = arith.mulf %a32, %c32 : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<256x256xf32>
    tesa.yield %p : tensor<256x256xf32>
  }
  return %r : tensor<256x256xf32>
}

// -----

// A weight stored [K][N] is contiguous along N: B's ring is [stage][k][n],
// 64 columns (128 bytes) a row, swizzled, and wgmma reads it MN-major
// ("row", transposed as it reads): each 16-deep slice of K is 16 rows
// further, 2048 bytes (128 in the descriptor's 16-byte units).
// CHECK-LABEL: gpu.func @contraction0(
// CHECK: memref<4x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: %[[BRING:.*]] = memref.view {{.*}} to memref<4x64x64xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}}, %[[BRING]]
// CHECK: %[[SLICE:.*]] = arith.constant 128 : i64
// CHECK: %[[B1:.*]] = arith.addi %{{.*}}, %[[SLICE]] : i64
// CHECK: nvvm.wgmma.mma_async %{{.*}}, %[[B1]], %{{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
func.func @row_major_weight(%x: tensor<64x64xf16>, %w: tensor<64x64xf16>, %acc: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<64x64xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<64x64xf16>, tensor<64x64xf16>) outs(%acc : tensor<64x64xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// A B contiguous along N in tiles of 128 columns (two swizzled rows) and an
// A contiguous along M are not read by the atom: the regions go back to the
// generic path with a remark.
// REMARK: remark: kept on the generic path: the wgmma_f16_m64nNk16 atom reads a B contiguous along N in tiles of 16, 32 or 64 columns only
// REMARK: remark: kept on the generic path: the wgmma_f16_m64nNk16 atom reads A contiguous along K only
// CHECK-LABEL: func.func @wide_row_major_weight
// CHECK-NOT: tesa.kernel
// CHECK: linalg.generic
func.func @wide_row_major_weight(%x: tensor<64x64xf16>, %w: tensor<64x128xf16>, %acc: tensor<64x128xf16>) -> tensor<64x128xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 128, 64], thread_tile = [64, 128], threads = 128, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<64x128xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<64x64xf16>, tensor<64x128xf16>) outs(%acc : tensor<64x128xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x128xf16>
    tesa.yield %p : tensor<64x128xf16>
  }
  return %r : tensor<64x128xf16>
}
// CHECK-LABEL: func.func @transposed_lhs
// CHECK-NOT: tesa.kernel
func.func @transposed_lhs(%xt: tensor<64x64xf16>, %w: tensor<64x64xf16>, %acc: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 64], thread_tile = [64, 64], threads = 128, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<64x64xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (k, i)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%xt, %w : tensor<64x64xf16>, tensor<64x64xf16>) outs(%acc : tensor<64x64xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// K steps of 48 f16 (96-byte rows) have no swizzle mode.
// REMARK: remark: kept on the generic path: a wgmma tile is warpgroups of 64 rows by all its columns (a multiple of 8, at most 256), K 16, 32 or 64
// CHECK-LABEL: func.func @bad_step
// CHECK-NOT: tesa.kernel
func.func @bad_step(%x: tensor<64x96xf16>, %w: tensor<64x96xf16>, %acc: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 48], thread_tile = [64, 64], threads = 128, stages = 4, copy = async_copy, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>) -> tensor<64x64xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<64x96xf16>, tensor<64x96xf16>) outs(%acc : tensor<64x64xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// A cluster of two neighbouring column tiles (cluster = 2): each block's
// copying thread loads its half of A's slice (64 of the tile's 128 rows,
// the tensor map's box) and multicasts it into both blocks (mask 3), at
// that half's offset in the slot; B's slices stay the block's own. A slot
// is free once both blocks' two warpgroups have released it (`empty`
// counts four): the first two threads of each warpgroup release it, thread
// r in block r (mapa of the thread's index in its warpgroup, then a
// predicated remote arrival). The cluster synchronises after the
// mbarriers' set-up and before any block leaves.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK: %[[IN_GROUP:.*]] = arith.remui %thread_id_x, %c128
// CHECK: nvvm.mbarrier.init %{{.*}}, %c4_i32
// CHECK: nvvm.fence.mbarrier.init
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK: %[[RANK:.*]] = arith.remui %block_id_x, %c2
// CHECK: %[[HALF:.*]] = arith.muli %[[RANK]], %c64
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %[[HALF]] : index
// CHECK: %[[ROW32:.*]] = arith.index_castui %[[ROW]] : index to i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, box[%{{.*}}, %[[ROW32]]] multicast_mask = %c3_i16
// CHECK: %[[RELEASES:.*]] = arith.cmpi ult, %[[IN_GROUP]], %c2
// CHECK: nvvm.wgmma.mma_async
// CHECK: %[[RELEASE:.*]] = arith.andi %{{.*}}, %[[RELEASES]] : i1
// CHECK: %[[BLOCK:.*]] = arith.index_castui %[[IN_GROUP]] : index to i32
// CHECK: %[[SLOT:.*]] = nvvm.mapa %{{.*}}, %[[BLOCK]] : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: %[[FLAG:.*]] = arith.extui %[[RELEASE]] : i1 to i32
// CHECK: llvm.inline_asm has_side_effects {{.*}}mbarrier.arrive.shared::cluster.b64{{.*}} %[[SLOT]], %[[FLAG]]
// CHECK-NOT: nvvm.mapa
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-NEXT: gpu.return
// CHECK-LABEL: func.func @cluster_pairs
// CHECK: llvm.mlir.constant(64 : i32) : i32
// CHECK-NEXT: %[[BOX_ROWS:.*]] = llvm.mlir.constant(64 : i32) : i32
// CHECK-NEXT: %{{.*}} = llvm.mlir.constant(3 : i32) : i32
// CHECK-NEXT: llvm.call @mgpuTesaEncodeTensorMap2D(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BOX_ROWS]], %{{.*}})
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 clusters in (%c2, %c1{{.*}}, %c1{{.*}}) blocks in (%c2{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c288
func.func @cluster_pairs(%x: tensor<256x128xf16>, %w: tensor<256x128xf16>) -> tensor<256x256xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<256x256xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<256x256xf16>) -> tensor<256x256xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 128, 64], thread_tile = [64, 128], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 2>) -> tensor<256x256xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<256x128xf16>, tensor<256x128xf16>) outs(%acc : tensor<256x256xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<256x256xf16>
    tesa.yield %p : tensor<256x256xf16>
  }
  return %r : tensor<256x256xf16>
}

// -----

// Three column tiles do not make clusters of two.
// REMARK: remark: kept on the generic path: a cluster is blocks of whole column tiles that walk the same K steps, each copying a multiple of 8 rows of A
// CHECK-LABEL: func.func @odd_column_tiles
// CHECK-NOT: tesa.kernel
func.func @odd_column_tiles(%x: tensor<128x64xf16>, %w: tensor<192x64xf16>, %acc: tensor<128x192xf16>) -> tensor<128x192xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [128, 64, 64], thread_tile = [64, 64], threads = 288, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1, cluster = 2>) -> tensor<128x192xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<128x64xf16>, tensor<192x64xf16>) outs(%acc : tensor<128x192xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<128x192xf16>
    tesa.yield %p : tensor<128x192xf16>
  }
  return %r : tensor<128x192xf16>
}
