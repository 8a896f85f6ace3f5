//===- StructuredOpRule.cpp - Propagation through linalg ops --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// One rule for every `linalg` structured op. The iteration space is cut into
// cells on which every operand is uniform (the gcd of the block sizes of all
// maps along each loop; element level along loops used in non-trivial
// affine expressions such as convolution windows), so block-uniform maps are
// handled block by block. For each cell the payload summary says which
// results are zero and which operands they depend on:
//
//   forward:  a result element is zero iff at every cell that writes it the
//             payload yields zero (reductions: with the accumulator zero,
//             and the init zero unless it is the reduction's identity);
//   backward: an operand element is needed at the most bits any live result
//             element that depends on it needs.
//
// Contractions (`acc + a * b` with batch/M/N/K loops) use bit sets over the
// reduction, M or N loops instead, so element-level matmuls cost
// O(M*N*K/64).
//
//===----------------------------------------------------------------------===//

#include "RuleUtils.h"

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Analysis/SparsityLattice.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineExpr.h"
#include "llvm/ADT/bit.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace tesa;
using namespace tesa::propagation;

namespace {

/// Where one operand (or result) sits on the iteration grid: its entry index
/// at loop cell c is `base + sum(step[d] * c[d])`.
struct Access {
  SmallVector<int64_t> grid;
  SmallVector<int64_t> step;
  int64_t base = 0;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t g : grid)
      n *= g;
    return n;
  }
};

/// An affine expression as coefficients per loop plus a constant.
struct LinearExpr {
  SmallVector<int64_t> coefficients;
  int64_t constant = 0;
  /// The loop this expression is exactly, if it is a bare dimension.
  std::optional<unsigned> getPureDim() const {
    std::optional<unsigned> dim;
    for (auto [d, c] : llvm::enumerate(coefficients)) {
      if (c == 0)
        continue;
      if (c != 1 || dim)
        return std::nullopt;
      dim = d;
    }
    return constant == 0 ? dim : std::nullopt;
  }
};

/// The op's iteration space cut into uniform cells.
struct IterationGrid {
  SmallVector<int64_t> cells;
  SmallVector<Access> accesses; // operands, then results
};

} // namespace

static FailureOr<LinearExpr> linearize(AffineExpr expr, unsigned numLoops) {
  LinearExpr result;
  result.coefficients.assign(numLoops, 0);
  if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
    result.coefficients[dim.getPosition()] = 1;
    return result;
  }
  if (auto constant = dyn_cast<AffineConstantExpr>(expr)) {
    result.constant = constant.getValue();
    return result;
  }
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return failure();
  FailureOr<LinearExpr> lhs = linearize(binary.getLHS(), numLoops);
  FailureOr<LinearExpr> rhs = linearize(binary.getRHS(), numLoops);
  if (failed(lhs) || failed(rhs))
    return failure();
  if (expr.getKind() == AffineExprKind::Add) {
    for (unsigned d = 0; d < numLoops; ++d)
      lhs->coefficients[d] += rhs->coefficients[d];
    lhs->constant += rhs->constant;
    return lhs;
  }
  if (expr.getKind() == AffineExprKind::Mul) {
    bool lhsConstant = llvm::all_of(lhs->coefficients, [](int64_t c) {
      return c == 0;
    });
    LinearExpr &scaled = lhsConstant ? *rhs : *lhs;
    int64_t factor = lhsConstant ? lhs->constant : rhs->constant;
    if (!lhsConstant && llvm::any_of(rhs->coefficients,
                                     [](int64_t c) { return c != 0; }))
      return failure();
    for (int64_t &c : scaled.coefficients)
      c *= factor;
    scaled.constant *= factor;
    return scaled;
  }
  return failure();
}

