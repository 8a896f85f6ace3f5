// RUN: tesa-opt %s -split-input-file --tesa-launches-to-host-loops -verify-diagnostics | FileCheck %s

// A barrier-free kernel: the launch becomes loops over blocks z, y, x and
// threads z, y, x, the kernel's body inside, its ids the loops' and its
// sizes the launch's. The kernel module goes with its last launch.
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[BUF:.*]]: memref<100xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 32 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %[[BX:.*]] = %{{.*}} to %[[GRID]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[FIRST:.*]] = arith.muli %[[BX]], %[[BLOCK]] : index
// CHECK: %[[I:.*]] = arith.addi %[[FIRST]], %[[TX]] : index
// CHECK: scf.if
// CHECK: memref.load %[[BUF]][%[[I]]]
// CHECK: memref.store %{{.*}}, %[[BUF]][%[[I]]]
// CHECK-NOT: gpu.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%buf: memref<100xf32>) kernel {
      %tx = gpu.thread_id x
      %bx = gpu.block_id x
      %size = gpu.block_dim x
      %first = arith.muli %bx, %size : index
      %i = arith.addi %first, %tx : index
      %n = arith.constant 100 : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %v = memref.load %buf[%i] : memref<100xf32>
        %twice = arith.addf %v, %v : f32
        memref.store %twice, %buf[%i] : memref<100xf32>
      }
      gpu.return
    }
  }
  func.func @scale(%buf: memref<100xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@scale blocks in (%c4, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<100xf32>)
    return
  }
}

// -----

// A barrier cuts the kernel: the stretch before it runs for every thread,
// then the stretch after it. The value the second stretch uses is kept per
// thread; the workgroup attribution is a host buffer for all blocks.
// CHECK-LABEL: func.func @reverse
// CHECK-SAME: (%[[BUF:.*]]: memref<64xf32>)
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 32 : index
// CHECK: %[[TILE:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: %[[INDICES:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xindex>
// CHECK: %[[KEPT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[ID:.*]] = arith.addi %{{.*}}, %[[TX]] : index
// CHECK: %[[I:.*]] = arith.addi %{{.*}}, %[[TX]] : index
// CHECK: memref.store %[[I]], %[[INDICES]][%[[ID]]]
// CHECK: %[[V:.*]] = memref.load %[[BUF]][%[[I]]]
// CHECK: memref.store %[[V]], %[[KEPT]][%[[ID]]]
// CHECK: memref.store %[[V]], %[[TILE]][%[[TX]]]
// CHECK: scf.for %[[TX2:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[ID2:.*]] = arith.addi %{{.*}}, %[[TX2]] : index
// CHECK: %[[MIRROR:.*]] = arith.subi %{{.*}}, %[[TX2]]
// CHECK: %[[W:.*]] = memref.load %[[TILE]][%[[MIRROR]]]
// CHECK: %[[MINE:.*]] = memref.load %[[KEPT]][%[[ID2]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[W]], %[[MINE]]
// CHECK: %[[I2:.*]] = memref.load %[[INDICES]][%[[ID2]]]
// CHECK: memref.store %[[SUM]], %[[BUF]][%[[I2]]]
// CHECK: memref.dealloc %[[TILE]]
// CHECK-NOT: gpu.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reverse(%buf: memref<64xf32>) workgroup(%tile: memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      %tx = gpu.thread_id x
      %bx = gpu.block_id x
      %c31 = arith.constant 31 : index
      %c32 = arith.constant 32 : index
      %first = arith.muli %bx, %c32 : index
      %i = arith.addi %first, %tx : index
      %v = memref.load %buf[%i] : memref<64xf32>
      memref.store %v, %tile[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %mirror = arith.subi %c31, %tx : index
      %w = memref.load %tile[%mirror] : memref<32xf32, #gpu.address_space<workgroup>>
      %sum = arith.addf %w, %v : f32
      memref.store %sum, %buf[%i] : memref<64xf32>
      gpu.return
    }
  }
  func.func @reverse(%buf: memref<64xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@reverse blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<64xf32>)
    return
  }
}

// -----

