//===- LowerPartsToGPU.cpp - Launch specialised kernels for parts ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/Families.h"

#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace tesa {
#define GEN_PASS_DEF_LOWERPARTSTOGPU
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct LowerPartsToGPUPass
    : public tesa::impl::LowerPartsToGPUBase<LowerPartsToGPUPass> {
  using LowerPartsToGPUBase::LowerPartsToGPUBase;
  void runOnOperation() override;

private:
  LogicalResult lower(PartMatmulOp op, gpu::GPUModuleOp kernels,
                      unsigned index, const ChipDescription &chip);
  /// Computes `product` (the parts of one product, see getProducts) as a
  /// decode product in one launch (see fitsDecodeProduct) when it has
  /// several parts or an int8 one and fits; returns whether it did.
  bool lowerDecodeProduct(ArrayRef<PartMatmulOp> product,
                          gpu::GPUModuleOp kernels, unsigned index,
                          const ChipDescription &chip);
  /// A part computed by the contraction family over its kept blocks or
  /// kept channels (see buildKeptBlockPartKernel and
  /// buildKeptChannelPartKernel), with the steps after it that its kernel
  /// applies; launched after the other parts are lowered, with its
  /// siblings (see launchKeptBlockParts).
  struct KeptBlockPart {
    PartMatmulOp op;
    SmallVector<Operation *> steps;
    RegionKernel kernel;
    /// What the kernel computes: the last step's result, else the part's.
    Value getComputed() {
      return steps.empty() ? Value(op.getResult())
                           : steps.back()->getResult(0);
    }
  };
  /// Launches `parts`: those that read the same dense operand (a layer's
  /// Q, K and V projections) as one grid where their kernels allow it
  /// (checkFusable), each other one alone.
  void launchKeptBlockParts(MutableArrayRef<KeptBlockPart> parts,
                            gpu::GPUModuleOp kernels);
  /// Replaces the uses of what `part`'s op (and its steps) computes by
  /// `result`, and records the replacement in `replaced`; the ops are
  /// erased once every part is launched (later parts' inputs may be those
  /// values).
  void replaceKeptBlockPart(KeptBlockPart &part, Value result,
                            IRMapping &replaced);
  SmallVector<KeptBlockPart> keptBlockParts;
  /// How many block parts read each dense operand: the kept-block parts
  /// among them may run as one launch.
  llvm::DenseMap<Value, int64_t> blockPartsOfDense;
  /// How many products with a 2:4 structured part read each dense operand
  /// in each block: their warpgroup kernels run as one launch
  /// (launchSiblingsTogether), so each is tiled for its share of the
  /// multiprocessors (see getChipShare).
  llvm::DenseMap<std::pair<Value, Block *>, int64_t> structuredProductsOfDense;
  /// Replaces `op` by `result` (none: `op` is no longer read), and erases
  /// its accumulator when it was the previous part's result or a fill (and
  /// its annotations) that nothing else reads.
  void replacePart(PartMatmulOp op, Value result);
  /// The transposed dense operand, made once for all parts that read it.
  Value getTransposed(OpBuilder &builder, Location loc, Value dense);
  /// The packed values and scales of a part with `layout` whose sparse
  /// operand is `source`: constants of the module when the source is a
  /// constant, whose values are then `constantValues` (see
  /// getConstantSourceValues; named after `prefix`), else made by the pack
  /// kernel `buildPack` gives
  /// on every call (OutlineWeightPacking can move that launch into an entry
  /// point of its own), in buffers added to `temporaries`.
  std::pair<Value, Value>
  getPackedWeights(OpBuilder &builder, Location loc, StringRef prefix,
                   const PartLayout &layout, Value source,
                   const std::optional<std::vector<float>> &constantValues,
                   llvm::function_ref<gpu::GPUFuncOp(KernelLaunch &)> buildPack,
                   SmallVectorImpl<Value> &temporaries);
  /// A constant global of the host module holding `value`, read as a buffer.
  Value getConstantBuffer(OpBuilder &builder, Location loc, StringRef name,
                          DenseElementsAttr value);

  llvm::DenseMap<Value, Value> transposed;
  /// The copy of a dense operand that int8 and tensor-core f16 parts read
  /// (int8: with its scales), per (operand, copy type, block): parts of one
  /// product with the same layout share it.
  struct DenseCopy {
    /// `scales` is null for f16 copies.
    Value values, scales;
    /// The last launch that reads them; they are freed after it.
    Operation *lastUse;
  };
  using DenseCopyKey = std::tuple<Value, Type, Block *>;
  llvm::DenseMap<DenseCopyKey, DenseCopy> denseCopies;
  /// The host module's symbols, for naming constant globals.
  std::optional<SymbolTable> symbols;
  /// The warpgroup kernels' launches, in program order: those of parts
  /// that read one dense operand run as one launch (launchSiblingsTogether).
  SmallVector<WarpgroupLaunch> warpgroupLaunches;
};

