#!/usr/bin/env bash
# bench/chain.sh: the extraction chain of issue 18, measured: `ec3-gate upload --extract --wait`
# beside a curl + jq script sending the same requests (bench/curl/chain.sh), against the
# simulator on loopback. Per tool: wall time, CPU (user + system), peak RSS, requests by route,
# TCP connections, requests after a terminal state, and how long after the job finished each
# noticed it. Prints the Markdown table (--out FILE also writes it).
#
# Usage: bench/chain.sh [--runs N] [--interval S] [--extraction-polls N] [--job-ms MS] [--out FILE]
#   --runs N              measured runs per tool, interleaved (default 3)
#   --interval S          poll interval of both tools, whole seconds (default 5, ec3-gate's default)
#   --extraction-polls N  Running answers of each extraction: Queued, Running x N, Succeeded (default 2)
#   --job-ms MS           run i's job ends MS + (i-1) x 1700 ms after its first poll (default 6000),
#                         so the runs sample different phases of the poll cycle
#   --out FILE            also write the table there
#
# Exit status: 0 when every run of every tool ended Succeeded, 2 on a usage error, a missing tool
# or a run that did not.
#
# Needs curl, jq and a release build (cargo build --release --bin ec3-gate --example ec3-sim;
# built here when missing) and rustc for the measuring helper (bench/measure.rs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs=3
interval=5
extraction_polls=2
job_ms=6000
out=
usage() {
  sed -n '8,15p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}
while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --interval) interval=${2:?--interval needs a value}; shift 2 ;;
    --extraction-polls) extraction_polls=${2:?--extraction-polls needs a value}; shift 2 ;;
    --job-ms) job_ms=${2:?--job-ms needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "chain.sh: unknown argument '$1'" >&2; usage >&2 ;;
  esac
done
for n in "$runs" "$interval" "$extraction_polls" "$job_ms"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "chain.sh: '$n' is not a whole number" >&2; exit 2; }
done
((runs >= 1 && interval >= 1)) || { echo "chain.sh: --runs and --interval must be at least 1" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'chain.sh: %s\n' "$*" >&2; exit 2; }
for tool in curl jq rustc; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done

target=${CARGO_TARGET_DIR:-$root/target}
triple=x86_64-unknown-linux-gnu
gate=$target/release/ec3-gate
sim=$target/release/examples/ec3-sim
measure=$target/bench/measure
if [[ ! -x $gate || ! -x $sim ]]; then
  log "building ec3-gate and the simulator (cargo build --release)"
  cargo build --release --bin ec3-gate --example ec3-sim >&2
fi
# shellcheck source=bench/measure.sh
source bench/measure.sh
build_measure "$measure" "$triple"

work=$(mktemp -d "${TMPDIR:-/tmp}/ec3-chain.XXXXXX")
sim_pid=
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
  if [[ -n $sim_pid ]]; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$sim" --addr 127.0.0.1:0 --running-polls "$extraction_polls" --url-file "$work/url" --quiet \
  >/dev/null 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do
  [[ -s $work/url ]] && break
  kill -0 "$sim_pid" 2>/dev/null || die "the simulator exited: $(cat "$work/sim.log")"
  sleep 0.05
done
[[ -s $work/url ]] || die "the simulator did not start within 5 s"
url=$(head -n1 "$work/url")
log "simulator at $url (extractions: Queued, Running x $extraction_polls, Succeeded)"

# Both tools see the same environment: the simulator, any token, no proxy, no GitHub mode.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy GITHUB_ACTIONS \
  GITHUB_OUTPUT GITHUB_STEP_SUMMARY ITWIN_CLIENT_ID ITWIN_CLIENT_SECRET
export ITWIN_API_URL=$url ITWIN_ACCESS_TOKEN=bench-token EC3_BEARER_TOKEN=bench-ec3-token \
  NO_COLOR=1

tools=(ec3-gate curl+jq)
results=$work/results.tsv
: >"$results"

