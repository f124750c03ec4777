# shellcheck shell=bash
# Shared by install.sh and run.sh: sourced, never run. Both scripts run under
# `set -euo pipefail` on Linux, macOS and Windows (Git Bash) runners.
#
# Inputs arrive as INPUT_* environment variables that action.yml maps from
# `inputs.*` (a composite action gets no INPUT_* of its own: actions/runner#665).
# The runner does not enforce `required: true`, so the scripts check which
# inputs are required and which go together. Values (id shapes, URLs,
# durations, lengths, secrets) are `ec3-gate`'s to check: it refuses a bad one
# before it sends anything (exit 2, an ::error naming the input).

# Workflow-command data escaping: percent first, then CR and LF. Anything that
# came from a user goes through this before it is printed after `::`.
escape_data() {
  local s=$1
  s=${s//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  s=${s//$'\n'/'%0A'}
  printf '%s' "$s"
}

# Bad input: nothing has been downloaded or sent yet. Exit 2, as `ec3-gate`
# itself does for usage and configuration errors.
bail() {
  printf '::error::%s\n' "$(escape_data "$*")"
  exit 2
}

# Install failed (download, checksum, build): the step fails; exit 1.
die() {
  printf '::error title=ec3-gate install::%s\n' "$(escape_data "$*")"
  exit 1
}

info() {
  printf '%s\n' "$*"
}

# Which job: `job-id` waits for an existing one, `configuration-id` creates one
# (with project-name, ec3-token and optionally extraction-id, or extract and
# its imodel-id, changeset-id and allow-partial-extraction) and then waits.
# The values of extract and allow-partial-extraction are ec3-gate's to check
# (EC3_EXTRACT, EC3_ALLOW_PARTIAL_EXTRACTION); here `false` is as good as unset.
validate_job() {
  local job=${INPUT_JOB_ID:-} config=${INPUT_CONFIGURATION_ID:-}
  local project=${INPUT_PROJECT_NAME:-} extraction=${INPUT_EXTRACTION_ID:-} ec3=${INPUT_EC3_TOKEN:-}

  case "${job:+J}${config:+C}" in
    J)
      local name value
      for name in project-name extraction-id ec3-token extract imodel-id changeset-id allow-partial-extraction; do
        case $name in
          project-name) value=$project ;;
          extraction-id) value=$extraction ;;
          extract) value=${INPUT_EXTRACT:-} ;;
          imodel-id) value=${INPUT_IMODEL_ID:-} ;;
          changeset-id) value=${INPUT_CHANGESET_ID:-} ;;
          allow-partial-extraction) value=${INPUT_ALLOW_PARTIAL_EXTRACTION:-} ;;
          *) value=$ec3 ;;
        esac
        if [[ $value == false ]]; then value=; fi
        if [[ -n $value ]]; then
          bail "input '$name' is only for creating a job with 'configuration-id', but 'job-id' names an existing job: remove '$name', or give 'configuration-id' instead of 'job-id'"
        fi
      done
      ;;
    C)
      if [[ -z $project ]]; then
        bail "input 'project-name' is required with 'configuration-id': the name of the EC3 project to create, e.g. project-name: Tower A build \${{ github.run_number }}"
      fi
      if [[ -z $ec3 ]]; then
        bail "input 'ec3-token' is required with 'configuration-id': the EC3 (Building Transparency) token the job uploads with, e.g. ec3-token: \${{ secrets.EC3_TOKEN }} (is the secret defined for this repository and event?)"
      fi
      # These say how to extract: without extract they would be ignored.
      case ${INPUT_EXTRACT:-false} in
        '' | false)
          local name value
          for name in imodel-id changeset-id allow-partial-extraction; do
            case $name in
              imodel-id) value=${INPUT_IMODEL_ID:-} ;;
              changeset-id) value=${INPUT_CHANGESET_ID:-} ;;
              *) value=${INPUT_ALLOW_PARTIAL_EXTRACTION:-} ;;
            esac
            if [[ -n $value && $value != false ]]; then
              bail "input '$name' goes with 'extract: true' (it says how to extract), but 'extract' is false: add extract: true, or remove '$name'"
            fi
          done
          ;;
      esac
      ;;
    JC) bail "give either 'job-id' (wait for an existing job) or 'configuration-id' (create a job, then wait for it), not both: got job-id '$job' and configuration-id '$config'" ;;
    '') bail "input 'job-id' or 'configuration-id' is required: the EC3 upload job id to wait for, e.g. job-id: \${{ steps.export.outputs.job-id }}, or the EC3 configuration to create the job from (with project-name and ec3-token)" ;;
  esac
}

