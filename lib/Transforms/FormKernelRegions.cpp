//===- FormKernelRegions.cpp - Group ops into tesa.kernel regions ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Forms the kernel regions of code generation (docs/codegen.md): a
// contraction with its transposed operands folded into its indexing maps and
// its elementwise consumers as the epilogue, and softmaxes along the last
// dimension as row reductions.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

namespace tesa {
#define GEN_PASS_DEF_FORMKERNELREGIONS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

bool allKernelTensors(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), isKernelTensorType) &&
         llvm::all_of(op->getResultTypes(), isKernelTensorType);
}

/// Whether `op` may be an epilogue step by its types: kernel tensors, and
/// masks among the inputs it reads besides the running value.
bool hasEpilogueTypes(linalg::LinalgOp op) {
  return llvm::all_of(op->getResultTypes(), isKernelTensorType) &&
         llvm::all_of(op->getOperandTypes(), [](Type type) {
           return isKernelTensorType(type) || isMaskTensorType(type);
         });
}

/// The only user of `value`, or null.
Operation *getSingleUser(Value value) {
  return value.hasOneUse() ? *value.getUsers().begin() : nullptr;
}

/// `op` as a linalg.generic: itself, or generalised in its place; null when
/// it cannot be.
linalg::GenericOp generalize(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (auto generic = dyn_cast<linalg::GenericOp>(*op))
    return generic;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::GenericOp> generalized =
      linalg::generalizeNamedOp(rewriter, op);
  return succeeded(generalized) ? *generalized : nullptr;
}

/// `op` (an elementwise linalg.generic writing through the identity map)
/// without its unit loops that no input reads, writing a tensor without
/// those dimensions that a tensor.expand_shape gives back the old shape:
/// torch-mlir applies an activation over 1 x rows x columns to a product
/// of rows x columns. Returns `op` itself when it has no such loops.
linalg::GenericOp dropUnreadUnitLoops(RewriterBase &rewriter,
                                      linalg::GenericOp op) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (op->getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !maps.back().isIdentity() ||
      !op.getRegion().front().getArguments().back().use_empty())
    return op;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  llvm::SmallBitVector dropped(ranges.size());
  for (auto [d, range] : llvm::enumerate(ranges))
    dropped[d] = range == 1 && llvm::none_of(ArrayRef(maps).drop_back(),
                                             [d = d](AffineMap map) {
                                               return map.isFunctionOfDim(d);
                                             });
  if (dropped.none() || dropped.all())
    return op;
  // Each dropped dimension joins the group of the next kept one (the last
  // kept one's, at the end).
  SmallVector<ReassociationIndices> groups;
  SmallVector<AffineExpr> renumbered;
  SmallVector<int64_t> shape;
  ReassociationIndices pending;
  for (auto [d, range] : llvm::enumerate(ranges)) {
    pending.push_back(d);
    renumbered.push_back(rewriter.getAffineConstantExpr(0));
    if (dropped[d])
      continue;
    renumbered.back() = rewriter.getAffineDimExpr(shape.size());
    shape.push_back(range);
    groups.push_back(std::exchange(pending, {}));
  }
  llvm::append_range(groups.back(), pending);
  SmallVector<AffineMap> newMaps;
  for (AffineMap map : ArrayRef(maps).drop_back())
    newMaps.push_back(map.replaceDimsAndSymbols(renumbered, {}, shape.size(),
                                                0));
  newMaps.push_back(rewriter.getMultiDimIdentityMap(shape.size()));
  rewriter.setInsertionPoint(op);
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), shape,
                                       type.getElementType());
  auto collapsed = linalg::GenericOp::create(
      rewriter, op.getLoc(), TypeRange{init.getType()}, op.getDpsInputs(),
      ValueRange{init}, newMaps,
      SmallVector<utils::IteratorType>(shape.size(),
                                       utils::IteratorType::parallel));
  rewriter.inlineRegionBefore(op.getRegion(), collapsed.getRegion(),
                              collapsed.getRegion().end());
  Value expanded = tensor::ExpandShapeOp::create(
      rewriter, op.getLoc(), type, collapsed.getResult(0), groups);
  rewriter.replaceOp(op, expanded);
  return collapsed;
}

/// The elementwise consumers that form a contraction's epilogue, in order,
/// starting from its result: each the single user of the previous value
/// (annotations included, which pass it through).
SmallVector<Operation *> collectEpilogue(RewriterBase &rewriter, Value value) {
  SmallVector<Operation *> chain;
  while (Operation *user = getSingleUser(value)) {
    if (auto annotate = dyn_cast<AnnotateOp>(user)) {
      chain.push_back(annotate);
      value = annotate.getResult();
      continue;
    }
    auto linalgOp = dyn_cast<linalg::LinalgOp>(user);
    if (!linalgOp || user->getBlock() != value.getParentBlock() ||
        !hasEpilogueTypes(linalgOp))
      break;
    if (!isa<linalg::GenericOp, linalg::TransposeOp>(user) &&
        !linalg::isElementwise(linalgOp))
      break;
    linalg::GenericOp generic = generalize(rewriter, linalgOp);
    if (generic && !isEpilogueStep(generic, value))
      generic = dropUnreadUnitLoops(rewriter, generic);
    if (!generic || !isEpilogueStep(generic, value))
      break;
    chain.push_back(generic);
    value = generic.getResult(0);
  }
  return chain;
}

