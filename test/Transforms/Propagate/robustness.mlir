// RUN: tesa-opt %s --tesa-propagate 2>&1 | FileCheck %s

// Programs outside what the rules handle are propagated conservatively, with
// a remark, never a crash: dynamic shapes, empty tensors, external callees,
// recursion, i1 tensors, memref ops, non-linear indexing maps, f64 and f16.

// CHECK: 21:8: remark: tesa-propagate: no propagation rule for 'linalg.matmul' (its results are not statically shaped tensors)
// CHECK: 28:8: remark: tesa-propagate: no propagation rule for 'linalg.matmul' (its results are not statically shaped tensors)
// CHECK: 43:8: remark: tesa-propagate: no propagation rule for 'linalg.generic' (an operand's elements (i1) are narrower than the 4 bits a fact keeps); nothing is pruned through it
// CHECK: 57:8: remark: tesa-propagate: rule for 'linalg.generic' derived by tensor scrambling
// CHECK-LABEL: func.func @modulo(
// CHECK-SAME: %arg0: tensor<8xf32, #tesa.sparsity<map = dense<[32, 0]> : tensor<2xi8>>>) -> tensor<4xf32>
// CHECK-LABEL: func.func @fp16(
// CHECK-SAME: -> tensor<4xf16, #tesa.sparsity<map = dense<[16, 0, 8, 0]> : tensor<4xi8>>>
func.func @dyn(%x: tensor<?x4xf32>, %w: tensor<4x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%d) : tensor<?x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
func.func @zero_size(%x: tensor<0x4xf32>, %w: tensor<4x4xf32, #tesa.sparsity<map = dense<[[32], [0], [32], [0]]> : tensor<4x1xi8>>>) -> tensor<0x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<0x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<0x4xf32>) -> tensor<0x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<0x4xf32>, tensor<4x4xf32, #tesa.sparsity<map = dense<[[32], [0], [32], [0]]> : tensor<4x1xi8>>>) outs(%f : tensor<0x4xf32>) -> tensor<0x4xf32>
  return %y : tensor<0x4xf32>
}
func.func private @external(tensor<4xf32>) -> tensor<4xf32>
func.func @calls_external(%x: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32> {
  %c = tesa.annotate %x : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> -> tensor<4xf32>
  %y = call @external(%c) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
func.func @recursive(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = call @recursive(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
func.func @bools(%x: tensor<4xi1>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x, %y : tensor<4xi1>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: i1, %b: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %s = arith.select %a, %b, %z : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @memref(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
func.func @modulo(%x: tensor<8xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i mod 8)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @f64(%x: tensor<4xf64, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.exp ins(%x : tensor<4xf64, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  return %r : tensor<4xf64>
}
func.func @fp16(%x: tensor<4xf16, #tesa.sparsity<map = dense<[16, 0, 8, 0]> : tensor<4xi8>>>) -> tensor<4xf16> {
  %e = tensor.empty() : tensor<4xf16>
  %r = linalg.transpose ins(%x : tensor<4xf16, #tesa.sparsity<map = dense<[16, 0, 8, 0]> : tensor<4xi8>>>) outs(%e : tensor<4xf16>) permutation = [0]
  return %r : tensor<4xf16>
}
