//===- Convolution.cpp - The convolution kernel family --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A convolution (depthwise or not, any strides, dilations and layout; see
// isConvolutionForKernel) and its epilogue as one kernel: one thread an
// output element, threads in the output's row-major order (neighbouring
// threads read neighbouring inputs and write neighbouring outputs). Each
// thread starts from the accumulator's initial value (a constant, or a bias
// read where it is, through its broadcast and widening), walks the
// reduction loops (the filter window and any input channels) in registers,
// unrolled up to kConvolutionUnrolledTaps taps, and applies the epilogue before its one
// store. An input made by a `tensor.pad` of a constant is read from the
// pad's source, the padding value where the window leaves it, so the padded
// copy is never made.
//
//===----------------------------------------------------------------------===//

#include "ContractionProblem.h"

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Codegen/TensorViews.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace tesa;

namespace {

/// How the kernel reads one input of the convolution.
struct WindowInput {
  /// The tensor whose flat buffer is read.
  Value source;
  /// The loops to the input's dimensions.
  AffineMap map;
  /// The input's strides in `source`'s buffer, per input dimension.
  SmallVector<int64_t> strides;
  /// A padded input: per dimension, the padding before the source, the
  /// source's size and whether it is padded at all; the value outside the
  /// source.
  SmallVector<int64_t> low, sizes;
  SmallVector<bool> checked;
  std::optional<double> padding;
};

/// The constant a `tensor.pad` yields, if it yields one.
std::optional<double> getPaddingConstant(tensor::PadOp pad) {
  Value yielded = pad.getConstantPaddingValue();
  auto constant =
      yielded ? yielded.getDefiningOp<arith::ConstantOp>() : nullptr;
  auto value = constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
  if (!value)
    return std::nullopt;
  return value.getValueAsDouble();
}

/// How to read `input` through `map`: from the source of a `tensor.pad` of
/// a constant with static, non-negative padding (the padding checked where
/// it is), else through its strided view.
WindowInput getWindowInput(Value input, AffineMap map) {
  WindowInput read;
  read.map = map;
  auto pad = skipAnnotations(input).getDefiningOp<tensor::PadOp>();
  std::optional<double> padding = pad ? getPaddingConstant(pad) : std::nullopt;
  if (padding && pad.getSourceType().hasStaticShape() &&
      llvm::all_of(pad.getStaticLow(), [](int64_t low) { return low >= 0; }) &&
      llvm::all_of(pad.getStaticHigh(),
                   [](int64_t high) { return high >= 0; })) {
    read.source = pad.getSource();
    read.low = llvm::to_vector(pad.getStaticLow());
    read.sizes = llvm::to_vector(pad.getSourceType().getShape());
    for (auto [low, high] :
         llvm::zip_equal(pad.getStaticLow(), pad.getStaticHigh()))
      read.checked.push_back(low != 0 || high != 0);
    read.padding = padding;
    read.strides = getRowMajorStrides(read.sizes);
    return read;
  }
  StridedView view = getStridedView(input);
  read.source = view.source;
  read.strides = view.strides;
  return read;
}

/// Element `read` of the window at `loops`: the offset of each input
/// dimension's index in the buffer, the padding where it is outside.
Value loadWindowElement(KernelEmitter &e, const WindowInput &read,
                        Value buffer, ArrayRef<Value> loops) {
  Value offset = e.index(0);
  Value inside;
  for (auto [d, expr] : llvm::enumerate(read.map.getResults())) {
    Value index = affine::expandAffineExpr(e.b, e.b.getLoc(), expr, loops,
                                           ValueRange());
    if (read.padding) {
      index = arith::SubIOp::create(e.b, index, e.index(read.low[d]));
      // One unsigned comparison: an index before the source wraps around.
      if (read.checked[d]) {
        Value within = e.less(index, read.sizes[d]);
        inside = inside ? e.both(inside, within) : within;
      }
    }
    offset = e.add(offset, e.affine(index, read.strides[d]));
  }
  if (!inside)
    return e.load(buffer, offset);
  Type element = getElementTypeOrSelf(buffer.getType());
  Value padding =
      arith::ConstantOp::create(e.b, FloatAttr::get(element, *read.padding));
  return e.loadOr(buffer, offset, inside, padding);
}

class ConvolutionEmitter {
public:
  ConvolutionEmitter(KernelEmitter &e, linalg::GenericOp convolution,
                     ArrayRef<WindowInput> inputs, ArrayRef<Value> buffers)
      : e(e), convolution(convolution), inputs(inputs), buffers(buffers) {
    for (auto [loop, iterator] :
         llvm::enumerate(convolution.getIteratorTypesArray()))
      if (linalg::isReductionIterator(iterator))
        reductions.push_back(loop);
    ranges = convolution.getStaticLoopRanges();
  }

  /// The value of the output element whose parallel loops are `loops`
  /// (the reduction loops' entries are ignored), from `initial`.
  Value emit(SmallVector<Value> loops, Value initial) {
    SmallVector<int64_t> extents = llvm::map_to_vector(
        reductions, [&](unsigned loop) { return ranges[loop]; });
    return emitLoops(loops, initial, 0, getFirstUnrolledLoop(extents));
  }

private:
  Value emitLoops(SmallVector<Value> &loops, Value acc, unsigned depth,
                  unsigned unrolledFrom) {
    if (depth == unrolledFrom)
      return emitUnrolled(loops, acc, depth);
    unsigned loop = reductions[depth];
    auto forOp = scf::ForOp::create(e.b, e.index(0), e.index(ranges[loop]),
                                    e.index(1), ValueRange{acc});
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(forOp.getBody());
    loops[loop] = forOp.getInductionVar();
    Value next =
        emitLoops(loops, forOp.getRegionIterArgs()[0], depth + 1, unrolledFrom);
    scf::YieldOp::create(e.b, next);
    return forOp.getResult(0);
  }

