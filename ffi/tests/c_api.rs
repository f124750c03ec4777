//! Builds the C11 and C++17 test programs (`tests/c/api_test.{c,cpp}`)
//! against `include/ec3_gate.h`, links each once with the static and once
//! with the shared library, and runs them against a local job service; then
//! runs the C program under valgrind memcheck and as an AddressSanitizer
//! build.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Lang, Link, VALGRIND, assert_valgrind_clean, build_program, paths, server};

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

/// Runs a test program (through `wrapper`, such as valgrind), checks that
/// every scenario passed and every job it created. Returns its stderr.
fn run_api(exe: &Path, wrapper: &[&str], slowness: &str) -> String {
    let limit = Duration::from_secs(600);
    let (stderr, sim) = support::run_scenarios(exe, wrapper, &[slowness], SCENARIOS, limit);
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
    run_api(&exe, &[], "1");
}

#[test]
fn c_program_with_the_shared_library() {
    let exe = build_program("api_test_c_shared", Lang::C, &c_test(), Link::Shared, &[]);
    run_api(&exe, &[], "1");
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
    run_api(&exe, &[], "1");
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
    run_api(&exe, &[], "1");
}

/// Valgrind memcheck as a user's CI runs it: no invalid access, and nothing
/// definitely or possibly lost (`--leak-check=full --show-leak-kinds=all`,
/// valgrind's default error kinds, no suppression file). Skipped (with a
/// note) when valgrind is not installed, unless `EC3_GATE_REQUIRE_VALGRIND`
/// is set (CI sets it after installing valgrind).
#[test]
fn c_program_under_valgrind() {
    if !support::have_valgrind() {
        return;
    }
    let exe = build_program("api_test_c_valgrind", Lang::C, &c_test(), Link::Static, &[]);
    // Valgrind runs code many times slower: widen the time limits.
    let stderr = run_api(&exe, VALGRIND, "8");
    assert_valgrind_clean(&stderr);
}

/// An AddressSanitizer (and LeakSanitizer) build of the C program.
#[test]
fn c_program_with_address_sanitizer() {
    let flags = ["-fsanitize=address", "-fno-omit-frame-pointer"];
    let exe = build_program("api_test_c_asan", Lang::C, &c_test(), Link::Static, &flags);
    run_api(&exe, &[], "3");
}
