// RUN: tesa-opt %s --tesa-propagate="report=-" -o /dev/null | FileCheck %s
// RUN: tesa-opt %s --tesa-propagate="report=%t.json report-format=json" -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON < %t.json

// The report counts on the maps' blocks, not per element: a 2^31-element
// weight with a 2x2 map costs four entries (per element it took 34 s and
// 8.5 GB). The weight's pruned columns make half of the result zero.

// CHECK:      @big      %arg1  argument       32768x65536  50.00%         50.00%        32           32          -
// CHECK-NEXT: @big      %2     linalg.matmul  4x65536      0.00%          50.00%        32           32          zero from linalg.matmul
// CHECK-NEXT: total: 3 tensors, 2147876864 elements; pruned before 1073741824 (49.99%), after 1073872896 (50.00%), 1.00x

// JSON:      "newly_zero": 131072,
// JSON-NEXT: "producer": "linalg.matmul",
// JSON-NEXT: "shape": [
// JSON-NEXT:   4,
// JSON-NEXT:   65536
// JSON-NEXT: ],
// JSON-NEXT: "value": "%2"
func.func @big(%x: tensor<4x32768xf32>, %w: tensor<32768x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<4x65536xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x65536xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x32768xf32>, tensor<32768x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  return %y : tensor<4x65536xf32>
}
