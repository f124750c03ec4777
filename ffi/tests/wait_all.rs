//! Builds `tests/c/wait_all_test.c` (waiting for several jobs from C with
//! `ec3_gate_client_wait_all`, and the client's request budget) against
//! `include/ec3_gate.h` and the static library, runs it against the local
//! job service, then again under valgrind memcheck when it is installed.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Lang, Link, build_program, paths, run, server};

/// The scenarios the program must report as passed.
const SCENARIOS: &[&str] = &[
    "mixed_outcomes",
    "failed_is_last",
    "all_succeed",
    "cancel_keeps_what_is_known",
    "budget_is_applied",
    "budget_bounds",
    "null_and_invalid_arguments",
];

/// Runs the program (through `wrapper`, such as valgrind) and checks that
/// every scenario passed. Returns its stderr.
fn run_scenarios(exe: &std::path::Path, wrapper: &[&str], slowness: &str) -> String {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let sim = server::start();
    let tag = format!("wa{}", RUNS.fetch_add(1, Ordering::Relaxed));
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    cmd.args([sim.url(), tag.as_str(), slowness]);
    let output = run(&mut cmd, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let missing: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| !stdout.lines().any(|l| l == format!("ok - {s}")))
        .collect();
    assert!(
        output.status.success() && missing.is_empty(),
        "wait_all_test failed ({}), scenarios not passed: {missing:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stderr
}

fn source() -> std::path::PathBuf {
    paths().ffi("tests/c/wait_all_test.c")
}

#[test]
fn c_program_waits_for_several_jobs() {
    let exe = build_program("wait_all_test", Lang::C, &source(), Link::Static, &[]);
    run_scenarios(&exe, &[], "1");
}

/// Valgrind memcheck: no invalid access, no definite leak (every job of the
/// output array freed by the caller, none leaked by the library). Skipped
/// (with a note) when valgrind is not installed, unless
/// `EC3_GATE_REQUIRE_VALGRIND` is set.
#[test]
fn c_program_waits_for_several_jobs_under_valgrind() {
    if !support::have("valgrind") {
        assert!(
            std::env::var_os("EC3_GATE_REQUIRE_VALGRIND").is_none(),
            "valgrind is required but not installed"
        );
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let exe = build_program(
        "wait_all_test_valgrind",
        Lang::C,
        &source(),
        Link::Static,
        &[],
    );
    let wrapper = [
        "valgrind",
        "--tool=memcheck",
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--show-leak-kinds=definite",
    ];
    let stderr = run_scenarios(&exe, &wrapper, "8");
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
}
