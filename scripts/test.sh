#!/usr/bin/env bash
#===- scripts/test.sh - Set up, build and run every test ------------------===#
#
# Runs check-tesa (lit + FileCheck tests, GoogleTest unit tests, the external
# project built against the installed package, the docs check) and the
# Python tests, then prints one line: "tesa: N passed, M failed".
#
#===----------------------------------------------------------------------===#
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
LOG_DIR="$BUILD_DIR/test-logs"

"$ROOT/scripts/build.sh" || exit 1
mkdir -p "$LOG_DIR"

ninja -C "$BUILD_DIR" check-tesa 2>&1 | tee "$LOG_DIR/lit.log"
lit_status=${PIPESTATUS[0]}

# test/Integration/GPU compiles its cases everywhere and runs them only where
# an NVIDIA GPU is found (skipped otherwise).
TESA_OPT="$BUILD_DIR/bin/tesa-opt" "$ROOT/.venv/bin/python" -m pytest \
  "$ROOT/python/tests" "$ROOT/test/Integration/GPU" -q -rs \
  -p no:cacheprovider 2>&1 | tee "$LOG_DIR/pytest.log"
pytest_status=${PIPESTATUS[0]}

count() { grep -Eo "$1" "$2" | grep -Eo '[0-9]+' | tail -n 1; }
lit_passed=$(count 'Passed *: +[0-9]+' "$LOG_DIR/lit.log")
lit_failed=$(count '(Failed|Unresolved|Timed Out) *: +[0-9]+' "$LOG_DIR/lit.log")
py_passed=$(count '[0-9]+ passed' "$LOG_DIR/pytest.log")
py_failed=$(count '[0-9]+ (failed|error)' "$LOG_DIR/pytest.log")
passed=$(( ${lit_passed:-0} + ${py_passed:-0} ))
failed=$(( ${lit_failed:-0} + ${py_failed:-0} ))
# A runner that stopped before counting is a failure too.
if [ "$lit_status" -ne 0 ] || [ "$pytest_status" -ne 0 ]; then
  [ "$failed" -gt 0 ] || failed=1
fi
echo
echo "tesa: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
