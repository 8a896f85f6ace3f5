//===- RegisterMmaKernel.cpp - Tensor-core kernel fed from registers ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tensor-core compute kernel of block and structured parts that the
// staged kernel (StagedMmaKernel.cpp) does not take: each warp loads its
// mma fragments from global memory straight into registers, one chunk of
// the reduction ahead of the mma instructions that use them. A compressed
// part's warps (fine-grained f16 parts, PartLayout::compressed) first
// expand each block in workgroup memory and load the fragments from there.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace tesa;

/// Column tiles (mma.n columns each) one warp of the tensor-core kernel
/// computes: several when there are enough columns, so that each fragment of
/// the packed block feeds that many mma instructions.
/// A compressed part's warps take up to four tiles whatever the columns, so
/// that each expanded tile feeds them all.
static int64_t getColumnTilesPerWarp(const PartLayout &layout) {
  if (layout.compressed)
    return std::clamp<int64_t>(layout.getNumColumnWork(), 1, 4);
  return layout.getNumColumnWork() >= 4 * kThreads / 32 ? 4 : 1;
}

/// Warps that each take their own column tiles to cover the part's.
static int64_t getColumnWarps(const PartLayout &layout) {
  return llvm::divideCeil(layout.getNumColumnWork(),
                          getColumnTilesPerWarp(layout));
}

/// Warps of a block of threads that splits its work row's blocks among its
/// warps (see getEntrySplits).
static constexpr int64_t kSplitWarps = 8;

/// Warps of a block of threads that take different column tiles when it
/// splits its work row's blocks: getColumnWarps(), rounded up to a power of
/// two.
static int64_t getSplitColumnWarps(const PartLayout &layout) {
  return llvm::PowerOf2Ceil(getColumnWarps(layout));
}

/// Warps that share one column tile of a work row, each taking every
/// getEntrySplits()-th block of the row. One when the part has a column tile
/// for each of a block's warps. With fewer (a decode step: at most 24
/// columns), a block of kSplitWarps warps takes all the tiles and splits the
/// row's blocks among the warps of each tile, so that more warps load blocks
/// at once; their sums meet in workgroup memory.
static int64_t getEntrySplits(const PartLayout &layout) {
  int64_t columnWarps = getColumnWarps(layout);
  if (columnWarps == 0 || columnWarps >= kThreads / 32)
    return 1;
  return kSplitWarps / getSplitColumnWarps(layout);
}

/// Slices of mma.m channels of a block row one warp computes: all of them
/// when the warp takes several column tiles, so that each fragment of the
/// dense operand also feeds several mma instructions; one otherwise, so that
/// few columns (a decode step) still spread over many blocks.
static int64_t getChannelSlicesPerWarp(const PartLayout &layout) {
  return getColumnTilesPerWarp(layout) > 1 ? layout.blockChannels / layout.mma.m
                                           : 1;
}

/// Reduction elements in one fragment register of the tensor-core kernel:
/// four int8 or two f16 values (PTX ISA, "Matrix Fragments for mma.m16n8k*").
static int64_t getRegisterWidth(const PartLayout &layout) {
  return layout.compute == ComputeKind::I8 ? 4 : 2;
}

/// Fragment registers one thread holds per row (or column) in one mma step:
/// the step's reduction shared by the four threads of a group.
static int64_t getRegistersPerStep(const PartLayout &layout) {
  return layout.mma.k / (4 * getRegisterWidth(layout));
}

/// Steps (mma.k reductions) of a block's reduction in one chunk of the
/// tensor-core kernel: as many as make a thread's run of the chunk 16 bytes
/// (four registers) at most, and that divide the block's steps; for a
/// structured part, the steps of a packed run.
static int64_t getStepsPerChunk(const PartLayout &layout) {
  if (layout.structured)
    return layout.getStructuredStepsPerRun();
  int64_t registersPerStep = getRegistersPerStep(layout);
  int64_t blockSteps = layout.blockReduction / layout.mma.k;
  int64_t steps = 4 / registersPerStep;
  while (blockSteps % steps != 0)
    --steps;
  return steps;
}

