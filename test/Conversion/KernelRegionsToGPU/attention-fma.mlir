// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions=chip=sm_75 2>&1 | FileCheck %s --check-prefix=SM75
// RUN: not tesa-opt %s -split-input-file --tesa-lower-kernel-regions=chip=sm_99 2>&1 | FileCheck %s --check-prefix=CHIP

// With a chip, a kernel must fit its shared memory: sm_75 gives a block
// 64 KiB, so the region stays on the generic path, with a remark.
// SM75: remark: kept on the generic path: its kernel takes 96768 bytes of shared memory a block, more than the 65536 of sm_75
// SM75-NOT: gpu.launch_func
// CHIP: error: unknown chip 'sm_99'

// An f32 attention region (two heads of 80 queries, heads of 32) on the
// fma_f32 atom becomes one kernel over (1, query tiles, heads) blocks of 256
// threads: eight groups of 16 lanes own 4 queries each, two groups a query
// (two splits of a step's 128 keys, 4 keys a lane). Q is copied once into a
// [query][depth] tile and each step's K ([key][depth]) and V ([key][column])
// through two-stage rings, by 16-byte cp.async of four f32; each lane
// multiplies 16-byte vectors of Q and K rows, scales its scores, reduces
// each query's maximum across its 16 lanes (shuffles 8, 4, 2, 1) and turns
// them into probabilities by exp2, stored as [key][query] for the lanes of
// its group (a warp barrier); the second split hands its state over through
// shared memory, and the first stores the context through the heads'
// transpose in pairs. No value is rounded: the probabilities stay f32.
// CHECK-LABEL: gpu.func @attention0(
// CHECK-SAME: %[[Q:.*]]: memref<5120xf32>, %[[K:.*]]: memref<5120xf32>, %[[V:.*]]: memref<5120xf32>, %[[OUT:.*]]: memref<5120xf32>) kernel
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[QTILE:.*]] = memref.view %[[SHARED]]{{.*}} to memref<1x32x36xf32, #gpu.address_space<workgroup>>
// CHECK: %[[KRING:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2x128x36xf32, #gpu.address_space<workgroup>>
// CHECK: %[[VRING:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2x128x36xf32, #gpu.address_space<workgroup>>
// CHECK: %[[PROBS:.*]] = memref.view %[[SHARED]]{{.*}} to memref<128x36xf32, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[Q]][{{.*}}], %[[QTILE]][{{.*}}], 4
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvgpu.device_async_copy %[[K]][{{.*}}], %[[KRING]]
// CHECK: nvgpu.device_async_copy %[[V]][{{.*}}], %[[VRING]]
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// CHECK: vector.load %[[QTILE]]{{.*}} : memref<1x32x36xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: vector.load %[[KRING]]{{.*}} : memref<2x128x36xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: math.fma
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: math.exp2
// CHECK: vector.store %{{.*}}, %[[PROBS]]
// CHECK: nvvm.bar.warp.sync
// CHECK: vector.load %[[PROBS]]
// CHECK: vector.load %[[VRING]]
// CHECK: math.fma
// CHECK: scf.yield
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// CHECK: %[[EXCHANGE:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2048xf32, #gpu.address_space<workgroup>>
// CHECK: memref.store %{{.*}}, %[[EXCHANGE]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[EXCHANGE]]
// CHECK: vector.store %{{.*}}, %[[OUT]]{{.*}} : memref<5120xf32>, vector<2xf32>
// CHECK-LABEL: func.func @attention(
// CHECK: gpu.launch_func  @tesa_kernels::@attention0 blocks in (%c1{{.*}}, %c3{{.*}}, %c2{{.*}}) threads in (%c256, %c1{{.*}}, %c1{{.*}})  dynamic_shared_memory_size %c96768_i32

