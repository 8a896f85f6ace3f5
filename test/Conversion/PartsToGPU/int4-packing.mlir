// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s --check-prefix=FINE
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=block block-shape=16x32" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s --check-prefix=BLOCK

// 4-bit values are kept two per byte. A SIMT entry's four values (1, 2, 3,
// 4 and 5, 6, 7, -7 at scale 7/7) take two bytes: the first holds values 0
// and 2 (0x31 = 49, 0x75 = 117), the second values 1 and 3 (0x42 = 66,
// 0x96 = -106).
// FINE: memref.global "private" constant @part0_packed : memref<4xi8> = dense<[49, 66, 117, -106]>
// FINE-LABEL: gpu.func @part0(
// The compute kernel moves each nibble to the top of an int8 lane (16 times
// the value) and shifts the exact sum back before dequantising.
// FINE: %[[PAIR:.+]] = vector.load %{{.*}}[%{{.*}}] {alignment = 2 : i64} : memref<4xi8>, vector<2xi8>
// FINE: vector.bitcast %[[PAIR]] : vector<2xi8> to vector<1xi16>
// FINE: arith.constant 61680 : i32
// FINE: arith.constant -252706816 : i32
// FINE: nvvm.dot.accumulate.4way
// FINE: arith.shrsi
// FINE-LABEL: func.func @int4_constant(
func.func @int4_constant(%x: tensor<8x5xf32>, %acc: tensor<1x5xf32>) -> tensor<1x5xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -7.0]]> : tensor<1x8xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>
  %r = linalg.matmul ins(%w, %x : tensor<1x8xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>, tensor<8x5xf32>)
                     outs(%acc : tensor<1x5xf32>) -> tensor<1x5xf32>
  return %r : tensor<1x5xf32>
}

// -----

// An argument weight: its pack kernel writes the low nibble of a byte, then
// (the same thread) ors in the high one. A 16x32 block of 4-bit values takes
// 256 bytes; the tensor-core kernel reads a word of eight values of a block
// row and keeps the four its fragment needs.
// BLOCK-LABEL: gpu.func @part0_pack(
// BLOCK-SAME: %{{.*}}: memref<16x32xf32>, %[[OUT:.+]]: memref<256xi8>
// BLOCK: scf.if
// BLOCK: %[[LOW:.+]] = memref.load %[[OUT]]
// BLOCK: %[[HIGH:.+]] = arith.shli
// BLOCK: %[[BYTE:.+]] = arith.ori %[[LOW]], %[[HIGH]]
// BLOCK: memref.store %[[BYTE]], %[[OUT]]
// BLOCK: } else {
// BLOCK: memref.store %{{.*}}, %[[OUT]]
// BLOCK-LABEL: gpu.func @part0(
// BLOCK-SAME: %[[PACKED:[^:]+]]: memref<256xi8>
// BLOCK: vector.load %[[PACKED]][%{{.*}}] {alignment = 4 : i64} : memref<256xi8>, vector<4xi8>
// BLOCK: arith.constant -252645136 : i32
// BLOCK: nvvm.mma.sync
// BLOCK-SAME: multiplicandAPtxType = #nvvm.mma_type<s8>
// BLOCK: arith.shrsi
func.func @int4_argument(%w: tensor<16x32xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>,
                         %x: tensor<32x8xf32>, %acc: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x32xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>, tensor<32x8xf32>)
                     outs(%acc : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %r : tensor<16x8xf32>
}

// -----

// A constant block is packed at compile time the same way: eight values of a
// block row take a word, byte i holding values i and 4 + i (row 0 is 1, 2,
// ..., 7, -7: 0x51 = 81, 0x62 = 98, 0x73 = 115, 0x94 = -108).
// BLOCK: memref.global "private" constant @part0_packed : memref<256xi8> = dense<"0x51627394{{0+}}">
// BLOCK-LABEL: func.func @int4_constant_block(
// BLOCK-NOT: @part0_pack(
func.func @int4_constant_block(%x: tensor<32x8xf32>, %acc: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<16x32xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>
  %r = linalg.matmul ins(%w, %x : tensor<16x32xf32, #tesa.sparsity<map = dense<4> : tensor<1x1xi8>>>, tensor<32x8xf32>)
                     outs(%acc : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %r : tensor<16x8xf32>
}
