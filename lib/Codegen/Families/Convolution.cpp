//===- Convolution.cpp - The convolution kernel family --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A convolution (depthwise or not, any strides, dilations and layout; see
// isConvolutionForKernel) and its epilogue as one kernel: each thread a run
// of neighbouring outputs along the output's last dimension (the config's
// thread_tile), runs in the output's row-major order. Each output starts
// from the accumulator's initial value (a constant, or a bias read where it
// is, through its broadcast and widening); the thread walks the reduction
// loops (the filter window and any input channels) in registers, unrolled
// up to kConvolutionUnrolledTaps taps, loading each input element the run
// reads once per pass over the unrolled taps (neighbours along an input's
// contiguous dimension as one aligned vector where they share one; see
// ConvolutionEmitter::planVectors), applies the epilogue and
// stores the run's results, as vectors where they are next to each other.
// An input made by a `tensor.pad` of a constant is read from the pad's
// source, the padding value where the window leaves it, so the padded copy
// is never made.
//
//===----------------------------------------------------------------------===//

#include "ContractionProblem.h"

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Codegen/TensorViews.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Analysis/FlatLinearValueConstraints.h"
#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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
  /// Per dimension, the extent of what is read (the pad's source, or the
  /// input).
  SmallVector<int64_t> sizes;
  /// A padded input: per dimension, the padding before the source and
  /// whether it is padded at all; the value outside the source.
  SmallVector<int64_t> low;
  SmallVector<bool> checked;
  std::optional<double> padding;

  /// The padding before the source along dimension `d` (0 unpadded).
  int64_t getLow(unsigned d) const { return padding ? low[d] : 0; }
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
  read.sizes = llvm::to_vector(cast<ShapedType>(input.getType()).getShape());
  return read;
}

/// The offset in `read`'s buffer of the element that `map` (onto the
/// input's dimensions) names at `loops`, and whether it lies inside the
/// source where the input is padded (null where nothing is checked; with
/// `innermostInside`, the innermost dimension is known to be).
std::pair<Value, Value> getWindowOffset(KernelEmitter &e,
                                        const WindowInput &read, AffineMap map,
                                        ArrayRef<Value> loops,
                                        bool innermostInside = false) {
  Value offset = e.index(0);
  Value inside;
  unsigned innermost = map.getNumResults() - 1;
  for (auto [d, expr] : llvm::enumerate(map.getResults())) {
    Value index = affine::expandAffineExpr(e.b, e.b.getLoc(), expr, loops,
                                           ValueRange());
    if (read.padding) {
      index = arith::SubIOp::create(e.b, index, e.index(read.low[d]));
      // One unsigned comparison: an index before the source wraps around.
      if (read.checked[d] && !(innermostInside && d == innermost)) {
        Value within = e.less(index, read.sizes[d]);
        inside = inside ? e.both(inside, within) : within;
      }
    }
    offset = e.add(offset, e.affine(index, read.strides[d]));
  }
  return {offset, inside};
}

/// The padding value of `read` as a constant of `type`.
Value getPaddingValue(KernelEmitter &e, const WindowInput &read, Type type) {
  Type element = getElementTypeOrSelf(type);
  auto value = FloatAttr::get(element, *read.padding);
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(e.b,
                                     DenseElementsAttr::get(vector, value));
  return arith::ConstantOp::create(e.b, value);
}

/// Element `read` of the window that `map` names at `loops`, the padding
/// where it is outside the source.
Value loadWindowElement(KernelEmitter &e, const WindowInput &read,
                        Value buffer, AffineMap map, ArrayRef<Value> loops) {
  auto [offset, inside] = getWindowOffset(e, read, map, loops);
  if (!inside)
    return e.load(buffer, offset);
  return e.loadOr(buffer, offset, inside,
                  getPaddingValue(e, read, getElementTypeOrSelf(buffer)));
}

/// The `width` elements of `read` from the one that `map` names at `loops`
/// along the innermost dimension, as one aligned vector (its elements
/// known to lie inside the innermost dimension; the padding where the
/// others leave the source).
Value loadWindowVector(KernelEmitter &e, const WindowInput &read,
                       Value buffer, AffineMap map, ArrayRef<Value> loops,
                       int64_t width) {
  auto [offset, inside] =
      getWindowOffset(e, read, map, loops, /*innermostInside=*/true);
  Type element = getElementTypeOrSelf(buffer);
  auto type = VectorType::get({width}, element);
  Value safe =
      inside ? arith::SelectOp::create(e.b, inside, offset, e.index(0))
             : offset;
  Value vector = vector::LoadOp::create(
      e.b, type, buffer, ValueRange{safe}, /*nontemporal=*/false,
      llvm::Align(width * element.getIntOrFloatBitWidth() / 8));
  if (!inside)
    return vector;
  return arith::SelectOp::create(e.b, inside, vector,
                                 getPaddingValue(e, read, type));
}