// A shuffle stores every lane's operand, then reads its source lane's
// within the group of `width` lanes (its own outside it). Dynamic shared
// memory is a host buffer of the launch's size, its views host memrefs.
// CHECK-LABEL: func.func @butterfly
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 32 : index
// CHECK: %[[SHARED:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi8>
// CHECK: %[[OPERANDS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[RESULTS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[VALID:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi1>
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[ID:.*]] = arith.addi %{{.*}}, %[[TX]] : index
// CHECK: %[[V:.*]] = memref.load
// CHECK: memref.store %[[V]], %[[OPERANDS]][%[[ID]]]
// CHECK: scf.for %[[TX2:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[ID2:.*]] = arith.addi %{{.*}}, %[[TX2]] : index
// CHECK: %[[LANE:.*]] = arith.remui %[[ID2]], %{{.*}} : index
// CHECK: %[[LANE32:.*]] = arith.index_cast %[[LANE]] : index to i32
// CHECK: %[[REL:.*]] = arith.remui %[[LANE32]], %[[WIDTH:.*]] : i32
// CHECK: %[[SRC:.*]] = arith.xori %[[REL]], %{{.*}} : i32
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[SRC]], %[[WIDTH]] : i32
// CHECK: %[[IS_VALID:.*]] = arith.andi %[[INSIDE]], %{{.*}} : i1
// CHECK: %[[READ:.*]] = arith.select %[[IS_VALID]], %{{.*}}, %[[ID2]] : index
// CHECK: %[[THEIRS:.*]] = memref.load %[[OPERANDS]][%[[READ]]]
// CHECK: memref.store %[[THEIRS]], %[[RESULTS]][%[[ID2]]]
// CHECK: memref.store %[[IS_VALID]], %[[VALID]][%[[ID2]]]
// CHECK: scf.for %[[TX3:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[GOT:.*]] = memref.load %[[RESULTS]]
// CHECK: %[[VIEW:.*]] = memref.view %[[SHARED]][%{{.*}}][] : memref<?xi8> to memref<32xf32>
// CHECK: memref.store %[[GOT]], %[[VIEW]][%[[TX3]]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @butterfly(%buf: memref<32xf32>) kernel {
      %tx = gpu.thread_id x
      %shared = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %c0 = arith.constant 0 : index
      %tile = memref.view %shared[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32xf32, #gpu.address_space<workgroup>>
      %v = memref.load %buf[%tx] : memref<32xf32>
      %offset = arith.constant 1 : i32
      %width = arith.constant 8 : i32
      %other, %valid = gpu.shuffle xor %v, %offset, %width : f32
      memref.store %other, %tile[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
  func.func @butterfly(%buf: memref<32xf32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %bytes = arith.constant 128 : i32
    gpu.launch_func @kernels::@butterfly blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) dynamic_shared_memory_size %bytes args(%buf : memref<32xf32>)
    return
  }
}

// -----

