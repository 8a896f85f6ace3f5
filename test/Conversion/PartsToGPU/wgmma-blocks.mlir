// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=32x32" --tesa-lower-parts-to-gpu="chip=sm_90 block-clusters=off" | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=32x32" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s --check-prefix=AUTO
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=32x32" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=AMPERE
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=32x32" --tesa-lower-parts-to-gpu="chip=sm_90 block-clusters=fewer-reads" | FileCheck %s --check-prefix=CLUSTER

// On sm_90, an int8 block part runs on s8 warpgroup tensor cores fed by
// TMA. x (256 x 128) is quantised to an int8 copy; W keeps 7 of its 16
// 32x32 blocks (at most two a block row, so the ring is three slots
// deep). A block of threads takes one block row for 64 rows of x: one
// warpgroup and a copying warp (160 threads). The copier loads each step's
// slice of the copy (64 rows x 32 bytes) and the step's packed block (32 x
// 32 bytes) by TMA into a slot and signals its mbarrier; the warpgroup
// waits on it, multiplies with one m64n32k32 s8 wgmma, and releases the
// slot of the step before.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x128xi8>, %[[COPYSCALES:[^:]+]]: memref<256xf32>, %[[PACKED:[^:]+]]: memref<7168xi8>, %[[SCALES:[^:]+]]: memref<128xf32>, %[[OUT:[^:]+]]: memref<256x128xf32>, %[[DENSEMAP:[^:]+]]: !llvm.array<16 x i64>, %[[BLOCKMAP:[^:]+]]: !llvm.array<16 x i64>)
// CHECK-COUNT-6: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: scf.for
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c3072_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: %[[SUM:.+]] = nvvm.wgmma.mma_async {{.+}} <m = 64, n = 32, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.mbarrier.arrive.expect_tx {{.+}} predicate
// CHECK: scf.yield %[[SUM]]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// The sums are dequantised by the two scales into the result.
// CHECK: memref.load %[[SCALES]]
// CHECK: memref.load %[[COPYSCALES]]
// CHECK: memref.store {{.+}}, %[[OUT]]
// The launch: the tensor maps, in 16-bit units, of the copy (64 x 256
// units, boxes of 16 x 64) and of the packed blocks (16 x 224 units, boxes
// of 16 x 32, one block), each with the 32-byte swizzle; one block of
// threads per block row (4) and 64 rows of x (4), 1 KiB of alignment plus
// three slots of 2 + 1 KiB and their six mbarriers.
// CHECK-LABEL: func.func @int8_blocks
// CHECK: %[[C64:.+]] = llvm.mlir.constant(64 : i64) : i64
// CHECK-NEXT: %[[C256:.+]] = llvm.mlir.constant(256 : i64) : i64
// CHECK-NEXT: %[[C128:.+]] = llvm.mlir.constant(128 : i64) : i64
// CHECK-NEXT: %[[C16:.+]] = llvm.mlir.constant(16 : i32) : i32
// CHECK-NEXT: %[[B64:.+]] = llvm.mlir.constant(64 : i32) : i32
// CHECK-NEXT: %[[SWIZZLE:.+]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @mgpuTesaEncodeTensorMap2D(%{{.+}}, %{{.+}}, %[[C64]], %[[C256]], %[[C128]], %[[C16]], %[[B64]], %[[SWIZZLE]])
// CHECK: %[[U16:.+]] = llvm.mlir.constant(16 : i64) : i64
// CHECK-NEXT: %[[C224:.+]] = llvm.mlir.constant(224 : i64) : i64
// CHECK-NEXT: %[[S32:.+]] = llvm.mlir.constant(32 : i64) : i64
// CHECK-NEXT: %[[B16:.+]] = llvm.mlir.constant(16 : i32) : i32
// CHECK-NEXT: %[[B32:.+]] = llvm.mlir.constant(32 : i32) : i32
// CHECK-NEXT: %[[SWIZZLE2:.+]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @mgpuTesaEncodeTensorMap2D(%{{.+}}, %{{.+}}, %[[U16]], %[[C224]], %[[S32]], %[[B16]], %[[B32]], %[[SWIZZLE2]])
// CHECK: %[[BYTES:.+]] = arith.constant 10288 : i32
// CHECK-NEXT: %[[THREADS:.+]] = arith.constant 160 : index
// CHECK: %[[ROWS:.+]] = arith.constant 4 : index
// CHECK-NEXT: %[[TILES:.+]] = arith.constant 4 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[ROWS]], %[[TILES]], %{{.+}}) threads in (%[[THREADS]], %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
// sm_80 has no wgmma: the register-pipelined mma.sync kernel.
// AMPERE-LABEL: gpu.func @part0(
// AMPERE-NOT: nvvm.wgmma
// AMPERE: nvvm.mma.sync
// AMPERE-LABEL: func.func @int8_blocks
// AMPERE-NOT: mgpuTesaEncodeTensorMap2D
// AMPERE: return
// One block row a block: no clusters, whatever `block-clusters` says.
// CLUSTER-LABEL: func.func @int8_blocks
// CLUSTER-NOT: clusters in
// AUTO-LABEL: func.func @int8_blocks
// AUTO-NOT: clusters in
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 blocks in
#W = #tesa.sparsity<map = dense<[[8, 0, 8, 0], [0, 8, 8, 0], [8, 8, 0, 0], [0, 0, 0, 8]]> : tensor<4x4xi8>>
func.func @int8_blocks(%x: tensor<256x128xf32>, %w: tensor<128x128xf32, #W>,
                       %acc: tensor<256x128xf32>) -> tensor<256x128xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf32>, tensor<128x128xf32, #W>)
                     outs(%acc : tensor<256x128xf32>) -> tensor<256x128xf32>
  return %r : tensor<256x128xf32>
}

