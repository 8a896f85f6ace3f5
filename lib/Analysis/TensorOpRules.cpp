//===- TensorOpRules.cpp - Propagation through tensor and other ops -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Hand-written rules for the ops that are not linalg structured ops:
// `tensor.empty`, `arith.constant`, `tesa.annotate`, the tensor reshapes,
// slices, `tensor.concat`, `tensor.pad` and `linalg.softmax`. Reshapes and
// slices move elements without changing them, so content and demand move
// with them at element level (bits included); the results are canonicalised,
// so block-uniform maps come back block-level.
//
//===----------------------------------------------------------------------===//

#include "RuleUtils.h"

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace tesa;
using namespace tesa::propagation;

static RankedTensorType typeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

static SparsityMap uniform(Value value, uint8_t bits) {
  return SparsityMap::getUniform(typeOf(value).getShape(), bits);
}

/// The entries of a constant: 0 where the element is zero, full bits
/// elsewhere. Fails for attribute kinds it cannot read.
static FailureOr<SparsityMap> constantContent(arith::ConstantOp op) {
  Value result = op.getResult();
  RankedTensorType type = typeOf(result);
  uint8_t full = getFullBitsOf(result);
  if (auto dense = dyn_cast<DenseElementsAttr>(op.getValue())) {
    if (dense.isSplat()) {
      bool isZero = isa<FloatType>(type.getElementType())
                        ? dense.getSplatValue<APFloat>().isZero()
                        : dense.getSplatValue<APInt>().isZero();
      return uniform(result, isZero ? 0 : full);
    }
    std::vector<uint8_t> entries;
    entries.reserve(type.getNumElements());
    auto add = [&](bool isZero) { entries.push_back(isZero ? 0 : full); };
    if (isa<FloatType>(type.getElementType()))
      for (const APFloat &v : dense.getValues<APFloat>())
        add(v.isZero());
    else
      for (const APInt &v : dense.getValues<APInt>())
        add(v.isZero());
    return mapFromElements(type.getShape(), std::move(entries));
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    unsigned width = type.getElementTypeBitWidth();
    if (!blob || width % 8 != 0)
      return failure();
    ArrayRef<char> data = blob->getData();
    size_t bytes = width / 8;
    if (data.size() != bytes * type.getNumElements())
      return failure();
    bool isFloat = isa<FloatType>(type.getElementType());
    std::vector<uint8_t> entries(type.getNumElements());
    for (size_t i = 0; i < entries.size(); ++i) {
      bool isZero = true;
      for (size_t b = 0; b < bytes; ++b) {
        uint8_t byte = data[i * bytes + b];
        // Little-endian: the sign bit of a float is the top bit of its last
        // byte; -0.0 is zero.
        if (isFloat && b == bytes - 1)
          byte &= 0x7f;
        isZero &= byte == 0;
      }
      entries[i] = isZero ? 0 : full;
    }
    return mapFromElements(type.getShape(), std::move(entries));
  }
  return failure();
}

/// The content of the padding of a tensor.pad: zero if it yields zero.
static uint8_t padBits(tensor::PadOp op) {
  Value padding = op.getConstantPaddingValue();
  return padding && isZeroConstant(padding) ? kPrunedBits
                                            : getFullBitsOf(op.getResult());
}

/// Copies `from` (the slice's own elements) into the slice of `into`.
static void scatter(std::vector<uint8_t> &into, ArrayRef<int64_t> intoShape,
                    const Slice &slice, ArrayRef<uint8_t> from) {
  forEachSliceElement(intoShape, slice.offsets, slice.sizes, slice.strides,
                      [&](int64_t full, int64_t part) { into[full] = from[part]; });
}

/// The slice's elements of `from`; `clear` zeroes them in `from`.
static std::vector<uint8_t> gather(std::vector<uint8_t> &from,
                                   ArrayRef<int64_t> fromShape,
                                   const Slice &slice, bool clear) {
  int64_t count = 1;
  for (int64_t size : slice.sizes)
    count *= size;
  std::vector<uint8_t> part(count);
  forEachSliceElement(fromShape, slice.offsets, slice.sizes, slice.strides,
                      [&](int64_t full, int64_t index) {
                        part[index] = from[full];
                        if (clear)
                          from[full] = kPrunedBits;
                      });
  return part;
}

static SmallVector<int64_t> shapeOf(Value value) {
  return SmallVector<int64_t>(typeOf(value).getShape());
}

