// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

#two_four = #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x512xi8>>

// Three 2:4 weights of 128 channels by 512 reduction elements (8 steps of
// 64) times one dense operand of 128 columns (a layer's Q, K and V
// projections at 128 tokens): each part's warpgroup kernel takes 2 block
// rows by 2 tiles of 64 columns, its walks split in two (clusters of two
// blocks), 8 blocks. The three run as one kernel of 24 blocks, each block
// running its part's body with the block coordinates of its own launch
// (x = local mod 4, y = local / 4), launched where the last part's was;
// the packed weights are freed after it.
// CHECK-LABEL: gpu.func @parts_part0_part1_part2(
// CHECK: %[[BLOCK:.+]] = gpu.block_id  x
// CHECK: %[[BEFORE_END:.+]] = arith.cmpi ult, %[[BLOCK]], %c8{{.*}} : index
// CHECK: %[[INSIDE0:.+]] = arith.andi %{{.+}}, %[[BEFORE_END]] : i1
// CHECK: scf.if %[[INSIDE0]] {{[{]$}}
// CHECK: memref.get_global @part0_rows
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32
// CHECK: nvvm.cluster.wait {aligned}
// CHECK: arith.cmpi uge, %[[BLOCK]], %c8{{.*}} : index
// CHECK: %[[LOCAL1:.+]] = arith.addi %[[BLOCK]], %c-8{{.*}} : index
// CHECK: arith.remui %[[LOCAL1]], %c4{{.*}} : index
// CHECK: memref.get_global @part1_rows
// CHECK: arith.addi %[[BLOCK]], %c-16{{.*}} : index
// CHECK: memref.get_global @part2_rows
// CHECK-NOT: gpu.func @part0(
// CHECK-NOT: gpu.func @part1(
// CHECK-NOT: gpu.func @part2(
// CHECK-LABEL: func.func @siblings(
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack {{.*}} args(%{{.+}} : memref<128x512xf32>, %[[PACKED0:[^ ]+]] : memref<32768xf16>
// CHECK: gpu.launch_func @tesa_kernels::@part1_pack
// CHECK: gpu.launch_func @tesa_kernels::@part2_pack
// CHECK: gpu.launch_func @tesa_kernels::@parts_part0_part1_part2 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c24{{.*}}, %c1{{.*}}, %c1{{.*}})
// CHECK: memref.dealloc %[[PACKED0]]
func.func @siblings(%q: tensor<128x512xf32, #two_four>, %k: tensor<128x512xf32, #two_four>, %v: tensor<128x512xf32, #two_four>,
                    %x: tensor<512x128xf32>, %acc: tensor<128x128xf32>)
    -> (tensor<128x128xf32>, tensor<128x128xf32>, tensor<128x128xf32>) {
  %rq = linalg.matmul ins(%q, %x : tensor<128x512xf32, #two_four>, tensor<512x128xf32>) outs(%acc : tensor<128x128xf32>) -> tensor<128x128xf32>
  %rk = linalg.matmul ins(%k, %x : tensor<128x512xf32, #two_four>, tensor<512x128xf32>) outs(%acc : tensor<128x128xf32>) -> tensor<128x128xf32>
  %rv = linalg.matmul ins(%v, %x : tensor<128x512xf32, #two_four>, tensor<512x128xf32>) outs(%acc : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %rq, %rk, %rv : tensor<128x128xf32>, tensor<128x128xf32>, tensor<128x128xf32>
}

// -----

// A part that accumulates into the previous one's result (the parts of one
// product) writes what the other writes: they stay two launches.
// CHECK-LABEL: func.func @one_product(
// CHECK: gpu.launch_func @tesa_kernels::@part3 clusters
// CHECK: gpu.launch_func @tesa_kernels::@part4 clusters
func.func @one_product(%q: tensor<128x512xf32, #two_four>, %k: tensor<128x512xf32, #two_four>,
                       %x: tensor<512x128xf32>, %acc: tensor<128x128xf32>)
    -> tensor<128x128xf32> {
  %rq = linalg.matmul ins(%q, %x : tensor<128x512xf32, #two_four>, tensor<512x128xf32>) outs(%acc : tensor<128x128xf32>) -> tensor<128x128xf32>
  %rk = linalg.matmul ins(%k, %x : tensor<128x512xf32, #two_four>, tensor<512x128xf32>) outs(%rq : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %rk : tensor<128x128xf32>
}
