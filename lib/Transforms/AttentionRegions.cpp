//===- AttentionRegions.cpp - The body of an attention region -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// What an attention region holds (see KernelRegions.h): the matchers that
// --tesa-form-attention-regions merges regions by and that the attention
// family lowers by.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Support/SparsityMap.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace tesa;

namespace {

/// `value`, or where it is a region's result, the value the region's body
/// yields for it: the regions an attention region is merged from read each
/// other's results.
Value seeThroughRegion(Value value) {
  if (auto kernel = value.getDefiningOp<KernelOp>())
    return kernel.getYield().getValues()[cast<OpResult>(value)
                                             .getResultNumber()];
  return value;
}

/// `value` through the annotations (tesa.annotate) and region results it
/// is made of.
Value seeThroughAnnotations(Value value) {
  while (true) {
    value = seeThroughRegion(value);
    auto annotate = value.getDefiningOp<AnnotateOp>();
    if (!annotate)
      return value;
    value = annotate.getSource();
  }
}

/// The value `op`'s body yields.
Value getYielded(linalg::GenericOp op) {
  return op.getBody()->getTerminator()->getOperand(0);
}

/// Whether `value` is `OpTy` of the body arguments `lhs` and `rhs` of
/// `op` (in either order when `commutative`).
template <typename... OpTys>
bool isBinaryOfArguments(linalg::GenericOp op, Value value, unsigned lhs,
                         unsigned rhs, bool commutative) {
  Operation *def = value.getDefiningOp();
  if (!def || !isa<OpTys...>(def) || def->getNumOperands() != 2)
    return false;
  Value x = op.getBody()->getArgument(lhs), y = op.getBody()->getArgument(rhs);
  return (def->getOperand(0) == x && def->getOperand(1) == y) ||
         (commutative && def->getOperand(0) == y && def->getOperand(1) == x);
}

/// Whether `op` runs over the loops of a tensor's elements, reading
/// `inputs` (each through the identity map, or without the last dimension
/// where `perRow`) and writing through the identity map, or without the
/// last dimension when `reduces` (then its last loop is a reduction), with
/// `bodyOps` ops in its body before the yield.
bool isRowStepOver(linalg::GenericOp op, ArrayRef<Value> inputs,
                   ArrayRef<bool> perRow, bool reduces, size_t bodyOps) {
  if (!op || size_t(op.getNumDpsInputs()) != inputs.size() ||
      !llvm::all_of(llvm::zip(op.getDpsInputs(), inputs),
                    [](auto pair) {
                      return seeThroughRegion(std::get<0>(pair)) ==
                             std::get<1>(pair);
                    }) ||
      op->getNumResults() != 1 ||
      op.getBody()->getOperations().size() != bodyOps + 1)
    return false;
  unsigned rank = op.getNumLoops();
  MLIRContext *context = op.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  AffineMap row =
      AffineMap::get(rank, 0, identity.getResults().drop_back(), context);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (auto [i, input] : llvm::enumerate(inputs))
    if (maps[i] != (perRow[i] ? row : identity))
      return false;
  if (maps.back() != (reduces ? row : identity))
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [i, iterator] : llvm::enumerate(iterators))
    if ((iterator == utils::IteratorType::reduction) !=
        (reduces && i + 1 == iterators.size()))
      return false;
  return true;
}

/// The constant a linalg.fill writes into `value` (through annotations),
/// if it is one.
std::optional<double> getFillConstant(Value value) {
  auto fill = skipAnnotations(value).getDefiningOp<linalg::FillOp>();
  if (!fill)
    return std::nullopt;
  auto constant = fill.getInputs()[0].getDefiningOp<arith::ConstantFloatOp>();
  if (!constant)
    return std::nullopt;
  return constant.value().convertToDouble();
}

/// The steps' coordinates are the scores': each reads the running value
/// and writes through identity maps.
LogicalResult keepsCoordinates(linalg::GenericOp step, Value running) {
  for (OpOperand &operand : step->getOpOperands())
    if ((operand.get() == running || step.isDpsInit(&operand)) &&
        !step.getMatchingIndexingMap(&operand).isIdentity())
      return failure();
  return success();
}

/// Whether the contraction `op` starts from a constant.
bool hasConstantInit(linalg::GenericOp op) {
  return getFillConstant(op.getDpsInits()[0]).has_value();
}

} // namespace

