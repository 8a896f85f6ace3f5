// RUN: tesa-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(tesa-tensor-map-params))' -verify-diagnostics | FileCheck %s

// A kernel that takes a tensor map's address (a TMA load) and reads one of
// its words: the argument becomes the byval, grid-constant parameter
// itself; the read loads from it. Other arguments are untouched.
// CHECK-LABEL: llvm.func @tma_kernel(
// CHECK-SAME: %[[MAP:.*]]: !llvm.ptr {llvm.align = 64 : i32, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant},
// CHECK-SAME: %[[DST:.*]]: !llvm.ptr<3>)
// CHECK: %[[WORDS:.*]] = llvm.load %[[MAP]] {alignment = 64 : i64} : !llvm.ptr -> !llvm.array<16 x i64>
// CHECK-NOT: builtin.unrealized_conversion_cast
// CHECK: nvvm.prefetch tensormap, %[[MAP]]
// CHECK: llvm.extractvalue %[[WORDS]][0]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    llvm.func @tma_kernel(%map: !llvm.array<16 x i64>, %dst: !llvm.ptr<3>) attributes {nvvm.kernel} {
      %address = builtin.unrealized_conversion_cast %map : !llvm.array<16 x i64> to !llvm.ptr
      nvvm.prefetch tensormap, %address : !llvm.ptr
      %word = llvm.extractvalue %map[0] : !llvm.array<16 x i64>
      llvm.store %word, %dst : i64, !llvm.ptr<3>
      llvm.return
    }
  }
}

// -----

// An array argument whose address is not taken, and a device function,
// keep their signatures.
// CHECK-LABEL: llvm.func @by_value(
// CHECK-SAME: %{{.*}}: !llvm.array<16 x i64>)
// CHECK-LABEL: llvm.func @device_function(
// CHECK-SAME: %{{.*}}: !llvm.array<16 x i64>)
module attributes {gpu.container_module} {
  gpu.module @kernels {
    llvm.func @by_value(%map: !llvm.array<16 x i64>) attributes {nvvm.kernel} {
      llvm.return
    }
    llvm.func @device_function(%map: !llvm.array<16 x i64>) {
      %address = builtin.unrealized_conversion_cast %map : !llvm.array<16 x i64> to !llvm.ptr
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{argument 0 of type '!llvm.array<4 x i64>' has its address taken but is not a 128-byte tensor map}}
    llvm.func @too_small(%map: !llvm.array<4 x i64>) attributes {nvvm.kernel} {
      %address = builtin.unrealized_conversion_cast %map : !llvm.array<4 x i64> to !llvm.ptr
      nvvm.prefetch tensormap, %address : !llvm.ptr
      llvm.return
    }
  }
}
