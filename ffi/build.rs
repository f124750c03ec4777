//! Writes `ec3_gate.pc` and `ec3_gate-static.pc` next to the libraries this
//! build makes (`target/<profile>/`), so a C project can use the build tree
//! with `PKG_CONFIG_PATH=target/<profile> pkg-config --cflags --libs
//! ec3_gate` (scripts/install-capi.sh rewrites their paths for the install
//! prefix), and names the shared library (SONAME, install name).
//!
//! Writing beside the artifacts, not only into `OUT_DIR`, is deliberate:
//! `OUT_DIR` has a hash in its name, and the file is for people and scripts.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=ec3_gate.pc.in");
    println!("cargo::rerun-if-changed=ec3_gate-static.pc.in");

    let var = |name: &str| env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(var("OUT_DIR"));
    let workspace = manifest_dir.parent().expect("ffi/ lives in the workspace");
    // OUT_DIR is <profile dir>/build/<package>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).expect("cargo's OUT_DIR layout");

    for name in ["ec3_gate.pc", "ec3_gate-static.pc"] {
        let template = fs::read_to_string(manifest_dir.join(format!("{name}.in")))
            .unwrap_or_else(|e| panic!("ffi/{name}.in: {e}"));
        let pc = template
            .replace("@PREFIX@", &path_text(workspace))
            .replace("@LIBDIR@", &path_text(profile_dir))
            .replace("@INCLUDEDIR@", &path_text(&workspace.join("include")))
            .replace("@NATIVE_LIBS@", native_libs(&var("CARGO_CFG_TARGET_OS")))
            .replace("@VERSION@", &var("CARGO_PKG_VERSION"))
            .replace("@URL@", &var("CARGO_PKG_REPOSITORY"));
        write_if_changed(&out_dir.join(name), &pc);
        write_if_changed(&profile_dir.join(name), &pc);
    }

    link_shared_library(&var("CARGO_CFG_TARGET_OS"), profile_dir);
}

/// The ABI version of the shared library: `0.MINOR` while the major version
/// is 0 (a minor release may break the ABI), else `MAJOR` (cargo-c's rule).
fn abi_version() -> String {
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    if major == "0" {
        format!("0.{minor}")
    } else {
        major
    }
}

/// The shared library's name inside it: the SONAME (`libec3_gate.so.0.1`)
/// on ELF; the install name (`@rpath/libec3_gate.0.1.dylib`) with current
/// and compatibility versions on macOS. Windows DLLs have no such name: the
/// import library (`ec3_gate.dll.lib`) links to `ec3_gate.dll`.
///
/// What it exports needs no version script: rustc exports exactly the
/// `#[no_mangle] extern "C"` functions (its own anonymous version script),
/// and `ffi/tests/install.rs` checks them against `ffi/ec3_gate.symbols`.
/// No symbol versions either: the linker keeps rustc's unversioned list,
/// and the SONAME already names the ABI line.
fn link_shared_library(target_os: &str, profile_dir: &Path) {
    let abi = abi_version();
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets the version");
    let arg = |a: String| println!("cargo::rustc-cdylib-link-arg={a}");
    match target_os {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" => {
            let soname = format!("libec3_gate.so.{abi}");
            arg(format!("-Wl,-soname,{soname}"));
            // A program linked in the build tree needs the SONAME there too:
            // `libec3_gate.so.0.1 -> libec3_gate.so`, made before the link.
            build_tree_link(&profile_dir.join(&soname), "libec3_gate.so");
        }
        "macos" | "ios" => {
            let install_name = format!("libec3_gate.{abi}.dylib");
            arg(format!("-Wl,-install_name,@rpath/{install_name}"));
            build_tree_link(&profile_dir.join(&install_name), "libec3_gate.dylib");
            // Compatibility version: the oldest release this one replaces,
            // so the first release of the ABI (x.y.0).
            arg(format!("-Wl,-compatibility_version,{abi}.0"));
            arg(format!("-Wl,-current_version,{version}"));
        }
        _ => {}
    }
}

/// The system libraries a Rust staticlib needs, as `rustc --print
/// native-static-libs` lists them for the target (std, and nothing else:
/// the core's dependencies are pure Rust), less `-lgcc_s`: the C compiler
/// driver links the unwinder itself (libgcc_s as needed, or libgcc_eh with
/// `-static`), and naming libgcc_s breaks `cc -static`, which has no
/// static libgcc_s.
fn native_libs(target_os: &str) -> &'static str {
    match target_os {
        "macos" => "-lSystem -lc -lm",
        // std's own list; not yet checked against `--print native-static-libs`
        // of a Windows build (none is made here), which may add libraries of
        // dependencies (windows-targets' import library).
        "windows" => "-lkernel32 -ladvapi32 -lntdll -luserenv -lws2_32 -ldbghelp",
        "freebsd" => "-lexecinfo -lpthread -lc -lm -lrt -lutil",
        // Linux (glibc); also the fallback.
        _ => "-lutil -lrt -lpthread -lm -ldl -lc",
    }
}

/// Makes `link` a symbolic link to `target` (a name in the same directory).
fn build_tree_link(link: &Path, target: &str) {
    #[cfg(unix)]
    if fs::read_link(link).ok().as_deref() != Some(Path::new(target)) {
        let _ = fs::remove_file(link);
        std::os::unix::fs::symlink(target, link)
            .unwrap_or_else(|e| panic!("cannot link {}: {e}", link.display()));
    }
    #[cfg(not(unix))]
    let _ = (link, target); // Cross builds for ELF from Windows: none needed to build.
}

/// A path as pkg-config needs it: UTF-8, spaces escaped.
fn path_text(path: &Path) -> String {
    let text = path.to_str().expect("the build directory path is UTF-8");
    text.replace(' ', "\\ ")
}

/// Keeps the file's timestamp when nothing changed.
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