MemRefType getBufferType(Type tensorType) {
  auto type = cast<RankedTensorType>(tensorType);
  return MemRefType::get(type.getShape(), type.getElementType());
}

/// `chip` as a kernel that runs in one grid with `launchedWith` - 1 others
/// of its size sees it: its share of the multiprocessors (at least one).
ChipDescription getChipShare(const ChipDescription &chip,
                             int64_t launchedWith) {
  ChipDescription share = chip;
  if (launchedWith > 1)
    share.multiprocessors =
        std::max<unsigned>(1, chip.multiprocessors / launchedWith);
  return share;
}

/// The gather behind a dense operand that is a copy of another tensor's
/// elements, collapsed to 2-D (the im2col of a convolution), and that
/// tensor; none otherwise. The copy is an all-parallel linalg.generic whose
/// body yields its one input, written through an identity map.
std::optional<std::pair<DenseGather, Value>> matchGather(Value dense) {
  // Annotations only assert facts about the values: read through them.
  dense = skipAnnotations(dense);
  auto collapse = dense.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getReassociationIndices().size() != 2)
    return std::nullopt;
  auto copy = collapse.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!copy || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumParallelLoops() != copy.getNumLoops() ||
      !copy.getIndexingMapsArray()[1].isIdentity())
    return std::nullopt;
  Block &body = copy.getRegion().front();
  if (body.getOperations().size() != 1 ||
      body.getTerminator()->getOperand(0) != body.getArgument(0))
    return std::nullopt;
  Value source = copy.getDpsInputs()[0];
  auto sourceType = dyn_cast<RankedTensorType>(source.getType());
  auto copyType = cast<RankedTensorType>(copy.getResult(0).getType());
  if (!sourceType || !sourceType.hasStaticShape() ||
      !sourceType.getElementType().isF32() || !copyType.hasStaticShape())
    return std::nullopt;
  DenseGather gather;
  gather.map = copy.getIndexingMapsArray()[0];
  if (gather.map.getNumSymbols() != 0)
    return std::nullopt;
  SmallVector<ReassociationIndices> groups =
      collapse.getReassociationIndices();
  for (int64_t d : groups[0])
    gather.rowShape.push_back(copyType.getDimSize(d));
  for (int64_t d : groups[1])
    gather.columnShape.push_back(copyType.getDimSize(d));
  gather.sourceType = getBufferType(sourceType);
  return std::make_pair(gather, source);
}

/// The constant an accumulator is filled with (`linalg.fill` of an
/// `arith.constant` f32 or f16, seen through annotations), if it is one.
std::optional<float> getConstantFill(Value acc) {
  auto fill = skipAnnotations(acc).getDefiningOp<linalg::FillOp>();
  if (!fill)
    return std::nullopt;
  auto constant = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto value = constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
  if (!value || !isa<Float32Type, Float16Type>(value.getType()))
    return std::nullopt;
  return float(value.getValueAsDouble());
}

/// `value` seen through annotations and copies of it in the same order
/// (with `allowWidening`, also copies that widen each element).
static Value skipIdentityCopies(Value value, bool allowWidening = false) {
  value = skipAnnotations(value);
  Value source;
  AffineMap map;
  while (matchCopy(value, source, map, /*allowBroadcast=*/false,
                   allowWidening) &&
         map.isIdentity())
    value = skipAnnotations(source);
  return value;
}

/// The vector and the result dimension it is indexed by when `acc` (seen
/// through annotations and identity copies) is a rank-1 f32 or f16 tensor
/// broadcast along the other dimension of a rank-2 one: a bias folded into
/// the accumulator (see --tesa-fold-bias-into-accumulator, which copies the
/// broadcast into the product's own accumulator). The vector is seen
/// through the copies that widen it (torch-mlir's f16 bias extended to
/// f32), so that the kernel reads the f16 vector itself. The kernel reads
/// the vector's buffer as the broadcast would, whatever its encoding.
std::optional<std::pair<Value, unsigned>> getBroadcastBias(Value acc) {
  acc = skipIdentityCopies(acc);
  Value bias;
  AffineMap map;
  if (cast<RankedTensorType>(acc.getType()).getRank() != 2 ||
      !matchCopy(acc, bias, map, /*allowBroadcast=*/true) ||
      map.getNumResults() != 1)
    return std::nullopt;
  bias = skipIdentityCopies(bias, /*allowWidening=*/true);
  Type element = getElementTypeOrSelf(bias.getType());
  if (!element.isF32() && !element.isF16())
    return std::nullopt;
  return std::make_pair(bias, map.getDimPosition(0));
}

