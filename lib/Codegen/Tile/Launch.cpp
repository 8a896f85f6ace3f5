//===- Launch.cpp - Launching the kernel of a region ----------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Families.h"
#include "tesa/Codegen/TensorMap.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

Value tesa::flattenBuffer(OpBuilder &builder, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1)
    return buffer;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  return memref::CollapseShapeOp::create(builder, loc, buffer,
                                         ArrayRef<ReassociationIndices>{all});
}

/// Appends the flat buffers of `inputs`, then of `out`, to `arguments`.
static void appendBuffers(OpBuilder &builder, Location loc,
                          ArrayRef<Value> inputs, Value out,
                          SmallVectorImpl<Value> &arguments) {
  auto bufferType = [](Type tensorType) {
    auto type = cast<RankedTensorType>(tensorType);
    return MemRefType::get(type.getShape(), type.getElementType());
  };
  for (Value input : inputs)
    arguments.push_back(tesa::flattenBuffer(
        builder, loc,
        bufferization::ToBufferOp::create(builder, loc,
                                          bufferType(input.getType()), input,
                                          /*read_only=*/true)));
  arguments.push_back(tesa::flattenBuffer(builder, loc, out));
}

/// The runtime function that encodes a tensor map (Runtime.h).
static constexpr llvm::StringLiteral kEncodeTensorMapFn =
    "mgpuTesaEncodeTensorMap2D";

Value tesa::encodeTensorMap(OpBuilder &builder, Location loc, Value buffer,
                            const tesa::TensorMapOperand &map) {
  auto module = builder.getInsertionBlock()->getParentOp()
                    ->getParentOfType<ModuleOp>();
  Type mapType = tesa::getTensorMapType(builder.getContext());
  Type i64 = builder.getI64Type(), i32 = builder.getI32Type();
  auto pointer = LLVM::LLVMPointerType::get(builder.getContext());
  LLVM::LLVMFuncOp encoder =
      *LLVM::lookupOrCreateFn(builder, module, kEncodeTensorMapFn,
                              {pointer, pointer, i64, i64, i64, i32, i32, i32},
                              LLVM::LLVMVoidType::get(builder.getContext()));
  auto constant = [&](Type type, int64_t value) -> Value {
    return LLVM::ConstantOp::create(builder, loc, type, value);
  };
  Value storage = LLVM::AllocaOp::create(builder, loc, pointer, mapType,
                                         constant(i64, 1), /*alignment=*/64);
  Value base =
      memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
  Value address = LLVM::IntToPtrOp::create(
      builder, loc, pointer,
      arith::IndexCastUIOp::create(builder, loc, i64, base).getResult());
  // Swizzle modes 1, 2, 3: rows of 32, 64, 128 bytes.
  int64_t swizzle = llvm::Log2_64(2 * map.boxInner) - 4;
  constexpr int64_t kUnitBytes = 2;
  LLVM::CallOp::create(
      builder, loc, encoder,
      ValueRange{storage, address, constant(i64, map.inner),
                 constant(i64, map.outer),
                 constant(i64, map.outerStride * kUnitBytes),
                 constant(i32, map.boxInner), constant(i32, map.boxOuter),
                 constant(i32, swizzle)});
  return LLVM::LoadOp::create(builder, loc, mapType, storage,
                              /*alignment=*/64);
}

/// Appends the tensor maps `kernel` takes to `arguments`, whose buffers
/// start at `firstInput`.
static void appendTensorMaps(OpBuilder &builder, Location loc,
                             const tesa::RegionKernel &kernel,
                             size_t firstInput,
                             SmallVectorImpl<Value> &arguments) {
  SmallVector<Value> maps;
  for (const tesa::TensorMapOperand &map : kernel.tensorMaps)
    maps.push_back(tesa::encodeTensorMap(
        builder, loc, arguments[firstInput + map.input], map));
  llvm::append_range(arguments, maps);
}

/// Launches `kernel` on `arguments`.
gpu::LaunchFuncOp
tesa::emitKernelLaunch(OpBuilder &builder, Location loc, gpu::GPUFuncOp kernel,
                       std::array<int64_t, 3> grid,
                       std::array<int64_t, 3> block, int64_t sharedBytes,
                       ValueRange arguments, int64_t clusterBlocks) {
  auto size = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, v);
  };
  Value dynamicSharedMemory;
  if (sharedBytes)
    dynamicSharedMemory = arith::ConstantIntOp::create(
        builder, loc, builder.getI32Type(), sharedBytes);
  std::optional<gpu::KernelDim3> cluster;
  if (clusterBlocks > 1)
    cluster = gpu::KernelDim3{size(clusterBlocks), size(1), size(1)};
  return gpu::LaunchFuncOp::create(
      builder, loc, kernel, {size(grid[0]), size(grid[1]), size(grid[2])},
      {size(block[0]), size(block[1]), size(block[2])}, dynamicSharedMemory,
      arguments, /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{}, cluster);
}

