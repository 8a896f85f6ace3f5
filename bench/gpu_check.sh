#!/bin/sh
# On the GPU machine, in one run: the kernel benchmark of DIR/k8 (as
# `gpu_kernels.py prepare DIR/k8` wrote it), compute-sanitizer's memcheck,
# racecheck and synccheck on the TMA / wgmma libraries of DIR/san
# (`profile_parts.py prepare-wgmma DIR/san`), and the GPU suite of
# DIR/suite (`test/Integration/GPU/suite.py prepare DIR/suite`). Each
# directory may come as DIR/pack/NAME.tar.gz instead. Logs go to OUT.
#
#   bench/gpu_check.sh DIR OUT
set -u
dir=$1 out=$2
for pack in "$dir"/pack/*.tar.gz; do
  [ -e "$pack" ] && tar xzf "$pack" -C "$dir"
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/device.txt"
if [ -d "$dir/k8" ]; then
  timeout 150 python3 bench/gpu_kernels.py run "$dir/k8" > "$out/kernels.log" 2>&1
  cp "$dir/k8/results.json" "$out/kernels-results.json"
fi
if [ -d "$dir/san" ]; then
  for case in $(python3 -c "import json,sys; print(' '.join(c['name'] for c in json.load(open(sys.argv[1]))))" "$dir/san/manifest.json"); do
    for tool in memcheck racecheck synccheck; do
      echo "== $case $tool" >> "$out/sanitizers.log"
      timeout 60 compute-sanitizer --tool $tool --error-exitcode 3 \
        python3 bench/profile_parts.py case "$dir/san" "$case" >> "$out/sanitizers.log" 2>&1
      echo "rc $?" >> "$out/sanitizers.log"
    done
  done
fi
if [ -d "$dir/suite" ]; then
  timeout 240 python3 test/Integration/GPU/suite.py run "$dir/suite" > "$out/suite.log" 2>&1
  echo "suite rc $?" >> "$out/suite.log"
fi
# The summary.
grep -hE "^(block|int8|fine|mixed|dense)" "$out/kernels.log" 2>/dev/null |
  sed 's/; cuBLAS fp16.*cuBLAS int8/ cuBLAS int8/; s/, cuBLASLt.*//'
grep -hE "^rc|ERROR SUMMARY|relative error" "$out/sanitizers.log" 2>/dev/null | sort | uniq -c
[ -f "$out/suite.log" ] && tail -2 "$out/suite.log"
exit 0
