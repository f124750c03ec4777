//! Builds the C11 and C++17 test programs (`tests/c/api_test.{c,cpp}`)
//! against `include/ec3_gate.h`, links each once with the static and once
//! with the shared library, and runs them against a local job service; then
//! runs the C program under valgrind memcheck and as an AddressSanitizer
//! build.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Lang, Link, build_program, paths, run, server};

/// The scenarios every test program must report as passed.
const SCENARIOS: &[&str] = &[
    "version",
    "success_with_link",
    "failure_with_message",
    "not_found",
    "auth_refused",
    "client_credentials",
    "status_once",
    "timeout",
    "cancel_stalled_server",
    "cancel_long_interval",
    "cancel_from_callback",
    "progress_order",
    "retry_progress",
    "threads_share_a_client",
    "create_then_wait",
    "create_rejected",
    "create_retried_when_busy",
    "create_cancelled_and_refused",
    "create_null_and_invalid_arguments",
    "null_and_invalid_arguments",
];

/// A fresh tag per program run, so job ids never collide on the server.
fn tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{name}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Runs a test program (through `wrapper`, such as valgrind) and checks
/// that every scenario passed. Returns its stderr.
fn run_scenarios(exe: &std::path::Path, wrapper: &[&str], slowness: &str) -> String {
    let sim = server::start();
    let name = exe.file_name().unwrap().to_str().unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    cmd.args([sim.url(), &tag(name), env!("CARGO_PKG_VERSION"), slowness]);
    let output = run(&mut cmd, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let missing: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| !stdout.lines().any(|l| l == format!("ok - {s}")))
        .collect();
    assert!(
        output.status.success() && missing.is_empty(),
        "{name} failed ({}), scenarios not passed: {missing:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    server::check_created(&sim);
    stderr
}

fn c_test() -> std::path::PathBuf {
    paths().ffi("tests/c/api_test.c")
}

fn cpp_test() -> std::path::PathBuf {
    paths().ffi("tests/c/api_test.cpp")
}

#[test]
fn c_program_with_the_static_library() {
    let exe = build_program("api_test_c_static", Lang::C, &c_test(), Link::Static, &[]);
    run_scenarios(&exe, &[], "1");
}

#[test]
fn c_program_with_the_shared_library() {
    let exe = build_program("api_test_c_shared", Lang::C, &c_test(), Link::Shared, &[]);
    run_scenarios(&exe, &[], "1");
}

#[test]
fn cpp_program_with_the_static_library() {
    let exe = build_program(
        "api_test_cpp_static",
        Lang::Cpp,
        &cpp_test(),
        Link::Static,
        &[],
    );
    run_scenarios(&exe, &[], "1");
}

#[test]
fn cpp_program_with_the_shared_library() {
    let exe = build_program(
        "api_test_cpp_shared",
        Lang::Cpp,
        &cpp_test(),
        Link::Shared,
        &[],
    );
    run_scenarios(&exe, &[], "1");
}

/// Valgrind memcheck as a user's CI runs it: no invalid access, and nothing
/// definitely or possibly lost (`--leak-check=full --show-leak-kinds=all`,
/// valgrind's default error kinds, no suppression file). Skipped (with a
/// note) when valgrind is not installed, unless `EC3_GATE_REQUIRE_VALGRIND`
/// is set (CI sets it after installing valgrind).
#[test]
fn c_program_under_valgrind() {
    if !support::have("valgrind") {
        assert!(
            std::env::var_os("EC3_GATE_REQUIRE_VALGRIND").is_none(),
            "valgrind is required but not installed"
        );
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let exe = build_program("api_test_c_valgrind", Lang::C, &c_test(), Link::Static, &[]);
    let wrapper = [
        "valgrind",
        "--tool=memcheck",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=all",
    ];
    // Valgrind runs code many times slower: widen the time limits.
    let stderr = run_scenarios(&exe, &wrapper, "8");
    // Shown with --nocapture; the release notes quote it.
    for line in stderr.lines().filter(|l| {
        [
            "in use at exit",
            "total heap usage",
            "lost:",
            "reachable:",
            "All heap blocks",
            "ERROR SUMMARY",
        ]
        .iter()
        .any(|k| l.contains(k))
    }) {
        eprintln!("valgrind: {line}");
    }
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    assert!(
        stderr.contains("All heap blocks were freed")
            || (stderr.contains("definitely lost: 0 bytes in 0 blocks")
                && stderr.contains("possibly lost: 0 bytes in 0 blocks")),
        "{stderr}"
    );
}

/// An AddressSanitizer (and LeakSanitizer) build of the C program.
#[test]
fn c_program_with_address_sanitizer() {
    let flags = ["-fsanitize=address", "-fno-omit-frame-pointer"];
    let exe = build_program("api_test_c_asan", Lang::C, &c_test(), Link::Static, &flags);
    run_scenarios(&exe, &[], "3");
}
