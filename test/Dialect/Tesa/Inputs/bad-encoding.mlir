func.func @f(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0, 8]]> : tensor<1x3xi8>>>)
