//===- Contraction.cpp - The contraction kernel family --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// What every contraction kernel shares (ContractionProblem.h: the problem,
// the K steps a block takes, split-K, the stores through the epilogue), the
// exact-f32 FMA emitter, and the builders for regions and kept-block parts;
// the tensor-core emitter is MmaContraction.cpp.
//
// FMA: one block of threads computes a tile M x N of one batch's output (the
// grid is the dense grid of tiles, slices x batches along z). Each step of K, the
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

#include "ContractionProblem.h"

#include "tesa/Analysis/DecompositionPlan.h"
#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Codegen/QuadExchange.h"
#include "tesa/Codegen/TensorMap.h"
#include "tesa/Codegen/TensorViews.h"
#include "tesa/Support/SparsityMap.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <numeric>

using namespace mlir;
using namespace tesa;

namespace {

ArrayRef<int64_t> getShape(Value tensor) {
  return cast<RankedTensorType>(tensor.getType()).getShape();
}

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

/// Builds the kernel of one contraction problem.
class ContractionEmitter {
public:
  ContractionEmitter(KernelEmitter &e, const ContractionProblem &problem,
                     TileConfigAttr config)
      : e(e), problem(problem), shape(problem.shape),
        tileM(config.getTile()[0]), tileN(config.getTile()[1]),
        tileK(config.getTile()[2]), rows(tileM, config.getThreadTile()[0]),
        columns(tileN, config.getThreadTile()[1]),
        threads(config.getThreads()) {}

  void emitBody(gpu::GPUFuncOp kernel);
  /// Bytes of shared memory the kernel takes: the A and B slices.
  int64_t getSharedBytes() const {
    return getSliceBytes(tileM) + getSliceBytes(tileN);
  }

private:
  /// One operand's slice of a step: `rows` rows (M or N) by tileK reduction
  /// elements, stored in workgroup memory [k][row] with rows of
  /// `rows` + kPad words.
  struct OperandTile {
    Value operand, base, rowStart, shared;
    ArrayRef<int64_t> strides;
    int64_t rowLoop, rowCount, rows;
    /// The kept indices of a gathered row loop (N), or null.
    Value keptRows;
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
  /// Index `i` (valid where `inBounds`) of a gathered loop through its
  /// table of kept indices `kept`; `i` itself without one.
  Value gather(Value kept, Value i, Value inBounds);

  /// Words that pad the rows of the tiles in workgroup memory: they keep
  /// 16-byte alignment and shift consecutive k rows by four banks.
  static constexpr int64_t kPad = 4;
  /// Bytes of one operand's slice of `rows` rows.
  int64_t getSliceBytes(int64_t rows) const {
    return 4 * tileK * (rows + kPad);
  }

  KernelEmitter &e;
  const ContractionProblem &problem;
  const ContractionShape &shape;
  gpu::GPUFuncOp kernel;
  int64_t tileM, tileN, tileK;
  ThreadTile rows, columns;
  int64_t threads;
  /// The tables of problem.keptK and keptN, or null.
  Value keptK, keptN;
};

Value ContractionEmitter::gather(Value kept, Value i, Value inBounds) {
  if (!kept)
    return i;
  return e.loadIndex(kept,
                     arith::SelectOp::create(e.b, inBounds, i, e.index(0)));
}

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
    Value inBounds = e.both(e.less(globalRow, tile.rowCount),
                            e.less(globalK, problem.getWalkedK()));
    globalRow = gather(tile.keptRows, globalRow, inBounds);
    globalK = gather(keptK, globalK, inBounds);
    Value offset = e.add(
        tile.base, e.add(e.affine(globalRow, tile.strides[tile.rowLoop]),
                         e.affine(globalK, tile.strides[shape.kLoop])));
    Value element = e.loadOr(tile.operand, offset, inBounds,
                             e.zero(getElementTypeOrSelf(tile.operand)));
    values.push_back(e.toF32(element));
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

void ContractionEmitter::emitBody(gpu::GPUFuncOp kernelFn) {
  kernel = kernelFn;
  ImplicitLocOpBuilder &b = e.b;
  SmallVector<Value> arguments(kernel.getArguments());
  ContractionBlock block = ContractionBlock::get(e, problem, kernel);
  Value tid = e.threadId();
  Value tx = e.rem(tid, columns.threads), ty = e.div(tid, columns.threads);
  Value batchId = block.batchId;
  Value rowStart = e.affine(block.rowTile, tileM);
  Value columnTile = block.columnTile;
  Value columnStart = e.affine(columnTile, tileN);
  auto module = kernel->getParentOfType<gpu::GPUModuleOp>();
  if (!problem.keptK.empty())
    keptK = e.table(module, (kernel.getName() + "_kept_k").str(),
                    problem.keptK);
  if (!problem.keptN.empty())
    keptN = e.table(module, (kernel.getName() + "_kept_n").str(),
                    problem.keptN);
  // The slices in dynamic shared memory (so that kernels with FMA tiles
  // can share a launch, see FusedLaunch.cpp): A's, then B's.
  Value shared = getDynamicSharedMemory(e);
  auto slice = [&](int64_t byteOffset, int64_t rows) {
    auto type = MemRefType::get(
        {tileK * (rows + kPad)}, b.getF32Type(), MemRefLayoutAttrInterface(),
        cast<MemRefType>(shared.getType()).getMemorySpace());
    return memref::ViewOp::create(b, type, shared, e.index(byteOffset),
                                  ValueRange{})
        .getResult();
  };
  OperandTile a{arguments[0], batchBase(problem.aStrides, batchId), rowStart,
                slice(0, tileM), problem.aStrides, shape.mLoop, shape.m,
                tileM, Value()};
  OperandTile bTile{arguments[1], batchBase(problem.bStrides, batchId),
                    columnStart, slice(getSliceBytes(tileM), tileN),
                    problem.bStrides, shape.nLoop, problem.getWalkedN(),
                    tileN, keptN};

  KStepWalker steps(e, problem, kernel, tileK, block.slice);
  Value count = steps.getCount(columnTile);
  Value firstK = steps.getStart(columnTile, e.index(0), count);
  storeTile(a, loadTile(a, firstK));
  storeTile(bTile, loadTile(bTile, firstK));
  e.barrier();
  // The accumulators, then the start of the next step: each iteration
  // looks up the start of the step after the next one, so that a walk of
  // kept blocks does not wait for its table before its loads.
  SmallVector<Value> initial(rows.size * columns.size, e.f32(0.0));
  initial.push_back(steps.getStart(columnTile, e.index(1), count));
  auto loop = scf::ForOp::create(b, e.index(0), count, e.index(1), initial);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    // The next step's slices (zeros past the end) while this one runs.
    Value nextK = loop.getRegionIterArgs().back();
    SmallVector<Value> nextA = loadTile(a, nextK);
    SmallVector<Value> nextB = loadTile(bTile, nextK);
    Value afterNextK = steps.getStart(
        columnTile, e.affine(loop.getInductionVar(), 1, 2), count);
    SmallVector<Value> acc(loop.getRegionIterArgs().drop_back());
    multiply(a, bTile, ty, tx, acc);
    e.barrier();
    storeTile(a, nextA);
    storeTile(bTile, nextB);
    e.barrier();
    acc.push_back(afterNextK);
    scf::YieldOp::create(b, acc);
  }

