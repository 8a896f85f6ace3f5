// RUN: tesa-opt %s --tesa-check-static-shapes --split-input-file -verify-diagnostics
// RUN: not tesa-opt %s --split-input-file --tesa-pipeline="target=nvvm chip=sm_90" 2>&1 | FileCheck %s --check-prefix=PIPELINE

// PIPELINE: error: argument 0 of @dynamic_argument has a dynamic shape ('tensor<?x64xf32>'); the GPU pipeline needs static shapes
// expected-error @below {{argument 0 of @dynamic_argument has a dynamic shape ('tensor<?x64xf32>'); the GPU pipeline needs static shapes}}
func.func @dynamic_argument(%x: tensor<?x64xf32>) -> tensor<64xf32> {
  %c0 = arith.constant 0 : index
  %r = tensor.extract_slice %x[0, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// PIPELINE: error: result 0 of @dynamic_result has a dynamic shape ('tensor<?xf32>'); the GPU pipeline needs static shapes
// expected-error @below {{result 0 of @dynamic_result has a dynamic shape ('tensor<?xf32>'); the GPU pipeline needs static shapes}}
func.func @dynamic_result(%x: tensor<8xf32>) -> tensor<?xf32> {
  %r = tensor.cast %x : tensor<8xf32> to tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// PIPELINE: error: 'tensor.empty' op has a value of dynamic shape ('tensor<?xf32>'); the GPU pipeline needs static shapes
func.func @dynamic_inside(%n: index) -> tensor<8xf32> {
  // expected-error @below {{'tensor.empty' op has a value of dynamic shape ('tensor<?xf32>'); the GPU pipeline needs static shapes}}
  %e = tensor.empty(%n) : tensor<?xf32>
  %r = tensor.cast %e : tensor<?xf32> to tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// Static shapes and external declarations pass.
func.func private @external(tensor<?xf32>)
func.func @static(%x: tensor<8xf32>) -> tensor<8xf32> {
  return %x : tensor<8xf32>
}
