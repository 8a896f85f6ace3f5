//===- HalfFloatMath.cpp - 16-bit float math computed in f32 --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/HalfFloatMath.h"

#include <cmath>
#include <cstdint>

using namespace llvm;

bool tesa::isHalfFloatFormat(const fltSemantics &semantics) {
  return &semantics == &APFloat::IEEEhalf() || &semantics == &APFloat::BFloat();
}

void tesa::forEachHalfFloatValue(const fltSemantics &semantics,
                                 function_ref<void(float)> function) {
  for (uint32_t bits = 0; bits <= UINT16_MAX; ++bits)
    function(APFloat(semantics, APInt(16, bits)).convertToFloat());
}

APFloat tesa::roundToFormat(const fltSemantics &semantics, double value) {
  APFloat rounded(value);
  bool losesInfo = false;
  rounded.convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
  return rounded;
}

bool tesa::isSameValue(const APFloat &a, const APFloat &b) {
  return (a.isNaN() && b.isNaN()) || a.bitwiseIsEqual(b);
}

bool tesa::isReciprocalMultiplicationExact(const APFloat &divisor,
                                           float reciprocal) {
  const fltSemantics &semantics = divisor.getSemantics();
  if (!isHalfFloatFormat(semantics))
    return false;
  bool exact = true;
  forEachHalfFloatValue(semantics, [&](float x) {
    if (!exact)
      return;
    APFloat quotient = roundToFormat(semantics, x);
    quotient.divide(divisor, APFloat::rmNearestTiesToEven);
    float product = x * reciprocal;
    exact = isSameValue(quotient, roundToFormat(semantics, product));
  });
  return exact;
}

/// `coefficients` (lowest degree first) at `x` by Horner's rule, one fused
/// multiply-add a coefficient, as the expanded erf's ops compute it.
template <size_t N>
static float evaluatePolynomial(const std::array<float, N> &coefficients,
                                float x) {
  float result = coefficients[N - 1];
  for (size_t i = N - 1; i-- > 0;)
    result = std::fma(result, x, coefficients[i]);
  return result;
}

float tesa::evaluateHalfErfMagnitude(float x) {
  using P = HalfErfPolynomials;
  float t = std::fabs(x);
  // min(t, clamp) that keeps a NaN, as arith.minimumf does.
  if (t > P::clamp)
    t = P::clamp;
  return std::fma(t, evaluatePolynomial(P::odd, t * t), t);
}

float tesa::evaluateHalfErf(float x) {
  return std::copysign(evaluateHalfErfMagnitude(x), x);
}
