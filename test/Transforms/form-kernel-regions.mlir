// RUN: tesa-opt %s --split-input-file --tesa-form-kernel-regions | FileCheck %s

// A product with a bias and an activation: the matmul, generalised, and
// its elementwise consumer form one contraction region.
// CHECK-LABEL: func.func @epilogue
// CHECK: %[[FILL:.*]] = linalg.fill
// CHECK: %[[R:.*]] = tesa.kernel contraction -> tensor<16x32xf32> {
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : {{.*}}) outs(%[[FILL]] : tensor<16x32xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[P]], %arg2 : tensor<16x32xf32>, tensor<32xf32>)
// CHECK: arith.maximumf
// CHECK: tesa.yield %[[Y]] : tensor<16x32xf32>
// CHECK: return %[[R]]
func.func @epilogue(%x: tensor<16x8xf32>, %w: tensor<8x32xf32>, %b: tensor<32xf32>) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x32xf32>) -> tensor<16x32xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<16x32xf32>, tensor<32xf32>) outs(%e : tensor<16x32xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// Attention scores: the transposes of q and k fold into the batched
// product's indexing maps (it reads their sources), and the scaling is the
// epilogue.
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0, d3)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d0, d3)>
// CHECK-LABEL: func.func @scores
// CHECK-NOT: linalg.transpose
// CHECK: tesa.kernel contraction -> tensor<2x8x8xf32> {
// CHECK: linalg.generic {indexing_maps = [#[[Q]], #[[K]], {{.*}}]{{.*}} ins(%arg0, %arg1 : tensor<8x2x4xf32>, tensor<8x2x4xf32>)
// CHECK: arith.mulf
// CHECK: tesa.yield
func.func @scores(%q: tensor<8x2x4xf32>, %k: tensor<8x2x4xf32>) -> tensor<2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<2x8x4xf32>
  %qt = linalg.transpose ins(%q : tensor<8x2x4xf32>) outs(%eq : tensor<2x8x4xf32>) permutation = [1, 0, 2]
  %ek = tensor.empty() : tensor<2x4x8xf32>
  %kt = linalg.transpose ins(%k : tensor<8x2x4xf32>) outs(%ek : tensor<2x4x8xf32>) permutation = [1, 2, 0]
  %e = tensor.empty() : tensor<2x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.batch_matmul ins(%qt, %kt : tensor<2x8x4xf32>, tensor<2x4x8xf32>) outs(%z : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x8x8xf32>) outs(%e : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.5 : f32
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  return %y : tensor<2x8x8xf32>
}

// -----

// A product whose result has two readers has no epilogue.
// CHECK-LABEL: func.func @two_readers
// CHECK: %[[R:.*]] = tesa.kernel contraction -> tensor<4x4xf32> {
// CHECK-NEXT: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: tesa.yield
// CHECK: linalg.add ins(%[[R]], %[[R]]
func.func @two_readers(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%z : tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = linalg.add ins(%p, %p : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

// An activation over 1 x rows x columns of a rows x columns product (as
// torch-mlir writes a Linear's GELU): its unit loop, which no input reads,
// is dropped so that it joins the product's epilogue; a tensor.expand_shape
// gives the result its shape back.
// CHECK-LABEL: func.func @unit_batch_activation
// CHECK: %[[R:.*]] = tesa.kernel contraction -> tensor<16x32xf32> {
// CHECK: linalg.generic
// CHECK: %[[ACT:.*]] = linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: math.tanh
// CHECK: tesa.yield %[[ACT]]
// CHECK: %[[SHAPED:.*]] = tensor.expand_shape %[[R]] {{\[}}[0, 1], [2]] output_shape [1, 16, 32]
// CHECK: return %[[SHAPED]]
func.func @unit_batch_activation(%x: tensor<16x8xf32>, %w: tensor<8x32xf32>) -> tensor<1x16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16x32xf32>) -> tensor<16x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<16x8xf32>, tensor<8x32xf32>) outs(%z : tensor<16x32xf32>) -> tensor<16x32xf32>
  %e3 = tensor.empty() : tensor<1x16x32xf32>
  %act = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%mm : tensor<16x32xf32>) outs(%e3 : tensor<1x16x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<1x16x32xf32>
  return %act : tensor<1x16x32xf32>
}

// -----

// A layer norm: a residual add, row sums, the centred values and the
// normalisation form one row-reduction region; its sums start from fills
// outside it.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[R:.*]] = tesa.kernel row_reduction -> tensor<4x8xf32> {
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: tesa.yield
// CHECK: return %[[R]]
func.func @layer_norm(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %er = tensor.empty() : tensor<4xf32>
  %h = linalg.add ins(%x, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%h : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%h, %sum : tensor<4x8xf32>, tensor<4xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %k = arith.constant 0.125 : f32
    %mean = arith.mulf %m, %k : f32
    %d = arith.subf %a, %mean : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %var = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%c : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%c, %var : tensor<4x8xf32>, tensor<4xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %v: f32, %o: f32):
    %r = math.rsqrt %v : f32
    %s = arith.mulf %a, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %n : tensor<4x8xf32>
}

