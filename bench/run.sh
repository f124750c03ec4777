#!/usr/bin/env bash
# bench/run.sh: measure ec3-gate side by side with what users would write instead (a curl + jq
# script, a Node script on @itwin/insights-client) against the simulated job service on
# loopback, over plain http and over TLS, check the footprint budgets, and write the table to
# bench/results.md.
#
# Usage: bench/run.sh [--runs N] [--status-runs N] [--polls N] [--interval-ms MS] [--build]
#                     [--gate FILE] [--no-priority] [--out FILE] [--raw FILE]
#   --runs N         measured runs of each wait (default 5; at least 5)
#   --status-runs N  measured runs of each status query (default 15; at least 5)
#   --polls N        Running polls of the waited job: Queued, Running x N, Succeeded (default 20)
#   --interval-ms MS poll interval of every waiting tool (default 50)
#   --build          (re)build ec3-gate and the simulator with cargo even if they exist
#   --gate FILE      measure this ec3-gate binary instead (an older build, for a before/after)
#   --no-priority    measure at normal priority (default: SCHED_FIFO via chrt when allowed,
#                    else nice -10: the machine is shared)
#   --out FILE       where to write the table (default bench/results.md)
#   --raw FILE       also keep every measured run there (TSV, one line per run)
#
# Exit status: 0 when every budget passes, 1 when one fails (the table is written either way),
# 2 on a usage error or when a tool misbehaves (wrong answer or exit code).
#
# Needs cargo, curl, jq and GNU time (/usr/bin/time; installed with apt-get when missing and
# running as root). node and npm are optional: without them the Node rows are skipped. strace is
# optional: with it, the trust store files each ec3-gate run opens are counted.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs=5
status_runs=15
polls=20
interval_ms=50
build=false
priority=true
out=bench/results.md
raw=
gate=

usage() {
  sed -n '7,19p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --status-runs) status_runs=${2:?--status-runs needs a value}; shift 2 ;;
    --polls) polls=${2:?--polls needs a value}; shift 2 ;;
    --interval-ms) interval_ms=${2:?--interval-ms needs a value}; shift 2 ;;
    --build) build=true; shift ;;
    --gate) gate=${2:?--gate needs a value}; shift 2 ;;
    --no-priority) priority=false; shift ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --raw) raw=${2:?--raw needs a value}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2 ;;
  esac
