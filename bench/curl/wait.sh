#!/usr/bin/env bash
# The curl + jq polling loop of bench/run.sh: what a user would write instead of
# `ec3-gate wait JOB_ID`. Polls until Succeeded (exit 0) or Failed (exit 1);
# gives up after 60 s, or WAIT_DEADLINE_S (exit 3). One curl per poll, so one TCP connection
# per poll.
#   ITWIN_API_URL=… ITWIN_ACCESS_TOKEN=… wait.sh JOB_ID INTERVAL_SECONDS
set -euo pipefail
job=${1:?usage: wait.sh JOB_ID INTERVAL_SECONDS}
interval=${2:-5}
url="${ITWIN_API_URL:?}/insights/carbon-calculation/ec3/jobs/${job}"
deadline=$((SECONDS + ${WAIT_DEADLINE_S:-60}))
for ((poll = 0; poll < 10000 && SECONDS < deadline; poll++)); do
  status=$(curl -fsS --max-time 30 \
    -H "Authorization: Bearer ${ITWIN_ACCESS_TOKEN:?}" \
    -H 'Accept: application/vnd.bentley.itwin-platform.v1+json' \
    "$url" | jq -er '.job.status')
  case $status in
    Succeeded) echo "$status"; exit 0 ;;
    Failed) echo "$status"; exit 1 ;;
  esac
  sleep "$interval"
done
echo "wait.sh: job $job still unfinished" >&2
exit 3
