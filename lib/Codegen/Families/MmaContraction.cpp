//===- MmaContraction.cpp - Contraction tiles on tensor cores -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The contraction family on the m16n8k16 f16 atom (MmaAtom.h). One block of
// threads computes a tile M x N of one batch's output; its warps each own a
// warp tile (the configuration's thread_tile), held as m16n8 f32
// accumulators. Each K step, the A (M x K) and B (K x N) slices of the tile
// are copied into a ring of `stages` buffers in dynamic shared memory by
// asynchronous copies (cp.async) of 16 bytes, or 8 or 4 where an operand's
// rows are not in 16-byte pieces (an f16 operand of odd rows: element by
// element, by loads and stores), `stages` - 1 steps ahead of the warps,
// each operand kept in the order its global layout makes contiguous;
// copies that fall outside the operand fill zeros. The warps read their
// fragments with ldmatrix and multiply. The epilogue adds the
// accumulator's initial value and applies the region's elementwise steps
// before the one store, as in the FMA kernel.
//
//===----------------------------------------------------------------------===//

#include "ContractionProblem.h"

#include "tesa/Codegen/MmaAtom.h"
#include "tesa/Codegen/StagedTile.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace tesa;

namespace {

struct WarpTiling {
  int64_t tileM, tileN, tileK, warpM, warpN, stages;
  explicit WarpTiling(TileConfigAttr config)
      : tileM(config.getTile()[0]), tileN(config.getTile()[1]),
        tileK(config.getTile()[2]), warpM(config.getThreadTile()[0]),
        warpN(config.getThreadTile()[1]), stages(config.getStages()) {}
  int64_t getWarpsN() const { return tileN / warpN; }
  int64_t getWarps() const { return (tileM / warpM) * getWarpsN(); }
};

class MmaContractionEmitter {
public:
  MmaContractionEmitter(KernelEmitter &e, const ContractionProblem &problem,
                        TileConfigAttr config)
      : e(e), problem(problem), shape(problem.shape), tiling(config),
        threads(config.getThreads()) {}

  void emitBody(gpu::GPUFuncOp kernel);

private:
  /// The warp's products of the slices in stage buffer `slot`.
  void multiply(const StagedOperand &a, const StagedOperand &b, Value slot,
                Value warpRow, Value warpColumn, SmallVector<Value> &acc);

  KernelEmitter &e;
  const ContractionProblem &problem;
  const ContractionShape &shape;
  WarpTiling tiling;
  int64_t threads;
  std::optional<MmaAtomEmitter> atom;
};

void MmaContractionEmitter::multiply(const StagedOperand &a,
                                     const StagedOperand &b, Value slot,
                                     Value warpRow,
                                     Value warpColumn,
                                     SmallVector<Value> &acc) {
  int64_t tilesM = tiling.warpM / 16, tilesN = tiling.warpN / 8;
  for (int64_t kk = 0; kk < tiling.tileK; kk += 16) {
    Value k = e.index(kk);
    SmallVector<Value> aFragments, bFragments;
    for (int64_t i = 0; i < tilesM; ++i)
      aFragments.push_back(atom->loadFragments(
          MmaOperand::A, a.shape.order, a.ring, slot,
          e.affine(warpRow, 1, 16 * i), k));
    for (int64_t j = 0; j < tilesN; j += 2) {
      Value pair = atom->loadFragments(MmaOperand::B, b.shape.order, b.ring,
                                       slot, e.affine(warpColumn, 1, 8 * j),
                                       k);
      bFragments.push_back(atom->getBHalf(pair, 0));
      bFragments.push_back(atom->getBHalf(pair, 1));
    }
    for (int64_t i = 0; i < tilesM; ++i)
      for (int64_t j = 0; j < tilesN; ++j)
        acc[i * tilesN + j] = atom->multiply(aFragments[i], bFragments[j],
                                             acc[i * tilesN + j]);
  }
}

void MmaContractionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  SmallVector<Value> arguments(kernel.getArguments());
  ContractionBlock block = ContractionBlock::get(e, problem, kernel);
  Value tid = e.threadId();
  Value warp = e.div(tid, 32), lane = e.rem(tid, 32);
  atom.emplace(e, lane);
  Value warpRow = e.affine(e.div(warp, tiling.getWarpsN()), tiling.warpM);
  Value warpColumn = e.affine(e.rem(warp, tiling.getWarpsN()), tiling.warpN);
  Value batchId = block.batchId;
  Value rowStart = e.affine(block.rowTile, tiling.tileM);
  Value columnTile = block.columnTile;
  Value columnStart = e.affine(columnTile, tiling.tileN);

