//===- TesaAttrs.td - tesa attribute definitions -----------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAATTRS_TD
#define TESA_DIALECT_TESA_IR_TESAATTRS_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
include "tesa/Dialect/Tesa/IR/TesaEnums.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/TensorEncoding.td"

def Tesa_SparsityAttr : AttrDef<Tesa_Dialect, "Sparsity",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let mnemonic = "sparsity";
  let summary = "Per-element sparsity and precision of a tensor";
  let description = [{
    A tensor encoding that says, for every element of the tensor, whether it
    is pruned (`0`) or the number of bits it is kept at (`4`, `8`, `16` or
    `32`). It has two forms:

    ```mlir
    // Every element kept at 8 bits.
    tensor<64x64xf16, #tesa.sparsity<bits = 8>>
    // A 2x2 grid of 32x32 blocks: one block at 32 bits, one at 8, two pruned.
    tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>
    // One entry per element, stored as a resource blob.
    tensor<1024x1024xf32, #tesa.sparsity<map = dense_resource<w1_mask> : tensor<1024x1024xi8>>>
    ```

    `map` is a `dense<...>` (hex strings included) or `dense_resource<...>`
    elements attribute of `i8` with the tensor's rank. Each map dimension
    divides the tensor dimension, and each entry covers a block of
    (tensor dim / map dim) elements; a map dimension over a dynamic tensor
    dimension must be 1. No element may be kept at more bits than its element
    type has.

    Canonical form: `SparsityAttr::get(SparsityMap)` stores a map on the
    coarsest block grid that represents it exactly, and a uniform map as
    `bits = N` (`bits = 0` means every element is pruned). The parser keeps
    a map as written, so that its shape is checked against every tensor
    that uses it (a uniform `dense<8> : tensor<3x3xi8>` does not divide a
    4x4 tensor); `--tesa-canonicalize-encodings` rewrites maps into
    canonical form, and `tesa-opt` and `tesa-compile` run it on inline maps,
    after `--tesa-verify-encodings`, before any other pass, so that equal
    sparsity prints as the identical attribute. A `dense_resource` map's
    data is parsed after the types that use it: the verify pass checks it.
  }];
  let parameters = (ins
    "unsigned":$uniformBits,
    OptionalParameter<"::mlir::ElementsAttr">:$map
  );
  let builders = [
    AttrBuilder<(ins "const ::tesa::SparsityMap &":$sparsity)>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True for the `bits = N` form.
    bool isUniform() const { return !getMap(); }

    /// True if the map is a `dense_resource` blob.
    bool hasResourceMap() const;

    /// The map entries, row-major over the grid, or std::nullopt for a
    /// resource map whose data has not been parsed (yet). Empty for the
    /// uniform form; the one entry of an inline splat map.
    std::optional<::llvm::ArrayRef<uint8_t>> getMapEntries() const;

    /// The block grid over a tensor of rank `rank`.
    ::llvm::SmallVector<int64_t> getGridShape(unsigned rank) const;

    /// The widest bit width of any element, or std::nullopt if the map data
    /// is not available.
    std::optional<unsigned> getMaxBits() const;

    /// Checks the data of a resource map: present, one byte per entry, every
    /// entry allowed. Succeeds for the other forms.
    ::llvm::LogicalResult verifyMapData(
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;

    /// The value of this encoding over a statically shaped tensor. Emits an
    /// error and fails if the shape does not fit or the map data is missing.
    ::mlir::FailureOr<::tesa::SparsityMap> getSparsityMap(
        ::llvm::ArrayRef<int64_t> shape,
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;

    /// The canonical attribute for the same sparsity. Fails, without a
    /// diagnostic, if the map data is missing or invalid (see verifyMapData).
    ::mlir::FailureOr<SparsityAttr> getCanonical() const;
  }];
}