# Checks which inputs are given together, and the inputs only the scripts
# use (fail-on-failed, version). Called first by both scripts, so a missing
# job id, missing create inputs or missing credentials fail before any
# download.
validate_inputs() {
  validate_job

  local token=${INPUT_ACCESS_TOKEN:-} id=${INPUT_CLIENT_ID:-} secret=${INPUT_CLIENT_SECRET:-}
  case "${token:+T}${id:+I}${secret:+S}" in
    T) ;;
    IS) ;;
    '') bail "no credentials: give either 'access-token', or 'client-id' and 'client-secret' (a service application's client credentials)" ;;
    I) bail "input 'client-id' is set but 'client-secret' is empty: give both (is the secret defined for this repository and event?)" ;;
    S) bail "input 'client-secret' is set but 'client-id' is empty: give both" ;;
    *) bail "give either 'access-token' or 'client-id'/'client-secret', not both" ;;
  esac

  case ${INPUT_FAIL_ON_FAILED:-true} in
    true|false) ;;
    *) bail "input 'fail-on-failed' must be 'true' or 'false', got '${INPUT_FAIL_ON_FAILED}'" ;;
  esac

  case ${INPUT_VERSION:-} in
    ''|source) ;;
    *)
      if ! [[ ${INPUT_VERSION} =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
        bail "input 'version' must be empty (the release matching this action's ref), 'source', or a release such as 1.2.3, got '${INPUT_VERSION}'"
      fi
      ;;
  esac
}

# The action's own checkout: GITHUB_ACTION_PATH on a runner, else two levels up.
action_root() {
  local root=${GITHUB_ACTION_PATH:-}
  if [[ -z $root ]]; then
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  fi
  unix_path "$root"
}

# Git Bash on Windows runners hands us C:\ paths; bash wants /c/ paths and the
# runner wants C:\ paths back in GITHUB_PATH.
unix_path() {
  if [[ ${RUNNER_OS:-} == Windows ]] && command -v cygpath >/dev/null 2>&1; then
    cygpath -u "$1"
  else
    printf '%s\n' "$1"
  fi
}

native_path() {
  if [[ ${RUNNER_OS:-} == Windows ]] && command -v cygpath >/dev/null 2>&1; then
    cygpath -w "$1"
  else
    printf '%s\n' "$1"
  fi
}

exe_name() {
  if [[ $1 == Windows ]]; then printf 'ec3-gate.exe\n'; else printf 'ec3-gate\n'; fi
}

# RUNNER_OS/RUNNER_ARCH to the Rust target of a prebuilt release archive.
# Prints nothing for a platform without one (the caller builds from source).
target_triple() {
  case "$1/$2" in
    Linux/X64) printf 'x86_64-unknown-linux-gnu\n' ;;
    Linux/ARM64) printf 'aarch64-unknown-linux-gnu\n' ;;
    macOS/X64) printf 'x86_64-apple-darwin\n' ;;
    macOS/ARM64) printf 'aarch64-apple-darwin\n' ;;
    Windows/X64) printf 'x86_64-pc-windows-msvc\n' ;;
    *) ;;
  esac
}

archive_ext() {
  if [[ $1 == Windows ]]; then printf 'zip\n'; else printf 'tar.gz\n'; fi
}

# The version in a Cargo.toml: `[package] version`, else `[workspace.package] version`.
cargo_version() {
  awk '
    /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]]/, "", section) }
    (section == "[package]" || section == "[workspace.package]") && /^[[:space:]]*version[[:space:]]*=/ {
      v = $0; sub(/^[^"]*"/, "", v); sub(/".*$/, "", v); print v; exit
    }' "$1"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    openssl dgst -sha256 -r "$1" | awk '{ print $1 }'
  fi
}

# The release manifest pinned in the action's own checkout (scripts/action/manifest.txt,
# written by scripts/release/manifest.sh at each release commit): `VERSION ASSET SHA256`
# lines, `#` comments. Prints the sha256 that $1 pins for version $2's asset $3, or
# nothing when it pins none.
manifest_sha256() {
  awk -v version="$2" -v asset="$3" '
    { sub(/\r$/, "") }
    $1 == version && $2 == asset && $3 ~ /^[0-9a-f]+$/ && length($3) == 64 { print $3; exit }
  ' "$1"
}

# Whether manifest $1 lists any asset of version $2.
manifest_has_version() {
  awk -v version="$2" '{ sub(/\r$/, "") } $1 == version { found = 1; exit } END { exit !found }' "$1"
}
