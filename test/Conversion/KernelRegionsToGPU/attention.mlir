// RUN: tesa-opt %s --tesa-lower-kernel-regions | FileCheck %s

// An attention region (two heads of 80 queries, heads of 32, as
// --tesa-form-attention-regions and --tesa-choose-tile-configs leave it)
// becomes one kernel over (1, query tiles, heads) blocks of 256 threads:
// four groups of 16 queries, two warps each splitting a step's 128 keys.
// Q is copied once (cp.async) and held as A fragments; each step's K and V
// go through a two-stage ring; the scores (Q K^T on the m16n8k16 atom) are
// scaled and turned into probabilities by exp2 with quad-wide maxima, fed
// to P V from registers; V is read with ldmatrix.trans ([key][column] in
// shared memory); the second warp of each group hands its part over
// through shared memory (f32), and the first stores the context through
// the heads' transpose. The launch passes Q, K, V and the result, with the
// Q tile and both rings as dynamic shared memory.
// CHECK-LABEL: gpu.func @attention0(
// CHECK-SAME: %[[Q:.*]]: memref<5120xf16>, %[[K:.*]]: memref<5120xf16>, %[[V:.*]]: memref<5120xf16>, %[[OUT:.*]]: memref<5120xf16>) kernel
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[QTILE:.*]] = memref.view %[[SHARED]]{{.*}} to memref<1x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[KRING:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2x128x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[VRING:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2x128x40xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[Q]][{{.*}}], %[[QTILE]]
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvgpu.device_async_copy %[[K]][{{.*}}], %[[KRING]]
// CHECK: nvgpu.device_async_copy %[[V]][{{.*}}], %[[VRING]]
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: gpu.barrier
// CHECK: %[[QA:.*]] = nvgpu.ldmatrix %[[QTILE]]{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[KRING]]{{.*}} transpose = false
// CHECK: nvgpu.mma.sync(%[[QA]],
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f16
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: math.exp2
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: nvgpu.ldmatrix %[[VRING]]{{.*}} transpose = true
// CHECK: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK: %[[EXCHANGE:.*]] = memref.view %[[SHARED]]{{.*}} to memref<2560xf32, #gpu.address_space<workgroup>>
// CHECK: memref.store %{{.*}}, %[[EXCHANGE]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[EXCHANGE]]
// CHECK: vector.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @attention(
// CHECK: gpu.launch_func  @tesa_kernels::@attention0 blocks in (%c1{{.*}}, %c2{{.*}}, %c2{{.*}}) threads in (%c256, %c1{{.*}}, %c1{{.*}})  dynamic_shared_memory_size %c46080_i32

func.func @attention(%arg0: tensor<80x2x32xf16>, %arg1: tensor<80x2x32xf16>, %arg2: tensor<80x2x32xf16>) -> tensor<80x64xf16> {
  %cst = arith.constant 0xFE00 : f16
  %cst_0 = arith.constant 1.767580e-01 : f16
  %cst_1 = arith.constant 0.000000e+00 : f16
  %0 = tensor.empty() : tensor<2x80x32xf16>
  %1 = tensor.empty() : tensor<2x32x80xf16>
  %2 = tensor.empty() : tensor<2x80x32xf16>
  %3 = tensor.empty() : tensor<2x80x80xf16>
  %4 = linalg.fill ins(%cst_1 : f16) outs(%3 : tensor<2x80x80xf16>) -> tensor<2x80x80xf16>
  %5 = tensor.empty() : tensor<2x80x80xf16>
  %6 = tensor.empty() : tensor<2x80x80xf16>
  %7 = tensor.empty() : tensor<2x80xf16>
  %8 = linalg.fill ins(%cst : f16) outs(%7 : tensor<2x80xf16>) -> tensor<2x80xf16>
  %9 = linalg.fill ins(%cst_1 : f16) outs(%7 : tensor<2x80xf16>) -> tensor<2x80xf16>
  %10 = tensor.empty() : tensor<2x80x32xf16>
  %11 = linalg.fill ins(%cst_1 : f16) outs(%10 : tensor<2x80x32xf16>) -> tensor<2x80x32xf16>
  %12 = tensor.empty() : tensor<80x2x32xf16>
  %13 = tesa.kernel attention config(#tesa.tile_config<tile = [64, 128, 32], thread_tile = [16, 64], threads = 256, stages = 2, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<80x2x32xf16> {
    %14 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<80x2x32xf16>, tensor<80x2x32xf16>) outs(%4 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x80xf16>
    %15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<2x80x80xf16>) outs(%5 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.mulf %in, %cst_0 : f16
      linalg.yield %22 : f16
    } -> tensor<2x80x80xf16>
    %16 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<2x80x80xf16>) outs(%8 : tensor<2x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.maxnumf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<2x80xf16>
    %17 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15, %16 : tensor<2x80x80xf16>, tensor<2x80xf16>) outs(%6 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.subf %in, %in_2 : f16
      %23 = math.exp %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x80xf16>
    %18 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%17 : tensor<2x80x80xf16>) outs(%9 : tensor<2x80xf16>) {
    ^bb0(%in: f16, %out: f16):
      %22 = arith.addf %in, %out : f16
      linalg.yield %22 : f16
    } -> tensor<2x80xf16>
    %19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %18 : tensor<2x80x80xf16>, tensor<2x80xf16>) outs(%6 : tensor<2x80x80xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.divf %in, %in_2 : f16
      linalg.yield %22 : f16
    } -> tensor<2x80x80xf16>
    %20 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%19, %arg2 : tensor<2x80x80xf16>, tensor<80x2x32xf16>) outs(%11 : tensor<2x80x32xf16>) {
    ^bb0(%in: f16, %in_2: f16, %out: f16):
      %22 = arith.mulf %in, %in_2 : f16
      %23 = arith.addf %out, %22 : f16
      linalg.yield %23 : f16
    } -> tensor<2x80x32xf16>
    %21 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<2x80x32xf16>) outs(%12 : tensor<80x2x32xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<80x2x32xf16>
    tesa.yield %21 : tensor<80x2x32xf16>
  }
  %collapsed = tensor.collapse_shape %13 [[0], [1, 2]] : tensor<80x2x32xf16> into tensor<80x64xf16>
  return %collapsed : tensor<80x64xf16>
}