// A loop around a barrier runs on the host, with bounds every thread
// agrees on (checked) and its iteration values in per-thread buffers. The
// body's head (before its first barrier) runs for the first iteration
// before the loop, and for each next one in the thread loop of the
// iteration's tail (after its last barrier): no barrier separates them on
// the GPU either. A branch around a barrier masks each thread loop inside
// with its condition.
// CHECK-LABEL: func.func @steps
// CHECK: %[[COUNTS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xindex>
// CHECK: %[[UPPER:.*]] = memref.alloc() {alignment = 64 : i64} : memref<index>
// CHECK: %[[SUMS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[NEXT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[EVENS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi1>
// CHECK: %[[CHOSEN:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: %[[MINE:.*]] = memref.load %[[COUNTS]]
// CHECK: memref.store %[[MINE]], %[[UPPER]][]
// CHECK: %[[COUNT:.*]] = memref.load %[[UPPER]][]
// CHECK: %[[THEIRS:.*]] = memref.load %[[COUNTS]]
// CHECK: %[[SAME:.*]] = arith.cmpi eq, %[[THEIRS]], %[[COUNT]]
// CHECK: cf.assert %[[SAME]], "tesa host loops: the threads disagree on the bounds of a loop around a barrier"
// CHECK: memref.store %{{.*}}, %[[SUMS]]
// CHECK: %[[RUNS:.*]] = arith.cmpi slt, %{{.*}}, %[[COUNT]]
// CHECK: scf.if %[[RUNS]]
// CHECK: %[[OLD:.*]] = memref.load %[[SUMS]]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]]
// CHECK: memref.store %[[NEW]], %[[NEXT]]
// CHECK: scf.for %[[STEP:.*]] = %{{.*}} to %[[COUNT]] step %[[ONE:.*]] {
// CHECK: %[[FOLLOWING:.*]] = arith.addi %[[STEP]], %[[ONE]]
// CHECK: %[[MORE:.*]] = arith.cmpi slt, %[[FOLLOWING]], %[[COUNT]]
// CHECK: %[[LAST:.*]] = memref.load %[[NEXT]]
// CHECK: memref.store %[[LAST]], %[[SUMS]]
// CHECK: scf.if %[[MORE]]
// CHECK: %[[OLD2:.*]] = memref.load %[[SUMS]]
// CHECK: %[[NEW2:.*]] = arith.addf %[[OLD2]]
// CHECK: memref.store %[[NEW2]], %[[NEXT]]
// CHECK: memref.store %{{.*}}, %[[EVENS]]
// CHECK: %[[EVEN:.*]] = memref.load %[[EVENS]]
// CHECK: scf.if %[[EVEN]]
// CHECK: %[[SUM:.*]] = memref.load %[[SUMS]]
// CHECK: memref.store %[[SUM]], %[[CHOSEN]]
// CHECK: %[[EVEN2:.*]] = memref.load %[[EVENS]]
// CHECK: %[[ODD:.*]] = arith.xori %[[EVEN2]]
// CHECK: scf.if %[[ODD]]
// CHECK: memref.store %{{.*}}, %[[CHOSEN]]
// CHECK: %[[RESULT:.*]] = memref.load %[[CHOSEN]]
// CHECK: memref.store %[[RESULT]], %{{.*}}[%{{.*}}] : memref<32xf32>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @steps(%buf: memref<32xf32>, %n: memref<1xindex>) kernel {
      %tx = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %count = memref.load %n[%c0] : memref<1xindex>
      %zero = arith.constant 0.0 : f32
      %sum = scf.for %k = %c0 to %count step %c1 iter_args(%acc = %zero) -> f32 {
        %v = memref.load %buf[%tx] : memref<32xf32>
        %next = arith.addf %acc, %v : f32
        gpu.barrier
        scf.yield %next : f32
      }
      %parity = arith.remui %tx, %c2 : index
      %even = arith.cmpi eq, %parity, %c0 : index
      %chosen = scf.if %even -> f32 {
        gpu.barrier
        scf.yield %sum : f32
      } else {
        scf.yield %zero : f32
      }
      memref.store %chosen, %buf[%tx] : memref<32xf32>
      gpu.return
    }
  }
  func.func @steps(%buf: memref<32xf32>, %n: memref<1xindex>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@steps blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xf32>, %n : memref<1xindex>)
    return
  }
}

// -----

// Threads cannot synchronise inside a while loop (its trip count is each
// thread's own).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @spin(%buf: memref<32xi1>) kernel {
      %c0 = arith.constant 0 : index
      // expected-note @below {{here}}
      scf.while : () -> () {
        %go = memref.load %buf[%c0] : memref<32xi1>
        scf.condition(%go)
      } do {
        gpu.barrier
        scf.yield
      }
      gpu.return
    }
  }
  func.func @spin(%buf: memref<32xi1>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    // expected-error @below {{cannot run @kernels::@spin on the host: its threads synchronise inside 'scf.while'}}
    gpu.launch_func @kernels::@spin blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xi1>)
    return
  }
}

// -----

// A thread's own memory cannot outlive a barrier (the host loops keep
// scalars and vectors per thread, not buffers).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @private(%buf: memref<32xf32>) kernel {
      %tx = gpu.thread_id x
      // expected-note @below {{here}}
      %mine = memref.alloca() : memref<4xf32>
      gpu.barrier
      %c0 = arith.constant 0 : index
      %v = memref.load %mine[%c0] : memref<4xf32>
      memref.store %v, %buf[%tx] : memref<32xf32>
      gpu.return
    }
  }
  func.func @private(%buf: memref<32xf32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    // expected-error @below {{cannot run @kernels::@private on the host: a value of type memref<4xf32> lives across a barrier}}
    gpu.launch_func @kernels::@private blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xf32>)
    return
  }
}

// -----

// Nor can a kernel with device-only ops.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @device(%buf: memref<32xi32>) kernel {
      %tx = gpu.thread_id x
      // expected-note @below {{here}}
      %clock = nvvm.read.ptx.sreg.clock : i32
      memref.store %clock, %buf[%tx] : memref<32xi32>
      gpu.return
    }
  }
  func.func @device(%buf: memref<32xi32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    // expected-error @below {{cannot run @kernels::@device on the host: it uses 'nvvm.read.ptx.sreg.clock'}}
    gpu.launch_func @kernels::@device blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xi32>)
    return
  }
}