def Tesa_TileConfigAttr : AttrDef<Tesa_Dialect, "TileConfig"> {
  let mnemonic = "tile_config";
  let summary = "How one kernel region is tiled onto the GPU";
  let description = [{
    The configuration of a `tesa.kernel` region, chosen per chip by
    `--tesa-choose-tile-configs` (or given by its options) and read by the
    lowering; nothing in a kernel builder hard-codes a tiling.

    * `tile`: the block of threads' tile. Contractions: rows (M), columns
      (N) and reduction step (K) of the output tile; row reductions: rows
      per block of threads and the row length each block walks at once.
    * `thread_tile`: the outputs (M x N) each thread keeps in registers
      (contractions with `fma_f32`), the outputs each warp keeps as
      tensor-core accumulators (contractions with `mma_f16_m16n8k16`: the
      32 threads of a warp share them), the outputs of each warpgroup of
      128 threads (`wgmma_f16_m64nNk16`: 64 rows by the tile's N), or the
      elements of a row each thread holds (row reductions: one entry).
    * `threads`: threads per block.
    * `stages`: operand tiles in flight in shared memory.
    * `copy`: how operand tiles move to shared memory: through registers,
      by `cp.async` copies of every thread, or by TMA (`tma`, sm_90,
      `wgmma` tiles): one more warp (`threads` counts it) issues each
      step's tile copies, signalled through mbarriers.
    * `atom`: the inner product's instruction.
    * `work`: which output tiles the blocks take: one each (`dense_grid`),
      rows of a row reduction (`rows`), or, `persistent` (sm_90 `wgmma`
      tiles copied by TMA), as many blocks as the chip runs at once, each
      taking every grid-th tile in turn, its copies running ahead into its
      next tile while it stores the last.
    * `split_k`: slices the reduction is split into (1: none).
    * `cluster` (optional, 1 when absent): thread blocks of neighbouring
      column tiles that run as one cluster (sm_90, `wgmma` tiles copied
      by `tma` on a `dense_grid`). They walk one list of K steps together,
      and each step's A slice is loaded once for all of them: each block
      copies `1/cluster` of its rows and TMA multicasts them into every
      block's shared memory, so L2 delivers A's slices once a cluster
      rather than once a block.

    ```mlir
    #tesa.tile_config<tile = [64, 64, 16], thread_tile = [4, 4], threads = 256,
                      stages = 1, copy = registers, atom = fma_f32,
                      work = dense_grid, split_k = 1>
    // Four warps of 64x32 outputs each, operands three steps deep.
    #tesa.tile_config<tile = [128, 64, 32], thread_tile = [64, 32],
                      threads = 128, stages = 3, copy = async_copy,
                      atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>
    // sm_90: two warpgroups of 64x128 outputs each, on wgmma.
    #tesa.tile_config<tile = [128, 128, 64], thread_tile = [64, 128],
                      threads = 256, stages = 4, copy = async_copy,
                      atom = wgmma_f16_m64nNk16, work = dense_grid,
                      split_k = 1>
    // sm_90, a persistent grid: two warpgroups of 64x32 outputs each and
    // a warp that copies their operands by TMA, four steps deep.
    #tesa.tile_config<tile = [128, 32, 32], thread_tile = [64, 32],
                      threads = 288, stages = 4, copy = tma,
                      atom = wgmma_f16_m64nNk16, work = persistent,
                      split_k = 1>
    // sm_90: tiles of four 32-column slabs of kept blocks, two
    // neighbouring tiles a cluster sharing A's slices.
    #tesa.tile_config<tile = [128, 128, 32], thread_tile = [64, 128],
                      threads = 288, stages = 8, copy = tma,
                      atom = wgmma_f16_m64nNk16, work = dense_grid,
                      split_k = 1, cluster = 2>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$tile,
    ArrayRefParameter<"int64_t">:$threadTile,
    "int64_t":$threads,
    "int64_t":$stages,
    EnumParameter<Tesa_CopyEngine>:$copy,
    EnumParameter<Tesa_MmaAtom>:$atom,
    EnumParameter<Tesa_WorkListKind>:$work,
    "int64_t":$splitK,
    DefaultValuedParameter<"int64_t", "1">:$cluster
  );
  let assemblyFormat = [{
    `<` `tile` `=` `[` $tile `]` `,` `thread_tile` `=` `[` $threadTile `]`
    `,` `threads` `=` $threads `,` `stages` `=` $stages `,` `copy` `=` $copy
    `,` `atom` `=` $atom `,` `work` `=` $work `,` `split_k` `=` $splitK
    (`,` `cluster` `=` $cluster^)? `>`
  }];
  let skipDefaultBuilders = 1;
  let builders = [
    AttrBuilder<(ins "::llvm::ArrayRef<int64_t>":$tile,
                     "::llvm::ArrayRef<int64_t>":$threadTile,
                     "int64_t":$threads, "int64_t":$stages,
                     "CopyEngine":$copy, "MmaAtom":$atom,
                     "WorkListKind":$work, "int64_t":$splitK,
                     CArg<"int64_t", "1">:$cluster), [{
      return $_get($_ctxt, tile, threadTile, threads, stages, copy, atom,
                   work, splitK, cluster);
    }]>
  ];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of shared memory the ring of `stages` operand tiles of a
    /// contraction tile (M x N x K) of f16 operands takes, each operand in
    /// either order ([row][k] or [k][row]), rows padded by 16 bytes; with
    /// the wgmma atom, [row][k] unpadded and 1 KiB aligned.
    int64_t getStagedF16Bytes() const;
  }];
}

#endif // TESA_DIALECT_TESA_IR_TESAATTRS_TD
