// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s
// RUN: tesa-opt %s --tesa-decompose="chip=sm_80 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=MMA

// An f16 program's product (x @ W, f16 operands and result) whose W is 2:4
// along the reduction, elements 0-1 of every four kept in the first 64
// columns and 2-3 in the others: one structured part of 64x64 blocks. The
// pack kernel reads the f16 weight (extended exactly) and the compute
// kernel writes the f16 result (the f32 sum, rounded once). On sm_90's
// warpgroup kernel the dense x is [column][k] in f16 already, 128 deep (no
// padding): TMA reads it in place, with no copy; the result is stored in
// runs of eight channels. On sm_80 the mma.sp
// kernels read a copy in their fragments' order, made from the f16 x.
// CHECK: memref.global "private" constant @part1_packed : memref<8192xf16> = dense<1.500000e+00>
// CHECK-LABEL: gpu.func @part0_pack(
// CHECK-SAME: %[[SOURCE:[^:]+]]: memref<128x128xf16>
// CHECK: %[[VALUE:.+]] = memref.load %[[SOURCE]]
// CHECK: arith.extf %[[VALUE]] : f16 to f32
// CHECK-NOT: gpu.func @part0_convert_dense
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: memref<256x128xf16>, %{{[^:]+}}: memref<8192xf16>, %[[OUT:[^:]+]]: memref<256x128xf16>
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async.sp
// Once the products are complete the f32 sums go to shared memory (the
// rings' space) and come back as runs of eight channels of one column,
// each stored as 16 bytes: channels are the result's contiguous dimension.
// CHECK: nvvm.barrier id = %{{.+}} number_of_threads = %c128_i32
// CHECK: llvm.store %{{.+}}, %{{.+}} : f32, !llvm.ptr<3>
// CHECK: nvvm.bar.warp.sync
// CHECK: %[[FOUR:.+]] = llvm.load %{{.+}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xf32>
// CHECK: %[[SUM:.+]] = llvm.extractelement %[[FOUR]]
// CHECK: %[[TOTAL:.+]] = arith.addf %{{.+}}, %[[SUM]] : f32
// CHECK: %[[ROUNDED:.+]] = arith.truncf %[[TOTAL]] : f32 to f16
// CHECK: %[[STORED:.+]] = vector.from_elements %[[ROUNDED]], {{.+}} : vector<8xf16>
// CHECK: vector.store %[[STORED]], %[[OUT]][{{.+}}] {alignment = 16 : i64} : memref<256x128xf16>, vector<8xf16>
// CHECK-NOT: memref.store %{{.+}}, %[[OUT]]
// CHECK-NOT: gpu.func @part1_pack(
// CHECK-LABEL: gpu.func @part1(
// CHECK-LABEL: gpu.func @part2_pack(
// CHECK-LABEL: gpu.func @part2(
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async.sp
// CHECK-LABEL: gpu.func @part3(
// CHECK-SAME: %[[OUT:[^:]+]]: memref<256x128xf16>, %[[BIAS:[^:]+]]: memref<128xf16>
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async.sp
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[INIT:.+]] = memref.load %[[BIAS]]
// CHECK: %[[WIDE:.+]] = arith.extf %[[INIT]] : f16 to f32
// CHECK: %[[SUM:.+]] = arith.addf %[[WIDE]], %{{.+}} : f32
// CHECK: %[[ROUNDED:.+]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK: %[[STORED:.+]] = vector.from_elements %[[ROUNDED]], {{.+}} : vector<8xf16>
// CHECK: vector.store %[[STORED]], %[[OUT]]
// CHECK-LABEL: func.func @f16_structured(
// CHECK-SAME: %[[X:[^:]+]]: tensor<256x128xf16>
// CHECK: %[[X_BUFFER:.+]] = bufferization.to_buffer %[[X]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.*}} args(%[[X_BUFFER]] : memref<256x128xf16>
// MMA-LABEL: gpu.func @part0_convert_dense(
// MMA-SAME: %[[DENSE:[^:]+]]: memref<256x128xf16>, %{{[^:]+}}: memref<256x4x32xf16>
// MMA: %[[ELEMENT:.+]] = memref.load %[[DENSE]]
// MMA: arith.extf %[[ELEMENT]] : f16 to f32
// MMA-LABEL: gpu.func @part0(
// MMA-SAME: memref<256x4x32xf16>, %{{[^:]+}}: memref<8192xf16>, %[[OUT:[^:]+]]: memref<256x128xf16>
// MMA: nvvm.mma.sp.sync
// MMA: %[[SUM:.+]] = arith.truncf %{{.+}} : f32 to f16
// MMA: memref.store %[[SUM]], %[[OUT]]
func.func @f16_structured(%x: tensor<256x128xf16>, %w: tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) -> tensor<256x128xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<256x128xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<256x128xf16>) -> tensor<256x128xf16>
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf16>, tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) outs(%acc : tensor<256x128xf16>) -> tensor<256x128xf16>
  return %r : tensor<256x128xf16>
}

