#!/usr/bin/env bash
# Installs ec3-gate for the composite action: tool cache, else a verified
# release download, else a build from the action's own source.
#
# Reads INPUT_* (mapped in action.yml), RUNNER_OS, RUNNER_ARCH,
# RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_ACTION_PATH, EC3_GATE_ACTION_REPOSITORY.
# Writes the install directory to GITHUB_PATH and the binary's path to the
# step output `path`.
set -euo pipefail

# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every input, not only `version`: a missing job id, missing create inputs or
# missing credentials must fail before anything is downloaded or built.
validate_inputs
# Installing needs no credentials; keep them away from curl and cargo (and
# every build script cargo runs).
unset INPUT_ACCESS_TOKEN INPUT_CLIENT_SECRET INPUT_EC3_TOKEN

: "${RUNNER_OS:?RUNNER_OS is not set: this script expects a GitHub Actions runner}"
: "${RUNNER_ARCH:?RUNNER_ARCH is not set: this script expects a GitHub Actions runner}"
: "${GITHUB_PATH:?GITHUB_PATH is not set: this script expects a GitHub Actions runner}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script expects a GitHub Actions runner}"

root=$(action_root)
temp_root=$(unix_path "${RUNNER_TEMP:-${TMPDIR:-/tmp}}")
exe=$(exe_name "$RUNNER_OS")
arch=$(printf '%s' "$RUNNER_ARCH" | tr '[:upper:]' '[:lower:]')
source_version=$(cargo_version "$root/Cargo.toml" 2>/dev/null || true)

requested=${INPUT_VERSION:-}
requested=${requested#v}
# Empty means "the release that matches this checkout of the action": its
# Cargo.toml names the version, and release.yml refuses a tag that disagrees.
version=${requested:-$source_version}

finish() {
  # $1: directory holding the binary.
  local dir=$1
  printf '%s\n' "$(native_path "$dir")" >>"$GITHUB_PATH"
  printf 'path=%s\n' "$(native_path "$dir/$exe")" >>"$GITHUB_OUTPUT"
  info "ec3-gate: $dir/$exe"
  exit 0
}

build_from_source() {
  # $1: why we build.
  command -v cargo >/dev/null 2>&1 \
    || die "$1, and cargo is not on PATH to build it from source: install Rust first (e.g. dtolnay/rust-toolchain) or pick a released 'version'"
  [[ -f $root/Cargo.toml && -f $root/Cargo.lock ]] \
    || die "$1, and the action's checkout at $root has no Cargo.toml/Cargo.lock to build from"
  local target_dir=${CARGO_TARGET_DIR:-$root/target}
  # The release profile's LTO and single codegen unit are for published binaries;
  # this one serves one job, and without them it built twice as fast here.
  # A workflow that sets these variables itself keeps its values.
  export CARGO_PROFILE_RELEASE_LTO=${CARGO_PROFILE_RELEASE_LTO:-false}
  export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-16}
  info "::group::cargo build --profile dist --locked ($1; LTO $CARGO_PROFILE_RELEASE_LTO, codegen units $CARGO_PROFILE_RELEASE_CODEGEN_UNITS)"
  local start=$SECONDS
  # The target dir is passed explicitly so the binary's location is known; by
  # default it is the checkout's own target/, which a workflow may have warmed.
  if ! cargo build --profile dist --locked --manifest-path "$root/Cargo.toml" \
        --target-dir "$target_dir" -p ec3-gate --bin ec3-gate; then
    info "::endgroup::"
    die "building ec3-gate from source failed (see the cargo output above)"
  fi
  info "::endgroup::"
  info "built ec3-gate from source in $((SECONDS - start))s"
  # A per-job directory, not the tool cache: the same version string can name
  # different source (a branch), and a later job must not reuse it as a release.
  local dir=$temp_root/ec3-gate-source/$arch
  mkdir -p "$dir"
  cp "$(unix_path "$target_dir")/dist/$exe" "$dir/$exe.tmp"
  mv -f "$dir/$exe.tmp" "$dir/$exe"
  finish "$dir"
}

if [[ $requested == source ]]; then
  info "version: source: building ec3-gate from the action's checkout ($root)"
  build_from_source "version is 'source'"
fi

[[ -n $version ]] || die "cannot tell which ec3-gate to install: 'version' is empty and $root/Cargo.toml names no version"

