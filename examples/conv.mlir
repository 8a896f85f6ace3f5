// A 3x3 convolution whose filter has half of its output channels pruned
// and the rest quantised to int8. Regenerate with examples/make_examples.py.
func.func @conv(%img: tensor<1x32x32x16xf32>, %filter: tensor<3x3x16x32xf32, #tesa.sparsity<map = dense<[[[[0, 0, 0, 8, 8, 0, 8, 0, 0, 8, 8, 8, 8, 8, 0, 0, 0, 0, 0, 0, 8, 8, 0, 8, 8, 0, 8, 0, 0, 0, 8, 8]]]]> : tensor<1x1x1x32xi8>>>) -> tensor<1x30x30x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x30x30x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x30x30x32xf32>) -> tensor<1x30x30x32xf32>
  %y = linalg.conv_2d_nhwc_hwcf ins(%img, %filter : tensor<1x32x32x16xf32>, tensor<3x3x16x32xf32, #tesa.sparsity<map = dense<[[[[0, 0, 0, 8, 8, 0, 8, 0, 0, 8, 8, 8, 8, 8, 0, 0, 0, 0, 0, 0, 8, 8, 0, 8, 8, 0, 8, 0, 0, 0, 8, 8]]]]> : tensor<1x1x1x32xi8>>>)
                                outs(%acc : tensor<1x30x30x32xf32>) -> tensor<1x30x30x32xf32>
  return %y : tensor<1x30x30x32xf32>
}
