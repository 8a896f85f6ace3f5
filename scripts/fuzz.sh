#!/usr/bin/env bash
#===- scripts/fuzz.sh - Build and run tesa's libFuzzer targets -------------===#
#
# Builds tesa-fuzz-attribute and tesa-fuzz-module in build-fuzz (clang-22,
# AddressSanitizer and UndefinedBehaviorSanitizer, libFuzzer), seeds their
# corpora from the lit tests and examples, and runs each target; then runs
# random sparse products through the CPU pipeline against float64
# (tools/tesa-fuzz/random_products.py). Exit status 0 only if nothing was
# found; findings are saved in build-fuzz/findings/ (replay one with
# `build-fuzz/bin/tesa-fuzz-module FILE`). See docs/fuzzing.md.
#
#   scripts/fuzz.sh                 # CI: 4000 inputs a target and 20 rounds
#                                   # of random products, fixed seeds
#   scripts/fuzz.sh --runs 100000   # more inputs, still deterministic
#   scripts/fuzz.sh --seconds 1800  # a timed campaign per target, which
#                                   # goes on after a finding (-fork=1)
#   scripts/fuzz.sh --only module --seconds 1800   # one of attribute,
#                                   # module, products
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz).
#
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"

limit=(-runs=4000 -seed=1)
products=(--rounds 20 --seed 1)
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --runs) limit=(-runs="$2" -seed=1); shift 2 ;;
    --seconds) limit=(-max_total_time="$2" -fork=1 -ignore_crashes=1
                      -ignore_timeouts=1 -ignore_ooms=1)
               products=(--seconds "$2"); shift 2 ;;
    *) echo "fuzz.sh: unknown argument '$1' (--runs N, --seconds S, --only T)" >&2
       exit 1 ;;
  esac
done

# tesa-opt of the normal build, for the random products (and setup.sh).
"$ROOT/scripts/build.sh" tesa-opt
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr,function"
  flags="$flags -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DTESA_ENABLE_FUZZERS=ON -DTESA_BUILD_TESTS=OFF \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
ninja -C "$BUILD_DIR" tesa-fuzz-attribute tesa-fuzz-module

seeds="$BUILD_DIR/seeds"
rm -rf "$seeds"
"$ROOT/.venv/bin/python" "$ROOT/tools/tesa-fuzz/make_corpus.py" "$seeds"
mkdir -p "$BUILD_DIR/findings" "$BUILD_DIR/logs"

status=0
selected() { [ -z "$only" ] || [ "$only" = "$1" ]; }
for target in attribute module; do
  selected "$target" || continue
  # New inputs go to a fresh directory, so that a run with a fixed seed
  # always starts from the same corpus.
  corpus="$BUILD_DIR/corpus-$target"
  rm -rf "$corpus" && mkdir -p "$corpus"
  log="$BUILD_DIR/logs/$target.log"
  echo "fuzz.sh: tesa-fuzz-$target ${limit[*]} (log: $log)"
  rm -f "$BUILD_DIR"/findings/"$target"-*
  if ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:allow_user_poisoning=0 \
     "$BUILD_DIR/bin/tesa-fuzz-$target" "$corpus" "$seeds/$target" \
       "${limit[@]}" -timeout=60 -rss_limit_mb=6144 -malloc_limit_mb=6144 \
       -artifact_prefix="$BUILD_DIR/findings/$target-" \
       -print_final_stats=1 >"$log" 2>&1; then
    exited=0
  else
    exited=1
  fi
  grep -E "^stat::number_of_executed_units|^Done|oom/timeout/crash" "$log" |
    tail -2 || true
  # Crashes, hangs and memory exhaustion leave an artifact (slow units are
  # not findings); a timed campaign goes on past them.
  findings=$(ls "$BUILD_DIR"/findings/"$target"-{crash,timeout,oom,leak}-* 2>/dev/null || true)
  if [ -n "$findings" ] || [ $exited -ne 0 ]; then
    status=1
    echo "fuzz.sh: tesa-fuzz-$target found something:"
    grep -E "ERROR|finding|SUMMARY|Test unit written" "$log" | sort | uniq -c | head -12
    echo "$findings"
  fi
done

# The structure-aware side: valid programs, checked numerically.
if selected products; then
  rm -rf "$BUILD_DIR/findings/products"
  TESA_OPT="$ROOT/build/bin/tesa-opt" "$ROOT/.venv/bin/python" \
    "$ROOT/tools/tesa-fuzz/random_products.py" "${products[@]}" \
    --out "$BUILD_DIR/findings/products" || status=1
fi
exit $status
