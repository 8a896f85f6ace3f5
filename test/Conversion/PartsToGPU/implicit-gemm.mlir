// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu=chip=sm_80 --canonicalize | FileCheck %s

// A convolution decomposed as a GEMM over its patches: the part's kernel
// reads the image itself, through the patch gather (stride 2: row
// oh * 2 + kh, column ow * 2 + kw), so the patches are never materialised.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[IMAGE:.*]]: memref<1x9x9x4xf32>
// CHECK: %[[OH:.*]] = arith.remui
// CHECK: memref.load %[[IMAGE]][
// CHECK-LABEL: func.func @strided
// CHECK-NOT: linalg.generic
// CHECK: %[[BUFFER:.*]] = bufferization.to_buffer %{{.*}} : tensor<1x9x9x4xf32> to memref<1x9x9x4xf32>
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args(%[[BUFFER]] : memref<1x9x9x4xf32>,
func.func @strided(%img: tensor<1x9x9x4xf32>,
                   %f: tensor<3x3x4x8xf32, #tesa.sparsity<map = dense<[[[[32, 0, 0, 32, 0, 32, 0, 0]]]]> : tensor<1x1x1x8xi8>>>,
                   %acc: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%img, %f : tensor<1x9x9x4xf32>, tensor<3x3x4x8xf32, #tesa.sparsity<map = dense<[[[[32, 0, 0, 32, 0, 32, 0, 0]]]]> : tensor<1x1x1x8xi8>>>)
      outs(%acc : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %r : tensor<1x4x4x8xf32>
}
