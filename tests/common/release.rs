//! The release scripts as release.yml runs them, for the tests that install what
//! they pack (tests/install.rs, tests/action_scripts/), so the tested layout is the
//! released one.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn script(name: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(ROOT).join("scripts/release").join(name));
    cmd
}

/// Packs `binary` for `target` into `outdir` with `scripts/release/package.sh`.
/// Returns the archive's path as the script prints it.
pub fn package(binary: &Path, target: &str, outdir: &Path) -> PathBuf {
    let out = script("package.sh")
        .args([VERSION, target])
        .arg(binary)
        .arg(outdir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim_end())
}

/// The manifest lines `scripts/release/manifest.sh` writes for the release in
/// `dir`: one for the archive, one for the binary in it.
pub fn manifest_lines(dir: &Path) -> String {
    let out = script("manifest.sh")
        .arg(VERSION)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 2, "archive and binary: {lines}");
    lines
}
