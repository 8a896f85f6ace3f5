// RUN: tesa-opt %s --split-input-file --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

// The two parts of x @ W (32-bit and 8-bit, 4 result rows) in one launch:
// each part keeps its pack kernel; the compute kernel stages x (4 columns
// of 8, rows padded to 12 floats for 16-byte loads), finds one scale per
// column and its inverse, quantises the staged columns once into an int8
// copy, walks both work lists (four reduction elements an entry, the
// 32-bit part's blocks filling them; each channel's list padded to whole
// steps of the 64 threads that share it, one entry a thread) with FMA over
// one vector load of staged inputs and with dp4a over one word of the int8
// copy, adds up the threads' sums and applies the ReLU epilogue before the
// one store. The accumulator is a zero fill (seen through an annotation):
// no kernel fills it, copies it or quantises x.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @product0_part0_offsets : memref<17xi32> = dense<[0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024]>
// CHECK-DAG: memref.global "private" constant @product0_part1_offsets : memref<17xi32> = dense<[0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024]>
// CHECK-LABEL: gpu.func @product0_part0_pack(
// CHECK-LABEL: gpu.func @product0_part1_pack(
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<4x8xf32>, %[[P0:[a-z0-9]+]]: memref<4096xf32>, %[[P1:[a-z0-9]+]]: memref<4096xi8>, %[[S1:[a-z0-9]+]]: memref<16xf32>, %[[OUT:[a-z0-9]+]]: memref<4x16xf32>)
// CHECK-SAME: workgroup(%[[STAGED:[a-z0-9]+]] : memref<4x12xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[STAGED8:[a-z0-9]+]] : memref<4x12xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SCALES:[a-z0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[INVERSES:[a-z0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[PARTIALS:[a-z0-9]+]] : memref<256xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// The first step of both walks is loaded before x is staged: eight loads
// of four elements a thread, then their stores.
// CHECK: vector.load %[[P0]]{{.*}} : memref<4096xf32>, vector<4xf32>
// CHECK: vector.load %[[P1]]{{.*}} : memref<4096xi8>, vector<4xi8>
// CHECK-COUNT-8: vector.load %[[X]]{{.*}} : memref<4x8xf32>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %[[STAGED]]{{.*}} : memref<4x12xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: gpu.barrier
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[SCALES]]
// CHECK: memref.store %{{.*}}, %[[INVERSES]]
// CHECK: gpu.barrier
// CHECK: %[[INVERSE:.*]] = memref.load %[[INVERSES]]
// CHECK: arith.mulf %{{.*}}, %[[INVERSE]]
// CHECK: math.roundeven
// CHECK: vector.store %{{.*}}, %[[STAGED8]]{{.*}} : memref<4x12xi8, #gpu.address_space<workgroup>>, vector<4xi8>
// CHECK: gpu.barrier
// CHECK: %[[X0:.*]] = vector.load %[[STAGED]]{{.*}} : memref<4x12xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: %[[X00:.*]] = vector.extract %[[X0]][0]
// CHECK: math.fma %{{.*}}, %[[X00]]
// CHECK: scf.for
// CHECK: %[[X1:.*]] = vector.load %[[STAGED8]]{{.*}} : memref<4x12xi8, #gpu.address_space<workgroup>>, vector<4xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <signed>, %[[X1]] <signed>
// CHECK: scf.for
// CHECK: memref.load %[[S1]]
// CHECK: memref.load %[[SCALES]]
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
  %a = tesa.part_matmul block %x, %p0, %za {bits = 32 : i64, block = array<i64: 8, 8>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p0>, tensor<4x16xf32, #tesa.sparsity<bits = 16>> -> tensor<4x16xf32>
  %p1 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p1>
  %r = tesa.part_matmul block %x, %p1, %a {bits = 8 : i64, block = array<i64: 8, 8>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p1>, tensor<4x16xf32> -> tensor<4x16xf32> epilogue {
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
// rows), stages x transposed and rounded to f16 for the 16-bit part, and
// reads four f16 inputs a load.
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<8x4xf32>, %[[ACC:[a-z0-9]+]]: memref<16x4xf32>, %{{[a-z0-9]+}}: memref<4096xf32>, %[[P1:[a-z0-9]+]]: memref<4096xf16>, %[[OUT:[a-z0-9]+]]: memref<16x4xf32>)
// CHECK-SAME: workgroup(%{{[a-z0-9]+}} : memref<4x12xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[HALF:[a-z0-9]+]] : memref<4x12xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// CHECK: vector.load %[[P1]]{{.*}} : memref<4096xf16>, vector<4xf16>
// CHECK: %[[X1:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[X1]], %[[HALF]]
// CHECK: gpu.barrier
// CHECK: %[[XH:.*]] = vector.load %[[HALF]]{{.*}} : memref<4x12xf16, #gpu.address_space<workgroup>>, vector<4xf16>
// CHECK: %[[XH0:.*]] = vector.extract %[[XH]][0]
// CHECK: %[[W1F:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[X1F:.*]] = arith.extf %[[XH0]] : f16 to f32
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
  %a = tesa.part_matmul fine %p0, %x, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 0 : i64} : tensor<16x8xf32, #p0>, tensor<8x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  %p1 = tesa.extract_part %w : tensor<16x8xf32, #w> -> tensor<16x8xf32, #p1>
  %r = tesa.part_matmul fine %p1, %x, %a {bits = 16 : i64, block = array<i64>, sparse_operand = 0 : i64} : tensor<16x8xf32, #p1>, tensor<8x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  return %r : tensor<16x4xf32>
}

