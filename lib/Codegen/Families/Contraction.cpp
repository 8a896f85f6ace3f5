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
// nothing), then every thread multiplies its register tile. The next step's
// slices are loaded into registers before this step's products, so that
// their latency hides behind them. Thread (ty, tx) owns runs of up to four
// rows and four columns (see ThreadTile), read from workgroup memory with one
// vector load each. The epilogue adds the accumulator's initial value (a
// constant fill, or a tensor read through its broadcast) and applies the
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
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

/// Which outputs of a block's tile a thread owns along one dimension: runs
/// of `width` (up to four) consecutive rows or columns, `threads` * `width`
/// apart, the thread's own run at `thread` * `width` in each.
struct ThreadTile {
  int64_t size, width, threads;
  ThreadTile(int64_t tile, int64_t perThread)
      : size(perThread), width(std::min<int64_t>(perThread, 4)),
        threads(tile / perThread) {}
  int64_t getRuns() const { return size / width; }
  /// The offset in the tile of the thread's element `i`.
  Value getOffset(KernelEmitter &e, Value thread, int64_t i) const {
    return e.affine(thread, width,
                    (i / width) * threads * width + i % width);
  }
};

/// Builds the kernel of one configured contraction region.
class ContractionEmitter {
public:
  ContractionEmitter(KernelEmitter &e, linalg::GenericOp contraction,
                     const ContractionShape &shape, TileConfigAttr config,
                     const Epilogue &epilogue)
      : e(e), contraction(contraction), shape(shape), epilogue(epilogue),
        tileM(config.getTile()[0]), tileN(config.getTile()[1]),
        tileK(config.getTile()[2]), rows(tileM, config.getThreadTile()[0]),
        columns(tileN, config.getThreadTile()[1]),
        threads(config.getThreads()) {
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
  /// One operand's slice of a step: `rows` rows (M or N) by tileK reduction
  /// elements, stored in workgroup memory [k][row] with rows of
  /// `rows` + kPad words.
  struct OperandTile {
    Value operand, base, rowStart, shared;
    ArrayRef<int64_t> strides;
    int64_t rowLoop, rowCount, rows;
  };
  /// This thread's elements of `tile`'s slice at reduction step `kStart`
  /// (zero outside the operand).
  SmallVector<Value> loadTile(const OperandTile &tile, Value kStart);
  void storeTile(const OperandTile &tile, ArrayRef<Value> values);
  /// The position in the slice of this thread's `r`-th element: (row, k).
  std::pair<Value, Value> getTilePosition(const OperandTile &tile, int64_t r);
  /// The thread's products of one step, read from workgroup memory.
  void multiply(const OperandTile &a, const OperandTile &b, Value ty,
                Value tx, SmallVector<Value> &acc);
  Value batchBase(ArrayRef<int64_t> strides, Value batchId);

  /// Words that pad the rows of the tiles in workgroup memory: they keep
  /// 16-byte alignment and shift consecutive k rows by four banks.
  static constexpr int64_t kPad = 4;

  KernelEmitter &e;
  linalg::GenericOp contraction;
  const ContractionShape &shape;
  const Epilogue &epilogue;
  int64_t tileM, tileN, tileK;
  ThreadTile rows, columns;
  int64_t threads;
  SmallVector<int64_t> aStrides, bStrides;
  InitialValue init;
};

Value ContractionEmitter::batchBase(ArrayRef<int64_t> strides,
                                    Value batchId) {
  if (shape.batchLoop < 0)
    return e.index(0);
  return e.affine(batchId, strides[shape.batchLoop]);
}

std::pair<Value, Value>
ContractionEmitter::getTilePosition(const OperandTile &tile, int64_t r) {
  // Neighbouring threads take neighbouring elements of the operand's
  // contiguous dimension.
  bool kContiguous = tile.strides[shape.kLoop] == 1;
  Value element = e.affine(e.threadId(), 1, r * threads);
  if (kContiguous)
    return {e.div(element, tileK), e.rem(element, tileK)};
  return {e.rem(element, tile.rows), e.div(element, tile.rows)};
}

SmallVector<Value> ContractionEmitter::loadTile(const OperandTile &tile,
                                                Value kStart) {
  SmallVector<Value> values;
  for (int64_t r = 0; r < tile.rows * tileK / threads; ++r) {
    auto [row, kk] = getTilePosition(tile, r);
    Value globalRow = e.add(tile.rowStart, row);
    Value globalK = e.add(kStart, kk);
    Value inBounds =
        e.both(e.less(globalRow, tile.rowCount), e.less(globalK, shape.k));
    Value offset = e.add(
        tile.base, e.add(e.affine(globalRow, tile.strides[tile.rowLoop]),
                         e.affine(globalK, tile.strides[shape.kLoop])));
    values.push_back(e.loadOr(tile.operand, offset, inBounds, e.f32(0.0)));
  }
  return values;
}

void ContractionEmitter::storeTile(const OperandTile &tile,
                                   ArrayRef<Value> values) {
  for (auto [r, value] : llvm::enumerate(values)) {
    auto [row, kk] = getTilePosition(tile, r);
    e.store(value, tile.shared, e.add(e.affine(kk, tile.rows + kPad), row));
  }
}

void ContractionEmitter::multiply(const OperandTile &a, const OperandTile &b,
                                  Value ty, Value tx,
                                  SmallVector<Value> &acc) {
  // The thread's runs of one k row of a tile, one vector load each.
  auto loadRuns = [&](const OperandTile &tile, const ThreadTile &owned,
                      Value thread, int64_t kk) {
    SmallVector<Value> values;
    auto type = VectorType::get({owned.width}, e.b.getF32Type());
    for (int64_t run = 0; run < owned.getRuns(); ++run) {
      Value offset = e.add(e.index(kk * (tile.rows + kPad)),
                           owned.getOffset(e, thread, run * owned.width));
      Value vector = vector::LoadOp::create(
          e.b, type, tile.shared, ValueRange{offset}, /*nontemporal=*/false,
          llvm::Align(4 * owned.width));
      for (int64_t i = 0; i < owned.width; ++i)
        values.push_back(vector::ExtractOp::create(e.b, vector, i));
    }
    return values;
  };
  for (int64_t kk = 0; kk < tileK; ++kk) {
    SmallVector<Value> aValues = loadRuns(a, rows, ty, kk);
    SmallVector<Value> bValues = loadRuns(b, columns, tx, kk);
    for (int64_t i = 0; i < rows.size; ++i)
      for (int64_t j = 0; j < columns.size; ++j)
        acc[i * columns.size + j] = math::FmaOp::create(
            e.b, aValues[i], bValues[j], acc[i * columns.size + j]);
  }
}

void ContractionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  SmallVector<Value> arguments(kernel.getArguments());
  unsigned next = 2;
  Value initBuffer = init.source ? arguments[next++] : Value();
  SmallVector<Value> epilogueBuffers(
      arguments.begin() + next, arguments.begin() + next +
                                    epilogue.getInputs().size());
  Value out = arguments.back();

