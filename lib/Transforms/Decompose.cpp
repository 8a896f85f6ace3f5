//===- Decompose.cpp - Split sparse products into parts -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "MatmulForms.h"

#include "tesa/Analysis/DecompositionPlan.h"
#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>

namespace tesa {
#define GEN_PASS_DEF_DECOMPOSE
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct DecomposePass : public tesa::impl::DecomposeBase<DecomposePass> {
  using DecomposeBase::DecomposeBase;
  void runOnOperation() override;

private:
  FailureOr<DecompositionOptions> parseOptions();
  void decompose(linalg::MatmulOp op, const ChipDescription &chip,
                 const DecompositionOptions &options);
};

/// Whether `map`, over a tensor of `type`, prunes anything or keeps anything
/// below full precision.
bool isSparse(RankedTensorType type, const SparsityMap &map) {
  return map.getUniformBits() != getFullBits(type.getElementType());
}

/// Whether `value` is better read densely than split into parts: it has no
/// encoding, or it is a value the program computes (an argument's pruned
/// elements may hold anything) that keeps more than half of its elements,
/// all at 32 bits. A batched product of such operands (attention's scores
/// and context, whose heads propagation thins a little) is one kernel of
/// the contraction family instead of one product per batch; a convolution
/// of such operands (an image whose padding is its only zeros) is one dense
/// convolution instead of a product split around the padding.
bool isMostlyKeptValue(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!getSparsityEncoding(type))
    return true;
  if (isa<BlockArgument>(value) || !type.hasStaticShape())
    return false;
  SparsityMap map = getDeclaredMap(type);
  for (uint8_t bits : map.getEntries())
    if (bits != 0 && bits != 32)
      return false;
  return 2 * map.getNumKept() > map.getNumElements();
}

/// Whether a pruned element of the operand that is not split (`other`, its
/// reduction along `otherDim`) can meet a kept element of the split one
/// (`split`, along `splitDim`): then its stored value must be zeroed before
/// the parts read it densely. (Propagation often makes this false: the
/// split operand's reduction slices are dead where the other is pruned.)
bool prunedElementsMeetKept(const SparsityMap &split, unsigned splitDim,
                            const SparsityMap &other, unsigned otherDim) {
  // Along the reduction, per block of each map's grid: whether the split
  // operand keeps an element there, whether the other prunes one.
  auto alongReduction = [](const SparsityMap &map, unsigned reductionDim,
                           bool wanted) {
    ArrayRef<int64_t> grid = map.getGridShape();
    int64_t inner = 1;
    for (int64_t size : grid.drop_front(reductionDim + 1))
      inner *= size;
    std::vector<bool> found(grid[reductionDim], false);
    for (auto [i, bits] : llvm::enumerate(map.getEntries())) {
      int64_t k = (int64_t(i) / inner) % grid[reductionDim];
      found[k] = found[k] || (bits != 0) == wanted;
    }
    return found;
  };
  std::vector<bool> kept = alongReduction(split, splitDim, true);
  std::vector<bool> pruned = alongReduction(other, otherDim, false);
  int64_t splitBlock = split.getBlockShape()[splitDim];
  int64_t otherBlock = other.getBlockShape()[otherDim];
  int64_t step = std::gcd(splitBlock, otherBlock);
  for (int64_t k = 0; k < split.getShape()[splitDim]; k += step)
    if (kept[k / splitBlock] && pruned[k / otherBlock])
      return true;
  return false;
}

/// Why `op` cannot be decomposed, or an empty string.
std::string getUnsupportedReason(linalg::MatmulOp op) {
  if (op.hasUserDefinedMaps())
    return "it has user-defined indexing maps";
  return getUnsupportedOperandReason(op, /*allowF16=*/true);
}

