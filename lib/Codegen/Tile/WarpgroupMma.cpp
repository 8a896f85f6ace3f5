//===- WarpgroupMma.cpp - The sm_90 warpgroup tensor-core atom ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;
using namespace tesa;

bool tesa::isWgmmaRowBytes(int64_t rowBytes) {
  return rowBytes == 32 || rowBytes == 64 || rowBytes == 128;
}

int64_t tesa::getSwizzledChunk(int64_t row, int64_t chunk, int64_t rowBytes) {
  // The swizzle XORs bits 4-6 of a byte offset (the 16-byte chunk) with
  // bits 7-9 (the 128-byte line), as many bits as a row has chunk bits.
  int64_t line = row * rowBytes / 128;
  return chunk ^ (line % (rowBytes / 16));
}

Value tesa::emitSwizzledChunk(KernelEmitter &e, Value row, Value chunk,
                              int64_t rowBytes) {
  Value line = e.div(e.affine(row, rowBytes), 128);
  return arith::XOrIOp::create(e.b, chunk, e.rem(line, rowBytes / 16));
}

int64_t tesa::getSwizzledChunkOffset(int64_t row, int64_t chunk,
                                     int64_t rowBytes) {
  return row * rowBytes + 16 * getSwizzledChunk(row, chunk, rowBytes);
}

uint64_t tesa::getWgmmaDescriptorFields(int64_t rowBytes) {
  // Layout modes: 1 = 128-byte swizzle, 2 = 64-byte, 3 = 32-byte.
  uint64_t mode = rowBytes == 128 ? 1 : rowBytes == 64 ? 2 : 3;
  uint64_t leadingOffset = 16 >> 4;
  uint64_t strideOffset = (8 * rowBytes) >> 4;
  return (leadingOffset << 16) | (strideOffset << 32) | (mode << 62);
}

int64_t tesa::getWgmmaSliceBytes(bool mnMajor, int64_t rowBytes) {
  return mnMajor ? kWgmmaK * rowBytes : 2 * kWgmmaK;
}

std::pair<int64_t, int64_t> tesa::getWgmmaAccumulatorPosition(int64_t thread,
                                                              int64_t i) {
  // Warp w holds rows 16w .. 16w + 15; within them, every 8 columns are
  // laid out as the accumulators of an m16n8 mma.sync tile.
  int64_t warp = thread / 32, lane = thread % 32, inTile = i % 4;
  return {16 * warp + lane / 4 + 8 * (inTile / 2),
          8 * (i / 4) + 2 * (lane % 4) + inTile % 2};
}

WarpgroupMmaEmitter::WarpgroupMmaEmitter(KernelEmitter &e, int64_t n,
                                         bool bMnMajor, WgmmaOperands operands)
    : e(e), n(n), bMnMajor(bMnMajor), operands(operands) {
  assert((operands == WgmmaOperands::F16 || !bMnMajor) &&
         "s8 tiles are K-major");
  Type field = operands == WgmmaOperands::S8 ? Type(e.b.getI32Type())
                                             : Type(e.b.getF32Type());
  SmallVector<Type> fields(n / 2, field);
  accumulatorType =
      LLVM::LLVMStructType::getLiteral(e.b.getContext(), fields);
}

Value WarpgroupMmaEmitter::zeroAccumulator() {
  return LLVM::ZeroOp::create(e.b, accumulatorType);
}

Value WarpgroupMmaEmitter::getDescriptor(Value address, int64_t rowBytes) {
  ImplicitLocOpBuilder &b = e.b;
  // The shared address in 16-byte units, 14 bits.
  Value units = e.rem(e.div(address, 16), 1 << 14);
  Value field = arith::IndexCastUIOp::create(b, b.getI64Type(), units);
  Value fields = arith::ConstantOp::create(
      b, b.getI64IntegerAttr(int64_t(getWgmmaDescriptorFields(rowBytes))));
  return arith::OrIOp::create(b, field, fields);
}

Value WarpgroupMmaEmitter::advance(Value descriptor, int64_t bytes) {
  // The address field does not carry into the next: tiles lie below 256
  // KiB.
  Value units =
      arith::ConstantOp::create(e.b, e.b.getI64IntegerAttr(bytes / 16));
  return arith::AddIOp::create(e.b, descriptor, units);
}

Value WarpgroupMmaEmitter::advance(Value descriptor, Value units) {
  Value field = arith::IndexCastUIOp::create(e.b, e.b.getI64Type(), units);
  return arith::AddIOp::create(e.b, descriptor, field);
}

