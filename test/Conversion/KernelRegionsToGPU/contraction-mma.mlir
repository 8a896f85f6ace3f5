// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// x @ W^T with W stored [N][K], as a Linear keeps it, on the f16 tensor-core
// atom: both operands are K-contiguous, so both rings are [stage][row][k]
// (32 + 8 padding elements a row) and ldmatrix loads them untransposed. A
// ring of three stages (30720 bytes of dynamic shared memory for the two
// operands) is filled by cp.async two steps ahead; each step waits for its
// group and synchronises before the next copies. The bias is added to
// each pair of neighbouring columns before one 4-byte store.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[X:.*]]: memref<6400xf16>, %[[W:.*]]: memref<5120xf16>, %[[BIAS:.*]]: memref<80xf16>, %[[OUT:.*]]: memref<8000xf16>) kernel
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[ARING:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[BRING:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[X]][%{{.*}}], %[[ARING]][%{{.*}}, %{{.*}}, %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_copy %[[W]][%{{.*}}], %[[BRING]]
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: gpu.barrier
// CHECK: %[[AFRAG:.*]] = nvgpu.ldmatrix %[[ARING]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %[[BRING]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.mma.sync(%[[AFRAG]], %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: scf.yield
// CHECK: memref.load %[[BIAS]]
// Each quad of lanes exchanges its pairs of outputs of two neighbouring
// tiles by shuffles and stores 16 bytes a lane.
// CHECK: %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xf16>
// CHECK: vector.bitcast %[[PAIR]] : vector<2xf16> to vector<1xi32>
// CHECK-COUNT-3: gpu.shuffle  idx
// CHECK: %[[CHUNK:.*]] = vector.bitcast %{{.*}} : vector<4xi32> to vector<8xf16>
// CHECK: vector.store %[[CHUNK]], %[[OUT]][%{{.*}}] {alignment = 16 : i64} : memref<8000xf16>, vector<8xf16>
// CHECK-LABEL: func.func @linear
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 blocks in (%c2, %c2{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c30720_i32
func.func @linear(%x: tensor<100x64xf16>, %w: tensor<80x64xf16>, %b: tensor<80xf16>) -> tensor<100x80xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<100x80xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<100x80xf16>) -> tensor<100x80xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<100x80xf16>, tensor<80xf16>) outs(%e : tensor<100x80xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %s = arith.addf %a, %c : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %y : tensor<100x80xf16>
  }
  return %r : tensor<100x80xf16>
}

// -----

// x @ W with W stored [K][N]: B's rows (N) are contiguous, so its ring is
// [stage][k][column] (64 + 8 padding elements a row) and ldmatrix
// transposes as it loads.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK: memref<3x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[BRING:.*]] = memref.view {{.*}} to memref<3x32x72xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.ldmatrix %[[BRING]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.mma.sync
func.func @row_major_weight(%x: tensor<64x64xf16>, %w: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<64x64xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<64x64xf16>) -> tensor<64x64xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<64x64xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<64x64xf16>, tensor<64x64xf16>) outs(%acc : tensor<64x64xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// A tile the atom cannot take (a warp tile of 8 columns) goes back to the
// generic path with a remark.
// REMARK: remark: kept on the generic path: the tile must be whole warp tiles, and a warp tile whole 16x16 fragments, K a multiple of 16
// CHECK-LABEL: func.func @bad_warp_tile
// CHECK-NOT: tesa.kernel
// CHECK: linalg.generic
func.func @bad_warp_tile(%x: tensor<64x64xf16>, %w: tensor<64x64xf16>, %acc: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 32, 32], thread_tile = [16, 8], threads = 512, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<64x64xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<64x64xf16>, tensor<64x64xf16>) outs(%acc : tensor<64x64xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<64x64xf16>
    tesa.yield %p : tensor<64x64xf16>
  }
  return %r : tensor<64x64xf16>
}

// -----

// An odd number of columns: each accumulator is stored alone, behind its own
// bounds check (a regression: the two were read from a dangling list, and
// the random GPU sweep crashed tesa-compile on 267 columns).
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[OUT:[^:]*]]: memref<1869xf16>) kernel
// CHECK: scf.yield
// CHECK-NOT: vector.store
// CHECK: %[[FIRST:.*]] = vector.extract %{{.*}}[0, 0] : f32 from vector<2x2xf32>
// CHECK: %[[SECOND:.*]] = vector.extract %{{.*}}[0, 1] : f32 from vector<2x2xf32>
// CHECK: scf.if
// CHECK: arith.addf %{{.*}}, %[[FIRST]] : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: scf.if
// CHECK: arith.addf %{{.*}}, %[[SECOND]] : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @odd_columns
func.func @odd_columns(%x: tensor<7x64xf16>, %w: tensor<267x64xf16>) -> tensor<7x267xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<7x267xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<7x267xf16>) -> tensor<7x267xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<7x267xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<7x64xf16>, tensor<267x64xf16>) outs(%acc : tensor<7x267xf16>) {
    ^bb0(%a: f16, %c: f16, %o: f16):
      %m = arith.mulf %a, %c : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<7x267xf16>
    tesa.yield %p : tensor<7x267xf16>
  }
  return %r : tensor<7x267xf16>
}