// -----

// ldmatrix and mma.sync are warp-wide: each lane's fragments are kept, then
// each lane reads the rows the warp's lanes address (lane 8i + r row r of
// matrix i; lane 4g + t gets row g, elements 2t and 2t + 1), and each lane's
// accumulators come from the A and B fragments of the lanes that hold them
// in the PTX ISA's m16n8k16 layout.
// CHECK-LABEL: func.func @fragments
// CHECK: %[[TILE:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x16xf16>
// CHECK: %[[ROWS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xindex>
// CHECK: %[[COLUMNS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xindex>
// CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xvector<4x2xf16>>
// CHECK: %[[B:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xvector<2x2xf16>>
// CHECK: %[[D:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xvector<2x2xf32>>
// CHECK: memref.store %{{.*}}, %[[COLUMNS]]
// Lane (g, t) reads, of matrix 0, row g at the address lane g of its warp
// gave, elements 2t and 2t + 1.
// CHECK: %[[LANE:.*]] = arith.remui %[[ID:.*]], %{{.*}} : index
// CHECK: %[[WARP:.*]] = arith.subi %[[ID]], %{{.*}} : index
// CHECK: %[[G:.*]] = arith.divui %[[LANE]], %{{.*}} : index
// CHECK: %[[T:.*]] = arith.remui %[[LANE]], %{{.*}} : index
// CHECK: %[[TWO_T:.*]] = arith.muli %[[T]], %{{.*}} : index
// CHECK: %[[ELEMENT:.*]] = arith.addi %[[TWO_T]], %{{.*}} : index
// CHECK: %[[ROW_LANE:.*]] = arith.addi %[[G]], %{{.*}} : index
// CHECK: %[[SOURCE:.*]] = arith.addi %[[WARP]], %[[ROW_LANE]] : index
// CHECK: %[[ROW:.*]] = memref.load %[[ROWS]][%[[SOURCE]]]
// CHECK: %[[START:.*]] = memref.load %[[COLUMNS]][%[[SOURCE]]]
// CHECK: %[[COLUMN:.*]] = arith.addi %[[START]], %[[ELEMENT]] : index
// CHECK: memref.load %[[TILE]][%[[ROW]], %[[COLUMN]]] : memref<16x16xf16>
// CHECK: %[[FRAGMENTS:.*]] = vector.from_elements {{.*}} : vector<4x2xf16>
// CHECK: memref.store %[[FRAGMENTS]], %[[A]][%[[ID]]]
// The product: 16 fused multiply-adds an accumulator, in f32.
// CHECK: memref.load %[[A]][%{{.*}}] : memref<?xvector<4x2xf16>>
// CHECK: memref.load %[[B]][%{{.*}}] : memref<?xvector<2x2xf16>>
// CHECK-COUNT-16: math.fma %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: %[[SUMS:.*]] = vector.from_elements {{.*}} : vector<2x2xf32>
// CHECK: memref.store %[[SUMS]], %[[D]]
// CHECK-NOT: nvgpu.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fragments(%out: memref<32xvector<2x2xf32>>) workgroup(%tile: memref<16x16xf16, #gpu.address_space<workgroup>>) kernel {
      %tx = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %row = arith.remui %tx, %c16 : index
      %half = arith.divui %tx, %c16 : index
      %column = arith.muli %half, %c8 : index
      %a = nvgpu.ldmatrix %tile[%row, %column] {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %b = arith.constant dense<1.0> : vector<2x2xf16>
      %acc = arith.constant dense<0.0> : vector<2x2xf32>
      %d = nvgpu.mma.sync(%a, %b, %acc) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      memref.store %d, %out[%tx] : memref<32xvector<2x2xf32>>
      gpu.return
    }
  }
  func.func @fragments(%out: memref<32xvector<2x2xf32>>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@fragments blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%out : memref<32xvector<2x2xf32>>)
    return
  }
}

// -----

