//===- Contraction.cpp - The contraction kernel family --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// One block of threads computes a tile M x N of one batch's output (the
// grid is the dense grid of tiles, batches along z). Each step of K, the
// threads copy the A (M x K) and B (K x N) slices of the tile into
// workgroup memory, reading each operand along its contiguous dimension
// through its strides (so transposes folded into the indexing maps cost
// nothing), then every thread multiplies its register tile: thread (ty, tx)
// owns rows ty + i * (M / TM) and columns tx + j * (N / TN), so that
// neighbouring threads read neighbouring words of workgroup memory and write
// neighbouring outputs. The epilogue adds the accumulator's initial value
// (a constant fill, or a tensor read through its broadcast) and applies the
// region's elementwise steps before the one store.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace tesa;

namespace {

llvm::Error fail(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 message.str());
}

MemRefType getFlatType(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return MemRefType::get({type.getNumElements()}, type.getElementType());
}

ArrayRef<int64_t> getShape(Value tensor) {
  return cast<RankedTensorType>(tensor.getType()).getShape();
}

/// The accumulator's initial value: a constant, or a tensor read through a
/// map from the contraction's loops.
struct InitialValue {
  std::optional<double> constant;
  Value source;
  SmallVector<int64_t> loopStrides;
};

InitialValue getInitialValue(linalg::GenericOp contraction) {
  InitialValue init;
  Value acc = contraction.getDpsInits()[0];
  if (auto fill = acc.getDefiningOp<linalg::FillOp>())
    if (auto constant =
            fill.getInputs()[0].getDefiningOp<arith::ConstantOp>())
      if (auto value = dyn_cast<FloatAttr>(constant.getValue())) {
        init.constant = value.getValueAsDouble();
        return init;
      }
  AffineMap map = contraction.getIndexingMapsArray().back();
  Value source;
  AffineMap sourceMap;
  if (matchCopy(acc, source, sourceMap, /*allowBroadcast=*/true)) {
    acc = source;
    map = sourceMap.compose(map);
  }
  init.source = acc;
  init.loopStrides = getLoopStrides(map, getShape(acc));
  return init;
}

/// The contraction's loops and sizes.
struct ContractionShape {
  int64_t batchLoop = -1, mLoop, nLoop, kLoop;
  int64_t batch = 1, m, n, k;
  unsigned numLoops;
};

/// Builds the kernel of one configured contraction region.
class ContractionEmitter {
public:
  ContractionEmitter(KernelEmitter &e, linalg::GenericOp contraction,
                     const ContractionShape &shape, TileConfigAttr config,
                     const Epilogue &epilogue)
      : e(e), contraction(contraction), shape(shape), epilogue(epilogue),
        tileM(config.getTile()[0]), tileN(config.getTile()[1]),
        tileK(config.getTile()[2]), threadM(config.getThreadTile()[0]),
        threadN(config.getThreadTile()[1]), threads(config.getThreads()) {
    SmallVector<AffineMap> maps = contraction.getIndexingMapsArray();
    SmallVector<Value> operands = contraction.getDpsInputs();
    aStrides = getLoopStrides(maps[0], getShape(operands[0]));
    bStrides = getLoopStrides(maps[1], getShape(operands[1]));
    init = getInitialValue(contraction);
  }

  /// The tensors the kernel reads, in argument order.
  SmallVector<Value> getInputs() {
    SmallVector<Value> inputs = contraction.getDpsInputs();
    if (init.source)
      inputs.push_back(init.source);
    llvm::append_range(inputs, epilogue.getInputs());
    return inputs;
  }

  void emitBody(gpu::GPUFuncOp kernel);

private:
  /// Copies this step's slice of an operand into workgroup memory: `rows`
  /// rows (M or N) by tileK reduction elements, stored [k][row] with rows of
  /// `rows + 1` words.
  void copyTile(Value operand, ArrayRef<int64_t> strides, int64_t rowLoop,
                int64_t rowCount, int64_t rows, Value rowStart, Value kStart,
                Value base, Value tile);
  Value batchBase(ArrayRef<int64_t> strides, Value batchId);