  // The rings of A then B in dynamic shared memory.
  StagedOperand a =
      stageOperand(e, arguments[0], shape, problem.aStrides, batchId,
                   shape.mLoop, shape.m, tiling.tileM, tiling.tileK);
  StagedOperand bOperand =
      stageOperand(e, arguments[1], shape, problem.bStrides, batchId,
                   shape.nLoop, shape.n, tiling.tileN, tiling.tileK);
  Value shared = getDynamicSharedMemory(e);
  a.ring = makeStageRing(e, shared, a.shape, tiling.stages, 0);
  bOperand.ring = makeStageRing(e, shared, bOperand.shape, tiling.stages,
                                tiling.stages * a.shape.getBytes());

  KStepWalker steps(e, problem, kernel, tiling.tileK, block.slice);
  Value count = steps.getCount(columnTile);
  StagedSteps copies{e,          steps,     a,           bOperand,
                     columnTile, count,     rowStart,    columnStart,
                     tiling.stages, threads};
  for (int64_t s = 0; s + 1 < tiling.stages; ++s)
    copies.issue(e.index(s));

  int64_t tilesM = tiling.warpM / 16, tilesN = tiling.warpN / 8;
  SmallVector<Value> zeros(tilesM * tilesN, atom->zeroAccumulator());
  auto loop = scf::ForOp::create(b, e.index(0), count, e.index(1), zeros);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    // Step i has arrived for every thread, and every warp is done with
    // step i - 1, whose slot the next copies overwrite.
    NVVM::CpAsyncWaitGroupOp::create(b, tiling.stages - 2);
    e.barrier();
    copies.issue(e.affine(i, 1, tiling.stages - 1));
    SmallVector<Value> acc(loop.getRegionIterArgs());
    multiply(a, bOperand, e.rem(i, tiling.stages), warpRow, warpColumn, acc);
    scf::YieldOp::create(b, acc);
  }

  // A tile of kept blocks that walked no step stores its initial values.
  auto store = [&] {
    // Accumulators 0-1 and 2-3 are two neighbouring columns of one row: in
    // each quad of lanes, two 1 x 8 pieces of the tile (rows 8 apart), four
    // in two neighbouring tiles, which storeOutputChunks stores 16 bytes a
    // lane where it can.
    SmallVector<QuadPieces> quads;
    for (int64_t i = 0; i < tilesM; ++i) {
      for (int64_t j = 0; j < tilesN; j += 2) {
        QuadPieces &pairs = quads.emplace_back();
        for (int64_t tile = j; tile < j + 2; ++tile) {
          Value acc = loop.getResult(i * tilesN + tile);
          for (int64_t c = 0; c < 4; c += 2) {
            auto [inRow, inColumn] = atom->getAccumulatorPosition(c);
            pairs.push_back(
                {atom->getAccumulator(acc, c), atom->getAccumulator(acc, c + 1),
                 e.add(rowStart, e.add(e.affine(warpRow, 1, 16 * i), inRow)),
                 e.add(columnStart,
                       e.add(e.affine(warpColumn, 1, 8 * tile), inColumn))});
          }
        }
      }
    }
    if (canStoreOutputChunks(problem))
      return storeOutputChunks(e, problem, block, quads, lane);
    for (const QuadPieces &pairs : quads)
      for (const AccumulatorPair &pair : pairs)
        storeAccumulatorPair(e, problem, block, pair.first, pair.second,
                             pair.row, pair.column);
  };
  ifTileWalked(e, problem, count, store, [&] {
    storeInitialTile(e, problem, block, rowStart, columnStart, tiling.tileM,
                     tiling.tileN, tid, threads);
  });
}

} // namespace

std::optional<std::string>
tesa::checkMmaProblem(const ContractionProblem &problem,
                      TileConfigAttr config) {
  WarpTiling tiling(config);
  if (config.getCopy() != CopyEngine::AsyncCopy || tiling.stages < 2)
    return "the mma_f16_m16n8k16 atom takes its operands by async_copy, at "
           "least two stages deep";
  if (tiling.tileK % 16 != 0 || tiling.warpM % 16 != 0 ||
      tiling.warpN % 16 != 0 || tiling.tileM % tiling.warpM != 0 ||
      tiling.tileN % tiling.warpN != 0)
    return "the tile must be whole warp tiles, and a warp tile whole 16x16 "
           "fragments, K a multiple of 16";
  if (config.getThreads() != 32 * tiling.getWarps())
    return "the threads must be one warp per warp tile";
  return checkStagedOperands(problem, tiling.tileM, tiling.tileN,
                             tiling.tileK, /*narrowCopies=*/true);
}

void tesa::emitMmaContraction(KernelEmitter &e,
                              const ContractionProblem &problem,
                              TileConfigAttr config, gpu::GPUFuncOp kernel) {
  MmaContractionEmitter(e, problem, config).emitBody(kernel);
}