/// Builds the iteration grid of `op`. `maps[k]` is the map (or null) whose
/// blocks operand/result slot k must respect.
static FailureOr<IterationGrid>
buildGrid(linalg::LinalgOp op, ArrayRef<const SparsityMap *> maps,
          std::string &reason) {
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  if (llvm::any_of(loops, ShapedType::isDynamic)) {
    reason = "the op has dynamic loop ranges";
    return failure();
  }
  unsigned numLoops = loops.size();
  SmallVector<AffineMap> indexingMaps = op.getIndexingMapsArray();
  unsigned numOperands = op->getNumOperands();
  // Results share the indexing maps of their inits.
  auto mapOfSlot = [&](unsigned slot) {
    return slot < numOperands
               ? indexingMaps[slot]
               : indexingMaps[op.getNumDpsInputs() + slot - numOperands];
  };

  SmallVector<SmallVector<LinearExpr>> exprs(maps.size());
  SmallVector<int64_t> cellSize(loops);
  SmallVector<bool> elementLevel(numLoops, false);
  for (unsigned slot = 0; slot < maps.size(); ++slot) {
    AffineMap map = mapOfSlot(slot);
    if (map.getNumSymbols() != 0) {
      reason = "an indexing map has symbols";
      return failure();
    }
    for (AffineExpr expr : map.getResults()) {
      FailureOr<LinearExpr> linear = linearize(expr, numLoops);
      if (failed(linear)) {
        reason = "an indexing map is not affine-linear";
        return failure();
      }
      exprs[slot].push_back(*linear);
    }
    if (!maps[slot])
      continue;
    SmallVector<int64_t> blocks = maps[slot]->getBlockShape();
    for (auto [j, linear] : llvm::enumerate(exprs[slot])) {
      if (std::optional<unsigned> d = linear.getPureDim()) {
        cellSize[*d] = std::gcd(cellSize[*d], blocks[j]);
        continue;
      }
      for (auto [d, c] : llvm::enumerate(linear.coefficients))
        if (c != 0)
          elementLevel[d] = true;
    }
  }
  IterationGrid grid;
  for (unsigned d = 0; d < numLoops; ++d) {
    if (elementLevel[d] || cellSize[d] == 0)
      cellSize[d] = 1;
    grid.cells.push_back(loops[d] / cellSize[d]);
  }
  for (unsigned slot = 0; slot < maps.size(); ++slot) {
    Access access;
    access.step.assign(numLoops, 0);
    ArrayRef<int64_t> shape;
    if (maps[slot])
      shape = maps[slot]->getShape();
    for (auto [j, linear] : llvm::enumerate(exprs[slot])) {
      std::optional<unsigned> d = linear.getPureDim();
      access.grid.push_back(d ? grid.cells[*d]
                              : (j < shape.size() ? shape[j] : 1));
    }
    int64_t stride = 1;
    for (int j = int(exprs[slot].size()) - 1; j >= 0; --j) {
      const LinearExpr &linear = exprs[slot][j];
      if (std::optional<unsigned> d = linear.getPureDim()) {
        access.step[*d] += stride;
      } else {
        for (unsigned d = 0; d < numLoops; ++d)
          access.step[d] += stride * linear.coefficients[d];
        access.base += stride * linear.constant;
      }
      stride *= access.grid[j];
    }
    grid.accesses.push_back(std::move(access));
  }
  return grid;
}

/// Calls `fn(indices)` for every loop cell, with `indices[k]` the entry
/// index of slot k.
template <typename Fn>
static void forEachLoopCell(const IterationGrid &grid, Fn fn) {
  unsigned rank = grid.cells.size();
  unsigned numSlots = grid.accesses.size();
  SmallVector<int64_t> index(numSlots);
  for (unsigned k = 0; k < numSlots; ++k)
    index[k] = grid.accesses[k].base;
  if (llvm::any_of(grid.cells, [](int64_t c) { return c == 0; }))
    return;
  if (rank == 0) {
    fn(index);
    return;
  }
  SmallVector<int64_t> cell(rank, 0);
  unsigned last = rank - 1;
  while (true) {
    for (int64_t i = 0; i < grid.cells[last]; ++i) {
      fn(index);
      for (unsigned k = 0; k < numSlots; ++k)
        index[k] += grid.accesses[k].step[last];
    }
    for (unsigned k = 0; k < numSlots; ++k)
      index[k] -= grid.accesses[k].step[last] * grid.cells[last];
    int d = int(last) - 1;
    for (; d >= 0; --d) {
      for (unsigned k = 0; k < numSlots; ++k)
        index[k] += grid.accesses[k].step[d];
      if (++cell[d] < grid.cells[d])
        break;
      for (unsigned k = 0; k < numSlots; ++k)
        index[k] -= grid.accesses[k].step[d] * grid.cells[d];
      cell[d] = 0;
    }
    if (d < 0)
      return;
  }
}

/// The content of a scalar operand: zero if it is a constant zero.
static SparsityMap scalarContent(Value value) {
  return SparsityMap::getUniform(
      {}, isZeroConstant(value) ? kPrunedBits : getFullBitsOf(value));
}

