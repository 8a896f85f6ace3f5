// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s

// Two products of one input (a layer's projections) run as one launch: the
// 2 x 2 tiles of each, one after the other along x, each running its own
// product with the block coordinates of its own launch. The third product
// reads the first one's result, so it is launched alone, after them.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @fused_contraction0_contraction1(
// CHECK-SAME: %[[X0:[^:]*]]: memref<6400xf16>, %[[W0:[^:]*]]: memref<5120xf16>, %[[OUT0:[^:]*]]: memref<8000xf16>, %[[X1:[^:]*]]: memref<6400xf16>, %[[W1:[^:]*]]: memref<5120xf16>, %[[OUT1:[^:]*]]: memref<8000xf16>)
// CHECK: %[[BLOCK:.*]] = gpu.block_id x
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[BLOCK]], %c4
// CHECK: scf.if %{{.*}} {
// CHECK: nvgpu.device_async_copy %[[X0]]
// CHECK: nvgpu.mma.sync
// CHECK: vector.store %{{.*}}, %[[OUT0]]
// CHECK: arith.cmpi uge, %[[BLOCK]], %c4
// CHECK: arith.addi %[[BLOCK]], %c-4
// CHECK: scf.if %{{.*}} {
// CHECK: nvgpu.device_async_copy %[[X1]]
// CHECK: nvgpu.mma.sync
// CHECK: vector.store %{{.*}}, %[[OUT1]]
// CHECK-LABEL: func.func @siblings
// CHECK: %[[Q:.*]] = memref.alloc() : memref<100x80xf16>
// CHECK: %[[K:.*]] = memref.alloc() : memref<100x80xf16>
// CHECK: gpu.launch_func @tesa_kernels::@fused_contraction0_contraction1 blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128
// CHECK-NOT: gpu.launch_func
// CHECK: %[[KT:.*]] = bufferization.to_tensor %[[K]]
// CHECK: gpu.launch_func @tesa_kernels::@contraction2
// CHECK: return %{{.*}}, %[[KT]]
#mma = #tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>
#mk = affine_map<(i, j, k) -> (i, k)>
#nk = affine_map<(i, j, k) -> (j, k)>
#mn = affine_map<(i, j, k) -> (i, j)>
func.func @siblings(%x: tensor<100x64xf16>, %wq: tensor<80x64xf16>, %wk: tensor<80x64xf16>, %wo: tensor<80x80xf16>) -> (tensor<100x80xf16>, tensor<100x80xf16>) {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<100x80xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<100x80xf16>) -> tensor<100x80xf16>
  %q = tesa.kernel contraction config(#mma) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wq : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %p : tensor<100x80xf16>
  }
  %k = tesa.kernel contraction config(#mma) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wk : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %p : tensor<100x80xf16>
  }
  %o = tesa.kernel contraction config(#mma) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%q, %wo : tensor<100x80xf16>, tensor<80x80xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %p : tensor<100x80xf16>
  }
  return %o, %k : tensor<100x80xf16>, tensor<100x80xf16>
}

// -----

// A sibling inside a branch stays there: it is launched alone when the
// branch runs, not fused into a launch before it.
// CHECK-LABEL: func.func @conditional_sibling
// CHECK: gpu.launch_func @tesa_kernels::@contraction0
// CHECK: scf.if
// CHECK: gpu.launch_func @tesa_kernels::@contraction1
#mma = #tesa.tile_config<tile = [64, 64, 32], thread_tile = [32, 32], threads = 128, stages = 3, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>
#mk = affine_map<(i, j, k) -> (i, k)>
#nk = affine_map<(i, j, k) -> (j, k)>
#mn = affine_map<(i, j, k) -> (i, j)>
func.func @conditional_sibling(%c: i1, %x: tensor<100x64xf16>, %wq: tensor<80x64xf16>, %wk: tensor<80x64xf16>) -> (tensor<100x80xf16>, tensor<100x80xf16>) {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<100x80xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<100x80xf16>) -> tensor<100x80xf16>
  %q = tesa.kernel contraction config(#mma) -> tensor<100x80xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wq : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<100x80xf16>
    tesa.yield %p : tensor<100x80xf16>
  }
  %k = scf.if %c -> tensor<100x80xf16> {
    %r = tesa.kernel contraction config(#mma) -> tensor<100x80xf16> {
      %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wk : tensor<100x64xf16>, tensor<80x64xf16>) outs(%acc : tensor<100x80xf16>) {
      ^bb0(%a: f16, %b: f16, %o: f16):
        %m = arith.mulf %a, %b : f16
        %s = arith.addf %o, %m : f16
        linalg.yield %s : f16
      } -> tensor<100x80xf16>
      tesa.yield %p : tensor<100x80xf16>
    }
    scf.yield %r : tensor<100x80xf16>
  } else {
    scf.yield %acc : tensor<100x80xf16>
  }
  return %q, %k : tensor<100x80xf16>, tensor<100x80xf16>
}
