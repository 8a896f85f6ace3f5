// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s

// A 64x64x8 tiling: the A and B slices in dynamic shared memory (544 f32
// each: 8 k rows of 64 + 4), 4x4 outputs a thread in runs of four (one
// 16-byte workgroup load per run and k), the next step's slices loaded before this
// step's FMAs (the loop carries 16 accumulators and the next step's start),
// the bias read through its broadcast and the ReLU applied
// before the one store. 100 x 70 outputs take a grid of 2 x 2 tiles.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[A:.*]]: memref<2000xf32>, %[[B:.*]]: memref<1400xf32>, %[[BIAS:.*]]: memref<70xf32>, %[[OUT:.*]]: memref<7000xf32>) kernel
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[AT:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<544xf32, #gpu.address_space<workgroup>>
// CHECK: %[[BT:.*]] = memref.view %[[SHARED]][%c2176][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<544xf32, #gpu.address_space<workgroup>>
// CHECK: memref.store %{{.*}}, %[[AT]]
// CHECK: gpu.barrier
// CHECK: %[[LOOP:.*]]:17 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: memref.load %[[A]]
// CHECK: vector.load %[[AT]][%{{.*}}] {alignment = 16 : i64} : memref<544xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: math.fma
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[BT]]
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: scf.if
// CHECK: %[[BIASV:.*]] = memref.load %[[BIAS]]
// CHECK: %[[SUM:.*]] = arith.addf %[[BIASV]], %[[LOOP]]#0
// CHECK: %[[RELU:.*]] = arith.maximumf %[[SUM]]
// CHECK: memref.store %[[RELU]], %[[OUT]]
// CHECK-LABEL: func.func @bias_relu
// CHECK-DAG: %[[X:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<100x20xf32> into memref<2000xf32>
// CHECK-DAG: %[[RESULT:.*]] = memref.alloc() : memref<100x70xf32>
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 blocks in (%c2, %c2{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) dynamic_shared_memory_size %c4352_i32
// CHECK: bufferization.to_tensor %[[RESULT]] restrict writable
func.func @bias_relu(%x: tensor<100x20xf32>, %w: tensor<20x70xf32>, %b: tensor<70xf32>) -> tensor<100x70xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<100x70xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<70xf32>) outs(%e : tensor<100x70xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<100x70xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<100x70xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<100x20xf32>, tensor<20x70xf32>) outs(%acc : tensor<100x70xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %c : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<100x70xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<100x70xf32>) outs(%e : tensor<100x70xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.maximumf %a, %zero : f32
      linalg.yield %r : f32
    } -> tensor<100x70xf32>
    tesa.yield %y : tensor<100x70xf32>
  }
  return %r : tensor<100x70xf32>
}

// -----

// Split-K: the product kernel writes each of 3 slices' sums (K steps of 16,
// 8 of them: slices of 3, 3 and 2) to a workspace of 3 x 40 x 24 f32
// (grid z = slices x batches), and a second kernel, one thread per output,
// adds the slices up with the initial value and applies the epilogue.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %{{.*}}: memref<5120xf32>, %{{.*}}: memref<3072xf32>, %[[WS:.*]]: memref<2880xf32>)
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[WS]]
// CHECK-LABEL: gpu.func @contraction0_split_k(
// CHECK-SAME: %[[PARTS:.*]]: memref<2880xf32>, %[[OUT:.*]]: memref<960xf32>)
// CHECK: %[[P0:.*]] = memref.load %[[PARTS]]
// CHECK: %[[P1:.*]] = memref.load %[[PARTS]]
// CHECK: %[[S1:.*]] = arith.addf %[[P0]], %[[P1]]
// CHECK: %[[P2:.*]] = memref.load %[[PARTS]]
// CHECK: %[[S2:.*]] = arith.addf %[[S1]], %[[P2]]
// CHECK: %[[RELU:.*]] = arith.maximumf
// CHECK: memref.store %[[RELU]], %[[OUT]]
// CHECK-LABEL: func.func @split_k
// CHECK: %[[WORKSPACE:.*]] = memref.alloc() : memref<2880xf32>
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 blocks in (%{{.*}}, %{{.*}}, %c3{{.*}}) threads in (%c256
// CHECK: gpu.launch_func @tesa_kernels::@contraction0_split_k blocks in (%c4{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) args(%[[WORKSPACE]] : memref<2880xf32>
// CHECK: memref.dealloc %[[WORKSPACE]]
func.func @split_k(%x: tensor<40x128xf32>, %w: tensor<128x24xf32>) -> tensor<40x24xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<40x24xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<40x24xf32>) -> tensor<40x24xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [32, 32, 16], thread_tile = [2, 2], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 3>) -> tensor<40x24xf32> {
    %p = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<40x128xf32>, tensor<128x24xf32>) outs(%acc : tensor<40x24xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %c : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<40x24xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<40x24xf32>) outs(%e : tensor<40x24xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.maximumf %a, %zero : f32
      linalg.yield %r : f32
    } -> tensor<40x24xf32>
    tesa.yield %y : tensor<40x24xf32>
  }
  return %r : tensor<40x24xf32>
}

// -----