done
for n in "$runs" "$status_runs" "$polls" "$interval_ms"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "run.sh: '$n' is not a whole number" >&2; exit 2; }
done
((runs >= 5 && status_runs >= 5)) || { echo "run.sh: medians need at least 5 runs" >&2; exit 2; }
((interval_ms >= 1)) || { echo "run.sh: --interval-ms must be at least 1" >&2; exit 2; }
# Every waiting tool gives up after 60 s (bench/curl/wait.sh, bench/node/ec3.js, --timeout 60s).
(((polls + 2) * interval_ms <= 45000)) ||
  { echo "run.sh: --polls x --interval-ms must fit well within the tools' 60 s deadline" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Tools

missing=()
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    die "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
  fi
fi

have_node=false
if command -v node >/dev/null && command -v npm >/dev/null; then
  have_node=true
  client_pkg=bench/node/node_modules/@itwin/insights-client/package.json
  if [[ ! -f $client_pkg || bench/node/package-lock.json -nt $client_pkg ]]; then
    log "npm ci (bench/node)"
    (cd bench/node && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
else
  log "node/npm not found: skipping the Node rows"
fi

target=${CARGO_TARGET_DIR:-$root/target}
triple=x86_64-unknown-linux-gnu
own_gate=false
if [[ -z $gate ]]; then
  gate=$target/$triple/dist/ec3-gate
  own_gate=true
fi
[[ $own_gate == true || -x $gate ]] || die "--gate: '$gate' is not an executable file"
sim=$target/release/examples/ec3-sim
measure=$target/bench/measure

if [[ $own_gate == true && ($build == true || ! -x $gate) ]]; then
  log "building the static ec3-gate (cargo build --profile dist --target $triple)"
  # The release workflow's flags for Linux (.github/workflows/release.yml).
  RUSTFLAGS='-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs' \
    cargo build --profile dist --target "$triple" --bin ec3-gate >&2
fi
if [[ $build == true || ! -x $sim ]]; then
  log "building the simulator (cargo build --release --example ec3-sim)"
  cargo build --release --example ec3-sim >&2
fi
# shellcheck source=bench/measure.sh
source bench/measure.sh
build_measure "$measure" "$triple"

# ---------------------------------------------------------------------------------------------
# The simulated service, on loopback, started and stopped by this script

work=$(mktemp -d "${TMPDIR:-/tmp}/ec3-bench.XXXXXX")
sim_pid=
tls_pid=
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
  local pid
  for pid in $sim_pid $tls_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Other work shares this machine (2 cores here, often busy compiling): unless --no-priority, run
# the simulator and every measured command at real-time priority (SCHED_FIFO; else at nice -10)
# so that the tools, not a neighbour's compiler, set the wall times. Every measured command is
# bounded (60 s deadline) and mostly sleeps; the kernel keeps 5% of each second for others anyway.
# CPU time, RSS and request counts do not depend on it.
prio=()
if [[ $priority == true ]]; then
  if chrt -f 10 true 2>/dev/null; then
    prio=(chrt -f 10)
  elif [[ $(id -u) == 0 ]] && nice -n -10 true 2>/dev/null; then
    prio=(nice -n -10)
  fi
fi

# The simulator twice: over plain http, and over TLS (`--tls`: a certificate for localhost from a
# fresh test CA, written to $ca).
ca=$work/ca.pem
start_sim() { # start_sim URL_FILE [ARGS...]: starts one simulator, sets `started`
  local url_file=$1
  shift
  "${prio[@]}" "$sim" --addr 127.0.0.1:0 --running-polls "$polls" --url-file "$url_file" "$@" \
    >/dev/null 2>>"$work/sim.log" &
  started=$!
  for _ in $(seq 100); do
    [[ -s $url_file ]] && return
    kill -0 "$started" 2>/dev/null || die "the simulator exited: $(cat "$work/sim.log")"
    sleep 0.05
  done
  die "the simulator did not start within 5 s"
}
start_sim "$work/url"
sim_pid=$started
start_sim "$work/url-tls" --tls "$ca"
tls_pid=$started
url=$(head -n1 "$work/url")
tls_url=$(head -n1 "$work/url-tls")
log "simulators at $url and $tls_url (running polls: $polls)"

# Every measured tool sees the same environment: the simulator, any token (the simulator takes
# any), no proxy, no GitHub Actions mode.
# Trust is each tool's default (the platform store for ec3-gate, curl's bundle, Node's roots);
# the TLS scenarios add the simulator's CA the way each tool takes it (command_for).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy GITHUB_ACTIONS \
  GITHUB_OUTPUT GITHUB_STEP_SUMMARY ITWIN_CLIENT_ID ITWIN_CLIENT_SECRET EC3_JOB_ID \
  SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS EC3_CA_CERT
export ITWIN_ACCESS_TOKEN=bench-token NO_COLOR=1

interval_s=$(awk -v ms="$interval_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
tools=(ec3-gate curl+jq)
[[ $have_node == true ]] && tools+=(node)

# The command line of one tool for one scenario and job id, into the array `cmd`; the variables
# it needs, into `cmd_env` (set by `env` before the measured process starts). Over TLS each tool
# gets the simulator's CA its own way: ec3-gate as an extra CA on top of the platform store
# (EC3_CA_CERT, as --ca-cert), Node on top of its roots (NODE_EXTRA_CA_CERTS), curl as its
# bundle (CURL_CA_BUNDLE, as --cacert: it then reads only that file).
command_for() {
  local scenario=$1 tool=$2 job=$3 api=$url
  [[ $scenario == *-tls ]] && api=$tls_url
  cmd_env=("ITWIN_API_URL=$api")
  case $scenario in
    *-tls)
      case $tool in
        ec3-gate) cmd_env+=("EC3_CA_CERT=$ca") ;;
        curl+jq) cmd_env+=("CURL_CA_BUNDLE=$ca") ;;
        node) cmd_env+=("NODE_EXTRA_CA_CERTS=$ca") ;;
      esac ;;
  esac
  case ${scenario%-tls}/$tool in
    status/ec3-gate) cmd=("$gate" status "$job" --api-url "$api") ;;
    status/curl+jq) cmd=(bash bench/curl/status.sh "$job") ;;
    status/node) cmd=(node bench/node/ec3.js status "$job") ;;
    wait/ec3-gate)
      cmd=("$gate" wait "$job" --api-url "$api" --interval "${interval_ms}ms" --timeout 60s) ;;
    wait/curl+jq) cmd=(bash bench/curl/wait.sh "$job" "$interval_s") ;;
    wait/node) cmd=(node bench/node/ec3.js wait "$job" "$interval_ms") ;;
    *) die "no command for $scenario/$tool" ;;
  esac
}