# The tool-cache layout of actions/tool-cache: <tool>/<version>/<arch>, and a
# <arch>.complete marker written only once the directory is whole.
cache_root=$(unix_path "${RUNNER_TOOL_CACHE:-$temp_root/tool-cache}")
cache_dir=$cache_root/ec3-gate/$version/$arch
if [[ -f $cache_dir.complete && -x $cache_dir/$exe ]]; then
  info "ec3-gate $version found in the tool cache"
  finish "$cache_dir"
fi

# A source build stands in for a release only when the checkout *is* that
# version; an explicit other version must come from its release or not at all.
fallback() {
  if [[ $version == "$source_version" ]]; then
    info "::notice title=ec3-gate install::$(escape_data "$1"): building ec3-gate $version from the action's source with cargo build --profile dist --locked (a minute or more, not seconds)"
    build_from_source "$1"
  fi
  die "$1, and the action's source is version ${source_version:-unknown}, not $version: pick a released 'version' or 'source'"
}

target=$(target_triple "$RUNNER_OS" "$RUNNER_ARCH")
[[ -n $target ]] || fallback "no prebuilt ec3-gate for $RUNNER_OS/$RUNNER_ARCH"

# github.action_repository is empty in some composite setups (actions/runner#2473);
# the runner's checkout path _actions/<owner>/<repo>/<ref> still names it.
repo=${EC3_GATE_ACTION_REPOSITORY:-}
if [[ -z $repo && $root =~ /_actions/([^/]+)/([^/]+)/[^/]+$ ]]; then
  repo=${BASH_REMATCH[1]}/${BASH_REMATCH[2]}
fi
[[ -n $repo ]] || fallback "cannot tell which repository this action came from (a local 'uses: ./' has no releases)"

archive=ec3-gate-$version-$target.$(archive_ext "$RUNNER_OS")
base=https://github.com/$repo/releases/download/v$version
tmp=$(mktemp -d "$temp_root/ec3-gate-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

download() {
  # $1: URL, $2: destination. https only, TLS 1.2+, fail on HTTP errors,
  # retry transient failures (a missing asset's 404 is not retried).
  curl --proto '=https' --tlsv1.2 -fsSL --retry 10 --retry-connrefused \
    --connect-timeout 30 -o "$2" "$1"
}

info "downloading $base/$archive"
download "$base/SHA256SUMS" "$tmp/SHA256SUMS" \
  || fallback "no ec3-gate release v$version in $repo (could not download SHA256SUMS)"
download "$base/$archive" "$tmp/$archive" \
  || fallback "release v$version of $repo has no $archive"

# The archive is checked before it is unpacked or run. A mismatch never falls
# back to a source build: it means the download is not what was published.
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print tolower($1); exit }' "$tmp/SHA256SUMS")
[[ $expected =~ ^[0-9a-f]{64}$ ]] \
  || die "SHA256SUMS of release v$version has no checksum for $archive: refusing to install it"
actual=$(sha256_of "$tmp/$archive" | tr '[:upper:]' '[:lower:]')
[[ $actual == "$expected" ]] \
  || die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual: refusing to install or run it"
info "sha256 verified: $actual  $archive"

mkdir -p "$tmp/unpacked"
if [[ $archive == *.zip ]]; then
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$tmp/$archive" -d "$tmp/unpacked"
  elif command -v 7z >/dev/null 2>&1; then
    7z x -bd -y "-o$tmp/unpacked" "$tmp/$archive" >/dev/null
  else
    die "neither unzip nor 7z is on PATH to unpack $archive"
  fi
else
  tar -xzf "$tmp/$archive" -C "$tmp/unpacked"
fi
unpacked=$tmp/unpacked/ec3-gate-$version-$target/$exe
[[ -f $unpacked ]] || die "$archive does not hold ec3-gate-$version-$target/$exe"
chmod +x "$unpacked"

# Assemble next to the final place, then rename, then mark complete: a
# half-written cache entry is never taken for a whole one.
mkdir -p "$(dirname "$cache_dir")"
staging=$(mktemp -d "$cache_dir.partial.XXXXXX")
mv "$unpacked" "$staging/$exe"
rm -rf "$cache_dir"
mv "$staging" "$cache_dir"
touch "$cache_dir.complete"
info "installed ec3-gate $version ($target) into the tool cache"
finish "$cache_dir"
