// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// With 256 result columns (32 tiles of 8), each warp of the tensor-core
// kernel takes four tiles: per step of a block, the block's fragment is
// loaded once (four registers of m16n8k16) and feeds four mma
// instructions. 32 tiles are two blocks of
// four warps along x.
// CHECK-LABEL: gpu.func @part0(
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %{{.+}} : memref<256xf16>, vector<2xf16>
// CHECK-NOT: vector.load
// CHECK-COUNT-4: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
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
