// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x32" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s

// A float part's pack kernel takes one work row per block along x and
// splits each row's packing units over blocks of 128 threads along y: two
// block rows of two 16x32 blocks are 1024 f16 slots each, 8 blocks along y.
// Nothing is shared between threads, so there is no barrier.
// CHECK-LABEL: gpu.func @part0_pack(
// CHECK-SAME: memref<2048xf16>
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
// CHECK-LABEL: func.func @float_part
// CHECK: %[[THREADS:.+]] = arith.constant 128 : index
// CHECK: %[[ROWS:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[SPLITS:.+]] = arith.constant 8 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack blocks in (%[[ROWS]], %[[SPLITS]], %{{.+}}) threads in (%[[THREADS]],
func.func @float_part(%x: tensor<8x64xf32>,
                      %w: tensor<64x32xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                      %acc: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// An int8 part's pack kernel takes a whole work row per block, about 16 of
// its elements a thread (here 1024 elements, so the minimum of 128
// threads): 8 slices of each of its 16 channels find their largest
// magnitudes, which meet in workgroup memory (a barrier, then one per stride
// 4, 2, 1), and a last barrier publishes the scales before the values are
// converted.
// CHECK-LABEL: gpu.func @part0_pack(
// CHECK-SAME: memref<2048xi8>
// CHECK-SAME: workgroup(%[[PARTIALS:.+]] : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SCALES:.+]] : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: memref.store %{{.+}}, %[[PARTIALS]]
// CHECK-COUNT-5: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: memref.load %[[SCALES]]
// CHECK: arith.fptosi
// CHECK: gpu.return
// CHECK-LABEL: func.func @int8_part
// CHECK: %[[THREADS:.+]] = arith.constant 128 : index
// CHECK: %[[ROWS:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[ONE:.+]] = arith.constant 1 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack blocks in (%[[ROWS]], %[[ONE]], %{{.+}}) threads in (%[[THREADS]],
func.func @int8_part(%x: tensor<8x64xf32>,
                     %w: tensor<64x32xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                     %acc: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<8x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// A long work row gets more threads, at most 1024: 32 blocks of 16x32 int8
// values are 16384 elements, 64 slices of each of the 16 channels.
// CHECK-LABEL: gpu.func @part0_pack(
// CHECK-SAME: workgroup(%{{.+}} : memref<1024xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.+}} : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-LABEL: func.func @long_int8_row
// CHECK: %[[THREADS:.+]] = arith.constant 1024 : index
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack blocks in ({{.+}}) threads in (%[[THREADS]],
func.func @long_int8_row(%x: tensor<8x1024xf32>,
                         %w: tensor<1024x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                         %acc: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<8x1024xf32>, tensor<1024x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}
