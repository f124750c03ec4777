#!/usr/bin/env bash
# Runs `ec3-gate wait` (input job-id) or `ec3-gate upload --wait` (input
# configuration-id: create the job, then wait for it; with extract, run the
# extraction first) for the composite action.
# Either input may hold several values, one per line: ec3-gate reads the lists
# from EC3_JOB_ID / EC3_CONFIGURATION_ID as they are.
#
# ec3-gate itself writes the step outputs (status, message, ec3-project-url,
# job-id; with extract also extraction-id, extraction-state and stage), the
# step summary, annotations and masks when GITHUB_ACTIONS=true; `upload`
# writes job-id (and extraction-id) as soon as it exists, so a cancelled wait
# still names it. This script only checks which inputs are given, turns them into the
# environment ec3-gate reads, runs it, and applies `fail-on-failed`.
set -euo pipefail

# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

validate_inputs

bin=${EC3_GATE_BIN:-}
if [[ -z $bin ]]; then
  bin=$(command -v ec3-gate) || die "ec3-gate is not installed: the install step did not run or failed"
fi
bin=$(unix_path "$bin")

# The action's inputs are the whole configuration: a variable left in the job's
# environment must not change what the step does behind the inputs' back. Every
# variable ec3-gate reads is named ITWIN_* or EC3_* (its VARIABLES list), so the
# prefixes are the rule here, not a second copy of that list.
while read -r name; do
  case $name in ITWIN_* | EC3_*) unset "$name" ;; esac
done < <(compgen -e)

set_env() {
  # $1: variable ec3-gate reads, $2: input value; empty means "ec3-gate's default".
  if [[ -n $2 ]]; then export "$1=$2"; fi
}

# Secrets passed as literals (not `secrets.*`) are unknown to the runner:
# ec3-gate masks every secret it reads before it prints anything.

# validate_inputs made sure exactly one of job-id and configuration-id is set,
# and that creating has its project name and EC3 token.
if [[ -n ${INPUT_CONFIGURATION_ID:-} ]]; then
  command=(upload --wait)
  set_env EC3_CONFIGURATION_ID "$INPUT_CONFIGURATION_ID"
  set_env EC3_PROJECT_NAME "${INPUT_PROJECT_NAME:-}"
  set_env EC3_EXTRACTION_ID "${INPUT_EXTRACTION_ID:-}"
  # extract: ec3-gate runs the extraction, waits for it, then creates the job
  # (it checks the values and which of these go together).
  set_env EC3_EXTRACT "${INPUT_EXTRACT:-}"
  set_env EC3_IMODEL_ID "${INPUT_IMODEL_ID:-}"
  set_env EC3_CHANGESET_ID "${INPUT_CHANGESET_ID:-}"
  set_env EC3_ALLOW_PARTIAL_EXTRACTION "${INPUT_ALLOW_PARTIAL_EXTRACTION:-}"
  # The EC3 token only ever travels in the environment, never as an argument.
  set_env EC3_BEARER_TOKEN "${INPUT_EC3_TOKEN:-}"
else
  command=(wait)
  set_env EC3_JOB_ID "${INPUT_JOB_ID:-}"
fi
set_env ITWIN_ACCESS_TOKEN "${INPUT_ACCESS_TOKEN:-}"
set_env ITWIN_CLIENT_ID "${INPUT_CLIENT_ID:-}"
set_env ITWIN_CLIENT_SECRET "${INPUT_CLIENT_SECRET:-}"
set_env ITWIN_SCOPE "${INPUT_SCOPE:-}"
set_env ITWIN_API_URL "${INPUT_API_URL:-}"
set_env ITWIN_AUTHORITY "${INPUT_AUTHORITY:-}"
# PEM text or a path: ec3-gate reads and checks it (and names what is wrong).
set_env EC3_CA_CERT "${INPUT_CA_CERT:-}"
set_env EC3_TIMEOUT "${INPUT_TIMEOUT:-}"
set_env EC3_INTERVAL "${INPUT_INTERVAL:-}"
set_env EC3_MAX_REQUESTS_PER_MINUTE "${INPUT_MAX_REQUESTS_PER_MINUTE:-}"
if [[ ${INPUT_FAIL_ON_FAILED:-true} == true ]]; then
  # Nothing to do afterwards: ec3-gate takes this process's place (action.yml
  # execs this script too), so a cancellation's SIGINT/SIGTERM reaches it.
  exec "$bin" "${command[@]}"
fi

# fail-on-failed: false maps exit 1 to 0, so this script outlives ec3-gate.
# Exit 1 means that every job that did not succeed Failed (ec3-gate's
# precedence ranks every other outcome above a Failed job), so with several
# jobs a timeout or an error still fails the step; with extract, it may also
# mean that the extraction Failed or PartiallySucceeded (no job was created:
# the output 'stage' is 'extraction').
# The runner signals only this process on cancel: pass SIGINT and SIGTERM on,
# so ec3-gate still writes its outputs and exits 130/143.
"$bin" "${command[@]}" &
child=$!
signalled=0
trap 'signalled=1; kill -INT "$child" 2>/dev/null || true' INT
trap 'signalled=1; kill -TERM "$child" 2>/dev/null || true' TERM
code=0
while :; do
  signalled=0
  status=0
  wait "$child" || status=$?
  # 127 after a status was collected: the child was already waited for.
  if ((status == 127 && code != 0)); then break; fi
  code=$status
  # A trapped signal ends `wait` early: wait again for ec3-gate's own status.
  ((signalled)) || break
done
trap - INT TERM

if [[ $code -eq 1 ]]; then
  info "every EC3 job (or extraction) that did not succeed Failed; fail-on-failed is false, so this step passes (see the outputs 'status', 'message' and, with extract, 'stage' and 'extraction-state')"
  exit 0
fi
exit "$code"
