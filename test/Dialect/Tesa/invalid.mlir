// RUN: tesa-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{#tesa.sparsity map rank 1 does not match tensor rank 2}}
func.func @wrong_rank(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map dimension 1 (3) does not divide tensor dimension 1 (4)}}
func.func @not_dividing(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0, 8]]> : tensor<1x3xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map dimension 0 is 2 but tensor dimension 0 is dynamic; it must be 1}}
func.func @dynamic_not_one(%w: tensor<?x4xf32, #tesa.sparsity<map = dense<[[8], [0]]> : tensor<2x1xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map entry 1 is 7, expected one of 0, 4, 8, 16, 32}}
func.func @bad_entry(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 7]> : tensor<2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map entry 0 is -8, expected one of 0, 4, 8, 16, 32}}
func.func @negative_entry(%w: tensor<4xf32, #tesa.sparsity<map = dense<[-8, 8]> : tensor<2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity bits = 7 is not one of 0, 4, 8, 16, 32}}
func.func @bad_bits(%w: tensor<4xf32, #tesa.sparsity<bits = 7>>)

// -----

// A splat map is checked without expanding it.
// expected-error @+1 {{#tesa.sparsity map entries are 7, expected one of 0, 4, 8, 16, 32}}
func.func @bad_splat(%w: tensor<4xf32, #tesa.sparsity<map = dense<7> : tensor<2xi8>>>)

// -----

// A map's shape is checked as written, uniform or not: a 3x3 map does not
// divide a 4x4 tensor even though all its entries are 8.
// expected-error @+1 {{#tesa.sparsity map dimension 0 (3) does not divide tensor dimension 0 (4)}}
func.func @uniform_map_does_not_divide(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<8> : tensor<3x3xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map rank 0 does not match tensor rank 2}}
func.func @uniform_map_of_rank_0(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<8> : tensor<i8>>>)

// -----

// Three equal rows would coarsen to one, which divides 4; as written, 3 does
// not.
// expected-error @+1 {{#tesa.sparsity map dimension 0 (3) does not divide tensor dimension 0 (4)}}
func.func @repeated_rows_do_not_divide(%w: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [8, 0], [8, 0]]> : tensor<3x2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity bits = 64 is not one of 0, 4, 8, 16, 32}}
func.func @bits_64(%w: tensor<4xf64, #tesa.sparsity<bits = 64>>)

// -----

// expected-error @+1 {{#tesa.sparsity keeps elements at 32 bits, wider than the element type 'f16'}}
func.func @bits_wider_than_element(%w: tensor<4xf16, #tesa.sparsity<bits = 32>>)

// -----

// expected-error @+1 {{#tesa.sparsity keeps elements at 16 bits, wider than the element type 'i8'}}
func.func @map_wider_than_element(%w: tensor<4xi8, #tesa.sparsity<map = dense<[8, 16]> : tensor<2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map must be a tensor of i8, got 'tensor<2xi32>'}}
func.func @map_not_i8(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 0]> : tensor<2xi32>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map must be a tensor of i8, got 'tensor<2xf32>'}}
func.func @map_float(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8.0, 0.0]> : tensor<2xf32>>>)

// -----

