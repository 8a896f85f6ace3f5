// RUN: not tesa-opt %s --split-input-file --tesa-propagate 2>&1 | FileCheck %s --check-prefix=PROPAGATE
// RUN: not tesa-opt %s --split-input-file --tesa-decompose 2>&1 | FileCheck %s --check-prefix=DECOMPOSE

// Facts are kept per element: a tensor with more elements than propagation
// and decomposition track (or than int64_t counts) is an error naming the
// limit, not a length_error abort, an out-of-memory kill, or an element
// count that wraps to zero and makes --tesa-decompose erase the product.

// PROPAGATE: error: tesa-propagate: 'tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>' has more elements than int64_t counts, more than the 2147483648 that its facts are tracked for per element
// DECOMPOSE: error: tesa-decompose: 'tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>' has more elements than int64_t counts, more than the 2147483648 that its facts are tracked for per element
func.func @huge(%a: tensor<4294967296x4294967296xf32>, %b: tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>, %c: tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4294967296x4294967296xf32>, tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>) outs(%c : tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32>
  return %r : tensor<4294967296x4294967296xf32>
}

// -----

// Propagation tracks dense tensors too; decomposition only reads encoded
// ones.
// PROPAGATE: error: tesa-propagate: 'tensor<65536x65536xf32>' has 4294967296 elements, more than the 2147483648 that its facts are tracked for per element
// DECOMPOSE-NOT: error
func.func @large(%x: tensor<65536x65536xf32>) -> tensor<65536x65536xf32> {
  return %x : tensor<65536x65536xf32>
}
