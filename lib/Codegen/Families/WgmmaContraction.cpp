//===- WgmmaContraction.cpp - Contraction tiles on sm_90 wgmma ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The contraction family on the warpgroup atom (WarpgroupMma.h). One block
// of threads computes a tile M x N of one batch's output; each of its
// warpgroups (128 threads) owns 64 rows of it by the whole N, held as
// wgmma f32 accumulators. Each K step, the A (M x K) and B (N x K) slices
// of the tile are copied into a ring of `stages` buffers in dynamic shared
// memory by 16-byte asynchronous copies, `stages` - 2 steps ahead, in the
// swizzled layout the wgmma descriptors read: A K-major, B K-major or (a
// B contiguous along N, in tiles of at most 64 columns) MN-major; copies that
// fall outside an operand fill zeros. After a step's copies have landed,
// every thread fences them for the asynchronous proxy that wgmma reads
// through, the block synchronises, and each warpgroup issues K / 16
// wgmma products on descriptors of its slices, leaving them in flight
// while the next step's copies land: a slot is refilled two steps after
// its products were issued, once they are complete. With TMA copies (copy =
// tma), one more warp loads each step's slices from tensor maps and
// signals the slot's mbarrier instead, and the warpgroups release each slot
// through another once its products are complete; with a persistent work
// list (work = persistent) each block of threads takes every grid-th tile,
// the steps numbered across its tiles so that the copies of the next tile
// go ahead while the warpgroups store the last. A tile of several slabs of
// kept blocks (KStepList::slabColumns) walks the blocks any of them keeps:
// each step loads A's slice once and the kept slabs' B slices, and each
// warpgroup keeps an accumulator per slab and multiplies the slabs the
// step's mask keeps. With clusters (cluster > 1), neighbouring column
// tiles walk the same steps and each block copies 1/cluster of A's slice
// into every block of the cluster by TMA multicast; a slot is free once
// the consumers of every block have released it. The epilogue is the
// tensor-core kernel's: the initial value and the region's elementwise
// steps before the one store.
//
//===----------------------------------------------------------------------===//

#include "ContractionProblem.h"

#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/TensorMap.h"
#include "tesa/Codegen/WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace tesa;

namespace {

/// Whether `problem`'s B lies contiguous along N (not along K).
bool isRhsMnMajor(const ContractionProblem &problem) {
  const ContractionShape &shape = problem.shape;
  return getStagedOrder(problem.bStrides, shape.nLoop, shape.kLoop) ==
         TileOrder::KMajor;
}

/// Quads of a warpgroup's pieces whose epilogues run before any of them
/// is stored (storeOutputChunks), so that their loads (a bias, a residual)
/// wait once: eight, every quad of a 64x128 warpgroup tile. On an H100
/// BERT-base f16 at seq 512 took 0.678 ms against 0.682 in fours and 0.698-
/// 0.703 in twos (its FFN1 12.8 against 13.5 us, Q/K/V 9.2 against 10.1).
constexpr int64_t kWgmmaQuadsPerBatch = 8;

struct WarpgroupTiling {
  int64_t tileM, tileN, tileK, stages;
  /// Columns of each product: the tile's, or a slab's where the tile is
  /// several slabs of kept blocks (KStepList::slabColumns).
  int64_t slabN;
  /// Whether one more warp copies the tiles by TMA.
  bool tma;
  /// Blocks of neighbouring column tiles a cluster, which share each step's
  /// A slice: each copies tileM / cluster of its rows into all of them.
  int64_t cluster;
  WarpgroupTiling(const ContractionProblem &problem, TileConfigAttr config)
      : tileM(config.getTile()[0]), tileN(config.getTile()[1]),
        tileK(config.getTile()[2]), stages(config.getStages()),
        slabN(problem.steps.slabColumns ? problem.steps.slabColumns : tileN),
        tma(config.getCopy() == CopyEngine::Tma), cluster(config.getCluster()) {
  }
  int64_t getRowBytes() const { return 2 * tileK; }
  int64_t getWarpgroups() const { return tileM / kWgmmaRows; }
  int64_t getSlabs() const { return tileN / slabN; }
  /// Bytes of one step's A slice, and of one slab's B slice.
  int64_t getABytes() const { return 2 * tileK * tileM; }
  int64_t getSlabBytes() const { return 2 * tileK * slabN; }
  /// Rows of A's slice each block of a cluster copies.
  int64_t getClusterRows() const { return tileM / cluster; }
};

class WgmmaContractionEmitter {
public:
  WgmmaContractionEmitter(KernelEmitter &e, const ContractionProblem &problem,
                          TileConfigAttr config)
      : e(e), problem(problem), shape(problem.shape),
        tiling(problem, config), threads(config.getThreads()),
        bMnMajor(isRhsMnMajor(problem)),
        persistent(config.getWork() == WorkListKind::Persistent),
        atom(e, tiling.slabN, bMnMajor) {}

