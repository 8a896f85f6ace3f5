// RUN: tesa-opt %s --tesa-sparsity-summary -o /dev/null | FileCheck %s
// RUN: tesa-opt %s --tesa-sparsity-summary="include-dense=true" -o /dev/null | FileCheck %s --check-prefix=DENSE
// RUN: tesa-opt %s --tesa-sparsity-summary="remarks=true output=%t" -o /dev/null -verify-diagnostics
// RUN: FileCheck %s < %t

// CHECK: tesa sparsity summary
// CHECK-NEXT: function  value  shape  element  kept     pruned  4b       8b       16b     32b     grid
// CHECK-NEXT: @blocks   %arg0  64x64  f32      50.00%   50.00%  -        25.00%   -       25.00%  2x2 of 32x32
// CHECK-NEXT: @blocks   %0     64x64  f32      100.00%  -       100.00%  -        -       -       1x1 of 64x64
// CHECK-NEXT: @mixed    %arg0  4x4    f16      75.00%   25.00%  -        25.00%   50.00%  -       2x2 of 2x2
// CHECK-NEXT: @mixed    %arg1  ?x8    f32      50.00%   50.00%  -        50.00%   -       -       1x2
// CHECK-NEXT: @pruned   %arg0  16     bf16     0.00%    100.00% -        -        -       -       1 of 16

// DENSE: @blocks  %arg1  16x64  f32  100.00%  -  -  -  -  100.00%  dense
// DENSE: @mixed   %arg2  8      i4   100.00%  -  100.00%  -  -  -  dense

// Remarks are located at each value: block arguments at their own location.
// expected-remark @+1 {{%arg0 'tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>': kept 50.00%, pruned 50.00%, grid 2x2 of 32x32}}
func.func @blocks(%w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>,
                  %x: tensor<16x64xf32>) {
  // expected-remark @+1 {{%0 'tensor<64x64xf32, #tesa.sparsity<bits = 4>>': kept 100.00%, pruned -, grid 1x1 of 64x64}}
  %0 = tesa.annotate %w : tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>> -> tensor<64x64xf32, #tesa.sparsity<bits = 4>>
  return
}

// expected-remark @+1 {{%arg0 'tensor<4x4xf16}}
func.func @mixed(%a: tensor<4x4xf16, #tesa.sparsity<map = dense<[[8, 0], [16, 16]]> : tensor<2x2xi8>>>,
                 // expected-remark @+1 {{%arg1 'tensor<?x8xf32, #tesa.sparsity<map = dense<[[8, 0]]> : tensor<1x2xi8>>>': kept 50.00%, pruned 50.00%, grid 1x2}}
                 %b: tensor<?x8xf32, #tesa.sparsity<map = dense<[[8, 0]]> : tensor<1x2xi8>>>,
                 %c: tensor<8xi4>) {
  return
}

// expected-remark @+1 {{%arg0 'tensor<16xbf16, #tesa.sparsity<bits = 0>>': kept 0.00%, pruned 100.00%, grid 1 of 16}}
func.func @pruned(%a: tensor<16xbf16, #tesa.sparsity<bits = 0>>) {
  return
}
