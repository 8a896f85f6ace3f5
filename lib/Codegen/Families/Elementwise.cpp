//===- Elementwise.cpp - The elementwise kernel family --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Elementwise regions. What it computes so far: a 2-D transpose that no
// neighbour folded into its addressing (the transposed dense operand of a
// fine-grained part), as a tiled copy through workgroup memory. A block of
// kTransposeTile x kTransposeRows threads takes a tile of kTransposeTile x
// kTransposeTile elements: it reads the tile's rows (consecutive threads,
// consecutive columns of the source), and writes its columns as rows of the
// result (consecutive threads, consecutive columns of the result), so that
// both sides coalesce. The tile's rows are one element longer than the tile
// in workgroup memory, so that reading a column of it hits every bank once.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace tesa;

/// Elements along each side of a transpose's tile, and rows of threads of
/// its block (each thread copies kTransposeTile / kTransposeRows elements).
static constexpr int64_t kTransposeTile = 32, kTransposeRows = 8;

/// The transpose (see isTransposeForKernel) that `region` is made of, if it
/// is one.
static linalg::TransposeOp getTranspose(KernelOp region) {
  Block &body = region.getBody().front();
  if (body.getOperations().size() != 2)
    return nullptr;
  auto transpose = dyn_cast<linalg::TransposeOp>(body.front());
  return transpose && isTransposeForKernel(transpose) ? transpose : nullptr;
}

TransposeTiling tesa::getTransposeTiling(int64_t rows, int64_t columns) {
  return {{int64_t(llvm::divideCeil(columns, kTransposeTile)),
           int64_t(llvm::divideCeil(rows, kTransposeTile)), 1},
          kTransposeTile * kTransposeRows};
}

llvm::Expected<RegionKernel>
tesa::buildElementwiseKernel(KernelOp region, gpu::GPUModuleOp module,
                             StringRef name) {
  linalg::TransposeOp transpose = getTranspose(region);
  if (!transpose)
    return kernelError("the elementwise family computes 2-D transposes only");
  auto type = cast<RankedTensorType>(transpose.getInput().getType());
  int64_t rows = type.getDimSize(0), columns = type.getDimSize(1);
  Type element = type.getElementType();

  ImplicitLocOpBuilder b(region.getLoc(), region.getContext());
  KernelEmitter e(b);
  MemRefType flat = MemRefType::get({rows * columns}, element);
  RegionKernel result;
  result.inputs = {transpose.getInput()};
  result.kernel = e.beginKernel(module, name, {flat, flat});
  TransposeTiling tiling = getTransposeTiling(rows, columns);
  result.grid = tiling.grid;
  result.threads = tiling.threads;

  Value source = result.kernel.getArgument(0);
  Value out = result.kernel.getArgument(1);
  Value tile = e.workgroupBuffer(
      result.kernel, {kTransposeTile * (kTransposeTile + 1)}, element);
  Value lane = e.rem(e.threadId(), kTransposeTile);
  Value row = e.div(e.threadId(), kTransposeTile);
  // The tile's first source row and column.
  Value firstRow = e.affine(e.blockId(gpu::Dimension::y), kTransposeTile);
  Value firstColumn = e.affine(e.blockId(gpu::Dimension::x), kTransposeTile);
  for (int64_t i = 0; i < kTransposeTile; i += kTransposeRows) {
    Value r = e.affine(row, 1, i);
    Value sourceRow = e.add(firstRow, r),
          sourceColumn = e.add(firstColumn, lane);
    e.ifThen(
        e.both(e.less(sourceRow, rows), e.less(sourceColumn, columns)), [&] {
          Value value =
              e.load(source, e.add(e.affine(sourceRow, columns), sourceColumn));
          // Tile row r, column lane.
          e.store(value, tile, e.add(e.affine(r, kTransposeTile + 1), lane));
        });
  }
  e.barrier();
  // Result row firstColumn + r holds source column firstColumn + r; thread
  // `lane` writes its element firstRow + lane.
  for (int64_t i = 0; i < kTransposeTile; i += kTransposeRows) {
    Value r = e.affine(row, 1, i);
    Value outRow = e.add(firstColumn, r), outColumn = e.add(firstRow, lane);
    e.ifThen(e.both(e.less(outRow, columns), e.less(outColumn, rows)), [&] {
      Value value = e.load(tile, e.add(e.affine(lane, kTransposeTile + 1), r));
      e.store(value, out, e.add(e.affine(outRow, rows), outColumn));
    });
  }
  return result;
}
