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

/// The polynomial of the expanded 16-bit erf, in f32:
///   t = min(|x|, clamp)
///   erf(x) = copysign(fma(t, odd(t * t), t), x)
/// with `odd` evaluated by Horner's rule with fused multiply-adds from its
/// highest coefficient down (the expansion rounds the magnitude to the
/// format, then sets x's sign bit: the same value, since rounding to
/// nearest is symmetric and the magnitude is never negative;
/// HalfFloatMathTest checks that it is not). `odd(s)` is
/// erf(sqrt(s)) / sqrt(s) - 1 on [0, clamp^2], fitted to near-minimax
/// relative error (Chebyshev-weighted least squares, then the f32
/// coefficients nudged by a few ulps until no value misses;
/// scripts/fit_half_erf.py); at `clamp`
/// (the f16 value 2.6) erf rounds to 1 in both 16-bit formats. Rounded to
/// f16 or bf16, the result is the correctly rounded erf of every value of
/// the format (HalfFloatMathTest checks each). One polynomial of degree 10
/// costs 13 f32 instructions an element where the two it replaced (below
/// and from 1, selected) cost 18.
struct HalfErfPolynomials {
  static constexpr float clamp = 0x1.4ccp+1f;
  /// Coefficients of `odd`, lowest degree first.
  static constexpr std::array<float, 11> odd = {
      0x1.06eba2p-3f,  -0x1.812696p-2f,  0x1.ce1fa2p-4f,  -0x1.b7a114p-6f,
      0x1.53c534p-8f,  -0x1.b17e14p-11f, 0x1.c3fc9cp-14f, -0x1.710224p-17f,
      0x1.b39d40p-21f, -0x1.44894cp-25f, 0x1.c34a1cp-31f};
};

/// |erf(x)| of `x` (a value of a 16-bit format) as the emitted ops compute
/// it in f32, before rounding to the format.
float evaluateHalfErfMagnitude(float x);

/// The expanded erf of `x`, before rounding: evaluateHalfErfMagnitude with
/// the sign of `x`.
float evaluateHalfErf(float x);

} // namespace tesa

#endif // TESA_SUPPORT_HALFFLOATMATH_H
