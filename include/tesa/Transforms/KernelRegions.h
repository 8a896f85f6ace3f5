//===- KernelRegions.h - What a tesa.kernel region may hold -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The matchers that say which ops form kernel regions. Region formation
// (--tesa-form-kernel-regions) and their lowering
// (--tesa-lower-kernel-regions) share them, so that a region the first pass
// forms is one the second can lower.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_TRANSFORMS_KERNELREGIONS_H
#define TESA_TRANSFORMS_KERNELREGIONS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace tesa {

class KernelOp;
class TileConfigAttr;
struct ChipDescription;

/// Whether `type` is a tensor the kernel families read and write: static,
/// of f32 or f16 elements.
bool isKernelTensorType(mlir::Type type);

/// Whether `type` is a static tensor of booleans: a mask that an epilogue
/// step may read (torch-mlir's attention mask, selected into the scores).
bool isMaskTensorType(mlir::Type type);

/// The contraction dimensions of `op` as the kernel families see them:
/// linalg::inferContractionDims, except that a product without a batch
/// whose output leads with one of two M (or N) dimensions takes that one as
/// its batch, which the other operand does not have (a 1x1 convolution over
/// NCHW images: out[n, f, p] = W[f, c] * x[n, c, p]).
mlir::FailureOr<mlir::linalg::ContractionDimensions>
getKernelContractionDims(mlir::linalg::LinalgOp op);

/// Whether `op` is a contraction that the contraction family computes:
/// static f32 or f16 tensors (see isKernelTensorType), A and B of one
/// element type, one result, indexing maps that are projected
/// permutations with one M, one N and one reduction dimension and at most
/// one batch dimension (see getKernelContractionDims), and a multiply-add
/// body.
bool isContractionForKernel(mlir::linalg::LinalgOp op);

/// Whether `op` is a convolution that the convolution family computes
/// (linalg::isaConvolutionOpInterface: depthwise or not, any strides,
/// dilations and layout): static f32 or f16 tensors (see
/// isKernelTensorType), one result, each output element's loops parallel
/// and written through a permutation, the others reductions.
bool isConvolutionForKernel(mlir::linalg::LinalgOp op);

/// Whether `op` is a transpose the elementwise family computes: the
/// permutation {1, 0} of a 2-D tensor the families read (see
/// isKernelTensorType).
bool isTransposeForKernel(mlir::linalg::TransposeOp op);

/// Whether `value` is a copy of another tensor's elements in another order
/// (a linalg.transpose, or an all-parallel linalg op whose body yields its
/// one input through a permutation map; with `allowBroadcast`, through any
/// projected permutation, such as a bias broadcast to every row; with
/// `allowWidening`, also a copy whose body widens the element with one
/// `arith.extf`). Sets `source` to that tensor and `map` to the index of
/// `source` that each index of `value` reads.
bool matchCopy(mlir::Value value, mlir::Value &source, mlir::AffineMap &map,
               bool allowBroadcast = false, bool allowWidening = false);

/// Folds the copies that produce the inputs of `op` (transposes, and with
/// `allowBroadcast` broadcasts, seen through annotations; see matchCopy)
/// into its indexing maps, except for the inputs in `skipped`: it then
/// reads the copies' sources directly.
void foldInputCopies(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op,
                     bool allowBroadcast,
                     llvm::ArrayRef<mlir::Value> skipped = {});

/// Whether `op` can extend an epilogue whose current value is `value`: an
/// all-parallel linalg.generic with one result over value's dimensions,
/// reading `value` through a permutation map (and nowhere else), its other
/// inputs through projected permutations, writing through a permutation
/// without reading its output, with a body of pure arith and math ops.
bool isEpilogueStep(mlir::linalg::GenericOp op, mlir::Value value);
/// Follows the elementwise steps `ops` from `root`: each a `tesa.annotate`
/// of the running value (which passes it on) or an epilogue step reading it
/// (isEpilogueStep), on which `onStep` is called with the value it reads.
/// Returns the last value; fails when an op is neither or `onStep` fails.
mlir::FailureOr<mlir::Value> followEpilogueSteps(
    llvm::ArrayRef<mlir::Operation *> ops, mlir::Value root,
    llvm::function_ref<mlir::LogicalResult(mlir::linalg::GenericOp step,
                                           mlir::Value running)>
        onStep = nullptr);