/// The most bytes one vector load of a window's elements takes.
constexpr int64_t kWindowVectorBytes = 16;

/// The elements one aligned vector load of `read` takes along its
/// innermost (contiguous) dimension: up to kWindowVectorBytes, dividing
/// every other stride, so that where the innermost index is a multiple of
/// it, so is the offset. 1 where the innermost dimension is not contiguous.
int64_t getWindowVectorWidth(const WindowInput &read, Type element) {
  if (read.strides.empty() || read.strides.back() != 1)
    return 1;
  int64_t width = kWindowVectorBytes / (element.getIntOrFloatBitWidth() / 8);
  for (int64_t stride : ArrayRef(read.strides).drop_back())
    while (width > 1 && stride % width != 0)
      width /= 2;
  return width;
}

/// Lets the copies of `body`'s float multiplies, adds and subtractions in
/// `mapping` fuse (a tap's multiply and add become one FMA, as the
/// contraction family's math.fma).
void allowContraction(Block &body, const IRMapping &mapping) {
  for (Operation &op : body.without_terminator()) {
    if (!isa<arith::MulFOp, arith::AddFOp, arith::SubFOp>(op))
      continue;
    auto copy = cast<arith::ArithFastMathInterface>(mapping.lookup(&op));
    arith::FastMathFlagsAttr given = copy.getFastMathFlagsAttr();
    arith::FastMathFlags flags =
        (given ? given.getValue() : arith::FastMathFlags::none) |
        arith::FastMathFlags::contract;
    copy->setAttr(copy.getFastMathAttrName(),
                  arith::FastMathFlagsAttr::get(op.getContext(), flags));
  }
}

/// The coefficients of `expr`'s dimensions (of `numDims`) and its constant,
/// where it is a sum of dimensions times constants and a constant.
std::optional<SmallVector<int64_t>> getLinearForm(AffineExpr expr,
                                                  unsigned numDims) {
  SmallVector<int64_t> flat;
  if (failed(getFlattenedAffineExpr(expr, numDims, 0, &flat)) ||
      flat.size() != numDims + 1)
    return std::nullopt;
  return flat;
}

/// A thread's run of outputs: the values of its first output's loops (of
/// the reduction loops, those that stay loops), and per output its loops as
/// affine expressions (the loops' dimensions, the output's offset in the
/// run, the unrolled window positions as constants). Those name the
/// elements each output reads, so that outputs and taps reading one element
/// load it once.
struct ThreadRun {
  SmallVector<Value> loops;
  SmallVector<SmallVector<AffineExpr>> exprs;
};

/// An aligned vector along an input's innermost dimension from which a pass
/// over the taps takes several elements.
struct WindowVector {
  /// The map (onto the input's dimensions) of its first element.
  AffineMap map;
  /// Its elements.
  int64_t width;
  /// Loaded at the first use of one of its elements.
  Value loaded;
};

/// Where a pass over the taps takes one input element from: lane `lane` of
/// the pass's vector `vector`, or (`vector` < 0) its own load.
struct ElementPlace {
  int vector = -1;
  int64_t lane = 0;
  /// The element, once loaded or extracted.
  Value loaded;
};

class ConvolutionEmitter {
public:
  /// Each thread computes `run` outputs along loop `along`.
  ConvolutionEmitter(KernelEmitter &e, linalg::GenericOp convolution,
                     ArrayRef<WindowInput> inputs, ArrayRef<Value> buffers,
                     unsigned along, int64_t run)
      : e(e), convolution(convolution), inputs(inputs), buffers(buffers),
        along(along), run(run) {
    for (auto [loop, iterator] :
         llvm::enumerate(convolution.getIteratorTypesArray()))
      if (linalg::isReductionIterator(iterator))
        reductions.push_back(loop);
    ranges = convolution.getStaticLoopRanges();
  }

  /// The values of a run of outputs (their parallel loops in `outputs`;
  /// the reduction loops' entries are ignored), each from its `initial`.
  SmallVector<Value> emit(ThreadRun outputs, SmallVector<Value> initial) {
    SmallVector<int64_t> extents = llvm::map_to_vector(
        reductions, [&](unsigned loop) { return ranges[loop]; });
    return emitLoops(outputs, initial, 0, getFirstUnrolledLoop(extents));
  }

private:
  /// Sets reduction loop `loop` of every output of the run to `expr`, and
  /// its value to `value` where it stays a loop.
  static void setLoop(ThreadRun &outputs, unsigned loop, Value value,
                      AffineExpr expr) {
    if (value)
      outputs.loops[loop] = value;
    for (SmallVector<AffineExpr> &exprs : outputs.exprs)
      exprs[loop] = expr;
  }

