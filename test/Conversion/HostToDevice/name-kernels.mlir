// RUN: tesa-opt %s --split-input-file --tesa-name-kernels | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-name-kernels --gpu-kernel-outlining | FileCheck %s --check-prefix=OUTLINED

// An importer's name (torch-mlir: module path and aten op) names the kernel.
// CHECK-LABEL: func.func @importer_name
// CHECK: gpu.launch {{.*}} function(@encoder_layer_0_output_dense_aten_mm_default) {
// OUTLINED-LABEL: func.func @importer_name
// OUTLINED: gpu.launch_func @encoder_layer_0_output_dense_aten_mm_default::@encoder_layer_0_output_dense_aten_mm_default
// OUTLINED: gpu.module @encoder_layer_0_output_dense_aten_mm_default
// OUTLINED: gpu.func @encoder_layer_0_output_dense_aten_mm_default(
func.func @importer_name(%m: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %m[%tx] : memref<4xf32>
    %d = arith.addf %v, %v : f32
    memref.store %d, %m[%tx] : memref<4xf32>
    gpu.terminator
  } loc(fused["encoder.layer.0.output.dense (aten.mm.default)"("model.py":12:0), "other"])
  return
}

// -----

// tesa.torch's locations (module path and aten op in the file name); else
// the function and the source line; a leading digit gets a prefix; a launch
// already named keeps its name.
// CHECK-LABEL: func.func @lines
// CHECK: gpu.launch {{.*}} function(@features_3_conv_0_aten_convolution_default) {
// CHECK: gpu.launch {{.*}} function(@lines_line7) {
// CHECK: gpu.launch {{.*}} function(@k_3x3_conv) {
// CHECK: gpu.launch {{.*}} function(@mine) {
func.func @lines(%m: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  } loc("features.3.conv.0 (aten.convolution.default) in /x/mobilenetv2.py":166:0)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  } loc("input.mlir":7:3)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  } loc("3x3 conv!")
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             function(@mine) {
    gpu.terminator
  }
  return
}