/// The values of a part's sparse source (see getConstantValues) when it is
/// a constant or a transpose of one (as torch-mlir makes of a Linear's
/// weight), in the source's row-major order; none otherwise.
std::optional<std::vector<float>> getConstantSourceValues(Value source) {
  source = skipAnnotations(source);
  if (std::optional<std::vector<float>> values = getConstantValues(source))
    return values;
  auto type = dyn_cast<RankedTensorType>(source.getType());
  Value transposed;
  AffineMap map;
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !matchCopy(source, transposed, map, /*allowBroadcast=*/false,
                 /*allowWidening=*/true) ||
      map != AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                          source.getContext()))
    return std::nullopt;
  std::optional<std::vector<float>> values =
      getConstantValues(skipAnnotations(transposed));
  if (!values)
    return std::nullopt;
  int64_t rows = type.getDimSize(0), columns = type.getDimSize(1);
  std::vector<float> result(values->size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      result[r * columns + c] = (*values)[c * rows + r];
  return result;
}

/// `tensor` as a read-only buffer.
Value toBuffer(OpBuilder &builder, Location loc, Value tensor) {
  return bufferization::ToBufferOp::create(
      builder, loc, getBufferType(tensor.getType()), tensor,
      /*read_only=*/true);
}

/// Launches `kernel` with `sizes` on `arguments`.
gpu::LaunchFuncOp launchKernel(OpBuilder &builder, Location loc,
                               gpu::GPUFuncOp kernel,
                               const KernelLaunch &sizes,
                               ValueRange arguments) {
  SmallVector<Value> withMaps(arguments);
  for (const TensorMapOperand &map : sizes.tensorMaps)
    withMaps.push_back(
        encodeTensorMap(builder, loc, arguments[map.input], map));
  return emitKernelLaunch(builder, loc, kernel,
                          {sizes.grid[0], sizes.grid[1], 1},
                          {sizes.block[0], sizes.block[1], 1},
                          sizes.sharedBytes, withMaps, sizes.clusterBlocks);
}

/// The result buffer `out` as the tensor of `resultType` a part computes
/// (annotated with its encoding).
Value toResultTensor(OpBuilder &builder, Location loc, Value out,
                     RankedTensorType resultType) {
  Value result = bufferization::ToTensorOp::create(
      builder, loc,
      RankedTensorType::get(resultType.getShape(),
                            resultType.getElementType()),
      out, builder.getUnitAttr(), builder.getUnitAttr());
  if (result.getType() != resultType)
    result = AnnotateOp::create(builder, loc, resultType, result);
  return result;
}

/// The parts of each product, in program order: chains in which each part
/// accumulates into the previous one's result, its only use, reading the
/// same dense operand on the same side.
SmallVector<SmallVector<PartMatmulOp>>
getProducts(ArrayRef<PartMatmulOp> parts) {
  SmallVector<SmallVector<PartMatmulOp>> products;
  llvm::DenseMap<Operation *, size_t> productOf;
  for (PartMatmulOp op : parts) {
    auto previous = op.getAcc().getDefiningOp<PartMatmulOp>();
    if (previous && previous->hasOneUse() && !previous.hasEpilogue() &&
        previous.getDense() == op.getDense() &&
        previous.getSparseOperand() == op.getSparseOperand() &&
        productOf.count(previous)) {
      size_t product = productOf[previous];
      products[product].push_back(op);
      productOf[op] = product;
      continue;
    }
    productOf[op] = products.size();
    products.push_back({op});
  }
  return products;
}

} // namespace

Value LowerPartsToGPUPass::getTransposed(OpBuilder &builder, Location loc,
                                         Value dense) {
  Value &result = transposed[dense];
  if (result)
    return result;
  // Right after the operand's definition, so that every part that reads it
  // is dominated.
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfterValue(dense);
  auto type = cast<RankedTensorType>(dense.getType());
  Value init = tensor::EmptyOp::create(
      builder, loc, {type.getDimSize(1), type.getDimSize(0)},
      type.getElementType());
  result = linalg::TransposeOp::create(builder, loc, dense, init,
                                       ArrayRef<int64_t>{1, 0})
               ->getResult(0);
  return result;
}

std::pair<Value, Value> LowerPartsToGPUPass::getPackedWeights(
    OpBuilder &builder, Location loc, StringRef prefix,
    const PartLayout &layout, Value source,
    const std::optional<std::vector<float>> &constantValues,
    llvm::function_ref<gpu::GPUFuncOp(KernelLaunch &)> buildPack,
    SmallVectorImpl<Value> &temporaries) {
  if (constantValues) {
    HostPackedPart host =
        packOnHost(builder.getContext(), layout, *constantValues);
    Value packed = getConstantBuffer(builder, loc, (prefix + "_packed").str(),
                                     host.values);
    Value scales;
    if (host.scales)
      scales = getConstantBuffer(builder, loc, (prefix + "_scales").str(),
                                 host.scales);
    return {packed, scales};
  }
  Value packed = memref::AllocOp::create(
      builder, loc, getPackedBufferType(builder.getContext(), layout));
  Value scales = memref::AllocOp::create(
      builder, loc, getScalesBufferType(builder.getContext(), layout));
  KernelLaunch packLaunch;
  gpu::GPUFuncOp pack = buildPack(packLaunch);
  launchKernel(builder, loc, pack, packLaunch,
               {toBuffer(builder, loc, source), packed, scales})
      ->setAttr(kPackLaunchAttr, builder.getUnitAttr());
  temporaries.append({packed, scales});
  return {packed, scales};
}

