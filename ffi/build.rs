//! Writes `ec3_gate.pc` next to the libraries this build makes
//! (`target/<profile>/`), so a C project can use the build tree with
//! `PKG_CONFIG_PATH=target/<profile> pkg-config --cflags --libs ec3_gate`.
//!
//! Writing beside the artifacts, not only into `OUT_DIR`, is deliberate:
//! `OUT_DIR` has a hash in its name, and the file is for people and scripts.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=ec3_gate.pc.in");

    let var = |name: &str| env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(var("OUT_DIR"));
    let workspace = manifest_dir.parent().expect("ffi/ lives in the workspace");
    // OUT_DIR is <profile dir>/build/<package>-<hash>/out.
    let profile_dir = out_dir.ancestors().nth(3).expect("cargo's OUT_DIR layout");

    let template = fs::read_to_string(manifest_dir.join("ec3_gate.pc.in"))
        .expect("ffi/ec3_gate.pc.in is readable");
    let pc = template
        .replace("@PREFIX@", &path_text(workspace))
        .replace("@LIBDIR@", &path_text(profile_dir))
        .replace("@INCLUDEDIR@", &path_text(&workspace.join("include")))
        .replace("@NATIVE_LIBS@", native_libs(&var("CARGO_CFG_TARGET_OS")))
        .replace("@VERSION@", &var("CARGO_PKG_VERSION"))
        .replace("@URL@", &var("CARGO_PKG_REPOSITORY"));

    write_if_changed(&out_dir.join("ec3_gate.pc"), &pc);
    write_if_changed(&profile_dir.join("ec3_gate.pc"), &pc);
}

/// The system libraries a Rust staticlib needs, as `rustc --print
/// native-static-libs` lists them for the target (std, and nothing else:
/// the core's dependencies are pure Rust).
fn native_libs(target_os: &str) -> &'static str {
    match target_os {
        "macos" => "-lSystem -lc -lm",
        "freebsd" => "-lexecinfo -lpthread -lgcc_s -lc -lm -lrt -lutil",
        // Linux (glibc); also the fallback.
        _ => "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc",
    }
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