  KernelEmitter &e;
  linalg::GenericOp contraction;
  const ContractionShape &shape;
  const Epilogue &epilogue;
  int64_t tileM, tileN, tileK, threadM, threadN, threads;
  SmallVector<int64_t> aStrides, bStrides;
  InitialValue init;
};

Value ContractionEmitter::batchBase(ArrayRef<int64_t> strides,
                                    Value batchId) {
  if (shape.batchLoop < 0)
    return e.index(0);
  return e.affine(batchId, strides[shape.batchLoop]);
}

void ContractionEmitter::copyTile(Value operand, ArrayRef<int64_t> strides,
                                  int64_t rowLoop, int64_t rowCount,
                                  int64_t rows, Value rowStart, Value kStart,
                                  Value base, Value tile) {
  // Neighbouring threads take neighbouring elements of the operand's
  // contiguous dimension.
  bool kContiguous = strides[shape.kLoop] == 1;
  Value tid = e.threadId();
  for (int64_t r = 0; r < rows * tileK / threads; ++r) {
    Value element = e.affine(tid, 1, r * threads);
    Value row = kContiguous ? e.div(element, tileK) : e.rem(element, rows);
    Value kk = kContiguous ? e.rem(element, tileK) : e.div(element, rows);
    Value globalRow = e.add(rowStart, row);
    Value globalK = e.add(kStart, kk);
    Value inBounds =
        e.both(e.less(globalRow, rowCount), e.less(globalK, shape.k));
    Value offset =
        e.add(base, e.add(e.affine(globalRow, strides[rowLoop]),
                          e.affine(globalK, strides[shape.kLoop])));
    Value value = e.loadOr(operand, offset, inBounds, e.f32(0.0));
    e.store(value, tile, e.add(e.affine(kk, rows + 1), row));
  }
}

void ContractionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  SmallVector<Value> arguments(kernel.getArguments());
  Value a = arguments[0], bOperand = arguments[1];
  unsigned next = 2;
  Value initBuffer = init.source ? arguments[next++] : Value();
  SmallVector<Value> epilogueBuffers(
      arguments.begin() + next, arguments.begin() + next +
                                    epilogue.getInputs().size());
  Value out = arguments.back();

  Value aTile = e.workgroupBuffer(kernel, tileK * (tileM + 1));
  Value bTile = e.workgroupBuffer(kernel, tileK * (tileN + 1));
  Value tid = e.threadId();
  int64_t threadsN = tileN / threadN, rowStride = tileM / threadM;
  Value tx = e.rem(tid, threadsN), ty = e.div(tid, threadsN);
  Value batchId = e.blockId(gpu::Dimension::z);
  Value rowStart = e.affine(e.blockId(gpu::Dimension::y), tileM);
  Value columnStart = e.affine(e.blockId(gpu::Dimension::x), tileN);
  Value aBase = batchBase(aStrides, batchId);
  Value bBase = batchBase(bStrides, batchId);

  SmallVector<Value> zeros(threadM * threadN, e.f32(0.0));
  auto loop = scf::ForOp::create(b, e.index(0), e.index(shape.k),
                                 e.index(tileK), zeros);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kStart = loop.getInductionVar();
    copyTile(a, aStrides, shape.mLoop, shape.m, tileM, rowStart, kStart,
             aBase, aTile);
    copyTile(bOperand, bStrides, shape.nLoop, shape.n, tileN, columnStart,
             kStart, bBase, bTile);
    e.barrier();
    SmallVector<Value> acc(loop.getRegionIterArgs());
    for (int64_t kk = 0; kk < tileK; ++kk) {
      SmallVector<Value> aValues, bValues;
      for (int64_t i = 0; i < threadM; ++i)
        aValues.push_back(e.load(
            aTile, e.affine(ty, 1, kk * (tileM + 1) + i * rowStride)));
      for (int64_t j = 0; j < threadN; ++j)
        bValues.push_back(e.load(
            bTile, e.affine(tx, 1, kk * (tileN + 1) + j * threadsN)));
      for (int64_t i = 0; i < threadM; ++i)
        for (int64_t j = 0; j < threadN; ++j)
          acc[i * threadN + j] = math::FmaOp::create(
              b, aValues[i], bValues[j], acc[i * threadN + j]);
    }
    // Before the next step overwrites the tiles.
    e.barrier();
    scf::YieldOp::create(b, acc);
  }

  AffineMap outputMap = contraction.getIndexingMapsArray().back();
  for (int64_t i = 0; i < threadM; ++i) {
    for (int64_t j = 0; j < threadN; ++j) {
      Value row = e.add(rowStart, e.affine(ty, 1, i * rowStride));
      Value column = e.add(columnStart, e.affine(tx, 1, j * threadsN));
      Value inBounds = e.both(e.less(row, shape.m), e.less(column, shape.n));
      e.ifThen(inBounds, [&] {
        SmallVector<Value> loops(shape.numLoops, e.index(0));
        if (shape.batchLoop >= 0)
          loops[shape.batchLoop] = batchId;
        loops[shape.mLoop] = row;
        loops[shape.nLoop] = column;
        Value value = loop.getResult(i * threadN + j);
        Value initial =
            init.constant
                ? e.f32(*init.constant)
                : e.load(initBuffer, e.linearIndex(loops, init.loopStrides));
        value = e.add(initial, value);
        epilogue.emit(e, value,
                      applyProjectedPermutation<Value>(outputMap, loops),
                      epilogueBuffers, out);
      });
    }
  }
}

} // namespace