/// Whether `op` is one whose rules below read every tensor operand's map
/// while one of them is not tracked (a dynamically shaped tensor, whose map
/// is null), or one whose rule works per element with a tensor of more than
/// kMaxTrackedElements elements: the op is then left conservative, with
/// `reason`.
static bool hasUntrackedTensor(Operation *op,
                                ArrayRef<const SparsityMap *> content,
                                std::string &reason) {
  if (!isa<AnnotateOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
           tensor::ExtractSliceOp, tensor::InsertSliceOp, tensor::ConcatOp,
           tensor::PadOp>(op))
    return false;
  for (auto [operand, map] : llvm::zip(op->getOperands(), content))
    if (isa<TensorType>(operand.getType()) && !map) {
      reason = describeUntrackedOperand(operand);
      return true;
    }
  if (isa<AnnotateOp>(op))
    return false;
  for (Type type : llvm::concat<Type>(op->getOperandTypes(),
                                      op->getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (tensor && tensor.hasStaticShape() &&
        tensor.getNumElements() > kMaxTrackedElements) {
      reason = "a tensor has more than " +
               std::to_string(kMaxTrackedElements) +
               " elements, too many for its rule, which works per element";
      return true;
    }
  }
  return false;
}

FailureOr<MapList>
propagation::forwardTensorOp(Operation *op, ArrayRef<const SparsityMap *> content,
                        bool &handled, std::string &reason) {
  handled = true;
  auto one = [](SparsityMap map) {
    MapList list;
    list.push_back(std::move(map));
    return list;
  };
  auto need = [&](unsigned index) -> const SparsityMap & {
    return *content[index];
  };
  if (hasUntrackedTensor(op, content, reason))
    return failure();
  using Result = FailureOr<MapList>;
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case([&](tensor::EmptyOp empty) -> Result {
        // The contents of tensor.empty are unspecified; nothing defined can
        // depend on them, so they count as zero.
        return one(uniform(empty.getResult(), kPrunedBits));
      })
      .Case([&](arith::ConstantOp constant) -> Result {
        FailureOr<SparsityMap> map = constantContent(constant);
        if (failed(map)) {
          reason = "the constant's data cannot be read";
          return failure();
        }
        return one(*map);
      })
      .Case([&](AnnotateOp annotate) -> Result {
        return one(need(0).meet(getDeclaredMap(typeOf(annotate.getResult()))));
      })
      .Case<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
          [&](auto reshape) -> Result {
            // A reshape keeps the row-major order of elements.
            return one(mapFromElements(shapeOf(reshape.getResult()),
                                       getElementEntries(need(0))));
          })
      .Case([&](tensor::ExtractSliceOp extract) -> Result {
        FailureOr<Slice> slice = getStaticSlice(extract);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        std::vector<uint8_t> source = getElementEntries(need(0));
        return one(mapFromElements(
            shapeOf(extract.getResult()),
            gather(source, need(0).getShape(), *slice, /*clear=*/false)));
      })
      .Case([&](tensor::InsertSliceOp insert) -> Result {
        FailureOr<Slice> slice = getStaticSlice(insert);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        std::vector<uint8_t> dest = getElementEntries(need(1));
        scatter(dest, need(1).getShape(), *slice, getElementEntries(need(0)));
        return one(mapFromElements(shapeOf(insert.getResult()), std::move(dest)));
      })
      .Case([&](tensor::ConcatOp concat) -> Result {
        SmallVector<int64_t> shape = shapeOf(concat.getResult());
        std::vector<uint8_t> result(typeOf(concat.getResult()).getNumElements());
        for (auto [i, piece] : llvm::enumerate(getConcatPieces(concat)))
          scatter(result, shape, piece, getElementEntries(need(i)));
        return one(mapFromElements(shape, std::move(result)));
      })
      .Case([&](tensor::PadOp pad) -> Result {
        FailureOr<Slice> slice = getPadSlice(pad);
        if (failed(slice)) {
          reason = "the padding is dynamic";
          return failure();
        }
        SmallVector<int64_t> shape = shapeOf(pad.getResult());
        std::vector<uint8_t> result(typeOf(pad.getResult()).getNumElements(),
                                    padBits(pad));
        scatter(result, shape, *slice, getElementEntries(need(0)));
        return one(mapFromElements(shape, std::move(result)));
      })
      .Case([&](linalg::SoftmaxOp softmax) -> Result {
        // exp(x - max) / sum is never zero.
        Value result = softmax->getResult(0);
        return one(uniform(result, getFullBitsOf(result)));
      })
      .Default([&](Operation *) -> Result {
        handled = false;
        return failure();
      });
}