  for (int64_t i = 0; i < rows.size; ++i) {
    for (int64_t j = 0; j < columns.size; ++j) {
      Value row = e.add(rowStart, rows.getOffset(e, ty, i));
      Value column = e.add(columnStart, columns.getOffset(e, tx, j));
      Value inBounds = e.both(e.less(row, shape.m),
                              e.less(column, problem.getWalkedN()));
      // Split-K slices keep the walked columns; the finish gathers them.
      e.ifThen(inBounds, [&] {
        storeOutput(e, problem, block, loop.getResult(i * columns.size + j),
                    row,
                    problem.splitK > 1 ? column
                                       : gather(keptN, column, inBounds));
      });
    }
  }
}

/// The kernel of `problem` and its launch: the dense grid of output tiles,
/// batches along z.
RegionKernel emitContraction(const ContractionProblem &problem,
                             TileConfigAttr config, gpu::GPUModuleOp module,
                             StringRef name, RankedTensorType resultType) {
  ImplicitLocOpBuilder b(module.getLoc(), module.getContext());
  KernelEmitter e(b);
  RegionKernel result;
  result.inputs = problem.getInputs();
  SmallVector<Type> arguments;
  for (Value input : result.inputs)
    arguments.push_back(getFlatType(input));
  auto outType = MemRefType::get({resultType.getNumElements()},
                                 resultType.getElementType());
  auto workspaceType =
      MemRefType::get({problem.getWorkspaceElements()}, b.getF32Type());
  const ContractionShape &shape = problem.shape;
  arguments.push_back(problem.splitK > 1 ? workspaceType : outType);
  // The tensor maps of TMA copies follow the result.
  if (config.getAtom() == MmaAtom::WgmmaF16M64NK16)
    result.tensorMaps = getWgmmaTensorMaps(problem, config);
  arguments.append(result.tensorMaps.size(),
                   getTensorMapType(b.getContext()));
  result.kernel = e.beginKernel(module, name, arguments);
  if (config.getAtom() == MmaAtom::MmaF16M16N8K16) {
    emitMmaContraction(e, problem, config, result.kernel);
    result.sharedBytes = config.getStagedF16Bytes();
  } else if (config.getAtom() == MmaAtom::WgmmaF16M64NK16) {
    emitWgmmaContraction(e, problem, config, result.kernel);
    result.sharedBytes = config.getStagedF16Bytes() +
                         getWgmmaBarrierBytes(config);
  } else {
    result.sharedBytes =
        emitFmaContraction(e, problem, config, result.kernel);
  }
  if (problem.splitK > 1) {
    // The kernel that adds up the slices' sums.
    result.workspaceElements = problem.getWorkspaceElements();
    auto finish = std::make_shared<RegionKernel>();
    finish->inputs = problem.getFinishInputs();
    SmallVector<Type> finishArguments = {workspaceType};
    for (Value input : finish->inputs)
      finishArguments.push_back(getFlatType(input));
    finishArguments.push_back(outType);
    finish->kernel =
        e.beginKernel(module, (name + "_split_k").str(), finishArguments);
    emitSplitKFinish(e, problem, finish->kernel);
    finish->grid = {int64_t(llvm::divideCeil(
                        shape.batch * shape.m * problem.getWalkedN(),
                        kSplitKFinishThreads)),
                    1, 1};
    finish->threads = kSplitKFinishThreads;
    result.finish = finish;
  }
  result.grid = {
      int64_t(llvm::divideCeil(problem.getWalkedN(), config.getTile()[1])),
      int64_t(llvm::divideCeil(shape.m, config.getTile()[0])),
      shape.batch * problem.splitK};
  if (config.getWork() == WorkListKind::Persistent) {
    result.grid = {problem.persistent.blocks, 1, 1};
    // ptxas bounds the registers so that the grid's blocks all fit (it
    // reads the bound only beside the block's threads).
    result.kernel->setAttr(
        NVVM::NVVMDialect::getMinctasmAttrName(),
        b.getI32IntegerAttr(problem.persistent.blocksPerProcessor));
    result.kernel->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                           b.getDenseI32ArrayAttr(
                               {int32_t(config.getThreads()), 1, 1}));
  }
  result.threads = config.getThreads();
  result.clusterBlocks = config.getCluster();
  return result;
}

/// Why `config` cannot tile a contraction with FMA register tiles, or none.
std::optional<std::string> checkFmaConfig(TileConfigAttr config) {
  if (config.getCopy() != CopyEngine::Registers)
    return "the fma_f32 atom takes its operands through registers";
  for (int64_t size : config.getThreadTile())
    if (size > 4 && size % 4 != 0)
      return "a thread tile of more than four rows or columns must be runs "
             "of four";
  int64_t tileM = config.getTile()[0], tileN = config.getTile()[1],
          tileK = config.getTile()[2];
  if (tileM % 4 != 0 || tileN % 4 != 0)
    return "the output tile must be a multiple of four each way";
  if ((tileM * tileK) % config.getThreads() != 0 ||
      (tileN * tileK) % config.getThreads() != 0)
    return "the threads do not divide the operand tiles";
  return std::nullopt;
}

/// Why `config` cannot compute `problem`, or none.
std::optional<std::string> checkConfig(const ContractionProblem &problem,
                                       TileConfigAttr config) {
  // Row tiles run along y and batches (by slices) along z.
  constexpr int64_t kMaxGridYZ = 65535;
  if (llvm::divideCeil(problem.shape.m, config.getTile()[0]) > kMaxGridYZ ||
      problem.shape.batch * config.getSplitK() > kMaxGridYZ)
    return "the grid would take more than 65535 blocks along y or z";
  if (config.getWork() == WorkListKind::Persistent &&
      (config.getCopy() != CopyEngine::Tma ||
       problem.persistent.blocksPerProcessor < 1))
    return "a persistent work list takes wgmma tiles copied by TMA, on a "
           "grid of at least one block";
  bool gathered = !problem.keptK.empty() || !problem.keptN.empty();
  if (gathered &&
      (problem.steps.blockK || config.getAtom() != MmaAtom::FmaF32))
    return "gathered loops take FMA tiles over every step";
  if (config.getAtom() == MmaAtom::MmaF16M16N8K16)
    return checkMmaProblem(problem, config);
  if (config.getAtom() == MmaAtom::WgmmaF16M64NK16)
    return checkWgmmaProblem(problem, config);
  return checkFmaConfig(config);
}

} // namespace

SmallVector<Value> ContractionProblem::getInputs() const {
  SmallVector<Value> inputs = {a, b};
  if (splitK == 1)
    llvm::append_range(inputs, getFinishInputs());
  return inputs;
}

SmallVector<Value> ContractionProblem::getFinishInputs() const {
  SmallVector<Value> inputs;
  if (init.source)
    inputs.push_back(init.source);
  llvm::append_range(inputs, epilogue->getInputs());
  return inputs;
}

ContractionBlock ContractionBlock::get(KernelEmitter &e,
                                       const ContractionProblem &problem,
                                       gpu::GPUFuncOp kernel) {
  ContractionBlock block;
  block.columnTile = e.blockId(gpu::Dimension::x);
  block.rowTile = e.blockId(gpu::Dimension::y);
  Value z = e.blockId(gpu::Dimension::z);
  block.batchId = z;
  if (problem.splitK > 1) {
    block.batchId = e.rem(z, problem.shape.batch);
    block.slice = e.div(z, problem.shape.batch);
  }
  SmallVector<Value> arguments(kernel.getArguments());
  // The result (or workspace): the last buffer, before any tensor maps.
  block.out = *llvm::find_if(llvm::reverse(arguments), [](Value argument) {
    return isa<MemRefType>(argument.getType());
  });
  if (problem.splitK > 1)
    return block;
  unsigned next = 2;
  if (problem.init.source)
    block.initBuffer = arguments[next++];
  block.storeBuffers.assign(arguments.begin() + next,
                            arguments.begin() + next +
                                problem.epilogue->getInputs().size());
  return block;
}

/// The loops' values at output (`row`, `column`) of batch `batchId`.
SmallVector<Value> tesa::getOutputLoops(KernelEmitter &e,
                                        const ContractionShape &shape,
                                        Value batchId, Value row,
                                        Value column) {
  SmallVector<Value> loops(shape.numLoops, e.index(0));
  if (shape.batchLoop >= 0)
    loops[shape.batchLoop] = batchId;
  loops[shape.mLoop] = row;
  loops[shape.nLoop] = column;
  return loops;
}

std::pair<Value, Value>
ContractionProblem::computeOutput(KernelEmitter &e, Value value,
                                  ArrayRef<Value> loops,
                                  ArrayRef<Value> buffers) const {
  if (partEpilogue)
    value = partEpilogue(e.b, value);
  return epilogue->apply(e, value,
                         applyProjectedPermutation<Value>(outputMap, loops),
                         buffers);
}