std::string describe(ArrayRef<PlannedPart> parts) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << parts.size() << (parts.size() == 1 ? " part" : " parts");
  for (const PlannedPart &part : parts) {
    os << "; ";
    if (part.kind != PlannedPart::Kind::Fine)
      os << part.numUnits
         << (part.kind == PlannedPart::Kind::Structured ? " 2:4 blocks of "
                                                         : " blocks of ")
         << part.blockRows << "x" << part.blockColumns;
    else
      os << part.numUnits << " fine-grained elements";
    os << " at " << part.bits << " bits";
  }
  return text;
}

/// Whether the f16 part `part` is 16-bit blocks kept in whole slabs 32
/// deep by 32 columns (see getKeptSlabs), which the contraction family
/// walks.
static bool isKeptSlabPart(const PlannedPart &part) {
  return part.kind == PlannedPart::Kind::Block && part.bits == 16 &&
         part.blockRows % 32 == 0 && getKeptSlabs(part.map, part.blockRows, 32);
}

/// Whether the f16 part `part` is 2:4 structured blocks, which the part
/// kernels compute on sparse tensor cores from an f16 copy of the dense
/// operand.
static bool isStructuredF16Part(const PlannedPart &part) {
  return part.kind == PlannedPart::Kind::Structured && part.bits == 16;
}

/// An f16 product whose sparse rhs keeps at most this fraction of its
/// elements, multiplied by at most this many dense columns (a decode step),
/// is one fine-grained part under the `auto` plan instead of a dense
/// product. The SIMT part kernel walks the kept elements at about the same
/// cost whatever their precision: fine_fp32_decode (16 x 4096 x 4096, an
/// H200) took 0.0196 ms at 10% kept and 0.0069 ms at 1%, against 0.009 for
/// cuBLAS's dense fp16 product, so it pays below about 2.5%. Parts that keep
/// more (from 5%) are computed on tensor cores from compressed tiles under
/// the `fine` plan, still slower than the dense product at a decode step
/// (1.4x at 10% kept, 2.3x at 50%, an H100; docs/benchmarks.md).
static constexpr int64_t kMaxFineF16Columns = 64;
static constexpr double kMaxFineF16Kept = 0.02;

/// Whether `parts` are one fine-grained part of 16-bit elements, which the
/// SIMT part kernel computes reading f16 operands as they are.
static bool isFineF16Plan(ArrayRef<PlannedPart> parts) {
  return parts.size() == 1 && parts[0].kind == PlannedPart::Kind::Fine &&
         parts[0].bits == 16;
}

/// Whether the fine f16 plan `parts` beats the dense product over
/// `denseColumns` columns (kMaxFineF16Columns, kMaxFineF16Kept).
static bool isFineF16DecodePlan(ArrayRef<PlannedPart> parts,
                                int64_t denseColumns) {
  return isFineF16Plan(parts) && denseColumns <= kMaxFineF16Columns &&
         double(parts[0].numUnits) <=
             kMaxFineF16Kept * double(parts[0].map.getNumElements());
}

/// Why `parts` of the sparse operand `sparseIndex` of a product of f16
/// tensors cannot be computed, or an empty string: f16 parts are computed
/// only over a sparse rhs, all of them kept slabs (isKeptSlabPart), all
/// structured (isStructuredF16Part), or one fine-grained part
/// (isFineF16Plan: the `fine` plan, or `auto` at a decode step).
std::string getF16PlanReason(ArrayRef<PlannedPart> parts,
                             unsigned sparseIndex) {
  if (sparseIndex != 1)
    return "its sparse operand is the lhs; f16 parts are computed only over "
           "kept blocks of the rhs";
  if (!llvm::all_of(parts, isKeptSlabPart) &&
      !llvm::all_of(parts, isStructuredF16Part) && !isFineF16Plan(parts))
    return "its plan (" + describe(parts) +
           ") is neither all 16-bit blocks kept in whole 32x32 tiles, nor "
           "all 2:4 structured blocks, nor one fine-grained 16-bit part, "
           "the f16 parts computed";
  return "";
}

