#!/usr/bin/env bash
# Writes the release manifest lines for one version: the sha256 of every
# release archive in DIR, and of the ec3-gate binary inside each CLI archive
# (the tool-cache entry install.sh checks before it runs one).
#
# Usage: manifest.sh VERSION DIR
# Prints `VERSION ASSET SHA256` lines, sorted, for scripts/action/manifest.txt:
#
#   0.1.0 ec3-gate-0.1.0-x86_64-unknown-linux-gnu.tar.gz <sha256 of the archive>
#   0.1.0 ec3-gate-0.1.0-x86_64-unknown-linux-gnu/ec3-gate <sha256 of the binary in it>
#
# Used by .github/workflows/release.yml and tests/install.rs, so the tested
# manifest is the released one. Reading it is install.sh's (lib.sh
# manifest_sha256).
set -euo pipefail

bail() {
  printf '::error::%s\n' "$*" >&2
  exit 2
}

[[ $# -eq 2 ]] || bail "usage: manifest.sh VERSION DIR"
version=$1 dir=$2
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || bail "VERSION must look like 1.2.3, got '$version'"
[[ -d $dir ]] || bail "DIR $dir is not a directory"

# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../action/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
archives=("$dir"/*-"$version"-*.tar.gz "$dir"/*-"$version"-*.zip)
[[ ${#archives[@]} -gt 0 ]] || bail "no release archives for $version in $dir"

for path in "${archives[@]}"; do
  archive=${path##*/}
  printf '%s %s %s\n' "$version" "$archive" "$(sha256_of "$path")"
  # The CLI archives (not the C library's) hold the binary the action runs.
  [[ $archive == ec3-gate-"$version"-* ]] || continue
  name=${archive%.tar.gz}
  name=${name%.zip}
  if [[ $archive == *.zip ]]; then exe=$(exe_name Windows); else exe=$(exe_name Linux); fi
  rm -rf "$tmp/unpacked" && mkdir "$tmp/unpacked"
  if [[ $archive == *.zip ]]; then
    unzip -q "$path" "$name/$exe" -d "$tmp/unpacked"
  else
    tar -xzf "$path" -C "$tmp/unpacked" "$name/$exe"
  fi
  printf '%s %s %s\n' "$version" "$name/$exe" "$(sha256_of "$tmp/unpacked/$name/$exe")"
done | LC_ALL=C sort
