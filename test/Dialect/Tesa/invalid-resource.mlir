// Resource maps are checked by --tesa-verify-encodings, which tesa-opt runs
// before anything else; errors are reported at the op that uses the type.
// RUN: tesa-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{#tesa.sparsity map dense_resource<missing> has no data: the key is not defined in the file's dialect_resources section}}
func.func @missing_key(%w: tensor<4x4xf32, #tesa.sparsity<map = dense_resource<missing> : tensor<4x4xi8>>>) {
  return
}

// -----

func.func @unknown_key_in_body(%x: tensor<4xf32>) {
  // expected-error @+1 {{#tesa.sparsity map dense_resource<nowhere> has no data}}
  %0 = tesa.annotate %x : tensor<4xf32> -> tensor<4xf32, #tesa.sparsity<map = dense_resource<nowhere> : tensor<2xi8>>>
  return
}

// -----

// expected-error @+1 {{#tesa.sparsity map data has 3 bytes, expected 4 for 'tensor<4xi8>'}}
func.func @short_blob(%w: tensor<4xf32, #tesa.sparsity<map = dense_resource<short> : tensor<4xi8>>>) {
  return
}
{-#
  dialect_resources: {
    builtin: {
      short: "0x01000000080008"
    }
  }
#-}

// -----

// expected-error @+1 {{#tesa.sparsity map entry 2 is 7, expected one of 0, 4, 8, 16, 32}}
func.func @bad_blob_entry(%w: tensor<4xf32, #tesa.sparsity<map = dense_resource<bad> : tensor<4xi8>>>) {
  return
}
{-#
  dialect_resources: {
    builtin: {
      bad: "0x0100000008000708"
    }
  }
#-}

// -----

// expected-error @+1 {{#tesa.sparsity keeps elements at 32 bits, wider than the element type 'f16'}}
func.func @blob_wider_than_element(%w: tensor<4xf16, #tesa.sparsity<map = dense_resource<wide> : tensor<4xi8>>>) {
  return
}
{-#
  dialect_resources: {
    builtin: {
      wide: "0x0100000008002008"
    }
  }
#-}

// -----

// The data of an encoding used outside a tensor type is checked too.
// expected-error @+1 {{#tesa.sparsity map entry 2 is 7, expected one of 0, 4, 8, 16, 32}}
func.func @bare_attribute() attributes {mask = #tesa.sparsity<map = dense_resource<bare> : tensor<4xi8>>} {
  return
}
{-#
  dialect_resources: {
    builtin: {
      bare: "0x0100000008000708"
    }
  }
#-}