  SmallVector<Value> emitLoops(ThreadRun &outputs, SmallVector<Value> accs,
                               unsigned depth, unsigned unrolledFrom) {
    if (depth == unrolledFrom) {
      planPass(outputs, depth);
      return emitUnrolled(outputs, accs, depth);
    }
    unsigned loop = reductions[depth];
    auto forOp = scf::ForOp::create(e.b, e.index(0), e.index(ranges[loop]),
                                    e.index(1), ValueRange(accs));
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(forOp.getBody());
    setLoop(outputs, loop, forOp.getInductionVar(),
            getAffineDimExpr(loop, e.b.getContext()));
    SmallVector<Value> next =
        emitLoops(outputs, SmallVector<Value>(forOp.getRegionIterArgs()),
                  depth + 1, unrolledFrom);
    scf::YieldOp::create(e.b, next);
    return SmallVector<Value>(forOp.getResults());
  }

  SmallVector<Value> emitUnrolled(ThreadRun &outputs, SmallVector<Value> accs,
                                  unsigned depth) {
    if (depth == reductions.size())
      return emitTap(outputs, accs);
    unsigned loop = reductions[depth];
    for (int64_t i = 0; i < ranges[loop]; ++i) {
      setLoop(outputs, loop, Value(),
              getAffineConstantExpr(i, e.b.getContext()));
      accs = emitUnrolled(outputs, accs, depth + 1);
    }
    return accs;
  }

  /// The element input `i` reads for `output`: the map onto the input's
  /// dimensions from the loops of the run's first output (the unrolled
  /// loops' values in it), which names it across outputs and taps.
  AffineMap getElementKey(unsigned i, ArrayRef<AffineExpr> output) const {
    AffineMap map = inputs[i].map;
    return simplifyAffineMap(
        map.replaceDimsAndSymbols(output, {}, map.getNumDims(), 0));
  }

  /// Adds the elements each input reads in the taps from reduction loop
  /// `depth` on (unrolled), in the order the taps read them.
  void collectKeys(ThreadRun &outputs, unsigned depth,
                   SmallVector<llvm::SetVector<AffineMap>> &keys) {
    if (depth == reductions.size()) {
      for (ArrayRef<AffineExpr> output : outputs.exprs)
        for (unsigned i = 0; i < inputs.size(); ++i)
          keys[i].insert(getElementKey(i, output));
      return;
    }
    unsigned loop = reductions[depth];
    for (int64_t i = 0; i < ranges[loop]; ++i) {
      setLoop(outputs, loop, Value(),
              getAffineConstantExpr(i, e.b.getContext()));
      collectKeys(outputs, depth + 1, keys);
    }
  }

  /// Plans the loads of one pass over the unrolled taps (from reduction
  /// loop `depth` on): each element read once, several neighbours along an
  /// input's innermost dimension as one aligned vector where they lie in
  /// one (see planVectors).
  void planPass(ThreadRun outputs, unsigned depth) {
    SmallVector<llvm::SetVector<AffineMap>> keys(inputs.size());
    collectKeys(outputs, depth, keys);
    places.assign(inputs.size(), DenseMap<AffineMap, ElementPlace>());
    vectors.assign(inputs.size(), {});
    for (unsigned i = 0; i < inputs.size(); ++i) {
      for (AffineMap key : keys[i])
        places[i][key] = ElementPlace();
      planVectors(i, keys[i].getArrayRef());
    }
  }