  void emitBody(gpu::GPUFuncOp kernel);

private:
  /// What both bodies start from: the block's tile and this thread's
  /// warpgroup, and the operands' swizzled slices (without rings).
  struct WarpgroupBlock {
    ContractionBlock block;
    Value warpgroup, inGroup, rowStart, columnTile, columnStart;
    StagedOperand a, b;
    /// Bytes of a row of B's slice.
    int64_t bRowBytes;
  };
  WarpgroupBlock beginBlock(gpu::GPUFuncOp kernel);
  /// `acc` plus the products of one step's K / 16 slices from the tiles
  /// whose descriptors are `aDescriptor` and `bDescriptor`.
  Value multiplySlices(Value aDescriptor, Value bDescriptor, Value acc,
                       int64_t bRowBytes);
  /// multiplySlices after a fence; not committed.
  Value multiplyStep(Value aDescriptor, Value bDescriptor, Value acc,
                     int64_t bRowBytes);
  /// multiplyStep for each slab of a tile of several (`mask` set: the
  /// step's slabs, bit j for `accs[j]`), the slabs' B slices one after
  /// another from `bDescriptor`; the products of slabs the mask drops are
  /// not made.
  llvm::SmallVector<mlir::Value> multiplySlabs(mlir::Value aDescriptor,
                                               mlir::Value bDescriptor,
                                               mlir::ValueRange accs,
                                               int64_t bRowBytes,
                                               mlir::Value mask);
  /// Bit `slab` of a step's slab mask (an index, 0 or 1).
  Value getSlabBit(Value mask, int64_t slab);
  /// Stores this warpgroup's accumulators `acc` of slab `slab` of the tile.
  void storeWarpgroup(const WarpgroupBlock &tile, Value acc,
                      int64_t slab = 0);
  /// Runs `store` on a tile that walked `count` K steps; one of kept blocks
  /// that walked none stores its initial values instead (ifTileWalked),
  /// each of the consumers' threads (`thread` among them) 8 outputs at a
  /// time.
  void ifWalked(const WarpgroupBlock &tile, Value count, Value thread,
                llvm::function_ref<void()> store);
  /// The body with cp.async copies of every thread.
  void emitAsyncCopyBody(gpu::GPUFuncOp kernel);
  /// `first` at the tile (`rowTile`, `columnTile`).
  WarpgroupBlock atTile(const WarpgroupBlock &first, mlir::Value rowTile,
                        mlir::Value columnTile);
  /// Calls `body` on each tile this block of threads takes, in order, with
  /// the K steps of the tiles before it (from `steps`) and returns the
  /// steps after the last: `first`'s tile alone, or with a persistent work
  /// list every persistent.blocks-th tile from the block's id.
  mlir::Value
  forEachTile(const WarpgroupBlock &first, mlir::Value steps,
              llvm::function_ref<mlir::Value(const WarpgroupBlock &,
                                             mlir::Value)>
                  body);
  /// The body with TMA copies: the last warp loads each step's slices into
  /// its ring slot and signals the slot's `full` mbarrier; the warpgroups
  /// wait on it, multiply, and release the slot of the step before through
  /// its `empty` mbarrier once those products are complete.
  void emitTmaBody(gpu::GPUFuncOp kernel);
  /// Fences the copies of this thread for wgmma's reads.
  void fenceCopies();
  /// Stores the accumulators `acc` of the warpgroup whose first row is
  /// `rowStart`, column `columnStart`, thread `inGroup` of it.
  void storeAccumulators(const ContractionBlock &block, Value acc,
                         Value rowStart, Value columnStart, Value inGroup);

