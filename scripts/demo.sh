#!/usr/bin/env bash
# ec3-gate end to end against the local simulated job service: no credentials,
# no network. Builds the binary and the simulator (sim/, run as the ec3-sim
# example), then waits for a job that succeeds, one that fails, asks for one
# job's status, and waits for one that does not exist, as a CI step would;
# then runs the whole chain of an extraction-based configuration (extract,
# upload, wait) and one whose extraction only partially succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."

# Only the demo's own settings: nothing from the caller's environment (a real
# token, a job id, GitHub mode) may change what it shows.
while read -r name; do
  case $name in ITWIN_* | EC3_* | GITHUB_ACTIONS) unset "$name" ;; esac
done < <(compgen -e)

# Measured on a shared 2-core machine: 144 s from an empty target dir (the
# dependencies compile once), about a second when nothing changed.
echo "building ec3-gate and the ec3-sim simulator (cargo build, debug profile):"
echo "the first build takes about 2-3 minutes, later ones a few seconds..."
cargo build --quiet --bin ec3-gate --example ec3-sim
target="${CARGO_TARGET_DIR:-target}/debug"
dir=$(mktemp -d)
"$target/examples/ec3-sim" --running-polls 3 --url-file "$dir/url" >/dev/null 2>"$dir/sim.log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [[ -s "$dir/url" ]] && break; sleep 0.05; done
if [[ ! -s "$dir/url" ]]; then
  echo "demo.sh: the simulator did not start: $(cat "$dir/sim.log")" >&2
  exit 1
fi
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
# The EC3 token of `upload` (a secret: only ever from the environment).
export EC3_BEARER_TOKEN=demo-ec3-token
step upload --configuration-id tower.ok-walls-ext --extract --project-name "Tower A" --wait --interval 1s
step upload --configuration-id tower.partial-walls-ext --extract --project-name "Tower A" --wait --interval 1s
