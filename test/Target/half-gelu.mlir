// torch-mlir's f16 GELU compiles for every backend without a division or a
// library erf: the pipelines run --tesa-simplify-float-math (x / sqrt(2)
// as one f32 multiplication) and --tesa-expand-half-erf (erf as an f32
// polynomial, x's sign set by an or), so the kernel's arithmetic has no
// branch.
// RUN: tesa-opt %s --tesa-pipeline="target=nvvm chip=sm_75 format=isa" | FileCheck %s --check-prefix=PTX
// RUN: tesa-opt %s --tesa-pipeline="target=nvvm chip=sm_90 format=isa" | FileCheck %s --check-prefix=PTX
// RUN: tesa-opt %s --tesa-pipeline="target=rocdl chip=gfx906 format=isa" | FileCheck %s --check-prefix=GFX906

// PTX: .entry
// PTX-NOT: div.rn.f32
// PTX-NOT: ex2.approx
// PTX-NOT: bra
// PTX: fma.rn.f32
// PTX-NOT: div.rn.f32
// PTX-NOT: ex2.approx
// PTX-NOT: bra
// PTX: or.b16
// PTX-NOT: div.rn.f32
// PTX-NOT: ex2.approx
// PTX: ret;
// GFX906: gelu
// GFX906-NOT: v_div_scale_f32
// GFX906-NOT: v_exp_f32
// GFX906: v_fma_f32
// GFX906-NOT: v_div_scale_f32
// GFX906-NOT: v_exp_f32
// GFX906: s_endpgm
func.func @gelu(%x: tensor<64x256xf16>) -> tensor<64x256xf16> {
  %one = arith.constant 1.0 : f16
  %two = arith.constant 2.0 : f16
  %half = arith.constant 0.5 : f16
  %e = tensor.empty() : tensor<64x256xf16>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x256xf16>) outs(%e : tensor<64x256xf16>) {
  ^bb0(%in: f16, %out: f16):
    %s = math.sqrt %two : f16
    %q = arith.divf %in, %s : f16
    %f = math.erf %q : f16
    %a = arith.addf %f, %one : f16
    %m = arith.mulf %a, %half : f16
    %r = arith.mulf %in, %m : f16
    linalg.yield %r : f16
  } -> tensor<64x256xf16>
  return %y : tensor<64x256xf16>
}
