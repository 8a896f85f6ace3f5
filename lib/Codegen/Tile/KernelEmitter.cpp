//===- KernelEmitter.cpp - Building the body of a kernel ------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace tesa;

gpu::GPUFuncOp KernelEmitter::beginKernel(gpu::GPUModuleOp module,
                                          StringRef name,
                                          ArrayRef<Type> arguments) {
  b.setInsertionPointToEnd(module.getBody());
  auto kernel = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(b.getContext(), arguments, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(&kernel.front());
  gpu::ReturnOp::create(b);
  b.setInsertionPointToStart(&kernel.front());
  return kernel;
}

Value KernelEmitter::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

Value KernelEmitter::f32(double value) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
}

Value KernelEmitter::zero(Type type) {
  return arith::ConstantOp::create(b, b.getFloatAttr(type, 0.0));
}

Value KernelEmitter::toF32(Value x) { return convert(x, b.getF32Type()); }

Value KernelEmitter::convert(Value x, Type type) {
  unsigned from = x.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  bool isFloat = isa<FloatType>(type);
  if (from < to)
    return isFloat ? arith::ExtFOp::create(b, type, x).getResult()
                   : arith::ExtUIOp::create(b, type, x).getResult();
  if (from > to)
    return isFloat ? arith::TruncFOp::create(b, type, x).getResult()
                   : arith::TruncIOp::create(b, type, x).getResult();
  return x;
}

Value KernelEmitter::add(Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, x, y);
  return arith::AddIOp::create(b, x, y);
}

Value KernelEmitter::mul(Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, x, y);
  return arith::MulIOp::create(b, x, y);
}

Value KernelEmitter::affine(Value x, int64_t factor, int64_t offset) {
  Value scaled = factor == 1 ? x : mul(x, index(factor));
  return offset == 0 ? scaled : add(scaled, index(offset));
}

Value KernelEmitter::div(Value x, int64_t y) {
  return arith::DivUIOp::create(b, x, index(y));
}

Value KernelEmitter::rem(Value x, int64_t y) {
  return arith::RemUIOp::create(b, x, index(y));
}

Value KernelEmitter::less(Value x, int64_t bound) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, index(bound));
}

Value KernelEmitter::both(Value x, Value y) {
  return arith::AndIOp::create(b, x, y);
}

Value KernelEmitter::threadId() {
  return gpu::ThreadIdOp::create(b, gpu::Dimension::x);
}

Value KernelEmitter::blockId(gpu::Dimension dimension) {
  return gpu::BlockIdOp::create(b, dimension);
}

Value KernelEmitter::linearIndex(ArrayRef<Value> coordinates,
                                 ArrayRef<int64_t> strides, Value base) {
  Value sum = base;
  for (auto [coordinate, stride] : llvm::zip_equal(coordinates, strides)) {
    if (stride == 0)
      continue;
    Value term = affine(coordinate, stride);
    sum = sum ? add(sum, term) : term;
  }
  return sum ? sum : index(0);
}

Value KernelEmitter::load(Value buffer, Value offset) {
  return memref::LoadOp::create(b, buffer, offset);
}

Value KernelEmitter::loadOr(Value buffer, Value offset, Value inBounds,
                            Value fallback) {
  Value safe = arith::SelectOp::create(b, inBounds, offset, index(0));
  Value value = load(buffer, safe);
  return arith::SelectOp::create(b, inBounds, value, fallback);
}

void KernelEmitter::store(Value value, Value buffer, Value offset) {
  memref::StoreOp::create(b, value, buffer, offset);
}

void KernelEmitter::ifThen(Value condition, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  body();
}

void KernelEmitter::ifThenElse(Value condition, function_ref<void()> thenBody,
                               function_ref<void()> elseBody) {
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  thenBody();
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  elseBody();
}