Value LowerPartsToGPUPass::getConstantBuffer(OpBuilder &builder, Location loc,
                                            StringRef name,
                                            DenseElementsAttr value) {
  MemRefType type = getBufferType(value.getType());
  OpBuilder detached(builder.getContext());
  auto global = memref::GlobalOp::create(
      detached, loc, name,
      builder.getStringAttr("private"), type, value, /*constant=*/true,
      /*alignment=*/builder.getI64IntegerAttr(16));
  // At the start of the module, renamed if the name is taken.
  symbols->insert(global, getOperation().getBody()->begin());
  return memref::GetGlobalOp::create(builder, loc, type, global.getSymName());
}

/// Erases the op that defines `value` when nothing uses it and it has no
/// side effects, and so on up through its operands (a copy and the
/// annotations and empty tensor it was made from).
static void eraseIfTriviallyDead(Value value) {
  Operation *definition = value.getDefiningOp();
  if (!definition || !isOpTriviallyDead(definition))
    return;
  SmallVector<Value> operands(definition->getOperands());
  definition->erase();
  for (Value operand : operands)
    eraseIfTriviallyDead(operand);
}

/// The elementwise steps after the last part of a product that a kernel
/// computing the part can apply as it stores: each the only reader of the
/// previous value (an epilogue step, see isEpilogueStep, or an annotation),
/// its other inputs available where the part is, where a step reads the
/// source of a copy made after the part (a bias that torch-mlir broadcasts
/// after the product) in place of the copy. Ends with a step, not an
/// annotation.
static SmallVector<Operation *> getFollowingSteps(PartMatmulOp op) {
  SmallVector<Operation *> steps;
  size_t taken = 0;
  Value running = op.getResult();
  auto availableAtPart = [&](Value value) {
    Operation *definition = value.getDefiningOp();
    return !definition || (definition->getBlock() == op->getBlock() &&
                           definition->isBeforeInBlock(op));
  };
  while (running.hasOneUse()) {
    Operation *user = *running.getUsers().begin();
    if (auto annotate = dyn_cast<AnnotateOp>(user)) {
      steps.push_back(user);
      running = annotate.getResult();
      continue;
    }
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || !isEpilogueStep(generic, running))
      break;
    // The step reads the sources of its inputs' copies; it stays a step (a
    // copy's map composed with a projected permutation is one).
    SmallVector<Value> copies = generic.getDpsInputs();
    IRRewriter rewriter(generic);
    foldInputCopies(rewriter, generic, /*allowBroadcast=*/true,
                    /*skipped=*/{running});
    for (Value copy : copies)
      eraseIfTriviallyDead(copy);
    if (!llvm::all_of(generic.getDpsInputs(), [&](Value input) {
          return input == running || availableAtPart(input);
        }))
      break;
    steps.push_back(user);
    taken = steps.size();
    running = generic.getResult(0);
  }
  steps.resize(taken);
  return steps;
}

