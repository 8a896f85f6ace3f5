#!/usr/bin/env bash
#===- test/Integration/GPU/device_run.sh - Everything that needs a GPU ----===#
#
# Runs on the GPU machine, from the repository root, with the libraries that
# `prepare_device_run.sh` compiled into gpu-run/: the runtime's unit tests,
# the GPU correctness suite (numpy and PyTorch paths), the suite under
# compute-sanitizer memcheck and racecheck, the example MLP beside PyTorch,
# and the kernel benchmarks. Results go to $OUT (default gpu-run/out).
#
#   device_run.sh check   unit tests, suite, demo, memcheck and racecheck
#                         (about 4 min)
#   device_run.sh races   racecheck and synccheck (or the tools that TOOLS
#                         lists) on the sanitized libraries of the suite
#                         (the part of `check` that a short device lease
#                         cuts off first)
#   device_run.sh bench   the benchmarks (about 5 min)
#   device_run.sh costs   the planner's cost table (bench/cost_table.py)
#   device_run.sh convolutions  the convolution family and the narrow
#                         tensor-core copies: the suite's libraries that
#                         gpu-run/suite holds (`regions`, `conv`,
#                         `convnet`), MobileNet-V2's convolutions layer by
#                         layer beside cuDNN (bench/convolution_runs.py,
#                         gpu-run/convs) and the models of gpu-run/models
#                         with their profiles; `convolutions-memcheck`:
#                         those suite libraries under memcheck
#   device_run.sh blocks  the kept-block kernels: the `regions` library of
#                         the suite (also under memcheck), the benchmark's
#                         cases and the models that gpu-run/ holds
#   device_run.sh two-four  the 2:4 cases: the benchmark's cases that
#                         gpu-run/bench holds, the models of each
#                         gpu-run/models* with their profiles, and Nsight
#                         Compute on the f16 program's structured part, and
#                         the sanitizers on the split structured parts
#   device_run.sh wgmma   the TMA / warpgroup kernels: the benchmark's cases
#                         that gpu-run/bench holds, compute-sanitizer
#                         memcheck, racecheck and synccheck on each library
#                         of gpu-run/wgmma (`bench/profile_parts.py
#                         prepare-wgmma`, run through its `case` step), and
#                         the suite, where gpu-run/ holds each; first,
#                         wgmma_sp_layout.cu, the layouts of the sparse
#                         warpgroup products
#   device_run.sh clusters  thread block clusters of kept-block parts: the
#                         benchmark's cases of gpu-run/clusters-off and
#                         gpu-run/clusters-on, alternated twice
#                         (bench/ab_kernels.sh), the suite's
#                         regions_block_clusters (also under memcheck and
#                         racecheck) where gpu-run/suite holds it, and
#                         Nsight Compute's stalls and L2 traffic on the
#                         f16 cluster case of gpu-run/wgmma and its
#                         unclustered twin. The two benchmark directories
#                         hold the same cases, e.g.
#                           bench/gpu_kernels.py prepare gpu-run/clusters-on \
#                             --only block32_f16prog_4096_50,block32_int8_4096_50 \
#                             --compile-options=--block-clusters=fewer-reads
#                         and the same with =off into gpu-run/clusters-off
#   device_run.sh fine-tensor-cores  fine-grained f16 parts on tensor
#                         cores: the benchmark's cases of gpu-run/fine16-simt
#                         (--fine-tensor-cores=false) and gpu-run/fine16,
#                         alternated twice, Nsight Compute on two decode
#                         cases (bench/ncu_fine_tiles.sh), and the suite's
#                         regions_fine_tensor_cores (also under memcheck and
#                         racecheck) where gpu-run/suite holds it, e.g.
#                           bench/gpu_kernels.py prepare gpu-run/fine16 \
#                             --only fine_f16prog
#                           bench/gpu_kernels.py prepare gpu-run/fine16-simt \
#                             --only fine_f16prog_decode_70,fine_f16prog_decode_90,fine_f16prog_1024 \
#                             --compile-options=--fine-tensor-cores=false
#                           suite.py prepare gpu-run/suite \
#                             --only regions_fine_tensor_cores
#                         (packed into gpu-run/pack/*.tar.gz to fit the carry)
#   device_run.sh models  an A/B of builds or compile options on the models:
#                         every gpu-run/models* (`bench/torch_models.py
#                         prepare gpu-run/models-<variant> --only ...
#                         --compile-option=...`), alternated ROUNDS times
#                         (default 2), without torch.compile (with it where
#                         TORCH_COMPILE=default), with the 80 costliest
#                         kernels of each
#
# A directory of gpu-run/ may come packed as gpu-run/pack/<name>.tar.gz or
# .tar.xz
# (what is copied to the GPU machine is limited to 64 MiB): the packs are
# unpacked into gpu-run/ first.
#
# What comes back from the GPU machine is limited in number of files: each
# step's log is kept in $LOGS (not returned) and appended to one file,
# $OUT/device_run.log; only that, the results JSON files and the models'
# JSON files are written under $OUT.
#
#===----------------------------------------------------------------------===#
set -uo pipefail
OUT="${OUT:-gpu-run/out}"
LOGS="${LOGS:-${TMPDIR:-/tmp}/device_run_logs}"
mkdir -p "$OUT" "$LOGS"
export PATH="$PATH:/usr/local/cuda/bin"
step() {
  local name=$1 limit=$2; shift 2
  echo "== $name"
  timeout "$limit" "$@" >"$LOGS/$name.log" 2>&1
  local status=$?
  { echo "== $name (exit status $status)"; cat "$LOGS/$name.log"; } \
    >>"$OUT/device_run.log"
  tail -n 4 "$LOGS/$name.log"
  echo "   (exit status $status)"
}
# Steps `name-<tool>`: the suite's libraries `libraries` (comma-separated)
# under each compute-sanitizer tool named after them (numpy path only).
suite_under_tools() {
  local name=$1 libraries=$2 tool; shift 2
  for tool in "$@"; do
    step "$name-$tool" 240 compute-sanitizer --tool "$tool" \
      --error-exitcode 3 python test/Integration/GPU/suite.py run \
      gpu-run/suite --sanitize --only "$libraries"
  done
}
# Step `name`: the suite's library `library` where gpu-run/suite holds it,
# then under memcheck and racecheck.
suite_sanitized() {
  local name=$1 library=$2
  [ -e "gpu-run/suite/$library.so" ] || return 0
  step "$name" 120 python test/Integration/GPU/suite.py run gpu-run/suite \
    --only "$library"
  suite_under_tools "$name" "$library" memcheck racecheck
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# The commit the libraries were compiled at (the device copy's git metadata
# may be stale).
echo "libraries compiled at $(cat gpu-run/COMMIT 2>/dev/null || echo unknown)"
for pack in gpu-run/pack/*.tar.gz gpu-run/pack/*.tar.xz; do
  [ -e "$pack" ] && tar xf "$pack" -C gpu-run
done
SANITIZED=sm90_wgmma_structured_split,sm90_auto,sm90_wide_fine,sm90_block32x64,sm90_wide_block32x32,sm90_wide_block64x64,sm90_structured_auto,sm90_structured_block64x64,sm90_constant_structured32x32,sm90_fine,sm75_ptx_block16x16,sm90_constant_auto,mlp,conv,bert_layer,masked_rows,convnet,regions,regions_block_clusters
case "${1:-check}" in
  check)
    step runtime-unit 60 gpu-run/TesaRuntimeTests
    step suite 240 python test/Integration/GPU/suite.py run gpu-run/suite
    cat "$LOGS/suite.log"
    step demo 60 python examples/run_mlp.py gpu-run/demo/mlp.so examples/mlp.mlir
    cat "$LOGS/demo.log"
    suite_under_tools sanitized "$SANITIZED" memcheck racecheck
    # The structured parts' tiles of two warpgroups (large products: a
    # library of their own, with synccheck too).
    suite_under_tools wgmma-structured-wide sm90_wgmma_structured_wide \
      memcheck racecheck synccheck
    ;;
  races)
    # shellcheck disable=SC2086
    suite_under_tools sanitized "$SANITIZED" ${TOOLS:-racecheck synccheck}
    ;;
  bench)
    step bench 560 python bench/gpu_kernels.py run gpu-run/bench
    cat "$LOGS/bench.log"
    cp gpu-run/bench/results.json "$OUT/bench-results.json" 2>/dev/null || true
    ;;
  convolutions)
    step suite 240 python test/Integration/GPU/suite.py run gpu-run/suite
    cat "$LOGS/suite.log"
    step convolution-runs 240 python bench/convolution_runs.py run \
      gpu-run/convs --out "$OUT/convolution-runs.json"
    cat "$LOGS/convolution-runs.log"
    step models 300 python bench/torch_models.py run gpu-run/models \
      --out "$OUT/models.json" --profile --profile-kernels 30
    cat "$LOGS/models.log"
    ;;
  convolutions-memcheck)
    step suite-memcheck 400 compute-sanitizer --tool memcheck \
      --error-exitcode 3 python test/Integration/GPU/suite.py run \
      gpu-run/suite --sanitize
    ;;
  blocks)
    step regions 240 python test/Integration/GPU/suite.py run gpu-run/suite \
      --only regions,regions_block_clusters
    step regions-memcheck 300 compute-sanitizer --tool memcheck \
      --error-exitcode 3 python test/Integration/GPU/suite.py run \
      gpu-run/suite --sanitize --only regions,regions_block_clusters
    step bench 300 python bench/gpu_kernels.py run gpu-run/bench
    cat "$LOGS/bench.log"
    cp gpu-run/bench/results.json "$OUT/bench-results.json" 2>/dev/null || true
    step models 400 python bench/torch_models.py run gpu-run/models \
      --out "$OUT/models.json" --profile --profile-kernels 30
    cat "$LOGS/models.log"
    ;;
  models)
    for round in $(seq "${ROUNDS:-2}"); do
      for models in $(cd gpu-run && ls -d models* 2>/dev/null); do
        [ -e "gpu-run/$models/manifest.json" ] || continue
        step "$models-$round" 240 python bench/torch_models.py run \
          "gpu-run/$models" --out "$OUT/$models-$round.json" \
          --torch-compile "${TORCH_COMPILE:-off}" --profile --profile-kernels 80
      done
    done
    ;;
  two-four)
    # gpu-run/bench, and beside it (an A/B of two builds in one run) any
    # gpu-run/bench-<variant> that `gpu_kernels.py prepare` wrote.
    for dir in gpu-run/bench gpu-run/bench-*; do
      [ -e "$dir/manifest.json" ] || continue
      name=$(basename "$dir")
      step "$name" 150 python bench/gpu_kernels.py run "$dir"
      cat "$LOGS/$name.log"
      cp "$dir/results.json" "$OUT/$name-results.json" 2>/dev/null || true
    done
    # Every gpu-run/models* (an A/B of builds: one directory each).
    for models in $(cd gpu-run && ls -d models* 2>/dev/null); do
      [ -e "gpu-run/$models/manifest.json" ] || continue
      step "$models" 240 python bench/torch_models.py run "gpu-run/$models" \
        --out "$OUT/$models.json" --profile --profile-kernels 80
      cat "$LOGS/$models.log"
    done
    # Nsight Compute and the sanitizers on the variants where there are
    # (else on gpu-run/bench): the split walks (BERT-base's Linears at 128
    # and 512 tokens) and the FFN shape's kernel.
    # NCU=0 skips Nsight Compute; SANITIZERS lists the tools (all three
    # by default), for a run short of device time.
    variants=$(ls -d gpu-run/bench-* 2>/dev/null)
    for dir in ${variants:-gpu-run/bench}; do
      [ "${NCU:-1}" = 1 ] && [ -e "$dir/two_four_random_f16prog_ffn.so" ] || continue
      step "$(basename "$dir")-ncu-two-four" 90 ncu --section SpeedOfLight \
        --section Occupancy --section LaunchStats -k regex:part0 \
        python bench/profile_parts.py case "$dir" two_four_random_f16prog_ffn
    done
    for dir in ${variants:-gpu-run/bench}; do
      for name in two_four_random_f16prog_s128_ffn2 \
          two_four_random_f16prog_s128_attention \
          two_four_random_f16prog_s512_ffn1 two_four_random_f16prog_s128_ffn1 \
          two_four_random_f16prog_ffn; do
        [ -e "$dir/$name.so" ] || continue
        for tool in ${SANITIZERS:-memcheck racecheck synccheck}; do
          step "$(basename "$dir")-$name-$tool" 90 compute-sanitizer \
            --tool "$tool" --error-exitcode 3 python bench/profile_parts.py \
            case "$dir" "$name"
        done
      done
    done
    ;;
  wgmma)
    step wgmma-sp-layout 120 sh -c 'nvcc -O2 \
      -gencode=arch=compute_90a,code=sm_90a -o gpu-run/wgmma_sp_layout \
      test/Integration/GPU/wgmma_sp_layout.cu && gpu-run/wgmma_sp_layout'
    cat "$LOGS/wgmma-sp-layout.log"
    if [ -d gpu-run/bench ]; then
      step bench 300 python bench/gpu_kernels.py run gpu-run/bench
      cat "$LOGS/bench.log"
      cp gpu-run/bench/results.json "$OUT/bench-results.json" 2>/dev/null || true
    fi
    if [ -d gpu-run/wgmma ]; then
      for name in $(python -c "import json, sys; print(' '.join(c['name'] for c in json.load(open(sys.argv[1]))))" gpu-run/wgmma/manifest.json); do
        for tool in memcheck racecheck synccheck; do
          step "$name-$tool" 60 compute-sanitizer --tool "$tool" \
            --error-exitcode 3 python bench/profile_parts.py case gpu-run/wgmma "$name"
        done
      done
    fi
    # SUITE_ONLY: the suite's libraries to run (all where unset).
    if [ -d gpu-run/suite ]; then
      step suite 240 python test/Integration/GPU/suite.py run gpu-run/suite \
        ${SUITE_ONLY:+--only "$SUITE_ONLY"}
      # The sparse warpgroup products (wgmma.sp), where the suite has them.
      if [ -e gpu-run/suite/sm90_wgmma_structured64x64.so ]; then
        suite_under_tools wgmma-structured \
          sm90_wgmma_structured64x64,sm90_wgmma_structured64x32 \
          memcheck racecheck synccheck
      fi
    fi
    ;;
  clusters)
    step clusters-ab 300 env ROUNDS=2 OUT="$OUT" bench/ab_kernels.sh \
      gpu-run/clusters-off gpu-run/clusters-on
    grep -E '^== |^block' "$OUT/ab.log"
    suite_sanitized suite-clusters regions_block_clusters
    if [ -d gpu-run/wgmma ]; then
      # Where the time goes (stall reasons) and the L2 traffic, split into
      # reads and writes, against the same product without clusters.
      metrics='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,lts__t_bytes.sum,lts__t_sectors_op_read.sum,lts__t_sectors_op_write.sum,dram__bytes_read.sum,gpu__time_duration.sum'
      for name in clusters_block32_f16prog slab_groups_block32_f16prog; do
        step "$name-ncu" 120 ncu --metrics "$metrics" -k regex:part0 -c 1 \
          python bench/profile_parts.py case gpu-run/wgmma "$name"
      done
    fi
    ;;
  fine-tensor-cores)
    step fine-ab 300 env ROUNDS=2 OUT="$OUT" bench/ab_kernels.sh \
      gpu-run/fine16-simt gpu-run/fine16
    grep -E '^== |^fine' "$OUT/ab.log"
    step fine-ncu 120 bench/ncu_fine_tiles.sh gpu-run/fine16
    cat "$LOGS/fine-ncu.log"
    suite_sanitized suite-fine regions_fine_tensor_cores
    ;;
  costs)
    step costs 300 python bench/cost_table.py run gpu-run/costs
    cat "$LOGS/costs.log"
    cp gpu-run/costs/costs.json "$OUT/costs.json" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 [check|races|bench|costs|models|blocks|two-four|wgmma|clusters|fine-tensor-cores|convolutions|convolutions-memcheck]" >&2
    exit 1
    ;;
esac
