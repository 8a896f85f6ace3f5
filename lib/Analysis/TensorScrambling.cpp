//===- TensorScrambling.cpp - Rules derived by evaluating ops -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/TensorScrambling.h"

#include "RuleUtils.h"

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Analysis/SparsityLattice.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>
#include <random>

using namespace mlir;
using namespace tesa;
using namespace tesa::propagation;

//===----------------------------------------------------------------------===//
// The evaluator
//===----------------------------------------------------------------------===//

static int64_t numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

/// `a` * `b` for costs, saturating at the largest int64_t (a dynamic or
/// negative size costs that much too).
static int64_t multiplyCost(int64_t a, int64_t b) {
  if (a < 0 || b < 0)
    return std::numeric_limits<int64_t>::max();
  bool overflow = false;
  uint64_t product = llvm::SaturatingMultiply(uint64_t(a), uint64_t(b),
                                              &overflow);
  if (overflow || product > uint64_t(std::numeric_limits<int64_t>::max()))
    return std::numeric_limits<int64_t>::max();
  return int64_t(product);
}

static DenseTensor makeTensor(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return DenseTensor{SmallVector<int64_t>(type.getShape()),
                     std::vector<double>(type.getNumElements(), 0.0)};
}

static int64_t linearIndex(ArrayRef<int64_t> index, ArrayRef<int64_t> shape) {
  int64_t linear = 0;
  for (auto [i, n] : llvm::zip_equal(index, shape))
    linear = linear * n + i;
  return linear;
}

