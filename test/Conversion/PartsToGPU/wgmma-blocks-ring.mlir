// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=32x128" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s
// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=32x128" --tesa-lower-parts-to-gpu="chip=sm_90 block-clusters=fewer-reads" | FileCheck %s --check-prefix=CLUSTER

// int8 blocks of 32 channels by 128 reduction elements: a ring slot holds
// 128 dense columns x 128 bytes and four 4 KiB blocks, 32 KiB. W's block
// rows 0-3 keep K blocks 0-5 and rows 4-7 keep 2-7: two groups of four,
// each walking 6 steps, in a ring of six slots (twelve mbarriers, 193 KiB).
// CHECK-LABEL: gpu.func @part0(
// CHECK-COUNT-12: nvvm.mbarrier.init
// CHECK-NOT: nvvm.mbarrier.init
// CHECK: nvvm.wgmma.mma_async
// CHECK-LABEL: func.func @deep_blocks
// CHECK: %[[BYTES:.+]] = arith.constant 197728 : i32
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c2{{.*}}, %c66{{.*}}, %c1{{.*}}) threads in (%c288{{.*}}, %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
// As a cluster of two, the groups walk all 8 steps: the ring takes the
// seven slots that fit the block's shared memory (fourteen mbarriers, 225
// KiB), not eight, and the part stays on warpgroup tensor cores.
// CLUSTER-DAG: memref.global "private" constant @part0_step_masks : memref<8xi32> = dense<[15, 15, 255, 255, 255, 255, 240, 240]>
// CLUSTER-DAG: memref.global "private" constant @part0_step_offsets : memref<2xi32> = dense<[0, 8]>
// CLUSTER-LABEL: gpu.func @part0(
// CLUSTER-COUNT-14: nvvm.mbarrier.init
// CLUSTER-NOT: nvvm.mbarrier.init
// CLUSTER: nvvm.wgmma.mma_async
// CLUSTER-LABEL: func.func @deep_blocks
// CLUSTER: %[[BYTES:.+]] = arith.constant 230512 : i32
// CLUSTER: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c2{{.*}}, %c66{{.*}}, %c1{{.*}}) threads in (%c288{{.*}}, %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
#W = #tesa.sparsity<map = dense<[[8, 8, 8, 8, 0, 0, 0, 0], [8, 8, 8, 8, 0, 0, 0, 0], [8, 8, 8, 8, 8, 8, 8, 8], [8, 8, 8, 8, 8, 8, 8, 8], [8, 8, 8, 8, 8, 8, 8, 8], [8, 8, 8, 8, 8, 8, 8, 8], [0, 0, 0, 0, 8, 8, 8, 8], [0, 0, 0, 0, 8, 8, 8, 8]]> : tensor<8x8xi8>>
func.func @deep_blocks(%x: tensor<8448x1024xf32>, %w: tensor<1024x256xf32, #W>,
                       %acc: tensor<8448x256xf32>) -> tensor<8448x256xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<8448x1024xf32>, tensor<1024x256xf32, #W>)
                     outs(%acc : tensor<8448x256xf32>) -> tensor<8448x256xf32>
  return %r : tensor<8448x256xf32>
}
