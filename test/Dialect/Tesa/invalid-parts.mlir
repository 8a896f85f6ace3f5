// RUN: tesa-opt %s -split-input-file -verify-diagnostics

func.func @part_wider_than_operand(%w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[8], [0]]> : tensor<2x1xi8>>>) {
  // expected-error @+1 {{'tesa.extract_part' op part keeps elements at 16 bits where the operand has 8 (cell 0, row-major, of the 2x1 grid)}}
  %p = tesa.extract_part %w : tensor<8x4xf32, #tesa.sparsity<map = dense<[[8], [0]]> : tensor<2x1xi8>>> -> tensor<8x4xf32, #tesa.sparsity<bits = 16>>
  return
}

// -----

func.func @part_outside_operand(%w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) {
  // expected-error @+1 {{'tesa.extract_part' op part keeps elements at 32 bits where the operand has 0 (cell 2, row-major, of the 2x2 grid)}}
  %p = tesa.extract_part %w : tensor<8x4xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>> -> tensor<8x4xf32, #tesa.sparsity<map = dense<[[32, 0], [32, 0]]> : tensor<2x2xi8>>>
  return
}

// -----

func.func @part_without_encoding(%w: tensor<8x4xf32>) {
  // expected-error @+1 {{'tesa.extract_part' op result must carry a #tesa.sparsity encoding}}
  %p = tesa.extract_part %w : tensor<8x4xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @matmul_shapes(%x: tensor<4x6xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op shapes do not form a matrix product}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x6xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_mixed(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf16>) {
  // expected-error @+1 {{'tesa.part_matmul' op operands and result must have one element type, or be f16 operands with an f32 accumulator and result, got 'tensor<4x8xf32>' * 'tensor<8x4xf32, #tesa.sparsity<bits = 8>>' + 'tensor<4x4xf16>' -> 'tensor<4x4xf16>'}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf16> -> tensor<4x4xf16>
  return
}

// -----

func.func @matmul_mixed_operands(%x: tensor<4x8xf16>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op operands and result must have one element type}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf16>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_f16_bits(%x: tensor<4x8xf16>, %w: tensor<8x4xf16, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op a part of f16 operands is computed at 16 bits, got 8}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf16>, tensor<8x4xf16, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_kernel(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{custom op 'tesa.part_matmul' expected string or keyword containing one of the following enum values for attribute 'kernel' [block, structured, fine]}}
  %r = tesa.part_matmul csr %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_block_shape(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op a block kernel needs a block shape of two positive sizes}}
  %r = tesa.part_matmul block %x, %w, %acc {bits = 8 : i64, block = array<i64: 4>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_bits(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 8>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op bits must be 4, 8, 16 or 32, got 12}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 12 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 8>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @structured_bits(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<map = dense<[[8], [8], [0], [0]]> : tensor<4x1xi8>>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op a structured kernel computes f16 parts (bits = 16), got 8}}
  %r = tesa.part_matmul structured %x, %w, %acc {bits = 8 : i64, block = array<i64: 8, 4>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<map = dense<[[8], [8], [0], [0]]> : tensor<4x1xi8>>>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @structured_block_reduction(%x: tensor<8x4xf32>, %w: tensor<4x8xf32, #tesa.sparsity<bits = 16>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op a structured kernel's blocks span a multiple of four reduction elements, got 6}}
  %r = tesa.part_matmul structured %w, %x, %acc {bits = 16 : i64, block = array<i64: 4, 6>, sparse_operand = 0 : i64} : tensor<4x8xf32, #tesa.sparsity<bits = 16>>, tensor<8x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

// Channel 2 of the lhs keeps elements 4, 5 and 6: three of one group.
func.func @structured_not_two_four(%w: tensor<4x8xf32, #tesa.sparsity<map = dense<[[16, 16, 0, 0, 0, 16, 0, 16], [0, 0, 0, 0, 0, 0, 0, 0], [16, 0, 0, 0, 16, 16, 16, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<4x8xi8>>>, %x: tensor<8x4xf32>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op a structured part keeps at most two of every four consecutive reduction elements; channel 2 keeps 3 of elements 4..7}}
  %r = tesa.part_matmul structured %w, %x, %acc {bits = 16 : i64, block = array<i64: 4, 8>, sparse_operand = 0 : i64} : tensor<4x8xf32, #tesa.sparsity<map = dense<[[16, 16, 0, 0, 0, 16, 0, 16], [0, 0, 0, 0, 0, 0, 0, 0], [16, 0, 0, 0, 16, 16, 16, 0], [0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<4x8xi8>>>, tensor<8x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_dense_sparse_operand(%x: tensor<4x8xf32>, %w: tensor<8x4xf32>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op the sparse operand must carry a #tesa.sparsity encoding}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 8 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @epilogue_arguments(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 32>>, %acc: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.part_matmul' op the epilogue must be one block with one argument of the result's element type}}
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>, tensor<4x4xf32> -> tensor<4x4xf32> epilogue {
  ^bb0(%v: f32, %u: f32):
    tesa.yield %v : f32
  }
  return
}

// -----

func.func @epilogue_side_effect(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 32>>, %acc: tensor<4x4xf32>, %m: memref<f32>) {
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>, tensor<4x4xf32> -> tensor<4x4xf32> epilogue {
  ^bb0(%v: f32):
    // expected-error @+1 {{'memref.store' op cannot be part of an epilogue: only pure arith and math operations can}}
    memref.store %v, %m[] : memref<f32>
    tesa.yield %v : f32
  }
  return
}

// -----

func.func @yield_outside_epilogue(%v: f32) {
  // expected-error @+1 {{'tesa.yield' op expects parent op to be one of 'tesa.part_matmul, tesa.kernel'}}
  tesa.yield %v : f32
}

// -----

func.func @epilogue_outer_value(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 32>>, %acc: tensor<4x4xf32>, %zero: f32) {
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>, tensor<4x4xf32> -> tensor<4x4xf32> epilogue {
  ^bb0(%v: f32):
    // expected-error @+1 {{'arith.maximumf' op uses a value defined outside the epilogue}}
    %m = arith.maximumf %v, %zero : f32
    tesa.yield %m : f32
  }
  return
}

// -----

func.func @epilogue_yields_outer_value(%x: tensor<4x8xf32>, %w: tensor<8x4xf32, #tesa.sparsity<bits = 32>>, %acc: tensor<4x4xf32>, %zero: f32) {
  %r = tesa.part_matmul fine %x, %w, %acc {bits = 32 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<4x8xf32>, tensor<8x4xf32, #tesa.sparsity<bits = 32>>, tensor<4x4xf32> -> tensor<4x4xf32> epilogue {
  ^bb0(%v: f32):
    // expected-error @+1 {{'tesa.yield' op uses a value defined outside the epilogue}}
    tesa.yield %zero : f32
  }
  return
}
