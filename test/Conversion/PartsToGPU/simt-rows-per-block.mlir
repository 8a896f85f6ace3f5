// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 staged-simt=false" | FileCheck %s

// The maps keep diagonal blocks: not whole channels, so the parts take
// the SIMT kernel (whole channels take the contraction family, see
// kept-channels.mlir). The plain SIMT kernel: these parts keep enough
// elements for the staged one (see staged-simt.mlir).

// With enough columns and short rows (32 entries), a block of the SIMT
// kernel takes several work rows (here 8: 256 channels, 32 blocks of 128
// columns, still 1024 blocks for 108 multiprocessors). Each thread walks the block's rows for its column
// and leaves the sums in workgroup memory (rows of 129, so that reading a
// column does not conflict on banks); after a barrier the block writes them
// in result order. With the sparse operand on the left the result is
// channel-major: consecutive threads take consecutive columns of a row.
// Blocks along x are groups of rows, along y groups of columns.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%[[SUMS:.+]] : memref<8x129xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: %[[THREAD:.+]] = gpu.thread_id x
// CHECK: scf.for %[[ROW:.+]] = %c0{{.*}} to %c8
// CHECK: scf.for
// CHECK: math.fma
// CHECK: memref.store %{{.+}}, %[[SUMS]][%[[ROW]], %[[THREAD]]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[I:.+]] = %[[THREAD]] to %c1024{{.*}} step %c128
// CHECK: %[[R:.+]] = arith.divui %[[I]], %c128
// CHECK: %[[C:.+]] = arith.remui %[[I]], %c128
// CHECK: memref.load %[[SUMS]][%[[R]], %[[C]]]
// CHECK: gpu.barrier
// CHECK-LABEL: func.func @lhs
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c32{{(_[0-9]+)?}}, %c32
func.func @lhs(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
               %x: tensor<64x4096xf32>, %acc: tensor<256x4096xf32>) -> tensor<256x4096xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<64x4096xf32>)
                     outs(%acc : tensor<256x4096xf32>) -> tensor<256x4096xf32>
  return %r : tensor<256x4096xf32>
}

// -----

// With the sparse operand on the right the result is column-major in
// channels: consecutive threads take consecutive rows of a column, so that
// they write consecutive elements.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%[[SUMS:.+]] : memref<8x129xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: gpu.barrier
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %c1024{{.*}} step %c128
// CHECK: %[[R:.+]] = arith.remui %[[I]], %c8
// CHECK: %[[C:.+]] = arith.divui %[[I]], %c8
// CHECK: memref.load %[[SUMS]][%[[R]], %[[C]]]
func.func @rhs(%x: tensor<4096x64xf32>,
               %w: tensor<64x256xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
               %acc: tensor<4096x256xf32>) -> tensor<4096x256xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<4096x64xf32>, tensor<64x256xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>)
                     outs(%acc : tensor<4096x256xf32>) -> tensor<4096x256xf32>
  return %r : tensor<4096x256xf32>
}

// -----

// A decode step (8 columns) keeps one row per block, and the block's 128
// threads split the row: thread t takes column t % 8 and every sixteenth
// entry from t / 8. The sums meet in workgroup memory by halving strides
// (64, 32, 16, 8), and threads 0-7 add them to the result. The dense
// operand fits in the L2 cache, so blocks along x are groups of columns,
// along y rows.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%[[PARTIALS:.+]] : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: %[[SPLIT:.+]] = arith.divui %thread_id_x, %c8
// CHECK: %[[START:.+]] = arith.addi %{{.+}}, %[[SPLIT]] : index
// CHECK: scf.for %{{.+}} = %[[START]] to %{{.+}} step %c16
// CHECK: memref.store %{{.+}}, %[[PARTIALS]][%thread_id_x]
// CHECK-NEXT: gpu.barrier
// CHECK: arith.cmpi ult, %thread_id_x, %c64
// CHECK-COUNT-4: gpu.barrier
// CHECK: %[[STORES:.+]] = arith.cmpi ult, %thread_id_x, %c8
// CHECK-NEXT: scf.if %[[STORES]]
// CHECK: gpu.barrier
// CHECK: gpu.return
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{(_[0-9]+)?}}, %c256
func.func @decode(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                  %x: tensor<64x8xf32>, %acc: tensor<256x8xf32>) -> tensor<256x8xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<64x8xf32>)
                     outs(%acc : tensor<256x8xf32>) -> tensor<256x8xf32>
  return %r : tensor<256x8xf32>
}

// -----

// Long rows (256 entries each) keep one row per block even with many
// columns: computing a sum then costs far more than writing it. The dense
// operand (8 MiB) fits in the L2 cache: blocks along x are groups of
// columns, along y rows.
// CHECK-LABEL: gpu.func @part0(
// CHECK-NOT: workgroup(
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
// CHECK-LABEL: func.func @long_rows
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c32{{(_[0-9]+)?}}, %c256
func.func @long_rows(%w: tensor<256x512xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                     %x: tensor<512x4096xf32>, %acc: tensor<256x4096xf32>) -> tensor<256x4096xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x512xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<512x4096xf32>)
                     outs(%acc : tensor<256x4096xf32>) -> tensor<256x4096xf32>
  return %r : tensor<256x4096xf32>
}

// -----

