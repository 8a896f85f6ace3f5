//===- PartKernels.h - Specialised kernels for decomposed parts -*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The specialisation policy: a part's pattern becomes compile-time work
// lists, and kernels are generated for it as gpu dialect IR with the
// target's instructions. Private to the PartsToGPU conversion.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_CONVERSION_PARTSTOGPU_PARTKERNELS_H
#define TESA_LIB_CONVERSION_PARTSTOGPU_PARTKERNELS_H

#include "tesa/Codegen/Families.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Support/SparsityMap.h"
#include "tesa/Target/ChipDescription.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>
#include <vector>

namespace tesa {

class Epilogue;

/// A dense operand that is never materialised: its element (i, j) is element
/// `map(delinearize(i, rowShape), delinearize(j, columnShape))` of a source
/// buffer of type `sourceType` (for a convolution, the image read through
/// its patches: an implicit GEMM).
struct DenseGather {
  mlir::AffineMap map;
  llvm::SmallVector<int64_t> rowShape, columnShape;
  mlir::MemRefType sourceType;
};

/// The compile-time layout of one part: which kernel computes it and the
/// work lists it reads. Channels are the sparse operand's output dimension
/// (P of them), the reduction runs over K, and the dense operand supplies Q
/// columns of the result.
struct PartLayout {
  /// Tensor-core tiles (block parts with a matching mma shape) or SIMT.
  bool useMma;
  /// 2:4 structured blocks on sparse tensor cores (`mma.sp`): a block row
  /// packs two values of every four reduction elements (see
  /// getStructuredOffset), and `metadata` holds the instruction's indices.
  bool structured = false;
  ComputeKind compute;
  /// Largest quantised magnitude (127 for 8 bits, 7 for 4).
  int64_t qmax;
  /// 4-bit parts keep two values per byte (see getPackedByte); the kernels
  /// unpack them into int8 lanes holding 16 times each value.
  bool packedInt4 = false;
  int64_t channels, reduction, columns;
  /// Whether the sparse operand is the lhs (channels along its rows).
  bool sparseIsLhs;
  /// SIMT float parts with a sparse rhs read the dense lhs transposed
  /// (reduction-major), so that the threads of a warp, one per result
  /// column, read consecutive addresses.
  bool transposedDense = false;
  /// The dense operand read through a gather from another buffer.
  std::optional<DenseGather> gather;
  /// The dense operand is f16 (an f16 program's tensor-core f16 part): the
  /// compute kernel reads it only through the dense copy (hasDenseCopy).
  bool f16Dense = false;
  /// SIMT: reduction elements per entry (1, 2 or 4; int8 parts 4), which
  /// lie at a multiple of the group. MMA: the block shape
  /// (channels x reduction) and the instruction shape.
  int64_t group = 1;
  int64_t blockChannels = 0, blockReduction = 0;
  MatrixShape mma = {0, 0, 0};
  /// Work rows: SIMT channel ids / MMA block-row ids; entry offsets per work
  /// row (size rows + 1); per entry, the reduction start (SIMT: with the
  /// group's element mask in bits 24-27) or the block's column of blocks.
  std::vector<int32_t> rows, offsets, entries;
  /// SIMT: computed by the staged kernel (see usesStagedSimt).
  bool stagedSimt = false;
  /// Structured: computed by the warpgroup kernel (`wgmma.sp`, see
  /// usesWgmmaBlocks), which reads its operands from shared memory: each
  /// block row packs its values in reduction order (getStructuredPosition)
  /// and the dense copy is [column][k]. Otherwise the values and the dense
  /// copy are in the order of the `mma.sp` fragments.
  bool structuredRows = false;
  /// Structured parts on the warpgroup kernel: the tiling to take instead
  /// of the heuristic's (LowerPartsToGPU's `structured-tiling`, checked by
  /// checkStructuredTiling); empty: the heuristic's.
  std::vector<int64_t> structuredTiling;
  /// int8 parts on the warpgroup kernel: where their groups of slabs run
  /// in pairs as clusters that share the dense slices (LowerPartsToGPU's
  /// `block-clusters`).
  BlockClusters blockClusters = BlockClusters::Auto;
  /// Whether the dense copy is in the order of the `mma.sp` B fragments
  /// (see getDenseCopyType).
  bool hasFragmentOrderedDenseCopy() const {
    return structured && !structuredRows;
  }
  /// SIMT: a multiple of entries every work row holds (see padWorkRows).
  int64_t rowMultiple = 1;
  /// MMA: the kept-element bitmask of each block, 32 elements per word.
  std::vector<int32_t> blockMasks;
  /// A fine-grained 16-bit part on tensor cores (buildCompressedTileLayout):
  /// laid out in blocks of kCompressedTile, whose packed buffer holds only
  /// the kept values, block row by block row, each row's in reduction
  /// order from `rowOffsets[entry * blockChannels + row]` (then one past
  /// the last: the number of kept values). The compute kernel expands each
  /// thread's fragment run from its row's mask.
  bool compressed = false;
  std::vector<int32_t> rowOffsets;
  /// Structured: the metadata word of each (block, slice of mma.m channels,
  /// step of mma.k reduction elements, lane group g, lane g * 4 + i for
  /// i = 0, 1), at getMetadataIndex(). Lane i = 0 holds, for channels g and
  /// g + 8 of the slice (low and high half), the 2-bit positions of the two
  /// values of each of the step's groups of four 0-3; lane 1 those of groups
  /// 4-7 (PTX ISA, "Sparse matrix storage", m16n8k32 with sparsity selector
  /// 0).
  std::vector<int32_t> metadata;
  /// The dense columns the compute kernel covers (SIMT: column ids; MMA:
  /// tiles of mma.n columns) when the product's result marks the others
  /// pruned; empty when it covers them all.
  std::vector<int32_t> liveColumns;
  /// Set when the part's accumulator is this constant everywhere and the
  /// part covers every result element (every work row, no skipped column):
  /// the compute kernel then writes epilogue(initial + sum) without reading
  /// the result, and the result buffer needs no fill.
  std::optional<float> initialValue;
  /// Set, like initialValue, when the accumulator is a vector (a bias)
  /// broadcast along the result's other dimension: the result dimension
  /// (0 or 1) the vector is indexed by. The compute kernel takes the vector
  /// as its last argument and writes epilogue(bias + sum).
  std::optional<unsigned> initialBiasDim;
  /// The bias is f16 (an f16 program's), read extended exactly.
  bool f16Bias = false;