static FailureOr<SmallVector<DenseTensor>>
evaluateStructured(linalg::LinalgOp op, ArrayRef<DenseTensor> operands,
                   std::string &reason) {
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  if (llvm::any_of(loops, ShapedType::isDynamic)) {
    reason = "the op has dynamic loop ranges";
    return failure();
  }
  Block *body = op.getBlock();
  if (!canEvaluateBlock(*body, /*allowIndex=*/true)) {
    reason = "the payload has ops the scalar interpreter does not know";
    return failure();
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned numInputs = op.getNumDpsInputs();
  SmallVector<DenseTensor> results;
  for (OpOperand &init : op.getDpsInitsMutable())
    results.push_back(operands[init.getOperandNumber()]);
  DenseMap<Value, double> outside;
  SmallVector<double> args(op->getNumOperands());
  SmallVector<int64_t> point(loops.size(), 0);
  SmallVector<int64_t> resultIndex(results.size());
  if (numElements(loops) == 0)
    return results;
  while (true) {
    for (unsigned k = 0; k < op->getNumOperands(); ++k) {
      SmallVector<int64_t> index = maps[k].compose(point);
      int64_t linear = linearIndex(index, operands[k].shape);
      if (k < numInputs)
        args[k] = operands[k].data[linear];
      else {
        resultIndex[k - numInputs] = linear;
        args[k] = results[k - numInputs].data[linear];
      }
    }
    FailureOr<SmallVector<double>> yielded =
        evaluateBlock(*body, args, outside, point);
    if (failed(yielded)) {
      reason = "the payload could not be evaluated";
      return failure();
    }
    for (auto [r, value] : llvm::enumerate(*yielded))
      results[r].data[resultIndex[r]] = value;
    int d = int(loops.size()) - 1;
    for (; d >= 0; --d) {
      if (++point[d] < loops[d])
        break;
      point[d] = 0;
    }
    if (d < 0)
      break;
  }
  return results;
}

static SmallVector<DenseTensor> one(DenseTensor tensor) {
  SmallVector<DenseTensor> list;
  list.push_back(std::move(tensor));
  return list;
}

/// Copies `from` into `slice` of `into` (`intoSlice`), or `slice` of `from`
/// into `into`.
static void copySlice(DenseTensor &into, const Slice &slice,
                      const DenseTensor &from, bool intoSlice) {
  forEachSliceElement(intoSlice ? into.shape : from.shape, slice.offsets,
                      slice.sizes, slice.strides,
                      [&](int64_t full, int64_t part) {
                        if (intoSlice)
                          into.data[full] = from.data[part];
                        else
                          into.data[part] = from.data[full];
                      });
}

FailureOr<SmallVector<DenseTensor>>
tesa::evaluateOp(Operation *op, ArrayRef<DenseTensor> operands,
                 std::string &reason) {
  using Result = FailureOr<SmallVector<DenseTensor>>;
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case([&](linalg::LinalgOp linalgOp) -> Result {
        if (!linalgOp.hasPureTensorSemantics()) {
          reason = "the op does not have pure tensor semantics";
          return failure();
        }
        return evaluateStructured(linalgOp, operands, reason);
      })
      .Case([&](linalg::SoftmaxOp softmax) -> Result {
        DenseTensor out = operands[0];
        unsigned dim = softmax.getDimension();
        int64_t inner = numElements(ArrayRef(out.shape).drop_front(dim + 1));
        int64_t length = out.shape[dim];
        int64_t outer = numElements(ArrayRef(out.shape).take_front(dim));
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            auto at = [&](int64_t l) -> double & {
              return out.data[(o * length + l) * inner + i];
            };
            double max = -INFINITY, sum = 0;
            for (int64_t l = 0; l < length; ++l)
              max = std::max(max, at(l));
            for (int64_t l = 0; l < length; ++l)
              sum += (at(l) = std::exp(at(l) - max));
            for (int64_t l = 0; l < length; ++l)
              at(l) /= sum;
          }
        return one(std::move(out));
      })
      .Case<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
          [&](auto reshape) -> Result {
            DenseTensor out = makeTensor(reshape.getResult());
            out.data = operands[0].data;
            return one(std::move(out));
          })
      .Case([&](tensor::ExtractSliceOp extract) -> Result {
        FailureOr<Slice> slice = getStaticSlice(extract);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        DenseTensor out = makeTensor(extract.getResult());
        copySlice(out, *slice, operands[0], /*intoSlice=*/false);
        return one(std::move(out));
      })
      .Case([&](tensor::InsertSliceOp insert) -> Result {
        FailureOr<Slice> slice = getStaticSlice(insert);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        DenseTensor out = operands[1];
        copySlice(out, *slice, operands[0], /*intoSlice=*/true);
        return one(std::move(out));
      })
      .Case([&](tensor::ConcatOp concat) -> Result {
        DenseTensor out = makeTensor(concat.getResult());
        for (auto [piece, input] :
             llvm::zip_equal(getConcatPieces(concat), operands))
          copySlice(out, piece, input, /*intoSlice=*/true);
        return one(std::move(out));
      })
      .Case([&](tensor::PadOp pad) -> Result {
        Value padding = pad.getConstantPaddingValue();
        std::optional<double> value =
            padding ? getScalarConstant(padding) : std::nullopt;
        FailureOr<Slice> slice = getPadSlice(pad);
        if (!value || failed(slice)) {
          reason = "the padding value or amount is not constant";
          return failure();
        }
        DenseTensor out = makeTensor(pad.getResult());
        std::fill(out.data.begin(), out.data.end(), *value);
        copySlice(out, *slice, operands[0], /*intoSlice=*/true);
        return one(std::move(out));
      })
      .Default([&](Operation *other) -> Result {
        bool elementwise = other->hasTrait<OpTrait::Elementwise>() &&
                           other->getNumResults() == 1 &&
                           isa<RankedTensorType>(other->getResult(0).getType());
        if (!elementwise) {
          reason = "the evaluator does not know the op";
          return failure();
        }
        DenseTensor out = makeTensor(other->getResult(0));
        SmallVector<double> scalars(operands.size());
        for (size_t i = 0; i < out.data.size(); ++i) {
          for (auto [k, operand] : llvm::enumerate(operands))
            scalars[k] = operand.data.size() == 1 ? operand.data[0]
                                                  : operand.data[i];
          FailureOr<double> value = evaluateScalarOp(other, scalars);
          if (failed(value)) {
            reason = "the evaluator does not know the op";
            return failure();
          }
          out.data[i] = *value;
        }
        return one(std::move(out));
      });
}

//===----------------------------------------------------------------------===//
// Scrambling
//===----------------------------------------------------------------------===//

/// What scrambling learnt about an op under one input zero pattern.
struct TensorScrambler::Relation {
  /// Per result element: zero in every trial.
  SmallVector<std::vector<bool>> zero;
  /// Per result element: equal to one of its dependences (or zero) in every
  /// trial, so bit widths flow through it.
  SmallVector<std::vector<bool>> preserving;
  /// Per result element, the (operand, element) pairs whose perturbation
  /// changed it.
  SmallVector<std::vector<std::vector<std::pair<unsigned, int64_t>>>> sources;
};

TensorScrambler::TensorScrambler(const PropagationRuleOptions &options)
    : options(options) {}
TensorScrambler::~TensorScrambler() = default;

/// An estimate of the scalar operations of one evaluation of `op`.
static int64_t evaluationCost(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    int64_t cost = 1;
    for (Operation &payload : *linalgOp.getBlock())
      (void)payload, ++cost;
    for (int64_t range : linalgOp.getStaticLoopRanges())
      cost = multiplyCost(cost, range);
    return cost;
  }
  int64_t cost = 1;
  for (Type type : llvm::concat<Type>(op->getOperandTypes(),
                                      op->getResultTypes()))
    if (auto tensor = dyn_cast<RankedTensorType>(type)) {
      int64_t elements = tensor.hasStaticShape()
                             ? tensor.getNumElements()
                             : std::numeric_limits<int64_t>::max();
      cost = elements > std::numeric_limits<int64_t>::max() - cost
                 ? std::numeric_limits<int64_t>::max()
                 : cost + elements;
    }
  return cost;
}

