//===- SplitFinishKernel.cpp - Adding up the slices of split-K parts ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A compute kernel that splits its walks (split-K, see getWgmmaBlockSplit)
// leaves split slices of f32 sums in a workspace, each laid out as the
// result. This kernel adds them up, in slice order, for every channel of
// the part's work rows and every dense column, and updates the result as
// the compute kernels do (KernelBuilder::accumulateSum): the initial value
// or bias in place of the result's where the layout has one, the part's
// epilogue, an f16 result rounded once, and the following steps. One
// thread an element, consecutive threads taking consecutive elements of
// the result.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace tesa;

/// Elements the finish kernel updates: those of every work row's channels.
static int64_t getFinishElements(const PartLayout &layout) {
  return int64_t(layout.rows.size()) * layout.getWorkRowChannels() *
         layout.columns;
}

gpu::GPUFuncOp tesa::buildSplitFinish(KernelBuilder &kb, MemRefType workspace,
                                      MemRefType result,
                                      ArrayRef<Type> trailing, int64_t split) {
  const PartLayout &layout = kb.layout;
  SmallVector<Type> arguments = {workspace, result};
  llvm::append_range(arguments, trailing);
  gpu::GPUFuncOp fn = kb.begin("_split_finish", arguments);
  Value sums = fn.getArgument(0), out = fn.getArgument(1);
  kb.bindTrailingArguments(fn, 2);
  int64_t rowChannels = layout.getWorkRowChannels();
  int64_t p = layout.channels, q = layout.columns;
  Value rows = kb.table("_rows", layout.rows);
  Value i = kb.globalId();
  kb.ifThen(kb.less(i, getFinishElements(layout)), [&] {
    // Element i in the result's order: (work row, channel of it, column).
    Value row, inRow, column;
    if (layout.sparseIsLhs) {
      column = kb.rem(i, q);
      inRow = kb.rem(kb.div(i, q), rowChannels);
      row = kb.div(i, q * rowChannels);
    } else {
      inRow = kb.rem(i, rowChannels);
      column = kb.rem(kb.div(i, rowChannels), q);
      row = kb.div(i, rowChannels * q);
    }
    Value channel = kb.add(kb.affine(kb.loadIndex(rows, row), rowChannels),
                           inRow);
    kb.ifThen(kb.less(channel, p), [&] {
      Value element = layout.sparseIsLhs
                          ? kb.add(kb.affine(channel, q), column)
                          : kb.add(kb.affine(column, p), channel);
      Value sum =
          kb.loop(kb.index(0), kb.index(split), kb.f32(0.0f),
                  [&](Value z, ValueRange total) -> SmallVector<Value> {
                    Value slice = memref::LoadOp::create(
                        kb.b, sums,
                        ValueRange{kb.add(kb.affine(z, p * q), element)});
                    return {arith::AddFOp::create(kb.b, total[0], slice)};
                  })[0];
      kb.accumulateSum(out, channel, column, sum, Value(), Value());
    });
  });
  return fn;
}

KernelLaunch tesa::getSplitFinishLaunch(const PartLayout &layout) {
  KernelLaunch launch;
  launch.grid = {int64_t(llvm::divideCeil(getFinishElements(layout), kThreads)),
                 1};
  launch.block = {kThreads, 1};
  return launch;
}
