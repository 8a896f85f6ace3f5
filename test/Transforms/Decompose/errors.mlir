// RUN: tesa-opt %s -split-input-file --tesa-decompose -verify-diagnostics
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=chip=sm_1 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=plan=dense 2>&1 | FileCheck %s --check-prefix=PLAN
// RUN: not tesa-opt %s -split-input-file --tesa-decompose=block-shape=16 2>&1 | FileCheck %s --check-prefix=SHAPE

// CHIP: error: unknown chip 'sm_1'; known chips: sm_75, sm_80, sm_86, sm_89, sm_90, gfx906
// PLAN: for the --plan option: Cannot find option named 'dense'!
// SHAPE: error: block-shape '16' is not <channels>x<reduction> with positive sizes

// f16 parts are kept blocks of whole 32x32 tiles (computed on the
// contraction family), 2:4 structured blocks, or one fine-grained part where
// it pays (f16-fine.mlir); a plan of anything else stays dense. Half of this
// weight kept is too many for a fine-grained part.
func.func @f16_fine(%x: tensor<4x8xf16>, %w: tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf16>) -> tensor<4x4xf16> {
  // expected-remark @below {{sparse f16 product not decomposed: one fine-grained 16-bit part pays only over at most 64 dense columns keeping at most 2% of the elements; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf16>, tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %r : tensor<4x4xf16>
}

// -----

func.func @f16_into_f32_fine(%x: tensor<4x8xf16>, %w: tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @below {{sparse f16 product not decomposed: one fine-grained 16-bit part pays only over at most 64 dense columns keeping at most 2% of the elements; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf16>, tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @mixed_operands(%x: tensor<4x8xf32>, %w: tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @below {{sparse product not decomposed: its operands mix f32 and f16; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf16, #tesa.sparsity<map = dense<[[16], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @f32_into_f16(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf16>) -> tensor<4x4xf16> {
  // expected-remark @below {{sparse product not decomposed: its operands mix f32 and f16; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %r : tensor<4x4xf16>
}

// -----

func.func @f64_elements(%x: tensor<4x8xf64>, %w: tensor<8x4xf64, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, %acc: tensor<4x4xf64>) -> tensor<4x4xf64> {
  // expected-remark @below {{sparse product not decomposed: element type f64 is neither f32 nor f16; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<4x8xf64>, tensor<8x4xf64, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<4x4xf64>) -> tensor<4x4xf64>
  return %r : tensor<4x4xf64>
}

// -----

func.func @dynamic(%x: tensor<?x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>, %acc: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-remark @below {{sparse product not decomposed: its shapes are dynamic; it is computed densely}}
  %r = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) outs(%acc : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}