/// The configuration of a contraction region of the `batch` products of
/// `m` x `n`. With `tensorCores` (f16 operands, see fitsTensorCoreTiles) on
/// a chip with the m16n8k16 atom and asynchronous
/// copies: the largest of 128x128, 128x64, 64x64 and 64x32 tiles (four
/// warps; K steps of 64 four deep where shared memory holds them, else of
/// 32 three deep) that gives every multiprocessor of `chip` two tiles,
/// else the smallest. Otherwise exact-f32 FMA: 64x64x8
/// output tiles (4x4 a thread) when they give every multiprocessor a tile,
/// else 32x32x16 (2x2 a thread), 256 threads either way. When the tiles are
/// fewer than the multiprocessors, the `k` reduction elements are split
/// into enough slices (split_k) for two blocks of threads a multiprocessor,
/// each at least four K steps long. With `wgmmaOperands` other than None
/// too (operands in 16-byte pieces), for at least 64 rows on a chip with
/// warpgroup products (sm_90): the wgmma atom instead (see
/// chooseWgmmaConfig in ChooseTileConfigs.cpp).
enum class WgmmaOperands {
  /// The lhs is not contiguous along K, or the rhs along K or N: no wgmma.
  None,
  /// Both operands contiguous along K (a Linear's weight stored [N][K]).
  AlongK,
  /// The lhs along K, the rhs along N (a weight stored [K][N]): B's tiles
  /// are MN-major, at most 64 columns wide.
  RhsAlongN,
};
/// `siblings` regions of these sizes that read one tensor (a layer's Q, K
/// and V projections) run as one launch (groupSiblingKernels): the wgmma
/// table's tiling of their product of `siblings` x `n` columns applies
/// where it lists one.
TileConfigAttr chooseContractionConfig(
    mlir::MLIRContext *context, const ChipDescription &chip, int64_t batch,
    int64_t m, int64_t n, int64_t k, bool tensorCores,
    WgmmaOperands wgmmaOperands = WgmmaOperands::None, int64_t siblings = 1);

/// How the inputs of the contraction `op` lie where its kernel reads them
/// (in their own tensors, or in the tensors they are transposed copies of,
/// see matchCopy, which the kernel reads in their place), for the wgmma
/// atom.
WgmmaOperands getWgmmaOperands(mlir::linalg::LinalgOp op);

/// Whether the operands of the contraction `op` are f16 tensors that the
/// tensor-core tiles copy in 16-byte pieces: the innermost dimension a
/// multiple of eight (then so is every stride), and not the batch. With
/// `alignedCopies` false, any innermost length that is not the batch's (the
/// mma.sync tiles copy 8, 4 or 2 bytes at a time where 16 do not fit).
bool fitsTensorCoreTiles(mlir::linalg::LinalgOp op, bool alignedCopies = true);
/// The same for the contraction's input `input` alone; with
/// `throughViews`, for the tensor that input views through annotations,
/// transposed copies and collapses of unit dimensions (where the attention
/// family reads it).
bool fitsTensorCoreTiles(mlir::linalg::LinalgOp op, unsigned input,
                         bool throughViews = false, bool alignedCopies = true);

/// How a row program reads a tensor, relative to the row.
enum class RowAccess {
  /// Element (row, column): a tensor of the rows' shape.
  Whole,
  /// One value per row: a tensor of the rows alone, or with a trailing
  /// unit dimension (keepdim).
  PerRow,
  /// One value per column, the same in every row (a layer norm's gain).
  PerColumn,
  /// Through another projected permutation of the loops (an attention
  /// mask shared by the heads): only tensors read from outside.
  Strided,
};