int64_t ContractionProblem::getColumnStride() const {
  return splitK > 1 ? 1 : getOutputStride(shape.nLoop);
}

int64_t ContractionProblem::getOutputStride(int64_t loop) const {
  for (unsigned i = 0, end = outputMap.getNumResults(); i < end; ++i)
    if (outputMap.getDimPosition(i) == unsigned(loop))
      return epilogue->getResultStride(i);
  return 0;
}

/// The output at (`row`, `column`) as stored: with split-K, `acc` and its
/// index in the block's slice of the workspace ([slice][batch][m][n]).
static std::pair<Value, Value> getOutput(KernelEmitter &e,
                                         const ContractionProblem &problem,
                                         const ContractionBlock &block,
                                         Value acc, Value row, Value column) {
  const ContractionShape &shape = problem.shape;
  if (problem.splitK > 1) {
    int64_t n = problem.getWalkedN();
    Value index = e.add(
        e.affine(e.add(e.affine(block.slice, shape.batch), block.batchId),
                 shape.m * n),
        e.add(e.affine(row, n), column));
    return {acc, index};
  }
  SmallVector<Value> loops =
      getOutputLoops(e, shape, block.batchId, row, column);
  Value value = addInitialValue(e, problem, acc, block.initBuffer, loops);
  return problem.computeOutput(e, value, loops, block.storeBuffers);
}

void tesa::storeOutput(KernelEmitter &e, const ContractionProblem &problem,
                       const ContractionBlock &block, Value acc, Value row,
                       Value column) {
  auto [value, index] = getOutput(e, problem, block, acc, row, column);
  e.store(value, block.out, index);
}

void tesa::storeOutputPair(KernelEmitter &e, const ContractionProblem &problem,
                           const ContractionBlock &block, Value first,
                           Value second, Value row, Value column) {
  // Next to each other, and the first at an even index: every other
  // stride is a multiple of the even number of columns.
  if (problem.getColumnStride() != 1 || problem.shape.n % 2 != 0) {
    storeOutput(e, problem, block, first, row, column);
    storeOutput(e, problem, block, second, row, e.affine(column, 1, 1));
    return;
  }
  auto [firstValue, index] = getOutput(e, problem, block, first, row, column);
  Value secondValue =
      getOutput(e, problem, block, second, row, e.affine(column, 1, 1))
          .first;
  Type element = firstValue.getType();
  Value pair = vector::FromElementsOp::create(
      e.b, VectorType::get({2}, element), ValueRange{firstValue, secondValue});
  vector::StoreOp::create(e.b, pair, block.out, ValueRange{index},
                          /*nontemporal=*/false,
                          llvm::Align(2 * element.getIntOrFloatBitWidth() / 8));
}

bool tesa::canStoreOutputChunks(const ContractionProblem &problem) {
  const ContractionShape &shape = problem.shape;
  Type element = getElementTypeOrSelf(problem.epilogue->getResultType());
  if (problem.splitK != 1 || element.getIntOrFloatBitWidth() != 16 ||
      problem.getColumnStride() != 1 || shape.n % kChunkOutputs != 0 ||
      !problem.keptN.empty())
    return false;
  return problem.getOutputStride(shape.mLoop) % kChunkOutputs == 0 &&
         (shape.batchLoop < 0 ||
          problem.getOutputStride(shape.batchLoop) % kChunkOutputs == 0);
}

namespace {
/// The piece a lane of a quad stores: its eight outputs, their index in the
/// result and whether the piece lies inside it.
struct QuadChunk {
  Value outputs, index, inside;
};
} // namespace

/// The chunk this lane stores of `pairs`: the outputs of every pair (the
/// epilogue applied, its inputs loaded), packed two to 32 bits, exchanged
/// across the quad so that lane q holds piece q. Outside the result the
/// coordinates are clamped, so that what the epilogue reads lies inside
/// its inputs; those pieces are not stored.
static QuadChunk computeChunk(KernelEmitter &e,
                              const ContractionProblem &problem,
                              const ContractionBlock &block,
                              ArrayRef<AccumulatorPair> pairs, Value lane) {
  ImplicitLocOpBuilder &b = e.b;
  const ContractionShape &shape = problem.shape;
  SmallVector<Value> words, indices, rows, columns;
  Type element;
  for (const AccumulatorPair &pair : pairs) {
    rows.push_back(pair.row);
    columns.push_back(pair.column);
    Value row = arith::MinUIOp::create(b, pair.row, e.index(shape.m - 1));
    Value column =
        arith::MinUIOp::create(b, pair.column, e.index(shape.n - 2));
    auto [first, index] =
        getOutput(e, problem, block, pair.first, row, column);
    Value second = getOutput(e, problem, block, pair.second, row,
                             e.affine(column, 1, 1))
                       .first;
    element = first.getType();
    Value both = vector::FromElementsOp::create(
        b, VectorType::get({2}, element), ValueRange{first, second});
    Value word = vector::BitCastOp::create(
        b, VectorType::get({1}, b.getI32Type()), both);
    words.push_back(vector::ExtractOp::create(b, word, 0));
    indices.push_back(index);
  }
  // Lane q gathers piece q's pairs from every lane of its quad.
  Value q = e.rem(lane, kQuadLanes);
  SmallVector<Value> chunk = exchangeInQuad(e, words, lane);
  Value words4 = vector::FromElementsOp::create(
      b, VectorType::get({kQuadLanes}, b.getI32Type()), chunk);
  Value outputs = vector::BitCastOp::create(
      b, VectorType::get({kChunkOutputs}, element), words4);
  // Piece q starts 2q outputs before this lane's pair of it.
  Value row = selectByIndex(e, rows, q);
  Value column =
      arith::SubIOp::create(b, selectByIndex(e, columns, q), e.affine(q, 2));
  Value index =
      arith::SubIOp::create(b, selectByIndex(e, indices, q), e.affine(q, 2));
  return {outputs, index,
          e.both(e.less(row, shape.m), e.less(column, shape.n))};
}

void tesa::storeOutputChunks(KernelEmitter &e,
                             const ContractionProblem &problem,
                             const ContractionBlock &block,
                             ArrayRef<QuadPieces> quads, Value lane,
                             int64_t quadsPerBatch) {
  for (size_t first = 0; first < quads.size(); first += quadsPerBatch) {
    ArrayRef<QuadPieces> batch = quads.slice(
        first, std::min<size_t>(quadsPerBatch, quads.size() - first));
    SmallVector<QuadChunk> chunks;
    for (const QuadPieces &pairs : batch) {
      assert(pairs.size() == size_t(kQuadLanes) &&
             "a piece for each lane of a quad");
      chunks.push_back(computeChunk(e, problem, block, pairs, lane));
    }
    for (const QuadChunk &chunk : chunks)
      e.ifThen(chunk.inside, [&] {
        vector::StoreOp::create(
            e.b, chunk.outputs, block.out, ValueRange{chunk.index},
            /*nontemporal=*/false, llvm::Align(kChunkOutputs * 2));
      });
  }
}