Value WarpgroupMmaEmitter::multiply(Value a, Value b, Value acc) {
  MLIRContext *context = e.b.getContext();
  bool s8 = operands == WgmmaOperands::S8;
  auto shape =
      NVVM::MMAShapeAttr::get(context, kWgmmaRows, n, s8 ? 2 * kWgmmaK : kWgmmaK);
  auto type = [&](NVVM::WGMMATypes kind) {
    return NVVM::WGMMATypesAttr::get(context, kind);
  };
  NVVM::WGMMATypes input = s8 ? NVVM::WGMMATypes::s8 : NVVM::WGMMATypes::f16;
  auto one = NVVM::WGMMAScaleInAttr::get(context, NVVM::WGMMAScaleIn::one);
  // A K-major ("row"); B K-major ("col") or MN-major ("row", transposed as
  // it is read).
  return NVVM::WgmmaMmaAsyncOp::create(
      e.b, accumulatorType, acc, a, b, shape, type(input), type(input),
      type(s8 ? NVVM::WGMMATypes::s32 : NVVM::WGMMATypes::f32),
      NVVM::WGMMAScaleOutAttr::get(context, NVVM::WGMMAScaleOut::one), one,
      one, NVVM::MMALayoutAttr::get(context, NVVM::MMALayout::row),
      NVVM::MMALayoutAttr::get(context, bMnMajor ? NVVM::MMALayout::row
                                                 : NVVM::MMALayout::col),
      NVVM::MMAIntOverflowAttr());
}

Value WarpgroupMmaEmitter::multiplySparse(Value a, Value b, Value metadata,
                                          Value acc) {
  assert(operands == WgmmaOperands::F16 && !bMnMajor &&
         "sparse tiles are f16, K-major");
  // No NVVM op has the sparse form: inline PTX, the accumulators tied to
  // the results, sparsity selector 0, scales 1, no transposes.
  int64_t fields = getAccumulatorCount();
  std::string text;
  llvm::raw_string_ostream ptx(text);
  ptx << "wgmma.mma_async.sp.sync.aligned.m" << kWgmmaRows << "n" << n
      << "k" << 2 * kWgmmaK << ".f32.f16.f16 {";
  for (int64_t i = 0; i < fields; ++i)
    ptx << (i ? "," : "") << "$" << i;
  ptx << "}, $" << fields << ", $" << fields + 1 << ", $" << fields + 2
      << ", 0, 1, 1, 1, 0, 0;";
  std::string constraints;
  for (int64_t i = 0; i < fields; ++i)
    constraints += "=f,";
  constraints += "l,l,r";
  SmallVector<Value> inputs = {a, b, metadata};
  for (int64_t i = 0; i < fields; ++i) {
    constraints += "," + std::to_string(i);
    inputs.push_back(getAccumulator(acc, i));
  }
  return LLVM::InlineAsmOp::create(
             e.b, accumulatorType, inputs, text, constraints,
             /*has_side_effects=*/true, /*is_align_stack=*/false,
             LLVM::tailcallkind::TailCallKind::None,
             LLVM::AsmDialectAttr::get(e.b.getContext(),
                                       LLVM::AsmDialect::AD_ATT),
             ArrayAttr())
      .getResult(0);
}

void WarpgroupMmaEmitter::fence() { NVVM::WgmmaFenceAlignedOp::create(e.b); }

void WarpgroupMmaEmitter::commitAndWait(int64_t pending) {
  NVVM::WgmmaGroupSyncAlignedOp::create(e.b);
  NVVM::WgmmaWaitGroupSyncOp::create(e.b, pending);
}

Value WarpgroupMmaEmitter::getAccumulator(Value acc, int64_t i) {
  return LLVM::ExtractValueOp::create(e.b, acc, i);
}

std::pair<Value, Value>
WarpgroupMmaEmitter::getAccumulatorPosition(Value thread, int64_t i) {
  return getAccumulatorPosition(thread, e.index(i));
}

std::pair<Value, Value>
WarpgroupMmaEmitter::getAccumulatorPosition(Value thread, Value i) {
  Value warp = e.div(thread, 32), lane = e.rem(thread, 32);
  Value inTile = e.rem(i, 4);
  Value row = e.add(e.affine(warp, 16),
                    e.add(e.div(lane, 4), e.affine(e.div(inTile, 2), 8)));
  Value column = e.add(e.affine(e.rem(lane, 4), 2),
                       e.add(e.affine(e.div(i, 4), 8), e.rem(inTile, 2)));
  return {row, column};
}
