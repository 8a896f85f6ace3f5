//===- TensorCores.cpp - Warp-wide tensor-core instructions as host loops ===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// ldmatrix, nvgpu's and NVVM's mma.sync and NVVM's mma.sp on the host: each
// thread's registers are kept for the warp, then each thread computes its
// fragments or accumulators from the lanes that hold them, in the PTX
// ISA's layouts ("Matrix Fragments for mma.m16n8k*"). The layouts are
// written here from the ISA, not taken from the code generator's own
// (MmaAtom, PartLayout), so that a mistake there is not repeated here.
//
//===----------------------------------------------------------------------===//

#include "HostLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace tesa::host_loops;

LogicalResult HostLaunch::emitLoadMatrix(nvgpu::LdMatrixOp load) {
  // Lane 8i + r gives the address of row r of matrix i.
  SmallVector<Value> rowStarts;
  for (Value position : load.getIndices()) {
    FailureOr<Value> kept = keepPerThread(position);
    if (failed(kept))
      return failure();
    rowStarts.push_back(*kept);
  }
  FailureOr<SmallVector<Value>> results = allocateEach(load.getResult());
  if (failed(results))
    return failure();
  auto type = cast<VectorType>(load.getResult().getType());
  int64_t perLane = type.getDimSize(1);
  if (load.getTranspose() && perLane != 2)
    return fail(load, "a transposed matrix load of 8-bit elements");
  return inThreads([&](Thread &thread) -> LogicalResult {
    FailureOr<Value> matrix = lookup(thread, load.getSrcMemref());
    if (failed(matrix))
      return failure();
    Value lane = arith::RemUIOp::create(b, loc, thread.linear, index(32));
    Value warp = getWarpStart(thread);
    Value group = arith::DivUIOp::create(b, loc, lane, index(4));
    Value inGroup = arith::RemUIOp::create(b, loc, lane, index(4));
    SmallVector<Value> elements;
    for (int64_t i = 0; i < type.getDimSize(0); ++i) {
      for (int64_t j = 0; j < perLane; ++j) {
        // Lane (g, t) holds row g, elements t * perLane + j of each matrix;
        // transposed, column g of rows 2t + j.
        Value row = group, column;
        Value inRow = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, inGroup, index(perLane)),
            index(j));
        column = inRow;
        if (load.getTranspose())
          std::swap(row, column);
        Value source = arith::AddIOp::create(
            b, loc, warp, arith::AddIOp::create(b, loc, row, index(8 * i)));
        SmallVector<Value> indices;
        for (Value starts : rowStarts)
          indices.push_back(memref::LoadOp::create(b, loc, starts, source));
        indices.back() = arith::AddIOp::create(b, loc, indices.back(), column);
        Value element = memref::LoadOp::create(b, loc, *matrix, indices);
        elements.push_back(element);
      }
    }
    Value result = vector::FromElementsOp::create(b, loc, type, elements);
    memref::StoreOp::create(b, loc, result, results->front(), thread.linear);
    buffers[load.getResult()] = results->front();
    return success();
  });
}

HostLaunch::LaneIds HostLaunch::getLaneIds(Thread &thread) {
  Value lane = arith::RemUIOp::create(b, loc, thread.linear, index(32));
  return {getWarpStart(thread), arith::DivUIOp::create(b, loc, lane, index(4)),
          arith::RemUIOp::create(b, loc, lane, index(4))};
}

Value HostLaunch::getLane(const LaneIds &ids, Value group, Value inGroup) {
  return arith::AddIOp::create(
      b, loc, ids.warp,
      arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, group, index(4)), inGroup));
}

FailureOr<HostLaunch::Fragments>
HostLaunch::keepFragments(ValueRange registers) {
  Fragments kept;
  for (Value value : registers) {
    FailureOr<Value> buffer = keepPerThread(value);
    if (failed(buffer))
      return failure();
    kept.buffers.push_back(*buffer);
  }
  return kept;
}