/// Launches the region kernel `kernel` on `arguments`.
static void emitLaunch(OpBuilder &builder, Location loc,
                       const tesa::RegionKernel &kernel,
                       ArrayRef<Value> arguments) {
  tesa::emitKernelLaunch(builder, loc, kernel.kernel, kernel.grid,
                         {kernel.threads, 1, 1}, kernel.sharedBytes, arguments,
                         kernel.clusterBlocks);
}

/// Appends the arguments of `kernel` to `arguments`: `leading` buffers,
/// the flat buffers of its inputs, `out`, then its tensor maps.
static void appendArguments(OpBuilder &builder, Location loc,
                            const tesa::RegionKernel &kernel,
                            ArrayRef<Value> leading, Value out,
                            SmallVectorImpl<Value> &arguments) {
  size_t firstInput = arguments.size() + leading.size();
  llvm::append_range(arguments, leading);
  appendBuffers(builder, loc, kernel.inputs, out, arguments);
  appendTensorMaps(builder, loc, kernel, firstInput, arguments);
}

/// Launches `kernel` on `leading` buffers, then the flat buffers of its
/// inputs, then `out`.
static void launch(OpBuilder &builder, Location loc,
                   const tesa::RegionKernel &kernel, ArrayRef<Value> leading,
                   Value out) {
  SmallVector<Value> arguments;
  appendArguments(builder, loc, kernel, leading, out, arguments);
  emitLaunch(builder, loc, kernel, arguments);
}

/// A new f32 workspace for the partial sums of split-K `kernel`.
static Value allocateWorkspace(OpBuilder &builder, Location loc,
                               const tesa::RegionKernel &kernel) {
  return memref::AllocOp::create(
      builder, loc,
      MemRefType::get({kernel.workspaceElements}, builder.getF32Type()));
}

/// A new buffer of `type`'s shape and element type.
static Value allocate(OpBuilder &builder, Location loc,
                      RankedTensorType type) {
  return memref::AllocOp::create(
      builder, loc, MemRefType::get(type.getShape(), type.getElementType()));
}

/// `buffer` as a tensor of `type`'s shape and element type.
static Value toTensor(OpBuilder &builder, Location loc, Value buffer,
                      RankedTensorType type) {
  return bufferization::ToTensorOp::create(
      builder, loc,
      RankedTensorType::get(type.getShape(), type.getElementType()), buffer,
      /*restrict=*/true, /*writable=*/true);
}

SmallVector<Value>
tesa::launchFusedKernels(OpBuilder &builder, Location loc,
                         const RegionKernel &fused,
                         ArrayRef<RegionKernel> members,
                         ArrayRef<RankedTensorType> resultTypes) {
  SmallVector<Value> arguments, finishArguments, outs, workspaces;
  for (auto [member, type] : llvm::zip_equal(members, resultTypes)) {
    outs.push_back(allocate(builder, loc, type));
    if (!member.finish) {
      appendArguments(builder, loc, member, {}, outs.back(), arguments);
      continue;
    }
    workspaces.push_back(allocateWorkspace(builder, loc, member));
    appendArguments(builder, loc, member, {}, workspaces.back(), arguments);
    appendArguments(builder, loc, *member.finish, {workspaces.back()},
                    outs.back(), finishArguments);
  }
  emitLaunch(builder, loc, fused, arguments);
  if (fused.finish)
    emitLaunch(builder, loc, *fused.finish, finishArguments);
  for (Value workspace : workspaces)
    memref::DeallocOp::create(builder, loc, workspace);
  SmallVector<Value> results;
  for (auto [out, type] : llvm::zip_equal(outs, resultTypes))
    results.push_back(toTensor(builder, loc, out, type));
  return results;
}

Value tesa::launchRegionKernel(OpBuilder &builder, Location loc,
                               const RegionKernel &kernel,
                               RankedTensorType resultType) {
  Value out = allocate(builder, loc, resultType);
  if (kernel.finish) {
    // The partial sums, added up by the second kernel.
    Value workspace = allocateWorkspace(builder, loc, kernel);
    launch(builder, loc, kernel, {}, workspace);
    launch(builder, loc, *kernel.finish, {workspace}, out);
    memref::DeallocOp::create(builder, loc, workspace);
  } else {
    launch(builder, loc, kernel, {}, out);
  }
  return toTensor(builder, loc, out, resultType);
}
