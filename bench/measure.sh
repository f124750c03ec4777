# bench/measure.sh: sourced by bench/run.sh and bench/chain.sh (run from the repository's root).
# build_measure OUT TRIPLE: builds the measuring helper (bench/measure.rs) at OUT unless it is
# there and newer than its source. Small and static on purpose: a child's ru_maxrss starts at
# its launcher's peak RSS.
# shellcheck shell=bash
build_measure() {
  local out=$1 triple=$2
  if [[ -x $out && ! bench/measure.rs -nt $out ]]; then
    return 0
  fi
  printf '== %s\n' "building the measuring helper (rustc bench/measure.rs)" >&2
  mkdir -p "$(dirname "$out")"
  rustc --edition 2024 -C opt-level=s -C panic=abort -C strip=symbols \
    -C target-feature=+crt-static --target "$triple" bench/measure.rs -o "$out"
}