  /// Groups input `i`'s elements `keys` that differ only by a constant
  /// along its innermost dimension, and gives each aligned vector of a
  /// group that holds several of them and lies inside the dimension for
  /// every thread a vector load. Aligned: the innermost index of the
  /// group's first element is a multiple of the vector width for every
  /// thread (its coefficients, times what the loops step by, are), and
  /// every other stride is (getWindowVectorWidth).
  void planVectors(unsigned i, ArrayRef<AffineMap> keys) {
    const WindowInput &read = inputs[i];
    int64_t width = getWindowVectorWidth(
        read, getElementTypeOrSelf(buffers[i].getType()));
    if (width < 2 || keys.empty())
      return;
    unsigned innermost = read.map.getNumResults() - 1;
    unsigned numDims = read.map.getNumDims();
    // Per group (the map with its innermost index less its constant), its
    // elements and their innermost source index past the group's.
    llvm::MapVector<AffineMap, SmallVector<std::pair<AffineMap, int64_t>>>
        groups;
    for (AffineMap key : keys) {
      AffineExpr index = key.getResult(innermost);
      std::optional<SmallVector<int64_t>> form =
          getLinearForm(index, numDims);
      if (!form)
        continue;
      int64_t constant = form->back();
      AffineMap group = key.replace(
          index, simplifyAffineExpr(index - constant, numDims, 0), numDims,
          0);
      groups[group].emplace_back(key, constant - read.getLow(innermost));
    }
    for (auto &[group, members] : groups) {
      AffineExpr base = group.getResult(innermost);
      SmallVector<int64_t> form = *getLinearForm(base, numDims);
      // The base's least and greatest value over the threads.
      int64_t least = 0, greatest = 0;
      bool aligned = true;
      for (unsigned loop = 0; loop < numDims; ++loop) {
        int64_t step = loop == along ? run : 1;
        int64_t last = loop == along ? ranges[loop] - run : ranges[loop] - 1;
        aligned &= (form[loop] * step) % width == 0;
        least += std::min<int64_t>(0, form[loop] * last);
        greatest += std::max<int64_t>(0, form[loop] * last);
      }
      if (!aligned)
        continue;
      llvm::MapVector<int64_t, SmallVector<std::pair<AffineMap, int64_t>>>
          chunks;
      for (auto [key, offset] : members)
        chunks[llvm::divideFloorSigned(offset, width)].emplace_back(key,
                                                                    offset);
      for (auto &[chunk, elements] : chunks) {
        int64_t first = chunk * width;
        if (elements.size() < 2 || least + first < 0 ||
            greatest + first + width > read.sizes[innermost])
          continue;
        AffineMap map = group.replace(
            base, base + (first + read.getLow(innermost)), numDims, 0);
        vectors[i].push_back({map, width, Value()});
        for (auto [key, offset] : elements)
          places[i][key] = {int(vectors[i].size() - 1), offset - first,
                            Value()};
      }
    }
  }

  /// Input `i`'s element for `output`: loaded where no earlier tap of this
  /// pass took it, or taken from its vector (loaded at its first use).
  Value getInputElement(unsigned i, ArrayRef<AffineExpr> output,
                        ArrayRef<Value> firstLoops) {
    AffineMap key = getElementKey(i, output);
    ElementPlace &place = places[i][key];
    if (place.loaded)
      return place.loaded;
    const WindowInput &read = inputs[i];
    if (place.vector < 0)
      return place.loaded =
                 loadWindowElement(e, read, buffers[i], key, firstLoops);
    WindowVector &vector = vectors[i][place.vector];
    if (!vector.loaded)
      vector.loaded = loadWindowVector(e, read, buffers[i], vector.map,
                                       firstLoops, vector.width);
    return place.loaded =
               vector::ExtractOp::create(e.b, vector.loaded, place.lane);
  }

  SmallVector<Value> emitTap(const ThreadRun &outputs,
                             SmallVector<Value> accs) {
    Block &body = convolution.getRegion().front();
    for (auto [k, output] : llvm::enumerate(outputs.exprs)) {
      IRMapping mapping;
      for (unsigned i = 0; i < inputs.size(); ++i)
        mapping.map(body.getArgument(i),
                    getInputElement(i, output, outputs.loops));
      mapping.map(body.getArguments().back(), accs[k]);
      accs[k] = e.cloneBody(body, mapping);
      allowContraction(body, mapping);
    }
    return accs;
  }

  KernelEmitter &e;
  linalg::GenericOp convolution;
  ArrayRef<WindowInput> inputs;
  ArrayRef<Value> buffers;
  unsigned along;
  int64_t run;
  SmallVector<unsigned> reductions;
  SmallVector<int64_t> ranges;
  /// Per input, where the current pass over the taps takes each element
  /// from (by getElementKey), and the vectors it loads.
  SmallVector<DenseMap<AffineMap, ElementPlace>> places;
  SmallVector<SmallVector<WindowVector>> vectors;
};

/// How many of a thread's `run` outputs one store writes: up to 16 bytes,
/// as many as the run's first result's alignment allows (every result
/// stride but the last a multiple of them); 1 where the run's results are
/// not next to each other.
int64_t getStoreChunk(const Epilogue &epilogue, int64_t run) {
  RankedTensorType type = epilogue.getResultType();
  unsigned rank = type.getRank();
  unsigned bits = type.getElementTypeBitWidth();
  if (bits % 8 != 0 || epilogue.getResultStride(rank - 1) != 1)
    return 1;
  int64_t chunk = run & -run;
  while (chunk > 1 && chunk * (bits / 8) > 16)
    chunk /= 2;
  for (unsigned d = 0; d + 1 < rank; ++d)
    if (epilogue.getResultStride(d) % chunk != 0)
      return 1;
  return chunk;
}

