//===- BodySummary.cpp - Zero and dependence facts of a payload -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/BodySummary.h"

#include "tesa/Analysis/ScalarEvaluation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <random>

using namespace mlir;
using namespace tesa;

BodySummary::BodySummary(unsigned numArguments, unsigned numYields,
                         bool scrambled)
    : numArguments(numArguments), numYields(numYields),
      yieldBits(llvm::Log2_32_Ceil(std::max(numYields, 1u))),
      scrambled(scrambled) {
  size_t size = (size_t(1) << numArguments) << yieldBits;
  zero.assign(size, false);
  dependences.assign(size, 0);
  preserved.assign(numYields, 0);
}

static LogicalResult checkShape(Block &body, std::string &reason) {
  if (body.getNumArguments() > BodySummary::kMaxArguments) {
    reason = "the payload has more than " +
             std::to_string(BodySummary::kMaxArguments) + " arguments";
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Abstract interpretation
//===----------------------------------------------------------------------===//

namespace {
/// What is known about a payload value for one set of zero arguments.
struct AbstractValue {
  bool zero = false;
  uint32_t dependences = 0;
};
} // namespace

/// The abstract value of a unary op that maps zero to zero.
static AbstractValue zeroPreserving(AbstractValue x) { return x; }

/// The abstract value of `op` (one result), or nullopt if `op` is unknown.
static std::optional<AbstractValue>
transfer(Operation *op, ArrayRef<AbstractValue> x) {
  using Result = std::optional<AbstractValue>;
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case([&](arith::ConstantOp c) -> Result {
        std::optional<double> v = getScalarConstant(c.getResult());
        if (!v)
          return std::nullopt;
        return AbstractValue{*v == 0.0, 0};
      })
      .Case<arith::MulFOp, arith::MulIOp, arith::AndIOp>([&](auto) {
        return AbstractValue{x[0].zero || x[1].zero,
                             (x[0].zero ? 0 : x[1].dependences) |
                                 (x[1].zero ? 0 : x[0].dependences)};
      })
      .Case<arith::DivFOp, arith::DivSIOp, arith::DivUIOp>([&](auto) {
        return AbstractValue{x[0].zero, x[0].dependences |
                                            (x[0].zero ? 0 : x[1].dependences)};
      })
      .Case<arith::AddFOp, arith::AddIOp, arith::SubFOp, arith::SubIOp,
            arith::OrIOp, arith::XOrIOp, arith::MaximumFOp, arith::MaxNumFOp,
            arith::MaxSIOp, arith::MaxUIOp, arith::MinimumFOp,
            arith::MinNumFOp, arith::MinSIOp, arith::MinUIOp>([&](auto) {
        return AbstractValue{x[0].zero && x[1].zero,
                             x[0].dependences | x[1].dependences};
      })
      .Case<arith::NegFOp, arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
            arith::UIToFPOp, arith::FPToSIOp, arith::FPToUIOp,
            arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp,
            arith::IndexCastOp, math::AbsFOp, math::SqrtOp, math::TanhOp,
            math::ErfOp>([&](auto) { return zeroPreserving(x[0]); })
      .Case<math::ExpOp>([&](auto) {
        return AbstractValue{false, x[0].dependences};
      })
      .Case<arith::CmpFOp, arith::CmpIOp>([&](auto) {
        return AbstractValue{false, x[0].dependences | x[1].dependences};
      })
      .Case([&](arith::SelectOp) {
        return AbstractValue{x[1].zero && x[2].zero,
                             x[0].dependences | x[1].dependences |
                                 x[2].dependences};
      })
      .Case([&](linalg::IndexOp) { return AbstractValue{false, 0}; })
      .Default([](Operation *) { return std::nullopt; });
}

/// The abstract value of a payload value defined outside the payload.
static AbstractValue outsideValue(Value value) {
  return AbstractValue{isZeroConstant(value), 0};
}

/// The arguments whose value `yielded` passes on unchanged.
static uint32_t preservedArguments(Value yielded, Block &body) {
  auto argumentBit = [&](Value v) -> uint32_t {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == &body ? 1u << arg.getArgNumber() : 0;
  };
  if (uint32_t bit = argumentBit(yielded))
    return bit;
  Operation *def = yielded.getDefiningOp();
  if (!isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp, arith::MaxSIOp,
                       arith::MinimumFOp, arith::MinNumFOp, arith::MinSIOp>(
          def))
    return 0;
  Value lhs = def->getOperand(0), rhs = def->getOperand(1);
  // relu: max(x, 0); max pooling: max(x, acc).
  if (isZeroConstant(rhs))
    return argumentBit(lhs);
  if (isZeroConstant(lhs))
    return argumentBit(rhs);
  uint32_t bits = argumentBit(lhs) | argumentBit(rhs);
  return llvm::popcount(bits) == 2 ? bits : 0;
}

FailureOr<BodySummary> BodySummary::analyse(Block &body,
                                            std::string &reason) {
  if (failed(checkShape(body, reason)))
    return failure();
  for (Operation &op : body.without_terminator()) {
    SmallVector<AbstractValue> probe(op.getNumOperands());
    if (op.getNumResults() != 1 || op.getNumRegions() != 0 ||
        !transfer(&op, probe)) {
      reason = "the payload has '" + op.getName().getStringRef().str() +
               "', which the body analysis does not know";
      return failure();
    }
  }
  unsigned numArgs = body.getNumArguments();
  Operation *terminator = body.getTerminator();
  BodySummary summary(numArgs, terminator->getNumOperands(),
                      /*scrambled=*/false);
  DenseMap<Value, AbstractValue> values;
  SmallVector<AbstractValue> operands;
  for (uint32_t zeroArgs = 0; zeroArgs < (1u << numArgs); ++zeroArgs) {
    values.clear();
    for (BlockArgument arg : body.getArguments()) {
      uint32_t bit = 1u << arg.getArgNumber();
      values[arg] = AbstractValue{(zeroArgs & bit) != 0, bit};
    }
    auto lookup = [&](Value v) {
      auto it = values.find(v);
      return it != values.end() ? it->second : outsideValue(v);
    };
    for (Operation &op : body.without_terminator()) {
      operands.clear();
      for (Value operand : op.getOperands())
        operands.push_back(lookup(operand));
      values[op.getResult(0)] = *transfer(&op, operands);
    }
    for (auto [yield, operand] : llvm::enumerate(terminator->getOperands())) {
      AbstractValue v = lookup(operand);
      summary.zero[summary.index(yield, zeroArgs)] = v.zero;
      summary.dependences[summary.index(yield, zeroArgs)] = v.dependences;
    }
  }
  for (auto [yield, operand] : llvm::enumerate(terminator->getOperands()))
    summary.preserved[yield] = preservedArguments(operand, body);
  return summary;
}

//===----------------------------------------------------------------------===//
// Scrambling
//===----------------------------------------------------------------------===//

/// True if two evaluation results differ (NaNs compare equal to each other).
static bool differs(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) != std::isnan(b);
  return a != b;
}

FailureOr<BodySummary> BodySummary::scramble(Block &body, unsigned trials,
                                             uint64_t seed,
                                             std::string &reason) {
  if (failed(checkShape(body, reason)))
    return failure();
  Operation *unsupported = nullptr;
  if (!canEvaluateBlock(body, /*allowIndex=*/true, &unsupported)) {
    reason = "the payload has '" +
             unsupported->getName().getStringRef().str() +
             "', which the scalar interpreter cannot evaluate";
    return failure();
  }
  unsigned numArgs = body.getNumArguments();
  Operation *terminator = body.getTerminator();
  unsigned numYields = terminator->getNumOperands();
  BodySummary summary(numArgs, numYields, /*scrambled=*/true);

  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> magnitude(0.5, 2.0);
  // Values from outside the payload that are not constants get one random
  // value per trial.
  SetVector<Value> outsideValues;
  body.walk([&](Operation *op) {
    for (Value operand : op->getOperands())
      if (operand.getParentBlock() != &body && !getScalarConstant(operand))
        outsideValues.insert(operand);
  });
  SmallVector<int64_t> loopIndices = {3, 5, 7, 11, 13, 17, 19, 23};

  trials = std::max(trials, 2u);
  SmallVector<double> args(numArgs);
  DenseMap<Value, double> outside;
  for (uint32_t zeroArgs = 0; zeroArgs < (1u << numArgs); ++zeroArgs) {
    std::vector<bool> alwaysZero(numYields, true);
    std::vector<uint32_t> deps(numYields, 0);
    for (unsigned t = 0; t < trials; ++t) {
      // Trial 0 is all positive, trial 1 all negative, the rest mixed.
      auto draw = [&]() {
        double v = magnitude(rng);
        bool negative = t == 1 || (t > 1 && (rng() & 1));
        return negative ? -v : v;
      };
      for (unsigned i = 0; i < numArgs; ++i)
        args[i] = (zeroArgs >> i) & 1 ? 0.0 : draw();
      outside.clear();
      for (Value v : outsideValues)
        outside[v] = draw();
      FailureOr<SmallVector<double>> base =
          evaluateBlock(body, args, outside, loopIndices);
      if (failed(base)) {
        reason = "the payload could not be evaluated";
        return failure();
      }
      for (unsigned y = 0; y < numYields; ++y)
        if ((*base)[y] != 0.0)
          alwaysZero[y] = false;
      for (unsigned i = 0; i < numArgs; ++i) {
        double saved = args[i];
        args[i] = saved == 0.0 ? 1.25 : -2.0 * saved - 1.0;
        FailureOr<SmallVector<double>> perturbed =
            evaluateBlock(body, args, outside, loopIndices);
        args[i] = saved;
        if (failed(perturbed)) {
          reason = "the payload could not be evaluated";
          return failure();
        }
        for (unsigned y = 0; y < numYields; ++y)
          if (differs((*base)[y], (*perturbed)[y]))
            deps[y] |= 1u << i;
      }
    }
    for (unsigned y = 0; y < numYields; ++y) {
      summary.zero[summary.index(y, zeroArgs)] = alwaysZero[y];
      summary.dependences[summary.index(y, zeroArgs)] = deps[y];
    }
  }
  return summary;
}

bool BodySummary::isMultiplyAccumulate(unsigned a, unsigned b,
                                       unsigned acc) const {
  if (numYields != 1 || preserved[0] != 0)
    return false;
  uint32_t bitA = 1u << a, bitB = 1u << b, bitAcc = 1u << acc;
  for (uint32_t z = 0; z < (1u << numArguments); ++z) {
    bool zeroA = z & bitA, zeroB = z & bitB, zeroAcc = z & bitAcc;
    if (isZero(0, z) != (zeroAcc && (zeroA || zeroB)))
      return false;
    uint32_t expected =
        bitAcc | (zeroB ? 0 : bitA) | (zeroA ? 0 : bitB);
    if (getDependences(0, z) != expected)
      return false;
  }
  return true;
}
