//===- MatmulForms.cpp - Sparse products rewritten as matmuls -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "MatmulForms.h"

#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace tesa;

/// `value` (of a type without encoding) declared to have the per-element
/// `entries` over its shape; left as it is when they keep everything at full
/// precision.
static Value annotate(OpBuilder &builder, Location loc, Value value,
                      std::vector<uint8_t> entries) {
  auto type = cast<RankedTensorType>(value.getType());
  std::optional<uint8_t> full = getFullBits(type.getElementType());
  if (llvm::all_of(entries, [&](uint8_t bits) { return bits == full; }))
    return value;
  llvm::Expected<SparsityMap> map =
      SparsityMap::get(type.getShape(), type.getShape(), std::move(entries));
  if (!map) {
    llvm::consumeError(map.takeError());
    return value;
  }
  auto encoded = withSparsityEncoding(
      type, SparsityAttr::get(builder.getContext(), map->getCanonical()));
  return AnnotateOp::create(builder, loc, encoded, value);
}

/// `value` with its encoding dropped (no claim about its elements).
static Value plain(OpBuilder &builder, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!getSparsityEncoding(type))
    return value;
  return AnnotateOp::create(builder, loc, withSparsityEncoding(type, nullptr),
                            value);
}

/// The per-element entries of `value`'s declared sparsity, row-major.
static std::vector<uint8_t> elementEntries(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return getDeclaredMap(type).getEntriesOn(type.getShape());
}

std::string tesa::getUnsupportedOperandReason(linalg::LinalgOp op,
                                              bool allowF16) {
  // The element type of the operands read, and of the accumulators and
  // results.
  Type inputElement, outputElement;
  auto check = [&](Value value, Type &element) -> std::string {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return "it works on buffers, not tensors";
    if (!type.hasStaticShape())
      return "its shapes are dynamic";
    Type own = type.getElementType();
    if (!own.isF32() && !(allowF16 && own.isF16()))
      return llvm::formatv(allowF16 ? "element type {0} is neither f32 nor f16"
                                    : "element type {0} is not f32",
                           own)
          .str();
    if (!element)
      element = own;
    return own == element ? "" : "its operands mix f32 and f16";
  };
  for (Value input : op.getDpsInputs())
    if (std::string reason = check(input, inputElement); !reason.empty())
      return reason;
  SmallVector<Value> outputs(op.getDpsInits());
  llvm::append_range(outputs, op->getResults());
  for (Value output : outputs)
    if (std::string reason = check(output, outputElement); !reason.empty())
      return reason;
  // f16 operands may accumulate in f32 (a product that widens them).
  if (inputElement != outputElement &&
      !(inputElement.isF16() && outputElement.isF32()))
    return "its operands mix f32 and f16";
  return "";
}

//===----------------------------------------------------------------------===//
// Batched products
//===----------------------------------------------------------------------===//

namespace {
/// A rank-3 operand of a batched product, without its encoding, and its
/// per-element sparsity (empty when it has no encoding): computed once, read
/// by every batch.
struct BatchedOperand {
  BatchedOperand(OpBuilder &builder, Location loc, Value original)
      : value(plain(builder, loc, original)) {
    if (getSparsityEncoding(original.getType()))
      entries = elementEntries(original);
  }
  Value value;
  std::vector<uint8_t> entries;
};
} // namespace

