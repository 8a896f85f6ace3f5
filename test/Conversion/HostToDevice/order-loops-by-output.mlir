// RUN: tesa-opt %s --split-input-file --tesa-order-loops-by-output | FileCheck %s

// A depthwise convolution iterates (n, oh, ow, c, kh, kw); in the output's
// order the channel loop comes second and the image's columns last.
// CHECK-DAG: #[[IMAGE:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d3 + d5)>
// CHECK-DAG: #[[FILTER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d4, d5)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @depthwise
// CHECK: linalg.generic {indexing_maps = [#[[IMAGE]], #[[FILTER]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
func.func @depthwise(%x: memref<2x4x10x10xf32>, %w: memref<4x3x3xf32>, %y: memref<2x4x8x8xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : memref<2x4x10x10xf32>, memref<4x3x3xf32>) outs(%y : memref<2x4x8x8xf32>)
  return
}

// -----

// Loops already in the output's order stay as they are.
// CHECK-LABEL: func.func @in_order
// CHECK: linalg.matmul
func.func @in_order(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
