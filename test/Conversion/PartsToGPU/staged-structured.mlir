// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s
// RUN: tesa-opt %s --tesa-decompose="chip=sm_80 plan=structured block-shape=32x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=NARROW

// A 2:4 lhs (elements 0 and 1 of every group of four kept) of 256 channels
// by 64 reduction elements, with 256 result columns: its four 64x64
// structured blocks run the staged kernel, with four warps on 128 columns
// and two buffers. Each stage holds a whole block: 64 packed rows of 32
// values (two mma.sp steps) and 128 rows of the dense copy, of 64 values,
// unpadded (odd rows rotated by 32 values instead). The copy, stored as
// [column][k / 32][32], is copied as [column][k].
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x2x32xf16>, %[[PACKED:[^:]+]]: memref<8192xf16>
// CHECK: %[[SHARED:.+]] = gpu.dynamic_shared_memory
// CHECK: %[[A:.+]] = memref.view %[[SHARED]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x32xf16, #gpu.address_space<workgroup>>
// CHECK: %[[B:.+]] = memref.view %[[SHARED]][%c8192][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x128x64xf16, #gpu.address_space<workgroup>>
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[COPY]] {{\[}}[0], [1, 2]] : memref<256x2x32xf16> into memref<256x64xf16>
// CHECK: %[[METADATA:.+]] = memref.get_global @part0_metadata : memref<512xi32>
// CHECK: nvgpu.device_async_copy %[[PACKED]][%{{.+}}], %[[A]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// CHECK-COUNT-4: nvgpu.device_async_copy %[[FLAT]][%{{.+}}, %{{.+}}], %[[B]][%{{.+}}, %{{.+}}, %{{.+}}], 8 {bypassL1}
// The metadata words of the first stage (two steps of each of the warp's
// two slices) are loaded before the loop, and each iteration loads those of
// the next stage before it waits for its own.
// The entry is clamped to the last of the four, so that a row without
// entries reads existing words.
// CHECK: %[[LAST:.+]] = arith.constant 3 : index
// CHECK: arith.minui %{{.+}}, %[[LAST]] : index
// CHECK-COUNT-2: vector.load %[[METADATA]]{{.+}} : memref<512xi32>, vector<2xi32>
// CHECK: scf.for
// CHECK-COUNT-2: vector.load %[[METADATA]]{{.+}} : memref<512xi32>, vector<2xi32>
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// Per stage: one 16-byte load per (slice, row offset) of the packed rows,
// then per step and column tile one 16-byte load of the dense rows and one
// mma.sp per slice: 2 x 8 x 2 in all, and no ldmatrix.
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: nvgpu.ldmatrix
// CHECK-COUNT-4: vector.load %[[A]]{{.+}} : memref<2x64x32xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: vector.load %[[B]]{{.+}} : memref<2x128x64xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK-COUNT-32: nvvm.mma.sp.sync
// CHECK-NOT: nvvm.mma
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: scf.yield
// The launch: 128 threads, 2 x (64 x 64 + 128 x 128) bytes of dynamic
// shared memory, two blocks of threads per block row.
// CHECK-LABEL: func.func @staged_structured
// CHECK: %[[BYTES:.+]] = arith.constant 40960 : i32
// CHECK-NEXT: %[[THREADS:.+]] = arith.constant 128 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%{{.+}}, %{{.+}}, %{{.+}}) threads in (%[[THREADS]], %{{.+}}, %{{.+}}) dynamic_shared_memory_size %[[BYTES]]
// 32-channel structured blocks keep the register-pipelined kernel.
// NARROW-LABEL: gpu.func @part0(
// NARROW-NOT: dynamic_shared_memory
// NARROW: nvvm.mma.sp.sync
// NARROW-LABEL: func.func @staged_structured
func.func @staged_structured(%w: tensor<256x64xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x64xi8>>>,
                             %x: tensor<64x256xf32>, %acc: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<256x64xf32, #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x64xi8>>>, tensor<64x256xf32>)
                     outs(%acc : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %r : tensor<256x256xf32>
}