// -----

// torch-mlir's f16 Linear: f16 operands accumulating in f32 from the f16
// bias widened and broadcast outside the region. The kernel reads the bias
// vector where it is and widens it as it adds it, so the broadcast is
// never made.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[X:.*]]: memref<6400xf16>, %[[W:.*]]: memref<5120xf16>, %[[BIAS:.*]]: memref<80xf16>, %[[OUT:.*]]: memref<8000xf16>) kernel
// CHECK: nvgpu.mma.sync
// CHECK: %[[B16:.*]] = memref.load %[[BIAS]]
// CHECK: %[[B:.*]] = arith.extf %[[B16]] : f16 to f32
// CHECK: arith.addf %[[B]], %{{.*}} : f32
// CHECK-LABEL: func.func @widened_bias
// CHECK-SAME: %[[XT:[^:]+]]: tensor<100x64xf16>, %[[WT:[^:]+]]: tensor<80x64xf16>, %[[BT:[^:]+]]: tensor<80xf16>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BT]]
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 {{.*}} args({{.*}}, %[[BB]] : memref<80xf16>, %{{.*}} : memref<8000xf16>)
func.func @widened_bias(%x: tensor<100x64xf16>, %w: tensor<80x64xf16>, %b: tensor<80xf16>) -> tensor<100x80xf16> {
  %e32 = tensor.empty() : tensor<100x80xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<80xf16>) outs(%e32 : tensor<100x80xf32>) {
  ^bb0(%c: f16, %o: f32):
    %v = arith.extf %c : f16 to f32
    linalg.yield %v : f32
  } -> tensor<100x80xf32>
  %e = tensor.empty() : tensor<100x80xf16>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf32>) {
    ^bb0(%a: f16, %c: f16, %o: f32):
      %a32 = arith.extf %a : f16 to f32
      %c32 = arith.extf %c : f16 to f32
      %m = arith.mulf %a32, %c32 : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<100x80xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<100x80xf32>) outs(%e : tensor<100x80xf16>) {
    ^bb0(%a: f32, %o: f16):
      %t = arith.truncf %a : f32 to f16
      linalg.yield %t : f16
    } -> tensor<100x80xf16>
    tesa.yield %y : tensor<100x80xf16>
  }
  return %r : tensor<100x80xf16>
}

// -----

// A 16-row tile over a reduction of 24 (a MobileNet-V2 pointwise
// convolution's 24 input channels): a slice of the filter is 16 x 32 f16
// elements, 64 copies of 16 bytes, for 128 threads. The last (here the
// only) round of copies runs behind a check of the thread's copy index; the
// 8 elements of K past 24 are filled with zeros. The image's slice, 32 x
// 128, is 512 copies: four whole rounds, unchecked.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[W:.*]]: memref<3456xf16>, %[[X:.*]]: memref<301056xf16>
// CHECK: %[[ARING:.*]] = memref.view {{.*}} to memref<3x16x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[TID]], %c64
// CHECK-NEXT: scf.if %[[INSIDE]] {
// CHECK: nvgpu.device_async_copy %[[W]][%{{.*}}], %[[ARING]]{{.*}}
// CHECK-NEXT: }
// CHECK-NOT: scf.if
// CHECK: nvgpu.device_async_copy %[[X]]
// CHECK-NOT: scf.if
// CHECK: nvgpu.device_async_copy %[[X]]
// CHECK-NOT: scf.if
// CHECK: nvgpu.device_async_copy %[[X]]
// CHECK-NOT: scf.if
// CHECK: nvgpu.device_async_copy %[[X]]
// CHECK: nvvm.cp.async.commit.group
// CHECK-LABEL: func.func @pointwise_convolution
func.func @pointwise_convolution(%w: tensor<144x24xf16>, %x: tensor<4x24x3136xf16>) -> tensor<4x144x3136xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x144x3136xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x144x3136xf32>) -> tensor<4x144x3136xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [16, 128, 32], thread_tile = [16, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<4x144x3136xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(n, f, p, c) -> (f, c)>, affine_map<(n, f, p, c) -> (n, c, p)>, affine_map<(n, f, p, c) -> (n, f, p)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%w, %x : tensor<144x24xf16>, tensor<4x24x3136xf16>) outs(%acc : tensor<4x144x3136xf32>) {
    ^bb0(%a: f16, %b: f16, %o: f32):
      %aw = arith.extf %a : f16 to f32
      %bw = arith.extf %b : f16 to f32
      %m = arith.mulf %aw, %bw : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x144x3136xf32>
    tesa.yield %p : tensor<4x144x3136xf32>
  }
  return %r : tensor<4x144x3136xf32>
}