  KernelEmitter &e;
  const ContractionProblem &problem;
  const ContractionShape &shape;
  WarpgroupTiling tiling;
  int64_t threads;
  /// Whether B's tile is MN-major ([k][column]).
  bool bMnMajor;
  /// Whether the blocks take their tiles from a persistent work list.
  bool persistent;
  WarpgroupMmaEmitter atom;
};

void WgmmaContractionEmitter::fenceCopies() {
  MLIRContext *context = e.b.getContext();
  NVVM::FenceProxyOp::create(
      e.b, NVVM::ProxyKindAttr::get(context, NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(context, NVVM::SharedSpace::shared_cta));
}

void WgmmaContractionEmitter::storeAccumulators(const ContractionBlock &block,
                                                Value acc, Value rowStart,
                                                Value columnStart,
                                                Value inGroup) {
  // Accumulators 8j .. 8j + 7 hold, in each quad of lanes, the pairs of
  // four 1 x 8 pieces: columns 16j .. 16j + 15 of two rows 8 apart.
  if (canStoreOutputChunks(problem) &&
      atom.getAccumulatorCount() % kChunkOutputs == 0) {
    SmallVector<QuadPieces> quads;
    for (int64_t j = 0; j < atom.getAccumulatorCount(); j += kChunkOutputs) {
      QuadPieces &pairs = quads.emplace_back();
      for (int64_t i = j; i < j + kChunkOutputs; i += 2) {
        auto [inRow, inColumn] = atom.getAccumulatorPosition(inGroup, i);
        pairs.push_back({atom.getAccumulator(acc, i),
                         atom.getAccumulator(acc, i + 1),
                         e.add(rowStart, inRow),
                         e.add(columnStart, inColumn)});
      }
    }
    storeOutputChunks(e, problem, block, quads, e.rem(inGroup, 32),
                      kWgmmaQuadsPerBatch);
    return;
  }
  for (int64_t i = 0; i < atom.getAccumulatorCount(); i += 2) {
    auto [inRow, inColumn] = atom.getAccumulatorPosition(inGroup, i);
    Value row = e.add(rowStart, inRow);
    Value column = e.add(columnStart, inColumn);
    Value first = atom.getAccumulator(acc, i);
    Value second = atom.getAccumulator(acc, i + 1);
    storeAccumulatorPair(e, problem, block, first, second, row, column);
  }
}

WgmmaContractionEmitter::WarpgroupBlock
WgmmaContractionEmitter::beginBlock(gpu::GPUFuncOp kernel) {
  WarpgroupBlock tile;
  tile.block = ContractionBlock::get(e, problem, kernel);
  Value tid = e.threadId();
  tile.warpgroup = e.div(tid, kWarpgroupThreads);
  tile.inGroup = e.rem(tid, kWarpgroupThreads);
  tile.rowStart = e.affine(tile.block.rowTile, tiling.tileM);
  tile.columnTile = tile.block.columnTile;
  tile.columnStart = e.affine(tile.columnTile, tiling.tileN);
  tile.a = stageOperand(e, kernel.getArgument(0), shape, problem.aStrides,
                        tile.block.batchId, shape.mLoop, shape.m,
                        tiling.tileM, tiling.tileK);
  tile.b = stageOperand(e, kernel.getArgument(1), shape, problem.bStrides,
                        tile.block.batchId, shape.nLoop, shape.n,
                        tiling.slabN, tiling.tileK);
  tile.a.shape.swizzled = tile.b.shape.swizzled = true;
  tile.bRowBytes = tile.b.shape.getInnerData() * tile.b.shape.elementBytes;
  return tile;
}

Value WgmmaContractionEmitter::multiplySlices(Value aDescriptor,
                                             Value bDescriptor, Value acc,
                                             int64_t bRowBytes) {
  int64_t aSliceBytes = getWgmmaSliceBytes(false, tiling.getRowBytes());
  int64_t bSliceBytes = getWgmmaSliceBytes(bMnMajor, bRowBytes);
  for (int64_t slice = 0; slice < tiling.tileK / kWgmmaK; ++slice)
    acc = atom.multiply(atom.advance(aDescriptor, slice * aSliceBytes),
                        atom.advance(bDescriptor, slice * bSliceBytes), acc);
  return acc;
}

Value WgmmaContractionEmitter::multiplyStep(Value aDescriptor,
                                           Value bDescriptor, Value acc,
                                           int64_t bRowBytes) {
  atom.fence();
  return multiplySlices(aDescriptor, bDescriptor, acc, bRowBytes);
}

Value WgmmaContractionEmitter::getSlabBit(Value mask, int64_t slab) {
  return e.rem(e.div(mask, int64_t(1) << slab), 2);
}

SmallVector<Value> WgmmaContractionEmitter::multiplySlabs(
    Value aDescriptor, Value bDescriptor, ValueRange accs, int64_t bRowBytes,
    Value mask) {
  if (!mask)
    return {multiplyStep(aDescriptor, bDescriptor, accs[0], bRowBytes)};
  ImplicitLocOpBuilder &b = e.b;
  atom.fence();
  SmallVector<Value> next;
  for (auto [j, acc] : llvm::enumerate(accs)) {
    Value slabDescriptor =
        atom.advance(bDescriptor, int64_t(j) * tiling.getSlabBytes());
    // The same in every lane, as ptxas must see to keep the products of
    // the slabs in flight together.
    Value bit = e.fromFirstLane(getSlabBit(mask, j));
    Value keep =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit, e.index(0));
    auto branch = scf::IfOp::create(b, acc.getType(), keep,
                                    /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      scf::YieldOp::create(
          b, multiplySlices(aDescriptor, slabDescriptor, acc, bRowBytes));
      b.setInsertionPointToStart(&branch.getElseRegion().front());
      scf::YieldOp::create(b, acc);
    }
    next.push_back(branch.getResult(0));
  }
  return next;
}

void WgmmaContractionEmitter::storeWarpgroup(const WarpgroupBlock &tile,
                                             Value acc, int64_t slab) {
  storeAccumulators(tile.block, acc,
                    e.add(tile.rowStart, e.affine(tile.warpgroup, kWgmmaRows)),
                    e.affine(tile.columnStart, 1, slab * tiling.slabN),
                    tile.inGroup);
}

WgmmaContractionEmitter::WarpgroupBlock
WgmmaContractionEmitter::atTile(const WarpgroupBlock &first, Value rowTile,
                                Value columnTile) {
  WarpgroupBlock tile = first;
  tile.block.rowTile = rowTile;
  tile.columnTile = tile.block.columnTile = columnTile;
  tile.rowStart = e.affine(rowTile, tiling.tileM);
  tile.columnStart = e.affine(columnTile, tiling.tileN);
  return tile;
}

Value WgmmaContractionEmitter::forEachTile(
    const WarpgroupBlock &first, Value steps,
    function_ref<Value(const WarpgroupBlock &, Value)> body) {
  if (!persistent)
    return body(first, steps);
  // Tile t is column tile t mod columnTiles of row tile t / columnTiles:
  // the blocks at work together share rows of A.
  ImplicitLocOpBuilder &b = e.b;
  int64_t columnTiles = llvm::divideCeil(problem.getWalkedN(), tiling.tileN);
  int64_t tiles = columnTiles * llvm::divideCeil(shape.m, tiling.tileM);
  auto loop = scf::ForOp::create(b, e.blockId(gpu::Dimension::x),
                                 e.index(tiles),
                                 e.index(problem.persistent.blocks), steps);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value t = loop.getInductionVar();
  scf::YieldOp::create(
      b, body(atTile(first, e.div(t, columnTiles), e.rem(t, columnTiles)),
              loop.getRegionIterArgs()[0]));
  return loop.getResult(0);
}

void WgmmaContractionEmitter::ifWalked(const WarpgroupBlock &tile,
                                       Value count, Value thread,
                                       function_ref<void()> store) {
  ifTileWalked(e, problem, count, store, [&] {
    storeInitialTile(e, problem, tile.block, tile.rowStart, tile.columnStart,
                     tiling.tileM, tiling.tileN, thread,
                     tiling.getWarpgroups() * kWarpgroupThreads);
  });
}

void WgmmaContractionEmitter::emitTmaBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  SmallVector<Value> arguments(kernel.getArguments());
  WarpgroupBlock first = beginBlock(kernel);
  Value tid = e.threadId();
  int64_t consumers = tiling.getWarpgroups() * kWarpgroupThreads;

