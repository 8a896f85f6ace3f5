// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// A 4x4 grid of 16x16 blocks with 7 of the 16 pruned: the kernel's work
// list holds exactly the 9 kept blocks, grouped by block column of the
// weight (the output channels), and column 3, entirely pruned, gets no work.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_rows : memref<3xi32> = dense<[0, 1, 2]>
// CHECK-DAG: memref.global "private" constant @part0_offsets : memref<4xi32> = dense<[0, 3, 6, 9]>
// CHECK-DAG: memref.global "private" constant @part0_entries : memref<9xi32> = dense<[0, 1, 3, 1, 2, 3, 0, 2, 3]>
// CHECK-DAG: memref.global "private" constant @part0_masks : memref<72xi32>
// CHECK-LABEL: gpu.func @part0(
// CHECK: scf.for
// One tensor-core step per 16-wide block, unrolled: no loop inside a block.
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: scf.for
// CHECK: scf.yield
// CHECK: gpu.return

// The host launches the pack kernel, then the compute kernel over one block
// row per (work row, 16-channel slice): 3 of them.
// CHECK-LABEL: func.func @blocks
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in ({{.*}}, %[[C3]], {{.*}}) threads in
func.func @blocks(%x: tensor<8x64xf32>,
                  %w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0, 16, 0], [16, 16, 0, 0], [0, 16, 16, 0], [16, 16, 16, 0]]> : tensor<4x4xi8>>>,
                  %acc: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0, 16, 0], [16, 16, 0, 0], [0, 16, 16, 0], [16, 16, 16, 0]]> : tensor<4x4xi8>>>)
                     outs(%acc : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}