// Signed and unsigned maps are not read as i8 (a ui8 map used to crash the
// parser, an si8 one was silently rewritten).
// expected-error @+1 {{#tesa.sparsity map must be a tensor of i8, got 'tensor<2xui8>'}}
func.func @map_unsigned(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 0]> : tensor<2xui8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map must be a tensor of i8, got 'tensor<2xsi8>'}}
func.func @map_signed(%w: tensor<4xf32, #tesa.sparsity<map = dense<[8, 0]> : tensor<2xsi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map must be a dense<...> or dense_resource<...> elements attribute}}
func.func @map_sparse(%w: tensor<4xf32, #tesa.sparsity<map = sparse<[[1]], [8]> : tensor<2xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity map must be an i8 elements attribute, got 8 : i8}}
func.func @map_scalar(%w: tensor<4xf32, #tesa.sparsity<map = 8 : i8>>)

// -----

// expected-error @+1 {{#tesa.sparsity map dimensions must be positive, got 'tensor<0xi8>'}}
func.func @map_empty(%w: tensor<4xf32, #tesa.sparsity<map = dense<> : tensor<0xi8>>>)

// -----

// expected-error @+1 {{#tesa.sparsity needs integer, index or floating-point elements, got 'complex<f32>'}}
func.func @complex_elements(%w: tensor<4xcomplex<f32>, #tesa.sparsity<bits = 8>>)

// -----

// expected-error @+1 {{expected 'bits = N' or 'map = <i8 elements attribute>' in #tesa.sparsity}}
func.func @empty_attribute(%w: tensor<4xf32, #tesa.sparsity<>>)

// -----

// expected-error @+1 {{expected 'bits = N' or 'map = <i8 elements attribute>' in #tesa.sparsity}}
func.func @unknown_key(%w: tensor<4xf32, #tesa.sparsity<density = 8>>)

// -----

// expected-error @+1 {{expected '<'}}
func.func @no_parameters(%w: tensor<4xf32, #tesa.sparsity>)

// -----

// expected-error @+1 {{expected '='}}
func.func @missing_value(%w: tensor<4xf32, #tesa.sparsity<bits>>)

// -----

// expected-error @+1 {{expected integer value}}
func.func @missing_integer(%w: tensor<4xf32, #tesa.sparsity<bits = >>)

// -----

// expected-error @+1 {{expected '>'}}
func.func @extra_token(%w: tensor<4xf32, #tesa.sparsity<bits = 8 16>>)

// -----

// expected-error @+1 {{unbalanced '<' character in pretty dialect name}}
func.func @truncated(%w: tensor<4xf32, #tesa.sparsity<bits = 8 tensor)

// -----

func.func @annotate_shape(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.annotate' op result shape 'tensor<4x2xf32, #tesa.sparsity<bits = 8>>' differs from the operand shape 'tensor<4x4xf32>'}}
  %0 = tesa.annotate %x : tensor<4x4xf32> -> tensor<4x2xf32, #tesa.sparsity<bits = 8>>
  return
}

// -----

func.func @annotate_element_type(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.annotate' op result element type 'f16' differs from the operand element type 'f32'}}
  %0 = tesa.annotate %x : tensor<4x4xf32> -> tensor<4x4xf16, #tesa.sparsity<bits = 8>>
  return
}

// -----

#csr = #sparse_tensor.encoding<{map = (d0, d1) -> (d0 : dense, d1 : compressed)}>
func.func @annotate_foreign_encoding(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'tesa.annotate' op result encoding must be a #tesa.sparsity attribute or none}}
  %0 = tesa.annotate %x : tensor<4x4xf32> -> tensor<4x4xf32, #csr>
  return
}

// -----

// Only ranked tensor types take the encoding: as a memref's memory space it
// is an error (the LLVM lowerings used to fail on it and still exit 0).
// expected-error @+1 {{#tesa.sparsity is the encoding of ranked tensor types, not a memory space: 'memref<4xf32, #tesa.sparsity<bits = 8>>'}}
func.func @memory_space(%m: memref<4xf32, #tesa.sparsity<bits = 8>>) {
  return
}

// -----

// An element type that fails to parse leaves the tensor type none; the
// encoding says so instead of reading it (it used to crash).
// expected-error @+2 {{type created with unregistered dialect}}
// expected-error @+1 {{#tesa.sparsity needs an element type}}
func.func @unparsed_element(%x: tensor<4x4x!foo.bar, #tesa.sparsity<bits = 8>>) {
  return
}

// -----

// A map's own type carries no encoding (inline maps used to drop it and
// resource maps keep it, so equal sparsity printed differently).
// expected-error @+1 {{#tesa.sparsity map's type must carry no encoding, got 'tensor<2x2xi8, #tesa.sparsity<bits = 8>>'}}
func.func @encoded_map(%x: tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8, #tesa.sparsity<bits = 8>>>>) {
  return
}
