#!/usr/bin/env bash
# Installs ec3-gate for the composite action: tool cache, else a verified
# release download, else a build from the action's own source.
#
# Reads INPUT_* (mapped in action.yml), RUNNER_OS, RUNNER_ARCH,
# RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_ACTION_PATH, EC3_GATE_ACTION_REPOSITORY,
# GITHUB_WORKSPACE and GITHUB_REPOSITORY; verifies every download and every
# tool-cache entry against scripts/action/manifest.txt in its own checkout.
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

# Every release this checkout trusts is pinned here, by sha256, in the action's
# own source: a `uses: …@ref` pins the binary as well. Nothing the download
# host serves is trusted, not even a checksum file next to the asset.
manifest=$root/scripts/action/manifest.txt
[[ -f $manifest ]] || die "the action's checkout at $root has no release manifest (scripts/action/manifest.txt) to verify a download against: use 'version: source' to build from the checkout"
manifest_has_version "$manifest" "$version" \
  || die "ec3-gate $version is not in this action's release manifest ($manifest), so there is no checksum to verify a download against: use a released version listed there (e.g. uses: …@v0 with an empty 'version'), or 'version: source' to build from the action's checkout"

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

name=ec3-gate-$version-$target
archive=$name.$(archive_ext "$RUNNER_OS")
archive_sha=$(manifest_sha256 "$manifest" "$version" "$archive")
exe_sha=$(manifest_sha256 "$manifest" "$version" "$name/$exe")
[[ -n $archive_sha && -n $exe_sha ]] \
  || fallback "the release manifest pins no $archive (with its $name/$exe) for ec3-gate $version"

# The tool-cache layout of actions/tool-cache: <tool>/<version>/<arch>, and a
# <arch>.complete marker written only once the directory is whole. The cache
# outlives this job on self-hosted runners and anything may have written to
# it since: its binary runs only if it is still the one the manifest pins.
cache_root=$(unix_path "${RUNNER_TOOL_CACHE:-$temp_root/tool-cache}")
cache_dir=$cache_root/ec3-gate/$version/$arch
if [[ -f $cache_dir.complete && -f $cache_dir/$exe ]]; then
  cached_sha=$(sha256_of "$cache_dir/$exe" | tr '[:upper:]' '[:lower:]')
  if [[ $cached_sha == "$exe_sha" ]]; then
    info "ec3-gate $version found in the tool cache (sha256 verified: $cached_sha)"
    finish "$cache_dir"
  fi
  info "::warning title=ec3-gate install::$(escape_data "the tool cache's ec3-gate $version ($cache_dir/$exe) has sha256 $cached_sha, the release manifest pins $exe_sha: refusing to run it, replacing it with a verified download")"
  rm -rf "$cache_dir" "$cache_dir.complete"
fi

# github.action_repository is empty in some composite setups (actions/runner#2473);
# the runner's checkout path _actions/<owner>/<repo>/<ref> still names it. A local
# `uses: ./` is the workflow's own repository (release.yml's smoke test runs so).
# A wrong guess costs nothing: whatever is downloaded must match the manifest.
repo=${EC3_GATE_ACTION_REPOSITORY:-}
workspace=$(unix_path "${GITHUB_WORKSPACE:-/nonexistent}")
if [[ -z $repo && $root =~ /_actions/([^/]+)/([^/]+)/[^/]+$ ]]; then
  repo=${BASH_REMATCH[1]}/${BASH_REMATCH[2]}
elif [[ -z $repo && ($root == "$workspace" || $root == "$workspace"/*) ]]; then
  repo=${GITHUB_REPOSITORY:-}
fi
[[ -n $repo ]] || fallback "cannot tell which repository this action came from"

base=https://github.com/$repo/releases/download/v$version
tmp=$(mktemp -d "$temp_root/ec3-gate-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# https only, TLS 1.2+, fail on HTTP errors (a missing asset's 404 is not
# retried). Transient failures are retried at a steady pace for about a minute,
# not curl's doubling 17 minutes: a host that stays down means a source build.
info "downloading $base/$archive"
curl --proto '=https' --tlsv1.2 -fsSL --retry 10 --retry-delay 2 --retry-max-time 60 \
    --retry-connrefused --connect-timeout 30 -o "$tmp/$archive" "$base/$archive" \
  || fallback "could not download $archive of ec3-gate v$version from $repo"

# The archive is checked before it is unpacked or run. A mismatch never falls
# back to a source build: it means the download is not what was released.
actual=$(sha256_of "$tmp/$archive" | tr '[:upper:]' '[:lower:]')
[[ $actual == "$archive_sha" ]] \
  || die "checksum mismatch for $archive: the action's release manifest pins $archive_sha, the download is $actual: refusing to unpack or run it"
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
unpacked=$tmp/unpacked/$name/$exe
[[ -f $unpacked ]] || die "$archive does not hold $name/$exe"
# The tool-cache check above compares this file, so it is pinned too.
actual=$(sha256_of "$unpacked" | tr '[:upper:]' '[:lower:]')
[[ $actual == "$exe_sha" ]] \
  || die "checksum mismatch for $name/$exe in $archive: the release manifest pins $exe_sha, the archive holds $actual: refusing to run it"
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