FailureOr<MapList>
propagation::backwardTensorOp(Operation *op, ArrayRef<const SparsityMap *> content,
                         ArrayRef<const SparsityMap *> resultDemand,
                         bool &handled, std::string &reason) {
  handled = true;
  MapList demands(op->getNumOperands());
  // Every rule below but tensor.dim's has a tracked tensor result.
  const SparsityMap *demand = resultDemand.empty() ? nullptr : resultDemand[0];
  if (hasUntrackedTensor(op, content, reason))
    return failure();
  using Result = FailureOr<MapList>;
  return llvm::TypeSwitch<Operation *, Result>(op)
      // tensor.dim reads only the shape.
      .Case<tensor::EmptyOp, arith::ConstantOp, tensor::DimOp>(
          [&](auto) -> Result { return demands; })
      .Case([&](AnnotateOp annotate) -> Result {
        // Elements the annotation prunes are not needed from the input, and
        // no more bits than it keeps.
        demands[0] = demand->meet(getDeclaredMap(typeOf(annotate.getResult())));
        return demands;
      })
      .Case<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
          [&](auto reshape) -> Result {
            demands[0] = mapFromElements(shapeOf(reshape.getSrc()),
                                         getElementEntries(*demand));
            return demands;
          })
      .Case([&](tensor::ExtractSliceOp extract) -> Result {
        FailureOr<Slice> slice = getStaticSlice(extract);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        SmallVector<int64_t> shape = shapeOf(extract.getSource());
        std::vector<uint8_t> source(typeOf(extract.getSource()).getNumElements(),
                                    kPrunedBits);
        scatter(source, shape, *slice, getElementEntries(*demand));
        demands[0] = mapFromElements(shape, std::move(source));
        return demands;
      })
      .Case([&](tensor::InsertSliceOp insert) -> Result {
        FailureOr<Slice> slice = getStaticSlice(insert);
        if (failed(slice)) {
          reason = "the slice is dynamic";
          return failure();
        }
        // The destination's elements under the slice are overwritten.
        std::vector<uint8_t> dest = getElementEntries(*demand);
        std::vector<uint8_t> source =
            gather(dest, demand->getShape(), *slice, /*clear=*/true);
        demands[0] = mapFromElements(shapeOf(insert.getSource()), std::move(source));
        demands[1] = mapFromElements(shapeOf(insert.getDest()), std::move(dest));
        return demands;
      })
      .Case([&](tensor::ConcatOp concat) -> Result {
        std::vector<uint8_t> result = getElementEntries(*demand);
        for (auto [i, piece] : llvm::enumerate(getConcatPieces(concat)))
          demands[i] = mapFromElements(
              piece.sizes, gather(result, demand->getShape(), piece, false));
        return demands;
      })
      .Case([&](tensor::PadOp pad) -> Result {
        FailureOr<Slice> slice = getPadSlice(pad);
        if (failed(slice)) {
          reason = "the padding is dynamic";
          return failure();
        }
        std::vector<uint8_t> result = getElementEntries(*demand);
        demands[0] = mapFromElements(shapeOf(pad.getSource()),
                                     gather(result, demand->getShape(), *slice,
                                            /*clear=*/false));
        return demands;
      })
      .Case([&](linalg::SoftmaxOp softmax) -> Result {
        // Every output of a row depends on every input of the row (through
        // the normaliser): an input is needed iff its row has a live output.
        Value input = softmax.getInput();
        SmallVector<int64_t> shape = shapeOf(input);
        unsigned dim = softmax.getDimension();
        std::vector<uint8_t> live = getElementEntries(*demand);
        int64_t inner = 1;
        for (unsigned d = dim + 1; d < shape.size(); ++d)
          inner *= shape[d];
        int64_t length = shape[dim];
        int64_t outer = live.size() / std::max<int64_t>(length * inner, 1);
        std::vector<uint8_t> need(live.size(), kPrunedBits);
        uint8_t full = getFullBitsOf(input);
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            bool any = false;
            for (int64_t l = 0; l < length && !any; ++l)
              any = live[(o * length + l) * inner + i] != kPrunedBits;
            if (any)
              for (int64_t l = 0; l < length; ++l)
                need[(o * length + l) * inner + i] = full;
          }
        demands[0] = mapFromElements(shape, std::move(need));
        // The init of linalg.softmax is only a destination.
        demands[1] = uniform(softmax.getOutput(), kPrunedBits);
        return demands;
      })
      .Default([&](Operation *) -> Result {
        handled = false;
        return failure();
      });
}
