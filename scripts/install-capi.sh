#!/usr/bin/env bash
# Installs libec3_gate, the C library of ec3-gate: header, shared and static
# libraries, pkg-config files and a CMake package, in cargo-c's layout.
#
#   scripts/install-capi.sh [--prefix DIR] [--destdir DIR] [--target TRIPLE]
#                           [--profile NAME] [--from DIR]
#
#   --prefix   where the files go (default /usr/local); the .pc and CMake
#              files find everything relative to themselves, so the tree
#              can be moved or unpacked elsewhere
#   --destdir  staging root prepended to the prefix (default $DESTDIR)
#   --target   Rust target triple to build for (default: the host)
#   --profile  cargo profile (default release: LTO, stripped; unwinding on,
#              which the library's panic boundary needs)
#   --from     install what is already built in DIR (a cargo profile
#              directory such as target/release) instead of building
#
# Layout (Linux; see docs/c-api.md for macOS and Windows):
#   include/ec3_gate.h
#   lib/libec3_gate.so.X.Y.Z, libec3_gate.so.0.Y -> it, libec3_gate.so -> .so.0.Y
#   lib/libec3_gate.a   (Linux: one object, only ec3_gate_* left global)
#   lib/pkgconfig/ec3_gate.pc, lib/pkgconfig/ec3_gate-static.pc
#   lib/cmake/ec3_gate/ec3_gateConfig.cmake, ec3_gateConfigVersion.cmake
#   share/doc/ec3_gate/c-api.md, LICENSE-MIT, LICENSE-APACHE
set -euo pipefail

bail() {
  printf 'install-capi: %s\n' "$*" >&2
  exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=/usr/local destdir=${DESTDIR:-} target="" profile=release from=""
while (($#)); do
  case $1 in
    --prefix | --destdir | --target | --profile | --from)
      (($# >= 2)) || bail "$1 needs a value"
      case $1 in
        --prefix) prefix=$2 ;;
        --destdir) destdir=$2 ;;
        --target) target=$2 ;;
        --profile) profile=$2 ;;
        --from) from=$2 ;;
      esac
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) bail "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $prefix == /* ]] || bail "--prefix must be an absolute path, got '$prefix'"

if [[ -z $from ]]; then
  args=(build --locked -p ec3-gate-ffi --lib --profile "$profile")
  [[ -n $target ]] && args+=(--target "$target")
  (cd "$root" && cargo "${args[@]}") >&2
  dir=$profile
  [[ $profile == dev ]] && dir=debug
  from=$root/target/${target:+$target/}$dir
fi
[[ -f $from/ec3_gate.pc ]] || bail "no ec3_gate.pc in '$from': not a build of ec3-gate-ffi"

