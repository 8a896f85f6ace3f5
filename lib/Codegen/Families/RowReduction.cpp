//===- RowReduction.cpp - The row-reduction kernel family -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A row program: linalg.generic ops over the rows of tensors whose last
// dimension is the row (softmax, layer norm, their elementwise neighbours).
// Each op is one of
//   * elementwise over the row's elements (loops: rows, column),
//   * a reduction of the row into one value per row (the column loop is a
//     reduction; the combining op is an addf or a maximumf / maxnumf),
//   * elementwise over the per-row values (loops: rows).
// Operands are read whole (rows, column), per row (rows) or per column
// (column: a layer norm's gain and bias). One block of threads takes one
// row and holds it in registers: thread t takes columns t, t + threads, ...;
// per-row values are the same in every thread, reductions combine the
// threads' partial values by warp shuffles and workgroup memory in a fixed
// order. Each element is read and written once.
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

/// How an operand is read, relative to the row.
enum class Access { Whole, PerRow, PerColumn };

/// The kind of one op of a row program.
enum class StepKind { Elementwise, Reduction, RowElementwise };

/// The access of an operand read through `map` by an op over
/// `rowRank` + 1 loops (`overElements`) or `rowRank` loops.
std::optional<Access> classifyAccess(AffineMap map, unsigned rowRank,
                                     bool overElements) {
  if (map.isIdentity())
    return overElements ? Access::Whole : Access::PerRow;
  if (!overElements || !map.isProjectedPermutation())
    return std::nullopt;
  bool leadsWithRows = map.getNumResults() == rowRank;
  for (unsigned i = 0; leadsWithRows && i < rowRank; ++i)
    leadsWithRows = map.getDimPosition(i) == i;
  if (leadsWithRows)
    return Access::PerRow;
  if (map.getNumResults() == 1 && map.getDimPosition(0) == rowRank)
    return Access::PerColumn;
  return std::nullopt;
}

/// The op of a reduction's body that combines the running value (its
/// output argument), and how.
std::optional<ReductionKind> getCombiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  Value result = body.getTerminator()->getOperand(0);
  Operation *combiner = result.getDefiningOp();
  BlockArgument out = body.getArguments().back();
  if (!combiner || !llvm::is_contained(combiner->getOperands(), out) ||
      !out.hasOneUse())
    return std::nullopt;
  if (isa<arith::AddFOp>(combiner))
    return ReductionKind::Add;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner))
    return ReductionKind::Max;
  return std::nullopt;
}

/// A row program and the kernel that runs it.
class RowProgram {
public:
  /// Checks the region's ops and collects the tensors it reads.
  llvm::Error analyse(KernelOp region);
  void emit(KernelEmitter &e, gpu::GPUFuncOp kernel, int64_t threads,
            int64_t perThread);

  SmallVector<int64_t> rows;
  int64_t length = 0;
  /// The value the region yields.
  Value result;
  /// The tensors read from outside the region, in argument order.
  SmallVector<Value> inputs;

private:
  llvm::Error analyseStep(linalg::GenericOp op);
  Value getInitialValue(KernelEmitter &e, linalg::GenericOp op);
  Value read(KernelEmitter &e, Value tensor, Access access, int64_t r);

  SmallVector<linalg::GenericOp> steps;
  SmallVector<StepKind> kinds;
  llvm::DenseSet<Value> produced;
  // Emission state.
  llvm::DenseMap<Value, SmallVector<Value>> elements;
  llvm::DenseMap<Value, Value> perRow;
  llvm::DenseMap<Value, Value> inputBuffers;
  SmallVector<Value> columns, inRow;
  Value rowId, rowBase;
};

llvm::Error RowProgram::analyse(KernelOp region) {
  Block &body = region.getBody().front();
  result = region.getYield().getValues()[0];
  if (!isKernelTensorType(result.getType()) ||
      cast<RankedTensorType>(result.getType()).getRank() == 0)
    return kernelError("the region's result is not a static f32 or f16 tensor");
  auto type = cast<RankedTensorType>(result.getType());
  rows = llvm::to_vector(type.getShape().drop_back());
  length = type.getShape().back();
  for (Operation &op : body.without_terminator()) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic)
      return kernelError("'" + op.getName().getStringRef() +
                         "' is not a linalg.generic");
    if (llvm::Error error = analyseStep(generic))
      return error;
    produced.insert(generic.getResult(0));
  }
  if (kinds.empty() || kinds.back() != StepKind::Elementwise ||
      steps.back().getResult(0) != result)
    return kernelError(
        "the region does not end in an elementwise op over rows");
  return llvm::Error::success();
}

