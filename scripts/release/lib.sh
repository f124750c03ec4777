# shellcheck shell=bash
# What the release packers (package.sh, package-capi.sh) share: how they fail,
# which targets they accept, and how a staged tree becomes one archive.
# Sourced, not run.

bail() {
  printf '::error::%s\n' "$*"
  exit 2
}

# check_target TARGET: bails unless TARGET looks like a Rust target triple.
check_target() {
  [[ $1 =~ ^[a-z0-9_]+(-[a-z0-9_]+){2,3}$ ]] || bail "TARGET must be a Rust target triple, got '$1'"
}

# archive_ext TARGET: zip for Windows targets (what their users unpack), tar.gz elsewhere.
archive_ext() {
  case $1 in
    *-windows-*) printf 'zip\n' ;;
    *) printf 'tar.gz\n' ;;
  esac
}

# pack STAGE NAME TARGET OUTDIR: archives STAGE/NAME into OUTDIR/NAME.<ext>,
# replacing any older one, and prints the archive's path.
pack() {
  local stage=$1 name=$2 target=$3 outdir=$4 archive
  mkdir -p "$outdir"
  archive=$(cd "$outdir" && pwd)/$name.$(archive_ext "$target")
  rm -f "$archive"
  if [[ $archive == *.zip ]]; then
    (cd "$stage" && 7z a -tzip -bd -y "$archive" "$name" >/dev/null)
  else
    tar -czf "$archive" -C "$stage" "$name"
  fi
  printf '%s\n' "$archive"
}