// -----

// Named elementwise readers of a row program, one reading it twice, are
// generalised as the region grows over them: the walk over a step's users
// must not follow the uses it replaces (tesa-compile crashed here on
// BERT-base with int8 blocks).
// CHECK-LABEL: func.func @named_readers
// CHECK: %[[R:.*]] = tesa.kernel row_reduction -> tensor<4x8xf32> {
// CHECK-COUNT-4: linalg.generic
// CHECK: %[[N:.*]] = linalg.generic
// CHECK: %[[TWICE:.*]] = linalg.generic {{.*}} ins(%[[N]], %[[N]] :
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} ins(%[[N]] :
// CHECK: math.exp
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[TWICE]], %[[EXP]] :
// CHECK: tesa.yield %[[OUT]]
// CHECK: return %[[R]]
func.func @named_readers(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %er = tensor.empty() : tensor<4xf32>
  %h = linalg.add ins(%x, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%h : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%h, %sum : tensor<4x8xf32>, tensor<4xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %k = arith.constant 0.125 : f32
    %mean = arith.mulf %m, %k : f32
    %d = arith.subf %a, %mean : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %var = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%c : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%c, %var : tensor<4x8xf32>, tensor<4xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %v: f32, %o: f32):
    %r = math.rsqrt %v : f32
    %s = arith.mulf %a, %r : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %twice = linalg.add ins(%n, %n : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %other = linalg.exp ins(%n : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %out = linalg.mul ins(%twice, %other : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}


// -----

// torch-mlir's forms: per-row values keep the reduced dimension (1x4x1,
// read through (d0, d1, 0)), and a variance is summed in f64 between the
// f32 input and result. The program still forms one region; its sum
// starts from a fill that is annotated outside it.
// CHECK-LABEL: func.func @keepdim_f64_variance
// CHECK: %[[R:.*]] = tesa.kernel row_reduction -> tensor<1x4x8xf32> {
// CHECK: arith.extf
// CHECK: linalg.generic {{.*}}"reduction"
// CHECK: arith.truncf
// CHECK: math.rsqrt
// CHECK: tesa.yield
// CHECK: return %[[R]]
func.func @keepdim_f64_variance(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<1x4x8xf32>
  %e64 = tensor.empty() : tensor<1x4x8xf64>
  %er = tensor.empty() : tensor<1x4x1xf64>
  %er32 = tensor.empty() : tensor<1x4x1xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x4x8xf32>) outs(%e64 : tensor<1x4x8xf64>) {
  ^bb0(%a: f32, %o: f64):
    %w = arith.extf %a : f32 to f64
    linalg.yield %w : f64
  } -> tensor<1x4x8xf64>
  %z = linalg.fill ins(%zero : f64) outs(%er : tensor<1x4x1xf64>) -> tensor<1x4x1xf64>
  %za = tesa.annotate %z : tensor<1x4x1xf64> -> tensor<1x4x1xf64>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%wide : tensor<1x4x8xf64>) outs(%za : tensor<1x4x1xf64>) {
  ^bb0(%a: f64, %o: f64):
    %p = arith.mulf %a, %a : f64
    %s = arith.addf %p, %o : f64
    linalg.yield %s : f64
  } -> tensor<1x4x1xf64>
  %rms = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sq : tensor<1x4x1xf64>) outs(%er32 : tensor<1x4x1xf32>) {
  ^bb0(%a: f64, %o: f32):
    %t = arith.truncf %a : f64 to f32
    %r = math.rsqrt %t : f32
    linalg.yield %r : f32
  } -> tensor<1x4x1xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %rms : tensor<1x4x8xf32>, tensor<1x4x1xf32>) outs(%e : tensor<1x4x8xf32>) {
  ^bb0(%a: f32, %r: f32, %o: f32):
    %s = arith.mulf %a, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x4x8xf32>
  return %n : tensor<1x4x8xf32>
}

// -----

// A program whose input is f64 is not one the family lowers: no region.
// CHECK-LABEL: func.func @f64_input
// CHECK-NOT: tesa.kernel
func.func @f64_input(%x: tensor<4x8xf64>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x8xf32>
  %er = tensor.empty() : tensor<4xf64>
  %z = linalg.fill ins(%zero : f64) outs(%er : tensor<4xf64>) -> tensor<4xf64>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf64>) outs(%z : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %s = arith.addf %a, %o : f64
    linalg.yield %s : f64
  } -> tensor<4xf64>
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : tensor<4x8xf64>, tensor<4xf64>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f64, %s: f64, %o: f32):
    %d = arith.divf %a, %s : f64
    %t = arith.truncf %d : f64 to f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  return %n : tensor<4x8xf32>
}

// -----

// Dynamic shapes stay on the generic path.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: tesa.kernel
// CHECK: linalg.matmul
func.func @dynamic(%x: tensor<?x4xf32>, %w: tensor<4x4xf32>, %acc: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %p = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%acc : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %p : tensor<?x4xf32>
}

// -----