LogicalResult LowerPartsToGPUPass::lower(PartMatmulOp op,
                                         gpu::GPUModuleOp kernelModule,
                                         unsigned index,
                                         const ChipDescription &chip) {
  Value sparse = op.getSparse();
  Value source = sparse;
  if (auto extract = sparse.getDefiningOp<ExtractPartOp>())
    source = extract.getSource();
  bool sparseIsLhs = op.getSparseOperand() == 0;
  auto resultType = cast<RankedTensorType>(op.getType());
  Type denseElement = getElementTypeOrSelf(op.getDense().getType());
  // The elementwise steps after the part (a bias, GELU, the rounding to
  // f16 of torch-mlir's f16 Linear, a residual add), which then take no
  // kernel of their own.
  SmallVector<Operation *> steps;
  // 32-bit blocks kept whole: the contraction family over the kept blocks,
  // before any part layout is built.
  if (!matchGather(op.getDense())) {
    steps = getFollowingSteps(op);
    std::string name = "part" + std::to_string(index);
    llvm::Expected<RegionKernel> kernel = buildKeptBlockPartKernel(
        op, kernelModule, name, chip, steps,
        blockPartsOfDense.lookup(op.getDense()), blockClusters);
    std::string reason;
    if (!kernel) {
      reason = llvm::toString(kernel.takeError());
      // The kept-channel kernel multiplies on FMA tiles: a 2:4 part that
      // whole pruned rows leave (two of every four rows of W) is faster on
      // sparse tensor cores, where the chip has them.
      if (isSparseTensorCorePart(op.getKernel(), op.getBlock(),
                                 op.getSparseOperand() == 0, op.getBits(),
                                 chip))
        kernel = llvm::createStringError(
            "a 2:4 structured part is computed on sparse tensor cores");
      else
        kernel =
            buildKeptChannelPartKernel(op, kernelModule, name, chip, steps);
    }
    if (kernel) {
      keptBlockParts.push_back({op, steps, *kernel});
      return success();
    }
    reason += "; " + llvm::toString(kernel.takeError());
    // The part kernels below take f32 operands, or f16 ones for structured
    // parts, which read the dense operand through its f16 copy, and for
    // fine-grained parts, whose SIMT kernel reads it as it is.
    if (!denseElement.isF32() && op.getKernel() == PartKernel::Block)
      return op.emitError("cannot compute this part of f16 operands: ")
             << reason;
  } else if (!denseElement.isF32()) {
    return op.emitError("cannot compute this part of f16 operands: its dense "
                        "operand is gathered");
  }
  int64_t columns = resultType.getDimSize(sparseIsLhs ? 1 : 0);
  SparsityMap sparseMap =
      getDeclaredMap(cast<RankedTensorType>(sparse.getType()));
  PartLayout layout =
      fineTensorCores && op.getKernel() == PartKernel::Fine &&
              usesCompressedTiles(sparseMap, sparseIsLhs, op.getBits(),
                                  denseElement.isF16(), chip)
          ? buildCompressedTileLayout(sparseMap, sparseIsLhs, columns, chip)
          : buildPartLayout(sparseMap, sparseIsLhs, columns, op.getKernel(),
                            op.getBlock(), op.getBits(), chip);
  layout.f16Dense = denseElement.isF16();
  // The part kernels apply the steps to each element they write.
  std::optional<Epilogue> following;
  if (!steps.empty()) {
    FailureOr<Epilogue> epilogue = Epilogue::get(op.getResult(), steps);
    if (succeeded(epilogue))
      following = std::move(*epilogue);
  }
  // An epilogue applies to every element, so no column is skipped.
  if (!op.hasEpilogue() && !following)
    restrictToLiveColumns(layout, getDeclaredMap(resultType));
  // A first part whose accumulator is a constant fill writes every result
  // element without reading it (see PartLayout::initialValue), unless the
  // result has columns to skip. It and a part with an epilogue cover every
  // channel.
  std::optional<std::pair<Value, unsigned>> bias;
  if (layout.liveColumns.empty()) {
    if (std::optional<float> fill = getConstantFill(op.getAcc()))
      layout.initialValue = fill;
    else if ((bias = getBroadcastBias(op.getAcc()))) {
      layout.initialBiasDim = bias->second;
      layout.f16Bias = getElementTypeOrSelf(bias->first.getType()).isF16();
    }
  }
  if (op.hasEpilogue() || following || layout.initialValue ||
      layout.initialBiasDim)
    addEmptyWorkRows(layout);
  // A dense operand gathered from another tensor (a convolution's patches)
  // is read through the gather, in place: an implicit GEMM.
  std::optional<std::pair<DenseGather, Value>> gather =
      matchGather(op.getDense());
  if (gather) {
    layout.gather = gather->first;
    layout.transposedDense = false;
  }
  layout.stagedSimt = stagedSimt && usesStagedSimt(layout);
  // A structured part's warpgroup kernel runs in one grid with those of
  // the other products of its dense operand (a layer's Q, K and V): it is
  // tiled for its share of the multiprocessors.
  ChipDescription chipShare = getChipShare(
      chip, structuredProductsOfDense.lookup({op.getDense(), op->getBlock()}));
  layout.structuredTiling.assign(structuredTiling.begin(),
                                 structuredTiling.end());
  layout.blockClusters = blockClusters;
  layout.structuredRows =
      wgmmaStructured && canUseWgmmaStructured(layout, chipShare);
  if (wgmmaStructured) {
    std::string error = checkGivenStructuredTiling(layout, chipShare);
    if (!error.empty())
      return op.emitError(error);
  }
  const ChipDescription &kernelChip = layout.structuredRows ? chipShare : chip;
  if (!layout.useMma && layout.reduction >= (int64_t(1) << 24))
    return op.emitError("reduction of ")
           << layout.reduction
           << " elements is too long for the fine-grained kernel's work list "
              "(at most 2^24)";

  OpBuilder builder(op);
  Location loc = op.getLoc();
  Value result = op.getAcc();
  if (!layout.rows.empty()) {
    std::string prefix = "part" + std::to_string(index);
    std::optional<std::vector<float>> constantValues =
        getConstantSourceValues(source);
    DenseCopyKey copyKey = {op.getDense(),
                            getDenseCopyType(builder.getContext(), layout),
                            op->getBlock()};
    // An f16 dense operand already laid out as the copy ([column][k], no
    // padding) is read in place.
    bool denseIsCopy =
        !gather && !layout.transposedDense &&
        getBufferType(op.getDense().getType()) == std::get<Type>(copyKey);
    bool makeCopy =
        hasDenseCopy(layout) && !denseIsCopy && !denseCopies.count(copyKey);
    PartKernels kernels = buildPartKernels(
        builder, loc, kernelModule, prefix, layout, kernelChip, op,
        /*withPack=*/!constantValues,
        /*withDenseCopy=*/makeCopy, following ? &*following : nullptr);
    auto alloc = [&](Type type) -> Value {
      return memref::AllocOp::create(builder, loc, cast<MemRefType>(type));
    };
    auto launch = [&](gpu::GPUFuncOp kernel, const KernelLaunch &sizes,
                      ValueRange arguments) {
      return launchKernel(builder, loc, kernel, sizes, arguments);
    };
    // A chain of parts accumulates into one buffer: the previous part's
    // result is taken over in place; the first part writes a new one when
    // its accumulator is a constant fill, else copies its accumulator.
    Value out;
    auto previous = op.getAcc().getDefiningOp<bufferization::ToTensorOp>();
    if (layout.initialValue || layout.initialBiasDim) {
      out = memref::AllocOp::create(builder, loc, getBufferType(resultType));
    } else if (previous && previous->hasOneUse() &&
               previous.getBuffer().getDefiningOp<memref::AllocOp>()) {
      out = previous.getBuffer();
    } else {
      out = memref::AllocOp::create(builder, loc, getBufferType(resultType));
      memref::CopyOp::create(builder, loc,
                             toBuffer(builder, loc, op.getAcc()), out);
    }
    SmallVector<Value> temporaries;
    auto [packed, scales] = getPackedWeights(
        builder, loc, prefix, layout, source, constantValues,
        [&](KernelLaunch &packLaunch) {
          packLaunch = kernels.packLaunch;
          return kernels.pack;
        },
        temporaries);
    // The dense operand as the kernels read it: through its gather, or
    // transposed for SIMT float parts.
    auto denseBuffer = [&] {
      Value denseTensor = gather ? gather->second : op.getDense();
      if (layout.transposedDense)
        denseTensor = getTransposed(builder, loc, denseTensor);
      return toBuffer(builder, loc, denseTensor);
    };
    // The compute kernel's arguments: the dense operand (or its copy, and
    // for int8 parts its scales), the packed values (and their scales),
    // the result and the bias.
    bool isInt = layout.compute == ComputeKind::I8;
    DenseCopy *copy = nullptr;
    SmallVector<Value> arguments;
    if (hasDenseCopy(layout) && !denseIsCopy) {
      copy = &denseCopies[copyKey];
      if (makeCopy) {
        copy->values = alloc(std::get<Type>(copyKey));
        SmallVector<Value> copyArguments = {denseBuffer(), copy->values};
        if (isInt) {
          copy->scales =
              alloc(getDenseScalesType(builder.getContext(), layout));
          copyArguments.push_back(copy->scales);
        }
        launch(kernels.denseCopy, kernels.denseCopyLaunch, copyArguments);
      }
      arguments = {copy->values, packed, out};
      if (isInt)
        arguments = {copy->values, copy->scales, packed, scales, out};
    } else {
      arguments = {denseBuffer(), packed, out};
    }
    // After the result: the bias, then the flat buffers of the steps'
    // inputs and of their result.
    SmallVector<Value> trailing;
    if (bias)
      trailing.push_back(toBuffer(builder, loc, bias->first));
    Value stepsOut;
    if (following) {
      for (Value input : following->getInputs())
        trailing.push_back(
            flattenBuffer(builder, loc, toBuffer(builder, loc, input)));
      stepsOut = alloc(getBufferType(following->getResultType()));
      trailing.push_back(flattenBuffer(builder, loc, stepsOut));
    }
    llvm::append_range(arguments, trailing);
    gpu::LaunchFuncOp compute =
        launch(kernels.compute, kernels.computeLaunch, arguments);
    if (kernels.warpgroupCompute) {
      WarpgroupLaunch &recorded =
          warpgroupLaunches.emplace_back(WarpgroupLaunch{
              compute, kernels.computeLaunch, op.getDense(), {out}});
      if (following)
        recorded.written.push_back(trailing.back());
    }
    if (copy)
      copy->lastUse = compute;
    for (Value temporary : temporaries)
      memref::DeallocOp::create(builder, loc, temporary);
    if (following) {
      // The last step's value is the kernels' result; the steps go.
      Value computed = steps.back()->getResult(0);
      computed.replaceAllUsesWith(toResultTensor(
          builder, loc, stepsOut,
          cast<RankedTensorType>(computed.getType())));
      for (Operation *step : llvm::reverse(steps))
        step->erase();
      replacePart(op, Value());
      return success();
    }
    result = toResultTensor(builder, loc, out, resultType);
  }
  if (result.getType() != resultType)
    result = AnnotateOp::create(builder, loc, resultType, result);
  replacePart(op, result);
  return success();
}