/// Moves `ops` (in order, the last one's results yielded) into a new
/// `tesa.kernel` of `family` placed where the last one was.
void wrapInKernel(RewriterBase &rewriter, KernelFamily family,
                  ArrayRef<Operation *> ops) {
  Operation *last = ops.back();
  rewriter.setInsertionPoint(last);
  auto kernel = KernelOp::create(rewriter, last->getLoc(),
                                 last->getResultTypes(), family,
                                 /*config=*/nullptr);
  Block *body = rewriter.createBlock(&kernel.getBody());
  rewriter.replaceAllUsesWith(last->getResults(), kernel.getResults());
  for (Operation *op : ops)
    op->moveBefore(body, body->end());
  rewriter.setInsertionPointToEnd(body);
  YieldOp::create(rewriter, last->getLoc(), last->getResults());
}

/// Wraps `root` and the elementwise ops that consume its result one after
/// the other (its epilogue, see collectEpilogue) in a region of `family`.
/// The epilogue's steps read the sources of copies made outside the region:
/// a bias where it is, not broadcast to every row.
void formWithEpilogue(RewriterBase &rewriter, linalg::GenericOp root,
                      KernelFamily family) {
  SmallVector<Operation *> ops = {root};
  llvm::append_range(ops, collectEpilogue(rewriter, root.getResult(0)));
  SmallVector<Value> inside;
  for (Operation *op : ops) {
    if (auto step = dyn_cast<linalg::GenericOp>(op); step && !inside.empty())
      foldInputCopies(rewriter, step, /*allowBroadcast=*/true, inside);
    llvm::append_range(inside, op->getResults());
  }
  wrapInKernel(rewriter, family, ops);
}

void formContraction(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!isContractionForKernel(op))
    return;
  linalg::GenericOp contraction = generalize(rewriter, op);
  if (!contraction)
    return;
  foldInputCopies(rewriter, contraction, /*allowBroadcast=*/false);
  formWithEpilogue(rewriter, contraction, KernelFamily::Contraction);
}

/// Forms a convolution region: the convolution and its epilogue.
void formConvolution(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!isConvolutionForKernel(op))
    return;
  if (linalg::GenericOp convolution = generalize(rewriter, op))
    formWithEpilogue(rewriter, convolution, KernelFamily::Convolution);
}

/// `op` as a linalg.generic: itself, or a named elementwise op generalised;
/// null for anything else.
linalg::GenericOp getAsGeneric(RewriterBase &rewriter, Operation *op) {
  if (auto generic = dyn_cast_or_null<linalg::GenericOp>(op))
    return generic;
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  if (!linalgOp || !linalg::isElementwise(linalgOp) ||
      isa<linalg::FillOp>(op) || !allKernelTensors(op))
    return nullptr;
  return generalize(rewriter, linalgOp);
}

/// Whether `type` is a static tensor of floats or booleans: the values a
/// row program computes (its inputs and result are checked by
/// matchRowProgram).
bool isRowValueType(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return isMaskTensorType(type) ||
         (tensor && tensor.hasStaticShape() &&
          isa<FloatType>(tensor.getElementType()));
}

/// The iteration space of an op over the rows of a tensor: the row
/// dimensions and, for ops over the rows' elements, the row length.
SmallVector<int64_t> getRowSpace(linalg::GenericOp op) {
  if (!llvm::all_of(op->getOperandTypes(), isRowValueType) ||
      op->getNumResults() != 1 || op.getNumDpsInits() != 1)
    return {};
  return op.getStaticLoopRanges();
}

/// Whether `op` runs over the rows of `space` (rows and row length), or
/// over the rows alone (with or without a unit loop for the reduced
/// dimension), as a row program can (see matchRowProgram).
bool isRowStep(linalg::GenericOp op, ArrayRef<int64_t> space) {
  SmallVector<int64_t> ranges = getRowSpace(op);
  if (ranges.empty() && !space.empty())
    return false;
  ArrayRef<int64_t> rows = space.drop_back();
  bool overElements = ArrayRef<int64_t>(ranges) == space;
  bool overRows = ArrayRef<int64_t>(ranges) == rows ||
                  (ranges.size() == space.size() &&
                   ArrayRef<int64_t>(ranges).drop_back() == rows &&
                   ranges.back() == 1);
  if (!overElements && !overRows)
    return false;
  // Only the last loop may reduce.
  unsigned parallel = op.getNumParallelLoops();
  return parallel == ranges.size() ||
         (overElements && parallel == ranges.size() - 1 &&
          linalg::isReductionIterator(op.getIteratorTypesArray().back()));
}