/// The static range of the first of `op`'s contraction loops of one kind
/// (`loops`: &ContractionDimensions::m, ...), or 1 where it has none.
static int64_t
getFirstRange(linalg::GenericOp op,
              SmallVector<unsigned, 2> linalg::ContractionDimensions::*loops) {
  linalg::ContractionDimensions dims = *getKernelContractionDims(op);
  ArrayRef<unsigned> chosen = dims.*loops;
  return chosen.empty() ? 1 : op.getStaticLoopRanges()[chosen.front()];
}

int64_t AttentionBody::getHeadDim() const {
  return getFirstRange(scores, &linalg::ContractionDimensions::k);
}

int64_t AttentionBody::getValueDim() const {
  return getFirstRange(context, &linalg::ContractionDimensions::n);
}

int64_t AttentionBody::getQueries() const {
  return getFirstRange(context, &linalg::ContractionDimensions::m);
}

int64_t AttentionBody::getHeads() const {
  return getFirstRange(context, &linalg::ContractionDimensions::batch);
}

std::vector<int32_t> AttentionBody::getKeptHeads() const {
  linalg::GenericOp context = this->context;
  auto type = cast<RankedTensorType>(context.getResult(0).getType());
  FailureOr<linalg::ContractionDimensions> dims =
      getKernelContractionDims(context);
  SparsityAttr encoding = getSparsityEncoding(type);
  if (!encoding || failed(dims) || dims->batch.empty())
    return {};
  FailureOr<SparsityMap> map = encoding.getSparsityMap(
      type.getShape(), [] { return InFlightDiagnostic(); });
  // The result dimension the batch loop indexes, and its blocks.
  std::optional<unsigned> position =
      context.getIndexingMapsArray().back().getResultPosition(
          getAffineDimExpr(dims->batch[0], context.getContext()));
  if (failed(map) || !position)
    return {};
  unsigned dimension = *position;
  int64_t blockSize = map->getBlockShape()[dimension];
  SmallVector<bool> keptBlocks(map->getGridShape()[dimension], false);
  ArrayRef<int64_t> grid = map->getGridShape();
  for (auto [i, bits] : llvm::enumerate(map->getEntries())) {
    if (bits == kPrunedBits)
      continue;
    // The block's index along `dimension` in the row-major grid.
    int64_t index = i;
    for (unsigned d = grid.size() - 1; d > dimension; --d)
      index /= grid[d];
    keptBlocks[index % grid[dimension]] = true;
  }
  std::vector<int32_t> kept;
  for (int64_t batch = 0, end = type.getDimSize(dimension); batch < end;
       ++batch)
    if (keptBlocks[batch / blockSize])
      kept.push_back(batch);
  if (kept.empty() || int64_t(kept.size()) == type.getDimSize(dimension))
    return {};
  return kept;
}

/// Whether `op`'s body yields `x == -inf` of its one input x (compared in
/// f32 or, widened, in f64).
static bool isMinusInfinityTest(linalg::GenericOp op) {
  auto compare = getYielded(op).getDefiningOp<arith::CmpFOp>();
  if (!compare || compare.getPredicate() != arith::CmpFPredicate::OEQ)
    return false;
  Value x = compare.getLhs();
  if (auto widened = x.getDefiningOp<arith::ExtFOp>())
    x = widened.getIn();
  FloatAttr limit;
  return x == op.getBody()->getArgument(0) &&
         matchPattern(compare.getRhs(), m_Constant(&limit)) &&
         limit.getValue().isInfinity() && limit.getValue().isNegative();
}

/// Whether the row maximum `max` starts from a value no score is below:
/// -inf or the lowest finite f32, or a NaN that maxnumf ignores (upstream's
/// decomposition of linalg.softmax).
static bool startsBelowEveryScore(linalg::GenericOp max) {
  std::optional<double> start = getFillConstant(max.getDpsInits()[0]);
  if (!start)
    return false;
  if (std::isnan(*start))
    return isa<arith::MaxNumFOp>(getYielded(max).getDefiningOp());
  return *start <= -double(std::numeric_limits<float>::max());
}

