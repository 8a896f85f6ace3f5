#!/usr/bin/env bash
# Regenerates docs/reference from the .td files (build dir: $1 or build/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ninja -C "$BUILD" tesa-doc
mkdir -p "$ROOT/docs/reference"
cp "$BUILD"/docs/reference/*.md "$ROOT/docs/reference/"
echo "updated $ROOT/docs/reference"
