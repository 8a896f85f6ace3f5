//===- KernelEmitter.h - Building the body of a kernel ----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The small vocabulary every kernel family is written in: a kernel function
// in a gpu.module, index and f32 arithmetic, guarded loads from flat
// buffers, workgroup memory and reductions across a block of threads.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_KERNELEMITTER_H
#define TESA_CODEGEN_KERNELEMITTER_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace tesa {

/// How a reduction across threads combines two values: floats by Add or
/// Max, booleans (i1) by And.
enum class ReductionKind { Add, Max, And };

/// Emits the body of one kernel at a builder's insertion point.
class KernelEmitter {
public:
  explicit KernelEmitter(mlir::ImplicitLocOpBuilder &b) : b(b) {}

  /// A new kernel `name` in `module` taking `arguments`, with the builder
  /// at the start of its body (before its gpu.return).
  mlir::gpu::GPUFuncOp beginKernel(mlir::gpu::GPUModuleOp module,
                                   llvm::StringRef name,
                                   llvm::ArrayRef<mlir::Type> arguments);

  mlir::Value index(int64_t value);
  mlir::Value f32(double value);
  /// Zero of the float type `type`.
  mlir::Value zero(mlir::Type type);
  /// `x` (a float) extended to f32 if it is narrower.
  mlir::Value toF32(mlir::Value x);
  /// `x` (a float) extended or truncated to the float type `type`; an
  /// integer zero-extended or truncated to the integer type `type`.
  mlir::Value convert(mlir::Value x, mlir::Type type);
  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  /// `x` * `factor` + `offset`, for index values.
  mlir::Value affine(mlir::Value x, int64_t factor, int64_t offset = 0);
  mlir::Value div(mlir::Value x, int64_t y);
  mlir::Value rem(mlir::Value x, int64_t y);
  /// Whether `x` < `bound` (index values).
  mlir::Value less(mlir::Value x, int64_t bound);
  mlir::Value both(mlir::Value x, mlir::Value y);

  mlir::Value threadId();
  mlir::Value blockId(mlir::gpu::Dimension dimension);

  /// sum_i coordinates[i] * strides[i] (+ `base`, when given), skipping zero
  /// strides.
  mlir::Value linearIndex(llvm::ArrayRef<mlir::Value> coordinates,
                          llvm::ArrayRef<int64_t> strides,
                          mlir::Value base = mlir::Value());

  /// Element `offset` of the 1-D `buffer` where `inBounds` holds, else
  /// `fallback`. The load always happens (at offset 0 out of bounds), so
  /// that no branch is needed.
  mlir::Value loadOr(mlir::Value buffer, mlir::Value offset,
                     mlir::Value inBounds, mlir::Value fallback);
  mlir::Value load(mlir::Value buffer, mlir::Value offset);
  void store(mlir::Value value, mlir::Value buffer, mlir::Value offset);
  /// Runs `body` where `condition` holds.
  void ifThen(mlir::Value condition, llvm::function_ref<void()> body);
  /// Runs `thenBody` where `condition` holds, else `elseBody`.
  void ifThenElse(mlir::Value condition, llvm::function_ref<void()> thenBody,
                  llvm::function_ref<void()> elseBody);

  /// A constant i32 table `name` of `module` (made once), read as a memref.
  mlir::Value table(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                    llvm::ArrayRef<int32_t> data);
  /// Entry `i` of an i32 table, as an index.
  mlir::Value loadIndex(mlir::Value table, mlir::Value i);

  /// Clones the ops of `body` (a linalg op's region, its arguments mapped
  /// in `mapping`) at the insertion point, with the constants it uses from
  /// above, and returns the value it yields.
  mlir::Value cloneBody(mlir::Block &body, mlir::IRMapping &mapping);

  /// A workgroup-memory buffer of `shape` for `kernel`, of f32 unless
  /// `elementType` is given, aligned to 16 bytes (for vector loads).
  mlir::Value workgroupBuffer(mlir::gpu::GPUFuncOp kernel,
                              llvm::ArrayRef<int64_t> shape,
                              mlir::Type elementType = mlir::Type());
  void barrier();

  /// `x` (an index below 2^31) of the warp's first lane. The compiler
  /// knows the result is the same in every lane, so branches on it do not
  /// diverge (ptxas serialises wgmma products under a divergent branch).
  mlir::Value fromFirstLane(mlir::Value x);
  /// `x` (32 bits, or a vector of 32-bit elements) of lane `lane` (an
  /// index below 32) of the warp.
  mlir::Value shuffleFrom(mlir::Value x, mlir::Value lane);
  /// `x` (32 or 64 bits) of the lane whose id is this lane's XOR `offset`.
  mlir::Value shuffleXor(mlir::Value x, int64_t offset);
  /// `x` (f32 or f64) combined across each group of `lanes` (a power of two up to
  /// 32) consecutive lanes of a warp by butterfly shuffles: every lane of a
  /// group gets the result.
  mlir::Value reduceAcrossLanes(mlir::Value x, ReductionKind kind,
                                int64_t lanes);
  /// `x` combined across the `threads` threads of the block (a multiple of
  /// 32): shuffles within each warp, then the warps' values through
  /// `scratch` (a workgroup buffer of at least threads / 32 elements), in a
  /// fixed order. Every thread gets the result. `x` is combined in the
  /// element type of `scratch` (f32 or f64 for floats, i32 for i1) and
  /// converted back once.
  mlir::Value reduceAcrossBlock(mlir::Value x, ReductionKind kind,
                                int64_t threads, mlir::Value scratch);

  mlir::ImplicitLocOpBuilder &b;

private:
  mlir::Value combine(mlir::Value x, mlir::Value y, ReductionKind kind);
};

} // namespace tesa

#endif // TESA_CODEGEN_KERNELEMITTER_H
