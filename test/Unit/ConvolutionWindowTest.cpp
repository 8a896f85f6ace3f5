//===- ConvolutionWindowTest.cpp - The convolution family's unrolling ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// getFirstUnrolledLoop (lib/Codegen/Families/Convolution.cpp): the
// innermost reduction loops whose product fits the taps a thread unrolls
// are unrolled, the loops before them stay loops.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

TEST(ConvolutionWindow, DepthwiseWindowIsUnrolled) {
  // kh, kw of a 3x3 depthwise convolution: nine taps.
  EXPECT_EQ(getFirstUnrolledLoop({3, 3}), 0u);
  // c, kh, kw of MobileNet-V2's first convolution: 27 taps.
  EXPECT_EQ(getFirstUnrolledLoop({3, 3, 3}), 0u);
}

TEST(ConvolutionWindow, ChannelsBeyondTheTapsLoop) {
  // 16 channels of 3x3: the channel loop is a loop, its nine taps unrolled.
  EXPECT_EQ(getFirstUnrolledLoop({16, 3, 3}), 1u);
  // Exactly the taps a thread unrolls: all of them.
  EXPECT_EQ(getFirstUnrolledLoop({4, 4, 4}, 64), 0u);
  EXPECT_EQ(getFirstUnrolledLoop({5, 4, 4}, 64), 1u);
}

TEST(ConvolutionWindow, LongInnermostLoopIsNotUnrolled) {
  EXPECT_EQ(getFirstUnrolledLoop({7, 100}), 2u);
  EXPECT_EQ(getFirstUnrolledLoop({}), 0u);
}

} // namespace