# The simulator a scenario runs against, for its reset and counters.
control() { # control SCENARIO PATH [CURL ARGS...]
  local scenario=$1 path=$2
  shift 2
  if [[ $scenario == *-tls ]]; then
    curl -fsS --cacert "$ca" "$@" "$tls_url$path"
  else
    curl -fsS "$@" "$url$path"
  fi
}

results=$work/results.tsv
: >"$results"

# Runs one tool once against a fresh simulator state; with `record`, appends
# scenario, tool, wall_us, user_us, sys_us, rss_kib, connections, requests, after_terminal, polls.
run_once() {
  local scenario=$1 tool=$2 job=$3 record=$4 want_out want_polls
  case ${scenario%-tls} in
    status) want_out=Queued want_polls=1 ;;
    wait) want_out=Succeeded want_polls=$((polls + 2)) ;;
  esac
  command_for "$scenario" "$tool" "$job"
  control "$scenario" /__reset -X POST >/dev/null
  env "${cmd_env[@]}" "${prio[@]}" "$measure" "$work/m" -- "${cmd[@]}" >"$work/stdout" 2>"$work/stderr" ||
    die "measure failed for $tool $scenario"
  local wall user sys rss code
  read -r wall user sys rss code <"$work/m"
  local got
  got=$(tail -n1 "$work/stdout" | sed 's/^"//; s/"$//')
  if [[ $code != 0 || $got != "$want_out" ]]; then
    die "$tool $scenario $job: exit $code, printed '$got' (want 0, '$want_out'); stderr: $(head -c 2000 "$work/stderr")"
  fi
  local conns reqs after jpolls
  read -r conns reqs after jpolls < <(control "$scenario" /__stats | jq -r --arg job "$job" \
    '[.connections - 1, .requests - 1, .requestsAfterTerminal, (.jobs[$job].polls // 0)] | @tsv')
  ((jpolls == want_polls)) ||
    die "$tool $scenario $job: the job was polled $jpolls times (want $want_polls)"
  if [[ $record == record ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$tool" "$wall" "$user" \
      "$sys" "$rss" "$conns" "$reqs" "$after" "$jpolls" >>"$results"
  fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
scenarios=(status wait status-tls wait-tls)
for scenario in "${scenarios[@]}"; do
  n=$runs
  [[ $scenario == status* ]] && n=$status_runs
  log "$scenario: 1 warm-up + $n measured runs per tool, interleaved (${tools[*]})"
  for tool in "${tools[@]}"; do
    run_once "$scenario" "$tool" "ok-warmup-$scenario-${tool//+/-}" skip
  done
  for i in $(seq "$n"); do
    for tool in "${tools[@]}"; do
      run_once "$scenario" "$tool" "ok-$scenario-${tool//+/-}-$i" record
    done
  done
done

# GNU time's own reading of ec3-gate's peak RSS for the wait, as a cross-check of the helper.
log "cross-check: /usr/bin/time -f %M on $runs ec3-gate waits"
gnu_rss=()
for i in $(seq "$runs"); do
  command_for wait ec3-gate "ok-gnutime-$i"
  control wait /__reset -X POST >/dev/null
  env "${cmd_env[@]}" "${prio[@]}" /usr/bin/time -f '%M' -o "$work/gnutime" "${cmd[@]}" >/dev/null 2>&1 ||
    die "ec3-gate wait failed under /usr/bin/time"
  gnu_rss+=("$(tail -n1 "$work/gnutime")")
done

# The trust store files each ec3-gate run opens (strace, when installed): the bundle and
# certificate directories of the platform store, not the extra CA it is given.
opens=$work/opens.tsv
: >"$opens"
have_strace=false
command -v strace >/dev/null && have_strace=true
store_opens() { # store_opens LABEL: counts for the command in `cmd` and `cmd_env`
  strace -f -qq -e trace=open,openat -o "$work/strace" env "${cmd_env[@]}" "${cmd[@]}" \
    >/dev/null 2>&1 || true
  local n
  n=$(grep -v -F "$ca" "$work/strace" | grep -cE \
    '"(/etc/ssl|/usr/lib/ssl|/etc/pki|/etc/ca-certificates|/usr/share/ca-certificates|/usr/local/share/certs|/etc/openssl)' ||
    true)
  printf '%s\t%s\n' "$1" "$n" >>"$opens"
}
if [[ $have_strace == true ]]; then
  log "trust store opens (strace): --help, a usage error, status and wait over http and TLS"
  cmd_env=("ITWIN_API_URL=$url") cmd=("$gate" --help)
  store_opens "--help"
  cmd=("$gate" status)
  store_opens "usage error (status without a job id)"
  for scenario in status wait status-tls wait-tls; do
    command_for "$scenario" ec3-gate "ok-strace-$scenario"
    control "$scenario" /__reset -X POST >/dev/null
    store_opens "$scenario"
  done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Medians, ratios, budgets

# Median of the numbers on stdin (the mean of the middle two for an even count).
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# Column `col` (1-based, of the TSV above) of one scenario and tool.
column() {
  awk -F'\t' -v s="$1" -v t="$2" -v c="$3" '$1 == s && $2 == t { print $c }' "$results"
}
cpu_column() {
  awk -F'\t' -v s="$1" -v t="$2" '$1 == s && $2 == t { print $4 + $5 }' "$results"
}
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "–" }'; }
range() {
  column "$1" "$2" "$3" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END {
    if (lo == hi) print lo; else print lo "–" hi }'
}

table=$work/table.md
{
  echo '| scenario | tool | wall ms | × | CPU ms (user+sys) | × | peak RSS MiB | × | requests | TCP connections | requests after terminal |'
  echo '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  for scenario in "${scenarios[@]}"; do
    base_wall=$(column "$scenario" ec3-gate 3 | median)
    base_cpu=$(cpu_column "$scenario" ec3-gate | median)
    base_rss=$(column "$scenario" ec3-gate 6 | median)
    case $scenario in
      status) label="status (1 query)" ;;
      wait) label="wait (Running × $polls: $((polls + 2)) polls, every ${interval_ms} ms)" ;;
      status-tls) label="status over TLS (1 query)" ;;
      wait-tls) label="wait over TLS (Running × $polls: $((polls + 2)) polls, every ${interval_ms} ms)" ;;
    esac
    for tool in "${tools[@]}"; do
      wall=$(column "$scenario" "$tool" 3 | median)
      cpu=$(cpu_column "$scenario" "$tool" | median)
      rss=$(column "$scenario" "$tool" 6 | median)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$tool" \
        "$(fmt "$(awk -v x="$wall" 'BEGIN { print x / 1000 }')" 1)" "$(ratio "$wall" "$base_wall")" \
        "$(fmt "$(awk -v x="$cpu" 'BEGIN { print x / 1000 }')" 1)" "$(ratio "$cpu" "$base_cpu")" \
        "$(fmt "$(awk -v x="$rss" 'BEGIN { print x / 1024 }')" 1)" "$(ratio "$rss" "$base_rss")" \
        "$(range "$scenario" "$tool" 8)" "$(range "$scenario" "$tool" 7)" \
        "$(range "$scenario" "$tool" 9)"
    done
  done
} >"$table"