  Value tid = e.threadId();
  Value tx = e.rem(tid, columns.threads), ty = e.div(tid, columns.threads);
  Value batchId = e.blockId(gpu::Dimension::z);
  Value rowStart = e.affine(e.blockId(gpu::Dimension::y), tileM);
  Value columnStart = e.affine(e.blockId(gpu::Dimension::x), tileN);
  OperandTile a{arguments[0], batchBase(aStrides, batchId), rowStart,
                e.workgroupBuffer(kernel, tileK * (tileM + kPad)), aStrides,
                shape.mLoop, shape.m, tileM};
  OperandTile bTile{arguments[1], batchBase(bStrides, batchId), columnStart,
                    e.workgroupBuffer(kernel, tileK * (tileN + kPad)),
                    bStrides, shape.nLoop, shape.n, tileN};

  storeTile(a, loadTile(a, e.index(0)));
  storeTile(bTile, loadTile(bTile, e.index(0)));
  e.barrier();
  SmallVector<Value> zeros(rows.size * columns.size, e.f32(0.0));
  auto loop = scf::ForOp::create(b, e.index(0), e.index(shape.k),
                                 e.index(tileK), zeros);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    // The next step's slices (zeros past the end) while this one runs.
    Value nextK = e.affine(loop.getInductionVar(), 1, tileK);
    SmallVector<Value> nextA = loadTile(a, nextK);
    SmallVector<Value> nextB = loadTile(bTile, nextK);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    multiply(a, bTile, ty, tx, acc);
    e.barrier();
    storeTile(a, nextA);
    storeTile(bTile, nextB);
    e.barrier();
    scf::YieldOp::create(b, acc);
  }

  AffineMap outputMap = contraction.getIndexingMapsArray().back();
  for (int64_t i = 0; i < rows.size; ++i) {
    for (int64_t j = 0; j < columns.size; ++j) {
      Value row = e.add(rowStart, rows.getOffset(e, ty, i));
      Value column = e.add(columnStart, columns.getOffset(e, tx, j));
      Value inBounds = e.both(e.less(row, shape.m), e.less(column, shape.n));
      e.ifThen(inBounds, [&] {
        SmallVector<Value> loops(shape.numLoops, e.index(0));
        if (shape.batchLoop >= 0)
          loops[shape.batchLoop] = batchId;
        loops[shape.mLoop] = row;
        loops[shape.nLoop] = column;
        Value value = loop.getResult(i * columns.size + j);
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
  for (int64_t size : config.getThreadTile())
    if (size > 4 && size % 4 != 0)
      return fail("a thread tile of more than four rows or columns must be "
                  "runs of four");
  if (tileM % 4 != 0 || tileN % 4 != 0)
    return fail("the output tile must be a multiple of four each way");
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