  // The rings of A then B from the first 1 KiB boundary, then each slot's
  // `full` and `empty` mbarriers.
  int64_t aSliceBytes = first.a.shape.getBytes();
  // A step's B slices: one per slab.
  int64_t bSliceBytes = first.b.shape.getBytes() * tiling.getSlabs();
  Value shared = getDynamicSharedMemory(e);
  Value aAddress = e.add(getSharedAddress(e, shared),
                         getAlignedOffset(e, shared, kWgmmaTileAlignment));
  Value bAddress = e.affine(aAddress, 1, tiling.stages * aSliceBytes);
  Value barriers = e.affine(bAddress, 1, tiling.stages * bSliceBytes);
  TensorMapEmitter copies(e);
  MBarrierRing ring(e, copies, barriers, tiling.stages, tiling.cluster);
  ring.init(tid, tiling.getWarpgroups(),
            {arguments[arguments.size() - 2], arguments.back()});

  // Steps are numbered across this block's tiles: step g fills slot g mod
  // stages in round g / stages, so that the copies of a tile's first steps
  // go ahead while the warpgroups store the tile before.
  KStepWalker steps(e, problem, kernel, tiling.tileK, first.block.slice);
  auto forEachStep = [&](Value count, ValueRange init,
                         function_ref<SmallVector<Value>(Value, ValueRange)>
                             body) {
    auto loop = scf::ForOp::create(b, e.index(0), count, e.index(1), init);
    OpBuilder::InsertionGuard guard(b);
    // The builder ends a loop without results with a yield already.
    if (init.empty())
      loop.getBody()->getTerminator()->erase();
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return loop;
  };