/// Makes `parts`, the plan of an f16 product's sparse operand `sparseIndex`
/// (`map`, with `denseColumns` dense columns), one the f16 parts compute, or
/// says why the product stays dense. The `auto` plan's costs are the f32
/// programs' kernels: where its plan is not one of the f16 parts' or is one
/// fine-grained part, one fine-grained part is taken only where it pays
/// (isFineF16DecodePlan).
static std::string chooseF16Plan(SmallVector<PlannedPart> &parts,
                                 const SparsityMap &map, unsigned sparseIndex,
                                 int64_t denseColumns,
                                 const ChipDescription &chip,
                                 const DecompositionOptions &options) {
  std::string reason = getF16PlanReason(parts, sparseIndex);
  if (options.mode != DecompositionOptions::Mode::Auto || sparseIndex != 1 ||
      (reason.empty() && !isFineF16Plan(parts)))
    return reason;
  DecompositionOptions fineOptions = options;
  fineOptions.mode = DecompositionOptions::Mode::Fine;
  SmallVector<PlannedPart> fine =
      planDecomposition(map, /*channelsAlongRows=*/false, chip, fineOptions);
  if (isFineF16DecodePlan(fine, denseColumns)) {
    parts = std::move(fine);
    return "";
  }
  std::string fineReason =
      "one fine-grained 16-bit part pays only over at most " +
      std::to_string(kMaxFineF16Columns) + " dense columns keeping at most " +
      std::to_string(int(kMaxFineF16Kept * 100)) + "% of the elements";
  return isFineF16Plan(parts) ? fineReason : reason + ", and " + fineReason;
}

/// `value`, a tensor of f16 or f32, with its elements converted to `type`'s
/// (f16 extended exactly, f32 rounded); a known splat is filled again.
static Value convertElements(OpBuilder &builder, Location loc, Value value,
                             RankedTensorType type) {
  Type element = type.getElementType();
  Value empty = tensor::EmptyOp::create(builder, loc, type.getShape(), element,
                                        type.getEncoding());
  if (std::optional<double> splat = getKnownSplat(value)) {
    Value converted = arith::ConstantOp::create(
        builder, loc, FloatAttr::get(element, *splat));
    return linalg::FillOp::create(builder, loc, converted, empty).getResult(0);
  }
  AffineMap identity = builder.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
             builder, loc, TypeRange{type}, ValueRange{value},
             ValueRange{empty}, ArrayRef<AffineMap>{identity, identity},
             SmallVector<utils::IteratorType>(type.getRank(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &b, Location l, ValueRange args) {
               Value converted =
                   element.isF32()
                       ? arith::ExtFOp::create(b, l, element, args[0])
                             .getResult()
                       : arith::TruncFOp::create(b, l, element, args[0])
                             .getResult();
               linalg::YieldOp::create(b, l, converted);
             })
      .getResult(0);
}

/// Whether `value` is declared entirely pruned: nothing of it is read.
bool isEntirelyPruned(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape() && getSparsityEncoding(type) &&
         getDeclaredMap(type).getNumKept() == 0;
}

/// A product or convolution (multiply-accumulate) with an operand that is
/// entirely pruned adds nothing to its accumulator: its result is replaced
/// by the accumulator, and it is erased. Returns whether it was.
bool foldEntirelyPrunedProduct(linalg::LinalgOp op, bool emitRemarks) {
  SmallVector<Value> inputs = op.getDpsInputs();
  auto pruned = llvm::find_if(inputs, isEntirelyPruned);
  if (pruned == inputs.end())
    return false;
  if (emitRemarks)
    op.emitRemark() << "operand " << (pruned - inputs.begin())
                    << " is entirely pruned: the result is the accumulator";
  // (A linalg op's result has its accumulator's type, encoding included.)
  op->getResult(0).replaceAllUsesWith(op.getDpsInits()[0]);
  op->erase();
  return true;
}