Value HostLaunch::readFragment(const Fragments &kept, Value lane, int64_t reg,
                               OpFoldResult element) {
  // One buffer of 2-D vectors, a register a row, or one buffer a register.
  auto vector = dyn_cast<VectorType>(
      cast<MemRefType>(kept.buffers.front().getType()).getElementType());
  bool rows = vector && vector.getRank() == 2;
  Value registers =
      memref::LoadOp::create(b, loc, kept.buffers[rows ? 0 : reg], lane);
  if (registers.getType().isInteger(32)) {
    // A signed byte of a word, the first in the low byte.
    int64_t byte = *getConstantIntValue(element);
    return arith::ShRSIOp::create(
        b, loc,
        arith::ShLIOp::create(
            b, loc, registers,
            arith::ConstantIntOp::create(b, loc, 24 - 8 * byte, 32)),
        arith::ConstantIntOp::create(b, loc, 24, 32));
  }
  SmallVector<OpFoldResult> position = {element};
  if (rows)
    position.insert(position.begin(), b.getIndexAttr(reg));
  return arith::ExtFOp::create(
      b, loc, b.getF32Type(),
      vector::ExtractOp::create(b, loc, registers, position).getResult());
}

LogicalResult HostLaunch::emitWarpProduct(
    Value result, VectorType type,
    function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf,
    function_ref<Value(const LaneIds &, int64_t, Value, Value)> addProducts) {
  Value results = allocatePerThread(type);
  if (failed(inThreads([&](Thread &thread) -> LogicalResult {
        LaneIds ids = getLaneIds(thread);
        SmallVector<Value> sums;
        for (int64_t i = 0; i < type.getNumElements(); ++i) {
          FailureOr<Value> initial = initialOf(thread, i);
          if (failed(initial))
            return failure();
          Value column = arith::AddIOp::create(
              b, loc, arith::MulIOp::create(b, loc, ids.inGroup, index(2)),
              index(i % 2));
          Value sum = addProducts(ids, i, column, *initial);
          if (sum.getType() != type.getElementType())
            sum = arith::TruncFOp::create(b, loc, type.getElementType(), sum);
          sums.push_back(sum);
        }
        memref::StoreOp::create(
            b, loc, vector::FromElementsOp::create(b, loc, type, sums), results,
            thread.linear);
        return success();
      })))
    return failure();
  buffers[result] = results;
  return success();
}

LogicalResult HostLaunch::emitDenseProduct(
    Value result, VectorType type,
    function_ref<FailureOr<Value>(Thread &, int64_t)> initialOf, ValueRange a,
    ValueRange bRegisters, int64_t m, int64_t k, int64_t perWord) {
  FailureOr<Fragments> as = keepFragments(a);
  FailureOr<Fragments> bs = keepFragments(bRegisters);
  if (failed(as) || failed(bs))
    return failure();
  // Four lanes cover 4 perWord elements of k; A's registers alternate the
  // rows g and g + 8 (m16) before moving along k.
  int64_t perGroup = 4 * perWord;
  return emitWarpProduct(
      result, type, initialOf,
      [&](const LaneIds &ids, int64_t i, Value column, Value total) {
        int64_t rowHalf = i / 2;
        for (int64_t kk = 0; kk < k; ++kk) {
          int64_t chunk = kk / perGroup, t = (kk % perGroup) / perWord;
          int64_t aReg = m == 16 ? rowHalf + 2 * chunk : chunk;
          Value x = readFragment(*as, getLane(ids, ids.group, index(t)), aReg,
                                 b.getIndexAttr(kk % perWord));
          Value y = readFragment(*bs, getLane(ids, column, index(t)), chunk,
                                 b.getIndexAttr(kk % perWord));
          total =
              isa<FloatType>(total.getType())
                  ? Value(math::FmaOp::create(b, loc, x, y, total))
                  : Value(arith::AddIOp::create(
                        b, loc, total, arith::MulIOp::create(b, loc, x, y)));
        }
        return total;
      });
}

LogicalResult HostLaunch::emitMmaSync(nvgpu::MmaSyncOp mma) {
  auto aType = cast<VectorType>(mma.getMatrixA().getType());
  auto accType = cast<VectorType>(mma.getMatrixC().getType());
  if (ArrayRef<int64_t>(mma.getMmaShapeAsArray()) !=
          ArrayRef<int64_t>{16, 8, 16} ||
      !aType.getElementType().isF16() ||
      aType.getShape() != ArrayRef<int64_t>{4, 2})
    return fail(mma, "only the m16n8k16 f16 product runs on the host");
  // Accumulator i is element (i / 2, i % 2) of the 2x2 vector, in f32.
  return emitDenseProduct(
      mma.getRes(), accType,
      [&](Thread &thread, int64_t i) -> FailureOr<Value> {
        FailureOr<Value> acc = lookup(thread, mma.getMatrixC());
        if (failed(acc))
          return failure();
        Value value = vector::ExtractOp::create(
            b, loc, *acc, ArrayRef<int64_t>{i / 2, i % 2});
        if (!value.getType().isF32())
          value = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
        return value;
      },
      mma.getMatrixA(), mma.getMatrixB(), 16, 16, 2);
}