  // The copying warp's first lane: step g waits until the products of step
  // g - stages have released its slot.
  Value copier = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid,
                                       e.index(consumers));
  e.ifThen(copier, [&] {
    Value aMap = copies.getAddress(arguments[arguments.size() - 2]);
    Value bMap = copies.getAddress(arguments.back());
    forEachTile(first, e.index(0), [&](const WarpgroupBlock &tile,
                                       Value before) {
      Value count = steps.getCount(tile.columnTile);
      forEachStep(count, {}, [&](Value i, ValueRange) {
        Value g = e.add(before, i);
        Value slot = e.rem(g, tiling.stages);
        ring.waitUntilFree(g, slot, e.div(g, tiling.stages));
        // The step's slabs: all of them, or those its mask keeps.
        SmallVector<Value> keeps(tiling.getSlabs(), Value());
        if (tiling.getSlabs() == 1) {
          copies.arriveExpectingBytes(
              ring.full(slot), tiling.getABytes() + tiling.getSlabBytes());
        } else {
          Value mask = steps.getSlabMask(tile.columnTile, i, tiling.getSlabs());
          Value bytes = e.index(tiling.getABytes());
          for (auto [j, keep] : llvm::enumerate(keeps)) {
            Value bit = getSlabBit(mask, j);
            keep = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit,
                                         e.index(0));
            bytes = e.add(bytes, e.affine(bit, tiling.getSlabBytes()));
          }
          copies.arriveExpectingBytes(ring.full(slot), bytes);
        }
        Value kStart = steps.getStart(tile.columnTile, i, count);
        Value aSlot = e.add(aAddress, e.affine(slot, aSliceBytes));
        if (tiling.cluster == 1) {
          copies.load(aMap, kStart, tile.rowStart, aSlot, ring.full(slot));
        } else {
          // This block's rows of the cluster's A slice, into every block.
          // Its rank in the cluster is its column tile's, the clusters
          // being consecutive blocks along x (emitKernelLaunch).
          Value rows = e.affine(e.rem(tile.columnTile, tiling.cluster),
                                tiling.getClusterRows());
          copies.loadToCluster(
              aMap, kStart, e.add(tile.rowStart, rows),
              e.add(aSlot, e.affine(rows, tiling.getRowBytes())),
              ring.full(slot), tiling.cluster);
        }
        for (auto [j, keep] : llvm::enumerate(keeps)) {
          auto loadSlab = [&, j = int64_t(j)] {
            Value destination =
                e.add(bAddress, e.affine(slot, bSliceBytes,
                                         j * tiling.getSlabBytes()));
            Value column = e.affine(tile.columnStart, 1, j * tiling.slabN);
            if (bMnMajor)
              copies.load(bMap, column, kStart, destination, ring.full(slot));
            else
              copies.load(bMap, kStart, column, destination, ring.full(slot));
          };
          if (keep)
            e.ifThen(keep, loadSlab);
          else
            loadSlab();
        }
        return SmallVector<Value>();
      });
      return e.add(before, count);
    });
  });

  // The warpgroups, on a branch the compiler sees is uniform across each
  // warp: the warpgroup of the warp's first lane, taken just before it.
  Value warpgroup = e.fromFirstLane(first.warpgroup);
  e.ifThen(e.less(warpgroup, tiling.getWarpgroups()), [&] {
    // This warpgroup's rows of A and B in slot 0; another slot is its
    // bytes / 16 further.
    Value aDescriptor = atom.getDescriptor(
        e.add(aAddress,
              e.affine(first.warpgroup, kWgmmaRows * tiling.getRowBytes())),
        tiling.getRowBytes());
    Value bDescriptor = atom.getDescriptor(bAddress, first.bRowBytes);
    Value releases = ring.releasesSlots(first.inGroup);
    forEachTile(first, e.index(0), [&](const WarpgroupBlock &tile,
                                       Value before) {
      Value count = steps.getCount(tile.columnTile);
      SmallVector<Value> zeros(tiling.getSlabs(), atom.zeroAccumulator());
      auto loop = forEachStep(count, zeros, [&](Value i, ValueRange accs) {
        Value g = e.add(before, i);
        Value slot = e.rem(g, tiling.stages);
        ring.waitUntilFull(g, slot);
        Value mask =
            tiling.getSlabs() == 1
                ? Value()
                : steps.getSlabMask(tile.columnTile, i, tiling.getSlabs());
        SmallVector<Value> next = multiplySlabs(
            atom.advance(aDescriptor, e.affine(slot, aSliceBytes / 16)),
            atom.advance(bDescriptor, e.affine(slot, bSliceBytes / 16)),
            accs, tile.bRowBytes, mask);
        atom.commitAndWait(1);
        // Step g - 1's products are complete: its slot may be refilled.
        ring.releaseIf(e.affine(g, 1, -1),
                       e.both(arith::CmpIOp::create(
                                  b, arith::CmpIPredicate::uge, i, e.index(1)),
                              releases),
                       first.inGroup);
        return next;
      });
      atom.commitAndWait(0);
      Value after = e.add(before, count);
      // The tile's last step, complete now, releases its slot too.
      ring.releaseIf(e.affine(after, 1, -1),
                     e.both(arith::CmpIOp::create(b, arith::CmpIPredicate::ugt,
                                                  count, e.index(0)),
                            releases),
                     first.inGroup);
      // (Storing the initial values of tiles that walked nothing, as the
      // cp.async body does, made tiles of slab groups 1.5x slower and the
      // persistent kernel out of resources.)
      for (auto [j, acc] : llvm::enumerate(loop.getResults()))
        storeWarpgroup(tile, acc, j);
      return after;
    });
  });
  // A block's consumers arrive on the other blocks' mbarriers to the
  // end: no block leaves before all are done.
  if (tiling.cluster > 1)
    emitClusterBarrier(e);
}

void WgmmaContractionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  if (tiling.tma)
    emitTmaBody(kernel);
  else
    emitAsyncCopyBody(kernel);
}

void WgmmaContractionEmitter::emitAsyncCopyBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  WarpgroupBlock tile = beginBlock(kernel);
  StagedOperand &a = tile.a, &bOperand = tile.b;

  // The rings of A then B, swizzled, from the first 1 KiB boundary of the
  // dynamic shared memory.
  Value shared = getDynamicSharedMemory(e);
  Value aOffset = getAlignedOffset(e, shared, kWgmmaTileAlignment);
  int64_t aRingBytes = tiling.stages * a.shape.getBytes();
  Value bOffset = e.affine(aOffset, 1, aRingBytes);
  a.ring = makeStageRing(e, shared, a.shape, tiling.stages, aOffset);
  bOperand.ring =
      makeStageRing(e, shared, bOperand.shape, tiling.stages, bOffset);
  Value sharedAddress = getSharedAddress(e, shared);
  // This warpgroup's rows of A.
  Value aAddress =
      e.add(e.add(sharedAddress, aOffset),
            e.affine(tile.warpgroup, kWgmmaRows * tiling.getRowBytes()));
  Value bAddress = e.add(sharedAddress, bOffset);

  KStepWalker steps(e, problem, kernel, tiling.tileK, tile.block.slice);
  Value count = steps.getCount(tile.columnTile);
  StagedSteps copies{e,
                     steps,
                     a,
                     bOperand,
                     tile.columnTile,
                     count,
                     tile.rowStart,
                     tile.columnStart,
                     tiling.stages,
                     threads};
  // Copies run `ahead` steps ahead of the products; the slot they refill
  // was read by the products two steps back, which the wait at the end of
  // the previous step has seen complete (one group stays in flight).
  int64_t ahead = tiling.stages - 2;
  for (int64_t s = 0; s < ahead; ++s)
    copies.issue(e.index(s));

  auto loop = scf::ForOp::create(b, e.index(0), count, e.index(1),
                                 ValueRange{atom.zeroAccumulator()});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    // Step i has arrived for every thread and is visible to wgmma; every
    // warpgroup is done with step i - 2, whose slot the next copies
    // overwrite.
    NVVM::CpAsyncWaitGroupOp::create(b, ahead - 1);
    fenceCopies();
    e.barrier();
    copies.issue(e.affine(i, 1, ahead));
    Value slot = e.rem(i, tiling.stages);
    Value aSlice = e.add(aAddress, e.affine(slot, a.shape.getBytes()));
    Value bSlice = e.add(bAddress, e.affine(slot, bOperand.shape.getBytes()));
    Value acc = multiplyStep(
        atom.getDescriptor(aSlice, tiling.getRowBytes()),
        atom.getDescriptor(bSlice, tile.bRowBytes),
        loop.getRegionIterArgs()[0], tile.bRowBytes);
    atom.commitAndWait(1);
    scf::YieldOp::create(b, acc);
  }
  atom.commitAndWait(0);
  ifWalked(tile, count, e.threadId(),
           [&] { storeWarpgroup(tile, loop.getResult(0)); });
}

} // namespace