# Budgets
mib=$((1024 * 1024))
budgets=$work/budgets.txt
failed=0
verdict() { # verdict OK TEXT
  local word=PASS
  if [[ $1 != 0 ]]; then word=FAIL; failed=1; fi
  printf '%s  %s\n' "$word" "$2" >>"$budgets"
}
: >"$budgets"

size=$(stat -c %s "$gate")
kind=$(file -b "$gate")
static=false stripped=false
[[ $kind == *static* ]] && static=true
[[ $kind == *", stripped"* ]] && stripped=true
ms() { fmt "$(awk -v x="$1" 'BEGIN { print x / 1000 }')" 2; }
ok=1
[[ $static == true && $stripped == true ]] && ((size * 2 <= 7 * mib)) && ok=0
verdict "$ok" "static stripped binary ≤ 3.5 MiB: $(fmt "$(awk -v s="$size" -v m="$mib" 'BEGIN { print s / m }')" 2) MiB ($size bytes; static: $static, stripped: $stripped)"

wait_rss=$(column wait ec3-gate 6 | median)
gnu_median=$(printf '%s\n' "${gnu_rss[@]}" | median)
worst_rss=$(awk -v a="$wait_rss" -v b="$gnu_median" 'BEGIN { print (a > b) ? a : b }')
ok=1
awk -v r="$worst_rss" 'BEGIN { exit !(r <= 3 * 1024) }' && ok=0
verdict "$ok" "peak RSS of a $polls-poll wait (Queued, Running × $polls, Succeeded) ≤ 3 MiB: median $(fmt "$(awk -v x="$wait_rss" 'BEGIN { print x / 1024 }')" 2) MiB (GNU time -f %M: $(fmt "$(awk -v x="$gnu_median" 'BEGIN { print x / 1024 }')" 2) MiB)"

