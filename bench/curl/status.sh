#!/usr/bin/env bash
# The curl + jq one-shot of bench/run.sh: what a user would write instead of
# `ec3-gate status JOB_ID`. Prints the status word.
#   ITWIN_API_URL=… ITWIN_ACCESS_TOKEN=… status.sh JOB_ID
set -euo pipefail
job=${1:?usage: status.sh JOB_ID}
curl -fsS --max-time 30 \
  -H "Authorization: Bearer ${ITWIN_ACCESS_TOKEN:?}" \
  -H 'Accept: application/vnd.bentley.itwin-platform.v1+json' \
  "${ITWIN_API_URL:?}/insights/carbon-calculation/ec3/jobs/${job}" |
  jq -er '.job.status'