# One run of one tool: configuration `ok-msL-TOOLi-ext` makes an extraction that succeeds and a
# job (`ok-ok-msL-TOOLi-ext`) that ends L ms after its first poll. Appends tool, wall_us,
# user_us, sys_us, rss_kib, requests, connections, config reads, extraction runs, extraction
# polls, log reads, job creations, job polls, requests after terminal, notice delay ms.
run_once() {
  local tool=$1 i=$2 length=$3
  local configuration="ok-ms$length-${tool//+/}$i-ext" job
  job="ok-$configuration"
  local cmd
  case $tool in
    ec3-gate)
      cmd=("$gate" upload --configuration-id "$configuration" --project-name "Bench $i" \
        --extract --wait --interval "${interval}s" --timeout 5m --api-url "$url") ;;
    curl+jq) cmd=(bash bench/curl/chain.sh "$configuration" "Bench $i" "$interval") ;;
  esac
  curl -fsS -X POST "$url/__reset" >/dev/null
  "$measure" "$work/m" -- "${cmd[@]}" >"$work/stdout" 2>"$work/stderr" ||
    die "measure failed for $tool"
  local wall user sys rss code got
  read -r wall user sys rss code <"$work/m"
  got=$(tail -n1 "$work/stdout")
  if [[ $code != 0 || $got != Succeeded ]]; then
    die "$tool run $i: exit $code, printed '$got' (want 0, 'Succeeded'); stderr: $(head -c 2000 "$work/stderr")"
  fi
  # The stats request itself is one request on one connection: not the tool's.
  curl -fsS "$url/__stats" | jq -r --arg job "$job" '[
      .requests - 1, .connections - 1,
      ([.routes | to_entries[] | select(.key | test("configurations/")) | .value] | add // 0),
      .extractionsRun,
      ([.extractions[].polls] | add // 0),
      ([.routes | to_entries[] | select(.key | test("/logs")) | .value] | add // 0),
      .jobsCreated,
      (.jobs[$job].polls // 0),
      (.requestsAfterTerminal + ([.extractions[].requestsAfterTerminal] | add // 0)),
      (.noticeDelaysMs[$job] // "nan")
    ] | @tsv' >"$work/stats" || die "reading the simulator's counters failed"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$wall" "$user" "$sys" "$rss" "$(cat "$work/stats")" \
    >>"$results"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
  length=$((job_ms + (i - 1) * 1700))
  for tool in "${tools[@]}"; do
    log "run $i/$runs: $tool (job lasts $length ms)"
    run_once "$tool" "$i" "$length"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
column() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t { print $c }' "$results"; }
range() {
  column "$1" "$2" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END {
    if (lo == hi) print lo; else print lo "–" hi }'
}
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }

# Routes of the routes column: configuration GET, extraction POST, extraction polls, log
# reads, job POST, job polls.
table=$work/table.md
{
  echo "| tool | wall s | CPU ms (user+sys) | peak RSS MiB | requests | of which: configuration, run, extraction polls, logs, create, job polls | TCP connections | requests after terminal | job noticed after its end, ms: median (min–max) |"
  echo '|---|---:|---:|---:|---:|---|---:|---:|---:|'
  for tool in "${tools[@]}"; do
    wall=$(column "$tool" 2 | median)
    cpu=$(awk -F'\t' -v t="$tool" '$1 == t { print $3 + $4 }' "$results" | median)
    rss=$(column "$tool" 5 | median)
    routes="$(range "$tool" 8), $(range "$tool" 9), $(range "$tool" 10), $(range "$tool" 11), $(range "$tool" 12), $(range "$tool" 13)"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) |\n' "$tool" \
      "$(fmt "$(awk -v x="$wall" 'BEGIN { print x / 1e6 }')" 1)" \
      "$(fmt "$(awk -v x="$cpu" 'BEGIN { print x / 1000 }')" 1)" \
      "$(fmt "$(awk -v x="$rss" 'BEGIN { print x / 1024 }')" 1)" \
      "$(range "$tool" 6)" "$routes" "$(range "$tool" 7)" "$(range "$tool" 14)" \
      "$(column "$tool" 15 | median)" "$(range "$tool" 15)"
  done
} >"$table"

{
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, Linux $(uname -r); load average $load_before before, $load_after after (shared)"
  echo "- ec3-gate: $("$gate" --version) (release build); curl+jq: $(curl --version | head -n1 | cut -d' ' -f1-2), $(jq --version), bash ${BASH_VERSION%%(*}"
  echo "- method: \`bench/chain.sh --runs $runs --interval $interval --extraction-polls $extraction_polls --job-ms $job_ms\`: medians of $runs runs per tool, interleaved; each extraction answers Queued, Running × $extraction_polls, Succeeded; run i's job ends $job_ms + (i−1) × 1700 ms after its first poll; both tools poll every $interval s"
  echo
  cat "$table"
} >"$work/out.md"
if [[ -n $out ]]; then
  mkdir -p "$(dirname "$out")"
  cp "$work/out.md" "$out"
fi
cat "$work/out.md"
