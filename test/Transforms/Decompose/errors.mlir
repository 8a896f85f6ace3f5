// RUN: tesa-opt %s -split-input-file --tesa-decompose -verify-diagnostics
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=chip=sm_1 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=plan=dense 2>&1 | FileCheck %s --check-prefix=PLAN
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=block-shape=16 2>&1 | FileCheck %s --check-prefix=SHAPE

// CHIP: error: unknown chip 'sm_1'; known chips: sm_75, sm_80, sm_86, sm_89, sm_90, gfx906
// PLAN: error: unknown plan 'dense'; expected auto, fine, block or structured
// SHAPE: error: block-shape '16' is not <channels>x<reduction> with positive sizes

func.func @f16_elements(%x: tensor<4x8xf16>, %w: tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf16>) -> tensor<4x4xf16> {
  // expected-remark @below {{sparse product not decomposed: element type f16 is not f32; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf16>, tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %r : tensor<4x4xf16>
}

// -----

func.func @dynamic(%x: tensor<?x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, %acc: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-remark @below {{sparse product not decomposed: its shapes are dynamic; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}
