// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

// The two parts of x @ W (32-bit and 8-bit, 4 result rows) in one launch:
// each part keeps its pack kernel, the compute kernel stages x (4 columns
// of 8, rows padded to 9 floats), finds one scale per column, walks both
// work lists (four entries a step) with FMA and with dp4a over the staged
// inputs quantised as they are read, adds up the threads' sums and applies
// the ReLU epilogue before the one store. The accumulator is a zero fill
// (seen through an annotation): no kernel fills it, copies it or quantises
// x.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @product0_part0_offsets : memref<17xi32> = dense<[0, 8, 16, 24, 32, 40, 48, 56, 64, 64, 64, 64, 64, 64, 64, 64, 64]>
// CHECK-DAG: memref.global "private" constant @product0_part1_offsets : memref<17xi32> = dense<[0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 8, 10, 12, 14, 16]>
// CHECK-LABEL: gpu.func @product0_part0_pack(
// CHECK-LABEL: gpu.func @product0_part1_pack(
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<4x8xf32>, %[[P0:[a-z0-9]+]]: memref<64xf32>, %[[P1:[a-z0-9]+]]: memref<64xi8>, %[[S1:[a-z0-9]+]]: memref<16xf32>, %[[OUT:[a-z0-9]+]]: memref<4x16xf32>)
// CHECK-SAME: workgroup(%[[STAGED:[a-z0-9]+]] : memref<4x9xf32, #gpu.address_space<workgroup>>, %[[PARTIALS:[a-z0-9]+]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[SCALES:[a-z0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>>)
// The first step of both walks (four entries each) is loaded before x is
// staged: eight loads of four elements a thread, then their stores.
// CHECK-COUNT-4: memref.load %[[P0]]
// CHECK-COUNT-4: vector.load %[[P1]]
// CHECK-COUNT-8: vector.load %[[X]]{{.*}} : memref<4x8xf32>, vector<4xf32>
// CHECK: %[[XV:.*]] = vector.extract
// CHECK: memref.store %[[XV]], %[[STAGED]]
// CHECK: gpu.barrier
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[SCALES]]
// CHECK: gpu.barrier
// CHECK: %[[X0:.*]] = memref.load %[[STAGED]]
// CHECK: math.fma %{{.*}}, %[[X0]]
// CHECK: scf.for
// CHECK: %[[SCALE:.*]] = memref.load %[[SCALES]]
// CHECK: arith.divf %{{.*}}, %[[SCALE]]
// CHECK: math.roundeven
// CHECK: %[[X1:.*]] = vector.from_elements {{.*}} : vector<4xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <signed>, %[[X1]] <signed>
// CHECK: scf.for
// CHECK: memref.load %[[S1]]
// CHECK: memref.store %{{.*}}, %[[PARTIALS]]
// CHECK: %[[SUM:.*]] = arith.addf %cst{{.*}}, %{{.*}} : f32
// CHECK: %[[RELU:.*]] = arith.maximumf %[[SUM]]
// CHECK: memref.store %[[RELU]], %[[OUT]]
// CHECK-LABEL: func.func @mixed
// CHECK-NOT: linalg.fill
// CHECK-NOT: tesa.annotate
// CHECK-NOT: quantise_dense
// CHECK-NOT: memref.copy
// CHECK: gpu.launch_func @tesa_kernels::@product0_part0_pack
// CHECK: gpu.launch_func @tesa_kernels::@product0_part1_pack
// CHECK: gpu.launch_func @tesa_kernels::@product0 blocks in (%c16{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256
// CHECK-NOT: gpu.launch_func
#w = #tesa.sparsity<map = dense<[[32, 8]]> : tensor<1x2xi8>>
#p0 = #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>
#p1 = #tesa.sparsity<map = dense<[[0, 8]]> : tensor<1x2xi8>>
func.func @mixed(%x: tensor<4x8xf32>, %w: tensor<8x16xf32, #w>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %za = tesa.annotate %z : tensor<4x16xf32> -> tensor<4x16xf32, #tesa.sparsity<bits = 16>>
  %p0 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p0>
  %a = tesa.part_matmul %x, %p0, %za {bits = 32 : i64, block = array<i64: 8, 8>, kernel = "block", sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p0>, tensor<4x16xf32, #tesa.sparsity<bits = 16>> -> tensor<4x16xf32>
  %p1 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p1>
  %r = tesa.part_matmul %x, %p1, %a {bits = 8 : i64, block = array<i64: 8, 8>, kernel = "block", sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p1>, tensor<4x16xf32> -> tensor<4x16xf32> epilogue {
  ^bb0(%v: f32):
    %c0 = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %c0 : f32
    tesa.yield %m : f32
  }
  return %r : tensor<4x16xf32>
}

// -----

// W @ x with a sparse lhs, 32- and 16-bit parts, accumulating into an
// argument: the kernel reads the accumulator (W's channels are the result's
// rows) and rounds the staged x to f16 for the 16-bit part.
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<8x4xf32>, %[[ACC:[a-z0-9]+]]: memref<16x4xf32>, %{{[a-z0-9]+}}: memref<64xf32>, %[[P1:[a-z0-9]+]]: memref<64xf16>, %[[OUT:[a-z0-9]+]]: memref<16x4xf32>)
// CHECK: %[[W1:.*]] = memref.load %[[P1]]
// CHECK: %[[X1:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: %[[W1F:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[X1F:.*]] = arith.extf %[[X1]] : f16 to f32
// CHECK: math.fma %[[W1F]], %[[X1F]]
// CHECK: %[[OLD:.*]] = memref.load %[[ACC]][%[[CHANNEL:.*]], %[[COLUMN:.*]]] : memref<16x4xf32>
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]]
// CHECK: memref.store %[[NEW]], %[[OUT]][%[[CHANNEL]], %[[COLUMN]]]
// CHECK-LABEL: func.func @lhs_with_acc
// CHECK: gpu.launch_func @tesa_kernels::@product0 blocks in (%c16
#w = #tesa.sparsity<map = dense<[[32], [16]]> : tensor<2x1xi8>>
#p0 = #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>
#p1 = #tesa.sparsity<map = dense<[[0], [16]]> : tensor<2x1xi8>>
func.func @lhs_with_acc(%w: tensor<16x8xf32, #w>, %x: tensor<8x4xf32>, %acc: tensor<16x4xf32>) -> tensor<16x4xf32> {
  %p0 = tesa.extract_part %w : tensor<16x8xf32, #w> -> tensor<16x8xf32, #p0>
  %a = tesa.part_matmul %p0, %x, %acc {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 0 : i64} : tensor<16x8xf32, #p0>, tensor<8x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  %p1 = tesa.extract_part %w : tensor<16x8xf32, #w> -> tensor<16x8xf32, #p1>
  %r = tesa.part_matmul %p1, %x, %a {bits = 16 : i64, block = array<i64>, kernel = "fine", sparse_operand = 0 : i64} : tensor<16x8xf32, #p1>, tensor<8x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  return %r : tensor<16x4xf32>
}

