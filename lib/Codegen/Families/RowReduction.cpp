//===- RowReduction.cpp - The row-reduction kernel family -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A row program (matchRowProgram): linalg.generic ops over the rows of
// tensors whose last dimension is the row (softmax, layer norm, their
// elementwise neighbours), each elementwise over the rows' elements, a
// reduction of each row (addf, maximumf or maxnumf; andi of booleans) or
// elementwise over the per-row values. Operands are read whole, per row,
// per column (a layer norm's gain and bias) or through another projection
// of the loops (an attention mask shared by the heads). One block of threads takes
// one row and holds it in registers: thread t takes columns t, t + threads, ...;
// per-row values are the same in every thread, reductions combine the
// threads' partial values by warp shuffles and workgroup memory in a fixed
// order (in f64 for f64 values, i32 for booleans, else in f32). Each
// element is read and written once.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

using namespace mlir;
using namespace tesa;

namespace {

/// Rows longer than this many elements a thread are not held in registers.
constexpr int64_t kMaxElementsPerThread = 32;

ReductionKind getReductionKind(linalg::GenericOp op) {
  Operation *combiner = getRowCombiner(op);
  if (isa<arith::AddFOp>(combiner))
    return ReductionKind::Add;
  return isa<arith::AndIOp>(combiner) ? ReductionKind::And
                                      : ReductionKind::Max;
}

/// The value a thread's partial reduction starts from.
TypedAttr getIdentity(Builder &b, ReductionKind kind, Type type) {
  switch (kind) {
  case ReductionKind::Add:
    return b.getFloatAttr(type, 0.0);
  case ReductionKind::Max:
    return b.getFloatAttr(type, -std::numeric_limits<double>::infinity());
  case ReductionKind::And:
    return b.getIntegerAttr(type, 1);
  }
  llvm_unreachable("unknown reduction");
}

/// Emits the kernel of a row program.
class RowProgramEmitter {
public:
  RowProgramEmitter(const RowProgram &program, KernelEmitter &e)
      : program(program), e(e) {}
  void emit(gpu::GPUFuncOp kernel, int64_t threads, int64_t perThread);

private:
  Value read(Value tensor, RowAccess access, int64_t r,
             AffineMap map = AffineMap(), bool overElements = true);
  Value readStrided(Value tensor, AffineMap map, int64_t r,
                    bool overElements);
  Value getRowCoordinate(unsigned dim);
  Value getInitialValue(linalg::GenericOp op);
  Value getScratch(gpu::GPUFuncOp kernel, Type type, int64_t threads);

