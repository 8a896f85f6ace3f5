// Kernel regions compile for every backend: the contraction family's FMA
// and vector loads from workgroup memory (32x32 tiles, runs of two here),
// the row reduction's shuffles.
// RUN: tesa-opt %s --tesa-pipeline="target=nvvm chip=sm_75 format=isa" | FileCheck %s --check-prefix=SM75
// RUN: tesa-opt %s --tesa-pipeline="target=nvvm chip=sm_90 format=isa" | FileCheck %s --check-prefix=SM90
// RUN: tesa-opt %s --tesa-pipeline="target=rocdl chip=gfx906 format=isa" | FileCheck %s --check-prefix=GFX906

// SM75: .entry contraction0
// SM75: ld.shared.v2.b32
// SM75: fma.rn.f32
// SM75: .entry row_reduction1
// SM75: shfl.sync.bfly.b32
// SM90: .target sm_90
// SM90: .entry contraction0
// SM90: fma.rn.f32
// GFX906: contraction0:
// GFX906: v_fmac_f32
// GFX906: row_reduction1:
// GFX906: ds_bpermute_b32
func.func @scores(%q: tensor<64x32xf32>, %k: tensor<32x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %s = linalg.matmul ins(%q, %k : tensor<64x32xf32>, tensor<32x64xf32>) outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %p : tensor<64x64xf32>
}
