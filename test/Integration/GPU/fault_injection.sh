#!/bin/sh
#===- test/Integration/GPU/fault_injection.sh - Faults on the real driver -===#
#
# Runtime fault injection on the real CUDA backend (see
# FaultInjection/FaultInjection.cpp for what each group checks).
#
#   fault_injection.sh prepare DIR   (here) the test, the stand-in driver and
#                                    the example MLP compiled for sm_90
#   fault_injection.sh run DIR       (GPU machine) every group; logs under
#                                    $OUT (default gpu-run/out); exit
#                                    status 1 if any check failed
#
#===----------------------------------------------------------------------===#
set -u
mode=${1:-}
dir=${2:-gpu-run/fault}
case "$mode" in
  prepare)
    rm -rf "$dir" && mkdir -p "$dir/shim" "$dir/broken" || exit 1
    cp build/bin/tesa-fault-injection "$dir/" &&
      cp build/test/fault-shim/libcuda.so.1 "$dir/shim/" &&
      build/bin/tesa-compile examples/mlp.mlir --target=nvvm --chip=sm_90 \
        -o "$dir/mlp.so" || exit 1
    # A driver library that does not load.
    echo "not a driver" >"$dir/broken/libcuda.so.1"
    ;;
  run)
    OUT=${OUT:-gpu-run/out}
    mkdir -p "$OUT"
    real=$(ldconfig -p | awk '/libcuda\.so\.1 .*x86-64/ { print $NF; exit }')
    status=0
    group() {
      name=$1
      shift
      "$@" >"$OUT/fault-$name.log" 2>&1
      rc=$?
      [ $rc -eq 0 ] || status=1
      grep -c "^ok: " "$OUT/fault-$name.log" | sed "s/^/$name: ok /"
      grep "^FAIL: " "$OUT/fault-$name.log"
      echo "$name: exit status $rc"
    }
    test=$dir/tesa-fault-injection
    group injected env LD_LIBRARY_PATH="$dir/shim" TESA_REAL_LIBCUDA="$real" \
      TESA_CHECK_BUFFERS=1 "$test" "$dir/mlp.so" injected
    group sticky "$test" "$dir/mlp.so" sticky
    group broken-driver env LD_LIBRARY_PATH="$dir/broken" "$test" \
      "$dir/mlp.so" no-device "no CUDA device: libcuda.so.1 could not be loaded"
    group no-visible-device env CUDA_VISIBLE_DEVICES= "$test" "$dir/mlp.so" \
      no-device "no CUDA device: "
    group bad-device env TESA_DEVICE=999 "$test" "$dir/mlp.so" no-device \
      "no CUDA device: TESA_DEVICE is 999"
    exit $status
    ;;
  *)
    echo "usage: $0 prepare|run [DIR]" >&2
    exit 1
    ;;
esac
