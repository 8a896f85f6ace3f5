//===- StagedCopyTest.cpp - The size of a staged operand's copies ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// getStagedCopyBytes and checkStagedOperand (lib/Codegen/Tile/StagedTile.cpp):
// each copy of a slice is the widest of 16, 8 and 4 bytes that the
// operand's contiguous extent, the slice's and every stride divide, else one
// element; only narrow-copy users accept less than 16.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/StagedTile.h"

#include "gtest/gtest.h"

using namespace tesa;

namespace {

// A batched pointwise convolution's image, read [k][n] (loops: batch 0,
// rows n 1, reduction k 2): n contiguous, k `pixels` apart, images
// `channels * pixels` apart. Slices of 128 rows by 64 of K.
int64_t imageCopyBytes(int64_t channels, int64_t pixels) {
  return getStagedCopyBytes({channels * pixels, 1, pixels}, /*rowLoop=*/1,
                            /*kLoop=*/2, /*rows=*/pixels, /*k=*/channels,
                            /*tileRows=*/128, /*depth=*/64);
}

TEST(StagedCopy, MobileNetImages) {
  // 56x56 and 28x28 images: 16-byte pieces.
  EXPECT_EQ(imageCopyBytes(24, 3136), 16);
  EXPECT_EQ(imageCopyBytes(32, 784), 16);
  // 14x14: rows of 196 f16, 392 bytes, in 8-byte pieces.
  EXPECT_EQ(imageCopyBytes(64, 196), 8);
  // 7x7: rows of 49, odd: one element (2 bytes) at a time.
  EXPECT_EQ(imageCopyBytes(160, 49), 2);
}

TEST(StagedCopy, RowMajorAlongK) {
  // x [m][k] read along K: K of 90 is in 4-byte pieces (two f16), 100 in
  // 8-byte ones.
  EXPECT_EQ(getStagedCopyBytes({90, 1}, 0, 1, 70, 90, 64, 64), 4);
  EXPECT_EQ(getStagedCopyBytes({100, 1}, 0, 1, 70, 100, 64, 64), 8);
  // A slice depth of 4 elements caps the pieces at 8 bytes.
  EXPECT_EQ(getStagedCopyBytes({64, 1}, 0, 1, 64, 64, 64, 4), 8);
}

TEST(StagedCopy, F32Elements) {
  // f32: 16 bytes is four elements; the narrowest copy is one element of 4.
  EXPECT_EQ(getStagedCopyBytes({64, 1}, 0, 1, 64, 64, 32, 32, 4), 16);
  EXPECT_EQ(getStagedCopyBytes({66, 1}, 0, 1, 64, 66, 32, 32, 4), 8);
  EXPECT_EQ(getStagedCopyBytes({63, 1}, 0, 1, 64, 63, 32, 32, 4), 4);
}

TEST(StagedCopy, NotContiguous) {
  EXPECT_EQ(getStagedCopyBytes({64, 2}, 0, 1, 64, 64, 64, 64), 0);
  EXPECT_TRUE(checkStagedOperand({64, 2}, 0, 1, 64, 64, 64, 64).has_value());
  EXPECT_TRUE(checkStagedOperand({64, 2}, 0, 1, 64, 64, 64, 64, 2,
                                 /*narrowCopies=*/true)
                  .has_value());
}

TEST(StagedCopy, NarrowCopiesOnlyWhereAllowed) {
  // 16-byte pieces pass either way; narrower ones only with narrowCopies.
  EXPECT_FALSE(checkStagedOperand({64, 1}, 0, 1, 64, 64, 64, 64));
  EXPECT_TRUE(checkStagedOperand({90, 1}, 0, 1, 70, 90, 64, 64).has_value());
  EXPECT_FALSE(checkStagedOperand({90, 1}, 0, 1, 70, 90, 64, 64, 2,
                                  /*narrowCopies=*/true));
}

} // namespace
