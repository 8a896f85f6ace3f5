//===- SparsityAttrTest.cpp - Tests of #tesa.sparsity ---------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace tesa;

namespace {

class SparsityAttrTest : public ::testing::Test {
protected:
  SparsityAttrTest() { context.loadDialect<TesaDialect>(); }

  SparsityMap makeMap(llvm::ArrayRef<int64_t> shape,
                      llvm::ArrayRef<int64_t> grid,
                      std::vector<uint8_t> entries) {
    return llvm::cantFail(SparsityMap::get(shape, grid, std::move(entries)));
  }

  /// The error `verifyEncoding` reports for `attr` on a tensor type.
  std::string encodingError(SparsityAttr attr, llvm::ArrayRef<int64_t> shape,
                            Type elementType) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    if (succeeded(attr.verifyEncoding(shape, elementType, [&] {
          return emitError(UnknownLoc::get(&context));
        })))
      return "";
    return message;
  }

  MLIRContext context;
};

TEST_F(SparsityAttrTest, UniformMapBuildsBitsForm) {
  SparsityAttr attr = SparsityAttr::get(&context, SparsityMap::getUniform({8, 8}, 16));
  EXPECT_TRUE(attr.isUniform());
  EXPECT_EQ(attr.getUniformBits(), 16u);
}

TEST_F(SparsityAttrTest, EqualSparsityGivesIdenticalAttributeAndType) {
  SparsityMap perElement = makeMap(
      {4, 4}, {4, 4}, {8, 8, 0, 0, 8, 8, 0, 0, 16, 16, 32, 32, 16, 16, 32, 32});
  SparsityMap blocks = makeMap({4, 4}, {2, 2}, {8, 0, 16, 32});
  SparsityAttr a = SparsityAttr::get(&context, perElement);
  SparsityAttr b = SparsityAttr::get(&context, blocks);
  EXPECT_EQ(a, b);
  Type f32 = Float32Type::get(&context);
  EXPECT_EQ(RankedTensorType::get({4, 4}, f32, a),
            RankedTensorType::get({4, 4}, f32, b));
  EXPECT_EQ(a.getGridShape(2), (llvm::SmallVector<int64_t>{2, 2}));
}

TEST_F(SparsityAttrTest, RoundTripsThroughSparsityMap) {
  SparsityMap blocks = makeMap({64, 32}, {2, 2}, {32, 0, 4, 8});
  SparsityAttr attr = SparsityAttr::get(&context, blocks);
  FailureOr<SparsityMap> back = attr.getSparsityMap(
      {64, 32}, [&] { return emitError(UnknownLoc::get(&context)); });
  ASSERT_TRUE(succeeded(back));
  EXPECT_EQ(*back, blocks);
  EXPECT_EQ(attr.getMaxBits(), std::optional<unsigned>(32));
}

TEST_F(SparsityAttrTest, VerifyEncodingChecksTheTensor) {
  SparsityAttr attr =
      SparsityAttr::get(&context, makeMap({4, 4}, {2, 2}, {8, 0, 16, 32}));
  Type f32 = Float32Type::get(&context);
  EXPECT_EQ(encodingError(attr, {4, 4}, f32), "");
  EXPECT_NE(encodingError(attr, {4}, f32).find("map rank 2 does not match "
                                               "tensor rank 1"),
            std::string::npos);
  EXPECT_NE(encodingError(attr, {4, 3}, f32).find("does not divide"),
            std::string::npos);
  EXPECT_NE(encodingError(attr, {4, 4}, Float16Type::get(&context))
                .find("wider than the element type"),
            std::string::npos);
  EXPECT_NE(encodingError(attr, {ShapedType::kDynamic, 4}, f32)
                .find("dynamic"),
            std::string::npos);
}

} // namespace
