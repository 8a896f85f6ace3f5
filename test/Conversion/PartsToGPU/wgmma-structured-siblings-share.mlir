// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s

#two_four = #tesa.sparsity<map = dense<[[16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0,16,16,0,0]]> : tensor<1x768xi8>>

// Three 2:4 weights of 768 x 768 times one dense operand of 512 columns (a
// BERT-base layer's Q, K and V projections at 512 tokens). Alone, a part
// would take 64 columns a warpgroup (12 block rows by 4 tiles of 128
// columns give fewer tiles than the 132 multiprocessors) and split its
// walks in three: 288 blocks, 864 for the three. They run as one grid, so
// each is tiled for a third of the multiprocessors (44): the 128-column
// tiles of one warpgroup would split their walks in two, but unsplit tiles
// of two warpgroups of 64 columns (12 block rows by 4 tiles of 128
// columns, 48 blocks) keep more than 7/10 of them busy: 144 blocks of
// 288 threads, no clusters.
// CHECK-LABEL: gpu.func @parts_part0_part1_part2(
// CHECK: wgmma.mma_async.sp.sync.aligned.m64n64k32
// CHECK-NOT: wgmma.mma_async.sp.sync.aligned.m64n128k32
// CHECK-LABEL: func.func @siblings_share(
// CHECK: gpu.launch_func @tesa_kernels::@parts_part0_part1_part2 blocks in (%c144{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c288
func.func @siblings_share(%q: tensor<768x768xf32, #two_four>, %k: tensor<768x768xf32, #two_four>, %v: tensor<768x768xf32, #two_four>,
                          %x: tensor<768x512xf32>, %acc: tensor<768x512xf32>)
    -> (tensor<768x512xf32>, tensor<768x512xf32>, tensor<768x512xf32>) {
  %rq = linalg.matmul ins(%q, %x : tensor<768x768xf32, #two_four>, tensor<768x512xf32>) outs(%acc : tensor<768x512xf32>) -> tensor<768x512xf32>
  %rk = linalg.matmul ins(%k, %x : tensor<768x768xf32, #two_four>, tensor<768x512xf32>) outs(%acc : tensor<768x512xf32>) -> tensor<768x512xf32>
  %rv = linalg.matmul ins(%v, %x : tensor<768x768xf32, #two_four>, tensor<768x512xf32>) outs(%acc : tensor<768x512xf32>) -> tensor<768x512xf32>
  return %rq, %rk, %rv : tensor<768x512xf32>, tensor<768x512xf32>, tensor<768x512xf32>
}