LogicalResult HostLaunch::emitNvvmMma(NVVM::MmaOp mma) {
  int64_t m = mma.getShape().getM(), k = mma.getShape().getK();
  ValueRange initial = mma.getOperandC();
  Type word = mma.getOperandA().front().getType();
  bool isF16 = word == VectorType::get({2}, b.getF16Type());
  bool isS8 =
      word.isInteger(32) && mma.getMultiplicandAPtxType() == NVVM::MMATypes::s8;
  Type accumulator = initial.front().getType();
  if (mma.getLayoutA() != NVVM::MMALayout::row ||
      mma.getLayoutB() != NVVM::MMALayout::col || (!isF16 && !isS8) ||
      accumulator != (isF16 ? Type(b.getF32Type()) : Type(b.getI32Type())) ||
      (m != 8 && m != 16))
    return fail(mma, "only row-major by column-major f16 (into f32) and s8 "
                     "(into s32) tensor-core products run on the host");
  return emitDenseProduct(
      mma.getRes(), VectorType::get({int64_t(initial.size())}, accumulator),
      [&](Thread &thread, int64_t i) { return lookup(thread, initial[i]); },
      mma.getOperandA(), mma.getOperandB(), m, k, isF16 ? 2 : 4);
}

LogicalResult HostLaunch::emitNvvmMmaSparse(NVVM::MmaSpOp mma) {
  auto pair = VectorType::get({2}, b.getF16Type());
  ValueRange initial = mma.getOperandC();
  if (mma.getShape().getM() != 16 || mma.getShape().getN() != 8 ||
      mma.getShape().getK() != 32 || mma.getOperandA().size() != 4 ||
      mma.getOperandA().front().getType() != pair ||
      mma.getOperandB().size() != 4 || initial.size() != 4 ||
      !initial.front().getType().isF32() ||
      !matchPattern(mma.getSparsitySelector(), m_Zero()))
    return fail(mma, "only the m16n8k32 f16 sparse product with sparsity "
                     "selector 0 runs on the host");
  FailureOr<Fragments> as = keepFragments(mma.getOperandA());
  FailureOr<Fragments> bs = keepFragments(mma.getOperandB());
  FailureOr<Value> metadata = keepPerThread(mma.getSparseMetadata());
  if (failed(as) || failed(bs) || failed(metadata))
    return failure();
  return emitWarpProduct(
      mma.getRes(), VectorType::get({4}, b.getF32Type()),
      [&](Thread &thread, int64_t i) { return lookup(thread, initial[i]); },
      [&](const LaneIds &ids, int64_t i, Value column, Value total) {
        int64_t half = i / 2;
        for (int64_t j = 0; j < 8; ++j) {
          // Group j's metadata: lane 4g + j / 4, bits 16 half + 4 (j % 4).
          Value word = memref::LoadOp::create(
              b, loc, *metadata, getLane(ids, ids.group, index(j / 4)));
          for (int64_t v = 0; v < 2; ++v) {
            Value shift = arith::ConstantIntOp::create(
                b, loc, 16 * half + 4 * (j % 4) + 2 * v, 32);
            Value position = arith::IndexCastUIOp::create(
                b, loc, b.getIndexType(),
                arith::AndIOp::create(
                    b, loc, arith::ShRUIOp::create(b, loc, word, shift),
                    arith::ConstantIntOp::create(b, loc, 3, 32)));
            // A's value 2j + v of the row, in the dense m16n8k16 layout.
            int64_t c = 2 * j + v;
            Value x =
                readFragment(*as, getLane(ids, ids.group, index((c % 8) / 2)),
                             half + 2 * (c / 8), b.getIndexAttr(c % 2));
            // B(4j + position, column): register j / 2, lane 4 column +
            // (4 (j % 2) + position) / 2, element position % 2.
            Value inChunk =
                arith::AddIOp::create(b, loc, index(4 * (j % 2)), position);
            Value y = readFragment(
                *bs,
                getLane(ids, column,
                        arith::DivUIOp::create(b, loc, inChunk, index(2))),
                j / 2,
                arith::RemUIOp::create(b, loc, position, index(2)).getResult());
            total = math::FmaOp::create(b, loc, x, y, total);
          }
        }
        return total;
      });
}