bool LowerPartsToGPUPass::lowerDecodeProduct(ArrayRef<PartMatmulOp> product,
                                             gpu::GPUModuleOp kernelModule,
                                             unsigned index,
                                             const ChipDescription &chip) {
  PartMatmulOp first = product.front(), last = product.back();
  bool anyInt = llvm::any_of(
      product, [](PartMatmulOp op) { return op.getBits() <= 8; });
  if (product.size() < 2 && !anyInt)
    return false;
  // The SIMT work lists of every part, over f32 operands read in place.
  std::vector<PartLayout> layouts;
  auto isF32 = [](Value tensor) {
    return cast<RankedTensorType>(tensor.getType()).getElementType().isF32();
  };
  for (PartMatmulOp op : product) {
    if (!isF32(op.getLhs()) || !isF32(op.getRhs()) ||
        matchGather(op.getDense()))
      return false;
    bool sparseIsLhs = op.getSparseOperand() == 0;
    auto resultType = cast<RankedTensorType>(op.getType());
    PartLayout layout = buildPartLayout(
        getDeclaredMap(cast<RankedTensorType>(op.getSparse().getType())),
        sparseIsLhs, resultType.getDimSize(sparseIsLhs ? 1 : 0),
        PartKernel::Fine,
        op.getBlock(), op.getBits(), chip);
    // Float entries of four reduction elements (one load of weights, one of
    // inputs) where the kept elements fill at least half of them, as in
    // blocks; else of the compute kind's dot width.
    if (layout.group != 4) {
      PartLayout inFours = regroupInFours(layout);
      if (2 * inFours.getNumKept() >= 4 * inFours.getNumEntries())
        layout = std::move(inFours);
    }
    layout.transposedDense = false;
    addEmptyWorkRows(layout);
    layouts.push_back(std::move(layout));
  }
  if (!fitsDecodeProduct(layouts, chip))
    return false;
  padDecodeProductRows(layouts, chip);

  OpBuilder builder(last);
  Location loc = last.getLoc();
  std::string prefix = "product" + std::to_string(index);
  std::optional<float> fill = getConstantFill(first.getAcc());
  SmallVector<Value> arguments = {toBuffer(builder, loc, first.getDense())};
  if (!fill)
    arguments.push_back(toBuffer(builder, loc, first.getAcc()));
  SmallVector<Value> temporaries;
  for (auto [i, layout] : llvm::enumerate(layouts)) {
    PartMatmulOp op = product[i];
    std::string partPrefix = prefix + "_part" + std::to_string(i);
    Value source = op.getSparse();
    if (auto extract = source.getDefiningOp<ExtractPartOp>())
      source = extract.getSource();
    auto [packed, scales] = getPackedWeights(
        builder, loc, partPrefix, layout, source,
        getConstantSourceValues(source),
        [&](KernelLaunch &packLaunch) {
          return buildPartPack(builder, loc, kernelModule, partPrefix, layout,
                               chip, op, packLaunch);
        },
        temporaries);
    arguments.push_back(packed);
    if (layout.compute == ComputeKind::I8)
      arguments.push_back(scales);
  }
  auto resultType = cast<RankedTensorType>(last.getType());
  Value out =
      memref::AllocOp::create(builder, loc, getBufferType(resultType));
  arguments.push_back(out);
  gpu::GPUFuncOp kernel = buildDecodeProductCompute(
      builder, loc, kernelModule, prefix, layouts, product, chip,
      llvm::to_vector(ValueRange(arguments).getTypes()), fill);
  launchKernel(builder, loc, kernel, getDecodeProductLaunch(layouts, chip),
               arguments);
  for (Value temporary : temporaries)
    memref::DeallocOp::create(builder, loc, temporary);
  Value result = toResultTensor(builder, loc, out, resultType);
  replacePart(last, result);
  for (PartMatmulOp op : llvm::reverse(product.drop_back()))
    replacePart(op, Value());
  return true;
}

