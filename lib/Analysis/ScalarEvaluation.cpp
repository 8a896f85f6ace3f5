//===- ScalarEvaluation.cpp - Evaluate scalar payload ops -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/ScalarEvaluation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace tesa;

std::optional<double> tesa::getScalarConstant(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (i.getType().isInteger(1))
      return i.getValue().getZExtValue();
    return static_cast<double>(i.getValue().getSExtValue());
  }
  return std::nullopt;
}

bool tesa::isZeroConstant(Value value) {
  std::optional<double> constant = getScalarConstant(value);
  return constant && *constant == 0.0;
}

std::optional<double> tesa::getKnownSplat(Value value) {
  if (auto fill = value.getDefiningOp<linalg::FillOp>())
    return getScalarConstant(fill.getInputs()[0]);
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble();
  return static_cast<double>(dense.getSplatValue<APInt>().getSExtValue());
}

static bool compareFloats(arith::CmpFPredicate predicate, double a, double b) {
  using P = arith::CmpFPredicate;
  bool unordered = std::isnan(a) || std::isnan(b);
  switch (predicate) {
  case P::AlwaysFalse:
    return false;
  case P::AlwaysTrue:
    return true;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  }
  return false;
}

static bool compareInts(arith::CmpIPredicate predicate, double a, double b) {
  using P = arith::CmpIPredicate;
  switch (predicate) {
  case P::eq:
    return a == b;
  case P::ne:
    return a != b;
  case P::slt:
  case P::ult:
    return a < b;
  case P::sle:
  case P::ule:
    return a <= b;
  case P::sgt:
  case P::ugt:
    return a > b;
  case P::sge:
  case P::uge:
    return a >= b;
  }
  return false;
}

FailureOr<double> tesa::evaluateScalarOp(Operation *op,
                                         ArrayRef<double> x) {
  auto unary = [&](double (*fn)(double)) -> FailureOr<double> {
    return fn(x[0]);
  };
  return llvm::TypeSwitch<Operation *, FailureOr<double>>(op)
      .Case([&](arith::ConstantOp c) -> FailureOr<double> {
        if (std::optional<double> v = getScalarConstant(c.getResult()))
          return *v;
        return failure();
      })
      .Case<arith::AddFOp, arith::AddIOp>([&](auto) { return x[0] + x[1]; })
      .Case<arith::SubFOp, arith::SubIOp>([&](auto) { return x[0] - x[1]; })
      .Case<arith::MulFOp, arith::MulIOp>([&](auto) { return x[0] * x[1]; })
      .Case([&](arith::DivFOp) { return x[0] / x[1]; })
      .Case<arith::DivSIOp, arith::DivUIOp>([&](auto) -> FailureOr<double> {
        if (x[1] == 0)
          return 0.0;
        return std::trunc(x[0] / x[1]);
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MaxSIOp,
            arith::MaxUIOp>([&](auto) { return std::max(x[0], x[1]); })
      .Case<arith::MinimumFOp, arith::MinNumFOp, arith::MinSIOp,
            arith::MinUIOp>([&](auto) { return std::min(x[0], x[1]); })
      .Case([&](arith::NegFOp) { return -x[0]; })
      .Case<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp, arith::UIToFPOp,
            arith::ExtSIOp, arith::ExtUIOp, arith::IndexCastOp>(
          [&](auto) { return x[0]; })
      .Case<arith::FPToSIOp, arith::FPToUIOp, arith::TruncIOp>(
          [&](auto) { return std::trunc(x[0]); })
      .Case([&](arith::CmpFOp cmp) {
        return compareFloats(cmp.getPredicate(), x[0], x[1]) ? 1.0 : 0.0;
      })
      .Case([&](arith::CmpIOp cmp) {
        return compareInts(cmp.getPredicate(), x[0], x[1]) ? 1.0 : 0.0;
      })
      .Case([&](arith::SelectOp) { return x[0] != 0 ? x[1] : x[2]; })
      .Case([&](math::ExpOp) { return unary(std::exp); })
      .Case([&](math::LogOp) { return unary(std::log); })
      .Case([&](math::SqrtOp) { return unary(std::sqrt); })
      .Case([&](math::RsqrtOp) { return 1.0 / std::sqrt(x[0]); })
      .Case([&](math::TanhOp) { return unary(std::tanh); })
      .Case([&](math::ErfOp) { return unary(std::erf); })
      .Case([&](math::SinOp) { return unary(std::sin); })
      .Case([&](math::CosOp) { return unary(std::cos); })
      .Case([&](math::AtanOp) { return unary(std::atan); })
      .Case([&](math::AbsFOp) { return unary(std::fabs); })
      .Case([&](math::PowFOp) { return std::pow(x[0], x[1]); })
      .Default([](Operation *) { return failure(); });
}

bool tesa::canEvaluateBlock(Block &block, bool allowIndex,
                            Operation **unsupported) {
  SmallVector<double> probe(4, 1.0);
  for (Operation &op : block.without_terminator()) {
    bool known = op.getNumResults() == 1 && op.getNumRegions() == 0 &&
                 op.getNumOperands() <= probe.size() &&
                 succeeded(evaluateScalarOp(
                     &op, ArrayRef(probe).take_front(op.getNumOperands())));
    if (isa<linalg::IndexOp>(op))
      known = allowIndex;
    if (!known) {
      if (unsupported)
        *unsupported = &op;
      return false;
    }
  }
  return true;
}

FailureOr<SmallVector<double>>
tesa::evaluateBlock(Block &block, ArrayRef<double> arguments,
                    const DenseMap<Value, double> &outside,
                    ArrayRef<int64_t> loopIndices) {
  DenseMap<Value, double> values(outside);
  for (auto [arg, value] : llvm::zip_equal(block.getArguments(), arguments))
    values[arg] = value;
  auto lookup = [&](Value v) -> std::optional<double> {
    auto it = values.find(v);
    if (it != values.end())
      return it->second;
    return getScalarConstant(v);
  };
  SmallVector<double> operands;
  for (Operation &op : block.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      if (index.getDim() >= loopIndices.size())
        return failure();
      values[index.getResult()] = loopIndices[index.getDim()];
      continue;
    }
    operands.clear();
    for (Value operand : op.getOperands()) {
      std::optional<double> v = lookup(operand);
      if (!v)
        return failure();
      operands.push_back(*v);
    }
    if (op.getNumResults() != 1)
      return failure();
    FailureOr<double> result = evaluateScalarOp(&op, operands);
    if (failed(result))
      return failure();
    values[op.getResult(0)] = *result;
  }
  SmallVector<double> yielded;
  for (Value operand : block.getTerminator()->getOperands()) {
    std::optional<double> v = lookup(operand);
    if (!v)
      return failure();
    yielded.push_back(*v);
  }
  return yielded;
}
