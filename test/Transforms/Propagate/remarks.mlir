// RUN: tesa-opt %s --tesa-propagate -split-input-file -verify-diagnostics | FileCheck %s

// Ops without a hand-written rule are never silently treated as dense: the
// pass either derives a rule by scrambling or says it could not.

#half = #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>

// CHECK-LABEL: func.func @payload_scrambled(
// CHECK-SAME: -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
func.func @payload_scrambled(%x: tensor<4xf32, #half>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-remark @below {{rule for the payload of 'linalg.generic' derived by tensor scrambling}}
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32, #half>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.sin %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

#half = #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>

// CHECK-LABEL: func.func @op_scrambled(
// CHECK-SAME: -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
func.func @op_scrambled(%x: tensor<4xf32, #half>) -> tensor<4xf32> {
  // expected-remark @below {{rule for 'math.sin' derived by tensor scrambling}}
  %r = math.sin %x : tensor<4xf32, #half>
  %c = tesa.annotate %r : tensor<4xf32, #half> -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

#half = #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>

// math.log1p is known to neither the payload analysis nor the interpreter:
// the result is treated as dense and its input as fully needed.
// CHECK-LABEL: func.func @conservative(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32> {
func.func @conservative(%x: tensor<4xf32, #half>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-remark @below {{no propagation rule for 'linalg.generic' (the payload has 'math.log1p', which the body analysis does not know}}
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32, #half>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.log1p %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
