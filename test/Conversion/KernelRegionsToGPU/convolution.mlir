// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s --check-prefix=RUN4
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s --check-prefix=RUN4-WEIGHTS
// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s --check-prefix=RUN4-TAPS

// torch-mlir's f16 depthwise convolution: the input padded by one pixel of
// zeros, f16 operands accumulating in f32 from the f16 bias widened and
// broadcast, the result rounded to f16 and clamped (ReLU6). The kernel
// reads the unpadded image, the filter and the bias vector where they are
// (no padded copy, no broadcast): each thread decodes its output element
// (n, c, h, w), starts from bias[c] widened, and takes the nine taps
// unrolled, each image element behind one unsigned bounds check (the first
// tap's row and column are 2h - 1 and 2w - 1) with zero outside, each
// multiply and add free to fuse into one FMA.
// CHECK-LABEL: gpu.func @convolution0(
// CHECK-SAME: %[[X:.*]]: memref<1600xf16>, %[[W:.*]]: memref<72xf16>, %[[BIAS:.*]]: memref<8xf16>, %[[OUT:.*]]: memref<400xf16>) kernel
// CHECK: %[[ELEMENT:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[ELEMENT]], %c400
// CHECK: scf.if %[[INSIDE]] {
// CHECK: %[[CHANNEL:.*]] = arith.remui %{{.*}}, %c8
// CHECK: %[[B:.*]] = memref.load %[[BIAS]][%[[CHANNEL]]] : memref<8xf16>
// CHECK: %[[INIT:.*]] = arith.extf %[[B]] : f16 to f32
// CHECK: %[[ROW:.*]] = arith.subi %{{.*}}, %c1{{.*}} : index
// CHECK: %[[ROWIN:.*]] = arith.cmpi ult, %[[ROW]], %c10{{.*}} : index
// CHECK: %[[COL:.*]] = arith.subi %{{.*}}, %c1{{.*}} : index
// CHECK: %[[COLIN:.*]] = arith.cmpi ult, %[[COL]], %c10{{.*}} : index
// CHECK: %[[BOTH:.*]] = arith.andi %[[ROWIN]], %[[COLIN]] : i1
// CHECK: %[[SAFE:.*]] = arith.select %[[BOTH]], %{{.*}}, %c0
// CHECK: %[[PIXEL:.*]] = memref.load %[[X]][%[[SAFE]]] : memref<1600xf16>
// CHECK: %[[TAP:.*]] = arith.select %[[BOTH]], %[[PIXEL]], %{{.*}} : f16
// CHECK: %[[WEIGHT:.*]] = memref.load %[[W]]
// CHECK: %[[WIDE:.*]] = arith.extf %[[TAP]] : f16 to f32
// CHECK: %[[WIDEW:.*]] = arith.extf %[[WEIGHT]] : f16 to f32
// CHECK: %[[PRODUCT:.*]] = arith.mulf %[[WIDE]], %[[WIDEW]] fastmath<contract> : f32
// CHECK: arith.addf %[[INIT]], %[[PRODUCT]] fastmath<contract> : f32
// CHECK-COUNT-8: arith.mulf
// CHECK-NOT: arith.mulf
// CHECK: %[[ROUNDED:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.maximumf %[[ROUNDED]]
// CHECK: %[[CLAMPED:.*]] = arith.minimumf
// CHECK: memref.store %[[CLAMPED]], %[[OUT]]
// CHECK-LABEL: func.func @depthwise_f16
// CHECK: gpu.launch_func @tesa_kernels::@convolution0 blocks in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @depthwise_f16(%x: tensor<2x8x10x10xf16>, %w: tensor<8x3x3xf16>, %bias: tensor<8xf16>) -> tensor<2x8x5x5xf16> {
  %zero = arith.constant 0.0 : f16
  %six = arith.constant 6.0 : f16
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f16
  } : tensor<2x8x10x10xf16> to tensor<2x8x12x12xf16>
  %e8 = tensor.empty() : tensor<8xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(c) -> (c)>, affine_map<(c) -> (c)>], iterator_types = ["parallel"]} ins(%bias : tensor<8xf16>) outs(%e8 : tensor<8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<2x8x5x5xf32>
  %acc = linalg.broadcast ins(%wide : tensor<8xf32>) outs(%e : tensor<2x8x5x5xf32>) dimensions = [0, 2, 3]
  %e16 = tensor.empty() : tensor<2x8x5x5xf16>
  %r = tesa.kernel convolution config(#tesa.tile_config<tile = [256], thread_tile = [1], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<2x8x5x5xf16> {
    %conv = linalg.generic {indexing_maps = [affine_map<(n, h, w, c, kh, kw) -> (n, c, h * 2 + kh, w * 2 + kw)>, affine_map<(n, h, w, c, kh, kw) -> (c, kh, kw)>, affine_map<(n, h, w, c, kh, kw) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%padded, %w : tensor<2x8x12x12xf16>, tensor<8x3x3xf16>) outs(%acc : tensor<2x8x5x5xf32>) {
    ^bb0(%in: f16, %f: f16, %out: f32):
      %a = arith.extf %in : f16 to f32
      %b = arith.extf %f : f16 to f32
      %m = arith.mulf %a, %b : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x8x5x5xf32>
    %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv : tensor<2x8x5x5xf32>) outs(%e16 : tensor<2x8x5x5xf16>) {
    ^bb0(%in: f32, %o: f16):
      %t = arith.truncf %in : f32 to f16
      %low = arith.maximumf %t, %zero : f16
      %high = arith.minimumf %low, %six : f16
      linalg.yield %high : f16
    } -> tensor<2x8x5x5xf16>
    tesa.yield %y : tensor<2x8x5x5xf16>
  }
  return %r : tensor<2x8x5x5xf16>
}

// -----

// A window of 16 channels x 3 x 3 = 144 taps, more than a thread unrolls:
// the channel loop is an scf.for carrying the sum, its nine taps unrolled.
// Without padding the image is read unchecked; the accumulator starts from
// the fill's constant.
// CHECK-LABEL: gpu.func @convolution0(
// CHECK-SAME: %[[X:.*]]: memref<1600xf32>, %[[W:.*]]: memref<1152xf32>, %[[OUT:.*]]: memref<512xf32>) kernel
// CHECK: %[[SUM:.*]] = scf.for %[[C:.*]] = %c0{{.*}} to %c16{{.*}} step %c1{{.*}} iter_args(%[[ACC:.*]] = %cst{{.*}}) -> (f32) {
// CHECK-NOT: arith.cmpi
// CHECK: memref.load %[[X]]
// CHECK-COUNT-9: arith.mulf
// CHECK-NOT: arith.mulf
// CHECK: scf.yield
// CHECK: memref.store %[[SUM]], %[[OUT]]
func.func @channels(%x: tensor<1x16x10x10xf32>, %w: tensor<8x16x3x3xf32>) -> tensor<1x8x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x8x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %r = tesa.kernel convolution config(#tesa.tile_config<tile = [256], thread_tile = [1], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<1x8x8x8xf32> {
    %y = linalg.generic {indexing_maps = [affine_map<(n, f, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>, affine_map<(n, f, h, w, c, kh, kw) -> (f, c, kh, kw)>, affine_map<(n, f, h, w, c, kh, kw) -> (n, f, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x16x10x10xf32>, tensor<8x16x3x3xf32>) outs(%acc : tensor<1x8x8x8xf32>) {
    ^bb0(%in: f32, %f: f32, %out: f32):
      %m = arith.mulf %in, %f : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<1x8x8x8xf32>
    tesa.yield %y : tensor<1x8x8x8xf32>
  }
  return %r : tensor<1x8x8x8xf32>
}

// -----

// Runs of four outputs along a row (thread_tile = [4]): a thread's four
// outputs at columns 4t..4t+3 read columns 4t..4t+5 of each of the three
// image rows, 18 image elements (not 36), loaded as nine aligned pairs
// (rows of 10 f32 are whole 8-byte pieces, and 4t is even), and the nine
// weights once, for 36 products; the four results are stored as one
// aligned vector. 16 threads in all, one block.
// RUN4: gpu.func @convolution0(%[[X:.*]]: memref<120xf32>, %{{.*}}: memref<18xf32>, %[[OUT:.*]]: memref<64xf32>) kernel
// RUN4: %[[INDEX:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// RUN4: arith.cmpi ult, %[[INDEX]], %c16
// RUN4: arith.muli %[[INDEX]], %c4
// RUN4: %[[PAIR:.*]] = vector.load %[[X]][%{{.*}}] {alignment = 8 : i64} : memref<120xf32>, vector<2xf32>
// RUN4: vector.extract %[[PAIR]][0] : f32 from vector<2xf32>
// RUN4-COUNT-8: vector.load %[[X]][%{{.*}}] {alignment = 8 : i64} : memref<120xf32>, vector<2xf32>
// RUN4-NOT: memref.load %[[X]]
// RUN4-NOT: vector.load %[[X]]
// RUN4: %[[FOUR:.*]] = vector.from_elements
// RUN4: vector.store %[[FOUR]], %[[OUT]][%{{.*}}] {alignment = 16 : i64} : memref<64xf32>, vector<4xf32>
// RUN4-WEIGHTS: gpu.func @convolution0(%{{.*}}: memref<120xf32>, %{{.*}}: memref<18xf32>, %{{.*}}: memref<64xf32>) kernel
// RUN4-WEIGHTS-COUNT-9: memref.load %{{.*}} : memref<18xf32>
// RUN4-WEIGHTS-NOT: memref.load %{{.*}} : memref<18xf32>
// RUN4-WEIGHTS: vector.store
// RUN4-TAPS: gpu.func @convolution0(%{{.*}}: memref<120xf32>, %{{.*}}: memref<18xf32>, %{{.*}}: memref<64xf32>) kernel
// RUN4-TAPS-COUNT-36: arith.mulf
// RUN4-TAPS-NOT: arith.mulf
// RUN4-TAPS: vector.store
// RUN4-TAPS-NOT: store
// RUN4-TAPS: gpu.return
// CHECK-LABEL: func.func @run_of_four
// CHECK: gpu.launch_func @tesa_kernels::@convolution0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
func.func @run_of_four(%x: tensor<1x2x6x10xf32>, %w: tensor<2x3x3xf32>) -> tensor<1x2x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %r = tesa.kernel convolution config(#tesa.tile_config<tile = [1024], thread_tile = [4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<1x2x4x8xf32> {
    %y = linalg.generic {indexing_maps = [affine_map<(n, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>, affine_map<(n, h, w, c, kh, kw) -> (c, kh, kw)>, affine_map<(n, h, w, c, kh, kw) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<1x2x6x10xf32>, tensor<2x3x3xf32>) outs(%acc : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %f: f32, %out: f32):
      %m = arith.mulf %in, %f : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<1x2x4x8xf32>
    tesa.yield %y : tensor<1x2x4x8xf32>
  }
  return %r : tensor<1x2x4x8xf32>
}

// -----

// A configuration whose runs do not divide the output's rows (or whose
// tile is not the threads' runs): the region goes back to the generic path
// with a remark.
// REMARK: remark: kept on the generic path: the configuration does not give each thread a run of outputs along the output's last dimension
// CHECK-LABEL: func.func @bad_config
// CHECK-NOT: tesa.kernel
// CHECK: linalg.generic
func.func @bad_config(%x: tensor<2x8x12x12xf32>, %w: tensor<8x3x3xf32>, %acc: tensor<2x8x10x10xf32>) -> tensor<2x8x10x10xf32> {
  %r = tesa.kernel convolution config(#tesa.tile_config<tile = [128], thread_tile = [1], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<2x8x10x10xf32> {
    %y = linalg.generic {indexing_maps = [affine_map<(n, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>, affine_map<(n, h, w, c, kh, kw) -> (c, kh, kw)>, affine_map<(n, h, w, c, kh, kw) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<2x8x12x12xf32>, tensor<8x3x3xf32>) outs(%acc : tensor<2x8x10x10xf32>) {
    ^bb0(%in: f32, %f: f32, %out: f32):
      %m = arith.mulf %in, %f : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x8x10x10xf32>
    tesa.yield %y : tensor<2x8x10x10xf32>
  }
  return %r : tensor<2x8x10x10xf32>
}