/// True if `init` is filled with the identity of the max/min reduction that
/// yields `yielded`, so that it cannot make the result non-zero.
static bool isReductionIdentity(Value init, Value yielded) {
  Operation *combiner = yielded.getDefiningOp();
  std::optional<double> value = getKnownSplat(init);
  if (!combiner || !value)
    return false;
  double limit = std::numeric_limits<float>::max();
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner))
    return *value <= -limit;
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(combiner))
    return *value >= limit;
  return false;
}

namespace {
/// Operand facts of one structured op, with scalars filled in.
struct StructuredFacts {
  SmallVector<const SparsityMap *> maps;
  std::vector<SparsityMap> scalars;
  LogicalResult init(linalg::LinalgOp op,
                     ArrayRef<const SparsityMap *> content,
                     std::string &reason) {
    if (!op.hasPureTensorSemantics()) {
      reason = "the op does not have pure tensor semantics";
      return failure();
    }
    scalars.reserve(op->getNumOperands());
    for (OpOperand &operand : op->getOpOperands()) {
      const SparsityMap *map = content[operand.getOperandNumber()];
      if (!map) {
        if (isa<ShapedType>(operand.get().getType())) {
          reason = describeUntrackedOperand(operand.get());
          return failure();
        }
        scalars.push_back(scalarContent(operand.get()));
        map = &scalars.back();
      }
      maps.push_back(map);
    }
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

namespace {
/// A contraction `C[b,m,n] += A[b,m,k] * B[b,k,n]` over groups of loops.
struct Contraction {
  // Per group (batch, M, N, K) the offsets into A, B and C of every
  // combination of the group's loop cells.
  SmallVector<int64_t> aBatch, aM, aK, bBatch, bN, bK, cBatch, cM, cN;
};

/// Bit sets, one row of `words` 64-bit words each.
struct BitRows {
  int64_t words;
  std::vector<uint64_t> bits;
  BitRows(int64_t rows, int64_t columns)
      : words((columns + 63) / 64), bits(rows * words, 0) {}
  void set(int64_t row, int64_t column) {
    bits[row * words + column / 64] |= uint64_t(1) << (column % 64);
  }
  bool intersects(int64_t row, const BitRows &other, int64_t otherRow) const {
    const uint64_t *a = &bits[row * words];
    const uint64_t *b = &other.bits[otherRow * other.words];
    for (int64_t w = 0; w < words; ++w)
      if (a[w] & b[w])
        return true;
    return false;
  }
};
} // namespace

/// Offsets of every combination of cells of `loops` for slot `access`.
static SmallVector<int64_t> groupOffsets(ArrayRef<unsigned> loops,
                                         const IterationGrid &grid,
                                         const Access &access) {
  SmallVector<int64_t> offsets = {0};
  for (unsigned d : loops) {
    SmallVector<int64_t> next;
    for (int64_t base : offsets)
      for (int64_t c = 0; c < grid.cells[d]; ++c)
        next.push_back(base + c * access.step[d]);
    offsets = std::move(next);
  }
  return offsets;
}

/// Recognises `op` as a contraction (slots 0 = A, 1 = B, 2 = C).
static std::optional<Contraction>
matchContraction(linalg::LinalgOp op, const BodySummary &summary,
                 const IterationGrid &grid) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0 ||
      !summary.isMultiplyAccumulate(0, 1, 2))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps, [](AffineMap m) { return m.isProjectedPermutation(); }))
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!isa<RankedTensorType>(input->get().getType()))
      return std::nullopt;
  SmallVector<unsigned> batch, m, n, k;
  for (unsigned d = 0, e = grid.cells.size(); d < e; ++d) {
    bool inA = maps[0].isFunctionOfDim(d), inB = maps[1].isFunctionOfDim(d),
         inC = maps[2].isFunctionOfDim(d);
    if (inA && inB && inC)
      batch.push_back(d);
    else if (inA && !inB && inC)
      m.push_back(d);
    else if (!inA && inB && inC)
      n.push_back(d);
    else if (inA && inB && !inC)
      k.push_back(d);
    else
      return std::nullopt;
  }
  const Access &a = grid.accesses[0], &b = grid.accesses[1],
               &c = grid.accesses[2];
  Contraction contraction;
  contraction.aBatch = groupOffsets(batch, grid, a);
  contraction.aM = groupOffsets(m, grid, a);
  contraction.aK = groupOffsets(k, grid, a);
  contraction.bBatch = groupOffsets(batch, grid, b);
  contraction.bN = groupOffsets(n, grid, b);
  contraction.bK = groupOffsets(k, grid, b);
  contraction.cBatch = groupOffsets(batch, grid, c);
  contraction.cM = groupOffsets(m, grid, c);
  contraction.cN = groupOffsets(n, grid, c);
  return contraction;
}

