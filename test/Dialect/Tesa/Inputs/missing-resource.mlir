func.func @f(%w: tensor<4xf32, #tesa.sparsity<map = dense_resource<absent> : tensor<4xi8>>>) {
  return
}
