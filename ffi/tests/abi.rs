//! What makes the library safe to depend on across releases, from C:
//! `tests/c/abi_test.c` (structured and per-thread errors, no memory kept
//! per ended thread, size-led parameter structs, version number, job id,
//! the last job of a timed-out wait, cancel on all three calls, one call's
//! cancel after another's, a progress callback that calls the client),
//! linked
//! static and shared, and under valgrind with every leak kind counted; and
//! the deprecation marks of the header.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{Lang, Link, VALGRIND, assert_valgrind_clean, build_program, paths};

const SCENARIOS: &[&str] = &[
    "version_number",
    "structured_errors",
    "errors_are_per_thread",
    "thread_churn_keeps_no_memory",
    "wait_params",
    "job_id_and_progress_size",
    "timed_out_gives_last_job",
    "create_job_with",
    "cancel_all_three_calls",
    "cancel_after_another_cancel",
    "callback_calls_the_client",
];

/// Runs the program (through `wrapper`, such as valgrind), checks that every
/// scenario passed, and returns its stderr.
fn run_abi(exe: &Path, wrapper: &[&str], slowness: &str, threads: &str) -> String {
    let limit = Duration::from_secs(900);
    support::run_scenarios(exe, wrapper, &[slowness, threads], SCENARIOS, limit).0
}

fn abi_test() -> std::path::PathBuf {
    paths().ffi("tests/c/abi_test.c")
}

#[test]
fn abi_program_with_the_static_library() {
    let exe = build_program("abi_test_static", Lang::C, &abi_test(), Link::Static, &[]);
    let stderr = run_abi(&exe, &[], "1", "10000");
    // Shown with --nocapture: the churn measurement.
    for line in stderr.lines().filter(|l| l.contains("heap in use")) {
        eprintln!("{line}");
    }
}

#[test]
fn abi_program_with_the_shared_library() {
    let exe = build_program("abi_test_shared", Lang::C, &abi_test(), Link::Shared, &[]);
    run_abi(&exe, &[], "1", "10000");
}

/// valgrind's leak check as a user's CI runs it: every leak kind shown, and
/// definite or possible leaks fail (valgrind's default error kinds), with no
/// suppression file. Skipped (with a note) when valgrind is not installed,
/// unless `EC3_GATE_REQUIRE_VALGRIND` is set.
#[test]
fn abi_program_under_valgrind_loses_nothing() {
    if !support::have_valgrind() {
        return;
    }
    let exe = build_program("abi_test_valgrind", Lang::C, &abi_test(), Link::Shared, &[]);
    // Valgrind runs many times slower: wider limits, fewer churned threads.
    let stderr = run_abi(&exe, VALGRIND, "8", "300");
    assert_valgrind_clean(&stderr);
}

/// The flat calls kept for old callers warn when used, and
/// `EC3_GATE_NO_DEPRECATED` silences them.
#[test]
fn deprecated_calls_warn() {
    let paths = paths();
    let source = paths.out.join("deprecated.c");
    std::fs::write(
        &source,
        "#include \"ec3_gate.h\"\n\
         int main(void) {\n\
           ec3_gate_job *job = 0;\n\
           return (int)ec3_gate_client_wait(0, \"j\", 1, 10, 0, 0, 0, &job);\n\
         }\n",
    )
    .unwrap();
    let compile = |extra: &[&str]| {
        Command::new(Lang::C.compiler())
            .args(Lang::C.flags())
            .arg("-fsyntax-only")
            .arg("-I")
            .arg(&paths.include)
            .args(extra)
            .arg(&source)
            .output()
            .expect("run the C compiler")
    };
    let warned = compile(&[]);
    assert!(!warned.status.success(), "a deprecated call compiled clean");
    let text = String::from_utf8_lossy(&warned.stderr);
    assert!(text.contains("use ec3_gate_client_wait_with"), "{text}");
    let silenced = compile(&["-DEC3_GATE_NO_DEPRECATED"]);
    assert!(
        silenced.status.success(),
        "{}",
        String::from_utf8_lossy(&silenced.stderr)
    );
}
