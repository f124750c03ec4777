#!/usr/bin/env bash
# Step 1 of a release (docs/install.md): sets the workspace version in
# Cargo.toml, Cargo.lock and the C header's version macros (ffi/cbindgen.toml,
# include/ec3_gate.h), then runs the
# checks that depend on it. Commit the result and merge it through a pull
# request; then run the Release workflow with the same version.
#
# Usage: scripts/release/set-version.sh VERSION     (e.g. 0.2.0)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

[[ $# -eq 1 ]] || { echo "usage: set-version.sh VERSION" >&2; exit 2; }
version=${1#v}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] \
  || { echo "set-version.sh: VERSION must look like 1.2.3 or 1.2.3-rc.1, got '$1'" >&2; exit 2; }

# The one version line: [workspace.package] (both crates inherit it).
awk -v version="$version" '
  /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]]/, "", section) }
  section == "[workspace.package]" && /^version[[:space:]]*=/ && !done { print "version = \"" version "\""; done = 1; next }
  { print }
  END { if (!done) exit 1 }' Cargo.toml >Cargo.toml.new \
  || { rm -f Cargo.toml.new; echo "set-version.sh: Cargo.toml has no [workspace.package] version" >&2; exit 1; }
mv Cargo.toml.new Cargo.toml

# shellcheck source=scripts/action/lib.sh
source scripts/action/lib.sh
[[ $(cargo_version Cargo.toml) == "$version" ]] || { echo "set-version.sh: install.sh would not read $version from Cargo.toml" >&2; exit 1; }

# The C header's version macros, which cbindgen copies from ffi/cbindgen.toml.
core=${version%%-*}
IFS=. read -r major minor patch <<<"$core"
sed -e "s/^#define EC3_GATE_VERSION_MAJOR .*/#define EC3_GATE_VERSION_MAJOR $major/" \
  -e "s/^#define EC3_GATE_VERSION_MINOR .*/#define EC3_GATE_VERSION_MINOR $minor/" \
  -e "s/^#define EC3_GATE_VERSION_PATCH .*/#define EC3_GATE_VERSION_PATCH $patch/" \
  -e "s/^#define EC3_GATE_VERSION_STRING .*/#define EC3_GATE_VERSION_STRING \"$version\"/" \
  ffi/cbindgen.toml >ffi/cbindgen.toml.new
mv ffi/cbindgen.toml.new ffi/cbindgen.toml

cargo update --workspace --offline --quiet
ffi/check-header.sh --write
cargo test --locked --quiet -p ec3-gate-ffi --test packaging version_macros_match_cargo_toml
git diff --stat
echo "set-version.sh: now $version; commit ('Version $version'), open a pull request, and once it is merged run the Release workflow with version $version"