status_cpu=$(cpu_column status ec3-gate | median)
ok=1
awk -v c="$status_cpu" 'BEGIN { exit !(c <= 2000) }' && ok=0
verdict "$ok" "one status query over plain http ≤ 2.0 ms median CPU: $(ms "$status_cpu") ms over $status_runs runs"

tls_cpu=$(cpu_column status-tls ec3-gate | median)
ok=1
awk -v c="$tls_cpu" 'BEGIN { exit !(c <= 4000) }' && ok=0
verdict "$ok" "one status query over TLS (the platform store and the simulator's CA) ≤ 4.0 ms median CPU: $(ms "$tls_cpu") ms over $status_runs runs"

status_wall=$(column status ec3-gate 3 | median)
ok=1
awk -v w="$status_wall" 'BEGIN { exit !(w <= 5000) }' && ok=0
verdict "$ok" "one status query on loopback ≤ 5 ms median wall: $(ms "$status_wall") ms over $status_runs runs"

for scenario in wait wait-tls; do
  conns=$(range "$scenario" ec3-gate 7)
  ok=1
  [[ $conns == 1 ]] && ok=0
  over="plain http"
  [[ $scenario == wait-tls ]] && over=TLS
  verdict "$ok" "exactly one TCP connection per wait over $over: $conns in each of $runs waits"
done

after=$(awk -F'\t' '$2 == "ec3-gate" { s += $9 } END { print s + 0 }' "$results")
ok=1
[[ $after == 0 ]] && ok=0
verdict "$ok" "zero requests after a terminal status: $after over all $((2 * (runs + status_runs))) ec3-gate runs"

