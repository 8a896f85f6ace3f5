//===- Launch.cpp - Launching the kernel of a region ----------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

/// A 1-D view of `buffer` (identity layout, as bufferization makes function
/// arguments and allocations).
static Value flatten(OpBuilder &builder, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1)
    return buffer;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  return memref::CollapseShapeOp::create(builder, loc, buffer,
                                         ArrayRef<ReassociationIndices>{all});
}

/// Launches `kernel` on `leading` buffers, then the flat buffers of its
/// inputs, then `out`.
static void launch(OpBuilder &builder, Location loc,
                   const tesa::RegionKernel &kernel, ArrayRef<Value> leading,
                   Value out) {
  auto bufferType = [](Type tensorType) {
    auto type = cast<RankedTensorType>(tensorType);
    return MemRefType::get(type.getShape(), type.getElementType());
  };
  SmallVector<Value> arguments(leading);
  for (Value input : kernel.inputs)
    arguments.push_back(flatten(
        builder, loc,
        bufferization::ToBufferOp::create(builder, loc,
                                          bufferType(input.getType()), input,
                                          /*read_only=*/true)));
  arguments.push_back(flatten(builder, loc, out));
  auto size = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, v);
  };
  Value sharedBytes;
  if (kernel.sharedBytes)
    sharedBytes = arith::ConstantIntOp::create(
        builder, loc, builder.getI32Type(), kernel.sharedBytes);
  gpu::LaunchFuncOp::create(
      builder, loc, kernel.kernel,
      {size(kernel.grid[0]), size(kernel.grid[1]), size(kernel.grid[2])},
      {size(kernel.threads), size(1), size(1)}, sharedBytes, arguments);
}

Value tesa::launchRegionKernel(OpBuilder &builder, Location loc,
                               const RegionKernel &kernel,
                               RankedTensorType resultType) {
  Value out = memref::AllocOp::create(
      builder, loc,
      MemRefType::get(resultType.getShape(), resultType.getElementType()));
  if (kernel.finish) {
    // The partial sums, added up by the second kernel.
    Value workspace = memref::AllocOp::create(
        builder, loc,
        MemRefType::get({kernel.workspaceElements}, builder.getF32Type()));
    launch(builder, loc, kernel, {}, workspace);
    launch(builder, loc, *kernel.finish, {workspace}, out);
    memref::DeallocOp::create(builder, loc, workspace);
  } else {
    launch(builder, loc, kernel, {}, out);
  }
  return bufferization::ToTensorOp::create(
      builder, loc,
      RankedTensorType::get(resultType.getShape(),
                            resultType.getElementType()),
      out, /*restrict=*/true, /*writable=*/true);
}