/// Stores `results` at `index` of the flat `out` and after it, as one
/// vector where they are several (aligned to its size).
void storeChunk(KernelEmitter &e, ArrayRef<Value> results, Value out,
                Value index) {
  if (results.size() == 1)
    return e.store(results.front(), out, index);
  Type element = results.front().getType();
  auto type = VectorType::get({int64_t(results.size())}, element);
  Value chunk = vector::FromElementsOp::create(e.b, type, results);
  vector::StoreOp::create(
      e.b, chunk, out, ValueRange{index}, /*nontemporal=*/false,
      llvm::Align(results.size() * element.getIntOrFloatBitWidth() / 8));
}

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
  auto outputType =
      cast<RankedTensorType>(convolution.getResult(0).getType());
  int64_t run = config.getThreadTile().size() == 1
                    ? config.getThreadTile()[0]
                    : 0;
  if (config.getTile().size() != 1 || run < 1 ||
      outputType.getShape().back() % run != 0 ||
      config.getTile()[0] != config.getThreads() * run)
    return kernelError("the configuration does not give each thread a run "
                       "of outputs along the output's last dimension");
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
  int64_t runs = outputType.getNumElements() / run;
  kernel.grid = {int64_t(llvm::divideCeil(runs, threads)), 1, 1};
  kernel.threads = threads;

  SmallVector<Value> buffers(kernel.kernel.getArguments());
  Value runIndex = e.add(e.affine(e.blockId(gpu::Dimension::x), threads),
                         e.threadId());
  e.ifThen(e.less(runIndex, runs), [&] {
    // The coordinates of the run's first output, row-major, and the loops
    // of each of its outputs.
    Value first = e.affine(runIndex, run);
    SmallVector<Value> coordinates(outputType.getRank());
    SmallVector<int64_t> strides = getRowMajorStrides(outputType.getShape());
    for (auto [d, stride] : llvm::enumerate(strides))
      coordinates[d] = e.rem(e.div(first, stride), outputType.getDimSize(d));
    unsigned numLoops = convolution.getNumLoops();
    ThreadRun outputs;
    outputs.loops.assign(numLoops, Value());
    for (auto [d, expr] : llvm::enumerate(outputMap.getResults()))
      outputs.loops[cast<AffineDimExpr>(expr).getPosition()] = coordinates[d];
    unsigned along =
        cast<AffineDimExpr>(outputMap.getResults().back()).getPosition();
    SmallVector<SmallVector<Value>> outputCoordinates;
    for (int64_t k = 0; k < run; ++k) {
      SmallVector<AffineExpr> exprs;
      for (unsigned loop = 0; loop < numLoops; ++loop)
        exprs.push_back(getAffineDimExpr(loop, b.getContext()) +
                        (loop == along ? k : 0));
      outputs.exprs.push_back(exprs);
      outputCoordinates.push_back(coordinates);
      outputCoordinates.back().back() = e.affine(coordinates.back(), 1, k);
    }

    Type accType = convolution.getRegion().front().getArguments().back()
                       .getType();
    unsigned next = inputs.size();
    Value initBuffer = init.source ? buffers[next++] : Value();
    SmallVector<Value> initial;
    for (ArrayRef<Value> at : outputCoordinates)
      initial.push_back(
          e.convert(loadInitialValue(e, init, initBuffer, at), accType));
    ConvolutionEmitter emitter(e, convolution, inputs,
                               ArrayRef(buffers).take_front(inputs.size()),
                               along, run);
    SmallVector<Value> values = emitter.emit(outputs, initial);
    ArrayRef<Value> epilogueBuffers =
        ArrayRef(buffers).slice(next, epilogue->getInputs().size());
    int64_t chunk = getStoreChunk(*epilogue, run);
    for (int64_t k = 0; k < run; k += chunk) {
      SmallVector<Value> results;
      Value index;
      for (int64_t j = k; j < k + chunk; ++j) {
        auto [stored, at] = epilogue->apply(e, values[j], outputCoordinates[j],
                                            epilogueBuffers);
        results.push_back(stored);
        index = index ? index : at;
      }
      storeChunk(e, results, buffers.back(), index);
    }
  });
  return kernel;
}
