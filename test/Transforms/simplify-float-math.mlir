// RUN: tesa-opt %s --split-input-file --tesa-simplify-float-math | FileCheck %s

// torch-mlir's f16 GELU divides by sqrt(2) in f16: the square root of the
// constant is folded (1.4140625 in f16) and the division is one f32
// multiplication by its reciprocal, exact for every f16.
// CHECK-LABEL: func.func @gelu_division(
// CHECK-SAME: %[[X:.*]]: f16
// CHECK-NOT: math.sqrt
// CHECK: %[[W:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK: %[[R:.*]] = arith.constant 0.707182347 : f32
// CHECK: %[[P:.*]] = arith.mulf %[[W]], %[[R]] : f32
// CHECK: %[[Q:.*]] = arith.truncf %[[P]] : f32 to f16
// CHECK: return %[[Q]]
func.func @gelu_division(%x: f16) -> f16 {
  %c2 = arith.constant 2.0 : f16
  %s = math.sqrt %c2 : f16
  %q = arith.divf %x, %s : f16
  return %q : f16
}

// -----

// A power of two with an exact reciprocal: a multiplication in the same
// type (f32 here: no exhaustive check is needed).
// CHECK-LABEL: func.func @power_of_two(
// CHECK-SAME: %[[X:.*]]: f32
// CHECK: %[[R:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[R]] : f32
// CHECK: return %[[P]]
func.func @power_of_two(%x: f32) -> f32 {
  %c8 = arith.constant 8.0 : f32
  %q = arith.divf %x, %c8 : f32
  return %q : f32
}

// -----

// Other f32 divisors stay divisions (their reciprocals are not exact for
// every f32), as do divisions by zero and by values not known.
// CHECK-LABEL: func.func @kept_divisions(
// CHECK-SAME: %[[X:.*]]: f32, %[[Y:.*]]: f32, %[[H:.*]]: f16
// CHECK-DAG: %[[C3:.*]] = arith.constant 3.000000e+00 : f32
// CHECK-DAG: %[[C0:.*]] = arith.constant 0.000000e+00 : f16
// CHECK: %[[A:.*]] = arith.divf %[[X]], %[[C3]] : f32
// CHECK: %[[B:.*]] = arith.divf %[[X]], %[[Y]] : f32
// CHECK: %[[C:.*]] = arith.divf %[[H]], %[[C0]] : f16
// CHECK: return %[[A]], %[[B]], %[[C]]
func.func @kept_divisions(%x: f32, %y: f32, %h: f16) -> (f32, f32, f16) {
  %c3 = arith.constant 3.0 : f32
  %c0 = arith.constant 0.0 : f16
  %a = arith.divf %x, %c3 : f32
  %b = arith.divf %x, %y : f32
  %c = arith.divf %h, %c0 : f16
  return %a, %b, %c : f32, f32, f16
}

// -----

// bf16 divisions by constants, inside a linalg payload.
// CHECK-LABEL: func.func @bfloat_payload(
// CHECK: ^bb0(%[[IN:.*]]: bf16, %{{.*}}: bf16):
// CHECK: %[[W:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK: %[[P:.*]] = arith.mulf %[[W]], %{{.*}} : f32
// CHECK: %[[Q:.*]] = arith.truncf %[[P]] : f32 to bf16
// CHECK: linalg.yield %[[Q]] : bf16
func.func @bfloat_payload(%x: tensor<8xbf16>) -> tensor<8xbf16> {
  %c = arith.constant 3.0 : bf16
  %e = tensor.empty() : tensor<8xbf16>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xbf16>) outs(%e : tensor<8xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %q = arith.divf %in, %c : bf16
    linalg.yield %q : bf16
  } -> tensor<8xbf16>
  return %y : tensor<8xbf16>
}

// -----

// math ops of f16 constants fold to the correctly rounded value; of f32
// constants they are left to upstream's folders, of non-constants kept.
// CHECK-LABEL: func.func @folded_math(
// CHECK-SAME: %[[X:.*]]: f16
// CHECK-DAG: %[[E:.*]] = arith.constant 8.427730e-01 : f16
// CHECK-DAG: %[[F:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[K:.*]] = math.exp %[[X]] : f16
// CHECK: %[[Z:.*]] = math.exp %[[F]] : f32
// CHECK: return %[[E]], %[[K]], %[[Z]]
func.func @folded_math(%x: f16) -> (f16, f16, f32) {
  %c1 = arith.constant 1.0 : f16
  %f1 = arith.constant 1.0 : f32
  %e = math.erf %c1 : f16
  %k = math.exp %x : f16
  %z = math.exp %f1 : f32
  return %e, %k, %z : f16, f16, f32
}