std::vector<TensorMapOperand>
tesa::getWgmmaTensorMaps(const ContractionProblem &problem,
                         TileConfigAttr config) {
  WarpgroupTiling tiling(problem, config);
  if (!tiling.tma)
    return {};
  const ContractionShape &shape = problem.shape;
  TensorMapOperand a{0,
                     shape.k,
                     shape.m,
                     problem.aStrides[shape.mLoop],
                     tiling.tileK,
                     tiling.getClusterRows()};
  // B along K ([N][K]) or along N ([K][N]).
  TensorMapOperand b =
      isRhsMnMajor(problem)
          ? TensorMapOperand{1, shape.n, shape.k,
                             problem.bStrides[shape.kLoop], tiling.slabN,
                             tiling.tileK}
          : TensorMapOperand{1, shape.k, shape.n,
                             problem.bStrides[shape.nLoop], tiling.tileK,
                             tiling.slabN};
  return {a, b};
}

int64_t tesa::getWgmmaBarrierBytes(TileConfigAttr config) {
  return config.getCopy() == CopyEngine::Tma
             ? MBarrierRing::getBytes(config.getStages())
             : 0;
}

std::optional<std::string>
tesa::checkWgmmaProblem(const ContractionProblem &problem,
                        TileConfigAttr config) {
  WarpgroupTiling tiling(problem, config);
  if (config.getCopy() == CopyEngine::Registers || tiling.stages < 3)
    return "the wgmma_f16_m64nNk16 atom takes its operands by async_copy or "
           "tma, at least three stages deep";
  if (tiling.tma && (problem.shape.batch != 1 || problem.splitK != 1))
    return "TMA copies take products of one batch without split-K";
  if (tiling.tileM % kWgmmaRows != 0 || tiling.tileN % 8 != 0 ||
      tiling.tileN > 256 || !isWgmmaRowBytes(tiling.getRowBytes()) ||
      config.getThreadTile()[0] != kWgmmaRows ||
      config.getThreadTile()[1] != tiling.tileN)
    return "a wgmma tile is warpgroups of 64 rows by all its columns (a "
           "multiple of 8, at most 256), K 16, 32 or 64";
  const ContractionShape &shape = problem.shape;
  if (getStagedOrder(problem.aStrides, shape.mLoop, shape.kLoop) !=
      TileOrder::RowMajor)
    return "the wgmma_f16_m64nNk16 atom reads A contiguous along K only";
  if (isRhsMnMajor(problem) && !isWgmmaRowBytes(2 * tiling.slabN))
    return "the wgmma_f16_m64nNk16 atom reads a B contiguous along N in "
           "tiles of 16, 32 or 64 columns only";
  if (tiling.getSlabs() > 1 &&
      (!tiling.tma || tiling.tileN % tiling.slabN != 0))
    return "tiles of several slabs take TMA copies, whole slabs";
  // Each block's share of A's slice starts a whole swizzle pattern in.
  int64_t columnTiles = llvm::divideCeil(problem.getWalkedN(), tiling.tileN);
  if (tiling.cluster > 1 &&
      (tiling.getClusterRows() % 8 != 0 || columnTiles % tiling.cluster != 0 ||
       (problem.steps.blockK && problem.steps.walkTiles != tiling.cluster)))
    return "a cluster is blocks of whole column tiles that walk the same K "
           "steps, each copying a multiple of 8 rows of A";
  return checkStagedOperands(problem, tiling.tileM, tiling.tileN,
                             tiling.tileK);
}

void tesa::emitWgmmaContraction(KernelEmitter &e,
                                const ContractionProblem &problem,
                                TileConfigAttr config, gpu::GPUFuncOp kernel) {
  WgmmaContractionEmitter(e, problem, config).emitBody(kernel);
}