  /// Packed values the compute kernel reads.
  int64_t getNumPacked() const;
  /// Channels of a work row: one (SIMT) or a block row's.
  int64_t getWorkRowChannels() const { return useMma ? blockChannels : 1; }
  /// Elements of the packed buffer: one per value, or one byte per two
  /// values for 4-bit parts.
  int64_t getPackedBufferSize() const;
  /// Where packed value `slot` of a 4-bit part lives: its byte, and whether
  /// it is the high nibble. In each run of 2D slots (D = 2 for a SIMT
  /// entry's four values, 4 for eight consecutive values of a block row),
  /// byte i holds slot i in its low nibble and slot D + i in its high one,
  /// so that one load unpacks into int8 lanes of consecutive values.
  std::pair<int64_t, bool> getPackedByte(int64_t slot) const;
  /// D above: 2 for SIMT parts, 4 for tensor-core parts.
  int64_t getNibbleRun() const { return useMma ? 4 : 2; }
  /// Padded reduction length of the quantised dense operand.
  int64_t getPaddedReduction() const;
  /// Structured: where metadata word (entry, slice, step, lane) is; a
  /// lane's words of consecutive steps are adjacent.
  int64_t getMetadataIndex(int64_t entry, int64_t slice, int64_t step,
                           int64_t lane) const;
  /// Structured: the steps one lane loads at once (two where the block has
  /// an even number, else one).
  int64_t getStructuredStepsPerRun() const;
  /// Structured: where packed value `position` of a block row lies: its
  /// step (of mma.k reduction elements), its group of four in the step
  /// (0-7) and which of the group's two values it is. With structuredRows
  /// the values are in that order (16 a step, two a group). Otherwise a
  /// row's values come in runs of getStructuredStepsPerRun() steps; in a run
  /// lane i (of four) holds 4 values a step from position 4i * steps: per
  /// step the two values of group i, then those of group i + 4, as its two
  /// A fragment registers.
  struct StructuredPosition {
    int64_t step, group, value;
  };
  StructuredPosition getStructuredPosition(int64_t position) const;
  /// Structured: the reduction offset, in its block, of packed value
  /// `position` of block row `row` of entry `entry` (the position its
  /// metadata names); the value is zero when the block keeps nothing there.
  int64_t getStructuredOffset(int64_t entry, int64_t row,
                              int64_t position) const;
  /// Number of blocks (MMA) or entries (SIMT) of work.
  int64_t getNumEntries() const { return entries.size(); }
  /// SIMT: number of kept elements, over all entries' masks.
  int64_t getNumKept() const;
  /// Number of columns (SIMT) or column tiles (MMA) the compute kernel
  /// covers.
  int64_t getNumColumnWork() const;
};

/// Whether a part of `kernel` kind, `block` shape (in the sparse operand's
/// dimensions) and `bits` is computed on `chip`'s sparse tensor cores: a 2:4
/// structured f16 part of a block shape the chip accepts.
bool isSparseTensorCorePart(PartKernel kernel, llvm::ArrayRef<int64_t> block,
                            bool sparseIsLhs, unsigned bits,
                            const ChipDescription &chip);

/// Builds the layout of a part whose kept elements are `part` (in the sparse
/// operand's own orientation). Its work rows are the channels (SIMT) or
/// block rows (MMA) that have kept elements.
/// `kernel` is the part's kind; a structured part the chip cannot compute
/// on sparse tensor cores is laid out as a block part.
PartLayout buildPartLayout(const SparsityMap &part, bool sparseIsLhs,
                           int64_t columns, PartKernel kernel,
                           llvm::ArrayRef<int64_t> block, unsigned bits,
                           const ChipDescription &chip);

/// The block of a fine-grained part on tensor cores (channels x reduction):
/// one mma.m slice of channels, and rows of two 32-bit mask words, so that
/// a thread's run of eight values in a chunk of 32 (RegisterMmaKernel.cpp)
/// is one byte of its row's mask.
inline constexpr BlockShape kCompressedTile = {16, 64};

/// The least fraction of its elements a fine-grained 16-bit part keeps for
/// its tensor-core layout to pay: below it each tile, expanded whole, holds
/// too few kept values for its masks, offsets and products, and the SIMT
/// kernel (about 8 bytes a kept pair) reads less. Not measured at 5%: at
/// 10% the tensor-core part was 1.7x faster than the SIMT kernel, at 2%
/// the SIMT kernel matched cuBLAS (docs/benchmarks.md).
inline constexpr double kMinCompressedKeptFraction = 0.05;

/// Whether a fine-grained part of `bits` whose kept elements are `part`
/// (the lhs when `sparseIsLhs`, over an f16 dense operand when `f16Dense`)
/// is computed on `chip`'s tensor cores from compressed tiles
/// (buildCompressedTileLayout): 16-bit elements of a sparse rhs in an f16
/// program (the f16 parts tesa-decompose makes), on a chip with f16 mma,
/// keeping at least kMinCompressedKeptFraction.
bool usesCompressedTiles(const SparsityMap &part, bool sparseIsLhs,
                         unsigned bits, bool f16Dense,
                         const ChipDescription &chip);

/// The layout of a fine-grained 16-bit part on tensor cores: blocks of
/// kCompressedTile with the block masks, and the packed values compressed
/// (PartLayout::compressed).
PartLayout buildCompressedTileLayout(const SparsityMap &part, bool sparseIsLhs,
                                     int64_t columns,
                                     const ChipDescription &chip);

/// Whether the staged SIMT kernel (StagedSimtKernel.cpp) can compute
/// `layout` and repays its copies: an f32 fine-grained part that reads the
/// dense operand as [k][column] in place, with at least 128 dense columns
/// (a multiple of 4), every column live, and on average at least eight kept
/// elements a work row in every chunk of 32 reduction elements.
bool usesStagedSimt(const PartLayout &layout);

/// Whether a structured part can be computed by the warpgroup kernel
/// (`wgmma.mma_async.sp`, WgmmaBlockKernel.cpp; then the lowering sets
/// PartLayout::structuredRows): on chips with wgmma, for f16 blocks of 64
/// channels by 32 or 64 reduction elements, with at least 64 dense columns
/// read from a dense copy and no live-column list.
bool canUseWgmmaStructured(const PartLayout &layout,
                           const ChipDescription &chip);

/// Why `tiling`, the values of LowerPartsToGPU's `structured-tiling`
/// (dense columns a warpgroup, warpgroups, slabs a block, walk slices, ring
/// slots), is not one the warpgroup kernel takes; empty where it is.
std::string checkStructuredTiling(llvm::ArrayRef<int64_t> tiling);

/// Why the tiling PartLayout::structuredTiling gives a structured part
/// that the warpgroup kernel would otherwise take does not fit `chip`'s
/// shared memory; empty where it fits, or where none is given.
std::string checkGivenStructuredTiling(const PartLayout &layout,
                                       const ChipDescription &chip);

/// The staged SIMT kernel's table of chunks: per work row w and chunk c of
/// 32 reduction elements (then one past the last), the first of w's
/// entries that starts at or after the chunk, so that w's entries inside
/// chunk c are [table[w * (chunks + 1) + c], table[w * (chunks + 1) + c +
/// 1]).
std::vector<int32_t> getStagedSimtChunkOffsets(const PartLayout &layout);

/// Whether the plain SIMT kernel reads the dense operand of `layout` at the
/// offsets of getSimtDenseOffsets, instead of by (k, column) from its
/// entries: where it reads it in place as [k][column] ([k / 4][column][4]
/// for int8 parts), with fewer than 2^31 elements, and every element of a
/// group lies inside it (for float parts, a reduction that is a multiple of
/// the group; int8's quantised copy is padded). Not for rows padded with
/// entries that keep nothing (padWorkRows, for the decode product kernel).
/// The pack kernel of such a layout with entries of one element reads the
/// same table: every entry keeps its element.
bool readsDenseByOffsets(const PartLayout &layout);

/// The plain SIMT kernel's table in place of the entries: per entry, the
/// offset in the flat dense operand of its group's first reduction element
/// in dense column 0, start * columns (the operand is [k][column], or
/// [k / 4][column][4] for int8 parts, whose groups start at multiples of
/// four); the kernel adds its column's offset (column, or 4 * column).
std::vector<int32_t> getSimtDenseOffsets(const PartLayout &layout);

/// SIMT `layout` with entries of four reduction elements (at multiples of
/// four) holding what its entries of `layout.group` (1, 2 or 4) hold.
PartLayout regroupInFours(const PartLayout &layout);

/// Makes every channel (SIMT) or block row (MMA) of `layout` a work row,
/// those without kept elements with no entries, so that the compute kernel
/// writes every element of the result (to apply an epilogue, or to write a
/// constant-filled accumulator without reading it).
void addEmptyWorkRows(PartLayout &layout);

/// Pads every work row of SIMT `layout` with entries `filler` (which keep
/// no element) to a positive multiple of `multiple` entries, so that a
/// kernel walking a row in steps of `multiple` needs no bound within a step.
void padWorkRows(PartLayout &layout, int64_t multiple, int32_t filler);

/// Restricts the compute kernel of `layout` to the dense columns in which
/// `result` (the product's result map) keeps an element: a column whose
/// every result element is pruned (zero, or dead: nothing reads it) is not
/// computed, and keeps its accumulator's value.
void restrictToLiveColumns(PartLayout &layout, const SparsityMap &result);

/// A part's packed values (and, for int8 parts, per-channel scales),
/// computed at compile time exactly as the pack kernel computes them.
struct HostPackedPart {
  mlir::DenseElementsAttr values, scales;
};

/// The values of a constant f32 or f16 tensor (`arith.constant` with dense
/// or dense_resource contents; f16 values extended exactly), in row-major
/// order; none for anything else.
std::optional<std::vector<float>> getConstantValues(mlir::Value value);

/// Packs a part of the sparse operand whose values are `source` (row-major,
/// in the operand's own orientation).
HostPackedPart packOnHost(mlir::MLIRContext *context, const PartLayout &layout,
                          llvm::ArrayRef<float> source);

/// How one kernel is launched: grid and block sizes (x, y), the bytes of
/// dynamic shared memory it takes, and the TMA tensor maps it takes after
/// its other arguments, each of argument `input`'s buffer.
struct KernelLaunch {
  std::array<int64_t, 2> grid, block;
  int64_t sharedBytes = 0;
  /// Consecutive blocks along x launched as one thread block cluster (1:
  /// no clusters).
  int64_t clusterBlocks = 1;
  std::vector<TensorMapOperand> tensorMaps;
};

/// The launch of a part's warpgroup compute kernel (see usesWgmmaBlocks),
/// how it was sized, the dense operand (a tensor) the part reads, and the
/// launch's operands the kernel writes (the result, the steps' result);
/// it only reads the others.
struct WarpgroupLaunch {
  mlir::gpu::LaunchFuncOp launch;
  KernelLaunch sizes;
  mlir::Value dense;
  llvm::SmallVector<mlir::Value, 2> written;
};

/// Launches consecutive `launches` (in program order) that read one dense
/// operand, with blocks of as many threads in clusters of as many blocks,
/// as one kernel (fuseKernelBodies) at the last one's place, where the
/// others can move there (SiblingLaunches.cpp); `replaced(old, launch)`
/// is told of each launch replaced.
void launchSiblingsTogether(
    llvm::ArrayRef<WarpgroupLaunch> launches, mlir::gpu::GPUModuleOp module,
    llvm::function_ref<void(mlir::Operation *, mlir::Operation *)> replaced);

/// The kernels of one part, in `module` under names starting with `prefix`.
struct PartKernels {
  /// The kernels (pack and denseCopy are null when not asked for).
  mlir::gpu::GPUFuncOp pack, denseCopy, compute;
  KernelLaunch packLaunch, denseCopyLaunch, computeLaunch;
  /// Whether `compute` is the warpgroup kernel (see usesWgmmaBlocks).
  bool warpgroupCompute = false;
};

/// Generates the pack kernel (source -> packed values and, for int8, per
/// channel scales) unless `withPack` is false, the kernel that makes the
/// dense operand's copy (see hasDenseCopy) unless `withDenseCopy` is false,
/// and the compute kernel, with the work lists as constant globals. The compute
/// kernel applies `part`'s epilogue to each element it writes, then `steps`
/// where set (the elementwise steps after the part, see
/// KernelBuilder::steps): it then takes, after the result (and bias), the
/// flat buffers of the steps' inputs and of their result.
PartKernels buildPartKernels(mlir::OpBuilder &builder, mlir::Location loc,
                             mlir::gpu::GPUModuleOp module,
                             llvm::StringRef prefix, const PartLayout &layout,
                             const ChipDescription &chip, PartMatmulOp part,
                             bool withPack, bool withDenseCopy,
                             const Epilogue *steps = nullptr);

/// The element type of the packed values.
mlir::Type getPackedElementType(mlir::MLIRContext *ctx,
                                const PartLayout &layout);

/// The buffers the pack kernel writes: the packed values and the
/// per-channel scales (read by int8 parts only).
mlir::MemRefType getPackedBufferType(mlir::MLIRContext *ctx,
                                     const PartLayout &layout);
mlir::MemRefType getScalesBufferType(mlir::MLIRContext *ctx,
                                     const PartLayout &layout);

/// Whether the compute kernel reads a copy of the dense operand rather than
/// the operand itself: int8 parts read it quantised, tensor-core f16 parts
/// converted to f16 (so that a fragment register is one aligned load) when
/// they have enough blocks to pay for it and are not an implicit GEMM, whose
/// f16 parts read through the gather.
bool hasDenseCopy(const PartLayout &layout);

/// The buffers the dense-copy kernel writes: the copy (its element type and
/// layout depend on the kernel kind and the padded reduction; parts with
/// equal types can share one copy) and, for int8 parts, one scale per dense
/// column.
mlir::MemRefType getDenseCopyType(mlir::MLIRContext *ctx,
                                  const PartLayout &layout);
mlir::MemRefType getDenseScalesType(mlir::MLIRContext *ctx,
                                    const PartLayout &layout);

/// The pack kernel of one part alone (see buildPartKernels), and its launch.
mlir::gpu::GPUFuncOp buildPartPack(mlir::OpBuilder &builder,
                                   mlir::Location loc,
                                   mlir::gpu::GPUModuleOp module,
                                   llvm::StringRef prefix,
                                   const PartLayout &layout,
                                   const ChipDescription &chip,
                                   PartMatmulOp part, KernelLaunch &launch);

//===----------------------------------------------------------------------===//
// Decode products
//===----------------------------------------------------------------------===//
//
// A product whose dense operand has few columns (a decode step, a small
// batch) is computed by one launch over all its parts, whatever their
// precision, instead of one launch per part, a dense-operand copy per
// precision and a copy of the accumulator: each block stages the dense
// operand in workgroup memory (and quantises it there for int8 parts), and
// walks the SIMT work lists of every part for its channels
// (DecodeProductKernel.cpp).

/// Whether the parts with SIMT layouts `layouts` (every channel a work row,
/// the dense operand read untransposed), the parts of one product, can be
/// computed by one decode-product launch: at most 64 dense columns, not
/// gathered, staged within the chip's static workgroup memory.
bool fitsDecodeProduct(llvm::ArrayRef<PartLayout> layouts,
                       const ChipDescription &chip);

/// Pads the work rows of a decode product's parts to whole steps of its
/// threads' walk, with entries that read staged zeros (see padWorkRows).
void padDecodeProductRows(llvm::MutableArrayRef<PartLayout> layouts,
                          const ChipDescription &chip);

/// The decode product's compute kernel `name` for parts `parts` with
/// layouts `layouts` (see fitsDecodeProduct), taking `arguments`: the dense
/// operand, the accumulator (unless `initialValue` gives it as a constant),
/// each part's packed values (and its scales, for int8 parts), the result.
/// The last part's epilogue is applied to the sum.
mlir::gpu::GPUFuncOp buildDecodeProductCompute(
    mlir::OpBuilder &builder, mlir::Location loc,
    mlir::gpu::GPUModuleOp module, llvm::StringRef name,
    llvm::ArrayRef<PartLayout> layouts, llvm::ArrayRef<PartMatmulOp> parts,
    const ChipDescription &chip, llvm::ArrayRef<mlir::Type> arguments,
    std::optional<float> initialValue);
KernelLaunch getDecodeProductLaunch(llvm::ArrayRef<PartLayout> layouts,
                                    const ChipDescription &chip);

/// Marks the launches of pack kernels in the host program.
constexpr llvm::StringLiteral kPackLaunchAttr = "tesa.pack_launch";

} // namespace tesa

#endif // TESA_LIB_CONVERSION_PARTSTOGPU_PARTKERNELS_H