if [[ $have_strace == true ]]; then
  opened() { awk -F'\t' -v w="$1" '$1 == w { print $2 }' "$opens"; }
  plain="$(opened --help) for --help, $(opened "usage error (status without a job id)") for a usage error, $(opened status) for a status and $(opened wait) for a wait over plain http"
  ok=1
  [[ $(opened --help)$(opened "usage error (status without a job id)")$(opened status)$(opened wait) == 0000 ]] && ok=0
  verdict "$ok" "no trust store file opened without TLS: $plain"
  ok=1
  [[ $(opened status-tls) == "$(opened wait-tls)" && $(opened status-tls) -ge 1 ]] && ok=0
  verdict "$ok" "the trust store read once per run over TLS: $(opened status-tls) file(s) opened by a status, $(opened wait-tls) by a $((polls + 2))-poll wait"
else
  echo "note: strace is not installed: the trust store files each run opens were not counted" >>"$budgets"
fi

[[ $polls == 20 ]] ||
  echo "note: the RSS budget is defined for 20 Running polls; this run used $polls" >>"$budgets"

# ---------------------------------------------------------------------------------------------
# Report

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)
node_line="not run (node/npm not found)"
if [[ $have_node == true ]]; then
  client_version=$(jq -r .version bench/node/node_modules/@itwin/insights-client/package.json)
  node_line="node $(node --version), @itwin/insights-client $client_version"
fi
priority_note=", at normal priority"
if ((${#prio[@]})); then
  priority_note=", at \`${prio[*]}\` (the simulator too: the machine is shared, and the raised priority keeps the neighbours' builds out of the wall times)"
fi
{
  echo "# ec3-gate benchmark results"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs ($cpu_model), ${mem_gib} GiB, Linux $(uname -r); load average $load_before before, $load_after after (a shared machine: other work ran alongside)"
  echo "- ec3-gate: $("$gate" --version) ($gate, static dist-profile build$([[ $own_gate == true ]] && printf ', commit %s' "$(git describe --always --dirty 2>/dev/null || echo unknown)"))"
  echo "- curl+jq: $(curl --version | head -n1 | cut -d' ' -f1-2), $(jq --version), run by bash $(bash -c 'echo "${BASH_VERSION%%(*}"')"
  echo "- node: $node_line"
  echo "- method: \`bench/run.sh\` against the simulator (the \`ec3-sim\` crate in \`sim/\`, run as \`examples/ec3-sim.rs\`) on 127.0.0.1; medians of $status_runs status queries and $runs waits per tool, runs interleaved across tools after one warm-up each$priority_note; the waited job answers Queued, Running × $polls, Succeeded; every tool polls every $interval_ms ms. The TLS rows run against a second simulator started with \`--tls\` (a certificate for localhost from a fresh test CA), whose CA each tool gets its own way: ec3-gate as an extra CA on top of the platform store (\`EC3_CA_CERT\`), Node on top of its bundled roots (\`NODE_EXTRA_CA_CERTS\`), curl as its whole bundle (\`CURL_CA_BUNDLE\`, so it reads that one file instead of its store); \`SSL_CERT_FILE\` and \`SSL_CERT_DIR\` are unset, so each tool's store is its default. Wall, CPU (user+sys) and peak RSS come from \`wait4(2)\` (\`bench/measure.rs\`, µs resolution; RSS is the largest single process of the tool's tree, as GNU time reports it); requests and TCP connections are counted by the simulator, which is reset before each run. × is the ratio to ec3-gate in the same scenario; ranges show min–max over the runs."
  echo
  cat "$table"
  echo
  echo "Budgets:"
  echo
  echo '```text'
  cat "$budgets"
  echo '```'
} >"$work/results.md"
mkdir -p "$(dirname "$out")"
cp "$work/results.md" "$out"
if [[ -n $raw ]]; then
  {
    printf 'scenario\ttool\twall_us\tuser_us\tsys_us\trss_kib\tconnections\trequests\tafter_terminal\tpolls\n'
    cat "$results"
  } >"$raw"
fi
cat "$work/results.md"
log "written to $out"
exit "$failed"