// A loop around shuffles only (no barrier) needs bounds its warp agrees on:
// each warp runs it on its own, its thread loops over the warp's lanes. A
// dp4a is four widened products added to its accumulator.
// CHECK-LABEL: func.func @per_warp
// CHECK: arith.muli
// CHECK: %[[THREADS:.*]] = arith.muli
// CHECK: scf.for %[[WARP:.*]] = %{{.*}} to %[[THREADS]] step %[[STEP:.*]] {
// CHECK: %[[END:.*]] = arith.minui %{{.*}}, %[[THREADS]] : index
// CHECK: scf.for %[[ID:.*]] = %[[WARP]] to %[[END]]
// CHECK: cf.assert
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %{{.*}} = %[[WARP]] to %{{.*}}
// CHECK: arith.xori
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-COUNT-4: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK-NOT: nvvm.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @per_warp(%buf: memref<64xi32>, %bytes: memref<64xvector<4xi8>>) kernel {
      %tx = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c32 = arith.constant 32 : index
      %warp = arith.divui %tx, %c32 : index
      %start = memref.load %buf[%tx] : memref<64xi32>
      %count = arith.addi %warp, %c1 : index
      %offset = arith.constant 1 : i32
      %width = arith.constant 32 : i32
      %sum = scf.for %i = %c0 to %count step %c1 iter_args(%acc = %start) -> i32 {
        %other, %valid = gpu.shuffle xor %acc, %offset, %width : i32
        %v = memref.load %bytes[%tx] : memref<64xvector<4xi8>>
        %dot = nvvm.dot.accumulate.4way %v <signed>, %v <signed>, %other : vector<4xi8>, vector<4xi8>
        scf.yield %dot : i32
      }
      memref.store %sum, %buf[%tx] : memref<64xi32>
      gpu.return
    }
  }
  func.func @per_warp(%buf: memref<64xi32>, %bytes: memref<64xvector<4xi8>>) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@per_warp blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%buf : memref<64xi32>, %bytes : memref<64xvector<4xi8>>)
    return
  }
}

// -----

// NVVM's mma.sync (here s8, m8n8k16): each lane's accumulators from the
// registers of the lanes that hold them, kept per thread as a vector, which
// the reads of the struct's members load.
// CHECK-LABEL: func.func @int8_product
// CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi32>
// CHECK: %[[D:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xvector<2xi32>>
// A's byte 1 of a word: shifted up 16 bits, then down 24 with its sign.
// CHECK: %[[WORD:.*]] = memref.load %[[A]]
// CHECK: %[[UP:.*]] = arith.shli %[[WORD]], %{{.*}} : i32
// CHECK: arith.shrsi %[[UP]], %{{.*}} : i32
// CHECK-COUNT-16: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK: %[[SUMS:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xi32>
// CHECK: memref.store %[[SUMS]], %[[D]]
// CHECK: %[[KEPT:.*]] = memref.load %[[D]]
// CHECK: %[[FIRST:.*]] = vector.extract %[[KEPT]][0] : i32 from vector<2xi32>
// CHECK: memref.store %[[FIRST]]
// CHECK-NOT: nvvm.
// CHECK-NOT: llvm.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @int8_product(%words: memref<32xi32>, %out: memref<32xi32>) kernel {
      %tx = gpu.thread_id x
      %a = memref.load %words[%tx] : memref<32xi32>
      %zero = arith.constant 0 : i32
      %d = nvvm.mma.sync A[%a] B[%a] C[%zero, %zero] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, shape = #nvvm.shape<m = 8, n = 8, k = 16>} : (i32, i32, i32) -> !llvm.struct<(i32, i32)>
      %first = llvm.extractvalue %d[0] : !llvm.struct<(i32, i32)>
      memref.store %first, %out[%tx] : memref<32xi32>
      gpu.return
    }
  }
  func.func @int8_product(%words: memref<32xi32>, %out: memref<32xi32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@int8_product blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%words : memref<32xi32>, %out : memref<32xi32>)
    return
  }
}

// -----

// A failed check's trap (--tesa-asserts-to-traps) traps on the host too.
// CHECK-LABEL: func.func @checked
// CHECK: scf.if
// CHECK-NEXT: llvm.intr.trap
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @checked(%buf: memref<32xindex>) kernel {
      %tx = gpu.thread_id x
      %i = memref.load %buf[%tx] : memref<32xindex>
      %c32 = arith.constant 32 : index
      %outside = arith.cmpi uge, %i, %c32 : index
      scf.if %outside {
        llvm.intr.trap
      }
      gpu.return
    }
  }
  func.func @checked(%buf: memref<32xindex>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@checked blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xindex>)
    return
  }
}
