// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=32x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=SLICES

// With 256 result columns (32 tiles of 8), each warp of the tensor-core
// kernel takes four tiles: per step of a block, the block's fragment (four
// registers of m16n8k16) feeds four mma instructions, each with two
// registers of the dense operand's f16 copy (made because the column of
// blocks holds four blocks). Each thread loads its registers of a row or a
// column as one vector of four halves (its quarter of the step's reduction).
// The loop is software-pipelined: the first block's registers are loaded
// before it, and each iteration loads the next block's before its mma
// instructions, which read the registers carried in. 32 tiles are two
// blocks of four warps along x.
// CHECK-LABEL: gpu.func @part0_convert_dense(
// CHECK-SAME: %{{.+}}: memref<16x256xf32>, %[[OUT:.+]]: memref<256x16xf16>)
// CHECK: %[[HALF:.+]] = arith.truncf %{{.+}} : f32 to f16
// CHECK: memref.store %[[HALF]], %[[OUT]]
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[COPY:[^:]+]]: memref<256x16xf16>
// CHECK-COUNT-2: vector.load %{{.+}} {alignment = 8 : i64} : memref<1024xf16>, vector<4xf16>
// CHECK-COUNT-4: vector.load %[[COPY]]{{.+}} {alignment = 8 : i64} : memref<256x16xf16>, vector<4xf16>
// CHECK: scf.for {{.+}} iter_args(
// CHECK-SAME: %[[A0:arg[0-9]+]] = %{{[0-9]+}}, %[[A1:arg[0-9]+]] = %{{[0-9]+}}, %[[A2:arg[0-9]+]] = %{{[0-9]+}}, %[[A3:arg[0-9]+]] = %{{[0-9]+}}, %[[B0:arg[0-9]+]] = %{{[0-9]+}}, %[[B1:arg[0-9]+]] = %{{[0-9]+}},
// CHECK-COUNT-2: vector.load %{{.+}} : memref<1024xf16>, vector<4xf16>
// CHECK-COUNT-4: vector.load %[[COPY]]
// CHECK-NOT: vector.load
// CHECK: nvvm.mma.sync A[%[[A0]], %[[A2]], %[[A1]], %[[A3]]]  B[%[[B0]], %[[B1]]]
// CHECK-COUNT-3: nvvm.mma.sync A[%[[A0]], %[[A2]], %[[A1]], %[[A3]]]
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-LABEL: func.func @wide
// With 32-channel blocks, a warp of four tiles also takes both 16-channel
// slices of its block row: eight registers of the packed block, then per
// tile the same dense registers feed both slices' mma instructions (here
// read from the f32 operand: two blocks in one column of blocks do not pay
// for a copy). The two block rows are two blocks along y.
// SLICES-LABEL: gpu.func @part0(
// SLICES: scf.for
// SLICES-COUNT-4: vector.load %{{.+}} : memref<1024xf16>, vector<4xf16>
// SLICES-NOT: vector.load
// SLICES: nvvm.mma.sync A[{{.+}}] B[%[[DENSE:arg[0-9]+, %arg[0-9]+]]]
// SLICES-NEXT: llvm.extractvalue
// SLICES-COUNT-3: llvm.extractvalue
// SLICES-NEXT: nvvm.mma.sync A[{{.+}}] B[%[[DENSE]]]
// SLICES-COUNT-6: nvvm.mma.sync
// SLICES-NOT: nvvm.mma.sync
// SLICES: scf.yield
// SLICES-LABEL: func.func @wide
// SLICES: gpu.launch_func @tesa_kernels::@part0_pack
// SLICES: %[[X:.+]] = arith.constant 2 : index
// SLICES-NEXT: %[[Y:.+]] = arith.constant 2 : index
// SLICES: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[X]], %[[Y]],
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
// CHECK: gpu.launch_func @tesa_kernels::@part0_convert_dense
// CHECK: %[[TWO:.+]] = arith.constant 2 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%[[TWO]],
func.func @wide(%w: tensor<64x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                %x: tensor<16x256xf32>, %acc: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<64x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<16x256xf32>)
                     outs(%acc : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %r : tensor<64x256xf32>
}

// -----

// With fewer than 16 tiles, each warp takes one, so that a few columns (a
// decode step) still spread over warps. One block per column of blocks does
// not pay for an f16 copy: the kernel reads the f32 operand.
// CHECK-NOT: _convert_dense
// CHECK-LABEL: gpu.func @part0(
// CHECK: scf.for
// CHECK: arith.truncf
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
func.func @narrow(%w: tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %x: tensor<16x64xf32>, %acc: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<16x64xf32>)
                     outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// A decode step: 16 result columns are two tiles, fewer than a block's four
// warps. A block of eight warps takes both tiles of a block row, four warps
// each, and each of those four takes every fourth block of the row (the loop
// steps by 4 from its share). The warps leave their sums in workgroup
// memory; after a barrier, the first warp of each tile adds the other
// three's, in order, and alone stores.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: workgroup(%[[PARTIALS:.+]] : memref<8x4x32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: %[[WARP:.+]] = arith.divui %{{.+}}, %c32
// CHECK: %[[SPLIT:.+]] = arith.divui %[[WARP]], %c2
// CHECK: %[[START:.+]] = arith.addi %{{.+}}, %[[SPLIT]] : index
// CHECK: scf.for %{{.+}} = %[[START]] to %{{.+}} step %c4
// CHECK: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-COUNT-4: memref.store %{{.+}}, %[[PARTIALS]]
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-12: memref.load %[[PARTIALS]]
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[SPLIT]], %c1
// CHECK: arith.andi %{{.+}}, %[[FIRST]] : i1
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{[_0-9]*}}, %c2{{[_0-9]*}}, %{{.+}}) threads in (%c256{{[_0-9]*}},
func.func @decode(%x: tensor<16x64xf32>, %w: tensor<64x32xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                  %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}
