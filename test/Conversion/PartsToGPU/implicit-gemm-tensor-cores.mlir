// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// Tensor-core f16 parts of other products read an f16 copy of the dense
// operand; in an implicit GEMM they read the image through the patch gather
// instead, so the patches are never materialised, not even in f16.
// CHECK-NOT: _convert_dense
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[IMAGE:[^:]+]]: memref<1x6x6x16xf32>
// CHECK: scf.for
// CHECK: memref.load %[[IMAGE]]
// CHECK: arith.truncf
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @conv_f16
// CHECK-NOT: _convert_dense
func.func @conv_f16(%img: tensor<1x6x6x16xf32>,
                    %f: tensor<3x3x16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1x1x1xi8>>>,
                    %acc: tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%img, %f : tensor<1x6x6x16xf32>, tensor<3x3x16x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1x1x1xi8>>>)
      outs(%acc : tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
  return %r : tensor<1x4x4x16xf32>
}
