//===- Passes.td - tesa conversion passes ------------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CONVERSION_PASSES_TD
#define TESA_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerPartsToGPU : Pass<"tesa-lower-parts-to-gpu", "mlir::ModuleOp"> {
  let summary = "Generate specialised GPU kernels for decomposed parts";
  let description = [{
    The specialisation policy. Every `tesa.part_matmul` becomes launches of
    kernels generated for its pattern, in a `gpu.module` named
    `tesa_kernels`:

    * `<part>_pack` gathers the part's kept elements from the sparse source
      into the compute kernel's layout, rounding to f16 or quantising to
      int8 (one scale per output channel);
    * `<part>_quantise_dense` (int8 parts) quantises the dense operand, one
      scale per result column;
    * `<part>` computes the part and accumulates into the result.

    The work lists (rows with work, their blocks or element groups, the
    kept-element mask of each block) are constant globals of the kernel
    module named `<part>_rows`, `<part>_offsets`, `<part>_entries` and
    `<part>_masks`; pruned blocks appear nowhere, and steps inside a block
    are unrolled. Block parts whose shape fits the chip's tensor-core
    instruction use `mma.sync` (f16: m16n8k8 on sm_75, m16n8k16 on sm_80
    and later; int8: m8n8k16 / m16n8k32); other parts run SIMT with FFMA,
    `dp4a` (NVVM) or `v_dot4_i32_i8` (ROCDL) on groups of four int8
    elements, and `v_dot2_f32_f16` for f16 on gfx906.

    ```mlir
    %r = tesa.part_matmul %x, %p, %acc {bits = 16 : i64, block = array<i64: 32, 32>, kernel = "block", sparse_operand = 1 : i64} : ...
    // becomes, on tensors around memref launches:
    gpu.launch_func @tesa_kernels::@part0_pack blocks in (...) threads in (...) args(...)
    gpu.launch_func @tesa_kernels::@part0 blocks in (...) threads in (...) args(...)
    ```

    A product whose dense operand has at most 64 columns (a decode step, a
    small batch) and that has several parts, or an int8 one, is a *decode
    product* (unless `decode-products=false`): all its parts, of every
    precision, are computed by one launch `product<n>` that stages the
    dense operand in workgroup memory (quantising it there for int8 parts),
    walks every part's work list (`product<n>_part<i>_offsets` and
    `_entries`) for its channels and writes the sum once, with the
    product's epilogue; each part keeps its pack kernel
    `product<n>_part<i>_pack`.

    ```mlir
    %a = tesa.part_matmul %x, %p0, %zero {bits = 32 : i64, kernel = "block", ...} : ...
    %b = tesa.part_matmul %x, %p1, %a {bits = 8 : i64, kernel = "fine", ...} : ...
    // becomes
    gpu.launch_func @tesa_kernels::@product0_part0_pack ...
    gpu.launch_func @tesa_kernels::@product0_part1_pack ...
    gpu.launch_func @tesa_kernels::@product0 blocks in (...) threads in (...) args(...)
    ```

    Runs on tensors, before bufferization; the launches read buffers taken
    with `bufferization.to_buffer` and write a fresh copy of the
    accumulator.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Chip to generate kernels for">,
    Option<"decodeProducts", "decode-products", "bool", /*default=*/"true",
           "Compute the parts of a product of at most 64 dense columns in "
           "one launch (false: one launch per part)">,
    Option<"target", "target", "::tesa::GPUBackend",
           /*default=*/"::tesa::GPUBackend::NVVM",
           "Backend the chip must belong to (not given: any)",
           [{::tesa::getGPUBackendValues()}]>,
    Option<"tma", "tma", "bool", /*default=*/"true",
           "Copy the tiles of warpgroup kernels by TMA where the chip has it "
           "(false: by cp.async copies of every thread)">,
    Option<"stagedSimt", "staged-simt", "bool", /*default=*/"true",
           "Compute fine-grained f32 parts that keep enough elements by "
           "blocks of rows that share staged chunks of the dense operand "
           "(false: the plain SIMT kernel everywhere)">,
    Option<"fineTensorCores", "fine-tensor-cores", "bool", /*default=*/"true",
           "Compute fine-grained 16-bit parts of f16 programs that keep at "
           "least 5% of their elements on tensor cores, each thread "
           "expanding its fragments from the kept values and the tiles' "
           "masks (false: on the SIMT kernel)">,
    Option<"wgmmaStructured", "wgmma-structured", "bool", /*default=*/"true",
           "Compute 2:4 structured parts of 64-channel blocks on sparse "
           "warpgroup tensor cores (wgmma.mma_async.sp) where the chip has "
           "them (false: on mma.sp)">,
    Option<"blockClusters", "block-clusters", "::tesa::BlockClusters",
           /*default=*/"::tesa::BlockClusters::Auto",
           "Where tiles of groups of block rows (f16 kept-block parts, int8 "
           "block parts) run in clusters that load each slice of the dense "
           "operand once for all their tiles (TMA multicast, sm_90)",
           [{::tesa::getBlockClustersValues()}]>,
    ListOption<"structuredTiling", "structured-tiling", "int64_t",
               "The tiling of every 2:4 structured part on wgmma.mma_async.sp "
               "instead of the heuristic's: dense columns a warpgroup (a "
               "multiple of 32 up to 256), warpgroups (1 or 2), slabs of 64 "
               "channels a block (1 or 2), slices of each walk (split-K, 1 "
               "to 8; above 1 only with one warpgroup of one slab) and ring "
               "slots (2 to 8; 0: the heuristic's)">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def OutlineWeightPacking
    : Pass<"tesa-outline-weight-packing", "mlir::ModuleOp"> {
  let summary = "Give weight packing an entry point that runs once";
  let description = [{
    Runs after `--tesa-lower-parts-to-gpu`. A public function whose parts
    pack weights that are its arguments (the pack kernel launches every
    call) gets two more public functions:

    * `@<f>_pack` takes those arguments and returns the packed weights: the
      values of each part (and the per-channel scales of int8 parts), as
      the compute kernels read them;
    * `@<f>_packed` is `@<f>` reading the packed weights, appended as
      arguments, instead of packing; the arguments it no longer reads are
      dropped.

    Call `@<f>_pack` once when the weights change and `@<f>_packed` on
    every call. `@<f>` itself is left as it is. A weight computed from
    arguments by layout ops (reshapes, slices, transposes) is packed with
    those ops in `@<f>_pack`; an operand computed any other way (an
    activation) is still packed on every call.

    ```mlir
    func.func @f(%x: tensor<16x64xf32>, %w: tensor<64x32xf32, #sparse>) -> ...
    // gains
    func.func @f_pack(%w: tensor<64x32xf32>) -> tensor<512xf16>
    func.func @f_packed(%x: tensor<16x64xf32>, %p0: tensor<512xf16>) -> ...
    ```

    It is an error if `@<f>_pack` or `@<f>_packed` already exists.
  }];
  let dependentDialects = [
    "mlir::bufferization::BufferizationDialect",
    "mlir::gpu::GPUDialect",
    "mlir::memref::MemRefDialect",
  ];
}

def HostBuffersToDevice
    : Pass<"tesa-host-buffers-to-device", "mlir::func::FuncOp"> {
  let summary = "Put the host program's buffers in device memory";
  let description = [{
    After bufferization the host functions allocate, copy and free buffers
    with `memref` ops, which would give host memory to the kernels. This pass
    rewrites them for a GPU without unified memory, before the generic path
    turns the remaining linalg ops into kernels:

    * `memref.alloc` becomes `gpu.alloc`, freed by a `gpu.dealloc` at the end
      of the allocating block (or where a `memref.dealloc` already frees it);
    * `memref.copy` between buffers of identity layout becomes
      `gpu.memcpy` (the only layout its lowering takes), any
      other copy a `linalg.copy` that the generic path runs as a kernel;
    * `memref.dealloc` becomes `gpu.dealloc`.

    ```mlir
    %0 = memref.alloc() : memref<16x32xf32>
    memref.copy %arg0, %0 : memref<16x32xf32> to memref<16x32xf32>
    // becomes
    %0 = gpu.alloc () : memref<16x32xf32>
    gpu.memcpy %0, %arg0 : memref<16x32xf32>, memref<16x32xf32>
    ...
    gpu.dealloc %0 : memref<16x32xf32>
    ```

    A buffer that escapes its block (yielded or returned; run
    `--buffer-results-to-out-params` first) is an error, as is a host
    allocation on the stack (`memref.alloca`). Functions inside a
    `gpu.module` are left alone.
  }];
  let dependentDialects = [
    "mlir::gpu::GPUDialect",
    "mlir::linalg::LinalgDialect",
  ];
}

def AssertsToTraps
    : Pass<"tesa-asserts-to-traps", "mlir::func::FuncOp"> {
  let summary = "Make the asserts of device loops trap the kernel";
  let description = [{
    Importers guard gathers with `cf.assert`: torch-mlir checks every index
    of an embedding lookup (`index must be smaller than dim size`). An assert
    inside a `scf.parallel` that the generic path maps onto the GPU would
    keep the loop on the host (`convert-parallel-loops-to-gpu` does not move
    it), so this pass replaces each such assert with a branch to a trap: an
    index out of range stops the kernel, and the call that launched it fails
    with the driver's error (the context is lost, as after a device-side
    assert in PyTorch). Asserts outside parallel loops stay host code.

    ```mlir
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      cf.assert %in_range, "index must be smaller than dim size"
      ...
    }
    // becomes
    scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
      %out_of_range = arith.xori %in_range, %true : i1
      scf.if %out_of_range {
        llvm.intr.trap
      }
      ...
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def OrderLoopsByOutput
    : Pass<"tesa-order-loops-by-output", "mlir::func::FuncOp"> {
  let summary = "Order the generic path's loops by the output's dimensions";
  let description = [{
    The generic path gives the innermost parallel loop of each linalg op
    thread x, which is coalesced only if that loop walks the output's
    contiguous dimension. Some ops iterate in another order:
    `linalg.depthwise_conv_2d_nchw_chw` runs (n, oh, ow, c, kh, kw), so
    thread x would walk channels, H * W elements apart. This pass
    interchanges the loops of every linalg op whose output map is a
    projected permutation (named ops generalised first) so that its
    parallel loops come in the order of the output's dimensions and the
    reductions after them.

    ```mlir
    linalg.depthwise_conv_2d_nchw_chw ins(%x, %w : memref<32x96x114x114xf32>, memref<96x3x3xf32>)
                                      outs(%y : memref<32x96x112x112xf32>)
    // becomes a linalg.generic over (n, c, oh, ow, kh, kw):
    //   x: (n, c, oh + kh, ow + kw), w: (c, kh, kw), y: (n, c, oh, ow)
    ```

    `--tesa-pipeline` runs it before the generic path's loops are made.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def TileParallelLoops
    : Pass<"tesa-tile-parallel-loops", "mlir::func::FuncOp"> {
  let summary = "Tile the host program's parallel loops into blocks of threads";
  let description = [{
    The generic path turns every linalg op left in the host program into an
    `scf.parallel` nest and maps it onto the GPU: the outermost loop onto the
    grid, a nested parallel loop onto the threads of a block. This pass makes
    the nested loop. Each outermost `scf.parallel` with constant bounds is
    tiled on its innermost dimensions (at most three, the thread dimensions
    a GPU has): walking from the innermost dimension outwards, each gets a
    power-of-two tile no larger than its trip count rounded up, until a
    block holds `threads-per-block` threads. The innermost loop dimension is
    the contiguous one of the buffers linalg indexes, so thread x walks
    contiguous memory.

    A grid has three dimensions too, and `gpu-map-parallel-loops` runs the
    loop dimensions beyond them one after the other in every thread (a batch
    of 32 NCHW images would take 32 times as long). A loop of more than
    three dimensions therefore first has its leading dimensions collapsed
    into one, so that three are left. The mapping gives the innermost
    dimension thread x; the first of three takes thread z, which has at most
    64 threads, so its tile is at most 64.

    Tiles are fixed-size, with a bounds check inside (the loop's trip count
    need not be a multiple of the tile), so the thread counts are constants
    that `gpu-map-parallel-loops` and `convert-parallel-loops-to-gpu` can
    use. Run those next, without a canonicalization in between: the
    canonicalizer merges the nest back into one loop.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c100) step (%c1, %c1) {
      ...
    }
    // becomes (threads-per-block = 256: 128 for j, the 2 left for i)
    scf.parallel (%i0, %j0) = (%c0, %c0) to (%c16, %c100) step (%c2, %c128) {
      scf.parallel (%i1, %j1) = (%c0, %c0) to (%c2, %c128) step (%c1, %c1) {
        ... scf.if (%i0 + %i1 < 16 and %j0 + %j1 < 100) { ... }
      }
    }
    ```

    Only loops whose dimensions all run from 0 with step 1 are tiled (the
    loops linalg produces); a dimension whose upper bound is only known at
    run time counts as large. Dimensions of one iteration take no thread
    dimension. Loops with other lower bounds or steps, loops with
    reductions, loops nested in another `scf.parallel` and loops inside a
    `gpu.launch` are left alone (one thread per block).
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"256",
           "Threads in a block (a power of two, at most 1024)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::scf::SCFDialect",
  ];
}

def CheckStaticShapes : Pass<"tesa-check-static-shapes", "mlir::ModuleOp"> {
  let summary = "Reject host programs with dynamic shapes";
  let description = [{
    The GPU pipeline compiles host functions that only launch kernels and
    manage device buffers; a shape known only at run time would make the host
    read a buffer's descriptor or a tensor's size, which lives on the device.
    This pass reports the first value of each host function (argument,
    result or op operand) whose tensor or memref type has a dynamic
    dimension, naming the op, instead of letting a later pass fail on an
    lowered instruction. `--tesa-pipeline` runs it first.

    ```mlir
    func.func @f(%x: tensor<?x64xf32>) -> tensor<?x64xf32>
    // error: argument 0 of @f has a dynamic shape (tensor<?x64xf32>); the
    // GPU pipeline needs static shapes
    ```
  }];
}

def DeviceConstants : Pass<"tesa-device-constants", "mlir::ModuleOp"> {
  let summary = "Read the host program's constants from device memory";
  let description = [{
    Runs on the host module in the LLVM dialect, after the GPU lowering.
    Host code may only launch kernels and manage device buffers; a constant
    global it hands to a kernel (a weight compiled into the program) lives
    in host memory, so every `llvm.mlir.addressof` of such a global in a
    host function is replaced by a call of the runtime's
    `mgpuTesaDeviceConstant(host, bytes)`, which uploads the global on first
    use and returns the cached device copy afterwards.

    ```mlir
    %0 = llvm.mlir.addressof @__constant_64x32xf32 : !llvm.ptr
    // becomes
    %h = llvm.mlir.addressof @__constant_64x32xf32 : !llvm.ptr
    %n = llvm.mlir.constant(8192 : i64) : i64
    %0 = llvm.call @mgpuTesaDeviceConstant(%h, %n) : (!llvm.ptr, i64) -> !llvm.ptr
    ```

    It then checks the contract the runtime relies on: a host function that
    loads or stores memory is an error, because the buffers it would touch
    are on the device.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def NameKernels : Pass<"tesa-name-kernels"> {
  let summary = "Name each kernel after the op it computes";
  let description = [{
    `gpu-kernel-outlining` names every kernel it outlines after the
    function that launches it (`forward_kernel`), so a profile of a model
    lists hundreds of launches under one name. This pass sets the
    `function` attribute of each `gpu.launch` that has none, which the
    outlining uses as the kernel's name, from the launch's location: the
    first name in it, or the module path and aten op that `tesa.torch`
    writes as the file of each op's location (`"<module path> (<aten op>)
    in <source>":<line>:0`), or else the function and the source line.
    Characters other than letters, digits and underscores become
    underscores; names are at most 80 characters.

    ```mlir
    gpu.launch blocks(...) threads(...) { ... } loc("encoder.layer.0.output.dense (aten.mm.default)")
    // becomes
    gpu.launch blocks(...) threads(...) function(@encoder_layer_0_output_dense_aten_mm_default) { ... }
    ```

    Kernels of one name in different modules stay apart: the outlining
    makes each module's name unique.
  }];
}

def HoistAllocations : Pass<"tesa-hoist-allocations"> {
  let summary = "Move allocations to the start of their block";
  let description = [{
    Moves each `memref.alloc` and synchronous `gpu.alloc` that takes no
    operands (a static shape, no dependencies) to the start of its block.
    `scf-parallel-loop-fusion` fuses adjacent parallel loops and looks past
    ops without memory effects only, so an allocation between two loops
    (the buffer of the second loop's result) keeps them apart: an f16
    depthwise convolution, which accumulates into an f32 buffer, and the
    rounding and ReLU6 after it, were two kernels. The generic path runs it
    before the fusion.

    ```mlir
    scf.parallel (...) { ... memref.store %s, %acc[...] : memref<8x8xf32> }
    %out = gpu.alloc () : memref<8x8xf16>
    scf.parallel (...) { %v = memref.load %acc[...] ... memref.store %r, %out[...] }
    // becomes
    %out = gpu.alloc () : memref<8x8xf16>
    scf.parallel (...) { ... memref.store %s, %acc[...] : memref<8x8xf32> }
    scf.parallel (...) { %v = memref.load %acc[...] ... memref.store %r, %out[...] }
    ```
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect"];
}

def PromoteLoopAccumulators : Pass<"tesa-promote-loop-accumulators"> {
  let summary = "Keep what the generic path's loops accumulate in registers";
  let description = [{
    `convert-linalg-to-parallel-loops` lowers a convolution, a pooling or
    any reduction to a sequential loop inside the parallel one that loads
    the output element, adds to it and stores it back every iteration: on a
    GPU, a round trip through memory per term. After
    `scf-parallel-loop-fusion` has put the fill before it and the
    elementwise ops after it in the same parallel loop, this pass, in each
    `scf.parallel` body:

    * carries a value that an `scf.for` loads and stores back at one
      loop-invariant place in an iteration argument (loaded before the
      loop, stored after it), when nothing else in the loop writes memory
      or reads a buffer that may alias that one;
    * gives a load of the place a store of the same block just wrote the
      stored value, and removes a store that a later store to the same
      place overwrites unread (alias analysis decides what a load or store
      of another buffer may touch);

    and removes buffers that nothing reads any more.

    ```mlir
    scf.parallel (%c, %y, %x) = ... {
      memref.store %zero, %acc[%c, %y, %x] : memref<8x8x8xf32>
      scf.for %k = %c0 to %c9 step %c1 {
        %v = memref.load %acc[%c, %y, %x] : memref<8x8x8xf32>
        %t = ... : f32
        %s = arith.addf %v, %t : f32
        memref.store %s, %acc[%c, %y, %x] : memref<8x8x8xf32>
      }
      %r = memref.load %acc[%c, %y, %x] : memref<8x8x8xf32>
      ...
    }
    // becomes
    scf.parallel (%c, %y, %x) = ... {
      %sum = scf.for %k = %c0 to %c9 step %c1 iter_args(%v = %zero) -> (f32) {
        %t = ... : f32
        %s = arith.addf %v, %t : f32
        scf.yield %s : f32
      }
      ... (%sum instead of %r; %acc is gone if nothing else reads it)
    }
    ```
  }];
}

def ProgrammaticLaunch : Pass<"tesa-programmatic-launch", "mlir::ModuleOp"> {
  let summary = "Let each kernel start while the kernel before it finishes";
  let description = [{
    Programmatic dependent launch (sm_90+): a kernel launched with the
    driver's programmatic-stream-serialisation attribute may be launched
    before the previous kernel of its stream has completed (at the latest
    when all of that kernel's blocks have exited, before its memory is
    flushed); it must execute `griddepcontrol.wait`, which returns when the
    previous kernel has completed and its memory is visible, before it
    touches memory.

    This pass makes every kernel of every `gpu.module` safe to launch that
    way and says so to the runtime. Each `gpu.func` kernel waits before its
    first top-level op that may touch memory an earlier kernel writes; what
    comes before it is the kernel's set-up, which then overlaps the
    predecessor's end: index arithmetic, loads from constant tables,
    tensor-map prefetches, shared-memory mbarrier initialisation and the
    block's barrier (ops nested in `scf.if` and the like count by their
    bodies):

    ```mlir
    gpu.func @k(...) kernel {
      %i = gpu.thread_id x
      scf.if %first {
        nvvm.prefetch tensormap in_param_space, %map : !llvm.ptr
        nvvm.mbarrier.init %barrier, %c1 : !llvm.ptr<3>, i32
      }
      gpu.barrier
      nvvm.griddepcontrol wait
      %v = memref.load %x[%i] : memref<64xf32>
      ...
    ```

    and the module gets the marker global `__tesa_programmatic_launch`:

    ```mlir
    llvm.mlir.global external constant @__tesa_programmatic_launch(1 : i8) {addr_space = 1 : i32} : i8
    ```

    The runtime launches the kernels of a module with that global with the
    attribute (unless `TESA_PROGRAMMATIC_LAUNCH=0`), and the others without.
    What the overlap hides is the launch of the next kernel and the start
    of its blocks, a fraction of a microsecond per launch; chains of small
    kernels gain most. No kernel releases its successor early
    (`griddepcontrol.launch_dependents`): blocks of the successor would
    then wait on multiprocessors beside the kernel's own, which measured
    slower (docs/runtime.md, "Programmatic launch"). `--tesa-pipeline` runs it after kernel outlining on chips
    with grid dependency control (sm_90), unless
    `programmatic-launch=false`.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
}

def KernelBlockSizes : Pass<"tesa-kernel-block-sizes", "mlir::ModuleOp"> {
  let summary = "Record the block size each kernel is launched with";
  let description = [{
    Sets `known_block_size` on every `gpu.func` kernel whose launches all
    take the same constant block size, unless it already has launch bounds
    (`nvvm.maxntid`, a persistent kernel's). The NVVM lowering turns the
    attribute into `nvvm.maxntid`, and ptxas then keeps the kernel's
    registers within what a block of that size may have: a block's warps
    share the register files of the multiprocessor's four quarters, so a
    block of 288 threads (three warps in one quarter) may use at most 168
    registers a thread, and without the bound a kernel that used more
    failed to launch (`CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES`). The lowering
    also gives `gpu.thread_id` its range from it.

    ```mlir
    gpu.func @part0(...) kernel { ... }
    ...
    gpu.launch_func @tesa_kernels::@part0 blocks in (%c16, %c32, %c1)
        threads in (%c288, %c1, %c1) ...
    ```

    becomes

    ```mlir
    gpu.func @part0(...) kernel attributes {
        known_block_size = array<i32: 288, 1, 1>} { ... }
    ```

    A kernel launched with two block sizes, or with one not known at
    compile time, is left as it is. `--tesa-pipeline` runs it before the
    kernels are lowered to NVVM or ROCDL.
  }];
}

def TensorMapParams
    : Pass<"tesa-tensor-map-params", "mlir::gpu::GPUModuleOp"> {
  let summary = "Pass TMA tensor maps to kernels as grid-constant parameters";
  let description = [{
    A kernel that loads tiles by TMA (`cp.async.bulk.tensor`) reads each
    operand's tensor map, a 128-byte `CUtensorMap` the host encodes at call
    time, from its kernel parameters: the map is passed by value, so a
    captured CUDA graph keeps it and no device memory is written per call.
    TMA needs the map's address in the parameter space, which LLVM's NVPTX
    backend gives (`cvta.param`) only for a `byval` pointer argument marked
    `nvvm.grid_constant`; neither attribute can be written on a `gpu.func`,
    and `gpu.launch_func` wants the kernel's argument of the type the host
    passes (`!llvm.array<16 x i64>`, copied into the launch's parameters).

    So kernels take the map as an array and mark where its address is used
    with a cast. After `convert-gpu-to-nvvm`, on every kernel `llvm.func`
    of the module, this pass turns each such argument

    ```mlir
    llvm.func @k(%map: !llvm.array<16 x i64>, ...) attributes {nvvm.kernel} {
      %address = builtin.unrealized_conversion_cast %map
          : !llvm.array<16 x i64> to !llvm.ptr
      nvvm.cp.async.bulk.tensor.shared.cluster.global %dst, %address, ...
    ```

    into the parameter's address:

    ```mlir
    llvm.func @k(%map: !llvm.ptr {llvm.align = 64 : i32,
                                  llvm.byval = !llvm.array<16 x i64>,
                                  nvvm.grid_constant}, ...) ...
      nvvm.cp.async.bulk.tensor.shared.cluster.global %dst, %map, ...
    ```

    Other uses of the array read it back with one load. `--tesa-pipeline`
    runs it between `convert-gpu-to-nvvm` and the reconciliation of casts.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
}

def LowerKernelRegions : Pass<"tesa-lower-kernel-regions", "mlir::ModuleOp"> {
  let summary = "Turn configured tesa.kernel regions into GPU kernels";
  let description = [{
    Each `tesa.kernel` region with a `#tesa.tile_config` becomes one kernel
    of its family in the `gpu.module` `tesa_kernels`, named after the
    family and the region's position (`contraction3`, `row_reduction4`),
    and one launch:

    * contraction: the dense grid of output tiles (batches along the grid's
      z), exact f32 FMA on register tiles or f16 on the m16n8k16 tensor-core
      atom (operands staged by cp.async), the operands read through their
      indexing maps' strides, the accumulator's initial value and the
      epilogue applied before the one store; split-K with a second,
      finishing launch;
    * row_reduction: a row program (reductions of the last dimension and
      elementwise ops over the same rows: softmax, layer norm), one row per
      block of threads, held in registers;
    * attention: scores, an online softmax and the context in one kernel
      that never writes the scores, f16 on tensor cores or exact f32 on
      FMA tiles.

    Regions that read one tensor (a layer's Q, K and V projections) run as
    one launch where their kernels allow it. A region its family cannot
    compute, or whose kernel needs more shared memory than `chip` gives a
    block, is put back in place, with a remark that says why ("kept on the
    generic path: ..."), and takes the generic path.

    ```mlir
    %y = tesa.kernel contraction config(#tesa.tile_config<...>) -> tensor<512x768xf32> { ... }
    // becomes
    %a = bufferization.to_buffer %x : tensor<512x768xf32> to memref<512x768xf32>
    %a_flat = memref.collapse_shape %a [[0, 1]] : memref<512x768xf32> into memref<393216xf32>
    ...
    gpu.launch_func @tesa_kernels::@contraction0 blocks in (%c12, %c8, %c1) threads in (%c256, %c1, %c1) args(%a_flat : memref<393216xf32>, ...)
    %y = bufferization.to_tensor %out restrict writable : memref<512x768xf32> to tensor<512x768xf32>
    ```

    Runs on tensors, before bufferization, like `--tesa-lower-parts-to-gpu`.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"\"",
           "Chip whose shared memory a block's kernel must fit in (sm_75 to "
           "sm_90, gfx906); empty: not checked">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::nvgpu::NVGPUDialect", "::mlir::NVVM::NVVMDialect"];
}

def LaunchesToHostLoops
    : Pass<"tesa-launches-to-host-loops", "mlir::ModuleOp"> {
  let summary = "Run kernel launches as loops on the host";
  let description = [{
    A checking aid: each `gpu.launch_func` becomes loops over the grid's
    blocks, and the kernel's body runs inside, cut at each point where the
    block's threads synchronise or exchange values (`gpu.barrier`,
    `gpu.shuffle`, the warp-wide tensor-core ops below): each
    stretch between two such points runs in loops over the block's threads
    z, y, x (x fastest), one thread after another, with the thread and
    block ids replaced by the loops and the sizes by the launch's. The
    program can then go through `--tesa-cpu-pipeline` and `mlir-runner`:
    the code the kernel families generate is checked on a machine without a
    GPU.

    * A value that one stretch defines and a later one uses is kept per
      thread in a host buffer indexed by the thread's linear id; constants
      and pure ops of other types (views of workgroup memory) are
      recomputed where they are used.
    * Workgroup memory (the launch's dynamic shared memory, workgroup
      attributions) is a host buffer, one for all the blocks, which run one
      after another. The kernel modules' constant tables are copied into
      the host module.
    * A shuffle stores every thread's operand, then gives each thread the
      operand of its source lane within its group of `width` lanes (its
      own, with `valid` false, where the source lies outside).
    * The warp-wide tensor-core ops of sm_80-class kernels work the same
      way: `nvgpu.ldmatrix` (one to four 8x8 matrices of 16-bit elements,
      or of 8-bit ones untransposed) gives each lane its fragments from
      the rows the warp's lanes address, and `nvgpu.mma.sync` m16n8k16
      (f16 operands, f32 or f16 accumulators) computes each lane's
      accumulators from the fragments of the lanes that hold them, in
      the PTX ISA's layouts, in f32. So do NVVM's `nvvm.mma.sync` (row by
      column: f16 into f32 at m16n8k8 and m16n8k16, s8 into s32 at
      m8n8k16, m16n8k16 and m16n8k32), whose accumulator struct is kept
      per thread as a vector that the reads of its members load, and
      `nvvm.mma.sp.sync` m16n8k32 f16 (sparsity selector 0: A's 2:4
      values with their positions in the metadata words of lanes 4g and
      4g + 1).
    * `nvgpu.device_async_copy` (cp.async) copies at once, zeros past its
      source elements; its groups and waits do nothing.
      `nvvm.bar.warp.sync` is a barrier. A thread's dot products (NVVM's
      `dp4a`, gfx906's `sdot4` and `fdot2` without clamping) are widened
      products added to the accumulator, and a failed check's
      `llvm.intr.trap` traps on the host too.
    * An `scf.for` around a synchronising op runs on the host: its bounds
      must be the same for every thread (checked as it runs, by a
      `cf.assert`), its iteration values are per-thread buffers. Around
      warp-wide ops only (no `gpu.barrier`), each warp runs it on its own,
      its thread loops over the warp's lanes, and its bounds need agree
      only within the warp (a warp walking its own rows). The part
      of its body before the first synchronising op runs, for each next
      iteration, in the thread loop of the part after the last one (no
      barrier separates them on the GPU either), so a ring of stage
      buffers refilled without a barrier at the end of a step computes a
      wrong result here too. An `scf.if` around one runs both branches,
      each thread loop inside masked by the condition.
    * The threads do meet at the start and end of such a loop or branch,
      where the GPU does not make them: a barrier missing just before or
      after one goes unnoticed. Threads run in order, so a race shows only
      where that order computes a different result.

    A launch whose kernel cannot run this way (other NVVM, ROCDL, NVGPU or
    LLVM ops: sm_90's wgmma, TMA and mbarriers; private attributions; a
    synchronising op inside another kind of region; a per-thread memref
    living across a barrier; an asynchronous or clustered launch) is an
    error naming the op that prevents it. A kernel whose threads race
    computes one of its possible results.

    ```mlir
    gpu.launch_func @tesa_kernels::@reduce blocks in (%c2, %c1, %c1) threads in (%c64, %c1, %c1) args(%x : memref<128xf32>, ...)
    // becomes
    scf.for %bz = %c0 to %c1 step %c1 {
      ...
          scf.for %tx = %c0 to %c64 step %c1 {
            // the kernel up to its first barrier, gpu.thread_id x -> %tx;
            // values used after the barrier stored at [%tx] of buffers
          }
          scf.for %tx = %c0 to %c64 step %c1 {
            // the kernel after the barrier
          }
      ...
    }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // TESA_CONVERSION_PASSES_TD