// -----

// A 32-bit part that keeps one element in four of the reduction keeps
// entries of one element (four would multiply mostly zeros): one f32 weight
// and one staged input a load, rows of the reduction, a zero group and
// one float more.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @product0_part0_entries : memref<1024xi32>
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<4x8xf32>, %{{[a-z0-9]+}}: memref<4x16xf32>, %[[P0:[a-z0-9]+]]: memref<1024xf32>
// CHECK-SAME: workgroup(%[[STAGED:[a-z0-9]+]] : memref<4x13xf32, #gpu.address_space<workgroup>>
// CHECK: memref.load %[[P0]]
// The barriers after staging, the scales and the int8 copy.
// CHECK-COUNT-3: gpu.barrier
// CHECK: %[[X0:.*]] = memref.load %[[STAGED]]
// CHECK: math.fma %{{.*}}, %[[X0]]
// CHECK-LABEL: func.func @sparse_float_part
#w = #tesa.sparsity<map = dense<[[32], [8], [8], [0], [32], [0], [0], [0]]> : tensor<8x1xi8>>
#p0 = #tesa.sparsity<map = dense<[[32], [0], [0], [0], [32], [0], [0], [0]]> : tensor<8x1xi8>>
#p1 = #tesa.sparsity<map = dense<[[0], [8], [8], [0], [0], [0], [0], [0]]> : tensor<8x1xi8>>
func.func @sparse_float_part(%x: tensor<4x8xf32>, %w: tensor<8x16xf32, #w>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %p0 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p0>
  %a = tesa.part_matmul fine %x, %p0, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p0>, tensor<4x16xf32> -> tensor<4x16xf32>
  %p1 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p1>
  %r = tesa.part_matmul fine %x, %p1, %a {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #p1>, tensor<4x16xf32> -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// With a long reduction, a block reads fewer int8 inputs than an int8 copy
// of x would hold: the int8 part quantises each input as it reads it, by
// the inverse of its column's scale, and no copy is staged.
// CHECK-LABEL: gpu.func @product0(
// CHECK-SAME: workgroup(%[[STAGED:[a-z0-9]+]] : memref<4x260xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SCALES:[a-z0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[INVERSES:[a-z0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{[a-z0-9]+}} : memref<256xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-COUNT-2: gpu.barrier
// CHECK: %[[INVERSE:.*]] = memref.load %[[INVERSES]]
// CHECK: %[[X:.*]] = memref.load %[[STAGED]]
// CHECK: %[[SCALED:.*]] = arith.mulf %[[X]], %[[INVERSE]]
// CHECK: math.roundeven
// CHECK: %[[INPUTS:.*]] = vector.from_elements {{.*}} : vector<4xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <signed>, %[[INPUTS]] <signed>
// CHECK-LABEL: func.func @quantise_as_read
#w = #tesa.sparsity<map = dense<[[8], [32]]> : tensor<2x1xi8>>
#p0 = #tesa.sparsity<map = dense<[[8], [0]]> : tensor<2x1xi8>>
#p1 = #tesa.sparsity<map = dense<[[0], [32]]> : tensor<2x1xi8>>
func.func @quantise_as_read(%x: tensor<4x256xf32>, %w: tensor<256x16xf32, #w>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %p0 = tesa.extract_part %w : tensor<256x16xf32, #w> -> tensor<256x16xf32, #p0>
  %a = tesa.part_matmul fine %x, %p0, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x256xf32>, tensor<256x16xf32, #p0>, tensor<4x16xf32> -> tensor<4x16xf32>
  %p1 = tesa.extract_part %w : tensor<256x16xf32, #w> -> tensor<256x16xf32, #p1>
  %r = tesa.part_matmul fine %x, %p1, %a {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x256xf32>, tensor<256x16xf32, #p1>, tensor<4x16xf32> -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// One 32-bit part is not a decode product: it keeps its own kernel.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-NOT: @product0
// CHECK: gpu.func @part0(
#w = #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>
func.func @one_float_part(%x: tensor<4x8xf32>, %w: tensor<8x16xf32, #w>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %p = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #w>
  %r = tesa.part_matmul fine %x, %p, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x16xf32, #w>, tensor<4x16xf32> -> tensor<4x16xf32>
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
  %a = tesa.part_matmul fine %x, %p0, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<65x8xf32>, tensor<8x16xf32, #p0>, tensor<65x16xf32> -> tensor<65x16xf32>
  %p1 = tesa.extract_part %w : tensor<8x16xf32, #w> -> tensor<8x16xf32, #p1>
  %r = tesa.part_matmul fine %x, %p1, %a {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<65x8xf32>, tensor<8x16xf32, #p1>, tensor<65x16xf32> -> tensor<65x16xf32>
  return %r : tensor<65x16xf32>
}