void tesa::storeInitialTile(KernelEmitter &e,
                            const ContractionProblem &problem,
                            const ContractionBlock &block, Value rowStart,
                            Value columnStart, int64_t tileM, int64_t tileN,
                            Value thread, int64_t threads) {
  ImplicitLocOpBuilder &b = e.b;
  const ContractionShape &shape = problem.shape;
  assert(tileN % kChunkOutputs == 0 && "whole runs of a row");
  int64_t runsPerRow = tileN / kChunkOutputs;
  int64_t runs = tileM * runsPerRow;
  bool chunks = canStoreOutputChunks(problem);
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  for (int64_t first = 0; first < runs; first += threads) {
    Value run = e.affine(thread, 1, first);
    Value row = e.add(rowStart, e.div(run, runsPerRow));
    Value column =
        e.add(columnStart, e.affine(e.rem(run, runsPerRow), kChunkOutputs));
    Value inside = e.less(run, runs);
    if (!chunks) {
      e.ifThen(inside, [&] {
        for (int64_t i = 0; i < kChunkOutputs; i += 2)
          storeAccumulatorPair(e, problem, block, zero, zero, row,
                               e.affine(column, 1, i));
      });
      continue;
    }
    // Rows and columns are whole chunks apart: a run lies inside the
    // result or outside it.
    Value stored =
        e.both(inside, e.both(e.less(row, shape.m), e.less(column, shape.n)));
    e.ifThen(stored, [&] {
      SmallVector<Value> outputs;
      Value index;
      for (int64_t i = 0; i < kChunkOutputs; ++i) {
        auto [output, at] = getOutput(e, problem, block, zero, row,
                                      e.affine(column, 1, i));
        outputs.push_back(output);
        if (i == 0)
          index = at;
      }
      Value chunk = vector::FromElementsOp::create(
          b, VectorType::get({kChunkOutputs}, outputs[0].getType()), outputs);
      vector::StoreOp::create(b, chunk, block.out, ValueRange{index},
                              /*nontemporal=*/false,
                              llvm::Align(kChunkOutputs * 2));
    });
  }
}

void tesa::ifTileWalked(KernelEmitter &e, const ContractionProblem &problem,
                        Value count, function_ref<void()> store,
                        function_ref<void()> none) {
  if (problem.steps.offsets.empty()) {
    store();
    return;
  }
  Value walked = arith::CmpIOp::create(e.b, arith::CmpIPredicate::ne,
                                       e.fromFirstLane(count), e.index(0));
  e.ifThenElse(walked, store, none);
}

void tesa::storeAccumulatorPair(KernelEmitter &e,
                                const ContractionProblem &problem,
                                const ContractionBlock &block, Value first,
                                Value second, Value row, Value column) {
  const ContractionShape &shape = problem.shape;
  Value rowInside = e.less(row, shape.m);
  if (shape.n % 2 == 0) {
    e.ifThen(e.both(rowInside, e.less(column, shape.n)), [&] {
      storeOutputPair(e, problem, block, first, second, row, column);
    });
    return;
  }
  // A named array: the initializer list of an ArrayRef in the range would
  // not outlive the loop's first statement.
  Value pair[] = {first, second};
  for (auto [k, value] : llvm::enumerate(pair)) {
    Value at = e.affine(column, 1, k);
    e.ifThen(e.both(rowInside, e.less(at, shape.n)),
             [&] { storeOutput(e, problem, block, value, row, at); });
  }
}

std::optional<std::string>
tesa::checkStagedOperands(const ContractionProblem &problem, int64_t tileM,
                          int64_t tileN, int64_t tileK, bool narrowCopies) {
  const ContractionShape &shape = problem.shape;
  if (!getElementTypeOrSelf(problem.a.getType()).isF16() ||
      !getElementTypeOrSelf(problem.b.getType()).isF16())
    return "the tensor-core atoms multiply f16 operands only";
  if (problem.steps.blockK % tileK != 0)
    return "the kept blocks must be whole K steps deep";
  for (auto [strides, rowLoop, rows, tileRows] :
       {std::tuple(ArrayRef(problem.aStrides), shape.mLoop, shape.m, tileM),
        std::tuple(ArrayRef(problem.bStrides), shape.nLoop, shape.n, tileN)})
    if (std::optional<std::string> reason =
            checkStagedOperand(strides, rowLoop, shape.kLoop, rows, shape.k,
                               tileRows, tileK, /*elementBytes=*/2,
                               narrowCopies))
      return reason;
  return std::nullopt;
}

void StagedSteps::issue(Value i) {
  Value exists =
      arith::CmpIOp::create(e.b, arith::CmpIPredicate::ult, i, count);
  e.ifThen(exists, [&] {
    Value kStart = steps.getStart(columnTile, i, count);
    Value slot = e.rem(i, stages);
    copySliceAsync(e, a, rowStart, kStart, slot, threads);
    copySliceAsync(e, b, columnStart, kStart, slot, threads);
  });
  NVVM::CpAsyncCommitGroupOp::create(e.b);
}

void tesa::emitSplitKFinish(KernelEmitter &e, const ContractionProblem &problem,
                            gpu::GPUFuncOp kernel) {
  const ContractionShape &shape = problem.shape;
  SmallVector<Value> arguments(kernel.getArguments());
  Value workspace = arguments[0];
  unsigned next = 1;
  Value initBuffer = problem.init.source ? arguments[next++] : Value();
  SmallVector<Value> storeBuffers(arguments.begin() + next,
                                  arguments.end() - 1);
  int64_t n = problem.getWalkedN();
  int64_t outputs = shape.batch * shape.m * n;
  Value id = e.add(e.affine(e.blockId(gpu::Dimension::x),
                            kSplitKFinishThreads),
                   e.threadId());
  Value keptN;
  if (!problem.keptN.empty())
    keptN = e.table(kernel->getParentOfType<gpu::GPUModuleOp>(),
                    (kernel.getName() + "_kept_n").str(), problem.keptN);
  e.ifThen(e.less(id, outputs), [&] {
    Value sum = e.load(workspace, id);
    for (int64_t slice = 1; slice < problem.splitK; ++slice)
      sum = e.add(sum, e.load(workspace, e.affine(id, 1, slice * outputs)));
    // The slices hold the walked columns: kept columns where N is gathered.
    Value column = e.rem(id, n);
    if (keptN)
      column = e.loadIndex(keptN, column);
    Value row = e.rem(e.div(id, n), shape.m);
    Value batchId = e.div(id, shape.m * n);
    SmallVector<Value> loops = getOutputLoops(e, shape, batchId, row, column);
    Value value = addInitialValue(e, problem, sum, initBuffer, loops);
    auto [result, index] =
        problem.computeOutput(e, value, loops, storeBuffers);
    e.store(result, arguments.back(), index);
  });
}

/// The initial value of an accumulator `acc` that the contraction's loops
/// read through `map`.
InitialValue tesa::getInitialValue(Value acc, AffineMap map) {
  InitialValue init;
  acc = skipAnnotations(acc);
  if (auto fill = acc.getDefiningOp<linalg::FillOp>())
    if (auto constant =
            fill.getInputs()[0].getDefiningOp<arith::ConstantOp>())
      if (auto value = dyn_cast<FloatAttr>(constant.getValue())) {
        init.constant = value.getValueAsDouble();
        return init;
      }
  // Read where the tensor it views is: through annotations, reshapes and
  // copies (a bias broadcast to every row, widened from f16: the load
  // converts to f32).
  StridedView view = getStridedView(acc, /*allowWidening=*/true,
                                    /*allowBroadcast=*/true);
  init.source = view.source;
  init.loopStrides = getLoopStrides(view, map);
  return init;
}


Value KStepWalker::table(StringRef suffix, ArrayRef<int32_t> data) {
  return e.table(kernel->getParentOfType<gpu::GPUModuleOp>(),
                 (kernel.getName() + suffix).str(), data);
}

Value KStepWalker::getSliceSteps(Value total) {
  // Slices of ceil(total / splitK) steps; the last may be shorter or empty.
  return arith::CeilDivUIOp::create(e.b, total, e.index(problem.splitK));
}

Value KStepWalker::getTotal(Value columnTile) {
  const KStepList &steps = problem.steps;
  if (!steps.blockK)
    return e.index(llvm::divideCeil(problem.getWalkedK(), tileK));
  Value offsets = table("_offsets", steps.offsets);
  Value walk = getWalk(columnTile);
  Value blocks =
      arith::SubIOp::create(e.b, e.loadIndex(offsets, e.affine(walk, 1, 1)),
                            e.loadIndex(offsets, walk));
  return e.affine(blocks, steps.blockK / tileK);
}

Value KStepWalker::getCount(Value columnTile) {
  Value total = getTotal(columnTile);
  if (!slice)
    return total;
  Value perSlice = getSliceSteps(total);
  Value rest = arith::SubIOp::create(
      e.b, total,
      arith::MinUIOp::create(e.b, arith::MulIOp::create(e.b, slice, perSlice),
                             total));
  return arith::MinUIOp::create(e.b, rest, perSlice);
}

