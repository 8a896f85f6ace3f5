// RUN: tesa-opt %s --tesa-decompose="chip=sm_90 plan=structured block-shape=64x64" --tesa-lower-parts-to-gpu="chip=sm_90 structured-tiling=64,1,1,2,0" | FileCheck %s

// An f16 program's 2:4 product (see f16-structured.mlir) given 64 columns
// a warpgroup and walks split in two: after its walk each block of a
// cluster of two writes its f32 sums where its rings were; past the
// cluster barrier it adds up its share (the accumulators of its slice's
// parity) over the cluster through distributed shared memory into
// registers; past a second barrier, when no block reads the others' sums
// any more, it writes its share where its own sums were, column by
// column, and reads it back as runs of eight channels of one column, each
// stored as 16 bytes.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: memref<256x128xf16>, %{{[^:]+}}: memref<8192xf16>, %[[OUT:[^:]+]]: memref<256x128xf16>
// CHECK: %[[BLOCK:.+]] = gpu.block_id  x
// CHECK: %[[SLICE:.+]] = arith.remui %[[BLOCK]], %c2{{.*}} : index
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async.sp
// CHECK: llvm.store %{{.+}}, %{{.+}} : f32, !llvm.ptr<3>
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK: %[[SHARE:.+]]:16 = scf.if %{{.+}} -> (f32,
// CHECK: nvvm.mapa %{{.+}}, %c1_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: llvm.load %{{.+}} : !llvm.ptr<7> -> f32
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// The share's words start at the slice's accumulator's (its parity: 20
// words, a column, further).
// CHECK: %[[PARITY:.+]] = arith.remui %[[SLICE]], %c2{{.*}} : index
// CHECK: arith.muli %[[PARITY]], %c20{{.*}} : index
// CHECK: llvm.store %[[SHARE]]#0, %{{.+}} : f32, !llvm.ptr<3>
// CHECK: llvm.store %[[SHARE]]#15, %{{.+}} : f32, !llvm.ptr<3>
// CHECK: nvvm.bar.warp.sync
// CHECK: llvm.load %{{.+}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xf32>
// CHECK: vector.store %{{.+}}, %[[OUT]][{{.+}}] {alignment = 16 : i64} : memref<256x128xf16>, vector<8xf16>
// CHECK: vector.store %{{.+}}, %[[OUT]][{{.+}}] {alignment = 16 : i64} : memref<256x128xf16>, vector<8xf16>
// CHECK-NOT: memref.store %{{.+}}, %[[OUT]]
// CHECK: gpu.return
// CHECK-LABEL: func.func @f16_structured_split(
// CHECK: gpu.launch_func @tesa_kernels::@part0 clusters in (%c2{{.*}}, %c1{{.*}}, %c1{{.*}}) blocks in (%c4{{.*}}, %c4{{.*}}, %c1{{.*}})
func.func @f16_structured_split(%x: tensor<256x128xf16>, %w: tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) -> tensor<256x128xf16> {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<256x128xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%e : tensor<256x128xf16>) -> tensor<256x128xf16>
  %r = linalg.matmul ins(%x, %w : tensor<256x128xf16>, tensor<128x128xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16]]> : tensor<128x2xi8>>>) outs(%acc : tensor<256x128xf16>) -> tensor<256x128xf16>
  return %r : tensor<256x128xf16>
}
