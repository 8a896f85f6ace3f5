// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s

// A constant weight is packed and quantised at compile time: channel 0's
// scale is 4/127 (its values 1, -2, 4 become 32, -64, 127), channel 2's is
// 0.5/127. The groups of four follow the work list (entries 0 and 4 of
// channel 0, entry 0 of channel 2), holes are zero. No pack kernel is made.
// CHECK-DAG: memref.global "private" constant @part0_scales : memref<3xf32> = dense<[0.0314960629, 0.000000e+00, 0.00393700786]>
// CHECK-DAG: memref.global "private" constant @part0_packed : memref<12xi8> = dense<[32, 0, -64, 0, 127, 0, 0, 0, 0, 127, 0, 0]>
// CHECK-NOT: @part0_pack(
// CHECK-LABEL: func.func @int8_constant(
// CHECK-DAG: %[[PACKED:.+]] = memref.get_global @part0_packed : memref<12xi8>
// CHECK-DAG: %[[SCALES:.+]] = memref.get_global @part0_scales : memref<3xf32>
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args({{.*}}, %[[PACKED]] : memref<12xi8>, %[[SCALES]] : memref<3xf32>,
func.func @int8_constant(%x: tensor<6x5xf32>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %w = arith.constant dense<[[1.0, 0.0, -2.0, 0.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0, 0.0, 0.0]]> : tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>
  %r = linalg.matmul ins(%w, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}

// -----

// f16 parts are rounded at compile time (0.1 becomes 0.0999755859 in f16);
// pruned elements never reach the packed values, whatever they hold.
// CHECK: memref.global "private" constant @part0_packed : memref<2xf16> = dense<[9.997550e-02, -3.000000e+00]>
// CHECK-LABEL: func.func @f16_constant(
// CHECK-NOT: @part0_pack
// CHECK: memref.get_global @part0_packed
func.func @f16_constant(%x: tensor<2x4xf32>, %acc: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[0.1, 7.0], [5.0, -3.0]]> : tensor<2x2xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>
  %r = linalg.matmul ins(%w, %x : tensor<2x2xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>, tensor<2x4xf32>)
                     outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
