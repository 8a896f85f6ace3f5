//===- ConvolutionWindowTest.cpp - The convolution family's unrolling ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// getFirstUnrolledLoop (lib/Codegen/Families/Convolution.cpp): the
// innermost reduction loops whose product fits the taps a thread unrolls
// are unrolled, the loops before them stay loops. getConvolutionRun
// (lib/Transforms/ChooseTileConfigs.cpp): the outputs a thread computes
// along a row divide the row.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Transforms/KernelRegions.h"

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

TEST(ConvolutionWindow, RunsDivideTheRow) {
  // MobileNet-V2's rows at batch 32: 112, 56, 28, 14 and 7 outputs. An even
  // row takes its longest power of two (one aligned vector store), an odd
  // one its longest divisor.
  EXPECT_EQ(getConvolutionRun(112, 8), 8);
  EXPECT_EQ(getConvolutionRun(56, 8), 8);
  EXPECT_EQ(getConvolutionRun(28, 8), 4);
  EXPECT_EQ(getConvolutionRun(14, 8), 2);
  EXPECT_EQ(getConvolutionRun(7, 8), 7);
  EXPECT_EQ(getConvolutionRun(10, 8), 2);
  EXPECT_EQ(getConvolutionRun(15, 8), 5);
  // Shorter than the longest run: the whole row; a prime: one output.
  EXPECT_EQ(getConvolutionRun(5, 8), 5);
  EXPECT_EQ(getConvolutionRun(4, 8), 4);
  EXPECT_EQ(getConvolutionRun(17, 8), 1);
  // The longest run 1: one output a thread.
  EXPECT_EQ(getConvolutionRun(112, 1), 1);
  EXPECT_EQ(getConvolutionRun(112, 4), 4);
}

} // namespace
