// RUN: tesa-opt %s --split-input-file --tesa-decompose-aggregated-ops -verify-diagnostics

// Upstream's expansion builds floating-point arithmetic: a softmax of
// integers is an error, not a crash.
func.func @integer_softmax(%x: tensor<4x8xi32>) -> tensor<4x8xi32> {
  %e = tensor.empty() : tensor<4x8xi32>
  // expected-error @+1 {{'linalg.softmax' op cannot be decomposed: its elements are 'i32', not floating point}}
  %y = linalg.softmax dimension(1) ins(%x : tensor<4x8xi32>) outs(%e : tensor<4x8xi32>) -> tensor<4x8xi32>
  return %y : tensor<4x8xi32>
}

// -----

func.func @index_softmax(%x: tensor<4x8xindex>) -> tensor<4x8xindex> {
  %e = tensor.empty() : tensor<4x8xindex>
  // expected-error @+1 {{'linalg.softmax' op cannot be decomposed: its elements are 'index', not floating point}}
  %y = linalg.softmax dimension(1) ins(%x : tensor<4x8xindex>) outs(%e : tensor<4x8xindex>) -> tensor<4x8xindex>
  return %y : tensor<4x8xindex>
}

// -----

// On buffers, upstream's expansion would mix tensors and buffers: an error.
func.func @buffer_softmax(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  // expected-error @+1 {{'linalg.softmax' op cannot be decomposed on buffers: it is expanded on tensors, before bufferization}}
  linalg.softmax dimension(1) ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