// Long rows over a dense operand larger than the L2 cache (64 MiB against
// sm_80's 40): still one row per block, but rows along x, so that the
// blocks running at once read the same columns of it. Each thread computes
// four columns, 128 apart: one work-list entry and packed value feed four
// products, whose dense loads are independent. A block covers 512 columns
// (64 blocks along y). The dense operand is read flat, at each entry's
// offset (its start times the 32768 columns) plus the column; the columns
// fill whole blocks, so a thread's other columns lie 128, 256 and 384
// elements after its first (and are written where they exist).
// CHECK-LABEL: gpu.func @part0(
// CHECK-NOT: workgroup(
// CHECK: %[[THREAD:.+]] = gpu.thread_id x
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %arg0 {{\[\[}}0, 1]] : memref<512x32768xf32> into memref<16777216xf32>
// CHECK: %[[FIRST:.+]] = arith.muli %{{.+}}, %c512
// CHECK: %[[WORK0:.+]] = arith.addi %[[FIRST]], %[[THREAD]]
// CHECK: %[[OFFSET1:.+]] = arith.addi %[[THREAD]], %c128
// CHECK: %[[WORK1:.+]] = arith.addi %[[FIRST]], %[[OFFSET1]]
// CHECK: %[[COLUMN0:.+]] = arith.index_castui %[[WORK0]] : index to i32
// CHECK: %[[SUMS:.+]]:4 = scf.for {{.+}} iter_args(%[[S0:.+]] = %{{.+}}, %[[S1:.+]] = %{{.+}}, %[[S2:.+]] = %{{.+}}, %[[S3:.+]] = %{{.+}}) -> (f32, f32, f32, f32)
// CHECK: %[[ENTRY:.+]] = memref.load %{{.+}} : memref<65536xi32>
// CHECK: %[[WEIGHT:.+]] = memref.load %arg1
// CHECK: %[[AT0:.+]] = arith.addi %[[ENTRY]], %[[COLUMN0]] overflow<nuw> : i32
// CHECK: %[[I0:.+]] = arith.index_castui %[[AT0]] : i32 to index
// CHECK: %[[X0:.+]] = memref.load %[[FLAT]][%[[I0]]]
// CHECK: math.fma %[[WEIGHT]], %[[X0]], %[[S0]]
// CHECK: %[[AT1:.+]] = arith.addi %[[ENTRY]], %[[COLUMN0]] overflow<nuw> : i32
// CHECK: %[[BASE1:.+]] = arith.index_castui %[[AT1]] : i32 to index
// CHECK: %[[I1:.+]] = arith.addi %[[BASE1]], %c128
// CHECK: %[[X1:.+]] = memref.load %[[FLAT]][%[[I1]]]
// CHECK: math.fma %[[WEIGHT]], %[[X1]], %[[S1]]
// CHECK: math.fma %[[WEIGHT]]
// CHECK: math.fma %[[WEIGHT]]
// CHECK: arith.cmpi ult, %[[WORK1]], %c32768
// CHECK: gpu.return
// CHECK-LABEL: func.func @beyond_l2
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c256{{(_[0-9]+)?}}, %c64
func.func @beyond_l2(%w: tensor<256x512xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                     %x: tensor<512x32768xf32>, %acc: tensor<256x32768xf32>) -> tensor<256x32768xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x512xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<512x32768xf32>)
                     outs(%acc : tensor<256x32768xf32>) -> tensor<256x32768xf32>
  return %r : tensor<256x32768xf32>
}

// -----

// Short rows with many rows and columns: a block takes 8 rows and each
// thread four columns, 128 apart, so the block's 8 x 512 sums meet in
// workgroup memory (rows of 513) and are written in result order. Fewer
// rows per block would leave the written runs shorter than a sector.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%[[SUMS:.+]] : memref<8x513xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: %[[ROW:.+]]:4 = scf.for {{.+}} -> (f32, f32, f32, f32)
// CHECK-COUNT-4: memref.store %[[ROW]]#{{[0-3]}}, %[[SUMS]]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} to %c4096{{.*}} step %c128
// CHECK: arith.divui %{{.+}}, %c512
// CHECK-LABEL: func.func @staged_columns
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c128{{(_[0-9]+)?}}, %c8
func.func @staged_columns(%w: tensor<1024x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                          %x: tensor<64x4096xf32>, %acc: tensor<1024x4096xf32>) -> tensor<1024x4096xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<1024x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<64x4096xf32>)
                     outs(%acc : tensor<1024x4096xf32>) -> tensor<1024x4096xf32>
  return %r : tensor<1024x4096xf32>
}

// -----

// A decode step with many short rows (32 entries each) would fill the GPU
// with two rows per block, but its threads would mostly idle (8 columns of
// 128 threads): it keeps one row per block, split among the threads.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%{{.+}} : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c16
// CHECK-LABEL: func.func @decode_short_rows
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{(_[0-9]+)?}}, %c4096
func.func @decode_short_rows(%w: tensor<4096x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                             %x: tensor<64x8xf32>, %acc: tensor<4096x8xf32>) -> tensor<4096x8xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<4096x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<64x8xf32>)
                     outs(%acc : tensor<4096x8xf32>) -> tensor<4096x8xf32>
  return %r : tensor<4096x8xf32>
}
