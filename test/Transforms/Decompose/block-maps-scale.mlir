// RUN: tesa-opt %s --tesa-propagate="report=%t.txt" --tesa-decompose=remarks=true --tesa-check-decomposition -o /dev/null 2>&1 | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.txt

// A 65536x65536 weight with a 2x2 map (2^32 elements) goes through
// propagation, its report, decomposition and the cover check on the maps'
// grids and on cells of the smallest menu block: about 3 s and 0.8 GB,
// where planning per element was killed at 24 GB for half this size. The
// weight's pruned columns make half the result zero.

// REPORT:     @big      %2     linalg.matmul  4x65536      0.00%          50.00%        32           32          zero from linalg.matmul
// CHECK-DAG:  remark: decomposed operand 1 into 1 part; 524288 blocks of 64x64 at 32 bits
// CHECK-DAG:  remark: exact disjoint cover of 2147483648 elements by 1 parts
func.func @big(%x: tensor<4x65536xf32>, %w: tensor<65536x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<4x65536xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x65536xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x65536xf32>, tensor<65536x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x65536xf32>) -> tensor<4x65536xf32>
  return %y : tensor<4x65536xf32>
}

// Blocks of 6561 share no factor with the menu's blocks, so the planner
// would work per element: 387M cells, more than it takes on. The product is
// computed densely instead, with a remark.

// CHECK-DAG: remark: sparse product not decomposed: planning its operand 1 takes 387420489 cells, more than the 268435456 decomposition plans; it is computed densely
func.func @odd(%x: tensor<4x19683xf32>, %w: tensor<19683x19683xf32, #tesa.sparsity<map = dense<[[0, 32, 0], [32, 0, 0], [0, 0, 32]]> : tensor<3x3xi8>>>) -> tensor<4x19683xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x19683xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x19683xf32>) -> tensor<4x19683xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x19683xf32>, tensor<19683x19683xf32, #tesa.sparsity<map = dense<[[0, 32, 0], [32, 0, 0], [0, 0, 32]]> : tensor<3x3xi8>>>) outs(%acc : tensor<4x19683xf32>) -> tensor<4x19683xf32>
  return %y : tensor<4x19683xf32>
}
