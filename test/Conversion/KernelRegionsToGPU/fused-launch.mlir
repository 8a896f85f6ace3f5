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

// -----

// Warpgroup products that copy by TMA fuse too: each member's tensor maps
// follow its buffers among the fused kernel's arguments, each member's
// copies read its own, and the host encodes all four before the launch.
// CHECK-LABEL: gpu.func @fused_contraction0_contraction1(
// CHECK-SAME: %[[X0:[^:]+]]: memref<16384xf16>, %{{[^:]+}}: memref<8192xf16>, %{{[^:]+}}: memref<8192xf16>, %[[A0:[^:]+]]: !llvm.array<16 x i64>, %{{[^:]+}}: !llvm.array<16 x i64>, %[[X1:[^:]+]]: memref<16384xf16>, %{{[^:]+}}: memref<8192xf16>, %{{[^:]+}}: memref<8192xf16>, %[[A1:[^:]+]]: !llvm.array<16 x i64>, %{{[^:]+}}: !llvm.array<16 x i64>)
// CHECK: builtin.unrealized_conversion_cast %[[A0]] : !llvm.array<16 x i64> to !llvm.ptr
// CHECK: builtin.unrealized_conversion_cast %[[A1]] : !llvm.array<16 x i64> to !llvm.ptr
// CHECK-LABEL: func.func @warpgroup_siblings
// CHECK-COUNT-4: llvm.call @mgpuTesaEncodeTensorMap2D
// CHECK: gpu.launch_func @tesa_kernels::@fused_contraction0_contraction1 blocks in (%c4{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c160
// CHECK-NOT: gpu.launch_func
#wgmma = #tesa.tile_config<tile = [64, 64, 64], thread_tile = [64, 64], threads = 160, stages = 4, copy = tma, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = 1>
#mk = affine_map<(i, j, k) -> (i, k)>
#nk = affine_map<(i, j, k) -> (j, k)>
#mn = affine_map<(i, j, k) -> (i, j)>
func.func @warpgroup_siblings(%x: tensor<128x128xf16>, %wq: tensor<64x128xf16>, %wk: tensor<64x128xf16>) -> (tensor<128x64xf16>, tensor<128x64xf16>) {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<128x64xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<128x64xf16>) -> tensor<128x64xf16>
  %q = tesa.kernel contraction config(#wgmma) -> tensor<128x64xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wq : tensor<128x128xf16>, tensor<64x128xf16>) outs(%acc : tensor<128x64xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<128x64xf16>
    tesa.yield %p : tensor<128x64xf16>
  }
  %k = tesa.kernel contraction config(#wgmma) -> tensor<128x64xf16> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wk : tensor<128x128xf16>, tensor<64x128xf16>) outs(%acc : tensor<128x64xf16>) {
    ^bb0(%a: f16, %b: f16, %o: f16):
      %m = arith.mulf %a, %b : f16
      %s = arith.addf %o, %m : f16
      linalg.yield %s : f16
    } -> tensor<128x64xf16>
    tesa.yield %p : tensor<128x64xf16>
  }
  return %q, %k : tensor<128x64xf16>, tensor<128x64xf16>
}

// -----

// Split-K products of one input fuse, and so do their finishing kernels:
// the first launch writes each member's partial sums to its own workspace,
// the second adds each workspace up into its member's result (the first
// member's bias added on the way).
// CHECK-LABEL: gpu.func @fused_contraction0_contraction1(
// CHECK-SAME: %{{[^:]+}}: memref<3840xf32>, %{{[^:]+}}: memref<2304xf32>, %{{[^:]+}}: memref<2880xf32>, %{{[^:]+}}: memref<3840xf32>, %{{[^:]+}}: memref<2304xf32>, %{{[^:]+}}: memref<2880xf32>)
// CHECK-LABEL: gpu.func @fused_contraction0_contraction1_split_k(
// CHECK-SAME: %{{[^:]+}}: memref<2880xf32>, %{{[^:]+}}: memref<24xf32>, %{{[^:]+}}: memref<960xf32>, %{{[^:]+}}: memref<2880xf32>, %{{[^:]+}}: memref<960xf32>)
// CHECK-LABEL: func.func @split_siblings
// CHECK: %[[OUT0:.*]] = memref.alloc() : memref<40x24xf32>
// CHECK: %[[SUMS0:.*]] = memref.alloc() : memref<2880xf32>
// CHECK: %[[OUT1:.*]] = memref.alloc() : memref<40x24xf32>
// CHECK: %[[SUMS1:.*]] = memref.alloc() : memref<2880xf32>
// CHECK: gpu.launch_func @tesa_kernels::@fused_contraction0_contraction1 blocks in (%c12{{.*}}) {{.*}} args(%{{[^:]+}} : memref<3840xf32>, %{{[^:]+}} : memref<2304xf32>, %[[SUMS0]] : memref<2880xf32>, %{{[^:]+}} : memref<3840xf32>, %{{[^:]+}} : memref<2304xf32>, %[[SUMS1]] : memref<2880xf32>)
// CHECK: gpu.launch_func @tesa_kernels::@fused_contraction0_contraction1_split_k blocks in (%c8{{.*}}) {{.*}} args(%[[SUMS0]] : memref<2880xf32>, %{{[^:]+}} : memref<24xf32>, %{{[^:]+}} : memref<960xf32>, %[[SUMS1]] : memref<2880xf32>, %{{[^:]+}} : memref<960xf32>)
// CHECK: memref.dealloc %[[SUMS0]]
// CHECK: memref.dealloc %[[SUMS1]]
// CHECK: %[[R0:.*]] = bufferization.to_tensor %[[OUT0]]
// CHECK: %[[R1:.*]] = bufferization.to_tensor %[[OUT1]]
// CHECK: return %[[R0]], %[[R1]]
#split = #tesa.tile_config<tile = [32, 32, 16], thread_tile = [2, 2], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 3>
#mk = affine_map<(i, j, k) -> (i, k)>
#nk = affine_map<(i, j, k) -> (j, k)>
#mn = affine_map<(i, j, k) -> (i, j)>
func.func @split_siblings(%x: tensor<40x96xf32>, %wq: tensor<24x96xf32>, %wk: tensor<24x96xf32>, %b: tensor<24xf32>) -> (tensor<40x24xf32>, tensor<40x24xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<40x24xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<40x24xf32>) -> tensor<40x24xf32>
  %q = tesa.kernel contraction config(#split) -> tensor<40x24xf32> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wq : tensor<40x96xf32>, tensor<24x96xf32>) outs(%acc : tensor<40x24xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %c : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<40x24xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<40x24xf32>, tensor<24xf32>) outs(%e : tensor<40x24xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      linalg.yield %s : f32
    } -> tensor<40x24xf32>
    tesa.yield %y : tensor<40x24xf32>
  }
  %k = tesa.kernel contraction config(#split) -> tensor<40x24xf32> {
    %p = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %wk : tensor<40x96xf32>, tensor<24x96xf32>) outs(%acc : tensor<40x24xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %c : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<40x24xf32>
    tesa.yield %p : tensor<40x24xf32>
  }
  return %q, %k : tensor<40x24xf32>, tensor<40x24xf32>
}
