// RUN: tesa-opt %s --split-input-file --tesa-lower-kernel-regions -verify-diagnostics | FileCheck %s

// A softmax (as --tesa-decompose-aggregated-ops writes it) over rows of 37:
// one row per block of 32 threads, two elements a thread. The max starts
// from its identity (NaN for maxnumf) and joins it through maxnumf after
// the shuffles; the sum of exponentials likewise through addf.
// CHECK-LABEL: gpu.func @row_reduction0(
// CHECK-SAME: %[[IN:.*]]: memref<555xf32>, %[[OUT:.*]]: memref<555xf32>)
// CHECK: %[[ROW:.*]] = gpu.block_id x
// CHECK: memref.load %[[IN]]
// CHECK: memref.load %[[IN]]
// CHECK: arith.maxnumf
// CHECK: gpu.shuffle xor
// CHECK: %[[MAX:.*]] = arith.maxnumf %cst{{[_0-9]*}}, %{{.*}} : f32
// CHECK: arith.subf %{{.*}}, %[[MAX]] : f32
// CHECK: math.exp
// CHECK: gpu.shuffle xor
// CHECK: %[[SUM:.*]] = arith.addf %cst{{[_0-9]*}}, %{{.*}} : f32
// CHECK: %[[P:.*]] = arith.divf %{{.*}}, %[[SUM]] : f32
// CHECK: scf.if
// CHECK: memref.store %[[P]], %[[OUT]]
// CHECK-LABEL: func.func @softmax
// CHECK: gpu.launch_func @tesa_kernels::@row_reduction0 blocks in (%c15, %c1{{.*}}, %c1{{.*}}) threads in (%c32
func.func @softmax(%x: tensor<3x5x37xf32>) -> tensor<3x5x37xf32> {
  %nan = arith.constant 0xFFC00000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x5x37xf32>
  %er = tensor.empty() : tensor<3x5xf32>
  %mi = linalg.fill ins(%nan : f32) outs(%er : tensor<3x5xf32>) -> tensor<3x5xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<3x5xf32>) -> tensor<3x5xf32>
  %r = tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 37], thread_tile = [2], threads = 32, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<3x5x37xf32> {
    %max = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<3x5x37xf32>) outs(%mi : tensor<3x5xf32>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.maxnumf %in, %out : f32
      linalg.yield %m : f32
    } -> tensor<3x5xf32>
    %exp = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %max : tensor<3x5x37xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5x37xf32>) {
    ^bb0(%in: f32, %m: f32, %out: f32):
      %d = arith.subf %in, %m : f32
      %v = math.exp %d : f32
      linalg.yield %v : f32
    } -> tensor<3x5x37xf32>
    %sum = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%exp : tensor<3x5x37xf32>) outs(%si : tensor<3x5xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    } -> tensor<3x5xf32>
    %p = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%exp, %sum : tensor<3x5x37xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5x37xf32>) {
    ^bb0(%in: f32, %s: f32, %out: f32):
      %q = arith.divf %in, %s : f32
      linalg.yield %q : f32
    } -> tensor<3x5x37xf32>
    tesa.yield %p : tensor<3x5x37xf32>
  }
  return %r : tensor<3x5x37xf32>
}

// -----

// Rows of 9000 take more than 32 elements a thread: the region goes back
// in place, with a remark, for the generic path.
// CHECK-LABEL: func.func @too_long
// CHECK-NOT: tesa.kernel
// CHECK-NOT: gpu.launch_func
// CHECK: linalg.generic
func.func @too_long(%x: tensor<2x9000xf32>) -> tensor<2x9000xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x9000xf32>
  %er = tensor.empty() : tensor<2xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2xf32>) -> tensor<2xf32>
  // expected-remark @+1 {{kept on the generic path: rows of 9000 elements are longer than 32 a thread}}
  %r = tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 9000], thread_tile = [36], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<2x9000xf32> {
    %sum = linalg.generic {indexing_maps = [affine_map<(a, c) -> (a, c)>, affine_map<(a, c) -> (a)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<2x9000xf32>) outs(%si : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    } -> tensor<2xf32>
    %p = linalg.generic {indexing_maps = [affine_map<(a, c) -> (a, c)>, affine_map<(a, c) -> (a)>, affine_map<(a, c) -> (a, c)>], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : tensor<2x9000xf32>, tensor<2xf32>) outs(%e : tensor<2x9000xf32>) {
    ^bb0(%in: f32, %s: f32, %out: f32):
      %q = arith.divf %in, %s : f32
      linalg.yield %q : f32
    } -> tensor<2x9000xf32>
    tesa.yield %p : tensor<2x9000xf32>
  }
  return %r : tensor<2x9000xf32>
}

// -----

