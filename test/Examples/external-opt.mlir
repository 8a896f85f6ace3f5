// The external project built against the installed Tesa package parses the
// encoding and runs a tesa pass.
// RUN: %external_opt %s --tesa-sparsity-summary -o /dev/null | FileCheck %s
// RUN: %external_opt %s | FileCheck %s --check-prefix=IR

// CHECK: tesa sparsity summary
// CHECK: @layer  %arg1  64x64  f32  25.00%  75.00%  -  -  -  25.00%  2x2 of 32x32

// IR-LABEL: func.func @layer
// IR-SAME: #tesa.sparsity<map = dense<{{\[\[}}32, 0], [0, 0]]> : tensor<2x2xi8>>
func.func @layer(%x: tensor<8x64xf32>,
                 %w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 0]]> : tensor<2x2xi8>>>)
    -> tensor<8x64xf32> {
  return %x : tensor<8x64xf32>
}
