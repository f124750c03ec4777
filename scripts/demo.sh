#!/usr/bin/env bash
# ec3-gate end to end against the local simulated job service: no credentials,
# no network. Builds the binary and the simulator, then waits for one job that
# succeeds and one that fails, as a CI step would.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bin ec3-gate --example ec3-sim
target="${CARGO_TARGET_DIR:-target}/debug"
dir=$(mktemp -d)
"$target/examples/ec3-sim" --running-polls 3 --url-file "$dir/url" >/dev/null 2>"$dir/sim.log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [[ -s "$dir/url" ]] && break; sleep 0.05; done
url=$(cat "$dir/url")

# Client credentials, as a CI service app would use; the simulator accepts any.
export ITWIN_API_URL="$url" ITWIN_AUTHORITY="$url"
export ITWIN_CLIENT_ID=demo-client ITWIN_CLIENT_SECRET=demo-secret

step() {
  printf '\n$ ec3-gate %s\n' "$*"
  local code=0
  "$target/ec3-gate" "$@" 2>&1 || code=$?
  printf '(exit %d)\n' "$code"
}

echo "simulated job service at $url"
step wait ok-demo --interval 1s
step wait fail-demo --interval 1s --json
step status ok-demo --json
step wait missing-job