# Everything version- and platform-specific comes from the build: the
# version from its .pc (Cargo.toml's), the system libraries from its .pc
# (ffi/build.rs's table), the shared library's name from the library itself.
pc_value() { sed -n "s/^$1[=:] *//p" "$from/ec3_gate.pc"; }
version=$(pc_value Version)
native_libs=$(pc_value native_libs)
[[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || bail "unreadable version '$version'"
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}

dest=$destdir$prefix
install -d "$dest/include" "$dest/lib/pkgconfig" "$dest/lib/cmake/ec3_gate" \
  "$dest/share/doc/ec3_gate"
install -m 644 "$root/include/ec3_gate.h" "$dest/include/"

implib="" soname=""
if [[ -f $from/libec3_gate.so ]]; then
  soname=$(readelf -d "$from/libec3_gate.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [[ $soname == libec3_gate.so.* ]] || bail "libec3_gate.so has no SONAME (built without ffi/build.rs?)"
  real=libec3_gate.so.$version
  install -m 755 "$from/libec3_gate.so" "$dest/lib/$real"
  [[ $soname == "$real" ]] || ln -sfn "$real" "$dest/lib/$soname"
  ln -sfn "$soname" "$dest/lib/libec3_gate.so"
  shared=lib/$real static=lib/libec3_gate.a
elif [[ -f $from/libec3_gate.dylib ]]; then
  install_name=$(otool -D "$from/libec3_gate.dylib" | sed -n 2p)
  soname=${install_name##*/} # libec3_gate.0.Y.dylib
  install -m 755 "$from/libec3_gate.dylib" "$dest/lib/$soname"
  ln -sfn "$soname" "$dest/lib/libec3_gate.dylib"
  shared=lib/$soname static=lib/libec3_gate.a
elif [[ -f $from/ec3_gate.dll ]]; then
  install -d "$dest/bin"
  install -m 755 "$from/ec3_gate.dll" "$dest/bin/"
  shared=bin/ec3_gate.dll
  if [[ -f $from/ec3_gate.dll.lib ]]; then # MSVC
    implib=lib/ec3_gate.dll.lib static=lib/ec3_gate.lib
    install -m 644 "$from/ec3_gate.dll.lib" "$dest/$implib"
    install -m 644 "$from/ec3_gate.lib" "$dest/$static"
  else # GNU
    implib=lib/libec3_gate.dll.a static=lib/libec3_gate.a
    install -m 644 "$from/libec3_gate.dll.a" "$dest/$implib"
  fi
else
  bail "no shared library in '$from'"
fi

# The static archive: on ELF, all of it linked into one object in which only
# the C API stays global, so Rust's std, compiler builtins and
# rust_eh_personality cannot clash with the program's (or another Rust
# library's) symbols. Debug information is dropped as for the shared library,
# and so is the LLVM bitcode rustc embeds (.llvmbc, .llvmcmd): only LLVM of
# the same version could use it, and an older LLVM linker plugin (binutils'
# ar and ld load it when installed) aborts on it.
if [[ $static == lib/libec3_gate.a ]]; then
  if [[ -n $soname && $soname == *.so.* ]] && command -v ld >/dev/null && command -v objcopy >/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    ld -r --whole-archive "$from/libec3_gate.a" -o "$work/ec3_gate.o"
    objcopy --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd \
      --keep-global-symbols="$root/ffi/ec3_gate.symbols" "$work/ec3_gate.o"
    rm -f "$dest/$static"
    ar rcs "$dest/$static" "$work/ec3_gate.o"
    chmod 644 "$dest/$static"
  else
    install -m 644 "$from/libec3_gate.a" "$dest/$static"
  fi
fi

# pkg-config files: the build tree's, with paths relative to the file
# (pkg-config's own ${pcfiledir}, kept literal here).
# shellcheck disable=SC2016
for pc in ec3_gate.pc ec3_gate-static.pc; do
  sed -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' \
    -e 's|^libdir=.*|libdir=${prefix}/lib|' \
    -e 's|^includedir=.*|includedir=${prefix}/include|' \
    "$from/$pc" >"$dest/lib/pkgconfig/$pc"
done

# CMake package: the same system libraries, as CMake names them.
static_libs=""
for lib in $native_libs; do
  static_libs+=${static_libs:+;}${lib#-l}
done
pointer_size=8
case ${target:-$(uname -m)} in i?86* | arm-* | armv7* | thumb* | wasm32* | *86-*-*32*) pointer_size=4 ;; esac
fill() {
  sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" -e "s|@MINOR@|$minor|g" \
    -e "s|@SHARED@|$shared|g" -e "s|@IMPLIB@|$implib|g" -e "s|@SONAME@|$soname|g" \
    -e "s|@STATIC@|$static|g" -e "s|@STATIC_LIBS@|$static_libs|g" \
    -e "s|@POINTER_SIZE@|$pointer_size|g" "$1"
}
fill "$root/ffi/cmake/ec3_gateConfig.cmake.in" >"$dest/lib/cmake/ec3_gate/ec3_gateConfig.cmake"
fill "$root/ffi/cmake/ec3_gateConfigVersion.cmake.in" \
  >"$dest/lib/cmake/ec3_gate/ec3_gateConfigVersion.cmake"

# The licence texts go wherever the library goes (MIT OR Apache-2.0).
for doc in docs/c-api.md LICENSE-MIT LICENSE-APACHE; do
  [[ -f $root/$doc ]] || bail "$doc is missing from the repository"
  install -m 644 "$root/$doc" "$dest/share/doc/ec3_gate/"
done
printf 'install-capi: installed libec3_gate %s into %s\n' "$version" "$dest" >&2
