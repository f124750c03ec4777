#!/usr/bin/env bash
# Regenerates include/ec3_gate.h from ffi/src with the pinned cbindgen and
# fails when the committed header differs. With --write, updates it instead.
#
#   ffi/check-header.sh            # CI: exit 1 when the header is stale
#   ffi/check-header.sh --write    # after changing the C API
set -euo pipefail
cd "$(dirname "$0")/.."

pinned=0.29.4
found=$(cbindgen --version 2>/dev/null || true)
if [[ "$found" != "cbindgen $pinned" ]]; then
  echo "check-header: needs cbindgen $pinned (found: ${found:-none});" \
    "install it with: cargo install cbindgen --version $pinned --locked" >&2
  exit 2
fi

fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
cbindgen --quiet --config ffi/cbindgen.toml --crate ec3-gate-ffi --output "$fresh" ffi

case "${1:-}" in
  --write)
    cp "$fresh" include/ec3_gate.h
    echo "check-header: wrote include/ec3_gate.h"
    ;;
  "")
    if ! diff -u include/ec3_gate.h "$fresh"; then
      echo "check-header: include/ec3_gate.h is stale; run ffi/check-header.sh --write" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 [--write]" >&2
    exit 2
    ;;
esac