/// Tensor cores: four warps per block, each a tile of getChannelSlicesPerWarp()
/// x mma.m channels by getColumnTilesPerWarp() x mma.n columns; row of blocks
/// (y) per (work row, group of channel slices of its blocks). With few
/// columns, kSplitWarps warps per block instead, getEntrySplits() of them on
/// each column tile (see there).
///
/// The reduction of a block is walked in chunks of getStepsPerChunk() mma
/// steps. Within a chunk the reduction is permuted the same way for both
/// operands, which leaves the sum unchanged: the four threads of a group
/// (lane % 4) take consecutive quarters of the chunk instead of interleaved
/// pairs (PTX ISA, "Matrix Fragments for mma.m16n8k*"), so that each thread
/// loads all its registers of a row or column of the chunk with one vector
/// load of up to 16 bytes. The loop is software-pipelined: the registers of
/// the next chunk (of this block, or of the row's next block) are loaded
/// before the mma instructions of the current one.
gpu::GPUFuncOp tesa::buildRegisterMmaCompute(KernelBuilder &kb,
                                             ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  bool isInt = layout.compute == ComputeKind::I8;
  MatrixShape shape = layout.mma;
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  int64_t slices = getChannelSlicesPerWarp(layout);
  int64_t sliceGroups = bc / shape.m / slices;
  int64_t tiles = getColumnTilesPerWarp(layout);
  int64_t numWork = layout.getNumColumnWork();
  int64_t width = getRegisterWidth(layout);
  int64_t registersPerStep = getRegistersPerStep(layout);
  int64_t steps = getStepsPerChunk(layout);
  int64_t chunkLength = steps * shape.k, chunks = br / chunkLength;
  int64_t registers = steps * registersPerStep;
  int64_t runLength = registers * width;
  // A structured block row packs half the values: two registers per step
  // (getStructuredOffset), one step per chunk.
  bool structured = layout.structured;
  int64_t packedPerStep = structured ? registersPerStep / 2 : registersPerStep;
  int64_t packedRegisters = steps * packedPerStep;
  int64_t packedRowLength = structured ? br / 2 : br;
  SmallVector<int64_t> sliceRowOffsets =
      shape.m == 16 ? SmallVector<int64_t>{0, 8} : SmallVector<int64_t>{0};
  int64_t numRowOffsets = sliceRowOffsets.size();
  int64_t numAccumulators = numRowOffsets * 2;
  Type fragmentType =
      isInt ? Type(b.getI32Type()) : Type(VectorType::get({2}, b.getF16Type()));
  auto runType = VectorType::get({runLength}, isInt ? Type(b.getI8Type())
                                                    : Type(b.getF16Type()));

  int64_t splits = getEntrySplits(layout);

  auto fn = kb.begin("", arguments);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = kb.div(thread, 32), lane = kb.rem(thread, 32);
  Value group = kb.div(lane, 4), inGroup = kb.rem(lane, 4);
  // The warp's column tiles, and its share of the work row's blocks.
  Value warpWork = warp, split = kb.index(0);
  int64_t warpsPerBlock = kThreads / 32;
  if (splits > 1) {
    warpsPerBlock = getSplitColumnWarps(layout);
    warpWork = kb.rem(warp, warpsPerBlock);
    split = kb.div(warp, warpsPerBlock);
  }
  Value firstWork =
      kb.mul(kb.add(kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                           kb.index(warpsPerBlock)),
                    warpWork),
             kb.index(tiles));
  // Where the warps that split a row's blocks leave their sums (i32 for
  // int8 parts, else f32).
  Value partials;
  int64_t numSums = tiles * slices * numAccumulators;
  if (splits > 1)
    partials = kb.workgroupBuffer(fn, {kSplitWarps, numSums, 32},
                                  kb.zeroSum().getType());
  // A compressed part's expanded tile, one a warp (rows padded by eight
  // values, so that the eight rows a run load reads start in different
  // banks).
  Value expanded;
  if (layout.compressed)
    expanded = kb.workgroupBuffer(
        fn, {splits > 1 ? kSplitWarps : kThreads / 32, bc, br + 8},
        b.getF16Type());
  auto compute = [&] {
    // Each tile's first column, and the column this lane reads; tiles past
    // the end repeat the last one and store nothing.
    SmallVector<Value> firstColumns, columns, tileExists;
    for (int64_t t = 0; t < tiles; ++t) {
      Value work = kb.add(firstWork, kb.index(t));
      tileExists.push_back(kb.less(work, numWork));
      firstColumns.push_back(kb.mul(kb.getColumnWork(kb.min(work, numWork - 1)),
                                    kb.index(shape.n)));
      columns.push_back(
          kb.min(kb.add(firstColumns.back(), group), layout.columns - 1));
    }
    Value rows = kb.table("_rows", layout.rows);
    Value offsets = kb.table("_offsets", layout.offsets);
    Value entries = kb.table("_entries", layout.entries);
    Value metadata =
        structured ? kb.table("_metadata", layout.metadata) : Value();
    // A compressed part's tables, and the row and half row of its blocks
    // this lane expands (see fetchTile).
    Value masks, rowOffsets, expandedRow, expandedHalf, halfStart;
    if (layout.compressed) {
      assert(bc * br == 32 * 32 && chunkLength == 32 && runLength == 8 &&
             "a compressed tile is a mask word a lane, a run a byte of it");
      masks = kb.table("_masks", layout.blockMasks);
      rowOffsets = kb.table("_row_offsets", layout.rowOffsets);
      expandedRow = kb.div(lane, 2);
      expandedHalf = kb.rem(lane, 2);
      halfStart = kb.mul(expandedHalf, kb.index(br / 2));
    }
    auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
    // This thread's first reduction element of a chunk.
    Value runStart = kb.mul(inGroup, kb.index(runLength));

    // The packed block's registers of `row` from reduction element
    // `kInBlock` of the block at `blockBase`; 4-bit parts unpack each from
    // the word of eight values holding it.
    auto loadPackedRun = [&](Value row, Value kInBlock, Value blockBase) {
      Value at = kb.add(
          blockBase, kb.add(kb.mul(row, kb.index(packedRowLength)), kInBlock));
      if (structured)
        return kb.fragmentRegisters(kb.loadVector(
            VectorType::get({packedRegisters * width}, b.getF16Type()), packed,
            ValueRange{at}));
      if (!layout.packedInt4)
        return kb.fragmentRegisters(
            kb.loadVector(runType, packed, ValueRange{at}));
      SmallVector<Value> split;
      for (int64_t j = 0; j < registers; ++j) {
        Value value = kb.add(at, kb.index(j * width));
        Value word = kb.bitcastToI32(
            kb.loadVector(VectorType::get({4}, b.getI8Type()), packed,
                          ValueRange{kb.mul(kb.div(value, 8), kb.index(4))}));
        Value high = arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                           kb.rem(value, 8), kb.index(4));
        split.push_back(kb.unpackWord(word, high));
      }
      return split;
    };
    // A compressed part's blocks are expanded in workgroup memory, each
    // warp's in its own buffer (rows padded by eight values). fetchTile
    // loads lane l's mask word of block `e` (the block's row l / 2, half
    // l % 2) and where its kept values start, a block ahead of its use;
    // placeTile has each lane zero half a row, then write the word's kept
    // values at their places. The warp's runs of the block are then loaded
    // from the buffer like packed ones.
    auto fetchTile = [&](Value e) -> SmallVector<Value> {
      Value word = kb.loadI32(masks, kb.add(kb.mul(e, kb.index(bc * br / 32)),
                                            lane));
      Value before = arith::SelectOp::create(
          b, kb.less(expandedHalf, 1), kb.i32(0),
          math::CtPopOp::create(b, kb.shuffleXor(word, 1)));
      Value first =
          kb.add(kb.loadIndex(rowOffsets,
                              kb.add(kb.mul(e, kb.index(bc)), expandedRow)),
                 arith::IndexCastUIOp::create(b, b.getIndexType(), before));
      return {word, first};
    };
    auto placeTile = [&](ArrayRef<Value> fetched) {
      NVVM::SyncWarpOp::create(b, kb.i32(-1));
      auto eight = VectorType::get({8}, b.getF16Type());
      Value zeros = arith::ConstantOp::create(
          b, DenseElementsAttr::get(eight, b.getF16FloatAttr(0.0)));
      for (int64_t j = 0; j < br / 2; j += 8)
        vector::StoreOp::create(
            b, zeros, expanded,
            ValueRange{warp, expandedRow, kb.add(halfStart, kb.index(j))});
      Value word = fetched[0];
      Value count = arith::IndexCastUIOp::create(
          b, b.getIndexType(), math::CtPopOp::create(b, word));
      kb.loop(kb.index(0), count, ValueRange{word, fetched[1]},
              [&](Value, ValueRange args) {
                Value bits = args[0], at = args[1];
                Value column = arith::IndexCastUIOp::create(
                    b, b.getIndexType(),
                    math::CountTrailingZerosOp::create(b, bits));
                memref::StoreOp::create(
                    b, memref::LoadOp::create(b, packed, ValueRange{at}),
                    expanded,
                    ValueRange{warp, expandedRow, kb.add(halfStart, column)});
                Value rest = arith::AndIOp::create(
                    b, bits, arith::SubIOp::create(b, bits, kb.i32(1)));
                return SmallVector<Value>{rest, kb.add(at, kb.index(1))};
              });
      NVVM::SyncWarpOp::create(b, kb.i32(-1));
    };
    // The dense operand's registers of `column` from reduction element `k`:
    // from its copy, or (an implicit GEMM, or too few blocks to pay for a
    // copy) as pairs of f32 elements, through the gather if there is one.
    // A structured part's steps are in the instruction's own order:
    // register j holds elements 8j + 2 (lane % 4) and the next of a step
    // (`k`), consecutive in the copy (getDenseCopyType).
    auto loadDenseRun = [&](Value column, Value k) {
      if (structured && hasDenseCopy(layout)) {
        SmallVector<Value> split;
        for (int64_t s = 0; s < steps; ++s)
          llvm::append_range(
              split,
              kb.fragmentRegisters(kb.loadVector(
                  VectorType::get({registersPerStep * width}, b.getF16Type()),
                  dense,
                  ValueRange{column, kb.add(kb.div(k, 32), kb.index(s)),
                             kb.mul(inGroup, kb.index(8))})));
        return split;
      }
      if (hasDenseCopy(layout))
        return kb.fragmentRegisters(
            kb.loadVector(runType, dense, ValueRange{column, k}));
      // Without a copy (f16 parts): register j is the element at `first` +
      // `offset` and the next, read as f32 (clamped to the reduction) and
      // rounded to f16.
      SmallVector<Value> split;
      for (int64_t j = 0; j < registers; ++j) {
        Value first = k;
        int64_t offset = j * width;
        if (structured) {
          first =
              kb.add(k, kb.add(kb.index(8 * j), kb.mul(inGroup, kb.index(2))));
          offset = 0;
        }
        SmallVector<Value> halves;
        for (int64_t h = 0; h < 2; ++h) {
          Value kk = kb.min(kb.add(first, kb.index(offset + h)),
                            layout.reduction - 1);
          halves.push_back(arith::TruncFOp::create(
              b, b.getF16Type(),
              memref::LoadOp::create(b, dense, kb.denseIndex(kk, column))));
        }
        split.push_back(
            vector::FromElementsOp::create(b, fragmentType, halves));
      }
      return split;
    };

    kb.forEachGridRow(layout.rows.size() * sliceGroups, [&](Value y) {
      Value w = kb.div(y, sliceGroups);
      Value firstSlice = kb.mul(kb.rem(y, sliceGroups), kb.index(slices));
      Value lo = kb.loadIndex(offsets, w);
      Value hi = kb.loadIndex(offsets, kb.add(w, kb.index(1)));
      SmallVector<Value> sliceRows;
      for (int64_t sl = 0; sl < slices; ++sl)
        sliceRows.push_back(
            kb.mul(kb.add(firstSlice, kb.index(sl)), kb.index(shape.m)));

      // The registers of chunk `c` of block `e`: the packed block's, per
      // (slice, row offset), for a structured part each slice's metadata
      // word, then the dense operand's, per tile.
      auto loadChunk = [&](Value e, int64_t c) {
        Value kInBlock = kb.add(kb.index(c * chunkLength), runStart);
        Value packedInBlock = structured
                                  ? kb.add(kb.index(c * chunkLength / 2),
                                           kb.mul(inGroup, kb.index(4 * steps)))
                                  : kInBlock;
        Value blockBase = kb.mul(e, kb.index(bc * packedRowLength));
        SmallVector<Value> chunk;
        for (int64_t sl = 0; sl < slices; ++sl)
          for (int64_t rowOffset : sliceRowOffsets) {
            Value row =
                kb.add(sliceRows[sl], kb.add(group, kb.index(rowOffset)));
            llvm::append_range(
                chunk,
                layout.compressed
                    ? kb.fragmentRegisters(kb.loadVector(
                          runType, expanded, ValueRange{warp, row, kInBlock}))
                    : loadPackedRun(row, packedInBlock, blockBase));
          }
        if (structured) {
          // Lanes 2 and 3 of a group hold no metadata (sparsity selector
          // 0); they load lane 0's and 1's words, those of the chunk's steps
          // at once.
          Value lane = kb.add(kb.mul(group, kb.index(2)), kb.rem(inGroup, 2));
          for (int64_t sl = 0; sl < slices; ++sl) {
            Value index = kb.metadataIndex(e, kb.add(firstSlice, kb.index(sl)),
                                           lane, kb.index(c * steps));
            Value words =
                kb.loadVector(VectorType::get({steps}, b.getI32Type()),
                              metadata, ValueRange{index});
            for (int64_t s = 0; s < steps; ++s)
              chunk.push_back(vector::ExtractOp::create(b, words, s));
          }
        }
        Value k = kb.mul(kb.loadIndex(entries, e), kb.index(br));
        k = kb.add(k, structured ? kb.index(c * chunkLength) : kInBlock);
        for (int64_t t = 0; t < tiles; ++t)
          llvm::append_range(chunk, loadDenseRun(columns[t], k));
        return chunk;
      };
      int64_t numPacked = slices * numRowOffsets * packedRegisters;
      int64_t numMetadata = structured ? slices * steps : 0;
      // The mma instructions of one chunk. Accumulators of (tile t, slice sl)
      // are at (t * slices + sl) * numAccumulators.
      auto computeChunk = [&](ArrayRef<Value> chunk,
                              MutableArrayRef<Value> acc) {
        for (int64_t s = 0; s < steps; ++s) {
          SmallVector<SmallVector<Value>> a(slices);
          for (int64_t sl = 0; sl < slices; ++sl)
            for (int64_t r = 0; r < packedPerStep; ++r)
              for (int64_t ro = 0; ro < numRowOffsets; ++ro)
                a[sl].push_back(
                    chunk[(sl * numRowOffsets + ro) * packedRegisters +
                          s * packedPerStep + r]);
          for (int64_t t = 0; t < tiles; ++t) {
            ArrayRef<Value> bFrag = chunk.slice(
                numPacked + numMetadata + t * registers + s * registersPerStep,
                registersPerStep);
            for (int64_t sl = 0; sl < slices; ++sl) {
              MutableArrayRef<Value> tileAcc = acc.slice(
                  (t * slices + sl) * numAccumulators, numAccumulators);
              kb.mma(a[sl], bFrag, tileAcc,
                     structured ? chunk[numPacked + sl * steps + s] : Value());
            }
          }
        }
      };

      SmallVector<Value> sums(numSums, kb.zeroSum());
      if (!layout.entries.empty()) {
        // The warp's blocks: the row's split-th, then every splits-th. The
        // first chunk is loaded before the loop (from an entry that exists
        // even when the warp has none, and is then unused).
        Value start = kb.add(lo, split);
        Value lastEntry = kb.index(layout.getNumEntries() - 1);
        Value first = arith::MinUIOp::create(b, start, lastEntry);
        // The warp's block after `e` (its last, or the part's, past the
        // end).
        auto following = [&](Value e) {
          return arith::MinUIOp::create(
              b,
              arith::MinUIOp::create(
                  b, kb.add(e, kb.index(splits)),
                  arith::SubIOp::create(b, hi, kb.index(1))),
              lastEntry);
        };
        SmallVector<Value> inits(sums);
        // A compressed part's first block is placed before the loop and
        // the next one's mask word fetched: the loop carries it after the
        // chunk's registers.
        SmallVector<Value> fetched;
        if (layout.compressed) {
          placeTile(fetchTile(first));
          fetched = fetchTile(following(first));
        }
        llvm::append_range(inits, loadChunk(first, 0));
        int64_t numChunkRegisters = inits.size() - numSums;
        llvm::append_range(inits, fetched);
        ValueRange results = kb.loop(
            start, hi, kb.index(splits), inits, [&](Value e, ValueRange args) {
              SmallVector<Value> acc(args.take_front(numSums));
              SmallVector<Value> current(
                  args.slice(numSums, numChunkRegisters));
              SmallVector<Value> ahead(
                  args.drop_front(numSums + numChunkRegisters));
              Value next = following(e);
              for (int64_t c = 0; c < chunks; ++c) {
                SmallVector<Value> nextChunk;
                if (c + 1 < chunks) {
                  nextChunk = loadChunk(e, c + 1);
                } else {
                  if (layout.compressed) {
                    placeTile(ahead);
                    ahead = fetchTile(following(next));
                  }
                  nextChunk = loadChunk(next, 0);
                }
                computeChunk(current, acc);
                current = std::move(nextChunk);
              }
              llvm::append_range(acc, current);
              llvm::append_range(acc, ahead);
              return acc;
            });
        sums.assign(results.begin(), results.begin() + numSums);
      }

      // Warps that split the row's blocks leave their sums in workgroup
      // memory; those of the first split add the others' to theirs, in
      // split order, and store.
      Value stores;
      if (splits > 1) {
        for (int64_t i = 0; i < numSums; ++i)
          memref::StoreOp::create(b, sums[i], partials,
                                  ValueRange{warp, kb.index(i), lane});
        gpu::BarrierOp::create(b);
        for (int64_t s = 1; s < splits; ++s) {
          Value other = kb.add(warp, kb.index(s * warpsPerBlock));
          Value from = kb.min(other, kSplitWarps - 1);
          for (int64_t i = 0; i < numSums; ++i) {
            Value partial = memref::LoadOp::create(
                b, partials, ValueRange{from, kb.index(i), lane});
            sums[i] = kb.addSums(sums[i], partial);
          }
        }
        // The buffer is free for the grid's next row.
        gpu::BarrierOp::create(b);
        stores = kb.less(split, 1);
      }

      Value rowBase = kb.mul(kb.loadIndex(rows, w), kb.index(bc));
      for (int64_t tileSlice = 0; tileSlice < tiles * slices; ++tileSlice) {
        int64_t t = tileSlice / slices, sl = tileSlice % slices;
        Value channelBase = kb.add(rowBase, sliceRows[sl]);
        Value exists = tileExists[t];
        if (stores)
          exists = arith::AndIOp::create(b, exists, stores);
        kb.storeAccumulators(out, channelBase, firstColumns[t], exists,
                             ArrayRef<Value>(sums).slice(
                                 tileSlice * numAccumulators, numAccumulators),
                             lane, scales, denseScales);
      }
    });
  };
  // With one split, the whole warp takes this branch together, as mma.sync
  // requires; warps that split blocks all compute (those past the last
  // tile repeat it and store nothing), as they meet at barriers.
  if (splits > 1)
    compute();
  else
    kb.ifThen(kb.less(firstWork, numWork), compute);
  return fn;
}

KernelLaunch tesa::getRegisterMmaLaunch(const PartLayout &layout) {
  int64_t numRows = layout.rows.size();
  int64_t gridY = std::min(numRows * (layout.blockChannels / layout.mma.m /
                                      getChannelSlicesPerWarp(layout)),
                           kMaxGridY);
  if (getEntrySplits(layout) > 1)
    return {{1, gridY}, {32 * kSplitWarps, 1}};
  int64_t tilesPerBlock = getColumnTilesPerWarp(layout) * kThreads / 32;
  return {{(layout.getNumColumnWork() + tilesPerBlock - 1) / tilesPerBlock,
           gridY},
          {kThreads, 1}};
}
