#!/usr/bin/env bash
# The curl + jq script of bench/chain.sh: what a user would write instead of
# `ec3-gate upload --configuration-id ID --extract --wait`. It sends what ec3-gate sends: read
# the configuration (its distinct mappings and its iModel), run the extraction, poll it until it
# ends (reading its logs unless it Succeeded), create the job with the extraction's id, poll the
# job until it ends. One curl per request, so one TCP connection per request.
#
#   ITWIN_API_URL=… ITWIN_ACCESS_TOKEN=… EC3_BEARER_TOKEN=… chain.sh CONFIGURATION_ID PROJECT_NAME INTERVAL_SECONDS
#
# Prints the job's final status. Exit 0 when the job Succeeded; 1 when the extraction Failed or
# PartiallySucceeded (no job is created) or the job Failed; 3 after WAIT_DEADLINE_S (default
# 300) seconds. The EC3 token goes to curl on stdin, never on its command line.
set -euo pipefail
configuration=${1:?usage: chain.sh CONFIGURATION_ID PROJECT_NAME INTERVAL_SECONDS}
project=${2:?usage: chain.sh CONFIGURATION_ID PROJECT_NAME INTERVAL_SECONDS}
interval=${3:-5}
api=${ITWIN_API_URL:?}
ec3=$api/insights/carbon-calculation/ec3
gm=$api/grouping-and-mapping/datasources/imodel-mappings
deadline=$((SECONDS + ${WAIT_DEADLINE_S:-300}))
: "${EC3_BEARER_TOKEN:?}"

call() {
  curl -fsS --max-time 30 \
    -H "Authorization: Bearer ${ITWIN_ACCESS_TOKEN:?}" \
    -H 'Accept: application/vnd.bentley.itwin-platform.v1+json' "$@"
}

# 1. The configuration: the iModel its link names, its distinct mappings in order.
config=$(call "$ec3/configurations/$configuration")
imodel=$(jq -er '.configuration._links.iModel.href | split("/") | last' <<<"$config")
run=$(jq -c --arg imodel "$imodel" '{iModelId: $imodel, mappings: (
  [.configuration.labels[].mappingId]
  | reduce .[] as $m ([]; if any(.[]; . == $m) then . else . + [$m] end)
  | map({id: .}))}' <<<"$config")

# 2. Run the extraction, then poll it.
extraction=$(call -H 'Content-Type: application/json' -d "$run" "$gm/extractions" |
  jq -er '.extraction.id')
while :; do
  state=$(call "$gm/extractions/$extraction" | jq -er '.extraction.state')
  case $state in
    Succeeded) break ;;
    PartiallySucceeded | Failed)
      call "$gm/extractions/$extraction/logs" |
        jq -r '.logs[] | select(.level == "Error") | "\(.contextId): \(.message)"' >&2
      echo "extraction $extraction $state" >&2
      exit 1
      ;;
  esac
  ((SECONDS < deadline)) || { echo "chain.sh: extraction $extraction still $state" >&2; exit 3; }
  sleep "$interval"
done

# 3. Create the job with the extraction's id, then poll it.
job=$(jq -nc --arg c "$configuration" --arg p "$project" --arg e "$extraction" \
  '{configurationId: $c, projectName: $p, ec3BearerToken: env.EC3_BEARER_TOKEN, extractionId: $e}' |
  call -H 'Content-Type: application/json' -d @- "$ec3/jobs" | jq -er '.job.id')
while :; do
  status=$(call "$ec3/jobs/$job" | jq -er '.job.status')
  case $status in
    Succeeded) echo "$status"; exit 0 ;;
    Failed) echo "$status"; exit 1 ;;
  esac
  ((SECONDS < deadline)) || { echo "chain.sh: job $job still $status" >&2; exit 3; }
  sleep "$interval"
done