Value KernelEmitter::table(gpu::GPUModuleOp module, StringRef name,
                           ArrayRef<int32_t> data) {
  SmallVector<int32_t> values(data);
  if (values.empty())
    values.push_back(0);
  auto type = MemRefType::get({int64_t(values.size())}, b.getI32Type());
  if (!module.lookupSymbol(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    memref::GlobalOp::create(
        b, name, b.getStringAttr("private"), type,
        DenseElementsAttr::get(RankedTensorType::get(type.getShape(),
                                                     b.getI32Type()),
                               ArrayRef<int32_t>(values)),
        /*constant=*/true, /*alignment=*/IntegerAttr());
  }
  return memref::GetGlobalOp::create(b, type, name);
}

Value KernelEmitter::loadIndex(Value table, Value i) {
  Value value = memref::LoadOp::create(b, table, ValueRange{i});
  return arith::IndexCastUIOp::create(b, b.getIndexType(), value);
}

Value KernelEmitter::cloneBody(Block &body, IRMapping &mapping) {
  for (Operation &op : body.without_terminator()) {
    for (Value operand : op.getOperands())
      if (!mapping.contains(operand) &&
          operand.getParentRegion() != body.getParent())
        mapping.map(operand, b.clone(*operand.getDefiningOp())->getResult(0));
    b.clone(op, mapping);
  }
  return mapping.lookup(body.getTerminator()->getOperand(0));
}

Value KernelEmitter::workgroupBuffer(gpu::GPUFuncOp kernel,
                                     ArrayRef<int64_t> shape,
                                     Type elementType) {
  auto workgroup = gpu::AddressSpaceAttr::get(
      b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
  BlockArgument buffer = kernel.addWorkgroupAttribution(
      MemRefType::get(shape, elementType ? elementType : b.getF32Type(),
                      MemRefLayoutAttrInterface(), workgroup),
      b.getLoc());
  kernel.setWorkgroupAttributionAttr(
      kernel.getNumWorkgroupAttributions() - 1,
      LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(16));
  return buffer;
}

void KernelEmitter::barrier() { gpu::BarrierOp::create(b); }

Value KernelEmitter::combine(Value x, Value y, ReductionKind kind) {
  switch (kind) {
  case ReductionKind::Add:
    return arith::AddFOp::create(b, x, y);
  case ReductionKind::Max:
    return arith::MaximumFOp::create(b, x, y);
  case ReductionKind::And:
    return arith::AndIOp::create(b, x, y);
  }
  llvm_unreachable("unknown reduction");
}

Value KernelEmitter::fromFirstLane(Value x) {
  Value lane = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
  Value width = arith::ConstantIntOp::create(b, b.getI32Type(), 32);
  Value value = arith::IndexCastUIOp::create(b, b.getI32Type(), x);
  Value first = gpu::ShuffleOp::create(b, value, lane, width,
                                       gpu::ShuffleMode::IDX)
                    .getShuffleResult();
  return arith::IndexCastUIOp::create(b, b.getIndexType(), first);
}

Value KernelEmitter::shuffleFrom(Value x, Value lane) {
  if (auto vector = dyn_cast<VectorType>(x.getType())) {
    SmallVector<Value> elements;
    for (int64_t i = 0; i < vector.getNumElements(); ++i)
      elements.push_back(shuffleFrom(vector::ExtractOp::create(b, x, i), lane));
    return vector::FromElementsOp::create(b, vector, elements);
  }
  Value source = arith::IndexCastUIOp::create(b, b.getI32Type(), lane);
  Value width = arith::ConstantIntOp::create(b, b.getI32Type(), 32);
  return gpu::ShuffleOp::create(b, x, source, width, gpu::ShuffleMode::IDX)
      .getShuffleResult();
}

Value KernelEmitter::shuffleXor(Value x, int64_t offset) {
  Value width = arith::ConstantIntOp::create(b, b.getI32Type(), 32);
  Value shift = arith::ConstantIntOp::create(b, b.getI32Type(), offset);
  if (x.getType().getIntOrFloatBitWidth() != 64)
    return gpu::ShuffleOp::create(b, x, shift, width, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  // Shuffles move 32 bits: a 64-bit value moves as its two halves.
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = arith::BitcastOp::create(b, i64, x);
  Value thirtyTwo = arith::ConstantIntOp::create(b, i64, 32);
  Value halves[] = {arith::TruncIOp::create(b, i32, bits),
                    arith::TruncIOp::create(
                        b, i32, arith::ShRUIOp::create(b, bits, thirtyTwo))};
  for (Value &half : halves)
    half = gpu::ShuffleOp::create(b, half, shift, width,
                                  gpu::ShuffleMode::XOR)
               .getShuffleResult();
  Value low = arith::ExtUIOp::create(b, i64, halves[0]);
  Value high = arith::ShLIOp::create(
      b, arith::ExtUIOp::create(b, i64, halves[1]), thirtyTwo);
  return arith::BitcastOp::create(b, x.getType(),
                                  arith::OrIOp::create(b, low, high));
}

Value KernelEmitter::reduceAcrossLanes(Value x, ReductionKind kind,
                                       int64_t lanes) {
  for (int64_t offset = lanes / 2; offset >= 1; offset /= 2)
    x = combine(x, shuffleXor(x, offset), kind);
  return x;
}

Value KernelEmitter::reduceAcrossBlock(Value x, ReductionKind kind,
                                       int64_t threads, Value scratch) {
  // Combined in the scratch buffer's type.
  Type type = x.getType();
  Type combined = cast<MemRefType>(scratch.getType()).getElementType();
  x = reduceAcrossLanes(convert(x, combined), kind, 32);
  int64_t warps = threads / 32;
  if (warps == 1)
    return convert(x, type);
  Value tid = threadId();
  Value lane = rem(tid, 32);
  Value isFirstLane = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane,
                                            index(0));
  ifThen(isFirstLane, [&] { store(x, scratch, div(tid, 32)); });
  barrier();
  Value total = load(scratch, index(0));
  for (int64_t w = 1; w < warps; ++w)
    total = combine(total, load(scratch, index(w)), kind);
  // Before anyone writes the scratch buffer again.
  barrier();
  return convert(total, type);
}
