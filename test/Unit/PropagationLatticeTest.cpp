//===- PropagationLatticeTest.cpp - Tests of the propagation lattice ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The lattice of propagation: `SparsityMap::join` (element-wise maximum),
// the lattice states built on it, the element types it tracks, and the
// payload summaries its rules read.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/BodySummary.h"
#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace tesa;

namespace {

SparsityMap makeMap(llvm::ArrayRef<int64_t> shape,
                    llvm::ArrayRef<int64_t> grid, std::vector<uint8_t> entries) {
  return llvm::cantFail(SparsityMap::get(shape, grid, std::move(entries)));
}

TEST(SparsityJoinTest, KeepsWhatEitherKeepsAtTheWiderWidth) {
  SparsityMap a = makeMap({2, 2}, {2, 2}, {0, 8, 4, 0});
  SparsityMap b = makeMap({2, 2}, {2, 2}, {0, 4, 32, 16});
  EXPECT_EQ(a.join(b), makeMap({2, 2}, {2, 2}, {0, 8, 32, 16}));
}

TEST(SparsityJoinTest, IsCommutativeIdempotentAndAnUpperBound) {
  SparsityMap a = makeMap({4, 4}, {2, 1}, {32, 0});
  SparsityMap b = makeMap({4, 4}, {1, 4}, {0, 8, 0, 8});
  SparsityMap joined = a.join(b);
  EXPECT_EQ(joined, b.join(a));
  EXPECT_EQ(a.join(a), a.getCanonical());
  // Joining with the join changes nothing: it is an upper bound of both.
  EXPECT_EQ(joined.join(a), joined);
  EXPECT_EQ(joined.join(b), joined);
  // And meet is its dual: meet(a, join(a, b)) = a.
  EXPECT_TRUE(a.meet(joined).isEquivalentTo(a));
}

TEST(SparsityJoinTest, CombinesDifferentGridsExactly) {
  // Rows 0-1 kept at 32 in one map, column 0-1 kept at 8 in the other.
  SparsityMap rows = makeMap({4, 4}, {2, 1}, {32, 0});
  SparsityMap cols = makeMap({4, 4}, {1, 2}, {8, 0});
  SparsityMap joined = rows.join(cols);
  EXPECT_EQ(joined.getBits({0, 3}), 32);
  EXPECT_EQ(joined.getBits({3, 0}), 8);
  EXPECT_EQ(joined.getBits({3, 3}), 0);
  EXPECT_TRUE(joined.isCanonical());
  EXPECT_EQ(joined.getGridShape(), llvm::ArrayRef<int64_t>({2, 2}));
}

TEST(SparsityJoinTest, BottomIsTheIdentity) {
  SparsityMap bottom = SparsityMap::getUniform({3, 5}, kPrunedBits);
  SparsityMap a = makeMap({3, 5}, {3, 5},
                          {0, 4, 8, 16, 32, 0, 4, 8, 16, 32, 0, 4, 8, 16, 32});
  EXPECT_EQ(bottom.join(a), a.getCanonical());
}

TEST(FullBitsTest, FollowsTheElementWidth) {
  MLIRContext context;
  Builder b(&context);
  EXPECT_EQ(getFullBits(b.getF32Type()), 32);
  EXPECT_EQ(getFullBits(b.getF64Type()), 32);
  EXPECT_EQ(getFullBits(b.getF16Type()), 16);
  EXPECT_EQ(getFullBits(b.getI8Type()), 8);
  EXPECT_EQ(getFullBits(b.getIndexType()), 32);
  EXPECT_EQ(getFullBits(b.getI1Type()), std::nullopt);
}

TEST(FullBitsTest, TracksStaticTensorsOnly) {
  MLIRContext context;
  context.loadDialect<TesaDialect>();
  Builder b(&context);
  EXPECT_TRUE(getTrackedTensorType(RankedTensorType::get({4}, b.getF32Type())));
  EXPECT_FALSE(getTrackedTensorType(
      RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type())));
  EXPECT_FALSE(getTrackedTensorType(RankedTensorType::get({4}, b.getI1Type())));
  EXPECT_FALSE(getTrackedTensorType(UnrankedTensorType::get(b.getF32Type())));
  EXPECT_FALSE(getTrackedTensorType(b.getF32Type()));
}

