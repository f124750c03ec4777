//! Builds `tests/c/wait_all_test.c` (waiting for several jobs from C with
//! `ec3_gate_client_wait_all`, and the client's request budget) against
//! `include/ec3_gate.h` and the static library, runs it against the local
//! job service, then again under valgrind memcheck.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Lang, Link, VALGRIND, assert_valgrind_clean, build_program, paths};

/// The scenarios the program must report as passed.
const SCENARIOS: &[&str] = &[
    "mixed_outcomes",
    "failed_is_last",
    "all_succeed",
    "cancel_keeps_what_is_known",
    "budget_is_applied",
    "budget_bounds",
    "null_and_invalid_arguments",
    "params_struct",
];

/// Runs the program (through `wrapper`, such as valgrind), checks that every
/// scenario passed, and returns its stderr.
fn run_wait_all(exe: &Path, wrapper: &[&str], slowness: &str) -> String {
    let limit = Duration::from_secs(600);
    support::run_scenarios(exe, wrapper, &[slowness], SCENARIOS, limit).0
}

fn source() -> std::path::PathBuf {
    paths().ffi("tests/c/wait_all_test.c")
}

#[test]
fn c_program_waits_for_several_jobs() {
    let exe = build_program("wait_all_test", Lang::C, &source(), Link::Static, &[]);
    run_wait_all(&exe, &[], "1");
}

/// Valgrind memcheck as a user's CI runs it: no invalid access, nothing
/// definitely or possibly lost (every job of the output array freed by the
/// caller, none leaked by the library). Skipped (with a note) when valgrind
/// is not installed, unless `EC3_GATE_REQUIRE_VALGRIND` is set.
#[test]
fn c_program_waits_for_several_jobs_under_valgrind() {
    if !support::have_valgrind() {
        return;
    }
    let exe = build_program(
        "wait_all_test_valgrind",
        Lang::C,
        &source(),
        Link::Static,
        &[],
    );
    // Valgrind runs code many times slower: widen the time limits.
    let stderr = run_wait_all(&exe, VALGRIND, "8");
    assert_valgrind_clean(&stderr);
}