/// The least fraction of its elements that an operand of a 1x1 NCHW
/// convolution of unit strides keeps, below which the convolution is
/// decomposed. Above it, the dense batched product that
/// --tesa-convolutions-as-products makes of it (one contraction region,
/// reading the images in place) is faster than parts over its patches
/// (copied, and the result transposed back to NCHW): on an H200,
/// MobileNet-V2 f32 (batch 32) took 4.9 ms with its structured50 filters
/// (a quarter of each kept, half the filters and half the channels) as
/// parts, against 2.2 ms dense, and 0.68 / 2.3 ms with 10% of the blocks /
/// elements kept as parts.
constexpr double kDecomposedPointwiseKeptFraction = 0.2;

/// Whether `op` is a 1x1 NCHW convolution of unit strides whose sparse
/// operands all keep more than kDecomposedPointwiseKeptFraction of their
/// elements, each at its element type's full precision: it is left dense
/// (see keepDense).
bool isDensePointwiseConvolution(linalg::LinalgOp op) {
  auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation());
  if (!conv || !llvm::all_of(conv.getStrides().getValues<int64_t>(),
                             [](int64_t stride) { return stride == 1; }))
    return false;
  auto filter = dyn_cast<RankedTensorType>(conv.getDpsInputs()[1].getType());
  if (!filter || !filter.hasStaticShape() || filter.getDimSize(2) != 1 ||
      filter.getDimSize(3) != 1)
    return false;
  return llvm::all_of(op.getDpsInputs(), [](Value input) {
    auto type = cast<RankedTensorType>(input.getType());
    if (!getSparsityEncoding(type))
      return true;
    SparsityMap map = getDeclaredMap(type);
    std::optional<uint8_t> full = getFullBits(type.getElementType());
    return llvm::all_of(map.getEntries(),
                        [&](uint8_t bits) {
                          return bits == 0 || bits == full;
                        }) &&
           map.getNumKept() >
               kDecomposedPointwiseKeptFraction * double(map.getNumElements());
  });
}

/// Leaves the convolution `op` (see isDensePointwiseConvolution) dense: it
/// reads its filter with the pruned elements zeroed (an argument may hold
/// anything there; a tesa.extract_part, a masking kernel on every call), and
/// its image too where one of the image's pruned elements meets a kept
/// filter element along the channels.
void keepDense(linalg::LinalgOp op) {
  OpBuilder builder(op);
  Value image = op.getDpsInputs()[0], filter = op.getDpsInputs()[1];
  auto zeroPruned = [&](OpOperand &operand) {
    operand.set(ExtractPartOp::create(builder, op.getLoc(),
                                      operand.get().getType(),
                                      operand.get()));
  };
  auto imageType = cast<RankedTensorType>(image.getType());
  auto filterType = cast<RankedTensorType>(filter.getType());
  if (getSparsityEncoding(imageType)) {
    SparsityMap imageMap = getDeclaredMap(imageType);
    SparsityMap filterMap = getDeclaredMap(filterType);
    if (imageMap.getNumPruned() != 0 &&
        prunedElementsMeetKept(filterMap, /*splitDim=*/1, imageMap,
                               /*otherDim=*/1))
      zeroPruned(*op.getDpsInputOperand(0));
  }
  if (getSparsityEncoding(filterType) &&
      getDeclaredMap(filterType).getNumPruned() != 0)
    zeroPruned(*op.getDpsInputOperand(1));
}

} // namespace

FailureOr<DecompositionOptions> DecomposePass::parseOptions() {
  DecompositionOptions options;
  options.mode = plan;
  StringRef channels, reduction;
  std::tie(channels, reduction) = StringRef(blockShape).split('x');
  if (channels.getAsInteger(10, options.forcedBlock.channels) ||
      reduction.getAsInteger(10, options.forcedBlock.reduction) ||
      options.forcedBlock.channels <= 0 || options.forcedBlock.reduction <= 0)
    return emitError(getOperation().getLoc())
           << "block-shape '" << blockShape
           << "' is not <channels>x<reduction> with positive sizes";
  return options;
}