// -----

// MobileNet-V2's 14x14 images (196 pixels, 392 bytes a row): the image
// is not in 16-byte pieces but in 8-byte ones, which cp.async copies
// through L1 (no bypassL1); the filter, in 16-byte pieces, still bypasses
// it.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[W:.*]]: memref<6144xf16>, %[[X:.*]]: memref<50176xf16>
// CHECK: nvgpu.device_async_copy %[[W]][%{{.*}}], %{{.*}}, 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_copy %[[X]][%{{.*}}], %{{.*}}, 4, %{{.*}} : memref<50176xf16>
// CHECK-NOT: bypassL1
// CHECK: nvvm.cp.async.commit.group
// CHECK-LABEL: func.func @pointwise_14x14
func.func @pointwise_14x14(%w: tensor<96x64xf16>, %x: tensor<4x64x196xf16>) -> tensor<4x96x196xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x96x196xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x96x196xf32>) -> tensor<4x96x196xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [32, 128, 64], thread_tile = [16, 64], threads = 128, stages = 4, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<4x96x196xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(n, f, p, c) -> (f, c)>, affine_map<(n, f, p, c) -> (n, c, p)>, affine_map<(n, f, p, c) -> (n, f, p)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%w, %x : tensor<96x64xf16>, tensor<4x64x196xf16>) outs(%acc : tensor<4x96x196xf32>) {
    ^bb0(%a: f16, %b: f16, %o: f32):
      %aw = arith.extf %a : f16 to f32
      %bw = arith.extf %b : f16 to f32
      %m = arith.mulf %aw, %bw : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x96x196xf32>
    tesa.yield %p : tensor<4x96x196xf32>
  }
  return %r : tensor<4x96x196xf32>
}

// -----

// 7x7 images (49 pixels, 98 bytes a row): no piece of 4 bytes or more is
// aligned, so each thread copies the image's slice (64 x 128 elements, 64
// each) an element at a time, eight loads in flight before their stores,
// in a loop over groups of eight; out of the image (columns 49 and on) it
// stores zeros.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[W:.*]]: memref<6144xf16>, %[[X:.*]]: memref<12544xf16>
// CHECK: %[[BRING:.*]] = memref.view {{.*}} to memref<4x64x136xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[W]]
// CHECK: scf.for %[[GROUP:.*]] = %{{.*}} to %c8192{{.*}} step %c1024
// CHECK: %[[FIRST:.*]] = arith.addi %[[GROUP]], %{{.*}} : index
// CHECK: %[[INSIDE:.*]] = arith.andi
// CHECK: %[[SAFE:.*]] = arith.select %[[INSIDE]], %{{.*}}, %c0
// CHECK: %[[PIXEL:.*]] = memref.load %[[X]][%[[SAFE]]]
// CHECK: %[[VALUE:.*]] = arith.select %[[INSIDE]], %[[PIXEL]], %cst
// CHECK-COUNT-7: memref.load %[[X]]
// CHECK: memref.store %[[VALUE]], %[[BRING]]
// CHECK-COUNT-7: memref.store %{{.*}}, %[[BRING]]
// CHECK: nvvm.cp.async.commit.group
// CHECK-LABEL: func.func @pointwise_7x7
func.func @pointwise_7x7(%w: tensor<96x64xf16>, %x: tensor<4x64x49xf16>) -> tensor<4x96x49xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x96x49xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x96x49xf32>) -> tensor<4x96x49xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [32, 128, 64], thread_tile = [16, 64], threads = 128, stages = 4, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<4x96x49xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(n, f, p, c) -> (f, c)>, affine_map<(n, f, p, c) -> (n, c, p)>, affine_map<(n, f, p, c) -> (n, f, p)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%w, %x : tensor<96x64xf16>, tensor<4x64x49xf16>) outs(%acc : tensor<4x96x49xf32>) {
    ^bb0(%a: f16, %b: f16, %o: f32):
      %aw = arith.extf %a : f16 to f32
      %bw = arith.extf %b : f16 to f32
      %m = arith.mulf %aw, %bw : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x96x49xf32>
    tesa.yield %p : tensor<4x96x49xf32>
  }
  return %r : tensor<4x96x49xf32>
}