// torch-mlir's attention context: the probabilities times V, whose heads are
// split out of a projection's 64 columns, moved before the rows, widened
// from f16 and merged with the batch. FMA tiles read V where the projection
// wrote it (strides 16 a head, 64 a row, 1 a column) and widen what they
// load, so neither the copy nor the widening is made.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %[[P:.*]]: memref<4096xf32>, %[[V:.*]]: memref<2048xf16>, %[[OUT:.*]]: memref<2048xf32>) kernel
// CHECK: %[[VE:.*]] = memref.load %[[V]]
// CHECK: %[[VS:.*]] = arith.select %{{.*}}, %[[VE]], %{{.*}} : f16
// CHECK: arith.extf %[[VS]] : f16 to f32
// CHECK-LABEL: func.func @heads_of_a_projection
// CHECK-SAME: (%{{.*}}: tensor<4x32x32xf32>, %[[VT:.*]]: tensor<32x64xf16>)
// CHECK: %[[VB:.*]] = bufferization.to_buffer %[[VT]]
// CHECK: %[[VF:.*]] = memref.collapse_shape %[[VB]] {{\[\[}}0, 1]] : memref<32x64xf16> into memref<2048xf16>
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 {{.*}} args(%{{.*}} : memref<4096xf32>, %[[VF]] : memref<2048xf16>, %{{.*}} : memref<2048xf32>)
func.func @heads_of_a_projection(%p: tensor<4x32x32xf32>, %v: tensor<32x64xf16>) -> tensor<4x32x16xf32> {
  %zero = arith.constant 0.0 : f32
  %heads = tensor.expand_shape %v [[0, 1], [2, 3]] output_shape [1, 32, 4, 16] : tensor<32x64xf16> into tensor<1x32x4x16xf16>
  %ew = tensor.empty() : tensor<1x4x32x16xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, s, h, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%heads : tensor<1x32x4x16xf16>) outs(%ew : tensor<1x4x32x16xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<1x4x32x16xf32>
  %vb = tensor.collapse_shape %wide [[0, 1], [2], [3]] : tensor<1x4x32x16xf32> into tensor<4x32x16xf32>
  %e = tensor.empty() : tensor<4x32x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32x16xf32>) -> tensor<4x32x16xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [32, 16, 8], thread_tile = [2, 2], threads = 128, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<4x32x16xf32> {
    %c = linalg.generic {indexing_maps = [affine_map<(b, i, j, k) -> (b, i, k)>, affine_map<(b, i, j, k) -> (b, k, j)>, affine_map<(b, i, j, k) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%p, %vb : tensor<4x32x32xf32>, tensor<4x32x16xf32>) outs(%acc : tensor<4x32x16xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x32x16xf32>
    tesa.yield %c : tensor<4x32x16xf32>
  }
  return %r : tensor<4x32x16xf32>
}

// -----

// A pointwise convolution's accumulator as torch-mlir gives it: the f16 bias
// widened, broadcast to NCHW and collapsed to the batched product's shape.
// The kernel reads the bias vector where it is (stride 1 along the
// channels, 0 elsewhere) and widens it.
// CHECK-LABEL: gpu.func @contraction0(
// CHECK-SAME: %{{.*}}: memref<64xf32>, %{{.*}}: memref<256xf32>, %[[BIAS:.*]]: memref<4xf16>, %{{.*}}: memref<64xf32>) kernel
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: arith.extf %[[B]] : f16 to f32
// CHECK-LABEL: func.func @collapsed_bias
// CHECK-SAME: %[[BT:[^:]+]]: tensor<4xf16>)
// CHECK: %[[BB:.*]] = bufferization.to_buffer %[[BT]]
// CHECK: gpu.launch_func @tesa_kernels::@contraction0 {{.*}} args(%{{.*}} : memref<64xf32>, %{{.*}} : memref<256xf32>, %[[BB]] : memref<4xf16>, %{{.*}} : memref<64xf32>)
func.func @collapsed_bias(%w: tensor<4x16xf32>, %x: tensor<2x16x8xf32>, %b: tensor<4xf16>) -> tensor<2x4x8xf32> {
  %e4 = tensor.empty() : tensor<2x4x2x4xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (c)>, affine_map<(n, c, h, w) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : tensor<4xf16>) outs(%e4 : tensor<2x4x2x4xf32>) {
  ^bb0(%v: f16, %o: f32):
    %f = arith.extf %v : f16 to f32
    linalg.yield %f : f32
  } -> tensor<2x4x2x4xf32>
  %acc = tensor.collapse_shape %wide [[0], [1], [2, 3]] : tensor<2x4x2x4xf32> into tensor<2x4x8xf32>
  %r = tesa.kernel contraction config(#tesa.tile_config<tile = [4, 8, 8], thread_tile = [1, 1], threads = 32, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<2x4x8xf32> {
    %c = linalg.generic {indexing_maps = [affine_map<(n, i, j, k) -> (i, k)>, affine_map<(n, i, j, k) -> (n, k, j)>, affine_map<(n, i, j, k) -> (n, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%w, %x : tensor<4x16xf32>, tensor<2x16x8xf32>) outs(%acc : tensor<2x4x8xf32>) {
    ^bb0(%a: f32, %y: f32, %o: f32):
      %m = arith.mulf %a, %y : f32
      %s = arith.addf %o, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x4x8xf32>
    tesa.yield %c : tensor<2x4x8xf32>
  }
  return %r : tensor<2x4x8xf32>
}