void DecomposePass::runOnOperation() {
  llvm::Expected<const ChipDescription &> chipDescription = getChip(chip);
  if (!chipDescription) {
    emitError(getOperation().getLoc())
        << llvm::toString(chipDescription.takeError());
    return signalPassFailure();
  }
  FailureOr<DecompositionOptions> options = parseOptions();
  if (failed(options) ||
      failed(checkCountableSizes(getOperation(), "tesa-decompose",
                                 /*encodedOnly=*/true)))
    return signalPassFailure();
  // Batched products and convolutions with a sparse operand become matmuls
  // first.
  SmallVector<linalg::MatmulOp> matmuls;
  SmallVector<linalg::LinalgOp> others;
  getOperation().walk([&](linalg::LinalgOp op) {
    if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
      matmuls.push_back(matmul);
    else if (isa<linalg::BatchMatmulOp, linalg::Conv2DNhwcHwcfOp,
                 linalg::Conv2DNchwFchwOp>(op.getOperation()) &&
             llvm::any_of(op.getDpsInputs(), [](Value input) {
               return getSparsityEncoding(input.getType()) != nullptr;
             }) &&
             !llvm::all_of(op.getDpsInputs(), isMostlyKeptValue))
      others.push_back(op);
  });
  for (linalg::LinalgOp op : others) {
    if (foldEntirelyPrunedProduct(op, emitRemarks))
      continue;
    if (isDensePointwiseConvolution(op)) {
      keepDense(op);
      if (emitRemarks)
        op.emitRemark() << "1x1 convolution kept dense: its operands keep "
                           "more than "
                        << int(kDecomposedPointwiseKeptFraction * 100)
                        << "% of their elements";
      continue;
    }
    std::string reason;
    StringRef form = isa<linalg::BatchMatmulOp>(op.getOperation())
                         ? "batched product"
                         : "convolution";
    Location loc = op.getLoc();
    if (auto batched = dyn_cast<linalg::BatchMatmulOp>(op.getOperation())) {
      SmallVector<linalg::MatmulOp> split = splitBatchMatmul(batched, reason);
      matmuls.append(split.begin(), split.end());
    } else if (linalg::MatmulOp matmul = convolutionAsMatmul(op, reason)) {
      matmuls.push_back(matmul);
    }
    if (!reason.empty())
      emitRemark(loc) << "sparse " << form << " not decomposed: " << reason
                      << "; it is computed densely";
  }
  for (linalg::MatmulOp op : matmuls)
    decompose(op, chipDescription.get(), *options);
}

