//===- HalfFloatMathTest.cpp - Tests of 16-bit float math in f32 ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/HalfFloatMath.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace llvm;
using namespace tesa;

namespace {

const fltSemantics &half() { return APFloat::IEEEhalf(); }
const fltSemantics &bfloat() { return APFloat::BFloat(); }

/// The number of values of `semantics` whose expanded erf, rounded to the
/// format, is not the correctly rounded erf.
int countErfMisses(const fltSemantics &semantics) {
  int misses = 0;
  forEachHalfFloatValue(semantics, [&](float x) {
    APFloat expected = roundToFormat(semantics, std::erf(double(x)));
    APFloat computed = roundToFormat(semantics, evaluateHalfErf(x));
    if (!isSameValue(expected, computed)) {
      ADD_FAILURE() << "erf(" << x << "): " << computed.convertToFloat()
                    << " instead of " << expected.convertToFloat();
      ++misses;
    }
  });
  return misses;
}

TEST(HalfFloatMath, EnumeratesEveryValueOfTheFormat) {
  int count = 0, nans = 0, infinities = 0;
  float largest = 0;
  forEachHalfFloatValue(half(), [&](float x) {
    ++count;
    nans += std::isnan(x);
    infinities += std::isinf(x);
    if (std::isfinite(x))
      largest = std::max(largest, x);
  });
  EXPECT_EQ(count, 65536);
  EXPECT_EQ(nans, 2 * 1023);
  EXPECT_EQ(infinities, 2);
  EXPECT_EQ(largest, 65504.0f);
}

TEST(HalfFloatMath, ExpandedErfIsCorrectlyRoundedForEveryHalf) {
  EXPECT_EQ(countErfMisses(half()), 0);
}

TEST(HalfFloatMath, ExpandedErfIsCorrectlyRoundedForEveryBFloat) {
  EXPECT_EQ(countErfMisses(bfloat()), 0);
}

// The expansion sets x's sign bit on the rounded magnitude (an `or`): it
// must have none of its own.
TEST(HalfFloatMath, ExpandedErfMagnitudeHasNoSignBit) {
  for (const fltSemantics *semantics : {&half(), &bfloat()})
    forEachHalfFloatValue(*semantics, [&](float x) {
      if (!std::isnan(x)) {
        EXPECT_FALSE(
            roundToFormat(*semantics, evaluateHalfErfMagnitude(x)).isNegative())
            << x;
      }
    });
}

TEST(HalfFloatMath, ExpandedErfKeepsSignsAndSpecialValues) {
  EXPECT_TRUE(std::signbit(evaluateHalfErf(-0.0f)));
  EXPECT_EQ(evaluateHalfErf(0.0f), 0.0f);
  EXPECT_FALSE(std::signbit(evaluateHalfErf(0.0f)));
  EXPECT_TRUE(std::isnan(evaluateHalfErf(NAN)));
  EXPECT_EQ(roundToFormat(half(), evaluateHalfErf(INFINITY)).convertToFloat(),
            1.0f);
  EXPECT_EQ(roundToFormat(half(), evaluateHalfErf(-INFINITY)).convertToFloat(),
            -1.0f);
}

TEST(HalfFloatMath, ReciprocalOfSqrtTwoDividesEveryHalfExactly) {
  // torch-mlir's f16 GELU divides by sqrt(2) rounded to f16.
  APFloat divisor = roundToFormat(half(), std::sqrt(2.0));
  float reciprocal = 1.0f / divisor.convertToFloat();
  EXPECT_TRUE(isReciprocalMultiplicationExact(divisor, reciprocal));
}

TEST(HalfFloatMath, ReciprocalsOfDivisorsInOneToTwoAreExact) {
  // Every 32nd f16 in [1, 2) (all 1024 pass; 20 ms each).
  for (int i = 0; i < 1024; i += 32) {
    float divisor = 1.0f + float(i) / 1024;
    EXPECT_TRUE(isReciprocalMultiplicationExact(roundToFormat(half(), divisor),
                                                1.0f / divisor))
        << divisor;
  }
}

TEST(HalfFloatMath, InexactReciprocalIsRejected) {
  APFloat divisor = roundToFormat(half(), 3.0);
  // The reciprocal of 3 off by 2^-12 of itself gives other quotients.
  float reciprocal = (1.0f / 3.0f) * (1.0f + 0x1p-12f);
  EXPECT_FALSE(isReciprocalMultiplicationExact(divisor, reciprocal));
}

TEST(HalfFloatMath, ReciprocalCheckTakesOnlySixteenBitFormats) {
  EXPECT_FALSE(isReciprocalMultiplicationExact(APFloat(3.0f), 1.0f / 3.0f));
}

} // namespace