/// What `op`'s body yields, before an arith.truncf that ends it (the
/// probabilities rounded to f16 for the context).
static Value getUnrounded(linalg::GenericOp op) {
  Value yielded = getYielded(op);
  if (auto truncate = yielded.getDefiningOp<arith::TruncFOp>())
    return truncate.getIn();
  return yielded;
}

/// Whether `value` is a linalg.fill of the boolean true.
static bool isFillOfTrue(Value value) {
  auto fill = skipAnnotations(value).getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_One()) &&
         fill.getInputs()[0].getType().isInteger(1);
}

/// Whether `op` is a row step over `inputs` (see isRowStepOver) that
/// normalizes the row with `bodyOps` body ops, and may round its value to
/// f16 for the context with one more.
static bool isNormalization(linalg::GenericOp op, ArrayRef<Value> inputs,
                            ArrayRef<bool> perRow, size_t bodyOps) {
  return op && isRowStepOver(op, inputs, perRow, /*reduces=*/false,
                             bodyOps + (getUnrounded(op) != getYielded(op)));
}

/// Whether `divide` is exp / sum.
static bool isDivision(linalg::GenericOp divide, Value exp, Value sum) {
  return isNormalization(divide, {exp, sum}, {false, true}, 1) &&
         isBinaryOfArguments<arith::DivFOp>(divide, getUnrounded(divide), 0,
                                            1, false);
}

/// Whether `test`, `all` and `select` are the end of torch-mlir's safe
/// softmax of `input`: whether each x is -inf, whether the whole row is,
/// and select(whole row, 0, exp / sum).
static bool isSafeDivision(linalg::GenericOp test, linalg::GenericOp all,
                           linalg::GenericOp select, Value input, Value exp,
                           Value sum) {
  if (!(isRowStepOver(test, {input}, {false}, /*reduces=*/false, 1) ||
        isRowStepOver(test, {input}, {false}, /*reduces=*/false, 2)) ||
      !isMinusInfinityTest(test) ||
      !isRowStepOver(all, {test.getResult(0)}, {false}, /*reduces=*/true,
                     1) ||
      !isFillOfTrue(all.getDpsInits()[0]) ||
      !isBinaryOfArguments<arith::AndIOp>(all, getYielded(all), 0, 1, true) ||
      !isNormalization(select, {all.getResult(0), exp, sum},
                       {true, false, true}, 2))
    return false;
  auto choice = getUnrounded(select).getDefiningOp<arith::SelectOp>();
  FloatAttr zero;
  return choice && choice.getCondition() == select.getBody()->getArgument(0) &&
         matchPattern(choice.getTrueValue(), m_Constant(&zero)) &&
         zero.getValue().isZero() &&
         isBinaryOfArguments<arith::DivFOp>(select, choice.getFalseValue(), 1,
                                            2, false);
}

/// Whether `round` rounds `probabilities` element by element (an
/// arith.truncf).
static bool isRounding(linalg::GenericOp round, Value probabilities) {
  if (!isRowStepOver(round, {probabilities}, {false}, /*reduces=*/false, 1))
    return false;
  auto truncate = getYielded(round).getDefiningOp<arith::TruncFOp>();
  return truncate && truncate.getIn() == round.getBody()->getArgument(0);
}

std::optional<SoftmaxForm>
tesa::matchSoftmaxRowProgram(ArrayRef<Operation *> ops, Value input) {
  auto step = [&](size_t i) {
    return i < ops.size() ? dyn_cast<linalg::GenericOp>(ops[i])
                          : linalg::GenericOp();
  };
  linalg::GenericOp max = step(0), exp = step(1), sum = step(2);
  if (!isRowStepOver(max, {input}, {false}, /*reduces=*/true, 1) ||
      !isBinaryOfArguments<arith::MaxNumFOp, arith::MaximumFOp>(
          max, getYielded(max), 0, 1, /*commutative=*/true) ||
      !startsBelowEveryScore(max))
    return std::nullopt;
  if (!isRowStepOver(exp, {input, max.getResult(0)}, {false, true},
                     /*reduces=*/false, 2))
    return std::nullopt;
  auto expOp = getYielded(exp).getDefiningOp<math::ExpOp>();
  if (!expOp || !isBinaryOfArguments<arith::SubFOp>(exp, expOp.getOperand(),
                                                    0, 1, false))
    return std::nullopt;
  if (!isRowStepOver(sum, {exp.getResult(0)}, {false}, /*reduces=*/true, 1) ||
      getFillConstant(sum.getDpsInits()[0]) != 0.0 ||
      !isBinaryOfArguments<arith::AddFOp>(sum, getYielded(sum), 0, 1, true))
    return std::nullopt;
  SoftmaxForm form;
  size_t next;
  if (isDivision(step(3), exp.getResult(0), sum.getResult(0))) {
    next = 4;
  } else if (isSafeDivision(step(3), step(4), step(5), input,
                            exp.getResult(0), sum.getResult(0))) {
    form.safe = true;
    next = 6;
  } else {
    return std::nullopt;
  }
  // Or a step of its own rounds the probabilities.
  if (next < ops.size() &&
      isRounding(step(next), ops[next - 1]->getResult(0)))
    ++next;
  if (next != ops.size())
    return std::nullopt;
  return form;
}