// A transpose that no contraction folds (here a function's result) is an
// elementwise region of its own.
// CHECK-LABEL: func.func @lone_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<40x72xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<72x40xf32>
// CHECK-NEXT: %[[T:.*]] = tesa.kernel elementwise -> tensor<72x40xf32> {
// CHECK-NEXT: %[[R:.*]] = linalg.transpose ins(%[[X]] : tensor<40x72xf32>) outs(%[[E]] : tensor<72x40xf32>) permutation = [1, 0]
// CHECK-NEXT: tesa.yield %[[R]]
// CHECK: return %[[T]]
func.func @lone_transpose(%x: tensor<40x72xf32>) -> tensor<72x40xf32> {
  %e = tensor.empty() : tensor<72x40xf32>
  %t = linalg.transpose ins(%x : tensor<40x72xf32>) outs(%e : tensor<72x40xf32>) permutation = [1, 0]
  return %t : tensor<72x40xf32>
}

// -----

// A depthwise convolution of a padded input into a bias broadcast to every
// pixel, then ReLU6 (torch-mlir's form): one convolution region of the
// generalised convolution and its clamp. The pad and the bias's broadcast
// stay outside; the lowering reads through them.
// CHECK-LABEL: func.func @depthwise_relu6
// CHECK: %[[PADDED:.*]] = tensor.pad
// CHECK: %[[ACC:.*]] = linalg.broadcast
// CHECK: %[[R:.*]] = tesa.kernel convolution -> tensor<2x8x5x5xf32> {
// CHECK-NEXT: %[[CONV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[PADDED]], %{{.*}} : tensor<2x8x12x12xf32>, tensor<8x3x3xf32>) outs(%[[ACC]] : tensor<2x8x5x5xf32>)
// CHECK: %[[CLAMPED:.*]] = linalg.generic {{.*}} ins(%[[CONV]] : tensor<2x8x5x5xf32>)
// CHECK: tesa.yield %[[CLAMPED]]
// CHECK: return %[[R]]
func.func @depthwise_relu6(%x: tensor<2x8x10x10xf32>, %w: tensor<8x3x3xf32>, %bias: tensor<8xf32>) -> tensor<2x8x5x5xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<2x8x10x10xf32> to tensor<2x8x12x12xf32>
  %e = tensor.empty() : tensor<2x8x5x5xf32>
  %acc = linalg.broadcast ins(%bias : tensor<8xf32>) outs(%e : tensor<2x8x5x5xf32>) dimensions = [0, 2, 3]
  %conv = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%padded, %w : tensor<2x8x12x12xf32>, tensor<8x3x3xf32>) outs(%acc : tensor<2x8x5x5xf32>) -> tensor<2x8x5x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv : tensor<2x8x5x5xf32>) outs(%e : tensor<2x8x5x5xf32>) {
  ^bb0(%in: f32, %o: f32):
    %low = arith.maximumf %in, %zero : f32
    %high = arith.minimumf %low, %six : f32
    linalg.yield %high : f32
  } -> tensor<2x8x5x5xf32>
  return %y : tensor<2x8x5x5xf32>
}

// -----

// A convolution of i8 tensors is not one the families compute: it stays.
// CHECK-LABEL: func.func @integer_convolution
// CHECK-NOT: tesa.kernel
// CHECK: linalg.conv_2d_nchw_fchw
func.func @integer_convolution(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>, %acc: tensor<1x4x6x6xi8>) -> tensor<1x4x6x6xi8> {
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %w : tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) outs(%acc : tensor<1x4x6x6xi8>) -> tensor<1x4x6x6xi8>
  return %y : tensor<1x4x6x6xi8>
}

// -----

// A boolean mask selected into 0 or -inf and added to a product's result
// (torch-mlir's attention mask) is an epilogue step: its i1 tensor is one
// more input of the region.
// CHECK-LABEL: func.func @mask_epilogue
// CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x16x8xf32>, %[[M:.*]]: tensor<8xi1>)
// CHECK: %[[R:.*]] = tesa.kernel contraction -> tensor<2x8x8xf32> {
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[Q]], %[[K]] : tensor<2x8x16xf32>, tensor<2x16x8xf32>)
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[M]] : tensor<2x8x8xf32>, tensor<8xi1>)
// CHECK: tesa.yield %[[A]]
// CHECK: return %[[R]]
func.func @mask_epilogue(%q: tensor<2x8x16xf32>, %k: tensor<2x16x8xf32>, %mask: tensor<8xi1>) -> tensor<2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %open = arith.constant 0.0 : f16
  %shut = arith.constant 0xFC00 : f16
  %e = tensor.empty() : tensor<2x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %k : tensor<2x8x16xf32>, tensor<2x16x8xf32>) outs(%z : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %added = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<2x8x8xf32>, tensor<8xi1>) outs(%e : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %m: i1, %o: f32):
    %b = arith.select %m, %open, %shut : f16
    %w = arith.extf %b : f16 to f32
    %r = arith.addf %a, %w : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  return %added : tensor<2x8x8xf32>
}
