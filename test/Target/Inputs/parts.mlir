// A product whose sparse weight has a 16-bit block, an 8-bit block and
// scattered 32-bit elements, for the pipeline tests in test/Target.
func.func @parts(%x: tensor<24x64xf32>,
                 %w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 8]]> : tensor<2x2xi8>>>,
                 %acc: tensor<24x64xf32>) -> tensor<24x64xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<24x64xf32>, tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 8]]> : tensor<2x2xi8>>>)
                     outs(%acc : tensor<24x64xf32>) -> tensor<24x64xf32>
  return %r : tensor<24x64xf32>
}
