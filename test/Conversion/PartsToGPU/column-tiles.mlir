// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// With 256 result columns (32 tiles of 8), each warp of the tensor-core
// kernel takes four tiles: per step of a block, the block's fragment is
// loaded once (four registers of m16n8k16) and feeds four mma instructions,
// each with two registers of the dense operand's f16 copy. 32 tiles are two
// blocks of four warps along x.
// CHECK-LABEL: gpu.func @part0_convert_dense(
// CHECK-SAME: %{{.+}}: memref<16x256xf32>, %[[OUT:.+]]: memref<256x16xf16>)
// CHECK: %[[HALF:.+]] = arith.truncf %{{.+}} : f32 to f16
// CHECK: memref.store %[[HALF]], %[[OUT]]
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x16xf16>
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %{{.+}} : memref<256xf16>, vector<2xf16>
// CHECK-COUNT-2: vector.load %[[COPY]]{{.+}} {alignment = 4 : i64} : memref<256x16xf16>, vector<2xf16>
// CHECK-NEXT: nvvm.mma.sync
// CHECK-COUNT-2: vector.load %[[COPY]]
// CHECK-NEXT: nvvm.mma.sync
// CHECK-COUNT-2: vector.load %[[COPY]]
// CHECK-NEXT: nvvm.mma.sync
// CHECK-COUNT-2: vector.load %[[COPY]]
// CHECK-NEXT: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
// CHECK: gpu.launch_func @tesa_kernels::@part0_convert_dense
// CHECK: %[[TWO:.+]] = arith.constant 2 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[TWO]],
func.func @wide(%w: tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                %x: tensor<16x256xf32>, %acc: tensor<16x256xf32>) -> tensor<16x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<16x256xf32>)
                     outs(%acc : tensor<16x256xf32>) -> tensor<16x256xf32>
  return %r : tensor<16x256xf32>
}

// -----

// With fewer than 16 tiles, each warp takes one, so that a few columns (a
// decode step) still spread over warps.
// CHECK-LABEL: gpu.func @part0(
// CHECK: scf.for
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
func.func @narrow(%w: tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<16x64xf32>, %acc: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<16x64xf32>)
                     outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}