llvm::Expected<RegionKernel>
tesa::buildContractionKernel(KernelOp region, gpu::GPUModuleOp module,
                             StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config || config.getAtom() != MmaAtom::FmaF32 ||
      config.getWork() != WorkListKind::DenseGrid || config.getSplitK() != 1)
    return fail("the contraction family computes only configurations of "
                "fma_f32 on a dense_grid without split-K");
  SmallVector<Operation *> ops;
  for (Operation &op : region.getBody().front().without_terminator())
    ops.push_back(&op);
  auto contraction = dyn_cast<linalg::GenericOp>(ops.front());
  if (!contraction || !isContractionForKernel(contraction))
    return fail("the region does not start with a contraction of static f32 "
                "tensors");
  FailureOr<Epilogue> epilogue =
      Epilogue::get(contraction.getResult(0), ArrayRef(ops).drop_front());
  if (failed(epilogue))
    return fail("an op after the contraction is not an elementwise step");
  int64_t tileM = config.getTile()[0], tileN = config.getTile()[1],
          tileK = config.getTile()[2];
  if ((tileM * tileK) % config.getThreads() != 0 ||
      (tileN * tileK) % config.getThreads() != 0)
    return fail("the threads do not divide the operand tiles");

  linalg::ContractionDimensions dims =
      *linalg::inferContractionDims(contraction);
  SmallVector<int64_t> ranges = contraction.getStaticLoopRanges();
  ContractionShape shape;
  shape.numLoops = contraction.getNumLoops();
  shape.mLoop = dims.m[0];
  shape.nLoop = dims.n[0];
  shape.kLoop = dims.k[0];
  shape.m = ranges[shape.mLoop];
  shape.n = ranges[shape.nLoop];
  shape.k = ranges[shape.kLoop];
  if (!dims.batch.empty()) {
    shape.batchLoop = dims.batch[0];
    shape.batch = ranges[shape.batchLoop];
  }

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  ContractionEmitter emitter(e, contraction, shape, config, *epilogue);
  RegionKernel result;
  result.inputs = emitter.getInputs();
  SmallVector<Type> arguments;
  for (Value input : result.inputs)
    arguments.push_back(getFlatType(input));
  arguments.push_back(MemRefType::get(
      {epilogue->getResultType().getNumElements()}, b.getF32Type()));
  result.kernel = e.beginKernel(module, name, arguments);
  emitter.emitBody(result.kernel);
  result.grid = {llvm::divideCeil(shape.n, tileN),
                 llvm::divideCeil(shape.m, tileM), shape.batch};
  result.threads = config.getThreads();
  return result;
}
