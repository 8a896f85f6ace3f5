// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-fuse-epilogues --split-input-file | FileCheck %s

// A GELU after the product becomes the epilogue of its last part; the part
// takes the activation's result type.
// CHECK-LABEL: func.func @gelu
// CHECK: %[[R:.*]] = tesa.part_matmul {{.*}} -> tensor<4x8xf32> epilogue {
// CHECK-NEXT: ^bb0(%[[V:.*]]: f32):
// CHECK: %[[ERF:.*]] = math.erf
// CHECK: tesa.yield %{{.*}} : f32
// CHECK-NEXT: }
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @gelu(%x: tensor<4x8xf32>, %w: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %c = arith.constant 0.70710678 : f32
    %s = arith.mulf %v, %c : f32
    %erf = math.erf %s : f32
    %plus = arith.addf %erf, %one : f32
    %h = arith.mulf %v, %half : f32
    %g = arith.mulf %h, %plus : f32
    linalg.yield %g : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A ReLU written as linalg.max with a zero-filled tensor: the zero becomes
// a constant of the epilogue.
// CHECK-LABEL: func.func @relu
// CHECK: tesa.part_matmul {{.*}} epilogue {
// CHECK-NEXT: ^bb0(%[[V:.*]]: f32):
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[V]], %[[ZERO]] : f32
// CHECK-NEXT: tesa.yield %[[M]] : f32
// CHECK-NOT: linalg.max
func.func @relu(%x: tensor<4x8xf32>, %w: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = linalg.max ins(%p, %acc : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A constant defined outside the body (as front ends write a ReLU) is
// copied into the epilogue.
// CHECK-LABEL: func.func @outer_constant
// CHECK: tesa.part_matmul {{.*}} epilogue {
// CHECK-NEXT: ^bb0(%[[V:.*]]: f32):
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[V]], %[[ZERO]] : f32
// CHECK-NEXT: tesa.yield %[[M]] : f32
func.func @outer_constant(%x: tensor<4x8xf32>, %w: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Left alone: a body that reads the loop position (linalg.index), and one
// that uses an argument of the function.
// CHECK-LABEL: func.func @not_elementwise
// CHECK-NOT: epilogue
// CHECK-COUNT-2: linalg.generic
func.func @not_elementwise(%x: tensor<4x8xf32>, %w: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, %s: f32) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p1 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p1 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %below = arith.cmpi ule, %j, %i : index
    %m = arith.select %below, %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %p2 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p2 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r1, %r2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Left alone: the product's result used twice, an op that reads its output,
// an input that is not a constant fill, and a transposing map.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: epilogue
// CHECK-COUNT-3: linalg.generic
// CHECK: linalg.transpose
func.func @left_alone(%x: tensor<4x8xf32>, %w: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, %y: tensor<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %p1 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p1 : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<4x8xf32>
  %p2 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p2 : tensor<4x8xf32>) outs(%y : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %p3 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r3 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p3, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %u: f32, %o: f32):
    %m = arith.mulf %v, %u : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %p4 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %r4 = linalg.transpose ins(%p4 : tensor<4x8xf32>) outs(%e2 : tensor<8x4xf32>) permutation = [1, 0]
  return %r1, %p1, %r2, %r3, %r4 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>
}


// -----

// torch-mlir's form: the product's result expanded to the batch's shape for
// the activation, then collapsed back. The activation runs on the product's
// shape and becomes its last part's epilogue.
// CHECK-LABEL: func.func @gelu_between_reshapes
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[R:.*]] = tesa.part_matmul {{.*}} -> tensor<16x64xf32> epilogue {
// CHECK: math.erf
// CHECK: tesa.yield
// CHECK-NOT: tensor.collapse_shape
// CHECK: return %[[R]]
func.func @gelu_between_reshapes(%x: tensor<16x32xf32>, %w: tensor<32x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %expanded = tensor.expand_shape %p [[0, 1], [2]] output_shape [1, 16, 64] : tensor<16x64xf32> into tensor<1x16x64xf32>
  %e3 = tensor.empty() : tensor<1x16x64xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x16x64xf32>) outs(%e3 : tensor<1x16x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %half : f32
    %f = math.erf %s : f32
    %a = arith.addf %f, %one : f32
    %y = arith.mulf %v, %a : f32
    linalg.yield %y : f32
  } -> tensor<1x16x64xf32>
  %collapsed = tensor.collapse_shape %g [[0, 1], [2]] : tensor<1x16x64xf32> into tensor<16x64xf32>
  return %collapsed : tensor<16x64xf32>
}

// -----

// Left alone: the collapse does not undo the expansion.
// CHECK-LABEL: func.func @other_reshapes
// CHECK: tensor.expand_shape
// CHECK: linalg.generic
// CHECK: tensor.collapse_shape
func.func @other_reshapes(%v: tensor<16x64xf32>) -> tensor<1x1024xf32> {
  %expanded = tensor.expand_shape %v [[0, 1], [2]] output_shape [1, 16, 64] : tensor<16x64xf32> into tensor<1x16x64xf32>
  %e3 = tensor.empty() : tensor<1x16x64xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x16x64xf32>) outs(%e3 : tensor<1x16x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  } -> tensor<1x16x64xf32>
  %c = tensor.collapse_shape %g [[0], [1, 2]] : tensor<1x16x64xf32> into tensor<1x1024xf32>
  return %c : tensor<1x1024xf32>
}