class BodySummaryTest : public ::testing::Test {
protected:
  BodySummaryTest() {
    context.loadDialect<arith::ArithDialect, func::FuncDialect,
                        linalg::LinalgDialect, math::MathDialect,
                        tensor::TensorDialect, TesaDialect>();
  }

  /// The payload of the first linalg op in `source`.
  Block &payload(llvm::StringRef source) {
    module = parseSourceString<ModuleOp>(source, &context);
    EXPECT_TRUE(module);
    linalg::LinalgOp op;
    module->walk([&](linalg::LinalgOp found) { op = found; });
    return *op.getBlock();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

constexpr llvm::StringLiteral kBiasRelu = R"mlir(
func.func @f(%x: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
)mlir";

TEST_F(BodySummaryTest, BiasReluIsZeroIffBothInputsAre) {
  std::string reason;
  FailureOr<BodySummary> summary = BodySummary::analyse(payload(kBiasRelu), reason);
  ASSERT_TRUE(succeeded(summary)) << reason;
  EXPECT_FALSE(summary->isScrambled());
  EXPECT_FALSE(summary->isZero(0, 0b001));
  EXPECT_FALSE(summary->isZero(0, 0b010));
  EXPECT_TRUE(summary->isZero(0, 0b011));
  EXPECT_EQ(summary->getDependences(0, 0), 0b011u);
  EXPECT_EQ(summary->getPreservedArguments(0), 0u);
}

TEST_F(BodySummaryTest, ScramblingAgreesWithTheAnalysis) {
  Block &body = payload(kBiasRelu);
  std::string reason;
  FailureOr<BodySummary> analysed = BodySummary::analyse(body, reason);
  FailureOr<BodySummary> scrambled = BodySummary::scramble(body, 4, 7, reason);
  ASSERT_TRUE(succeeded(analysed) && succeeded(scrambled)) << reason;
  EXPECT_TRUE(scrambled->isScrambled());
  for (uint32_t zero = 0; zero < 8; ++zero) {
    EXPECT_EQ(analysed->isZero(0, zero), scrambled->isZero(0, zero)) << zero;
    EXPECT_EQ(analysed->getDependences(0, zero),
              scrambled->getDependences(0, zero))
        << zero;
  }
}

TEST_F(BodySummaryTest, MatmulPayloadIsAMultiplyAccumulate) {
  Block &body = payload(R"mlir(
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>, %c: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x2xf32>) outs(%c : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}
)mlir");
  std::string reason;
  FailureOr<BodySummary> summary = BodySummary::analyse(body, reason);
  ASSERT_TRUE(succeeded(summary)) << reason;
  EXPECT_TRUE(summary->isMultiplyAccumulate(0, 1, 2));
  EXPECT_FALSE(summary->isMultiplyAccumulate(0, 2, 1));
  // Where b is zero, a is irrelevant (b and the accumulator still matter).
  EXPECT_EQ(summary->getDependences(0, 0b010), 0b110u);
}

TEST_F(BodySummaryTest, UnknownOpsNeedScrambling) {
  Block &body = payload(R"mlir(
func.func @f(%x: tensor<4xf32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %s = math.sin %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
)mlir");
  std::string reason;
  EXPECT_TRUE(failed(BodySummary::analyse(body, reason)));
  EXPECT_NE(reason.find("math.sin"), std::string::npos);
  FailureOr<BodySummary> scrambled = BodySummary::scramble(body, 4, 1, reason);
  ASSERT_TRUE(succeeded(scrambled)) << reason;
  // sin(0) = 0, and the output ignores the init.
  EXPECT_TRUE(scrambled->isZero(0, 0b01));
  EXPECT_EQ(scrambled->getDependences(0, 0), 0b01u);
}

} // namespace