void DecomposePass::decompose(linalg::MatmulOp op, const ChipDescription &chip,
                              const DecompositionOptions &options) {
  auto lhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto rhsType = dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  if (!lhsType || !rhsType ||
      (!getSparsityEncoding(lhsType) && !getSparsityEncoding(rhsType)))
    return;
  if (foldEntirelyPrunedProduct(op, emitRemarks))
    return;
  std::string reason = getUnsupportedReason(op);
  if (!reason.empty()) {
    op.emitRemark() << "sparse product not decomposed: " << reason
                    << "; it is computed densely";
    return;
  }
  SparsityMap lhsMap = getDeclaredMap(lhsType);
  SparsityMap rhsMap = getDeclaredMap(rhsType);
  bool lhsSparse = isSparse(lhsType, lhsMap);
  bool rhsSparse = isSparse(rhsType, rhsMap);
  if (!lhsSparse && !rhsSparse)
    return;
  // Decompose the operand with fewer kept elements; of f16 operands, the
  // rhs where it is sparse (f16 parts are computed over a sparse rhs only).
  bool preferRhs = lhsType.getElementType().isF16();
  unsigned sparseIndex =
      lhsSparse && (!rhsSparse || (!preferRhs && lhsMap.getNumKept() <=
                                                     rhsMap.getNumKept()))
          ? 0
          : 1;
  Value sparse = op.getDpsInputs()[sparseIndex];
  const SparsityMap &sparseMap = sparseIndex == 0 ? lhsMap : rhsMap;
  int64_t cells = getPlanningCells(sparseMap, sparseIndex == 0, chip, options);
  if (cells > kMaxPlanningCells) {
    op.emitRemark() << "sparse product not decomposed: planning its operand "
                    << sparseIndex << " takes " << cells
                    << " cells, more than the " << kMaxPlanningCells
                    << " decomposition plans; it is computed densely";
    return;
  }
  SmallVector<PlannedPart> parts = planDecomposition(
      sparseMap, /*channelsAlongRows=*/sparseIndex == 0, chip, options);
  if (lhsType.getElementType().isF16()) {
    std::string reason = chooseF16Plan(parts, sparseMap, sparseIndex,
                                       lhsType.getDimSize(0), chip, options);
    if (!reason.empty()) {
      op.emitRemark() << "sparse f16 product not decomposed: " << reason
                      << "; it is computed densely";
      return;
    }
  }
  if (emitRemarks)
    op.emitRemark() << "decomposed operand " << sparseIndex << " into "
                    << describe(parts) << " (" << chip.name
                    << " costs: " << chip.costs.origin << ")";

  OpBuilder builder(op);
  auto sparseType = cast<RankedTensorType>(sparse.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  Value accumulator = op.getDpsInits()[0];
  // The structured parts of an f16 product sum into an f32 accumulator,
  // rounded to f16 once after the last; one part writes f16 itself.
  bool sumInF32 = resultType.getElementType().isF16() && parts.size() > 1 &&
                  llvm::all_of(parts, isStructuredF16Part);
  Type sumType = resultType;
  if (sumInF32) {
    sumType = resultType.clone(builder.getF32Type());
    accumulator = convertElements(builder, op.getLoc(), accumulator,
                                  cast<RankedTensorType>(accumulator.getType())
                                      .clone(builder.getF32Type()));
  }
  // The parts read the other operand densely: its pruned elements count as
  // zero whatever is stored there.
  Value other = op.getDpsInputs()[1 - sparseIndex];
  const SparsityMap &otherMap = sparseIndex == 0 ? rhsMap : lhsMap;
  if (otherMap.getNumPruned() != 0 &&
      prunedElementsMeetKept(sparseMap, /*splitDim=*/sparseIndex == 0 ? 1 : 0,
                             otherMap, /*otherDim=*/sparseIndex == 0 ? 0 : 1))
    other = ExtractPartOp::create(builder, op.getLoc(), other.getType(), other);
  for (const PlannedPart &part : parts) {
    auto partType = withSparsityEncoding(
        sparseType, SparsityAttr::get(op.getContext(), part.map));
    Value partValue =
        ExtractPartOp::create(builder, op.getLoc(), partType, sparse);
    Value lhs = sparseIndex == 0 ? partValue : other;
    Value rhs = sparseIndex == 1 ? partValue : other;
    SmallVector<int64_t> block;
    PartKernel kernel = PartKernel::Fine;
    if (part.kind != PlannedPart::Kind::Fine) {
      block = {part.blockRows, part.blockColumns};
      kernel = part.kind == PlannedPart::Kind::Structured
                   ? PartKernel::Structured
                   : PartKernel::Block;
    }
    accumulator = PartMatmulOp::create(builder, op.getLoc(), sumType, lhs, rhs,
                                       accumulator, sparseIndex, kernel, block,
                                       part.bits);
  }
  if (sumInF32)
    accumulator =
        convertElements(builder, op.getLoc(), accumulator, resultType);
  if (accumulator.getType() != resultType)
    accumulator = AnnotateOp::create(builder, op.getLoc(), resultType,
                                     accumulator);
  op->getResult(0).replaceAllUsesWith(accumulator);
  op.erase();
}