// -----

// One 32-bit part is not a decode product: it keeps its own kernel.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-NOT: @product0
// CHECK: gpu.func @part0(
#w = #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>
func.func @one_float_part(%x: tensor<4x8xf32>, %w: tensor<8x16xf32, #w>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %p = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #w>
  %r = tesa.part_matmul %x, %p, %acc {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #w>, tensor<4x16xf32> -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// 65 result rows are more than a decode product takes: one launch per part,
// the int8 one after its quantisation kernel.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-NOT: @product0
// CHECK-LABEL: func.func @too_many_columns
// CHECK: gpu.launch_func @tesa_kernels::@part0
// CHECK: gpu.launch_func @tesa_kernels::@part1_quantise_dense
// CHECK: gpu.launch_func @tesa_kernels::@part1
#w = #tesa.sparsity<map = dense<[[32, 8]]> : tensor<1x2xi8>>
#p0 = #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>
#p1 = #tesa.sparsity<map = dense<[[0, 8]]> : tensor<1x2xi8>>
func.func @too_many_columns(%x: tensor<65x8xf32>, %w: tensor<8x16xf32, #w>, %acc: tensor<65x16xf32>) -> tensor<65x16xf32> {
  %p0 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p0>
  %a = tesa.part_matmul %x, %p0, %acc {bits = 32 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : tensor<65x8xf32>, tensor<8x16xf32, #p0>, tensor<65x16xf32> -> tensor<65x16xf32>
  %p1 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p1>
  %r = tesa.part_matmul %x, %p1, %a {bits = 8 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : tensor<65x8xf32>, tensor<8x16xf32, #p1>, tensor<65x16xf32> -> tensor<65x16xf32>
  return %r : tensor<65x16xf32>
}
