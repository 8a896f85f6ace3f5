//===- TesaOps.cpp - tesa operations --------------------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/IR/IRMapping.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <numeric>

using namespace mlir;
using namespace tesa;

LogicalResult AnnotateOp::verify() {
  auto sourceType = cast<RankedTensorType>(getSource().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (sourceType.getShape() != resultType.getShape())
    return emitOpError("result shape ")
           << resultType << " differs from the operand shape " << sourceType;
  if (sourceType.getElementType() != resultType.getElementType())
    return emitOpError("result element type ")
           << resultType.getElementType()
           << " differs from the operand element type "
           << sourceType.getElementType();
  if (resultType.getEncoding() && !getSparsityEncoding(resultType))
    return emitOpError("result encoding must be a #tesa.sparsity attribute or "
                       "none, got ")
           << resultType.getEncoding();
  return success();
}

OpFoldResult AnnotateOp::fold(FoldAdaptor) {
  if (getSource().getType() == getResult().getType())
    return getSource();
  return {};
}

LogicalResult ExtractPartOp::verify() {
  auto sourceType = cast<RankedTensorType>(getSource().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (sourceType.getShape() != resultType.getShape() ||
      sourceType.getElementType() != resultType.getElementType())
    return emitOpError("result type ")
           << resultType << " must have the shape and element type of "
           << sourceType;
  SparsityAttr partEncoding = getSparsityEncoding(resultType);
  if (!partEncoding)
    return emitOpError("result must carry a #tesa.sparsity encoding");
  if (!sourceType.hasStaticShape())
    return success();
  // Subset check, where both maps are available (resource data is parsed
  // after the types, so it may not be yet).
  SparsityAttr sourceEncoding = getSparsityEncoding(sourceType);
  if (!partEncoding.getMapEntries() ||
      (sourceEncoding && !sourceEncoding.getMapEntries()))
    return success();
  auto emitError = [&] { return emitOpError(); };
  FailureOr<SparsityMap> part =
      partEncoding.getSparsityMap(resultType.getShape(), emitError);
  FailureOr<SparsityMap> source =
      sourceEncoding
          ? sourceEncoding.getSparsityMap(sourceType.getShape(), emitError)
          : FailureOr<SparsityMap>(SparsityMap::getUniform(
                sourceType.getShape(), 32));
  if (failed(part) || failed(source))
    return failure();
  // Compare on the coarsest grid that refines both maps.
  SmallVector<int64_t> grid;
  for (auto [partCells, sourceCells] :
       llvm::zip(part->getGridShape(), source->getGridShape()))
    grid.push_back(std::lcm(partCells, sourceCells));
  std::vector<uint8_t> sourceBits = source->getEntriesOn(grid);
  std::vector<uint8_t> partBits = part->getEntriesOn(grid);
  for (size_t i = 0; i < partBits.size(); ++i) {
    if (partBits[i] <= sourceBits[i])
      continue;
    InFlightDiagnostic diag = emitOpError("part keeps elements at ")
                              << unsigned(partBits[i])
                              << " bits where the operand has "
                              << unsigned(sourceBits[i]) << " (cell " << i
                              << ", row-major, of the ";
    llvm::interleave(grid, [&](int64_t cells) { diag << cells; },
                     [&] { diag << "x"; });
    return diag << " grid)";
  }
  return success();
}

LogicalResult PartMatmulOp::verifyStructured() {
  // The sparse operand's reduction runs along its columns (lhs) or rows.
  unsigned reductionDim = getSparseOperand() == 0 ? 1 : 0;
  if (getBits() != 16)
    return emitOpError("a structured kernel computes f16 parts (bits = 16), "
                       "got ")
           << getBits();
  if (getBlock()[reductionDim] % 4 != 0)
    return emitOpError("a structured kernel's blocks span a multiple of four "
                       "reduction elements, got ")
           << getBlock()[reductionDim];
  // Resource data is parsed after the types, so the map may not be known.
  auto type = cast<RankedTensorType>(getSparse().getType());
  SparsityAttr encoding = getSparsityEncoding(type);
  if (!encoding || !encoding.getMapEntries())
    return success();
  FailureOr<SparsityMap> map = encoding.getSparsityMap(
      type.getShape(), [&] { return emitOpError(); });
  if (failed(map))
    return failure();
  ArrayRef<int64_t> shape = type.getShape();
  std::vector<uint8_t> bits = map->getEntriesOn(shape);
  int64_t channels = shape[1 - reductionDim];
  int64_t reduction = shape[reductionDim];
  std::optional<DenseGroupOfFour> group = findDenseGroupOfFour(
      0, channels, 0, reduction, [&](int64_t channel, int64_t k) {
        return bits[reductionDim == 1 ? channel * reduction + k
                                      : k * channels + channel] != 0;
      });
  if (group)
    return emitOpError("a structured part keeps at most two of every four "
                       "consecutive reduction elements; channel ")
           << group->channel << " keeps " << group->kept << " of elements "
           << group->start << ".." << std::min(group->start + 4, reduction) - 1;
  return success();
}

LogicalResult PartMatmulOp::verify() {
  auto lhsType = cast<RankedTensorType>(getLhs().getType());
  auto rhsType = cast<RankedTensorType>(getRhs().getType());
  auto accType = cast<RankedTensorType>(getAcc().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  Type element = resultType.getElementType();
  Type operandElement = lhsType.getElementType();
  for (RankedTensorType type : {lhsType, rhsType, accType, resultType})
    if (type.getRank() != 2 || !type.hasStaticShape() ||
        !isa<Float32Type, Float16Type>(type.getElementType()))
      return emitOpError("operands and result must be statically shaped 2-D "
                         "tensors of f32 or f16, got ")
             << type;
  // One element type throughout, or f16 operands into an f32 accumulator.
  bool widening = operandElement.isF16() && element.isF32();
  if (rhsType.getElementType() != operandElement ||
      accType.getElementType() != element ||
      (operandElement != element && !widening))
    return emitOpError("operands and result must have one element type, or "
                       "be f16 operands with an f32 accumulator and result, "
                       "got ")
           << lhsType << " * " << rhsType << " + " << accType << " -> "
           << resultType;
  if (lhsType.getDimSize(1) != rhsType.getDimSize(0) ||
      accType.getShape() != resultType.getShape() ||
      accType.getDimSize(0) != lhsType.getDimSize(0) ||
      accType.getDimSize(1) != rhsType.getDimSize(1))
    return emitOpError("shapes do not form a matrix product: ")
           << lhsType << " * " << rhsType << " + " << accType << " -> "
           << resultType;
  PartKernel kernel = getKernel();
  ArrayRef<int64_t> block = getBlock();
  if (kernel != PartKernel::Fine &&
      (block.size() != 2 || block[0] <= 0 || block[1] <= 0))
    return emitOpError("a ") << stringifyPartKernel(kernel)
                             << " kernel needs a block shape of two positive "
                                "sizes";
  if (kernel == PartKernel::Fine && !block.empty())
    return emitOpError("a fine kernel takes no block shape");
  int64_t bits = getBits();
  if (bits != 4 && bits != 8 && bits != 16 && bits != 32)
    return emitOpError("bits must be 4, 8, 16 or 32, got ") << bits;
  if (operandElement.isF16() && bits != 16)
    return emitOpError("a part of f16 operands is computed at 16 bits, got ")
           << bits;
  if (kernel == PartKernel::Structured && failed(verifyStructured()))
    return failure();
  if (!getSparsityEncoding(getSparse().getType()))
    return emitOpError("the sparse operand must carry a #tesa.sparsity "
                       "encoding");
  if (!hasEpilogue())
    return success();
  Region &epilogue = getEpilogue();
  if (!epilogue.hasOneBlock() || epilogue.getNumArguments() != 1 ||
      epilogue.getArgument(0).getType() != element)
    return emitOpError("the epilogue must be one block with one argument of "
                       "the result's element type");
  Block &body = epilogue.front();
  auto yield = body.empty() ? nullptr : dyn_cast<YieldOp>(body.back());
  if (!yield || yield.getValues().size() != 1 ||
      yield.getValues()[0].getType() != element)
    return emitOpError("the epilogue must end in tesa.yield of one value of "
                       "the result's element type");
  for (Operation &op : body) {
    if (!isa<YieldOp>(op) && !canBeInEpilogue(&op))
      return op.emitOpError("cannot be part of an epilogue: only pure arith "
                            "and math operations can");
    for (Value operand : op.getOperands())
      if (operand.getParentRegion() != &epilogue)
        return op.emitOpError("uses a value defined outside the epilogue");
  }
  return success();
}

bool PartMatmulOp::canBeInEpilogue(Operation *op) {
  return isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) &&
         isPure(op) && op->getNumRegions() == 0;
}

Value PartMatmulOp::buildEpilogue(OpBuilder &builder, Value value) {
  if (!hasEpilogue())
    return value;
  Block &body = getEpilogue().front();
  IRMapping mapping;
  mapping.map(body.getArgument(0), value);
  for (Operation &op : body.without_terminator())
    builder.clone(op, mapping);
  return mapping.lookup(cast<YieldOp>(body.getTerminator()).getValues()[0]);
}

Value PartMatmulOp::buildScale(OpBuilder &builder, Location loc, Value maxAbs,
                               int64_t qmax) {
  Value limit =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(qmax));
  return arith::DivFOp::create(builder, loc, maxAbs, limit);
}

Value PartMatmulOp::buildInverseScale(OpBuilder &builder, Location loc,
                                      Value scale) {
  auto constant = [&](double v) -> Value {
    return arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(v));
  };
  Value positive = arith::CmpFOp::create(
      builder, loc, arith::CmpFPredicate::OGT, scale, constant(0.0));
  Value inverse = arith::DivFOp::create(builder, loc, constant(1.0), scale);
  return arith::SelectOp::create(builder, loc, positive, inverse,
                                 constant(0.0));
}