Value KStepWalker::getWalk(Value columnTile) {
  int64_t walkTiles = problem.steps.walkTiles;
  return walkTiles == 1 ? columnTile : e.div(columnTile, walkTiles);
}

Value KStepWalker::getSlabMask(Value columnTile, Value i, int64_t tileSlabs) {
  const KStepList &steps = problem.steps;
  Value offsets = table("_offsets", steps.offsets);
  Value masks = table("_slab_masks", steps.slabMasks);
  Value mask =
      e.loadIndex(masks, e.add(e.loadIndex(offsets, getWalk(columnTile)),
                               e.div(i, steps.blockK / tileK)));
  if (steps.walkTiles == 1)
    return mask;
  // This tile's slabs within the cluster's.
  Value shift = e.affine(e.rem(columnTile, steps.walkTiles), tileSlabs);
  return arith::ShRUIOp::create(e.b, mask, shift);
}

Value KStepWalker::getStart(Value columnTile, Value i, Value count) {
  const KStepList &steps = problem.steps;
  Value inRange =
      arith::CmpIOp::create(e.b, arith::CmpIPredicate::ult, i, count);
  // The step's index in the column's walk.
  Value step = i;
  if (slice)
    step = e.add(
        arith::MulIOp::create(e.b, slice,
                              getSliceSteps(getTotal(columnTile))),
        i);
  Value start;
  if (!steps.blockK) {
    start = e.affine(step, tileK);
  } else {
    int64_t perBlock = steps.blockK / tileK;
    Value offsets = table("_offsets", steps.offsets);
    Value entries = table("_entries", steps.entries);
    Value entryIndex =
        e.add(e.loadIndex(offsets, getWalk(columnTile)), e.div(step, perBlock));
    Value safe =
        arith::SelectOp::create(e.b, inRange, entryIndex, e.index(0));
    start = e.add(e.affine(e.loadIndex(entries, safe), steps.blockK),
                  e.affine(e.rem(step, perBlock), tileK));
  }
  if (!slice && !steps.blockK)
    return start;
  return arith::SelectOp::create(e.b, inRange, start,
                                 e.index(problem.shape.k));
}

Value tesa::addInitialValue(KernelEmitter &e, const ContractionProblem &problem,
                            Value acc, Value initBuffer, ArrayRef<Value> loops) {
  Value initial = loadInitialValue(e, problem.init, initBuffer, loops);
  return e.convert(e.add(initial, acc), problem.resultElement);
}

Value tesa::loadInitialValue(KernelEmitter &e, const InitialValue &init,
                             Value buffer, ArrayRef<Value> loops) {
  if (init.constant)
    return e.f32(*init.constant);
  return e.toF32(e.load(buffer, e.linearIndex(loops, init.loopStrides)));
}

int64_t tesa::emitFmaContraction(KernelEmitter &e,
                                 const ContractionProblem &problem,
                                 TileConfigAttr config,
                                 gpu::GPUFuncOp kernel) {
  ContractionEmitter emitter(e, problem, config);
  emitter.emitBody(kernel);
  return emitter.getSharedBytes();
}

MemRefType tesa::getFlatType(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return MemRefType::get({type.getNumElements()}, type.getElementType());
}

StagedOperand tesa::stageOperand(KernelEmitter &e, Value global,
                                 const ContractionShape &shape,
                                 ArrayRef<int64_t> strides, Value batchId,
                                 int64_t rowLoop, int64_t rowCount,
                                 int64_t rows, int64_t depth) {
  StagedOperand operand;
  operand.global = global;
  operand.base = shape.batchLoop < 0
                     ? e.index(0)
                     : e.affine(batchId, strides[shape.batchLoop]);
  operand.strides.assign(strides.begin(), strides.end());
  operand.rowLoop = rowLoop;
  operand.kLoop = shape.kLoop;
  operand.rowCount = rowCount;
  operand.kCount = shape.k;
  int64_t elementBytes =
      getElementTypeOrSelf(global.getType()).getIntOrFloatBitWidth() / 8;
  operand.shape = {*getStagedOrder(strides, rowLoop, shape.kLoop), rows,
                   depth, elementBytes};
  operand.shape.copyBytes =
      getStagedCopyBytes(strides, rowLoop, shape.kLoop, rowCount, shape.k,
                         rows, depth, elementBytes);
  return operand;
}

ContractionProblem tesa::describeContraction(linalg::GenericOp contraction,
                                             OperandViews views) {
  linalg::ContractionDimensions dims =
      *getKernelContractionDims(contraction);
  SmallVector<int64_t> ranges = contraction.getStaticLoopRanges();
  ContractionProblem problem;
  ContractionShape &shape = problem.shape;
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
  SmallVector<AffineMap> maps = contraction.getIndexingMapsArray();
  auto describeOperand = [&](unsigned index, Value &operand,
                             SmallVector<int64_t> &strides) {
    operand = contraction.getDpsInputs()[index];
    if (views == OperandViews::None) {
      strides = getLoopStrides(maps[index], getShape(operand));
      return;
    }
    StridedView view =
        getStridedView(operand, views == OperandViews::Widening);
    operand = view.source;
    strides = getLoopStrides(view, maps[index]);
  };
  describeOperand(0, problem.a, problem.aStrides);
  describeOperand(1, problem.b, problem.bStrides);
  problem.init = getInitialValue(contraction.getDpsInits()[0], maps.back());
  problem.resultElement = getElementTypeOrSelf(contraction.getResult(0));
  problem.outputMap = maps.back();
  return problem;
}

llvm::Expected<RegionKernel>
tesa::buildContractionKernel(KernelOp region, gpu::GPUModuleOp module,
                             StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config || config.getWork() != WorkListKind::DenseGrid)
    return kernelError(
        "the contraction family computes only configurations of a "
        "dense_grid");
  SmallVector<Operation *> ops = region.getBodyOps();
  auto contraction = dyn_cast<linalg::GenericOp>(ops.front());
  if (!contraction || !isContractionForKernel(contraction))
    return kernelError(
        "the region does not start with a contraction of static f32 "
        "or f16 tensors");
  FailureOr<Epilogue> epilogue =
      Epilogue::get(contraction.getResult(0), ArrayRef(ops).drop_front());
  if (failed(epilogue))
    return kernelError(
        "an op after the contraction is not an elementwise step");

  // Operands read where the tensors they view are (FMA tiles widen what
  // they load, tensor-core tiles read f16 operands of f16 tensors), unless
  // the config's tiles cannot read them there.
  ContractionProblem problem;
  std::optional<std::string> reason;
  for (OperandViews views : {OperandViews::Widening, OperandViews::None}) {
    problem = describeContraction(contraction, views);
    problem.splitK = config.getSplitK();
    problem.epilogue = &*epilogue;
    if (!(reason = checkConfig(problem, config)))
      break;
  }
  if (reason)
    return kernelError(*reason);
  return emitContraction(problem, config, module, name,
                         epilogue->getResultType());
}

