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

bail() {
  printf '::error::%s\n' "$*"
  exit 2
}

[[ $# -eq 4 ]] || bail "usage: package.sh VERSION TARGET BINARY OUTDIR"
version=$1 target=$2 binary=$3 outdir=$4
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || bail "VERSION must look like 1.2.3, got '$version'"
[[ $target =~ ^[a-z0-9_]+(-[a-z0-9_]+){2,3}$ ]] || bail "TARGET must be a Rust target triple, got '$target'"
[[ -f $binary ]] || bail "BINARY $binary does not exist"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=ec3-gate-$version-$target
case $target in
  *-windows-*) exe=ec3-gate.exe ext=zip ;;
  *) exe=ec3-gate ext=tar.gz ;;
esac

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
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

archive=$outdir/$name.$ext
rm -f "$archive"
if [[ $ext == zip ]]; then
  (cd "$stage" && 7z a -tzip -bd -y "$archive" "$name" >/dev/null)
else
  tar -czf "$archive" -C "$stage" "$name"
fi
printf '%s\n' "$archive"
