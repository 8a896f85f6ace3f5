// RUN: tesa-opt %s --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

// A fine-grained part of an f16 program (tesa-decompose makes one at a
// decode step of a very sparse weight): the SIMT kernel reads the f16
// dense operand as it is (no f16 copy, no rounding of its inputs), widens
// weights and inputs to f32 for its fused multiply-adds, and rounds each
// sum to the f16 result once.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[DENSE:[^:]+]]: memref<32x16xf16>, %[[PACKED:[^:]+]]: memref<4xf16>, %[[OUT:[^:]+]]: memref<16x8xf16>
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[DENSE]]
// CHECK: %[[WEIGHT:.+]] = memref.load %[[PACKED]]
// CHECK: %[[INPUT:.+]] = memref.load %[[FLAT]]
// CHECK-NOT: arith.truncf
// CHECK: %[[W32:.+]] = arith.extf %[[WEIGHT]] : f16 to f32
// CHECK: %[[I32:.+]] = arith.extf %[[INPUT]] : f16 to f32
// CHECK: math.fma %[[W32]], %[[I32]], %{{.+}} : f32
// CHECK: %[[SUM:.+]] = arith.truncf %{{.+}} : f32 to f16
// CHECK: memref.store %[[SUM]], %[[OUT]]
// CHECK-LABEL: func.func @fine_f16(
// CHECK-NOT: convert_dense
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
// CHECK: gpu.launch_func @tesa_kernels::@part0 
#w = #tesa.sparsity<map = dense<[[16, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<8x8xi8>>
func.func @fine_f16(%x: tensor<16x32xf16>, %w: tensor<32x8xf16, #w>, %acc: tensor<16x8xf16>) -> tensor<16x8xf16> {
  %p = tesa.extract_part %w : tensor<32x8xf16, #w> -> tensor<32x8xf16, #w>
  %r = tesa.part_matmul fine %x, %p, %acc {bits = 16 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<16x32xf16>, tensor<32x8xf16, #w>, tensor<16x8xf16> -> tensor<16x8xf16>
  return %r : tensor<16x8xf16>
}