llvm::Error RowProgram::analyseStep(linalg::GenericOp op) {
  unsigned rowRank = rows.size();
  unsigned loops = op.getNumLoops();
  if (op->getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      (loops != rowRank + 1 && loops != rowRank))
    return kernelError("an op is not over the rows of the region's result");
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ArrayRef<int64_t>(ranges).take_front(rowRank) != ArrayRef(rows) ||
      (loops == rowRank + 1 && ranges.back() != length))
    return kernelError("an op is over other rows than the region's result");
  bool overElements = loops == rowRank + 1;
  StepKind kind = StepKind::RowElementwise;
  if (overElements)
    kind = op.getNumParallelLoops() == loops ? StepKind::Elementwise
                                             : StepKind::Reduction;
  if (op.getNumParallelLoops() < rowRank ||
      (kind == StepKind::Reduction && !getCombiner(op)))
    return kernelError("a reduction does not combine with addf or maximumf");
  Block &body = op.getRegion().front();
  if (kind != StepKind::Reduction && !body.getArguments().back().use_empty())
    return kernelError("an elementwise op reads its output");
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (OpOperand &operand : op->getOpOperands()) {
    unsigned i = operand.getOperandNumber();
    bool isInit = i == op.getNumDpsInputs();
    std::optional<Access> access =
        classifyAccess(maps[i], rowRank, overElements);
    if (isInit) {
      Access expected = kind == StepKind::Elementwise ? Access::Whole
                                                      : Access::PerRow;
      if (access != expected)
        return kernelError("an op writes its result through an unexpected map");
      if (kind != StepKind::Reduction)
        continue;
    }
    if (!access)
      return kernelError(
          "an operand is read neither whole, per row nor per column");
    Value value = operand.get();
    if (produced.contains(value)) {
      bool whole = cast<ShapedType>(value.getType()).getRank() ==
                   int64_t(rowRank + 1);
      if (whole != (*access == Access::Whole))
        return kernelError(
            "a value of the region is read through another shape");
      continue;
    }
    auto fill = value.getDefiningOp<linalg::FillOp>();
    if (isInit && fill && fill.getInputs()[0].getDefiningOp<arith::ConstantOp>())
      continue;
    if (!isKernelTensorType(value.getType()))
      return kernelError("an operand is not a static f32 or f16 tensor");
    if (!llvm::is_contained(inputs, value))
      inputs.push_back(value);
  }
  for (Operation &bodyOp : body.without_terminator())
    for (Value operand : bodyOp.getOperands())
      if (operand.getParentRegion() != &op.getRegion() &&
          !operand.getDefiningOp<arith::ConstantOp>())
        return kernelError("an op's body uses a value from outside");
  steps.push_back(op);
  kinds.push_back(kind);
  return llvm::Error::success();
}

Value RowProgram::read(KernelEmitter &e, Value tensor, Access access,
                       int64_t r) {
  if (auto found = elements.find(tensor); found != elements.end())
    return found->second[r];
  if (auto found = perRow.find(tensor); found != perRow.end())
    return found->second;
  Value buffer = inputBuffers.lookup(tensor);
  Value zero = e.zero(getElementTypeOrSelf(tensor));
  switch (access) {
  case Access::Whole:
    return e.loadOr(buffer, e.add(rowBase, columns[r]), inRow[r], zero);
  case Access::PerColumn:
    return e.loadOr(buffer, columns[r], inRow[r], zero);
  case Access::PerRow:
    return e.load(buffer, rowId);
  }
  llvm_unreachable("unknown access");
}

Value RowProgram::getInitialValue(KernelEmitter &e, linalg::GenericOp op) {
  Value init = op.getDpsInits()[0];
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    if (!produced.contains(init) && !inputBuffers.count(init))
      return e.b.clone(*fill.getInputs()[0].getDefiningOp())->getResult(0);
  return read(e, init, Access::PerRow, 0);
}