/// Whether `op` reduces each row of its input to one value: the seed of a
/// row-reduction region.
bool isRowReduction(linalg::GenericOp op) {
  SmallVector<int64_t> ranges = getRowSpace(op);
  return !ranges.empty() && isRowStep(op, ranges) &&
         op.getNumParallelLoops() == ranges.size() - 1;
}

/// The values of `ops` that an op outside them reads.
SmallVector<Value> getEscaping(ArrayRef<Operation *> ops) {
  llvm::SmallPtrSet<Operation *, 16> inside(ops.begin(), ops.end());
  SmallVector<Value> escaping;
  for (Operation *op : ops)
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            return !inside.contains(user);
          }))
        escaping.push_back(result);
  return escaping;
}

/// The row steps over `seed`'s rows connected to it through the values
/// they read (in its block, outside kernel regions), in program order.
SmallVector<Operation *> collectRowSteps(RewriterBase &rewriter,
                                         linalg::GenericOp seed) {
  SmallVector<int64_t> space = seed.getStaticLoopRanges();
  llvm::SetVector<Operation *> steps;
  auto visit = [&](Operation *op) {
    linalg::GenericOp generic = getAsGeneric(rewriter, op);
    if (generic && generic->getBlock() == seed->getBlock() &&
        isRowStep(generic, space))
      steps.insert(generic);
  };
  steps.insert(seed);
  for (size_t i = 0; i < steps.size(); ++i) {
    Operation *op = steps[i];
    // Each operand's producer is looked up after the one before may have
    // been generalised (replaced), so it is never a stale op.
    for (Value operand : op->getOperands())
      visit(operand.getDefiningOp());
    // Generalising a user replaces it in the use list being walked: walk a
    // copy, each user once.
    llvm::SetVector<Operation *> users(op->user_begin(), op->user_end());
    for (Operation *user : users)
      visit(user);
  }
  SmallVector<Operation *> ordered = steps.takeVector();
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

/// Forms a row-reduction region around `seed`: of the row steps connected
/// to it (collectRowSteps), the longest run in program order that holds the
/// seed, whose only value read outside is the last op's, and that is a row
/// program (matchRowProgram).
void formRowReduction(RewriterBase &rewriter, linalg::GenericOp seed) {
  SmallVector<Operation *> steps = collectRowSteps(rewriter, seed);
  size_t seedIndex = llvm::find(steps, seed.getOperation()) - steps.begin();
  ArrayRef<Operation *> best;
  for (size_t first = 0; first <= seedIndex; ++first)
    for (size_t end = steps.size(); end > seedIndex && end - first > best.size();
         --end) {
      ArrayRef<Operation *> run = ArrayRef(steps).slice(first, end - first);
      SmallVector<Value> escaping = getEscaping(run);
      if (escaping.size() != 1 || escaping[0] != run.back()->getResult(0))
        continue;
      llvm::Expected<RowProgram> program = matchRowProgram(run);
      if (!program) {
        llvm::consumeError(program.takeError());
        continue;
      }
      best = run;
    }
  if (!best.empty())
    wrapInKernel(rewriter, KernelFamily::RowReduction, best);
}

struct FormKernelRegionsPass
    : public tesa::impl::FormKernelRegionsBase<FormKernelRegionsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> contractions;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<KernelOp>() &&
          linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    for (linalg::LinalgOp op : contractions)
      formContraction(rewriter, op);
    SmallVector<linalg::LinalgOp> convolutions;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<KernelOp>() && isConvolutionForKernel(op))
        convolutions.push_back(op);
    });
    for (linalg::LinalgOp op : convolutions)
      formConvolution(rewriter, op);
    SmallVector<linalg::GenericOp> reductions;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (!op->getParentOfType<KernelOp>() && isRowReduction(op))
        reductions.push_back(op);
    });
    for (linalg::GenericOp op : reductions)
      if (!op->getParentOfType<KernelOp>())
        formRowReduction(rewriter, op);
    // Copies whose readers now read their sources (and the annotations
    // before them), last first.
    SmallVector<Operation *> copies;
    getOperation()->walk([&](Operation *op) {
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (isa<linalg::TransposeOp, AnnotateOp>(op) ||
          (generic && generic.hasPureTensorSemantics() &&
           !op->getParentOfType<KernelOp>()))
        copies.push_back(op);
    });
    for (Operation *op : llvm::reverse(copies))
      if (op->use_empty())
        rewriter.eraseOp(op);
    // The transposes no neighbour folded: elementwise regions of their own.
    getOperation()->walk([&](linalg::TransposeOp op) {
      if (!op->getParentOfType<KernelOp>() && isTransposeForKernel(op))
        wrapInKernel(rewriter, KernelFamily::Elementwise, {op});
    });
  }
};

} // namespace
