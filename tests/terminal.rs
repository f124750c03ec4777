//! Progress on terminals: plain status lines where the spinner cannot be
//! drawn (`TERM=dumb` under a real pseudo-terminal, made by `script`), and
//! `--quiet` for only the result and errors.

mod common;

#[cfg(target_os = "linux")]
use std::process::Command;

use common::{as_text, ec3};
#[cfg(target_os = "linux")]
use {common::sim, ec3_sim::Sim};

/// Runs `ec3-gate wait` under a pseudo-terminal with `TERM=dumb`; returns
/// everything the terminal showed.
///
/// Linux only (util-linux `script -c`), as in tests/process.rs: the terminal
/// handling is the same code on every OS.
#[cfg(target_os = "linux")]
fn under_pty(server: &Sim, extra: &str) -> String {
    let line = format!(
        "{} wait ok-pty --api-url {} --interval 10ms {extra}",
        env!("CARGO_BIN_EXE_ec3-gate"),
        server.url()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("NO_COLOR")
        .env("TERM", "dumb")
        .env("ITWIN_ACCESS_TOKEN", "test-token-123456")
        .output()
        .expect("`script` (util-linux) runs a command under a pseudo-terminal");
    assert!(out.status.success(), "{}", as_text(&out.stderr));
    as_text(&out.stdout)
}

#[cfg(target_os = "linux")]
#[test]
fn dumb_terminal_shows_the_status_lines() {
    let server = sim(2);
    let shown = under_pty(&server, "");
    assert!(
        shown.contains("ec3-gate: job ok-pty is Running"),
        "{shown:?}"
    );
    assert!(shown.contains("Succeeded"), "{shown:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn quiet_shows_only_the_result() {
    let server = sim(2);
    let shown = under_pty(&server, "--quiet");
    assert_eq!(shown.trim(), "Succeeded", "{shown:?}");
}

#[test]
fn quiet_still_reports_errors() {
    let out = ec3(&[])
        .args(["status", "ok-1", "--quiet", "--timeout", "1s"])
        .args(["--api-url", "http://127.0.0.1:9"])
        .env("ITWIN_ACCESS_TOKEN", "test-token-123456")
        .output()
        .unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6));
    assert!(!err.contains("retrying"), "{err}");
    assert!(
        err.contains("error: network error: connecting to API 127.0.0.1:9: connection refused"),
        "{err}"
    );
}