FailureOr<const TensorScrambler::Relation *>
TensorScrambler::getRelation(Operation *op,
                             ArrayRef<const SparsityMap *> operandContent,
                             std::string &reason) {
  for (Type type : op->getResultTypes())
    if (!getTrackedTensorType(type)) {
      reason = "a result is not a statically shaped tensor";
      return failure();
    }
  // The budget is checked on the maps, before anything is expanded per
  // element.
  int64_t perturbations = 0;
  for (auto [k, operand] : llvm::enumerate(op->getOperands())) {
    if (operandContent[k])
      perturbations += operandContent[k]->getNumKept();
    else if (isa<ShapedType>(operand.getType())) {
      reason = describeUntrackedOperand(operand);
      return failure();
    }
  }
  unsigned trials = std::max(options.scrambleTrials, 2u);
  const unsigned perturbedTrials = 2;
  int64_t runs = multiplyCost(perturbedTrials, perturbations);
  runs = runs > std::numeric_limits<int64_t>::max() - trials
             ? std::numeric_limits<int64_t>::max()
             : runs + trials;
  int64_t cost = multiplyCost(runs, evaluationCost(op));
  if (cost > options.scrambleBudget) {
    reason = "scrambling it would take about " + std::to_string(cost) +
             " scalar evaluations, more than the budget of " +
             std::to_string(options.scrambleBudget);
    return failure();
  }

  size_t patternHash = 0;
  SmallVector<std::vector<uint8_t>> content(op->getNumOperands());
  for (auto [k, operand] : llvm::enumerate(op->getOperands())) {
    if (!operandContent[k])
      continue;
    content[k] = getElementEntries(*operandContent[k]);
    std::vector<bool> nonzero(content[k].size());
    for (size_t i = 0; i < nonzero.size(); ++i)
      nonzero[i] = content[k][i] != kPrunedBits;
    patternHash = llvm::hash_combine(patternHash, k,
                                     std::hash<std::vector<bool>>()(nonzero));
  }
  std::pair<size_t, size_t> key(hashOpStructure(op), patternHash);
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second.get();

  std::mt19937_64 rng(options.seed ^ key.first);
  std::uniform_real_distribution<double> magnitude(0.5, 2.0);
  auto relation = std::make_unique<Relation>();
  for (Value result : op->getResults()) {
    int64_t n = cast<RankedTensorType>(result.getType()).getNumElements();
    relation->zero.emplace_back(n, true);
    relation->preserving.emplace_back(n, true);
    relation->sources.emplace_back(n);
  }
  auto differs = [](double a, double b) {
    if (std::isnan(a) || std::isnan(b))
      return std::isnan(a) != std::isnan(b);
    return a != b;
  };

  for (unsigned t = 0; t < trials; ++t) {
    // Trial 0 is all positive, trial 1 mixed, trial 2 all negative.
    auto draw = [&]() {
      double v = magnitude(rng);
      bool negative = t == 2 || (t != 0 && t != 2 && (rng() & 1));
      return negative ? -v : v;
    };
    SmallVector<DenseTensor> inputs;
    for (auto [k, operand] : llvm::enumerate(op->getOperands())) {
      if (!operandContent[k]) {
        std::optional<double> constant = getScalarConstant(operand);
        inputs.push_back(DenseTensor{{}, {constant ? *constant : draw()}});
        continue;
      }
      // Compile-time splats keep their value: a max pooling's -inf init is
      // not a random number.
      DenseTensor tensor = makeTensor(operand);
      std::optional<double> splat = getKnownSplat(operand);
      for (size_t i = 0; i < tensor.data.size(); ++i)
        tensor.data[i] = content[k][i] == kPrunedBits ? 0.0
                         : splat                      ? *splat
                                                      : draw();
      inputs.push_back(std::move(tensor));
    }
    FailureOr<SmallVector<DenseTensor>> base = evaluateOp(op, inputs, reason);
    if (failed(base))
      return failure();
    for (auto [r, tensor] : llvm::enumerate(*base))
      for (size_t i = 0; i < tensor.data.size(); ++i)
        if (tensor.data[i] != 0.0)
          relation->zero[r][i] = false;
    if (t >= perturbedTrials)
      continue;
    SmallVector<std::vector<std::vector<double>>> sourceValues;
    for (auto [k, input] : llvm::enumerate(inputs)) {
      if (!operandContent[k])
        continue;
      for (size_t e = 0; e < input.data.size(); ++e) {
        if (content[k][e] == kPrunedBits)
          continue;
        double saved = input.data[e];
        input.data[e] = -2.0 * saved - 1.0;
        FailureOr<SmallVector<DenseTensor>> perturbed =
            evaluateOp(op, inputs, reason);
        input.data[e] = saved;
        if (failed(perturbed))
          return failure();
        for (auto [r, tensor] : llvm::enumerate(*perturbed))
          for (size_t i = 0; i < tensor.data.size(); ++i) {
            auto &sources = relation->sources[r][i];
            // Trial 1 finds trial 0's sources again; keep one of each.
            if (differs(tensor.data[i], (*base)[r].data[i]) &&
                !(t == 1 && llvm::is_contained(sources, std::make_pair(
                                                            unsigned(k), int64_t(e)))))
              sources.emplace_back(k, e);
          }
      }
    }
    // An output passes bits through if it equals one of its sources (or is
    // zero, as relu makes it) in this trial.
    for (auto [r, tensor] : llvm::enumerate(*base))
      for (size_t i = 0; i < tensor.data.size(); ++i) {
        const auto &sources = relation->sources[r][i];
        bool equal = tensor.data[i] == 0.0 && !sources.empty();
        for (auto [k, e] : sources)
          equal |= tensor.data[i] == inputs[k].data[e];
        if (!equal || sources.empty())
          relation->preserving[r][i] = false;
      }
  }
  const Relation *result = relation.get();
  cache[key] = std::move(relation);
  return result;
}