// -----

// Groups of four block rows (slabs) walk the columns of blocks any of them
// keeps, each step reading its slice of x's copy once: W (128 x 512) keeps
// all of block row 0, every other block of row 1 and block 0 of row 3, so
// group 0 walks blocks 0, 1, 3 (masks 15, 5, 1: the slabs that keep each)
// and the other groups blocks 0, 1. The copier expects the slice's bytes
// plus a block's for each bit of the step's mask, and loads the block of
// each slab whose bit is set; each warpgroup keeps four accumulators and
// multiplies a slab on a branch on its bit, taken from the warp's first
// lane. 4 groups by 33 tiles of 128 rows of x: two warpgroups.
// CHECK-DAG: memref.global "private" constant @part0_step_masks : memref<9xi32> = dense<[15, 5, 1, 15, 5, 15, 5, 15, 5]>
// CHECK-DAG: memref.global "private" constant @part0_step_offsets : memref<5xi32> = dense<[0, 3, 5, 7, 9]>
// CHECK-DAG: memref.global "private" constant @part0_steps : memref<9xi32> = dense<[0, 1, 3, 0, 1, 0, 1, 0, 1]>
// CHECK-LABEL: gpu.func @part0(
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %[[BYTES:.+]] : !llvm.ptr<3>, i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK-COUNT-4: scf.if %{{.+}} {
// CHECK: scf.for %{{.+}} iter_args(%[[ACC0:[^ ]+]] = %[[ZERO:[^,]+]], %[[ACC1:[^ ]+]] = %[[ZERO]], %[[ACC2:[^ ]+]] = %[[ZERO]], %[[ACC3:[^ ]+]] = %[[ZERO]])
// CHECK: gpu.shuffle idx
// CHECK: %[[SUM0:.+]] = scf.if
// CHECK: nvvm.wgmma.mma_async {{.+}}, %[[ACC0]], <m = 64, n = 32, k = 32>
// CHECK: scf.yield %[[ACC0]]
// CHECK: gpu.shuffle idx
// CHECK: scf.if
// CHECK: nvvm.wgmma.mma_async {{.+}}, %[[ACC1]], <m = 64, n = 32, k = 32>
// CHECK: nvvm.wgmma.mma_async {{.+}}, %[[ACC2]], <m = 64, n = 32, k = 32>
// CHECK: nvvm.wgmma.mma_async {{.+}}, %[[ACC3]], <m = 64, n = 32, k = 32>
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: scf.yield %[[SUM0]],
// CHECK-LABEL: func.func @slab_groups
// CHECK: %[[GROUPS:.+]] = arith.constant 4 : index
// CHECK-NEXT: %[[TILES:.+]] = arith.constant 33 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[GROUPS]], %[[TILES]], %{{.+}}) threads in (%c288{{.*}}, %{{.+}}, %{{.+}})
// AMPERE-LABEL: func.func @slab_groups
// By default (`block-clusters=auto`) the pairs below are taken: their
// walks are 5 of the groups' 9 steps, under kClusterMaxSteps (0.6).
// AUTO-LABEL: func.func @slab_groups
// AUTO: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2
// With `block-clusters=fewer-reads`, pairs of groups run as clusters of two
// blocks that walk the blocks any of their eight slabs keeps (5 steps
// against the groups' 9; 8-bit masks): group g walks list g / 2 and reads
// its slabs' bits 4 (g mod 2) up the masks. Each block's copier loads its
// 64 of the tile's 128 rows of x's copy (a box of 64 rows) at its share's
// offset and multicasts them into both blocks; each slot's `empty`
// mbarrier counts both blocks' warpgroups (4), whose threads 0 and 1
// release the slot in blocks 0 and 1.
// CLUSTER-DAG: memref.global "private" constant @part0_step_masks : memref<5xi32> = dense<[255, 85, 1, 255, 85]>
// CLUSTER-DAG: memref.global "private" constant @part0_step_offsets : memref<3xi32> = dense<[0, 3, 5]>
// CLUSTER-DAG: memref.global "private" constant @part0_steps : memref<5xi32> = dense<[0, 1, 3, 0, 1]>
// CLUSTER-LABEL: gpu.func @part0(
// CLUSTER: %[[RANK:.+]] = arith.remui %block_id_x, %c2
// CLUSTER: %[[WALK:.+]] = arith.divui %block_id_x, %c2
// CLUSTER-NEXT: memref.load %{{.+}}[%[[WALK]]] : memref<3xi32>
// CLUSTER: nvvm.mbarrier.init %{{.+}}, %c4_i32
// CLUSTER: nvvm.cluster.arrive {aligned}
// CLUSTER-NEXT: nvvm.cluster.wait {aligned}
// CLUSTER: %[[SLICE:.+]] = arith.constant 4096 : index
// CLUSTER: %[[SHIFT:.+]] = arith.muli %[[RANK]], %c4
// CLUSTER-NEXT: arith.shrui %{{.+}}, %[[SHIFT]] : index
// CLUSTER: arith.addi %[[SLICE]], %{{.+}} : index
// CLUSTER: nvvm.mbarrier.arrive.expect_tx
// CLUSTER: %[[SHARE:.+]] = arith.muli %[[RANK]], %c64 : index
// CLUSTER: %[[SHARE_BYTES:.+]] = arith.muli %[[SHARE]], %c32 : index
// CLUSTER-NEXT: arith.addi %{{.+}}, %[[SHARE_BYTES]] : index
// CLUSTER-NEXT: arith.addi %{{.+}}, %[[SHARE]] : index
// CLUSTER: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.+}} multicast_mask = %c3_i16
// CLUSTER: %[[IN_GROUP:.+]] = arith.remui %thread_id_x, %c128
// CLUSTER: %[[RELEASES:.+]] = arith.cmpi ult, %[[IN_GROUP]], %c2
// CLUSTER: nvvm.wgmma.fence.aligned
// CLUSTER: %[[CONSUMER_SHIFT:.+]] = arith.muli %[[RANK]], %c4
// CLUSTER-NEXT: arith.shrui %{{.+}}, %[[CONSUMER_SHIFT]] : index
// CLUSTER: gpu.shuffle idx
// CLUSTER: %[[RELEASE:.+]] = arith.andi %{{.+}}, %[[RELEASES]] : i1
// CLUSTER: %[[BLOCK:.+]] = arith.index_castui %[[IN_GROUP]] : index to i32
// CLUSTER: %[[SLOT:.+]] = nvvm.mapa %{{.+}}, %[[BLOCK]]
// CLUSTER: %[[FLAG:.+]] = arith.extui %[[RELEASE]] : i1 to i32
// CLUSTER: mbarrier.arrive.shared::cluster.b64{{.+}} %[[SLOT]], %[[FLAG]]
// CLUSTER-NOT: nvvm.mapa
// CLUSTER: nvvm.cluster.arrive {aligned}
// CLUSTER-NEXT: nvvm.cluster.wait {aligned}
// CLUSTER-NEXT: gpu.return
// CLUSTER-LABEL: func.func @slab_groups
// CLUSTER: %[[ROWS:.+]] = llvm.mlir.constant(4224 : i64) : i64
// CLUSTER-NEXT: %{{.+}} = llvm.mlir.constant(128 : i64) : i64
// CLUSTER-NEXT: %{{.+}} = llvm.mlir.constant(16 : i32) : i32
// CLUSTER-NEXT: %[[BOX:.+]] = llvm.mlir.constant(64 : i32) : i32
// CLUSTER: llvm.call @mgpuTesaEncodeTensorMap2D(%{{.+}}, %{{.+}}, %{{.+}}, %[[ROWS]], %{{.+}}, %{{.+}}, %[[BOX]],
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c4{{.*}}, %c33{{.*}}, %c1{{.*}}) threads in (%c288
#W = #tesa.sparsity<map = dense<[[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8], [8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<4x16xi8>>
func.func @slab_groups(%x: tensor<4224x128xf32>, %w: tensor<128x512xf32, #W>,
                       %acc: tensor<4224x512xf32>) -> tensor<4224x512xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<4224x128xf32>, tensor<128x512xf32, #W>)
                     outs(%acc : tensor<4224x512xf32>) -> tensor<4224x512xf32>
  return %r : tensor<4224x512xf32>
}