void LowerPartsToGPUPass::replaceKeptBlockPart(KeptBlockPart &part,
                                               Value result,
                                               IRMapping &replaced) {
  Value value = part.getComputed();
  auto type = cast<RankedTensorType>(value.getType());
  OpBuilder builder(part.op);
  if (result.getType() != type)
    result = AnnotateOp::create(builder, part.op.getLoc(), type, result);
  value.replaceAllUsesWith(result);
  replaced.map(value, result);
}

void LowerPartsToGPUPass::launchKeptBlockParts(MutableArrayRef<KeptBlockPart> parts,
                                               gpu::GPUModuleOp kernels) {
  // Parts that read one dense operand run as one launch where they can.
  SmallVector<RegionKernel> kernelsOfParts;
  SmallVector<Operation *> sites;
  SmallVector<RankedTensorType> resultTypes;
  for (KeptBlockPart &part : parts) {
    kernelsOfParts.push_back(part.kernel);
    sites.push_back(part.op);
    resultTypes.push_back(
        cast<RankedTensorType>(part.getComputed().getType()));
  }
  SmallVector<SmallVector<unsigned>> groups = groupSiblingKernels(
      kernelsOfParts, sites, [&](unsigned first, unsigned next) {
        return parts[first].op.getDense() == parts[next].op.getDense();
      });
  IRMapping replaced;
  launchKernelGroups(kernelsOfParts, sites, resultTypes, groups, kernels,
                     "parts", replaced, [&](unsigned index, Value result) {
                       replaceKeptBlockPart(parts[index], result, replaced);
                     });
  for (KeptBlockPart &part : parts) {
    for (Operation *step : llvm::reverse(part.steps))
      step->erase();
    replacePart(part.op, Value());
  }
}