  Value emitUnrolled(SmallVector<Value> &loops, Value acc, unsigned depth) {
    if (depth == reductions.size())
      return emitTap(loops, acc);
    unsigned loop = reductions[depth];
    for (int64_t i = 0; i < ranges[loop]; ++i) {
      loops[loop] = e.index(i);
      acc = emitUnrolled(loops, acc, depth + 1);
    }
    return acc;
  }

  Value emitTap(ArrayRef<Value> loops, Value acc) {
    Block &body = convolution.getRegion().front();
    IRMapping mapping;
    for (auto [i, read] : llvm::enumerate(inputs))
      mapping.map(body.getArgument(i),
                  loadWindowElement(e, read, buffers[i], loops));
    mapping.map(body.getArguments().back(), acc);
    return e.cloneBody(body, mapping);
  }

  KernelEmitter &e;
  linalg::GenericOp convolution;
  ArrayRef<WindowInput> inputs;
  ArrayRef<Value> buffers;
  SmallVector<unsigned> reductions;
  SmallVector<int64_t> ranges;
};

} // namespace

unsigned tesa::getFirstUnrolledLoop(ArrayRef<int64_t> extents,
                                    int64_t maxTaps) {
  unsigned first = extents.size();
  int64_t taps = 1;
  while (first > 0 && taps * extents[first - 1] <= maxTaps)
    taps *= extents[--first];
  return first;
}

llvm::Expected<RegionKernel>
tesa::buildConvolutionKernel(KernelOp region, gpu::GPUModuleOp module,
                             StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config)
    return kernelError("the region has no tile_config");
  SmallVector<Operation *> ops = region.getBodyOps();
  auto convolution = dyn_cast<linalg::GenericOp>(ops.front());
  if (!convolution || !isConvolutionForKernel(convolution))
    return kernelError("the region does not start with a convolution");
  if (config.getTile().size() != 1 || config.getThreadTile() !=
                                          ArrayRef<int64_t>{1} ||
      config.getTile()[0] != config.getThreads())
    return kernelError("the configuration does not give each thread one "
                       "output element");
  FailureOr<Epilogue> epilogue =
      Epilogue::get(convolution.getResult(0), ArrayRef(ops).drop_front());
  if (failed(epilogue))
    return kernelError("an op after the convolution is not an elementwise "
                       "step of its result");
  Value result = ops.back()->getResult(0);
  if (region.getYield().getValues()[0] != result)
    return kernelError("the region does not yield its last op's result");

  SmallVector<AffineMap> maps = convolution.getIndexingMapsArray();
  SmallVector<WindowInput, 2> inputs;
  for (OpOperand *input : convolution.getDpsInputOperands())
    inputs.push_back(getWindowInput(input->get(),
                                    maps[input->getOperandNumber()]));
  AffineMap outputMap = maps.back();
  auto outputType =
      cast<RankedTensorType>(convolution.getResult(0).getType());
  InitialValue init = getInitialValue(
      convolution.getDpsInits()[0],
      AffineMap::getMultiDimIdentityMap(outputType.getRank(),
                                        region.getContext()));

  RegionKernel kernel;
  for (const WindowInput &read : inputs)
    kernel.inputs.push_back(read.source);
  if (init.source)
    kernel.inputs.push_back(init.source);
  llvm::append_range(kernel.inputs, epilogue->getInputs());
  SmallVector<Type> arguments;
  for (Value input : kernel.inputs)
    arguments.push_back(getFlatType(input));
  arguments.push_back(getFlatType(result));

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  kernel.kernel = e.beginKernel(module, name, arguments);
  int64_t threads = config.getThreads();
  int64_t outputs = outputType.getNumElements();
  kernel.grid = {int64_t(llvm::divideCeil(outputs, threads)), 1, 1};
  kernel.threads = threads;

  SmallVector<Value> buffers(kernel.kernel.getArguments());
  Value element = e.add(e.affine(e.blockId(gpu::Dimension::x), threads),
                        e.threadId());
  e.ifThen(e.less(element, outputs), [&] {
    // The output's coordinates, row-major, and the loops they are.
    SmallVector<Value> coordinates(outputType.getRank());
    SmallVector<int64_t> strides = getRowMajorStrides(outputType.getShape());
    for (auto [d, stride] : llvm::enumerate(strides))
      coordinates[d] =
          e.rem(e.div(element, stride), outputType.getDimSize(d));
    SmallVector<Value> loops(convolution.getNumLoops(), e.index(0));
    for (auto [d, expr] : llvm::enumerate(outputMap.getResults()))
      loops[cast<AffineDimExpr>(expr).getPosition()] = coordinates[d];

    Type accType = convolution.getRegion().front().getArguments().back()
                       .getType();
    unsigned next = inputs.size();
    Value initBuffer = init.source ? buffers[next++] : Value();
    Value initial = e.convert(
        loadInitialValue(e, init, initBuffer, coordinates), accType);
    ConvolutionEmitter emitter(e, convolution, inputs,
                               ArrayRef(buffers).take_front(inputs.size()));
    Value value = emitter.emit(loops, initial);
    ArrayRef<Value> epilogueBuffers =
        ArrayRef(buffers).slice(next, epilogue->getInputs().size());
    epilogue->emit(e, value, coordinates, epilogueBuffers, buffers.back());
  });
  return kernel;
}
