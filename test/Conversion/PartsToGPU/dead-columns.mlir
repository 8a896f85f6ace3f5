// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=SIMT
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=MMA

// Propagation marked rows 16-39 of the product pruned (dead or zero): the
// compute kernel covers only the live rows of the dense operand x. SIMT
// kernels take the 16 live rows in one block of threads, eight threads per
// row (each every eighth entry of the work row), whose sums meet in
// workgroup memory; the first 16 threads store. Tensor-core kernels take
// one warp per live tile of 8 rows (tiles 0 and 1 of 5).
// SIMT-LABEL: gpu.module @tesa_kernels
// SIMT: memref.global "private" constant @part0_columns : memref<16xi32> = dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]>
// SIMT-LABEL: gpu.func @part0(
// SIMT: %[[UNIT:.*]] = arith.remui %thread_id_x, %c16
// SIMT: %[[CLAMPED:.*]] = arith.minui %[[UNIT]], %c15
// SIMT: %[[COLUMNS:.*]] = memref.get_global @part0_columns
// SIMT: memref.load %[[COLUMNS]][%[[CLAMPED]]]
// SIMT: scf.for
// SIMT: gpu.barrier
// SIMT-COUNT-3: gpu.barrier
// SIMT: %[[LIVE:.*]] = arith.cmpi ult, %thread_id_x, %c16
// SIMT-NEXT: scf.if %[[LIVE]]
// SIMT: %[[COLUMNS2:.*]] = memref.get_global @part0_columns
// SIMT-NEXT: memref.load %[[COLUMNS2]][%thread_id_x]
// SIMT-LABEL: func.func @dead_rows
// SIMT: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{(_[0-9]+)?}}, %c32
// MMA-LABEL: gpu.module @tesa_kernels
// MMA: memref.global "private" constant @part0_columns : memref<2xi32> = dense<[0, 1]>
// MMA-LABEL: gpu.func @part0(
// MMA: memref.get_global @part0_columns
// MMA: nvvm.mma.sync
func.func @dead_rows(%x: tensor<40x64xf32>,
                     %w: tensor<64x32xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>,
                     %acc: tensor<40x32xf32, #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>>)
    -> tensor<40x32xf32, #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>> {
  %r = linalg.matmul ins(%x, %w : tensor<40x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>)
                     outs(%acc : tensor<40x32xf32, #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>>)
                     -> tensor<40x32xf32, #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>>
  return %r : tensor<40x32xf32, #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>>
}

// -----

// Every row live: no column list, and the kernel covers all 40 rows.
// SIMT-LABEL: gpu.module @tesa_kernels
// SIMT-NOT: _columns
// SIMT-LABEL: func.func @all_live
// MMA-LABEL: gpu.module @tesa_kernels
// MMA-NOT: _columns
// MMA-LABEL: func.func @all_live
func.func @all_live(%x: tensor<40x64xf32>,
                    %w: tensor<64x32xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>,
                    %acc: tensor<40x32xf32>) -> tensor<40x32xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<40x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>)
                     outs(%acc : tensor<40x32xf32>) -> tensor<40x32xf32>
  return %r : tensor<40x32xf32>
}
