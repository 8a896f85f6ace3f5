// RUN: tesa-opt %s --split-input-file --tesa-expand-half-erf | FileCheck %s

// erf of an f16: in f32, t = min(|x|, 2.5996), t + t * Q(t^2) (Q of
// degree 10), rounded to f16, x's sign bit set on it.
// CHECK-LABEL: func.func @erf_f16(
// CHECK-SAME: %[[X:.*]]: f16
// CHECK: %[[W:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK: %[[A:.*]] = math.absf %[[W]] : f32
// CHECK: %[[CLAMP:.*]] = arith.constant 2.59960938 : f32
// CHECK: %[[T:.*]] = arith.minimumf %[[A]], %[[CLAMP]] : f32
// CHECK: %[[S:.*]] = arith.mulf %[[T]], %[[T]] : f32
// CHECK-COUNT-9: math.fma %{{.*}}, %[[S]], %{{.*}} : f32
// CHECK: %[[Q:.*]] = math.fma %{{.*}}, %[[S]], %{{.*}} : f32
// CHECK-NOT: math.fma %{{.*}}, %[[S]]
// CHECK: %[[M:.*]] = math.fma %[[T]], %[[Q]], %[[T]] : f32
// CHECK: %[[R:.*]] = arith.truncf %[[M]] : f32 to f16
// CHECK: %[[SIGNBIT:.*]] = arith.constant -32768 : i16
// CHECK: %[[XBITS:.*]] = arith.bitcast %[[X]] : f16 to i16
// CHECK: %[[SIGN:.*]] = arith.andi %[[XBITS]], %[[SIGNBIT]] : i16
// CHECK: %[[RBITS:.*]] = arith.bitcast %[[R]] : f16 to i16
// CHECK: %[[EBITS:.*]] = arith.ori %[[RBITS]], %[[SIGN]] : i16
// CHECK: %[[E:.*]] = arith.bitcast %[[EBITS]] : i16 to f16
// CHECK: return %[[E]]
func.func @erf_f16(%x: f16) -> f16 {
  %e = math.erf %x : f16
  return %e : f16
}

// -----

// bf16 the same way, inside a payload.
// CHECK-LABEL: func.func @erf_bf16_payload(
// CHECK: ^bb0(%[[IN:.*]]: bf16, %{{.*}}: bf16):
// CHECK: arith.extf %[[IN]] : bf16 to f32
// CHECK-NOT: math.erf
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[E:.*]] = arith.bitcast %{{.*}} : i16 to bf16
// CHECK: linalg.yield %[[E]] : bf16
func.func @erf_bf16_payload(%x: tensor<8xbf16>) -> tensor<8xbf16> {
  %e = tensor.empty() : tensor<8xbf16>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xbf16>) outs(%e : tensor<8xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %r = math.erf %in : bf16
    linalg.yield %r : bf16
  } -> tensor<8xbf16>
  return %y : tensor<8xbf16>
}

// -----

// erf of f32 and f64 is left to the target's library.
// CHECK-LABEL: func.func @erf_wide(
// CHECK-SAME: %[[X:.*]]: f32, %[[Y:.*]]: f64
// CHECK: %[[A:.*]] = math.erf %[[X]] : f32
// CHECK: %[[B:.*]] = math.erf %[[Y]] : f64
// CHECK: return %[[A]], %[[B]]
func.func @erf_wide(%x: f32, %y: f64) -> (f32, f64) {
  %a = math.erf %x : f32
  %b = math.erf %y : f64
  return %a, %b : f32, f64
}