/// What one op of a row program computes.
enum class RowStepKind {
  /// Elementwise over the rows' elements (loops: rows, column).
  Elementwise,
  /// A reduction of each row into one value (the column loop reduces).
  Reduction,
  /// Elementwise over the per-row values (loops: rows, and perhaps a unit
  /// loop that keeps the reduced dimension).
  RowElementwise,
};

/// A row program: linalg.generic ops over the rows of the tensor the last
/// one yields (softmax, layer norm, their elementwise neighbours), as the
/// row-reduction family runs it (see RowReduction.cpp). Values inside the
/// program may be of any float type (torch-mlir computes a layer norm's
/// variance in f64) or i1; the tensors it reads from outside and its result
/// are f32 or f16 (isKernelTensorType).
struct RowProgram {
  /// The rows of the result (its shape without the last dimension), and
  /// the row length.
  llvm::SmallVector<int64_t> rows;
  int64_t length = 0;
  mlir::Value result;
  /// The ops in program order, with their kinds.
  llvm::SmallVector<mlir::linalg::GenericOp> steps;
  llvm::SmallVector<RowStepKind> kinds;
  /// How each step reads each of its operands (its init included).
  llvm::SmallVector<llvm::SmallVector<RowAccess>> accesses;
  /// The tensors read from outside the program, in order of first use.
  llvm::SmallVector<mlir::Value> inputs;
};

/// The op of a row reduction's body that combines an element with the
/// running value (its output argument): an addf, maximumf or maxnumf, or
/// an andi of booleans (torch-mlir's safe softmax asks whether a whole row
/// is masked); null for any other body.
mlir::Operation *getRowCombiner(mlir::linalg::GenericOp reduction);

/// The constant a row reduction starts from (the init is a linalg.fill of
/// an arith.constant, seen through tesa.annotate), or null when it reads
/// its init.
mlir::arith::ConstantOp getRowInitialConstant(mlir::linalg::GenericOp op);

/// `ops` (in program order) as a row program whose result is the last
/// op's; fails, saying why, unless every op is a step over the result's
/// rows, reads the program's values through the shapes they have and
/// outside tensors whole, per row or per column, and the last op is
/// elementwise over the rows' elements.
llvm::Expected<RowProgram> matchRowProgram(llvm::ArrayRef<mlir::Operation *> ops);

/// The configuration of a row reduction over rows of `rowLength`: one row
/// per block of threads, about four elements a thread (32 to 256 threads).
TileConfigAttr chooseRowReductionConfig(mlir::MLIRContext *context,
                                        int64_t rowLength);

/// The outputs a convolution thread computes along the output's last
/// dimension, of `rowLength` (neighbouring outputs share most of their
/// window): at most `longest`, of an even row the longest power of two that
/// divides it (its results one aligned vector store), of an odd row its
/// longest divisor.
int64_t getConvolutionRun(int64_t rowLength, int64_t longest);

/// The configuration of a convolution region whose output's last dimension
/// is `rowLength`: each thread a run of getConvolutionRun(rowLength,
/// longest) neighbouring outputs, 256 threads a block.
TileConfigAttr chooseConvolutionConfig(mlir::MLIRContext *context,
                                       int64_t rowLength, int64_t longest);

