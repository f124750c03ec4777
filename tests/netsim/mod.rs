//! Helpers of the network tests: the servers (in `servers.rs`, shared with
//! the C library's tests) and running `ec3-gate` with a clean environment.

#![allow(dead_code)] // each test file uses part of it

mod servers;

use std::path::Path;
use std::process::{Command, Output};

pub use servers::*;

/// `ec3-gate` with a clean environment: no proxy, no CI, no system
/// certificate overrides, unless a test sets them.
pub fn ec3_gate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ec3-gate"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lines of `text` that report a retry.
pub fn retries(text: &str) -> usize {
    text.lines()
        .filter(|l| l.contains("; retrying in "))
        .count()
}

/// The path as a `&str`.
pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