void RowProgram::emit(KernelEmitter &e, gpu::GPUFuncOp kernel,
                      int64_t threads, int64_t perThread) {
  ImplicitLocOpBuilder &b = e.b;
  for (auto [input, argument] :
       llvm::zip(inputs, kernel.getArguments().drop_back()))
    inputBuffers[input] = argument;
  Value out = kernel.getArguments().back();
  Value scratch = e.workgroupBuffer(kernel, threads / 32);
  rowId = e.blockId(gpu::Dimension::x);
  rowBase = e.affine(rowId, length);
  Value tid = e.threadId();
  for (int64_t r = 0; r < perThread; ++r) {
    columns.push_back(e.affine(tid, 1, r * threads));
    inRow.push_back(e.less(columns.back(), length));
  }
  unsigned rowRank = rows.size();
  for (auto [op, kind] : llvm::zip_equal(steps, kinds)) {
    Block &body = op.getRegion().front();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    bool overElements = kind != StepKind::RowElementwise;
    // The body applied to element r (or once, per row), `running` standing
    // for the output argument of a reduction.
    auto apply = [&](int64_t r, Value running) {
      IRMapping mapping;
      for (OpOperand *input : op.getDpsInputOperands()) {
        unsigned i = input->getOperandNumber();
        mapping.map(body.getArgument(i),
                    read(e, input->get(),
                         *classifyAccess(maps[i], rowRank, overElements), r));
      }
      if (running)
        mapping.map(body.getArguments().back(), running);
      return e.cloneBody(body, mapping);
    };
    Value value = op.getResult(0);
    if (kind == StepKind::Elementwise) {
      SmallVector<Value> computed;
      for (int64_t r = 0; r < perThread; ++r)
        computed.push_back(apply(r, Value()));
      elements[value] = computed;
    } else if (kind == StepKind::RowElementwise) {
      perRow[value] = apply(0, Value());
    } else {
      ReductionKind combiner = *getCombiner(op);
      Type type = body.getArguments().back().getType();
      Value partial = arith::ConstantOp::create(
          b, b.getFloatAttr(type,
                            combiner == ReductionKind::Add
                                ? 0.0
                                : -std::numeric_limits<double>::infinity()));
      for (int64_t r = 0; r < perThread; ++r)
        partial =
            arith::SelectOp::create(b, inRow[r], apply(r, partial), partial);
      Value total = e.reduceAcrossBlock(partial, combiner, threads, scratch);
      Value initial = getInitialValue(e, op);
      // The initial value joins through the body's own combining op: a
      // maxnumf reduction starts from NaN (its identity), which maximumf
      // would propagate.
      Operation *combining =
          body.getTerminator()->getOperand(0).getDefiningOp();
      OperationState state(b.getLoc(), combining->getName(),
                           ValueRange{initial, total}, {type},
                           combining->getAttrs());
      perRow[value] = b.create(state)->getResult(0);
    }
  }
  for (int64_t r = 0; r < perThread; ++r)
    e.ifThen(inRow[r], [&] {
      e.store(elements[result][r], out, e.add(rowBase, columns[r]));
    });
}

} // namespace

llvm::Expected<RegionKernel>
tesa::buildRowReductionKernel(KernelOp region, gpu::GPUModuleOp module,
                              StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config)
    return kernelError("the region has no tile_config");
  RowProgram program;
  if (llvm::Error error = program.analyse(region))
    return std::move(error);
  int64_t threads = config.getThreads();
  int64_t perThread = llvm::divideCeil(program.length, threads);
  if (config.getTile()[0] != 1 || config.getThreadTile()[0] < perThread)
    return kernelError("the configuration does not hold one row per block");
  if (perThread > kMaxElementsPerThread)
    return kernelError("rows of " + Twine(program.length) +
                       " elements are longer than " +
                       Twine(kMaxElementsPerThread) + " a thread");

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  SmallVector<Type> arguments;
  for (Value input : program.inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    arguments.push_back(
        MemRefType::get({type.getNumElements()}, type.getElementType()));
  }
  int64_t rowCount = 1;
  for (int64_t size : program.rows)
    rowCount *= size;
  arguments.push_back(MemRefType::get({rowCount * program.length},
                                      getElementTypeOrSelf(program.result)));
  RegionKernel result;
  result.inputs = program.inputs;
  result.kernel = e.beginKernel(module, name, arguments);
  result.grid = {rowCount, 1, 1};
  result.threads = threads;
  program.emit(e, result.kernel, threads, perThread);
  return result;
}
