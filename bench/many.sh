#!/usr/bin/env bash
# shellcheck disable=SC2016 # the waiter snippets expand in the bash that runs them
# bench/many.sh: many jobs, one gate. JOBS jobs of mixed lengths (10 to 59 s; every tenth one
# fails) against the simulator with a per-token rate limit (500 a minute, the community tier),
# waited for by one ec3-gate process (at the default budget and at a larger one), by one
# ec3-gate process per job, and by one curl + jq loop per job (bench/curl/wait.sh). Every
# waiter polls each job every INTERVAL seconds and uses the same token.
#
# Usage: bench/many.sh [--jobs N] [--min-length S] [--interval S] [--budget N] [--out FILE]
#   --jobs N       jobs (default 50)
#   --min-length S the shortest job, in seconds; the others last up to S + 49 (default 10)
#   --interval S   poll interval of every waiter, in seconds (default 5, the default of ec3-gate)
#   --budget N     the larger budget of the second single-process row (default 400)
#   --out FILE     also write the table there
#
# Per row: requests the simulator read, 429s it sent, TCP connections opened and the most open
# at once (sampled every 100 ms with ss), CPU time (user + system, all processes together),
# the peak RSS of the largest process, the exit statuses, and the delay between each job
# ending (at the simulator) and the waiter being told (its first terminal answer): median and
# max over the jobs noticed.
#
# Needs curl, jq, ss, GNU time and a release build (cargo build --release --bin ec3-gate
# --example ec3-sim; built here when missing).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=50
min_length=10
interval=5
budget=400
out=
while (($#)); do
  case $1 in
    --jobs) jobs=${2:?}; shift 2 ;;
    --min-length) min_length=${2:?}; shift 2 ;;
    --interval) interval=${2:?}; shift 2 ;;
    --budget) budget=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "many.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for n in "$jobs" "$min_length" "$interval" "$budget"; do
  [[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "many.sh: '$n' is not a positive whole number" >&2; exit 2; }
done
for tool in curl jq ss /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "many.sh: $tool is missing" >&2; exit 2; }
done

target=${CARGO_TARGET_DIR:-$root/target}
gate=$target/release/ec3-gate
sim=$target/release/examples/ec3-sim
if [[ ! -x $gate || ! -x $sim ]]; then
  cargo build --release --bin ec3-gate --example ec3-sim >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ec3-many.XXXXXX")
sim_pid=
sampler_pid=
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
  for pid in $sampler_pid $sim_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The jobs: lengths spread over min_length + 0..49 s, every tenth one fails; the ids carry both.
ids=()
for ((i = 0; i < jobs; i++)); do
  length=$(((min_length + i * 37 % 50) * 1000))
  kind=ok
  ((i % 10 == 9)) && kind=fail
  ids+=("$kind-ms$length-n$i")
done
deadline_s=$((min_length + 50 + 60 + jobs * 2))

start_sim() {
  rm -f "$work/url"
  "$sim" --addr 127.0.0.1:0 --rate-limit 500 --quiet --url-file "$work/url" >/dev/null &
  sim_pid=$!
  for _ in $(seq 100); do [[ -s $work/url ]] && break; sleep 0.05; done
  url=$(cat "$work/url")
  port=${url##*:}
  : >"$work/open"
  (while :; do ss -Htn state established "( sport = :$port )" | wc -l >>"$work/open"; sleep 0.1; done) &
  sampler_pid=$!
}

stop_sim() {
  kill "$sampler_pid" "$sim_pid" 2>/dev/null || true
  wait "$sampler_pid" "$sim_pid" 2>/dev/null || true
  sampler_pid="" sim_pid=""
}

# Runs one scenario (a bash snippet that waits for every job, writing exit statuses to
# $work/exits) and prints its table row.
scenario() {
  local name=$1 snippet=$2
  start_sim
  : >"$work/exits"
  ITWIN_API_URL=$url ITWIN_ACCESS_TOKEN=bench-token NO_COLOR=1 \
    WORK=$work GATE=$gate INTERVAL=$interval DEADLINE=$deadline_s BUDGET=$budget \
    /usr/bin/time -f '%U %S %M' -o "$work/time" bash -c "$snippet" -- "${ids[@]}" \
    >/dev/null 2>"$work/stderr" || true
  curl -fsS "$url/__stats" >"$work/stats.json"
  stop_sim
  local user sys rss
  read -r user sys rss <"$work/time"
  local requests limited conns peak exits notice
  requests=$(jq '.requests - 1' "$work/stats.json") # not the /__stats request itself
  limited=$(jq .rateLimited "$work/stats.json")
  conns=$(jq '.connections - 1' "$work/stats.json")
  peak=$(sort -n "$work/open" | tail -1)
  exits=$(sort -n "$work/exits" | uniq -c | awk '{printf "%s%s×%s", sep, $1, $2; sep=", "}')
  notice=$(jq -r '[.noticeDelaysMs[]] | sort | if length == 0 then "–" else
      "\(length): \(.[length / 2 | floor] / 1000) s / \(.[-1] / 1000) s" end' "$work/stats.json")
  printf '| %s | %s | %s | %s | %s | %.2f s | %.1f MiB | %s | %s |\n' \
    "$name" "$requests" "$limited" "$conns" "$peak" "$(awk "BEGIN { print $user + $sys }")" \
    "$(awk "BEGIN { print $rss / 1024 }")" "$exits" "$notice"
}

one_gate='
  "$GATE" wait --interval "${INTERVAL}s" --timeout "${DEADLINE}s" "$@"; echo $? >>"$WORK/exits"'
one_gate_budget='
  EC3_MAX_REQUESTS_PER_MINUTE=$BUDGET "$GATE" wait --interval "${INTERVAL}s" \
    --timeout "${DEADLINE}s" "$@"; echo $? >>"$WORK/exits"'
many_gates='
  for id; do
    ("$GATE" wait --interval "${INTERVAL}s" --timeout "${DEADLINE}s" "$id"; echo $? >>"$WORK/exits") &
  done
  wait'
curl_loops='
  for id; do
    (WAIT_DEADLINE_S=$DEADLINE bench/curl/wait.sh "$id" "$INTERVAL"; echo $? >>"$WORK/exits") &
  done
  wait'

table=$(
  echo "| waiters ($jobs jobs of $min_length–$((min_length + 49)) s, ${interval} s interval) | requests | 429s | connections | most open at once | CPU | peak RSS (largest process) | exit statuses | jobs noticed: median / max delay |"
  echo "|---|---|---|---|---|---|---|---|---|"
  scenario "1 ec3-gate process (default budget, 60/min)" "$one_gate"
  scenario "1 ec3-gate process, --max-requests-per-minute $budget" "$one_gate_budget"
  scenario "$jobs ec3-gate processes" "$many_gates"
  scenario "$jobs curl + jq loops" "$curl_loops"
)
echo "$table"
[[ -z $out ]] || echo "$table" >"$out"