FailureOr<MapList>
TensorScrambler::forward(Operation *op,
                         ArrayRef<const SparsityMap *> operandContent,
                         std::string &reason) {
  FailureOr<const Relation *> relation =
      getRelation(op, operandContent, reason);
  if (failed(relation))
    return failure();
  SmallVector<std::vector<uint8_t>> content(op->getNumOperands());
  for (auto [k, map] : llvm::enumerate(operandContent))
    if (map)
      content[k] = getElementEntries(*map);
  MapList results;
  for (OpResult result : op->getResults()) {
    auto type = cast<RankedTensorType>(result.getType());
    uint8_t full = *getFullBits(type.getElementType());
    unsigned r = result.getResultNumber();
    std::vector<uint8_t> entries(type.getNumElements(), kPrunedBits);
    for (size_t i = 0; i < entries.size(); ++i) {
      if ((*relation)->zero[r][i])
        continue;
      if (!(*relation)->preserving[r][i]) {
        entries[i] = full;
        continue;
      }
      for (auto [k, e] : (*relation)->sources[r][i])
        entries[i] = std::max(entries[i], content[k][e]);
      entries[i] = std::min(entries[i], full);
    }
    results.push_back(mapFromElements(type.getShape(), std::move(entries)));
  }
  return results;
}

FailureOr<MapList>
TensorScrambler::backward(Operation *op,
                          ArrayRef<const SparsityMap *> operandContent,
                          ArrayRef<const SparsityMap *> resultDemand,
                          std::string &reason) {
  FailureOr<const Relation *> relation =
      getRelation(op, operandContent, reason);
  if (failed(relation))
    return failure();
  SmallVector<std::vector<uint8_t>> demand(op->getNumOperands());
  SmallVector<uint8_t> full(op->getNumOperands(), 0);
  for (auto [k, operand] : llvm::enumerate(op->getOperands()))
    if (operandContent[k]) {
      auto type = cast<RankedTensorType>(operand.getType());
      demand[k].assign(type.getNumElements(), kPrunedBits);
      full[k] = *getFullBits(type.getElementType());
    }
  for (auto [r, resultMap] : llvm::enumerate(resultDemand)) {
    if (!resultMap) {
      reason = "a result is not a statically shaped tensor";
      return failure();
    }
    std::vector<uint8_t> live = getElementEntries(*resultMap);
    for (size_t i = 0; i < live.size(); ++i) {
      if (live[i] == kPrunedBits)
        continue;
      bool preserving = (*relation)->preserving[r][i];
      for (auto [k, e] : (*relation)->sources[r][i]) {
        uint8_t need = preserving ? std::min(live[i], full[k]) : full[k];
        demand[k][e] = std::max(demand[k][e], need);
      }
    }
  }
  MapList results;
  for (auto [k, operand] : llvm::enumerate(op->getOperands())) {
    if (!operandContent[k]) {
      results.push_back(std::nullopt);
      continue;
    }
    auto type = cast<RankedTensorType>(operand.getType());
    results.push_back(mapFromElements(type.getShape(), std::move(demand[k])));
  }
  return results;
}
