//===- RowReduction.cpp - The row-reduction kernel family -----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A softmax along the last dimension: one block of threads per row, the
// row held in registers (thread t takes elements t, t + threads, ...), the
// maximum and the sum of exponentials reduced across the block by warp
// shuffles and workgroup memory, every element read and written once.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace tesa;

/// Rows longer than this many elements a thread are not held in registers.
static constexpr int64_t kMaxElementsPerThread = 32;

llvm::Expected<RegionKernel>
tesa::buildRowReductionKernel(KernelOp region, gpu::GPUModuleOp module,
                              StringRef name) {
  auto fail = [](const Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   message.str());
  };
  TileConfigAttr config = region.getConfigAttr();
  Block &body = region.getBody().front();
  auto softmax = dyn_cast<linalg::SoftmaxOp>(body.front());
  if (!config || !softmax || body.getOperations().size() != 2)
    return fail("the row-reduction family computes one softmax");
  auto type = cast<RankedTensorType>(softmax.getInput().getType());
  if (!type.hasStaticShape() || !type.getElementType().isF32() ||
      int64_t(softmax.getDimension()) != type.getRank() - 1)
    return fail("the softmax is not along the last dimension of a static "
                "f32 tensor");
  int64_t length = type.getShape().back();
  int64_t threads = config.getThreads();
  int64_t perThread = llvm::divideCeil(length, threads);
  if (config.getTile()[0] != 1 || config.getThreadTile()[0] < perThread)
    return fail("the configuration does not hold one row per block");
  if (perThread > kMaxElementsPerThread)
    return fail("rows of " + Twine(length) + " elements are longer than " +
                Twine(kMaxElementsPerThread) + " a thread");

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  auto flat = MemRefType::get({type.getNumElements()}, b.getF32Type());
  RegionKernel result;
  result.inputs = {softmax.getInput()};
  result.kernel = e.beginKernel(module, name, {flat, flat});
  result.grid = {type.getNumElements() / length, 1, 1};
  result.threads = threads;

  Value input = result.kernel.getArgument(0);
  Value output = result.kernel.getArgument(1);
  Value maxScratch = e.workgroupBuffer(result.kernel, threads / 32);
  Value sumScratch = e.workgroupBuffer(result.kernel, threads / 32);
  Value rowBase = e.affine(e.blockId(gpu::Dimension::x), length);
  Value tid = e.threadId();
  SmallVector<Value> offsets, inRow, values;
  Value lowest = e.f32(-std::numeric_limits<float>::infinity());
  Value localMax = lowest;
  for (int64_t r = 0; r < perThread; ++r) {
    Value column = e.affine(tid, 1, r * threads);
    offsets.push_back(e.add(rowBase, column));
    inRow.push_back(e.less(column, length));
    values.push_back(e.loadOr(input, offsets.back(), inRow.back(), lowest));
    localMax = arith::MaximumFOp::create(b, localMax, values.back());
  }
  Value rowMax =
      e.reduceAcrossBlock(localMax, ReductionKind::Max, threads, maxScratch);
  Value localSum = e.f32(0.0);
  for (Value &value : values) {
    value = math::ExpOp::create(b, arith::SubFOp::create(b, value, rowMax));
    localSum = e.add(localSum, value);
  }
  Value rowSum =
      e.reduceAcrossBlock(localSum, ReductionKind::Add, threads, sumScratch);
  for (int64_t r = 0; r < perThread; ++r)
    e.ifThen(inRow[r], [&] {
      e.store(arith::DivFOp::create(b, values[r], rowSum), output,
              offsets[r]);
    });
  return result;
}
