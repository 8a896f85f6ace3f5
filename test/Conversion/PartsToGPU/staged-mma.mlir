// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_75 | FileCheck %s --check-prefix=TURING
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=128x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=LARGE

// On sm_80, 64-channel f16 blocks with 128 result columns or more run the
// staged kernel: the packed blocks (64 channels) and the dense copy's rows
// (128 columns) of each stage go to shared memory through cp.async, three
// buffers deep, in rows of 32 values padded to 40 (conflict-free ldmatrix).
// Two stages are in flight before the loop; each iteration waits for its
// stage (at most one group still pending), synchronises the block, issues
// the copies of the stage two ahead and runs the mma instructions of its
// own: per 16-value step, two ldmatrix of the packed block (two 16-channel
// slices) and four of the dense rows (eight 8-column tiles), then 16 mma.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x64xf16>, %[[PACKED:[^:]+]]: memref<16384xf16>
// CHECK-SAME: workgroup(%[[A:.+]] : memref<3x64x40xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[B:.+]] : memref<3x128x40xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-COUNT-2: nvgpu.device_async_copy %[[PACKED]][%{{.+}}], %[[A]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK-COUNT-4: nvgpu.device_async_copy %[[COPY]][%{{.+}}, %{{.+}}], %[[B]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK-COUNT-2: nvgpu.ldmatrix %[[A]]
// CHECK: nvgpu.ldmatrix %[[B]]
// CHECK-COUNT-4: nvvm.mma.sync
// CHECK-COUNT-12: nvvm.mma.sync
// CHECK: nvgpu.ldmatrix %[[A]]
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// The grid: two blocks of 128 columns along x, one per block row along y.
// CHECK-LABEL: func.func @staged
// CHECK: %[[X:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[Y:.+]] = arith.constant 4 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[X]], %[[Y]],
// sm_75 has no cp.async: the register-pipelined kernel.
// TURING-LABEL: gpu.func @part0(
// TURING-NOT: workgroup
// TURING-NOT: nvgpu.
// TURING: nvvm.mma.sync
// TURING-LABEL: func.func @staged
// 128-channel blocks would need 61440 bytes of buffers, more than the 48 KB
// of static shared memory: the register-pipelined kernel.
// LARGE-LABEL: gpu.func @part0(
// LARGE-NOT: workgroup
// LARGE-NOT: nvgpu.
// LARGE: nvvm.mma.sync
// LARGE-LABEL: func.func @staged
func.func @staged(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<64x256xf32>, %acc: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<64x256xf32>)
                     outs(%acc : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// int8 parts stage bytes: rows of 64 int8 values padded to 80, and each
// ldmatrix register is a word of four values (m16n8k32).
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: memref<256x64xi8>
// CHECK-SAME: workgroup(%[[A:.+]] : memref<3x64x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[B:.+]] : memref<3x128x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: nvgpu.device_async_copy {{.+}}, 16 {bypassL1}
// CHECK: nvgpu.ldmatrix %[[A]]{{.+}} -> vector<4x4xi8>
// CHECK: nvvm.mma.sync {{.+}} {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// CHECK-LABEL: func.func @staged_int8
func.func @staged_int8(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                       %x: tensor<64x256xf32>, %acc: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>, tensor<64x256xf32>)
                     outs(%acc : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// Fewer than 128 result columns (a decode step): the register-pipelined
// kernel, whose warps then take one column tile each.
// CHECK-LABEL: gpu.func @part0(
// CHECK-NOT: workgroup
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @narrow
func.func @narrow(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<64x64xf32>, %acc: tensor<256x64xf32>) -> tensor<256x64xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<64x64xf32>)
                     outs(%acc : tensor<256x64xf32>) -> tensor<256x64xf32>
  return %r : tensor<256x64xf32>
}
