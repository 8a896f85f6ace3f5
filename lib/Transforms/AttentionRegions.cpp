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

/// Whether `op` runs over the `rank` loops of a tensor's elements, reading
/// `inputs` (the first through identity maps, the per-row values without
/// the last dimension) and writing through `outputMap`, with the last loop
/// a reduction when `reduces`, and `bodyOps` ops in its body before the
/// yield.
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
  auto type = cast<RankedTensorType>(inputs.front().getType());
  unsigned rank = type.getRank();
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

/// The constant a linalg.fill writes into `value`, if it is one.
std::optional<double> getFillConstant(Value value) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
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

bool tesa::isSoftmaxRowProgram(ArrayRef<Operation *> ops, Value input) {
  if (ops.size() != 4)
    return false;
  auto max = dyn_cast<linalg::GenericOp>(ops[0]);
  auto exp = dyn_cast<linalg::GenericOp>(ops[1]);
  auto sum = dyn_cast<linalg::GenericOp>(ops[2]);
  auto divide = dyn_cast<linalg::GenericOp>(ops[3]);
  if (!isRowStepOver(max, {input}, {false}, /*reduces=*/true, 1) ||
      !getFillConstant(max.getDpsInits()[0]) ||
      !isBinaryOfArguments<arith::MaxNumFOp, arith::MaximumFOp>(
          max, getYielded(max), 0, 1, /*commutative=*/true))
    return false;
  if (!isRowStepOver(exp, {input, max.getResult(0)}, {false, true},
                     /*reduces=*/false, 2))
    return false;
  auto expOp = getYielded(exp).getDefiningOp<math::ExpOp>();
  if (!expOp || !isBinaryOfArguments<arith::SubFOp>(exp, expOp.getOperand(),
                                                    0, 1, false))
    return false;
  if (!isRowStepOver(sum, {exp.getResult(0)}, {false}, /*reduces=*/true, 1) ||
      getFillConstant(sum.getDpsInits()[0]) != 0.0 ||
      !isBinaryOfArguments<arith::AddFOp>(sum, getYielded(sum), 0, 1, true))
    return false;
  return isRowStepOver(divide, {exp.getResult(0), sum.getResult(0)},
                       {false, true}, /*reduces=*/false, 1) &&
         isBinaryOfArguments<arith::DivFOp>(divide, getYielded(divide), 0, 1,
                                            false);
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
  if (softmaxEnd < 5)
    return failure();
  AttentionBody body;
  body.scores = cast<linalg::GenericOp>(ops.front());
  body.scoreSteps.assign(ops.begin() + 1, ops.begin() + softmaxEnd - 4);
  body.softmax.assign(ops.begin() + softmaxEnd - 4,
                      ops.begin() + softmaxEnd);
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
  if (failed(scaled) || !isSoftmaxRowProgram(body.softmax, *scaled))
    return failure();
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