// A keepdim f64 sum of squares (torch-mlir's variance): the partial sums
// cross lanes as two 32-bit halves and the warps in an f64 buffer; the
// per-row value is read back through (d0, d1, 0).
// CHECK-LABEL: gpu.func @row_reduction0(
// CHECK-SAME: %[[IN:.*]]: memref<512xf32>, %[[OUT:.*]]: memref<512xf32>)
// CHECK-SAME: workgroup(%[[SCRATCH:[^ ]*]] : memref<2xf64, #gpu.address_space<workgroup>>
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : f64 to i64
// CHECK: %[[LOW:.*]] = arith.trunci %[[BITS]] : i64 to i32
// CHECK: gpu.shuffle xor %[[LOW]]
// CHECK: arith.bitcast %{{.*}} : i64 to f64
// CHECK: memref.store %{{.*}}, %[[SCRATCH]]
// CHECK: %[[RMS:.*]] = math.rsqrt %{{.*}} : f32
// CHECK: %[[Y:.*]] = arith.mulf %{{.*}}, %[[RMS]] : f32
// CHECK: memref.store %[[Y]], %[[OUT]]
// CHECK-LABEL: func.func @keepdim_f64
func.func @keepdim_f64(%x: tensor<1x4x128xf32>) -> tensor<1x4x128xf32> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<1x4x128xf32>
  %er = tensor.empty() : tensor<1x4x1xf64>
  %er32 = tensor.empty() : tensor<1x4x1xf32>
  %z = linalg.fill ins(%zero : f64) outs(%er : tensor<1x4x1xf64>) -> tensor<1x4x1xf64>
  %r = tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 128], thread_tile = [2], threads = 64, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<1x4x128xf32> {
    %sq = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<1x4x128xf32>) outs(%z : tensor<1x4x1xf64>) {
    ^bb0(%a: f32, %o: f64):
      %w = arith.extf %a : f32 to f64
      %p = arith.mulf %w, %w : f64
      %s = arith.addf %p, %o : f64
      linalg.yield %s : f64
    } -> tensor<1x4x1xf64>
    %rms = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sq : tensor<1x4x1xf64>) outs(%er32 : tensor<1x4x1xf32>) {
    ^bb0(%a: f64, %o: f32):
      %t = arith.truncf %a : f64 to f32
      %q = math.rsqrt %t : f32
      linalg.yield %q : f32
    } -> tensor<1x4x1xf32>
    %n = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %rms : tensor<1x4x128xf32>, tensor<1x4x1xf32>) outs(%e : tensor<1x4x128xf32>) {
    ^bb0(%a: f32, %q: f32, %o: f32):
      %y = arith.mulf %a, %q : f32
      linalg.yield %y : f32
    } -> tensor<1x4x128xf32>
    tesa.yield %n : tensor<1x4x128xf32>
  }
  return %r : tensor<1x4x128xf32>
}

// -----

// A mask shared by the heads (read through (d0, 0, d2, d3): the row's
// query coordinate times the mask's row stride), and whether a row is all
// masked: a boolean and-reduction, shuffled as i32.
// CHECK-LABEL: gpu.func @row_reduction0(
// CHECK-SAME: %[[X:.*]]: memref<64xf32>, %[[MASK:.*]]: memref<32xf32>, %[[OUT:.*]]: memref<64xf32>)
// CHECK-SAME: workgroup(%[[SCRATCH:[^ ]*]] : memref<1xi32, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = gpu.block_id x
// CHECK: %[[QUERY:.*]] = arith.remui %{{.*}}, %c4
// CHECK: %[[AT:.*]] = arith.muli %[[QUERY]], %c8
// CHECK: %[[OFFSET:.*]] = arith.addi %{{.*}}, %[[AT]] : index
// CHECK: %[[SAFE:.*]] = arith.select %{{.*}}, %[[OFFSET]], %{{.*}} : index
// CHECK: memref.load %[[MASK]][%[[SAFE]]]
// CHECK: arith.cmpf oeq
// CHECK: arith.andi %{{.*}} : i1
// CHECK: %[[WIDE:.*]] = arith.extui %{{.*}} : i1 to i32
// CHECK: gpu.shuffle xor %[[WIDE]]
// CHECK: arith.andi %{{.*}} : i32
// CHECK: %[[ALL:.*]] = arith.trunci %{{.*}} : i32 to i1
// CHECK: %[[STARTED:.*]] = arith.andi %{{.*}}, %[[ALL]] : i1
// CHECK: arith.select %[[STARTED]], %cst{{.*}}, %{{.*}} : f32
// CHECK-LABEL: func.func @masked_rows
func.func @masked_rows(%x: tensor<1x2x4x8xf32>, %mask: tensor<1x1x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %true = arith.constant true
  %e = tensor.empty() : tensor<1x2x4x8xf32>
  %eb = tensor.empty() : tensor<1x2x4x8xi1>
  %er = tensor.empty() : tensor<1x2x4x1xi1>
  %all0 = linalg.fill ins(%true : i1) outs(%er : tensor<1x2x4x1xi1>) -> tensor<1x2x4x1xi1>
  %r = tesa.kernel row_reduction config(#tesa.tile_config<tile = [1, 8], thread_tile = [1], threads = 32, stages = 1, copy = registers, atom = fma_f32, work = rows, split_k = 1>) -> tensor<1x2x4x8xf32> {
    %added = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %mask : tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>) outs(%e : tensor<1x2x4x8xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x2x4x8xf32>
    %masked = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%added : tensor<1x2x4x8xf32>) outs(%eb : tensor<1x2x4x8xi1>) {
    ^bb0(%a: f32, %o: i1):
      %c = arith.cmpf oeq, %a, %ninf : f32
      linalg.yield %c : i1
    } -> tensor<1x2x4x8xi1>
    %all = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%masked : tensor<1x2x4x8xi1>) outs(%all0 : tensor<1x2x4x1xi1>) {
    ^bb0(%a: i1, %o: i1):
      %c = arith.andi %a, %o : i1
      linalg.yield %c : i1
    } -> tensor<1x2x4x1xi1>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%all, %added : tensor<1x2x4x1xi1>, tensor<1x2x4x8xf32>) outs(%e : tensor<1x2x4x8xf32>) {
    ^bb0(%c: i1, %v: f32, %o: f32):
      %zero = arith.constant 0.0 : f32
      %s = arith.select %c, %zero, %v : f32
      linalg.yield %s : f32
    } -> tensor<1x2x4x8xf32>
    tesa.yield %y : tensor<1x2x4x8xf32>
  }
  return %r : tensor<1x2x4x8xf32>
}
