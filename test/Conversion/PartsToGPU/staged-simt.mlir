// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80" | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 staged-simt=false" | FileCheck %s --check-prefix=PLAIN

// A fine-grained f32 part of x @ W that keeps at least eight elements a
// channel in every 32 reduction elements on average (16 here), with 128
// dense columns: the staged SIMT kernel. A block of 256 threads takes 64 channels (8 a warp)
// by 128 columns and walks K in chunks of 32. Each channel's entries inside
// each chunk come from a compile-time table: channel 0 keeps k 0-31 (its
// entries 0-31 all in chunk 0), channel 2 keeps k 32-63 (entries 64-95, all
// in chunk 1).
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_chunk_offsets : memref<12xi32> = dense<[0, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 128]>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[DENSE:[^:]+]]: memref<64x128xf32>, %[[PACKED:[^:]+]]: memref<128xf32>, %[[OUT:[^:]+]]: memref<128x4xf32>)
// CHECK-SAME: workgroup(%[[STAGED:[^ ]+]] : memref<8256xf32, #gpu.address_space<workgroup>>
// The loads of each chunk (its copy, 32 x 128 by 16-byte loads, four a
// thread, and each row's entries inside it) are issued the chunk before,
// so that they are in flight while that one is computed: chunk 0's before
// the loop, which carries the sums (32) and the next chunk's loads.
// CHECK-COUNT-4: vector.load %[[DENSE]]
// CHECK: %[[STATE:.+]]:68 = scf.for %[[CHUNK:[^ ]+]] = %c0{{.*}} to %c2
// After every warp is done with the chunk before, the block stores this
// one, then loads the next.
// CHECK: gpu.barrier
// CHECK-COUNT-4: vector.store %{{.+}}, %[[STAGED]]
// CHECK-COUNT-4: vector.load %[[DENSE]]
// CHECK: gpu.barrier
// Each warp walks entry i of its eight channels at once (eight independent
// chains of products): a lane loaded one entry of each channel, and the
// warp passes their starts in the staged chunk and their weights around.
// A channel with fewer entries reads the row of zeros after the chunk
// (offset 32 x 128) with a zero weight.
// CHECK: scf.for %[[I:[^ ]+]] = %c0{{.*}} to %{{[^ ]+}} step
// CHECK: %[[WALKS:.+]] = arith.cmpi ult, %[[I]]
// CHECK: %[[AT:.+]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[START:[^,]+]], %{{.+}} = gpu.shuffle  idx %{{.+}}, %[[AT]]
// CHECK: arith.select %[[WALKS]], %[[START]], %c4096_i32
// CHECK: %[[WEIGHT:[^,]+]], %{{.+}} = gpu.shuffle  idx
// CHECK: %[[W:.+]] = arith.select %[[WALKS]], %[[WEIGHT]], %cst
// CHECK: %[[INPUTS:.+]] = vector.load %[[STAGED]]
// CHECK: %[[X:.+]] = vector.extract %[[INPUTS]][0]
// CHECK: math.fma %[[W]], %[[X]]
// The sums meet in the buffer and are written in result order (the
// result is [column][channel]: consecutive threads, consecutive channels).
// CHECK: memref.store %[[STATE]]#0, %[[STAGED]]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8192 step %c256
// CHECK: memref.store %{{.+}}, %[[OUT]]
// CHECK-LABEL: func.func @rhs
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
// PLAIN-LABEL: gpu.func @part0(
// PLAIN-NOT: part0_chunk_offsets
// PLAIN-NOT: workgroup(
// PLAIN: math.fma
// PLAIN-LABEL: func.func @rhs
#s = #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>
func.func @rhs(%x: tensor<128x64xf32>, %w: tensor<64x4xf32, #s>, %acc: tensor<128x4xf32>) -> tensor<128x4xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<128x64xf32>, tensor<64x4xf32, #s>) outs(%acc : tensor<128x4xf32>) -> tensor<128x4xf32>
  return %r : tensor<128x4xf32>
}

// -----

// More blocks of columns than a grid has along y (65535): the grid takes
// 65535, and each block walks its own and every 65535th one after it.
// CHECK-LABEL: gpu.func @part0(
// CHECK: %[[FIRST:.+]] = gpu.block_id y
// CHECK: %[[STRIDE:.+]] = gpu.grid_dim y
// CHECK: scf.for %{{.+}} = %[[FIRST]] to %c262148{{.*}} step %[[STRIDE]]
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%c1{{.*}}, %c65535
func.func @wide(%w: tensor<16x16xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                %x: tensor<16x33554944xf32>, %acc: tensor<16x33554944xf32>) -> tensor<16x33554944xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x16xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<16x33554944xf32>)
                     outs(%acc : tensor<16x33554944xf32>) -> tensor<16x33554944xf32>
  return %r : tensor<16x33554944xf32>
}
