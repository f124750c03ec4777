#!/usr/bin/env bash
# Packs libec3_gate, the C library, for one target into one release archive:
#
#   libec3_gate-<version>-<target>.tar.gz   (.zip for Windows targets)
#   └── libec3_gate-<version>-<target>/     an install prefix (scripts/install-capi.sh):
#       ├── include/ec3_gate.h
#       ├── lib/ (shared and static libraries, pkgconfig/, cmake/ec3_gate/)
#       ├── bin/ec3_gate.dll                 (Windows)
#       └── share/doc/ec3_gate/ (c-api.md, LICENSE-MIT, LICENSE-APACHE)
#
# Usage: package-capi.sh TARGET OUTDIR
# Builds with the shipped profile (release) for TARGET and prints the
# archive's path. The tree is relocatable: unpack it anywhere and point
# PKG_CONFIG_PATH at lib/pkgconfig or CMAKE_PREFIX_PATH at the directory.
set -euo pipefail

# shellcheck source=scripts/release/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || bail "usage: package-capi.sh TARGET OUTDIR"
target=$1 outdir=$2
check_target "$target"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(cd "$root" && cargo metadata --no-deps --format-version 1 --locked |
  sed -n 's/.*"name":"ec3-gate-ffi","version":"\([^"]*\)".*/\1/p')
[[ -n $version ]] || bail "cannot read the version of ec3-gate-ffi"
name=libec3_gate-$version-$target

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$root/scripts/install-capi.sh" --target "$target" --profile release \
  --prefix "/$name" --destdir "$stage" >&2

pack "$stage" "$name" "$target" "$outdir"
