//===- HalfFloatMath.h - 16-bit float math computed in f32 ------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The arithmetic behind tesa's cheaper forms of 16-bit float math (the
// --tesa-simplify-float-math and --tesa-expand-half-erf passes): checks
// over every value of a 16-bit format that a form gives the op's result,
// and the f32 evaluation that the expanded erf emits, op for op, so that
// it can be checked on the host.
//
// Every check here enumerates the 65536 encodings of the format (IEEE half
// or bfloat16): 16-bit results can be proven exact by trying them all.
//
// The class depends on LLVM's support library only; it needs no MLIRContext.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_SUPPORT_HALFFLOATMATH_H
#define TESA_SUPPORT_HALFFLOATMATH_H

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <array>

namespace tesa {

/// True if `semantics` is a 16-bit format whose every value `float` holds
/// exactly (IEEE half, bfloat16): the formats the checks here enumerate.
bool isHalfFloatFormat(const llvm::fltSemantics &semantics);

/// Calls `function` with every finite, infinite and NaN value of the 16-bit
/// format `semantics` (see isHalfFloatFormat), as the exact float.
void forEachHalfFloatValue(const llvm::fltSemantics &semantics,
                           llvm::function_ref<void(float)> function);

/// `value` rounded to `semantics` (to nearest, ties to even).
llvm::APFloat roundToFormat(const llvm::fltSemantics &semantics, double value);

/// True if `a` and `b` are the same value: equal bits, or both NaN.
bool isSameValue(const llvm::APFloat &a, const llvm::APFloat &b);

/// True if, for every value x of the 16-bit format of `divisor`, the f32
/// product `x * reciprocal` rounded to that format is the format's quotient
/// `x / divisor` (IEEE division, rounded to nearest even): a division by
/// the constant `divisor` then computes as one f32 multiplication.
bool isReciprocalMultiplicationExact(const llvm::APFloat &divisor,
                                     float reciprocal);

/// The polynomials of the expanded 16-bit erf, in f32:
///   t = min(|x|, clamp)
///   erf(x) = copysign(t < split ? fma(t, small(t * t), t)
///                               : large(t - split), x)
/// (the expansion rounds the magnitude to the format, then sets x's sign
/// bit: the same value, since rounding to nearest is symmetric and the
/// magnitude is never negative; HalfFloatMathTest checks that it is not)
/// with `small` and `large` evaluated by Horner's rule with fused
/// multiply-adds from their highest coefficient down. `small(s)` is
/// erf(sqrt(s)) / sqrt(s) - 1 on [0, 1], `large(u)` is erf(1 + u) on
/// [0, clamp - 1], both fitted to near-minimax; at `clamp` (the f16 value
/// 2.6) erf rounds to 1 in both 16-bit formats. Rounded to f16 or bf16, the
/// result is the correctly rounded erf of every value of the format
/// (HalfFloatMathTest checks each).
struct HalfErfPolynomials {
  static constexpr float split = 1.0f;
  static constexpr float clamp = 0x1.4ccp+1f;
  /// Coefficients of `small`, lowest degree first.
  static constexpr std::array<float, 6> small = {
      0x1.06eba2p-3f,  -0x1.812688p-2f, 0x1.ce0bb0p-4f,
      -0x1.b5be30p-6f, 0x1.42c042p-8f,  -0x1.28c154p-11f};
  /// Coefficients of `large`, lowest degree first.
  static constexpr std::array<float, 9> large = {
      0x1.af7688p-1f, 0x1.a9074ap-2f,  -0x1.a854f2p-2f,
      0x1.11468ap-3f, 0x1.60cc5ap-4f,  -0x1.a14c96p-4f,
      0x1.51f32ap-5f, -0x1.e6b6cep-8f, 0x1.be4670p-12f};
};

/// |erf(x)| of `x` (a value of a 16-bit format) as the emitted ops compute
/// it in f32, before rounding to the format.
float evaluateHalfErfMagnitude(float x);

/// The expanded erf of `x`, before rounding: evaluateHalfErfMagnitude with
/// the sign of `x`.
float evaluateHalfErf(float x);

} // namespace tesa

#endif // TESA_SUPPORT_HALFFLOATMATH_H
