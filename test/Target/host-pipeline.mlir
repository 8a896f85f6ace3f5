// The GPU pipeline with its kernels run on the host: kernel regions and the
// generic path as generated for a chip, every launch as loops over blocks
// and threads, the whole program lowered for the host.
// RUN: tesa-opt %s -split-input-file --tesa-host-pipeline="chip=sm_80" -verify-diagnostics | FileCheck %s

// The scores' FMA tile and the softmax's row reduction: their workgroup
// memory as host buffers, the shuffles' operands kept per thread.
// CHECK-LABEL: llvm.func @scores
// CHECK: llvm.call @malloc
// CHECK: llvm.intr.fma
// CHECK: llvm.intr.exp
// CHECK-NOT: gpu.
// CHECK-NOT: nvvm.
func.func @scores(%q: tensor<64x32xf32>, %k: tensor<32x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %s = linalg.matmul ins(%q, %k : tensor<64x32xf32>, tensor<32x64xf32>) outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %p : tensor<64x64xf32>
}