// A constant f16 weight (@part1) is packed at compile time (the global at
// the top): no pack kernel.
// CHECK-LABEL: func.func @f16_structured_constant(
// CHECK: %[[PACKED:.+]] = memref.get_global @part1_packed : memref<8192xf16>
// CHECK: gpu.launch_func @tesa_kernels::@part1 {{.*}}, %[[PACKED]] : memref<8192xf16>
func.func @f16_structured_constant(%x: tensor<256x128xf16>) -> tensor<256x128xf16> {
  %w = arith.constant dense<1.5> : tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<256x128xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<256x128xf16>) -> tensor<256x128xf16>
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf16>, tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) outs(%acc : tensor<256x128xf16>) -> tensor<256x128xf16>
  return %r : tensor<256x128xf16>
}

// Whole rows of W pruned (elements 0-1 of every four kept in every
// column): a structured part on sparse tensor cores (@part2 above: the pack
// kernel and wgmma.sp), not the dense product over the kept rows, which
// would multiply on FMA tiles.
// CHECK-LABEL: func.func @f16_structured_whole_rows(
// CHECK: gpu.launch_func @tesa_kernels::@part2_pack
// CHECK: gpu.launch_func @tesa_kernels::@part2
func.func @f16_structured_whole_rows(%x: tensor<256x128xf16>, %w: tensor<128x128xf16, #tesa.sparsity<map = dense<[[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0]]> : tensor<128x1xi8>>>) -> tensor<256x128xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<256x128xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<256x128xf16>) -> tensor<256x128xf16>
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf16>, tensor<128x128xf16, #tesa.sparsity<map = dense<[[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0],[16],[16],[0],[0]]> : tensor<128x1xi8>>>) outs(%acc : tensor<256x128xf16>) -> tensor<256x128xf16>
  return %r : tensor<256x128xf16>
}

// An f16 bias broadcast into the accumulator (an f16 Linear's): @part3
// above reads it (extended exactly) in place of the result and rounds the
// sum once; nothing is copied.
// CHECK-LABEL: func.func @f16_structured_bias(
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<128xf16>
// CHECK-NOT: memref.copy
// CHECK: %[[BIAS_BUFFER:.+]] = bufferization.to_buffer %[[B]]
// CHECK: gpu.launch_func @tesa_kernels::@part3 {{.*}}, %[[BIAS_BUFFER]] : memref<128xf16>
func.func @f16_structured_bias(%x: tensor<256x128xf16>, %w: tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>, %b: tensor<128xf16>) -> tensor<256x128xf16> {
  %e = tensor.empty() : tensor<256x128xf16>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<128xf16>) outs(%e : tensor<256x128xf16>) {
  ^bb0(%in: f16, %out: f16):
    linalg.yield %in : f16
  } -> tensor<256x128xf16>
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf16>, tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) outs(%acc : tensor<256x128xf16>) -> tensor<256x128xf16>
  return %r : tensor<256x128xf16>
}
