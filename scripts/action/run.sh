#!/usr/bin/env bash
# Runs `ec3-gate wait` (input job-id) or `ec3-gate upload --wait` (input
# configuration-id: create the job, then wait for it) for the composite action.
# Either input may hold several values, one per line: ec3-gate reads the lists
# from EC3_JOB_ID / EC3_CONFIGURATION_ID as they are.
#
# ec3-gate itself writes the step outputs (status, message, ec3-project-url,
# job-id), the step summary, annotations and masks when GITHUB_ACTIONS=true;
# `upload` writes job-id as soon as the job exists, so a cancelled wait still
# names it. This script only checks which inputs are given, turns them into the
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
# environment must not change what the step does behind the inputs' back.
unset ITWIN_ACCESS_TOKEN ITWIN_CLIENT_ID ITWIN_CLIENT_SECRET ITWIN_SCOPE \
  ITWIN_AUTHORITY ITWIN_API_URL EC3_JOB_ID EC3_TIMEOUT EC3_INTERVAL \
  EC3_BEARER_TOKEN EC3_CONFIGURATION_ID EC3_PROJECT_NAME EC3_EXTRACTION_ID \
  EC3_MAX_REQUESTS_PER_MINUTE

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
set_env EC3_TIMEOUT "${INPUT_TIMEOUT:-}"
set_env EC3_INTERVAL "${INPUT_INTERVAL:-}"
set_env EC3_MAX_REQUESTS_PER_MINUTE "${INPUT_MAX_REQUESTS_PER_MINUTE:-}"
if [[ ${INPUT_FAIL_ON_FAILED:-true} == true ]]; then
  # Nothing to do afterwards: ec3-gate takes this process's place (action.yml
  # execs this script too), so a cancellation's SIGINT/SIGTERM reaches it.
  exec "$bin" "${command[@]}"
fi

code=0
"$bin" "${command[@]}" || code=$?

if [[ $code -eq 1 ]]; then
  info "the EC3 job Failed; fail-on-failed is false, so this step passes (see the outputs 'status' and 'message')"
  exit 0
fi
exit "$code"
