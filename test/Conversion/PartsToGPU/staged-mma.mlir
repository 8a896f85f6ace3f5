// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_86 | FileCheck %s --check-prefix=AMPERE99
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_75 | FileCheck %s --check-prefix=TURING
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=128x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=WIDE

// On sm_80, 64-channel f16 blocks with 256 result columns run the staged
// kernel with eight warps: the packed blocks (64 channels) and the dense
// copy's rows (256 columns) of each stage go to dynamic shared memory
// through cp.async, three buffers deep, in rows of 64 values padded to 72
// (conflict-free ldmatrix). Two stages are in flight before the loop; each
// iteration waits for its stage (at most one group still pending),
// synchronises the block, issues the copies of the stage two ahead and
// runs the mma instructions of its own: per 16-value step, two ldmatrix of
// the packed block (two 16-channel slices) and four of the dense rows
// (eight 8-column tiles), then 16 mma; four steps per stage.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x64xf16>, %[[PACKED:[^:]+]]: memref<16384xf16>
// CHECK-NOT: workgroup(
// CHECK: %[[SHARED:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[A:.+]] = memref.view %[[SHARED]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x64x72xf16, #gpu.address_space<workgroup>>
// CHECK: %[[B:.+]] = memref.view %[[SHARED]][%c27648][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x256x72xf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-2: nvgpu.device_async_copy %[[PACKED]][%{{.+}}], %[[A]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK-COUNT-8: nvgpu.device_async_copy %[[COPY]][%{{.+}}, %{{.+}}], %[[B]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK-COUNT-2: nvgpu.ldmatrix %[[A]]
// CHECK: nvgpu.ldmatrix %[[B]]
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: nvgpu.ldmatrix %[[A]]
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: nvgpu.ldmatrix %[[A]]
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: nvgpu.ldmatrix %[[A]]
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// The launch: one block of 256 columns along x, one per block row along y,
// 256 threads, 3 x (64 + 256) rows x 144 bytes of dynamic shared memory.
// CHECK-LABEL: func.func @staged
// CHECK: %[[BYTES:.+]] = arith.constant 138240 : i32
// CHECK-NEXT: %[[THREADS:.+]] = arith.constant 256 : index
// CHECK-NEXT: arith.constant 1 : index
// CHECK-NEXT: arith.constant 1 : index
// CHECK-NEXT: %[[X:.+]] = arith.constant 1 : index
// CHECK-NEXT: %[[Y:.+]] = arith.constant 4 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[X]], %[[Y]], %{{.+}}) threads in (%[[THREADS]], %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
// sm_86 has 99 KB of shared memory per block: four warps and 128 columns
// (3 x (64 + 128) x 144 bytes).
// AMPERE99-LABEL: gpu.func @part0(
// AMPERE99: memref.view {{.+}} to memref<3x128x72xf16, #gpu.address_space<workgroup>>
// AMPERE99-LABEL: func.func @staged
// AMPERE99: %[[BYTES:.+]] = arith.constant 82944 : i32
// AMPERE99: gpu.launch_func @tesa_kernels::@part0 {{.+}} dynamic_shared_memory_size %[[BYTES]]
// sm_75 has no cp.async: the register-pipelined kernel.
// TURING-LABEL: gpu.func @part0(
// TURING-NOT: dynamic_shared_memory
// TURING-NOT: nvgpu.
// TURING: nvvm.mma.sync
// TURING-LABEL: func.func @staged
// TURING-NOT: dynamic_shared_memory_size
// TURING: return
// 128-channel blocks (not on the menu) keep the register-pipelined kernel.
// WIDE-LABEL: gpu.func @part0(
// WIDE-NOT: dynamic_shared_memory
// WIDE: nvvm.mma.sync
// WIDE-LABEL: func.func @staged
func.func @staged(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<64x256xf32>, %acc: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<64x256xf32>)
                     outs(%acc : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}

// -----

// With 128 to 255 columns, four warps take 128 columns: the buffers are
// 3 x (64 + 128) rows of 144 bytes.
// CHECK-LABEL: gpu.func @part0(
// CHECK: memref.view {{.+}} to memref<3x128x72xf16, #gpu.address_space<workgroup>>
// CHECK-LABEL: func.func @columns_128
// CHECK: %[[BYTES:.+]] = arith.constant 82944 : i32
// CHECK-NEXT: %[[THREADS:.+]] = arith.constant 128 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}} threads in (%[[THREADS]], %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
func.func @columns_128(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                       %x: tensor<64x200xf32>, %acc: tensor<256x200xf32>) -> tensor<256x200xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<64x200xf32>)
                     outs(%acc : tensor<256x200xf32>) -> tensor<256x200xf32>
  return %r : tensor<256x200xf32>
}

// -----

// int8 parts stage bytes: a block row is 64 int8 values, padded to 80, and
// each ldmatrix register is a word of four values (m16n8k32).
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: memref<256x64xi8>
// CHECK: %[[A:.+]] = memref.view {{.+}} to memref<3x64x80xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.+}} to memref<3x256x80xi8, #gpu.address_space<workgroup>>
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
// CHECK-NOT: dynamic_shared_memory
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @narrow
// CHECK-NOT: dynamic_shared_memory_size
// CHECK: return
func.func @narrow(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<64x64xf32>, %acc: tensor<256x64xf32>) -> tensor<256x64xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<64x64xf32>)
                     outs(%acc : tensor<256x64xf32>) -> tensor<256x64xf32>
  return %r : tensor<256x64xf32>
}
