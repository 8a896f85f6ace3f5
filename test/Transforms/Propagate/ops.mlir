// RUN: tesa-opt %s --tesa-propagate 2>/dev/null | FileCheck %s

// Propagation through matmul with transposed maps, batch_matmul, tensor reshapes,
// slices, concat, pad, softmax, constants and tesa.annotate, and ops whose rule
// comes from scrambling (a payload with math.sin, an elementwise tensor op).

#cols = #tesa.sparsity<map = dense<[[32, 0, 32, 0]]> : tensor<1x4xi8>>
#rows = #tesa.sparsity<map = dense<[[32], [0], [32], [0]]> : tensor<4x1xi8>>
#i8 = #tesa.sparsity<bits = 8>

// Transposed weight: y = x * w^T, w rows pruned -> y columns zero.
// CHECK-LABEL: func.func @matmul_transposed(
// CHECK-SAME: %arg0: tensor<2x4xf32>, %arg1: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [32], [0]]> : tensor<4x1xi8>>>) -> tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>> {
// CHECK: = tensor.empty{{.*}}tensor<2x4xf32, #tesa.sparsity<bits = 0>>
// CHECK: = linalg.fill{{.*}}tensor<2x4xf32, #tesa.sparsity<bits = 0>>
// CHECK: = tesa.annotate{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = linalg.matmul{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<1x4xi8>>>
// CHECK: = linalg.max{{.*}}tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>
// CHECK: return
func.func @matmul_transposed(%x: tensor<2x4xf32>, %w: tensor<4x4xf32, #rows>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<2x4xf32>, tensor<4x4xf32, #rows>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x4xf32>
  %r = linalg.max ins(%y, %f : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @batch(
// CHECK-SAME: %arg0: tensor<2x3x4xf32, #tesa.sparsity<map = dense<{{\[\[}}[32, 0, 32, 32]], {{\[\[}}32, 32, 32, 32]]]> : tensor<2x1x4xi8>>>, %arg1: tensor<2x4x5xf32, #tesa.sparsity<map = dense<{{\[\[}}[32], [0], [32], [32]], {{\[\[}}32], [32], [32], [32]]]> : tensor<2x4x1xi8>>>) -> tensor<2x3x5xf32> {
// CHECK: = tensor.empty{{.*}}tensor<2x3x5xf32>
// CHECK: = linalg.fill{{.*}}tensor<2x3x5xf32>
// CHECK: = linalg.batch_matmul{{.*}}tensor<2x3x5xf32>
// CHECK: return
func.func @batch(%a: tensor<2x3x4xf32, #tesa.sparsity<map = dense<[[[32, 0, 32, 32]], [[32, 32, 32, 32]]]> : tensor<2x1x4xi8>>>, %b: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x5xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %c = linalg.batch_matmul ins(%a, %b : tensor<2x3x4xf32, #tesa.sparsity<map = dense<[[[32, 0, 32, 32]], [[32, 32, 32, 32]]]> : tensor<2x1x4xi8>>>, tensor<2x4x5xf32>) outs(%f : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  return %c : tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @shapes(
// CHECK-SAME: %arg0: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>) -> (tensor<2x8xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0, 32, 0, 32, 0]]> : tensor<1x8xi8>>>, tensor<4x2xf32, #tesa.sparsity<bits = 0>>, tensor<4x8xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0, 32, 0, 32, 0]]> : tensor<1x8xi8>>>, tensor<6x4xf32, #tesa.sparsity<map = dense<{{\[\[}}0, 0, 0, 0], [32, 0, 32, 0], [32, 0, 32, 0], [32, 0, 32, 0], [32, 0, 32, 0], [0, 0, 0, 0]]> : tensor<6x4xi8>>>) {
// CHECK: = tensor.collapse_shape{{.*}}tensor<16xi8>>>
// CHECK: = tensor.expand_shape{{.*}}tensor<1x8xi8>>>
// CHECK: = tensor.extract_slice{{.*}}tensor<1x4xi8>>> to tensor<4x2xf32, #tesa.sparsity<bits = 0>>
// CHECK: = tensor.concat{{.*}}tensor<4x8xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0, 32, 0, 32, 0]]> : tensor<1x8xi8>>>
// CHECK: return
func.func @shapes(%x: tensor<4x4xf32, #cols>) -> (tensor<2x8xf32>, tensor<4x2xf32>, tensor<4x8xf32>, tensor<6x4xf32>) {
  %r = tensor.collapse_shape %x [[0, 1]] : tensor<4x4xf32, #cols> into tensor<16xf32>
  %e = tensor.expand_shape %r [[0, 1]] output_shape [2, 8] : tensor<16xf32> into tensor<2x8xf32>
  %s = tensor.extract_slice %x[0, 1] [4, 2] [1, 2] : tensor<4x4xf32, #cols> to tensor<4x2xf32>
  %c = tensor.concat dim(1) %x, %x : (tensor<4x4xf32, #cols>, tensor<4x4xf32, #cols>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[1, 0] high[1, 0] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<4x4xf32, #cols> to tensor<6x4xf32>
  return %e, %s, %c, %p : tensor<2x8xf32>, tensor<4x2xf32>, tensor<4x8xf32>, tensor<6x4xf32>
}

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME: %arg0: tensor<2x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0, 32, 0]]> : tensor<1x4xi8>>>) -> tensor<2x4xf32> {
// CHECK: = tensor.empty{{.*}}tensor<2x4xf32>
// CHECK: = linalg.softmax{{.*}}tensor<2x4xf32>
// CHECK: return
func.func @softmax(%x: tensor<2x4xf32, #cols>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32, #cols>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @constant_and_annotate(
// CHECK-SAME: %arg0: tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 8]]> : tensor<2x2xi8>>> {
// CHECK: = tesa.annotate{{.*}}tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [0, 32]]> : tensor<2x2xi8>>>
// CHECK: = tensor.empty{{.*}}tensor<2x2xi8>>>
// CHECK: = linalg.mul{{.*}}tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 8]]> : tensor<2x2xi8>>>
// CHECK: = tesa.annotate{{.*}}tensor<2x2xf32, #tesa.sparsity<map = dense<{{\[\[}}8, 0], [0, 8]]> : tensor<2x2xi8>>>
// CHECK: return
func.func @constant_and_annotate(%x: tensor<2x2xf32>) -> tensor<2x2xf32, #i8> {
  %c = arith.constant dense<[[1.0, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %m = linalg.mul ins(%x, %c : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %a = tesa.annotate %m : tensor<2x2xf32> -> tensor<2x2xf32, #i8>
  return %a : tensor<2x2xf32, #i8>
}

// CHECK-LABEL: func.func @unknown_body(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> {
// CHECK: = tensor.empty{{.*}}tensor<4xi8>>>
// CHECK: = linalg.generic{{.*}}tensor<4xi8>>>)
// CHECK: return
func.func @unknown_body(%x: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.sin %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// CHECK-LABEL: func.func @tensor_math(
// CHECK-SAME: %arg0: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> {
// CHECK: = tesa.annotate{{.*}}tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
// CHECK: return
func.func @tensor_math(%x: tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>) -> tensor<4xf32> {
  %r = math.sin %x : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>>
  %c = tesa.annotate %r : tensor<4xf32, #tesa.sparsity<map = dense<[32, 0, 32, 0]> : tensor<4xi8>>> -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// The destination rows an insert_slice overwrites are dead.
// CHECK-LABEL: func.func @insert(
// CHECK-SAME: %arg1: tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32], [0], [0], [32]]> : tensor<4x1xi8>>>)
// CHECK-SAME: -> tensor<4x4xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 32, 32, 32], [32, 0, 32, 0], [32, 0, 32, 0], [32, 32, 32, 32]]> : tensor<4x4xi8>>>
// CHECK: %[[DEST:.*]] = tesa.annotate %arg1
// CHECK: tensor.insert_slice %arg0 into %[[DEST]][1, 0] [2, 4] [1, 1]
func.func @insert(%src: tensor<2x4xf32, #cols>, %dest: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = tensor.insert_slice %src into %dest[1, 0] [2, 4] [1, 1] : tensor<2x4xf32, #cols> into tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