/// Calls `fn(r, c)` for every pair of a row offset in `rows` and a column
/// offset in `columns`, the group with the smaller step innermost, so that
/// `rows[r] + columns[c]` walks the entries in memory order (for a large
/// weight, the other order misses the cache on every entry).
template <typename Fn>
static void forEachPair(ArrayRef<int64_t> rows, ArrayRef<int64_t> columns,
                        Fn fn) {
  auto step = [](ArrayRef<int64_t> offsets) {
    return offsets.size() > 1 ? std::abs(offsets[1] - offsets[0]) : 0;
  };
  int64_t numRows = rows.size(), numColumns = columns.size();
  if (step(rows) < step(columns)) {
    for (int64_t c = 0; c < numColumns; ++c)
      for (int64_t r = 0; r < numRows; ++r)
        fn(r, c);
    return;
  }
  for (int64_t r = 0; r < numRows; ++r)
    for (int64_t c = 0; c < numColumns; ++c)
      fn(r, c);
}

/// The non-zero entries at `base + rows[r] + columns[c]`, as bit rows
/// indexed by r (by c when `byColumn`).
static BitRows getNonZeroBits(ArrayRef<uint8_t> entries, int64_t base,
                              ArrayRef<int64_t> rows, ArrayRef<int64_t> columns,
                              bool byColumn = false) {
  int64_t numRows = rows.size(), numColumns = columns.size();
  BitRows bits = byColumn ? BitRows(numColumns, numRows)
                          : BitRows(numRows, numColumns);
  forEachPair(rows, columns, [&](int64_t r, int64_t c) {
    if (entries[base + rows[r] + columns[c]])
      byColumn ? bits.set(c, r) : bits.set(r, c);
  });
  return bits;
}

static SparsityMap buildMap(const SparsityMap &like, const Access &access,
                            std::vector<uint8_t> entries) {
  return llvm::cantFail(
             SparsityMap::get(like.getShape(), access.grid, std::move(entries)))
      .getCanonical();
}

static MapList forwardContraction(linalg::LinalgOp op, const Contraction &c,
                                  const IterationGrid &grid,
                                  ArrayRef<const SparsityMap *> maps) {
  std::vector<uint8_t> a = maps[0]->getEntriesOn(grid.accesses[0].grid);
  std::vector<uint8_t> b = maps[1]->getEntriesOn(grid.accesses[1].grid);
  std::vector<uint8_t> init = maps[2]->getEntriesOn(grid.accesses[2].grid);
  uint8_t full = getFullBitsOf(op->getResult(0));
  std::vector<uint8_t> result(grid.accesses[2].size(), 0);
  for (size_t batch = 0; batch < c.aBatch.size(); ++batch) {
    BitRows aRows = getNonZeroBits(a, c.aBatch[batch], c.aM, c.aK);
    BitRows bRows = getNonZeroBits(b, c.bBatch[batch], c.bN, c.bK);
    forEachPair(c.cM, c.cN, [&](int64_t i, int64_t j) {
      int64_t out = c.cBatch[batch] + c.cM[i] + c.cN[j];
      if (init[out] || aRows.intersects(i, bRows, j))
        result[out] = full;
    });
  }
  MapList results;
  results.push_back(buildMap(*maps[2], grid.accesses[2], std::move(result)));
  return results;
}

