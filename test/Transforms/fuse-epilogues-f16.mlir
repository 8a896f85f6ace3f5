// RUN: tesa-opt %s --tesa-decompose --tesa-fuse-epilogues | FileCheck %s

// An f16 program (its 16-bit blocks kept in whole 32-column slabs, a part
// of f16 operands): the epilogue takes the part's f16 elements, as the
// verifier wants, not f32.
// CHECK-LABEL: func.func @relu_f16
// CHECK: %[[R:.*]] = tesa.part_matmul {{.*}} -> tensor<64x64xf16> epilogue {
// CHECK-NEXT: ^bb0(%[[V:.*]]: f16):
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f16
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[V]], %[[ZERO]] : f16
// CHECK-NEXT: tesa.yield %[[M]] : f16
// CHECK: return %[[R]]
func.func @relu_f16(%x: tensor<64x64xf16>, %w: tensor<64x64xf16, #tesa.sparsity<map = dense<[[16, 0]]> : tensor<1x2xi8>>>) -> tensor<64x64xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<64x64xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<64x64xf16>) -> tensor<64x64xf16>
  %p = linalg.matmul ins(%x, %w : tensor<64x64xf16>, tensor<64x64xf16, #tesa.sparsity<map = dense<[[16, 0]]> : tensor<1x2xi8>>>) outs(%acc : tensor<64x64xf16>) -> tensor<64x64xf16>
  %r = linalg.max ins(%p, %acc : tensor<64x64xf16>, tensor<64x64xf16>) outs(%e : tensor<64x64xf16>) -> tensor<64x64xf16>
  return %r : tensor<64x64xf16>
}