/// The ops of an attention region's body by role: scores = Q K^T (a
/// contraction over the head dimension, with a batch of heads or without),
/// the elementwise steps on the scores (scaling, a mask), a softmax along
/// the keys, then context = P V (a contraction over the keys, P read as its
/// A operand) and its elementwise steps (such as the heads' transpose).
struct AttentionBody {
  mlir::linalg::GenericOp scores;
  llvm::SmallVector<mlir::Operation *> scoreSteps;
  /// The row maximum, exp(x - max), the row sum and the division (see
  /// matchSoftmaxRowProgram).
  llvm::SmallVector<mlir::Operation *> softmax;
  /// Whether a row whose every score is -inf gives zeros (torch-mlir's
  /// safe softmax) rather than NaNs.
  bool safeSoftmax = false;
  mlir::linalg::GenericOp context;
  llvm::SmallVector<mlir::Operation *> contextSteps;
  /// The depth of Q and K (the scores' reduction), and the width of V (the
  /// context's N).
  int64_t getHeadDim() const;
  int64_t getValueDim() const;
  /// The queries of a head (the context's M), and the heads (its batch; 1
  /// without one).
  int64_t getQueries() const;
  int64_t getHeads() const;
  /// The heads that the context's encoding does not prune whole, in order;
  /// empty when it prunes none (or all: then every head is computed).
  std::vector<int32_t> getKeptHeads() const;
  /// How many heads are computed.
  int64_t getComputedHeads() const {
    std::vector<int32_t> kept = getKeptHeads();
    return kept.empty() ? getHeads() : int64_t(kept.size());
  }
};
/// `ops`, in program order, as an attention body: fails unless both
/// contractions are ones the contraction family computes (with a constant
/// initial value), the score steps keep the scores' coordinates
/// (identity maps), the softmax (from the first reduction after the
/// scores) is one along the last dimension (see matchSoftmaxRowProgram:
/// the four ops --tesa-decompose-aggregated-ops makes of a
/// `linalg.softmax`, or torch-mlir's safe softmax), the context reads the
/// probabilities as its A operand with its batch, M and K loops on their
/// three dimensions in order, and every step reads the previous value.
mlir::FailureOr<AttentionBody>
matchAttentionBody(llvm::ArrayRef<mlir::Operation *> ops);
/// How a softmax row program is written (see matchSoftmaxRowProgram).
struct SoftmaxForm {
  /// Rows whose every element is -inf give zeros.
  bool safe = false;
};
/// The form of `ops` if they are a softmax along the last dimension of
/// `input`: the row maximum (a reduction with a max body), exp(x - max),
/// the row sum (a reduction with an add body from zero), then x / sum, or
/// torch-mlir's safe softmax: whether x == -inf (in f32 or widened to
/// f64), whether it holds for the whole row (an andi reduction from true)
/// and select(whole row, 0, x / sum); and optionally the probabilities
/// rounded (arith.truncf). Each is a linalg.generic over `input`'s rows
/// with identity maps (the per-row values read without the last
/// dimension).
std::optional<SoftmaxForm>
matchSoftmaxRowProgram(llvm::ArrayRef<mlir::Operation *> ops,
                       mlir::Value input);
/// The configuration of attention `body` on `chip`: queries a block of
/// threads in groups of 16 (a warp each), each group's keys taken 64 a warp
/// by two warps (128 keys a step) where `chip`'s shared memory holds the Q
/// tile and two stages of K and V, else by one; the m16n8k16 atom:
/// tile = [queries, keys a step, head size], thread_tile = [16, 64]. 64
/// queries a block, or 32 where blocks of 64 would leave more than half of
/// the multiprocessors without one. Null unless `chip` has the atom and
/// asynchronous copies and the head sizes are multiples of 16 up to 128.
///
/// A body whose products read f32 operands takes exact-f32 FMA tiles
/// instead (`fma_f32`, see FmaAttention.cpp): groups of 16 lanes, each
/// owning some queries and a split of 64 keys of each step (4 a lane:
/// thread_tile = [queries a group, 4]), two stages; the queries a block,
/// a group and the splits as kFmaAttentionTilings orders them (64, 8 and 2
/// where that gives half the multiprocessors a block). Blocks are counted
/// for the heads the context's encoding keeps (getKeptHeads).
/// Null unless `chip` has asynchronous copies, Q and K are contiguous along
/// the head (a multiple of 4) and V along the context's columns (a multiple
/// of 16 up to 128), and the buffers fit in shared memory.
TileConfigAttr chooseAttentionConfig(mlir::MLIRContext *context,
                                     const ChipDescription &chip,
                                     const AttentionBody &body);
/// Puts the ops of `kernel` back in its place, its results replaced by the
/// values its body yields.
void inlineKernelRegion(mlir::RewriterBase &rewriter, KernelOp kernel);

} // namespace tesa

#endif // TESA_TRANSFORMS_KERNELREGIONS_H