static MapList backwardContraction(linalg::LinalgOp op, const Contraction &c,
                                   const IterationGrid &grid,
                                   ArrayRef<const SparsityMap *> maps,
                                   const SparsityMap &demand) {
  std::vector<uint8_t> a = maps[0]->getEntriesOn(grid.accesses[0].grid);
  std::vector<uint8_t> b = maps[1]->getEntriesOn(grid.accesses[1].grid);
  std::vector<uint8_t> live = demand.getEntriesOn(grid.accesses[2].grid);
  uint8_t fullA = getFullBitsOf(op->getOperand(0));
  uint8_t fullB = getFullBitsOf(op->getOperand(1));
  uint8_t fullC = getFullBitsOf(op->getOperand(2));
  int64_t numM = c.aM.size(), numN = c.bN.size();
  std::vector<uint8_t> demandA(a.size(), 0), demandB(b.size(), 0),
      demandC(live.size(), 0);
  for (size_t batch = 0; batch < c.aBatch.size(); ++batch) {
    // A[i,k] is needed iff some live C[i,j] has B[k,j] non-zero.
    BitRows liveByRow(numM, numN);
    BitRows bByK = getNonZeroBits(b, c.bBatch[batch], c.bN, c.bK,
                                  /*byColumn=*/true);
    // B[k,j] is needed iff some live C[i,j] has A[i,k] non-zero.
    BitRows liveByColumn(numN, numM);
    BitRows aByK = getNonZeroBits(a, c.aBatch[batch], c.aM, c.aK,
                                  /*byColumn=*/true);
    forEachPair(c.cM, c.cN, [&](int64_t i, int64_t j) {
      int64_t out = c.cBatch[batch] + c.cM[i] + c.cN[j];
      if (live[out]) {
        liveByRow.set(i, j);
        liveByColumn.set(j, i);
        demandC[out] = fullC;
      }
    });
    forEachPair(c.aM, c.aK, [&](int64_t i, int64_t k) {
      if (liveByRow.intersects(i, bByK, k))
        demandA[c.aBatch[batch] + c.aM[i] + c.aK[k]] = fullA;
    });
    forEachPair(c.bN, c.bK, [&](int64_t j, int64_t k) {
      if (liveByColumn.intersects(j, aByK, k))
        demandB[c.bBatch[batch] + c.bN[j] + c.bK[k]] = fullB;
    });
  }
  MapList results;
  results.push_back(buildMap(*maps[0], grid.accesses[0], std::move(demandA)));
  results.push_back(buildMap(*maps[1], grid.accesses[1], std::move(demandB)));
  results.push_back(buildMap(*maps[2], grid.accesses[2], std::move(demandC)));
  return results;
}

//===----------------------------------------------------------------------===//
// The general rule
//===----------------------------------------------------------------------===//

/// The payload arguments that are zero at the loop cell `index`.
static uint32_t zeroArguments(ArrayRef<std::vector<uint8_t>> entries,
                              unsigned numOperands, ArrayRef<int64_t> index) {
  uint32_t zero = 0;
  for (unsigned k = 0; k < numOperands; ++k)
    if (entries[k][index[k]] == kPrunedBits)
      zero |= 1u << k;
  return zero;
}

/// A bit mask of the payload arguments that belong to inits.
static uint32_t initArguments(linalg::LinalgOp op) {
  uint32_t mask = 0;
  for (OpOperand &init : op.getDpsInitsMutable())
    mask |= 1u << init.getOperandNumber();
  return mask;
}

FailureOr<MapList> propagation::forwardStructuredOp(
    linalg::LinalgOp op, const BodySummary &summary,
    ArrayRef<const SparsityMap *> operandContent, std::string &reason) {
  StructuredFacts facts;
  if (failed(facts.init(op, operandContent, reason)))
    return failure();
  FailureOr<IterationGrid> grid = buildGrid(op, facts.maps, reason);
  if (failed(grid))
    return failure();
  if (std::optional<Contraction> contraction =
          matchContraction(op, summary, *grid))
    return forwardContraction(op, *contraction, *grid, facts.maps);

  unsigned numOperands = op->getNumOperands();
  unsigned numInputs = op.getNumDpsInputs();
  bool reduction = op.getNumReductionLoops() > 0;
  uint32_t inits = initArguments(op);
  Block *body = op.getBlock();
  Operation *yield = body->getTerminator();

  std::vector<std::vector<uint8_t>> entries;
  for (unsigned k = 0; k < numOperands; ++k)
    entries.push_back(facts.maps[k]->getEntriesOn(grid->accesses[k].grid));
  SmallVector<uint8_t> full;
  SmallVector<bool> identityInit;
  std::vector<std::vector<uint8_t>> results;
  for (OpResult result : op->getResults()) {
    unsigned r = result.getResultNumber();
    full.push_back(getFullBitsOf(result));
    identityInit.push_back(isReductionIdentity(op.getDpsInits()[r],
                                               yield->getOperand(r)));
    results.emplace_back(entries[numInputs + r].size(), 0);
  }

  forEachLoopCell(*grid, [&](ArrayRef<int64_t> index) {
    uint32_t zero = zeroArguments(entries, numOperands, index);
    // Inductively, a reduction's accumulator is zero while every step
    // yields zero.
    if (reduction)
      zero |= inits;
    for (unsigned r = 0, e = results.size(); r < e; ++r) {
      if (summary.isZero(r, zero))
        continue;
      uint8_t bits = full[r];
      if (uint32_t preserved = summary.getPreservedArguments(r)) {
        bits = 0;
        for (unsigned k = 0; k < numOperands; ++k)
          if ((preserved >> k) & 1 && !(identityInit[r] && k == numInputs + r))
            bits = std::max(bits, entries[k][index[k]]);
        bits = std::min(bits, full[r]);
      }
      uint8_t &out = results[r][index[numInputs + r]];
      out = std::max(out, bits);
    }
  });

  MapList maps;
  for (unsigned r = 0, e = results.size(); r < e; ++r) {
    const Access &access = grid->accesses[numInputs + r];
    // A reduction starts from its init: where that is non-zero (and not the
    // reduction's identity), so is the result.
    BlockArgument accumulator = body->getArgument(numInputs + r);
    if (reduction && !identityInit[r] && !accumulator.use_empty()) {
      const std::vector<uint8_t> &init = entries[numInputs + r];
      bool preserves = (summary.getPreservedArguments(r) >> (numInputs + r)) & 1;
      for (size_t i = 0; i < init.size(); ++i)
        if (init[i] != kPrunedBits)
          results[r][i] =
              std::max(results[r][i], preserves ? init[i] : full[r]);
    }
    maps.push_back(buildMap(*facts.maps[numInputs + r], access,
                            std::move(results[r])));
  }
  return maps;
}