void LowerPartsToGPUPass::replacePart(PartMatmulOp op, Value result) {
  Operation *accumulator = op.getAcc().getDefiningOp();
  if (result)
    op.replaceAllUsesWith(result);
  op.erase();
  // The previous part's result or the fill (and the annotations of it),
  // when nothing else reads them.
  while (isa_and_nonnull<bufferization::ToTensorOp, linalg::FillOp,
                         AnnotateOp>(accumulator) &&
         accumulator->use_empty()) {
    auto annotate = dyn_cast<AnnotateOp>(accumulator);
    Operation *source =
        annotate ? annotate.getSource().getDefiningOp() : nullptr;
    accumulator->erase();
    accumulator = source;
  }
}

void LowerPartsToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  transposed.clear();
  denseCopies.clear();
  symbols.emplace(module);
  llvm::Expected<const ChipDescription &> chipDescription =
      target.hasValue() ? getChip(target, chip) : getChip(chip);
  if (!chipDescription) {
    emitError(module.getLoc())
        << llvm::toString(chipDescription.takeError());
    return signalPassFailure();
  }
  if (!structuredTiling.empty()) {
    std::string error = checkStructuredTiling(structuredTiling);
    if (!error.empty()) {
      emitError(module.getLoc()) << error;
      return signalPassFailure();
    }
  }
  ChipDescription chipForParts = *chipDescription;
  chipForParts.hasTensorMemoryAccelerator &= tma;
  SmallVector<PartMatmulOp> parts;
  module.walk([&](PartMatmulOp op) { parts.push_back(op); });
  if (parts.empty())
    return;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(&getContext()));
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto kernelModule =
      gpu::GPUModuleOp::create(builder, module.getLoc(), "tesa_kernels");
  keptBlockParts.clear();
  blockPartsOfDense.clear();
  warpgroupLaunches.clear();
  for (PartMatmulOp op : parts)
    if (op.getKernel() == PartKernel::Block)
      ++blockPartsOfDense[op.getDense()];
  structuredProductsOfDense.clear();
  SmallVector<SmallVector<PartMatmulOp>> products = getProducts(parts);
  for (MutableArrayRef<PartMatmulOp> product : products)
    if (llvm::any_of(product, [](PartMatmulOp op) {
          return op.getKernel() == PartKernel::Structured;
        }))
      ++structuredProductsOfDense[{product.front().getDense(),
                                   product.front()->getBlock()}];
  unsigned index = 0;
  for (ArrayRef<PartMatmulOp> product : products) {
    if (decodeProducts &&
        lowerDecodeProduct(product, kernelModule, index, chipForParts)) {
      index += product.size();
      continue;
    }
    for (PartMatmulOp op : product)
      if (failed(lower(op, kernelModule, index++, chipForParts)))
        return signalPassFailure();
  }
  launchKeptBlockParts(keptBlockParts, kernelModule);
  launchSiblingsTogether(warpgroupLaunches, kernelModule,
                         [&](Operation *old, Operation *launch) {
                           for (auto &[key, copy] : denseCopies)
                             if (copy.lastUse == old)
                               copy.lastUse = launch;
                         });
  for (auto &[key, copy] : denseCopies) {
    builder.setInsertionPointAfter(copy.lastUse);
    memref::DeallocOp::create(builder, copy.lastUse->getLoc(), copy.values);
    if (copy.scales)
      memref::DeallocOp::create(builder, copy.lastUse->getLoc(), copy.scales);
  }
  // Extracted parts are read by the pack kernels from their source.
  module.walk([](ExtractPartOp op) {
    if (op->use_empty())
      op.erase();
  });
}
