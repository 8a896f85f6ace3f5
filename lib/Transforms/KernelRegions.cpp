//===- KernelRegions.cpp - What a tesa.kernel region may hold -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"

using namespace mlir;

bool tesa::isKernelTensorType(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() &&
         isa<Float32Type, Float16Type>(tensor.getElementType());
}

bool tesa::isMaskTensorType(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() &&
         tensor.getElementType().isInteger(1);
}

bool tesa::isTransposeForKernel(linalg::TransposeOp op) {
  return isKernelTensorType(op.getInput().getType()) &&
         isKernelTensorType(op.getInit().getType()) &&
         op.getPermutation() == ArrayRef<int64_t>{1, 0};
}

FailureOr<linalg::ContractionDimensions>
tesa::getKernelContractionDims(linalg::LinalgOp op) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || !dims->batch.empty())
    return dims;
  AffineMap output = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto leading = output.getNumResults() == 0
                     ? nullptr
                     : dyn_cast<AffineDimExpr>(output.getResult(0));
  if (!leading)
    return dims;
  for (SmallVector<unsigned, 2> *loops : {&dims->m, &dims->n})
    if (loops->size() == 2 && loops->front() == leading.getPosition()) {
      dims->batch.push_back(loops->front());
      loops->erase(loops->begin());
      break;
    }
  return dims;
}

bool tesa::isContractionForKernel(linalg::LinalgOp op) {
  if (!linalg::isaContractionOpInterface(op) || op->getNumResults() != 1 ||
      op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !llvm::all_of(op->getOperandTypes(), isKernelTensorType) ||
      !llvm::all_of(op->getResultTypes(), isKernelTensorType) ||
      getElementTypeOrSelf(op.getDpsInputs()[0]) !=
          getElementTypeOrSelf(op.getDpsInputs()[1]))
    return false;
  if (!llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
        return map.isProjectedPermutation() && map.getNumSymbols() == 0;
      }))
    return false;
  FailureOr<linalg::ContractionDimensions> dims =
      getKernelContractionDims(op);
  return succeeded(dims) && dims->m.size() == 1 && dims->n.size() == 1 &&
         dims->k.size() == 1 && dims->batch.size() <= 1 &&
         op.getNumLoops() == 3 + dims->batch.size();
}

bool tesa::isConvolutionForKernel(linalg::LinalgOp op) {
  if (!linalg::isaConvolutionOpInterface(op) || op->getNumResults() != 1 ||
      op.getNumDpsInits() != 1 ||
      !llvm::all_of(op->getOperandTypes(), isKernelTensorType) ||
      !llvm::all_of(op->getResultTypes(), isKernelTensorType))
    return false;
  AffineMap output = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  return output.isProjectedPermutation() &&
         op.getNumParallelLoops() == output.getNumResults() &&
         llvm::all_of(output.getResults(), [&](AffineExpr result) {
           return linalg::isParallelIterator(
               iterators[cast<AffineDimExpr>(result).getPosition()]);
         });
}

bool tesa::matchCopy(Value value, Value &source, AffineMap &map,
                     bool allowBroadcast, bool allowWidening) {
  auto op = value.getDefiningOp<linalg::LinalgOp>();
  if (!op || op->getNumResults() != 1 || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() || !op.hasPureTensorSemantics())
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[1].isIdentity() ||
      !(allowBroadcast ? maps[0].isProjectedPermutation()
                       : maps[0].isPermutation()))
    return false;
  Block *body = op.getBlock();
  if (!body)
    return false;
  Value yielded = body->getTerminator()->getOperand(0);
  if (auto extend = yielded.getDefiningOp<arith::ExtFOp>();
      allowWidening && extend && body->getOperations().size() == 2)
    yielded = extend.getIn();
  else if (body->getOperations().size() != 1)
    return false;
  if (yielded != body->getArgument(0))
    return false;
  source = op.getDpsInputs()[0];
  map = maps[0];
  return isKernelTensorType(source.getType());
}

bool tesa::isEpilogueStep(linalg::GenericOp op, Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || op->getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      op.getNumLoops() != unsigned(type.getRank()))
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned reads = 0;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = maps[input->getOperandNumber()];
    if (!map.isProjectedPermutation() || map.getNumSymbols() != 0)
      return false;
    if (input->get() == value) {
      if (!map.isPermutation())
        return false;
      ++reads;
    }
  }
  if (reads != 1 || !maps.back().isPermutation())
    return false;
  Block &body = op.getRegion().front();
  if (!body.getArguments().back().use_empty())
    return false;
  // Pure arith and math ops, reading the body's values or constants.
  return llvm::all_of(body.without_terminator(), [&](Operation &bodyOp) {
    return tesa::PartMatmulOp::canBeInEpilogue(&bodyOp) &&
           llvm::all_of(bodyOp.getOperands(), [&](Value operand) {
             return operand.getParentRegion() == &op.getRegion() ||
                    operand.getDefiningOp<arith::ConstantOp>();
           });
  });
}

FailureOr<Value> tesa::followEpilogueSteps(
    ArrayRef<Operation *> ops, Value root,
    function_ref<LogicalResult(linalg::GenericOp, Value)> onStep) {
  Value running = root;
  for (Operation *op : ops) {
    if (auto annotate = dyn_cast<AnnotateOp>(op)) {
      if (annotate.getSource() != running)
        return failure();
      running = annotate.getResult();
      continue;
    }
    auto step = dyn_cast<linalg::GenericOp>(op);
    if (!step || !isEpilogueStep(step, running) ||
        (onStep && failed(onStep(step, running))))
      return failure();
    running = step.getResult(0);
  }
  return running;
}

void tesa::inlineKernelRegion(RewriterBase &rewriter, KernelOp kernel) {
  YieldOp yield = kernel.getYield();
  SmallVector<Value> values = yield.getValues();
  rewriter.eraseOp(yield);
  rewriter.inlineBlockBefore(&kernel.getBody().front(), kernel);
  rewriter.replaceOp(kernel, values);
}

void tesa::foldInputCopies(RewriterBase &rewriter, linalg::GenericOp op,
                           bool allowBroadcast, ArrayRef<Value> skipped) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<Value> inputs = op.getDpsInputs();
  bool changed = false;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    Value source;
    AffineMap sourceMap;
    if (llvm::is_contained(skipped, input) ||
        !matchCopy(skipAnnotations(input), source, sourceMap, allowBroadcast))
      continue;
    maps[i] = sourceMap.compose(maps[i]);
    inputs[i] = source;
    changed = true;
  }
  if (!changed)
    return;
  rewriter.modifyOpInPlace(op, [&] {
    op.getInputsMutable().assign(inputs);
    op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
  });
}