Value PartMatmulOp::buildQuantise(OpBuilder &builder, Location loc,
                                  Value value, Value inverseScale,
                                  int64_t qmax) {
  auto constant = [&](double v) -> Value {
    return arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(v));
  };
  // Clamping to integers before rounding gives what rounding first would.
  Value ratio = arith::MulFOp::create(builder, loc, value, inverseScale);
  Value clamped = arith::MinimumFOp::create(
      builder, loc,
      arith::MaximumFOp::create(builder, loc, ratio, constant(-double(qmax))),
      constant(double(qmax)));
  Value rounded = math::RoundEvenOp::create(builder, loc, clamped);
  return arith::FPToSIOp::create(builder, loc, builder.getI8Type(), rounded);
}

Value PartMatmulOp::buildDequantise(OpBuilder &builder, Location loc,
                                    Value product, Value scale,
                                    Value otherScale, Value acc) {
  Value asFloat =
      arith::SIToFPOp::create(builder, loc, builder.getF32Type(), product);
  Value scales = arith::MulFOp::create(builder, loc, scale, otherScale);
  return arith::AddFOp::create(
      builder, loc, acc, arith::MulFOp::create(builder, loc, asFloat, scales));
}

YieldOp KernelOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

SmallVector<Operation *> KernelOp::getBodyOps() {
  return llvm::map_to_vector(getBody().front().without_terminator(),
                             [](Operation &op) { return &op; });
}