/// Whether `part` multiplies static 2-D operands of one element type, f32
/// or f16, and keeps its elements at that precision (into an accumulator of
/// that type, or f16 operands into f32).
static bool isFullPrecisionPart(PartMatmulOp part) {
  auto lhsType = cast<RankedTensorType>(part.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(part.getRhs().getType());
  Type element = lhsType.getElementType();
  return element == rhsType.getElementType() &&
         (element.isF32() || element.isF16()) &&
         part.getBits() == element.getIntOrFloatBitWidth() &&
         lhsType.getRank() == 2 && lhsType.hasStaticShape() &&
         rhsType.hasStaticShape();
}

/// `part` (2-D, static) as a contraction over all of K and N: the sparse
/// operand read in place (the part's source tensor), the accumulator as the
/// initial value, the part's own epilogue and then `epilogue`. With
/// `throughCopies`, an operand that is a transposed copy of another tensor
/// (torch-mlir's `linalg.transpose` of a Linear's weight) is read from that
/// tensor through the copy's map, so the copy need not be made.
static ContractionProblem describePart(PartMatmulOp part,
                                       const Epilogue &epilogue,
                                       bool throughCopies = false) {
  auto lhsType = cast<RankedTensorType>(part.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(part.getRhs().getType());
  ContractionProblem problem;
  ContractionShape &shape = problem.shape;
  shape.numLoops = 3;
  shape.mLoop = 0;
  shape.nLoop = 1;
  shape.kLoop = 2;
  shape.m = lhsType.getDimSize(0);
  shape.k = lhsType.getDimSize(1);
  shape.n = rhsType.getDimSize(1);
  Value sparse = part.getSparse();
  if (auto extract = sparse.getDefiningOp<ExtractPartOp>())
    sparse = extract.getSource();
  bool sparseLhs = part.getSparseOperand() == 0;
  problem.a = sparseLhs ? sparse : part.getLhs();
  problem.b = sparseLhs ? part.getRhs() : sparse;
  problem.resultElement = getElementTypeOrSelf(part.getType());
  MLIRContext *context = part.getContext();
  auto strides = [&](Value &operand, AffineMap map) {
    Value source;
    AffineMap copyMap;
    if (throughCopies && matchCopy(operand, source, copyMap)) {
      operand = source;
      map = copyMap.compose(map);
    }
    return getLoopStrides(map, getShape(operand));
  };
  AffineExpr m = getAffineDimExpr(0, context), n = getAffineDimExpr(1, context),
             k = getAffineDimExpr(2, context);
  problem.aStrides = strides(problem.a, AffineMap::get(3, 0, {m, k}, context));
  problem.bStrides = strides(problem.b, AffineMap::get(3, 0, {k, n}, context));
  problem.outputMap =
      AffineMap::getMultiDimIdentityMap(3, context).getMajorSubMap(2);
  problem.init = getInitialValue(part.getAcc(), problem.outputMap);
  problem.epilogue = &epilogue;
  problem.partEpilogue = [part](OpBuilder &b, Value value) mutable {
    return part.buildEpilogue(b, value);
  };
  return problem;
}

/// The deepest K step of FMA kept-block tiles: every step waits for its
/// loads, so few deep steps beat many shallow ones on walks of a few kept
/// slabs.
static constexpr int64_t kFmaStepK = 32;
/// The most slices a kept-block part's walks are split into.
static constexpr int64_t kMaxKeptBlockSlices = 8;
/// K steps in flight of a kept-block part on warpgroups, each a block
/// deep (64 for blocks 64 deep, else 32). Time goes to each step's wait
/// and barrier more than to its products, so shallow rings that let blocks
/// of threads share a multiprocessor win: on an H200 (4096^3, f16 blocks,
/// kernel benchmark), four stages took 0.348 / 0.088 ms for 32x32 blocks
/// at 50 / 90% against 0.383 / 0.103 with eight (three: 0.408 / 0.099), and
/// steps of 64 took 0.187 / 0.058 ms for 64x64 blocks against 0.222 / 0.068
/// with steps of 32 eight deep. Steps of two 32-deep blocks were slower
/// (0.363 / 0.099 ms four deep), and so were tiles of several slabs that
/// read a block of A once for all of them (0.38 / 0.21 ms for groups of
/// eight). Fewer tiles than multiprocessors keep eight stages: BERT-base
/// block90 f16 at seq 128 (48 tiles a part) was 2.3x PyTorch (CUDA graph)
/// with four, 2.8x with eight.
constexpr int64_t kKeptBlockWgmmaStages = 4, kKeptBlockWgmmaAloneStages = 8;
/// The shallowest ring of the wgmma kernels (checkWgmmaProblem).
constexpr int64_t kMinWgmmaStages = 3;
/// The fewest K steps a column of kept-block tiles walks on average for its
/// copies to go by TMA. On an H200, TMA took the 4096^3 blocks from 0.345
/// to 0.318 ms (32x32, 50%), 0.088 to 0.083 (90%), 0.186 to 0.172 (64x64,
/// 50%) and 0.058 to 0.051 (90%), the same at 99% (1.3 steps); BERT-base
/// block90 f16, whose parts walk 2.4 steps, went from 2.8x to 2.3x PyTorch
/// at seq 128 and from 2.75x to 2.5x at seq 512.
constexpr int64_t kTmaMinSteps = 4;
/// Slabs in a tile of several, and the largest fraction of the single
/// slabs' reads of A's slices its walks may make for a part to take such
/// tiles, for slabs of 32 and of 64 columns. Each step reads its slice of A
/// once for every slab that keeps its block, and multiplies only those
/// slabs (on a branch the warpgroup takes as one). On an H200 (4096^3, f16
/// blocks, TMA), for 32x32 blocks tiles of four slabs took 0.2248 / 0.1656
/// / 0.1260 / 0.0865 ms at 50 / 70 / 80 / 90% against 0.3197 / 0.1955 /
/// 0.1327 / 0.0828 for one slab, reading 46 / 63 / 74 / 84% as many
/// slices; two slabs took 0.2688 / 0.1831 / 0.1309 / 0.0837, eight 0.2586 /
/// 0.2176 / 0.1790 / 0.1294 (half as many tiles as multiprocessors run at
/// once), four with six stages 0.2423 at 50%. For 64x64 blocks four slabs
/// took 0.1468 / 0.1095 / 0.0887 ms at 50 / 70 / 80% against 0.1763 /
/// 0.1098 / 0.0780 (47 / 63 / 74% as many reads), two 0.1710 / 0.1103 /
/// 0.0779.
constexpr int64_t kSlabsPerGroupTile = 4;
constexpr double kSlabGroupMaxReads32 = 0.8, kSlabGroupMaxReads64 = 0.5;
/// Tiles of slab groups a cluster, and the fraction of the groups' reads
/// of A's slices that the clusters' walks must stay under for a part to
/// take clusters under BlockClusters::Auto (each step's slice is read once
/// a cluster). 0 (no part takes clusters) until the kernels are measured
/// on a GPU.
constexpr int64_t kClusterTiles = 2;
constexpr double kClusterMaxReads = 0.0;

/// The fewest K steps of 64 a column of kept-block tiles walks on average
/// for a persistent grid, where the tiles outnumber the blocks of threads
/// the chip runs at once. Each block takes every grid-th tile, its TMA
/// copies running on into its next tile while it stores the last. On an
/// H200 (4096^3, 64x64 f16 blocks) it took 0.0785 / 0.0474 / 0.0397 ms at
/// 80 / 90 / 95% against 0.0821 / 0.0516 / 0.0439, the same at 50-70%, and
/// 0.0343 against 0.0324 at 99% (0.64 steps). 32x32 blocks (steps of 32)
/// were 1.2x slower on it at 50-95%: they keep one tile a block.
constexpr int64_t kPersistentMinSteps = 2;

/// Blocks of threads of `config`'s wgmma kernel that one multiprocessor of
/// `chip` runs at once, as its shared memory and threads allow (at least
/// one). A persistent kernel asks ptxas for as many (`nvvm.minctasm`),
/// which bounds its registers to match.
static int64_t getBlocksPerProcessor(const ChipDescription &chip,
                                     TileConfigAttr config) {
  // Each block of threads also takes 1 KiB the system reserves.
  constexpr int64_t kReservedSharedBytes = 1024, kThreadsPerProcessor = 2048;
  int64_t sharedBytes = config.getStagedF16Bytes() +
                        getWgmmaBarrierBytes(config) + kReservedSharedBytes;
  int64_t perProcessor =
      std::min(chip.maxSharedMemoryPerBlock / sharedBytes,
               kThreadsPerProcessor / config.getThreads());
  return std::max<int64_t>(perProcessor, 1);
}

/// The most entries between consecutive `offsets` (the longest walk).
static int64_t getLongestWalk(ArrayRef<int32_t> offsets) {
  int64_t longest = 0;
  for (auto [begin, end] : llvm::zip(offsets, llvm::drop_begin(offsets)))
    longest = std::max<int64_t>(longest, end - begin);
  return longest;
}

/// `problem` (kept blocks of `slabs`, slabs `blockN` wide, tiles of `tileM`
/// rows, K steps of `stepK`) in tiles of kSlabsPerGroupTile slabs on sm_90
/// warpgroups with TMA copies, where their walks read few enough of A's
/// slices and the tiles give every multiprocessor one; else none. The
/// tiles run in clusters where `clusters` takes them.
static std::optional<std::pair<ContractionProblem, TileConfigAttr>>
getSlabGroupTiles(const ContractionProblem &problem, const KeptSlabs &slabs,
                  int64_t tileM, int64_t blockN, int64_t stepK,
                  const ChipDescription &chip, BlockClusters clusters) {
  KeptSlabGroups groups = groupKeptSlabs(slabs, kSlabsPerGroupTile);
  int64_t tiles = llvm::divideCeil(problem.shape.m, tileM) *
                  (int64_t(groups.offsets.size()) - 1);
  double maxReads = blockN == 32 ? kSlabGroupMaxReads32 : kSlabGroupMaxReads64;
  if (double(groups.rows.size()) > maxReads * double(slabs.rows.size()) ||
      tiles < int64_t(chip.multiprocessors))
    return std::nullopt;
  // `groups` in tiles of clusters of `cluster` tiles, if the kernel takes
  // them.
  int64_t tileN = blockN * kSlabsPerGroupTile;
  auto tileGroups = [&](const KeptSlabGroups &groups, int64_t cluster)
      -> std::optional<std::pair<ContractionProblem, TileConfigAttr>> {
    ContractionProblem grouped = problem;
    grouped.steps.offsets = groups.offsets;
    grouped.steps.entries = groups.rows;
    grouped.steps.slabMasks = groups.masks;
    grouped.steps.slabColumns = blockN;
    grouped.steps.walkTiles = cluster;
    int64_t stages = std::clamp<int64_t>(
        getLongestWalk(groups.offsets) * (problem.steps.blockK / stepK),
        kMinWgmmaStages, kKeptBlockWgmmaStages);
    auto config = TileConfigAttr::get(
        problem.a.getContext(), {tileM, tileN, stepK}, {64, tileN},
        2 * tileM + 32, stages, CopyEngine::Tma, MmaAtom::WgmmaF16M64NK16,
        WorkListKind::DenseGrid, /*splitK=*/1, cluster);
    if (checkConfig(grouped, config))
      return std::nullopt;
    return std::make_pair(std::move(grouped), config);
  };
  // Pairs of neighbouring tiles in clusters that walk the blocks any of
  // their slabs keeps, each step's A slice loaded once for both, where
  // that reads few enough slices.
  int64_t groupCount = int64_t(groups.offsets.size()) - 1;
  if (groupCount % kClusterTiles == 0) {
    KeptSlabGroups pairs =
        groupKeptSlabs(slabs, kClusterTiles * kSlabsPerGroupTile);
    if (double(pairs.rows.size()) <
        getClusterMaxReads(clusters, kClusterMaxReads) *
            double(groups.rows.size()))
      if (auto tiled = tileGroups(pairs, kClusterTiles))
        return tiled;
  }
  return tileGroups(groups, 1);
}

llvm::Expected<RegionKernel>
tesa::buildKeptBlockPartKernel(PartMatmulOp part, gpu::GPUModuleOp module,
                               StringRef name, const ChipDescription &chip,
                               ArrayRef<Operation *> epilogueOps,
                               int64_t siblings, BlockClusters clusters) {
  if (part.getKernel() != PartKernel::Block || !isFullPrecisionPart(part))
    return kernelError(
        "only block parts of static 2-D operands kept at the operands' own "
        "precision (f32 at 32 bits, f16 at 16) are computed over kept blocks");
  FailureOr<Epilogue> epilogue = Epilogue::get(part.getResult(), epilogueOps);
  if (failed(epilogue))
    return kernelError("an op after the part is not an elementwise step");
  auto lhsType = cast<RankedTensorType>(part.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(part.getRhs().getType());
  bool isF16 = lhsType.getElementType().isF16();
  // Slabs of one block's depth along K: by 32 columns of a sparse rhs (64
  // for blocks at least that wide on sm_90's warpgroups, whose m64n64
  // products read A half as often), or across every row of a sparse lhs.
  // The column tile is a slab wide.
  bool sparseLhs = part.getSparseOperand() == 0;
  int64_t blockK = part.getBlock()[sparseLhs ? 1 : 0], blockN = 32;
  bool warpgroups = isF16 && chip.hasWarpgroupMma && blockK % 32 == 0;
  if (warpgroups && !sparseLhs && part.getBlock()[1] % 64 == 0)
    blockN = 64;
  if (blockK % 8 != 0)
    return kernelError("blocks must be a multiple of 8 deep");
  auto sparseType = cast<RankedTensorType>(part.getSparse().getType());
  FailureOr<SparsityMap> map = getSparsityEncoding(sparseType).getSparsityMap(
      sparseType.getShape(), [&] { return part.emitError(); });
  if (failed(map))
    return kernelError("the part's map is not available");
  int64_t columnTiles = llvm::divideCeil(rhsType.getDimSize(1), blockN);
  std::optional<KeptSlabs> slabs =
      sparseLhs ? getKeptLhsSlabs(*map, blockK, columnTiles)
                : getKeptSlabs(*map, blockK, blockN);
  if (!slabs)
    return sparseLhs ? kernelError("a slab of one block's depth keeps some "
                                   "of the lhs's rows only")
                     : kernelError("a slab of one block's depth by " +
                                   llvm::Twine(blockN) +
                                   " columns keeps some of its elements only");
  // Tiles of a slab's columns by the most rows that still give every
  // multiprocessor a tile (two on tensor cores), one block of K a step.
  // f16 on tensor cores: four warps, three steps in flight, rows 128, 64
  // or 32. Otherwise FMA register tiles of 64 or 32 rows, 256 threads.
  MLIRContext *context = part.getContext();
  int64_t m = lhsType.getDimSize(0);
  siblings = std::max<int64_t>(siblings, 1);
  auto fills = [&](int64_t tileM, int64_t perProcessor) {
    return siblings * int64_t(llvm::divideCeil(m, tileM)) * columnTiles >=
           perProcessor * int64_t(chip.multiprocessors);
  };
  TileConfigAttr config;
  if (isF16 && blockK % 32 == 0 && chip.f16Mma && chip.hasAsyncCopy &&
      chip.f16Mma->k == 16) {
    // (tile rows, warp tile) of four warps.
    constexpr int64_t kMmaRows[][3] = {
        {128, 32, 32}, {64, 32, 16}, {32, 16, 16}};
    const int64_t *rows = kMmaRows[std::size(kMmaRows) - 1];
    for (const int64_t *candidate : kMmaRows)
      if (fills(candidate[0], 2)) {
        rows = candidate;
        break;
      }
    int64_t warps = (rows[0] / rows[1]) * (blockN / rows[2]);
    config = TileConfigAttr::get(context, {rows[0], blockN, 32},
                                 {rows[1], rows[2]}, 32 * warps, /*stages=*/3,
                                 CopyEngine::AsyncCopy,
                                 MmaAtom::MmaF16M16N8K16,
                                 WorkListKind::DenseGrid, /*splitK=*/1);
  } else {
    // 64 or 32 rows by 32 columns, 256 threads. On an H200 (BERT-base
    // block90 f32, kept-block parts at seq 512 / 128): steps of 8 took
    // 0.501 / 0.399 ms, of 16 0.441 / 0.299, of 32 0.438 / 0.298; 128
    // threads of 4x4 (64 rows) or 8x4 (128 rows) took 0.51 / 0.31.
    bool tall = fills(64, 1);
    int64_t tileM = tall ? 64 : 32;
    // A step divides a block's depth (a multiple of 8).
    int64_t stepK = std::gcd(kFmaStepK, blockK);
    // Fewer tiles than two a multiprocessor: each column's walk split into
    // slices (split-K) of two steps or more on average, the slices' sums
    // added up by a second kernel. Siblings that give every multiprocessor
    // a tile run as one launch unsplit instead: on an H200, BERT-base's Q,
    // K and V kept-block parts at seq 512 (block90 f32) took 0.034 ms split
    // in two, three launches and three finishing ones.
    int64_t tiles = siblings * llvm::divideCeil(m, tileM) * columnTiles;
    int64_t averageSteps =
        int64_t(slabs->rows.size()) * (blockK / stepK) / columnTiles;
    int64_t wanted =
        llvm::divideCeil(2 * int64_t(chip.multiprocessors), tiles);
    if (siblings > 1 && fills(tileM, 1))
      wanted = 1;
    int64_t splitK = std::clamp<int64_t>(std::min(wanted, averageSteps / 2),
                                         1, kMaxKeptBlockSlices);
    config = TileConfigAttr::get(
        context, {tileM, blockN, stepK}, {tall ? 4 : 2, 2}, 256,
        /*stages=*/1, CopyEngine::Registers, MmaAtom::FmaF32,
        WorkListKind::DenseGrid, splitK);
  }

  auto describe = [&](bool throughCopies) {
    ContractionProblem problem =
        describePart(part, *epilogue, throughCopies);
    problem.splitK = config.getSplitK();
    problem.steps.blockK = blockK;
    problem.steps.offsets = slabs->offsets;
    problem.steps.entries = slabs->rows;
    return problem;
  };
  // A transposed weight is read where it is (tensor-core tiles stage
  // either order of an operand; FMA tiles read through any strides), unless
  // its rows are not aligned for the tiles. On an H200, BERT-base block90
  // f32 at seq 128 took 1.21 ms so against 1.67 with the weights
  // transposed by a kernel on every call.
  ContractionProblem problem = describe(true);
  // On sm_90, warpgroups of 64 rows (two where they still give every
  // multiprocessor a tile) where the atom reads the operands as they lie.
  if (warpgroups) {
    int64_t tileM = fills(128, 1) ? 128 : 64;
    // Deep rings where each tile has a multiprocessor to itself.
    int64_t stages = fills(tileM, 1) ? kKeptBlockWgmmaStages
                                     : kKeptBlockWgmmaAloneStages;
    int64_t stepK = blockK % 64 == 0 ? 64 : 32;
    int64_t walkedSteps = int64_t(slabs->rows.size()) * (blockK / stepK);
    // A ring no deeper than the longest walk (three at least), so that
    // short walks leave room for more blocks of threads.
    stages = std::clamp<int64_t>(
        getLongestWalk(slabs->offsets) * (blockK / stepK), kMinWgmmaStages,
        stages);
    // Tiles of several slabs that walk the blocks any of them keeps, where
    // that reads A's slices far less often.
    if (!sparseLhs && chip.hasTensorMemoryAccelerator)
      if (auto grouped = getSlabGroupTiles(problem, *slabs, tileM, blockN,
                                           stepK, chip, clusters))
        return emitContraction(grouped->first, grouped->second, module, name,
                               epilogue->getResultType());
    auto wgmmaConfig = [&](CopyEngine copy, WorkListKind work) {
      return TileConfigAttr::get(
          context, {tileM, blockN, stepK}, {64, blockN},
          2 * tileM + (copy == CopyEngine::Tma ? 32 : 0), stages, copy,
          MmaAtom::WgmmaF16M64NK16, work, /*splitK=*/1);
    };
    // Copies by TMA where the chip has it and the walks are long enough to
    // repay its set-up (its mbarriers, the tensor maps' first reads) in
    // each block of threads, or in each tile of a persistent grid: steps
    // of 64 over more tiles than the chip runs at once. Else, or where TMA
    // does not fit, by every thread.
    SmallVector<TileConfigAttr> candidates;
    if (chip.hasTensorMemoryAccelerator) {
      TileConfigAttr tma =
          wgmmaConfig(CopyEngine::Tma, WorkListKind::DenseGrid);
      int64_t perProcessor = getBlocksPerProcessor(chip, tma);
      int64_t resident = perProcessor * chip.multiprocessors;
      int64_t tiles = llvm::divideCeil(m, tileM) * columnTiles;
      if (stepK == 64 && tiles > resident &&
          walkedSteps >= kPersistentMinSteps * columnTiles) {
        problem.persistent = {resident, perProcessor};
        candidates.push_back(
            wgmmaConfig(CopyEngine::Tma, WorkListKind::Persistent));
      } else if (walkedSteps >= kTmaMinSteps * columnTiles) {
        candidates.push_back(tma);
      }
    }
    candidates.push_back(
        wgmmaConfig(CopyEngine::AsyncCopy, WorkListKind::DenseGrid));
    for (TileConfigAttr candidate : candidates)
      if (!checkConfig(problem, candidate)) {
        config = candidate;
        break;
      }
  }
  if (checkConfig(problem, config))
    problem = describe(false);
  if (std::optional<std::string> reason = checkConfig(problem, config))
    return kernelError(*reason);
  return emitContraction(problem, config, module, name,
                         epilogue->getResultType());
}

/// Whether every element of the columns of `type` outside `kept` is pruned
/// by its encoding (false for a map that cannot be read).
static bool areOtherColumnsDead(RankedTensorType type,
                                ArrayRef<int32_t> kept) {
  SparsityAttr encoding = getSparsityEncoding(type);
  if (!encoding || type.getRank() != 2)
    return false;
  FailureOr<SparsityMap> map = encoding.getSparsityMap(
      type.getShape(), [] { return InFlightDiagnostic(); });
  if (failed(map))
    return false;
  std::optional<KeptChannels> live = getKeptChannels(*map);
  // Live columns (all of them where the list is empty) must be kept ones.
  return live && !live->columns.empty() &&
         llvm::all_of(live->columns, [&](int32_t column) {
           return llvm::is_contained(kept, column);
         });
}

llvm::Expected<RegionKernel>
tesa::buildKeptChannelPartKernel(PartMatmulOp part, gpu::GPUModuleOp module,
                                 StringRef name, const ChipDescription &chip,
                                 ArrayRef<Operation *> epilogueOps) {
  if (!isFullPrecisionPart(part))
    return kernelError("only parts of static 2-D operands kept at the "
                       "operands' own precision are computed over kept "
                       "channels");
  FailureOr<Epilogue> epilogue = Epilogue::get(part.getResult(), epilogueOps);
  if (failed(epilogue))
    return kernelError("an op after the part is not an elementwise step");
  bool sparseLhs = part.getSparseOperand() == 0;
  auto sparseType = cast<RankedTensorType>(part.getSparse().getType());
  FailureOr<SparsityMap> map = getSparsityEncoding(sparseType).getSparsityMap(
      sparseType.getShape(), [] { return InFlightDiagnostic(); });
  if (failed(map))
    return kernelError("the part's map is not available");
  std::optional<KeptChannels> channels = getKeptChannels(*map);
  if (!channels)
    return kernelError("the part's pruned elements are not whole rows or "
                       "columns");
  ContractionProblem problem = describePart(part, *epilogue);
  if (sparseLhs) {
    // M is not gathered: every row of the lhs must be kept.
    if (!channels->rows.empty())
      return kernelError("the part prunes rows of the lhs");
    problem.keptK = std::move(channels->columns);
  } else {
    problem.keptK = std::move(channels->rows);
    problem.keptN = std::move(channels->columns);
  }
  // Columns the part skips are not written: they must be dead in the value
  // its kernel stores.
  if (!problem.keptN.empty() &&
      !areOtherColumnsDead(epilogue->getResultType(), problem.keptN))
    return kernelError("columns the part prunes are live in its result");
  // The size rule of dense products on the kept channels (split-K where
  // their tiles are fewer than the multiprocessors).
  TileConfigAttr config = chooseContractionConfig(
      part.getContext(), chip, /*batch=*/1, problem.shape.m,
      problem.getWalkedN(), problem.getWalkedK(), /*tensorCores=*/false);
  problem.splitK = config.getSplitK();
  if (std::optional<std::string> reason = checkConfig(problem, config))
    return kernelError(*reason);
  return emitContraction(problem, config, module, name,
                         epilogue->getResultType());
}