FailureOr<MapList> propagation::backwardStructuredOp(
    linalg::LinalgOp op, const BodySummary &summary,
    ArrayRef<const SparsityMap *> operandContent,
    ArrayRef<const SparsityMap *> resultDemand, std::string &reason) {
  StructuredFacts facts;
  if (failed(facts.init(op, operandContent, reason)))
    return failure();
  unsigned numOperands = op->getNumOperands();
  SmallVector<const SparsityMap *> slots(facts.maps);
  for (const SparsityMap *demand : resultDemand) {
    if (!demand) {
      reason = "a result is not a statically shaped tensor";
      return failure();
    }
    slots.push_back(demand);
  }
  FailureOr<IterationGrid> grid = buildGrid(op, slots, reason);
  if (failed(grid))
    return failure();
  if (std::optional<Contraction> contraction =
          matchContraction(op, summary, *grid))
    return backwardContraction(op, *contraction, *grid, facts.maps,
                               *resultDemand[0]);

  bool reduction = op.getNumReductionLoops() > 0;
  uint32_t inits = initArguments(op);
  std::vector<std::vector<uint8_t>> entries;
  for (unsigned k = 0; k < slots.size(); ++k)
    entries.push_back(slots[k]->getEntriesOn(grid->accesses[k].grid));
  SmallVector<uint8_t> full;
  std::vector<std::vector<uint8_t>> demands;
  for (unsigned k = 0; k < numOperands; ++k) {
    full.push_back(getFullBitsOf(op->getOperand(k)));
    demands.emplace_back(entries[k].size(), 0);
  }
  unsigned numResults = resultDemand.size();

  forEachLoopCell(*grid, [&](ArrayRef<int64_t> index) {
    uint32_t zero = zeroArguments(entries, numOperands, index);
    // A reduction's accumulator holds a partial result: assume non-zero.
    if (reduction)
      zero &= ~inits;
    for (unsigned r = 0; r < numResults; ++r) {
      uint8_t live = entries[numOperands + r][index[numOperands + r]];
      if (live == kPrunedBits)
        continue;
      uint32_t deps = summary.getDependences(r, zero);
      uint32_t preserved = summary.getPreservedArguments(r);
      for (unsigned k = 0; k < numOperands; ++k) {
        if (!((deps >> k) & 1))
          continue;
        uint8_t need = (preserved >> k) & 1 ? std::min(live, full[k]) : full[k];
        uint8_t &slot = demands[k][index[k]];
        slot = std::max(slot, need);
      }
    }
  });

  MapList maps;
  for (unsigned k = 0; k < numOperands; ++k) {
    if (!operandContent[k]) {
      maps.push_back(std::nullopt);
      continue;
    }
    maps.push_back(
        buildMap(*facts.maps[k], grid->accesses[k], std::move(demands[k])));
  }
  return maps;
}