func.func @attention(%arg0: tensor<80x2x32xf32>, %arg1: tensor<80x2x32xf32>, %arg2: tensor<80x2x32xf32>) -> tensor<80x64xf32> {
  %cst = arith.constant 0xFFC00000 : f32
  %cst_0 = arith.constant 1.767580e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<2x80x32xf32>
  %1 = tensor.empty() : tensor<2x32x80xf32>
  %2 = tensor.empty() : tensor<2x80x32xf32>
  %3 = tensor.empty() : tensor<2x80x80xf32>
  %4 = linalg.fill ins(%cst_1 : f32) outs(%3 : tensor<2x80x80xf32>) -> tensor<2x80x80xf32>
  %5 = tensor.empty() : tensor<2x80x80xf32>
  %6 = tensor.empty() : tensor<2x80x80xf32>
  %7 = tensor.empty() : tensor<2x80xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<2x80xf32>) -> tensor<2x80xf32>
  %9 = linalg.fill ins(%cst_1 : f32) outs(%7 : tensor<2x80xf32>) -> tensor<2x80xf32>
  %10 = tensor.empty() : tensor<2x80x32xf32>
  %11 = linalg.fill ins(%cst_1 : f32) outs(%10 : tensor<2x80x32xf32>) -> tensor<2x80x32xf32>
  %12 = tensor.empty() : tensor<80x2x32xf32>
  %13 = tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 32], thread_tile = [4, 4], threads = 256, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<80x2x32xf32> {
    %14 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<80x2x32xf32>, tensor<80x2x32xf32>) outs(%4 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x80xf32>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<2x80x80xf32>) outs(%5 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.mulf %in, %cst_0 : f32
      linalg.yield %22 : f32
    } -> tensor<2x80x80xf32>
    %16 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<2x80x80xf32>) outs(%8 : tensor<2x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.maxnumf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<2x80xf32>
    %17 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<2x80x80xf32>, tensor<2x80xf32>) outs(%6 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.subf %in, %in_2 : f32
      %23 = math.exp %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x80xf32>
    %18 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<2x80x80xf32>) outs(%9 : tensor<2x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<2x80xf32>
    %19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<2x80x80xf32>, tensor<2x80xf32>) outs(%6 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.divf %in, %in_2 : f32
      linalg.yield %22 : f32
    } -> tensor<2x80x80xf32>
    %20 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<2x80x80xf32>, tensor<80x2x32xf32>) outs(%11 : tensor<2x80x32xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x32xf32>
    %21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<2x80x32xf32>) outs(%12 : tensor<80x2x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<80x2x32xf32>
    tesa.yield %21 : tensor<80x2x32xf32>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<80x2x32xf32> into tensor<80x64xf32>
  return %collapsed : tensor<80x64xf32>
}

// -----

// The context's encoding prunes head 0 whole (its context is dead): the
// grid takes the kept heads only, and each block reads its head from the
// table of kept heads.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: memref.global "private" constant @attention0_kept_batches : memref<1xi32> = dense<1>
// CHECK-LABEL: gpu.func @attention0(
// CHECK: %[[Z:.*]] = gpu.block_id z
// CHECK: %[[TABLE:.*]] = memref.get_global @attention0_kept_batches
// CHECK: memref.load %[[TABLE]][%[[Z]]]
// CHECK-LABEL: func.func @dead_head(
// CHECK: gpu.launch_func  @tesa_kernels::@attention0 blocks in (%c1{{.*}}, %c3{{.*}}, %c1{{.*}}) threads in (%c256
func.func @dead_head(%arg0: tensor<80x2x32xf32>, %arg1: tensor<80x2x32xf32>, %arg2: tensor<80x2x32xf32>) -> tensor<80x64xf32> {
  %cst = arith.constant 0xFFC00000 : f32
  %cst_0 = arith.constant 1.767580e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<2x80x32xf32>
  %1 = tensor.empty() : tensor<2x32x80xf32>
  %2 = tensor.empty() : tensor<2x80x32xf32>
  %3 = tensor.empty() : tensor<2x80x80xf32>
  %4 = linalg.fill ins(%cst_1 : f32) outs(%3 : tensor<2x80x80xf32>) -> tensor<2x80x80xf32>
  %5 = tensor.empty() : tensor<2x80x80xf32>
  %6 = tensor.empty() : tensor<2x80x80xf32>
  %7 = tensor.empty() : tensor<2x80xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<2x80xf32>) -> tensor<2x80xf32>
  %9 = linalg.fill ins(%cst_1 : f32) outs(%7 : tensor<2x80xf32>) -> tensor<2x80xf32>
  %10 = tensor.empty() : tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>
  %11 = linalg.fill ins(%cst_1 : f32) outs(%10 : tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>) -> tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>
  %12 = tensor.empty() : tensor<80x2x32xf32>
  %13 = tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 32], thread_tile = [4, 4], threads = 256, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<80x2x32xf32> {
    %14 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<80x2x32xf32>, tensor<80x2x32xf32>) outs(%4 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x80xf32>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<2x80x80xf32>) outs(%5 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.mulf %in, %cst_0 : f32
      linalg.yield %22 : f32
    } -> tensor<2x80x80xf32>
    %16 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<2x80x80xf32>) outs(%8 : tensor<2x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.maxnumf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<2x80xf32>
    %17 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<2x80x80xf32>, tensor<2x80xf32>) outs(%6 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.subf %in, %in_2 : f32
      %23 = math.exp %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x80xf32>
    %18 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<2x80x80xf32>) outs(%9 : tensor<2x80xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<2x80xf32>
    %19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<2x80x80xf32>, tensor<2x80xf32>) outs(%6 : tensor<2x80x80xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.divf %in, %in_2 : f32
      linalg.yield %22 : f32
    } -> tensor<2x80x80xf32>
    %20 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<2x80x80xf32>, tensor<80x2x32xf32>) outs(%11 : tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %22 = arith.mulf %in, %in_2 : f32
      %23 = arith.addf %out, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>
    %21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<2x80x32xf32, #tesa.sparsity<map = dense<[[[0]], [[32]]]> : tensor<2x1x1xi8>>>) outs(%12 : tensor<80x2x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<80x2x32xf32>
    tesa.yield %21 : tensor<80x2x32xf32>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<80x2x32xf32> into tensor<80x64xf32>
  return %collapsed : tensor<80x64xf32>
}