LogicalResult KernelOp::verify() {
  Block &body = getBody().front();
  auto yield = body.empty() ? nullptr : dyn_cast<YieldOp>(body.back());
  if (!yield)
    return emitOpError("the body must end in tesa.yield");
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yields ")
           << yield.getValues().size()
           << " values whose types differ from the op's results";
  TileConfigAttr config = getConfigAttr();
  if (config && getFamily() == KernelFamily::Contraction &&
      (config.getTile().size() != 3 || config.getThreadTile().size() != 2))
    return emitOpError("a contraction's tile_config needs a tile of three "
                       "sizes (M, N, K) and a thread_tile of two (M, N)");
  if (config && getFamily() == KernelFamily::Attention &&
      (config.getTile().size() != 3 || config.getThreadTile().size() != 2))
    return emitOpError("an attention's tile_config needs a tile of three "
                       "sizes (queries, keys a step, head) and a thread_tile "
                       "of two (queries, keys)");
  if (config && getFamily() == KernelFamily::RowReduction &&
      (config.getTile().size() != 2 || config.getThreadTile().size() != 1))
    return emitOpError("a row reduction's tile_config needs a tile of two "
                       "sizes (rows, row length) and a thread_tile of one");
  return success();
}

#define GET_OP_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaOps.cpp.inc"

mlir::Value tesa::skipAnnotations(mlir::Value value) {
  while (auto annotate = value.getDefiningOp<AnnotateOp>())
    value = annotate.getSource();
  return value;
}