FailureOr<AttentionBody>
tesa::matchAttentionBody(ArrayRef<Operation *> ops) {
  auto isContraction = [](Operation *op) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    return generic && isContractionForKernel(generic) &&
           hasConstantInit(generic);
  };
  auto last = llvm::find_if(llvm::reverse(ops), isContraction);
  if (ops.empty() || !isContraction(ops.front()) ||
      last == llvm::reverse(ops).end())
    return failure();
  size_t contextIndex = std::distance(last, llvm::reverse(ops).end()) - 1;
  // Annotations of the probabilities (dead heads' encodings) may come
  // between the softmax and the context.
  size_t softmaxEnd = contextIndex;
  while (softmaxEnd > 0 && isa<AnnotateOp>(ops[softmaxEnd - 1]))
    --softmaxEnd;
  // The softmax starts at its row maximum, the first reduction after the
  // scores.
  auto reduces = [](Operation *op) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    return generic && generic.getNumReductionLoops() > 0;
  };
  auto softmaxBegin = std::find_if(ops.begin() + 1,
                                   ops.begin() + softmaxEnd, reduces);
  AttentionBody body;
  body.scores = cast<linalg::GenericOp>(ops.front());
  body.scoreSteps.assign(ops.begin() + 1, softmaxBegin);
  body.softmax.assign(softmaxBegin, ops.begin() + softmaxEnd);
  body.context = cast<linalg::GenericOp>(ops[contextIndex]);
  body.contextSteps.assign(ops.begin() + contextIndex + 1, ops.end());

  // The scores' result coordinates are (batch, query, key).
  linalg::ContractionDimensions scores =
      *getKernelContractionDims(body.scores);
  linalg::ContractionDimensions context =
      *getKernelContractionDims(body.context);
  auto order = [](const linalg::ContractionDimensions &dims, unsigned last) {
    SmallVector<unsigned> loops(dims.batch.begin(), dims.batch.end());
    loops.push_back(dims.m[0]);
    loops.push_back(last);
    return loops;
  };
  auto matches = [](AffineMap map, ArrayRef<unsigned> loops) {
    if (map.getNumResults() != loops.size())
      return false;
    for (auto [i, loop] : llvm::enumerate(loops))
      if (map.getDimPosition(i) != loop)
        return false;
    return true;
  };
  if (scores.batch.size() != context.batch.size() ||
      !matches(body.scores.getIndexingMapsArray().back(),
               order(scores, scores.n[0])))
    return failure();
  FailureOr<Value> scaled = followEpilogueSteps(
      body.scoreSteps, body.scores.getResult(0), keepsCoordinates);
  if (failed(scaled))
    return failure();
  std::optional<SoftmaxForm> softmax =
      matchSoftmaxRowProgram(body.softmax, *scaled);
  if (!softmax)
    return failure();
  body.safeSoftmax = softmax->safe;
  // The context reads the probabilities as A: (batch, query, key).
  Value probabilities = body.softmax.back()->getResult(0);
  if (seeThroughAnnotations(body.context.getDpsInputs()[0]) !=
          probabilities ||
      !matches(body.context.getIndexingMapsArray()[0],
               order(context, context.k[0])))
    return failure();
  if (failed(followEpilogueSteps(body.contextSteps,
                                 body.context.getResult(0))))
    return failure();
  return body;
}