/// Batch `batch` of `operand`, as a rank-2 tensor with the sparsity of that
/// slice.
static Value sliceBatch(OpBuilder &builder, Location loc,
                        const BatchedOperand &operand, int64_t batch) {
  auto type = cast<RankedTensorType>(operand.value.getType());
  int64_t rows = type.getDimSize(1), columns = type.getDimSize(2);
  auto sliceType = RankedTensorType::get({rows, columns}, type.getElementType());
  SmallVector<OpFoldResult> offsets = {builder.getIndexAttr(batch),
                                       builder.getIndexAttr(0),
                                       builder.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {builder.getIndexAttr(1),
                                     builder.getIndexAttr(rows),
                                     builder.getIndexAttr(columns)};
  SmallVector<OpFoldResult> strides(3, builder.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(
      builder, loc, sliceType, operand.value, offsets, sizes, strides);
  if (operand.entries.empty())
    return slice;
  auto first = operand.entries.begin() + batch * rows * columns;
  return annotate(builder, loc, slice,
                  std::vector<uint8_t>(first, first + rows * columns));
}

SmallVector<linalg::MatmulOp>
tesa::splitBatchMatmul(linalg::BatchMatmulOp op, std::string &reason) {
  if (op.hasUserDefinedMaps()) {
    reason = "it has user-defined indexing maps";
    return {};
  }
  reason = getUnsupportedOperandReason(op);
  if (!reason.empty())
    return {};
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t batches = resultType.getDimSize(0);
  if (batches > kMaxSplitBatches) {
    reason = llvm::formatv("it has {0} batches, more than the {1} that are "
                           "split into one product each",
                           batches, kMaxSplitBatches)
                 .str();
    return {};
  }
  OpBuilder builder(op);
  Location loc = op.getLoc();
  BatchedOperand lhs(builder, loc, op.getDpsInputs()[0]);
  BatchedOperand rhs(builder, loc, op.getDpsInputs()[1]);
  // The accumulator is read plain: its sparsity is the result's business.
  BatchedOperand init(builder, loc, plain(builder, loc, op.getDpsInits()[0]));
  Value result = init.value;
  SmallVector<linalg::MatmulOp> matmuls;
  for (int64_t batch = 0; batch < batches; ++batch) {
    Value acc = sliceBatch(builder, loc, init, batch);
    auto matmul = linalg::MatmulOp::create(
        builder, loc, TypeRange{acc.getType()},
        ValueRange{sliceBatch(builder, loc, lhs, batch),
                   sliceBatch(builder, loc, rhs, batch)},
        ValueRange{acc});
    matmuls.push_back(matmul);
    int64_t rows = resultType.getDimSize(1), columns = resultType.getDimSize(2);
    result = tensor::InsertSliceOp::create(
        builder, loc, matmul->getResult(0), result,
        ArrayRef<OpFoldResult>{builder.getIndexAttr(batch),
                               builder.getIndexAttr(0),
                               builder.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{builder.getIndexAttr(1),
                               builder.getIndexAttr(rows),
                               builder.getIndexAttr(columns)},
        SmallVector<OpFoldResult>(3, builder.getIndexAttr(1)));
  }
  if (result.getType() != resultType)
    result = AnnotateOp::create(builder, loc, resultType, result);
  op->getResult(0).replaceAllUsesWith(result);
  op.erase();
  return matmuls;
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

namespace {
/// Where the dimensions of a 2-D convolution's operands are.
struct ConvolutionLayout {
  bool channelsFirst; // NCHW / FCHW, else NHWC / HWCF
  int64_t batch, height, width, channels, filters, kernelHeight, kernelWidth,
      outHeight, outWidth;
  int64_t strides[2], dilations[2];
};
} // namespace

static ConvolutionLayout getLayout(linalg::LinalgOp op, bool channelsFirst,
                                   DenseIntElementsAttr strides,
                                   DenseIntElementsAttr dilations) {
  ArrayRef<int64_t> input =
      cast<RankedTensorType>(op.getDpsInputs()[0].getType()).getShape();
  ArrayRef<int64_t> filter =
      cast<RankedTensorType>(op.getDpsInputs()[1].getType()).getShape();
  ArrayRef<int64_t> output =
      cast<RankedTensorType>(op.getDpsInits()[0].getType()).getShape();
  ConvolutionLayout layout;
  layout.channelsFirst = channelsFirst;
  layout.batch = input[0];
  if (channelsFirst) {
    layout.channels = input[1];
    layout.height = input[2], layout.width = input[3];
    layout.filters = filter[0];
    layout.kernelHeight = filter[2], layout.kernelWidth = filter[3];
    layout.outHeight = output[2], layout.outWidth = output[3];
  } else {
    layout.height = input[1], layout.width = input[2];
    layout.channels = input[3];
    layout.kernelHeight = filter[0], layout.kernelWidth = filter[1];
    layout.filters = filter[3];
    layout.outHeight = output[1], layout.outWidth = output[2];
  }
  auto s = strides.getValues<int64_t>(), d = dilations.getValues<int64_t>();
  layout.strides[0] = s[0], layout.strides[1] = s[1];
  layout.dilations[0] = d[0], layout.dilations[1] = d[1];
  return layout;
}

/// The patches of the input as a matrix: rows (n, oh, ow) x columns
/// (kh, kw, c) for NHWC, rows (c, kh, kw) x columns (n, oh, ow) for NCHW,
/// made by a `linalg.generic` copy into a rank-6 tensor and collapsed. The
/// matrix carries the input's sparsity, element by element.
static Value buildPatches(OpBuilder &builder, Location loc, Value input,
                          const ConvolutionLayout &l) {
  MLIRContext *ctx = builder.getContext();
  // Loop order = the rank-6 tensor's dimensions.
  SmallVector<int64_t> shape =
      l.channelsFirst
          ? SmallVector<int64_t>{l.channels, l.kernelHeight, l.kernelWidth,
                                 l.batch, l.outHeight, l.outWidth}
          : SmallVector<int64_t>{l.batch, l.outHeight, l.outWidth,
                                 l.kernelHeight, l.kernelWidth, l.channels};
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr n, c, kh, kw, oh, ow;
  if (l.channelsFirst)
    c = d(0), kh = d(1), kw = d(2), n = d(3), oh = d(4), ow = d(5);
  else
    n = d(0), oh = d(1), ow = d(2), kh = d(3), kw = d(4), c = d(5);
  AffineExpr h = oh * l.strides[0] + kh * l.dilations[0];
  AffineExpr w = ow * l.strides[1] + kw * l.dilations[1];
  AffineMap inputMap = AffineMap::get(
      6, 0,
      l.channelsFirst ? ArrayRef<AffineExpr>{n, c, h, w}
                      : ArrayRef<AffineExpr>{n, h, w, c},
      ctx);
  Type elementType = cast<RankedTensorType>(input.getType()).getElementType();
  Value empty = tensor::EmptyOp::create(builder, loc, shape, elementType);
  auto copy = linalg::GenericOp::create(
      builder, loc, empty.getType(), plain(builder, loc, input), empty,
      ArrayRef<AffineMap>{inputMap, builder.getMultiDimIdentityMap(6)},
      SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
      [](OpBuilder &b, Location bodyLoc, ValueRange args) {
        linalg::YieldOp::create(b, bodyLoc, args[0]);
      });
  SmallVector<ReassociationIndices> groups = {{0, 1, 2}, {3, 4, 5}};
  Value patches = tensor::CollapseShapeOp::create(builder, loc,
                                                  copy->getResult(0), groups);
  if (!getSparsityEncoding(input.getType()))
    return patches;
  // Element (row, column) of the matrix is the input element its rank-6
  // index reads.
  auto inputType = cast<RankedTensorType>(input.getType());
  std::vector<uint8_t> inputEntries = elementEntries(input);
  ArrayRef<int64_t> inputShape = inputType.getShape();
  std::vector<uint8_t> entries;
  entries.reserve(ShapedType::getNumElements(shape));
  SmallVector<int64_t, 6> index(6, 0);
  for (int64_t linear = 0, e = ShapedType::getNumElements(shape); linear < e;
       ++linear) {
    SmallVector<int64_t> at = inputMap.compose(index);
    int64_t offset = 0;
    for (unsigned i = 0; i < 4; ++i)
      offset = offset * inputShape[i] + at[i];
    entries.push_back(inputEntries[offset]);
    for (int i = 5; i >= 0 && ++index[i] == shape[i]; --i)
      index[i] = 0;
  }
  return annotate(builder, loc, patches, std::move(entries));
}

linalg::MatmulOp tesa::convolutionAsMatmul(linalg::LinalgOp op,
                                           std::string &reason,
                                           bool allowF16) {
  reason = getUnsupportedOperandReason(op, allowF16);
  if (!reason.empty())
    return {};
  ConvolutionLayout l;
  if (auto conv = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op.getOperation()))
    l = getLayout(op, false, conv.getStrides(), conv.getDilations());
  else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation()))
    l = getLayout(op, true, conv.getStrides(), conv.getDilations());
  else {
    reason = "only conv_2d_nhwc_hwcf and conv_2d_nchw_fchw are rewritten as "
             "products";
    return {};
  }
  OpBuilder builder(op);
  Location loc = op.getLoc();
  Value input = op.getDpsInputs()[0], filter = op.getDpsInputs()[1];
  Value init = op.getDpsInits()[0];
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  Type f32 = resultType.getElementType();
  Value patches = buildPatches(builder, loc, input, l);

  // The filter as a matrix: HWCF -> (kh kw c) x f; FCHW -> f x (c kh kw),
  // both a plain collapse, so the map's entries keep their order.
  SmallVector<ReassociationIndices> filterGroups =
      l.channelsFirst ? SmallVector<ReassociationIndices>{{0}, {1, 2, 3}}
                      : SmallVector<ReassociationIndices>{{0, 1, 2}, {3}};
  Value weights = tensor::CollapseShapeOp::create(
      builder, loc, plain(builder, loc, filter), filterGroups);
  if (getSparsityEncoding(filter.getType()))
    weights = annotate(builder, loc, weights, elementEntries(filter));

  // The accumulator as a matrix of `rows` x `columns` (the filters along
  // `filterDim`) is, for a bias broadcast along the filters (the bias
  // --tesa-fold-bias-into-accumulator folded in), that bias broadcast
  // directly: the parts then read the bias vector where it is.
  auto broadcastBias = [&](int64_t rows, int64_t columns,
                           unsigned filterDim) -> Value {
    Value bias;
    AffineMap map;
    unsigned outputFilterDim = l.channelsFirst ? 1 : 3;
    if (!matchCopy(init, bias, map, /*allowBroadcast=*/true) ||
        map.getNumResults() != 1 ||
        map.getDimPosition(0) != outputFilterDim)
      return nullptr;
    MLIRContext *context = builder.getContext();
    Value empty = tensor::EmptyOp::create(builder, loc, {rows, columns}, f32);
    AffineMap identity = builder.getMultiDimIdentityMap(2);
    AffineMap filters =
        AffineMap::get(2, 0, getAffineDimExpr(filterDim, context), context);
    return linalg::GenericOp::create(
               builder, loc, empty.getType(), plain(builder, loc, bias),
               empty, ArrayRef<AffineMap>{filters, identity},
               SmallVector<utils::IteratorType>(
                   2, utils::IteratorType::parallel),
               [](OpBuilder &b, Location l, ValueRange args) {
                 linalg::YieldOp::create(b, l, args[0]);
               })
        ->getResult(0);
  };
  auto transpose = [&](Value value, ArrayRef<int64_t> permutation) -> Value {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<int64_t> shape;
    for (int64_t p : permutation)
      shape.push_back(type.getDimSize(p));
    Value empty = tensor::EmptyOp::create(builder, loc, shape, f32);
    return linalg::TransposeOp::create(builder, loc, value, empty, permutation)
        ->getResult(0);
  };
  linalg::MatmulOp matmul;
  Value result;
  if (l.channelsFirst) {
    // out[f, (n oh ow)] = W[f, (c kh kw)] * patches[(c kh kw), (n oh ow)];
    // the output NFHW goes through FNHW.
    int64_t pixels = l.batch * l.outHeight * l.outWidth;
    Value accMatrix = broadcastBias(l.filters, pixels, 0);
    if (!accMatrix)
      accMatrix = tensor::CollapseShapeOp::create(
          builder, loc, transpose(plain(builder, loc, init), {1, 0, 2, 3}),
          SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    matmul = linalg::MatmulOp::create(
        builder, loc, TypeRange{accMatrix.getType()},
        ValueRange{weights, patches}, ValueRange{accMatrix});
    Value expanded = tensor::ExpandShapeOp::create(
        builder, loc,
        RankedTensorType::get({l.filters, l.batch, l.outHeight, l.outWidth},
                              f32),
        matmul->getResult(0),
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    result = transpose(expanded, {1, 0, 2, 3});
  } else {
    // out[(n oh ow), f] = patches[(n oh ow), (kh kw c)] * W[(kh kw c), f].
    SmallVector<ReassociationIndices> groups = {{0, 1, 2}, {3}};
    Value accMatrix =
        broadcastBias(l.batch * l.outHeight * l.outWidth, l.filters, 1);
    if (!accMatrix)
      accMatrix = tensor::CollapseShapeOp::create(
          builder, loc, plain(builder, loc, init), groups);
    matmul = linalg::MatmulOp::create(
        builder, loc, TypeRange{accMatrix.getType()},
        ValueRange{patches, weights}, ValueRange{accMatrix});
    result = tensor::ExpandShapeOp::create(
        builder, loc,
        RankedTensorType::get({l.batch, l.outHeight, l.outWidth, l.filters},
                              f32),
        matmul->getResult(0), groups);
  }
  if (result.getType() != resultType)
    result = AnnotateOp::create(builder, loc, resultType, result);
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
  return matmul;
}