  const RowProgram &program;
  KernelEmitter &e;
  llvm::DenseMap<Value, SmallVector<Value>> elements;
  llvm::DenseMap<Value, Value> perRow;
  llvm::DenseMap<Value, Value> inputBuffers;
  llvm::DenseMap<Type, Value> scratch;
  SmallVector<Value> columns, inRow;
  Value rowId, rowBase;
  /// The coordinates of rowId along the rows' dimensions, made on first use.
  llvm::DenseMap<unsigned, Value> rowCoordinates;
};

Value RowProgramEmitter::getRowCoordinate(unsigned dim) {
  Value &coordinate = rowCoordinates[dim];
  if (!coordinate) {
    int64_t inner = 1;
    for (int64_t size : ArrayRef(program.rows).drop_front(dim + 1))
      inner *= size;
    coordinate = e.rem(e.div(rowId, inner), program.rows[dim]);
  }
  return coordinate;
}

/// Element r of this thread's part of the row (or the row's value when not
/// `overElements`) of `tensor`, read through `map`.
Value RowProgramEmitter::readStrided(Value tensor, AffineMap map, int64_t r,
                                     bool overElements) {
  auto type = cast<ShapedType>(tensor.getType());
  unsigned rowRank = program.rows.size();
  SmallVector<Value> coordinates;
  SmallVector<int64_t> strides;
  bool readsColumn = false;
  int64_t stride = 1;
  for (int64_t i = type.getRank() - 1; i >= 0; --i) {
    auto dim = dyn_cast<AffineDimExpr>(map.getResult(i));
    if (dim && dim.getPosition() < rowRank) {
      // A unit row dimension's coordinate is 0.
      if (program.rows[dim.getPosition()] != 1) {
        coordinates.push_back(getRowCoordinate(dim.getPosition()));
        strides.push_back(stride);
      }
    } else if (dim && overElements) {
      coordinates.push_back(columns[r]);
      strides.push_back(stride);
      readsColumn = true;
    }
    stride *= type.getDimSize(i);
  }
  Value offset = e.linearIndex(coordinates, strides);
  Value buffer = inputBuffers.lookup(tensor);
  if (!readsColumn)
    return e.load(buffer, offset);
  return e.loadOr(buffer, offset, inRow[r],
                  e.zero(getElementTypeOrSelf(tensor)));
}

Value RowProgramEmitter::read(Value tensor, RowAccess access, int64_t r,
                              AffineMap map, bool overElements) {
  if (auto found = elements.find(tensor); found != elements.end())
    return found->second[r];
  if (auto found = perRow.find(tensor); found != perRow.end())
    return found->second;
  Value buffer = inputBuffers.lookup(tensor);
  Value zero = e.zero(getElementTypeOrSelf(tensor));
  switch (access) {
  case RowAccess::Strided:
    return readStrided(tensor, map, r, overElements);
  case RowAccess::Whole:
    return e.loadOr(buffer, e.add(rowBase, columns[r]), inRow[r], zero);
  case RowAccess::PerColumn:
    return e.loadOr(buffer, columns[r], inRow[r], zero);
  case RowAccess::PerRow:
    return e.load(buffer, rowId);
  }
  llvm_unreachable("unknown access");
}

Value RowProgramEmitter::getInitialValue(linalg::GenericOp op) {
  if (arith::ConstantOp constant = getRowInitialConstant(op))
    return e.b.clone(*constant)->getResult(0);
  return read(op.getDpsInits()[0], RowAccess::PerRow, 0);
}

/// The workgroup buffer that reductions of `type` combine the warps'
/// values in: f64 for f64 values, i32 for i1, else f32.
Value RowProgramEmitter::getScratch(gpu::GPUFuncOp kernel, Type type,
                                    int64_t threads) {
  Type combined = e.b.getF32Type();
  if (type.isF64())
    combined = type;
  else if (type.isInteger())
    combined = e.b.getI32Type();
  Value &buffer = scratch[combined];
  if (!buffer)
    buffer = e.workgroupBuffer(kernel, threads / 32, combined);
  return buffer;
}

void RowProgramEmitter::emit(gpu::GPUFuncOp kernel, int64_t threads,
                             int64_t perThread) {
  ImplicitLocOpBuilder &b = e.b;
  for (auto [input, argument] :
       llvm::zip(program.inputs, kernel.getArguments().drop_back()))
    inputBuffers[input] = argument;
  Value out = kernel.getArguments().back();
  rowId = e.blockId(gpu::Dimension::x);
  rowBase = e.affine(rowId, program.length);
  Value tid = e.threadId();
  for (int64_t r = 0; r < perThread; ++r) {
    columns.push_back(e.affine(tid, 1, r * threads));
    inRow.push_back(e.less(columns.back(), program.length));
  }
  for (auto [step, kind, accesses] :
       llvm::zip_equal(program.steps, program.kinds, program.accesses)) {
    linalg::GenericOp op = step;
    Block &body = op.getRegion().front();
    // The body applied to element r (or once, per row), `running` standing
    // for the output argument of a reduction.
    auto apply = [&](int64_t r, Value running) {
      IRMapping mapping;
      for (OpOperand *input : op.getDpsInputOperands()) {
        unsigned i = input->getOperandNumber();
        mapping.map(body.getArgument(i),
                    read(input->get(), accesses[i], r,
                         op.getMatchingIndexingMap(input),
                         kind != RowStepKind::RowElementwise));
      }
      if (running)
        mapping.map(body.getArguments().back(), running);
      return e.cloneBody(body, mapping);
    };
    Value value = op.getResult(0);
    if (kind == RowStepKind::Elementwise) {
      SmallVector<Value> computed;
      for (int64_t r = 0; r < perThread; ++r)
        computed.push_back(apply(r, Value()));
      elements[value] = computed;
    } else if (kind == RowStepKind::RowElementwise) {
      perRow[value] = apply(0, Value());
    } else {
      ReductionKind combiner = getReductionKind(op);
      Type type = body.getArguments().back().getType();
      Value partial =
          arith::ConstantOp::create(b, getIdentity(b, combiner, type));
      for (int64_t r = 0; r < perThread; ++r)
        partial =
            arith::SelectOp::create(b, inRow[r], apply(r, partial), partial);
      Value total = e.reduceAcrossBlock(partial, combiner, threads,
                                        getScratch(kernel, type, threads));
      Value initial = getInitialValue(op);
      // The initial value joins through the body's own combining op: a
      // maxnumf reduction starts from NaN (its identity), which maximumf
      // would propagate.
      Operation *combining = getRowCombiner(op);
      OperationState state(b.getLoc(), combining->getName(),
                           ValueRange{initial, total}, {type},
                           combining->getAttrs());
      perRow[value] = b.create(state)->getResult(0);
    }
  }
  for (int64_t r = 0; r < perThread; ++r)
    e.ifThen(inRow[r], [&] {
      e.store(elements[program.result][r], out, e.add(rowBase, columns[r]));
    });
}

} // namespace

llvm::Expected<RegionKernel>
tesa::buildRowReductionKernel(KernelOp region, gpu::GPUModuleOp module,
                              StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config)
    return kernelError("the region has no tile_config");
  SmallVector<Operation *> ops;
  for (Operation &op : region.getBody().front().without_terminator())
    ops.push_back(&op);
  llvm::Expected<RowProgram> program = matchRowProgram(ops);
  if (!program)
    return program.takeError();
  if (program->result != region.getYield().getValues()[0])
    return kernelError("the region does not yield its last op's result");
  int64_t threads = config.getThreads();
  int64_t perThread = llvm::divideCeil(program->length, threads);
  if (config.getTile()[0] != 1 || config.getThreadTile()[0] < perThread)
    return kernelError("the configuration does not hold one row per block");
  if (perThread > kMaxElementsPerThread)
    return kernelError("rows of " + Twine(program->length) +
                       " elements are longer than " +
                       Twine(kMaxElementsPerThread) + " a thread");

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  SmallVector<Type> arguments;
  for (Value input : program->inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    arguments.push_back(
        MemRefType::get({type.getNumElements()}, type.getElementType()));
  }
  int64_t rowCount = 1;
  for (int64_t size : program->rows)
    rowCount *= size;
  arguments.push_back(MemRefType::get({rowCount * program->length},
                                      getElementTypeOrSelf(program->result)));
  RegionKernel result;
  result.inputs = program->inputs;
  result.kernel = e.beginKernel(module, name, arguments);
  result.grid = {rowCount, 1, 1};
  result.threads = threads;
  RowProgramEmitter(*program, e).emit(result.kernel, threads, perThread);
  return result;
}
