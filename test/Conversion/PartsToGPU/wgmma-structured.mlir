// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu="chip=sm_90 wgmma-structured=true" | FileCheck %s
// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s --check-prefix=MMA
// RUN: tesa-opt %s --tesa-decompose="chip=sm_80 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu="chip=sm_80 wgmma-structured=true" | FileCheck %s --check-prefix=MMA

// A 2:4 lhs (elements 0 and 1 of every group of four kept) of 128 channels
// by 128 reduction elements, with 256 result columns: its two block rows of
// two 64x64 structured blocks run the warpgroup kernel where it is asked for
// (by default, and on sm_80, the mma.sp kernels), one block row and
// 128 dense columns a block of threads (one warpgroup and a copying warp).
// The dense copy is [column][k] (not in mma.sp's fragment order), copied by
// TMA in boxes of 64 values by 128 columns (128-byte rows, 128-byte
// swizzle); a packed block by 64 rows of 32 values (64 bytes, 64-byte
// swizzle). Each step multiplies a block on two `wgmma.mma_async.sp`
// m64n128k32 (32 reduction elements each), each with the thread's word of
// the block's metadata for its warp's 16 channels; the words of the next
// block are loaded before the step waits for its copies.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: memref.global "private" constant @part0_metadata : memref<512xi32> = dense<1145324612>
// CHECK-LABEL: gpu.func @part0_convert_dense(
// CHECK-SAME: %{{[^:]+}}: memref<128x256xf32>, %[[COPY:[^:]+]]: memref<256x128xf16>
// CHECK: memref.store %{{.+}}, %[[COPY]][%{{[^,]+}}, %{{[^]]+}}] : memref<256x128xf16>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: memref<256x128xf16>, %{{[^:]+}}: memref<8192xf16>, %[[OUT:[^:]+]]: memref<128x256xf32>, %[[DENSE_MAP:[^:]+]]: !llvm.array<16 x i64>, %[[BLOCK_MAP:[^:]+]]: !llvm.array<16 x i64>
// CHECK: %[[METADATA:.+]] = memref.get_global @part0_metadata : memref<512xi32>
// CHECK: %[[DENSE:.+]] = builtin.unrealized_conversion_cast %[[DENSE_MAP]]
// CHECK: %[[BLOCKS:.+]] = builtin.unrealized_conversion_cast %[[BLOCK_MAP]]
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.+}}, %c20480_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[DENSE]], %{{.+}}, box
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[BLOCKS]], %{{.+}}, box
// CHECK: %[[FIRST0:.+]] = memref.load %[[METADATA]]
// CHECK: %[[FIRST1:.+]] = memref.load %[[METADATA]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{[^ ]+}} = %{{[^,]+}}, %[[ENTRY:[^ ]+]] = %{{[^,]+}}, %[[WORD0:[^ ]+]] = %[[FIRST0]], %[[WORD1:[^ ]+]] = %[[FIRST1]])
// CHECK: %[[NEXT:.+]] = arith.addi %[[ENTRY]], %c1{{.*}} : index
// CHECK: %[[NEXT_WORD0:.+]] = memref.load %[[METADATA]]
// CHECK: %[[NEXT_WORD1:.+]] = memref.load %[[METADATA]]
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.f16.f16 {{\{}}$0,$1,{{.*}},$63}, $64, $65, $66, 0, 1, 1, 1, 0, 0;", "=f,{{.*}},=f,l,l,r,0,1,{{.*}},63" %{{[^,]+}}, %{{[^,]+}}, %[[WORD0]],
// CHECK: llvm.inline_asm {{.*}}, %[[WORD1]],
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.yield %{{[^,]+}}, %[[NEXT]], %[[NEXT_WORD0]], %[[NEXT_WORD1]] :
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: memref.store %{{.+}}, %[[OUT]]
// MMA-LABEL: gpu.func @part0(
// MMA-NOT: wgmma
// MMA: nvvm.mma.sp.sync
func.func @wgmma_structured(%w: tensor<128x128xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x128xi8>>>,
                            %x: tensor<128x256xf32>, %acc: tensor<128x256xf32>) -> tensor<128x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<128x128xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x128xi8>>>, tensor<128x256xf32>)
                     outs(%acc : tensor<128x256xf32>) -> tensor<128x256xf32>
  return %r : tensor<128x256xf32>
}

// 140 block rows of one 64x64 block each, with 256 columns: the tiles of
// pairs of block rows by 128 columns (70 x 2) still give every
// multiprocessor one, and each pair's one step is at most 4/5 of its two
// blocks, so a block of threads computes a pair. Its warpgroup carries an
// accumulator and the next packed block of each row; each row's product
// is on a branch on the step's mask bit, with the loads of its metadata
// words (loaded outside it, a step ahead, they made ptxas serialize the
// products), and its entry advances by the bit.
// CHECK-LABEL: gpu.func @part1(
// CHECK: %[[METADATA1:.+]] = memref.get_global @part1_metadata : memref<17920xi32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC0:[^ ]+]] = %{{[^,]+}}, %[[ACC1:[^ ]+]] = %{{[^,]+}}, %[[ENTRY0:[^ ]+]] = %{{[^,]+}}, %[[ENTRY1:[^ ]+]] = %{{[^)]+}})
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: %[[NEXT0:.+]] = arith.addi %[[ENTRY0]], %[[BIT0:[^ ]+]] : index
// CHECK: %[[KEEP0:.+]] = arith.cmpi ne, %[[BIT0]], %{{.+}} : index
// CHECK: scf.if %[[KEEP0]] -> (!llvm.struct
// CHECK: memref.load %[[METADATA1]]
// CHECK: llvm.inline_asm
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[ACC0]]
// CHECK: %[[NEXT1:.+]] = arith.addi %[[ENTRY1]], %{{.+}} : index
// CHECK: scf.if
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[ACC1]]
// CHECK: scf.yield %{{[^,]+}}, %{{[^,]+}}, %[[NEXT0]], %[[NEXT1]] :
// CHECK-LABEL: func.func @wgmma_structured
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c160
// CHECK-LABEL: func.func @wgmma_structured_pairs
// CHECK: gpu.launch_func @tesa_kernels::@part1 blocks in (%c70{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c160
func.func @wgmma_structured_pairs(%w: tensor<8960x64xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x64xi8>>>,
                                  %x: tensor<64x256xf32>, %acc: tensor<8960x256xf32>) -> tensor<8960x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<8960x64xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x64xi8>>>, tensor<64x256xf32>)
                     outs(%acc : tensor<8960x256xf32>) -> tensor<8960x256xf32>
  return %r : tensor<8960x256xf32>
}
