// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=auto" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s

// The accumulator is a fill of zeros: the only part's kernel covers every
// result element, channel 1 included though it keeps nothing (a work row
// with no entries), and writes the sum plus zero without reading the
// result. No fill is materialised and nothing is copied.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_rows : memref<3xi32> = dense<[0, 1, 2]>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.+}}: memref<4x5xf32>, %{{.+}}: memref<{{[0-9]+}}xf32>, %[[OUT:.+]]: memref<5x3xf32>)
// CHECK: scf.for
// CHECK: math.fma
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[INIT:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[SUM:.+]] = arith.addf %[[INIT]], %{{.+}} : f32
// CHECK: memref.store %[[SUM]], %[[OUT]]
// CHECK-LABEL: func.func @zeros
// CHECK-NOT: memref.copy
// CHECK-NOT: linalg.fill
// CHECK: %[[RESULT:.+]] = memref.alloc() : memref<5x3xf32>
// CHECK-NOT: memref.copy
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}} args({{.+}}, %[[RESULT]] : memref<5x3xf32>)
func.func @zeros(%x: tensor<5x4xf32>,
                 %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
    -> tensor<5x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%zeros : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// Any constant fill: its value is added to every sum.
// CHECK-LABEL: gpu.func @part0(
// CHECK: %[[INIT:.+]] = arith.constant 1.500000e+00 : f32
// CHECK: arith.addf %[[INIT]], %{{.+}} : f32
// CHECK-LABEL: func.func @ones_and_a_half
func.func @ones_and_a_half(%x: tensor<5x4xf32>,
                           %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
    -> tensor<5x3xf32> {
  %c = arith.constant 1.5 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %init = linalg.fill ins(%c : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%init : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// Two parts (int8 and f32 elements): only the first writes without
// reading; the second adds to the first's result in place.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT0:[^ ]+]]: memref<5x3xf32>)
// CHECK-NOT: memref.load %[[OUT0]]
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @part1(
// CHECK-SAME: %[[OUT1:[^ ]+]]: memref<5x3xf32>)
// CHECK: memref.load %[[OUT1]]
// CHECK-LABEL: func.func @two_parts
// CHECK-NOT: memref.copy
// CHECK: %[[RESULT:.+]] = memref.alloc() : memref<5x3xf32>
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}}, %[[RESULT]] : memref<5x3xf32>)
// CHECK: gpu.launch_func @tesa_kernels::@part1 {{.+}}, %[[RESULT]] : memref<5x3xf32>)
func.func @two_parts(%x: tensor<5x4xf32>,
                     %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[8, 0, 0], [32, 0, 0], [0, 0, 8], [0, 0, 0]]> : tensor<4x3xi8>>>)
    -> tensor<5x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[8, 0, 0], [32, 0, 0], [0, 0, 8], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%zeros : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// An accumulator that is not a constant fill is copied and read.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT:[^ ]+]]: memref<5x3xf32>)
// CHECK: memref.load %[[OUT]]
// CHECK-LABEL: func.func @argument
// CHECK: memref.copy
func.func @argument(%x: tensor<5x4xf32>,
                    %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>,
                    %acc: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%acc : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// A result with dead columns (rows 16-39 of C) keeps the copy of the
// filled accumulator, so that the kernel skips them: it covers the live
// columns only and reads the result.
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK: memref.global "private" constant @part0_columns : memref<16xi32>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT:[^ ]+]]: memref<40x32xf32>)
// CHECK: memref.load %[[OUT]]
// CHECK-LABEL: func.func @dead_columns
// CHECK: linalg.fill
// CHECK: memref.copy
#dead = #tesa.sparsity<map = dense<[[32], [32], [0], [0], [0]]> : tensor<5x1xi8>>
func.func @dead_columns(%x: tensor<40x64xf32>,
                        %w: tensor<64x32xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>)
    -> tensor<40x32xf32, #dead> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<40x32xf32, #dead>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<40x32xf32, #dead>) -> tensor<40x32xf32, #dead>
  %r = linalg.matmul ins(%x, %w : tensor<40x64xf32>, tensor<64x32xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>)
                     outs(%zeros : tensor<40x32xf32, #dead>) -> tensor<40x32xf32, #dead>
  return %r : tensor<40x32xf32, #dead>
}
