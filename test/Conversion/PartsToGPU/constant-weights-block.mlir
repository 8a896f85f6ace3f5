// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// Block parts of a constant weight are packed block by block at compile
// time: of the two 16x16 blocks only the kept one is packed (256 values).
// CHECK: memref.global "private" constant @part0_packed : memref<256xf16> = dense<1.000000e+00>
// CHECK-LABEL: func.func @block_constant(
// CHECK-NOT: @part0_pack
// CHECK: %[[PACKED:.+]] = memref.get_global @part0_packed : memref<256xf16>
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}}, %[[PACKED]] : memref<256xf16>
func.func @block_constant(%x: tensor<16x8xf32>, %acc: tensor<32x8xf32>) -> tensor<32x8xf32> {
  %w = arith.constant dense<1.0> : tensor<32x16xf32, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>
  %r = linalg.matmul ins(%w, %x : tensor<32x16xf32, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>, tensor<16x8xf32>)
                     outs(%acc : tensor<32x8xf32>) -> tensor<32x8xf32>
  return %r : tensor<32x8xf32>
}
