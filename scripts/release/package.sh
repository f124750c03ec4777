#!/usr/bin/env bash
# Packs one release archive in the layout scripts/action/install.sh unpacks:
#
#   ec3-gate-<version>-<target>.tar.gz   (.zip for Windows targets)
#   └── ec3-gate-<version>-<target>/
#       ├── ec3-gate                     (ec3-gate.exe on Windows)
#       └── README.md, LICENSE-MIT, LICENSE-APACHE
#
# Usage: package.sh VERSION TARGET BINARY OUTDIR
# Prints the archive's path. Used by .github/workflows/release.yml and by
# tests/action_scripts/ and tests/install.rs, so the tested layout is the released one.
set -euo pipefail

# shellcheck source=scripts/release/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 4 ]] || bail "usage: package.sh VERSION TARGET BINARY OUTDIR"
version=$1 target=$2 binary=$3 outdir=$4
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || bail "VERSION must look like 1.2.3, got '$version'"
check_target "$target"
[[ -f $binary ]] || bail "BINARY $binary does not exist"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=ec3-gate-$version-$target
case $target in
  *-windows-*) exe=ec3-gate.exe ;;
  *) exe=ec3-gate ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$binary" "$stage/$name/$exe"
chmod 755 "$stage/$name/$exe"
# The licence texts travel with every binary (MIT OR Apache-2.0).
for doc in README.md LICENSE-MIT LICENSE-APACHE; do
  [[ -f $root/$doc ]] || bail "$doc is missing from the repository"
  cp "$root/$doc" "$stage/$name/"
done

pack "$stage" "$name" "$target" "$outdir"
