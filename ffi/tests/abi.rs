//! What makes the library safe to depend on across releases, from C:
//! `tests/c/abi_test.c` (structured and per-thread errors, no memory kept
//! per ended thread, size-led parameter structs, version number, job id,
//! the last job of a timed-out wait, cancel on all three calls), linked
//! static and shared, and under valgrind with every leak kind counted; and
//! the deprecation marks of the header.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Lang, Link, build_program, paths, run, server};

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
];

fn tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{name}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Runs the program (through `wrapper`, such as valgrind), checks that every
/// scenario passed, and returns its stderr.
fn run_scenarios(exe: &Path, wrapper: &[&str], slowness: &str, threads: &str) -> String {
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
    cmd.args([
        sim.url(),
        &tag(name),
        env!("CARGO_PKG_VERSION"),
        slowness,
        threads,
    ]);
    let output = run(&mut cmd, Duration::from_secs(900));
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
    stderr
}

fn abi_test() -> std::path::PathBuf {
    paths().ffi("tests/c/abi_test.c")
}

#[test]
fn abi_program_with_the_static_library() {
    let exe = build_program("abi_test_static", Lang::C, &abi_test(), Link::Static, &[]);
    let stderr = run_scenarios(&exe, &[], "1", "10000");
    // Shown with --nocapture: the churn measurement.
    for line in stderr.lines().filter(|l| l.contains("heap in use")) {
        eprintln!("{line}");
    }
}

#[test]
fn abi_program_with_the_shared_library() {
    let exe = build_program("abi_test_shared", Lang::C, &abi_test(), Link::Shared, &[]);
    run_scenarios(&exe, &[], "1", "10000");
}

/// valgrind's leak check as a user's CI runs it: every leak kind shown, and
/// definite or possible leaks fail (valgrind's default error kinds), with no
/// suppression file. Skipped (with a note) when valgrind is not installed,
/// unless `EC3_GATE_REQUIRE_VALGRIND` is set.
#[test]
fn abi_program_under_valgrind_loses_nothing() {
    if !support::have("valgrind") {
        assert!(
            std::env::var_os("EC3_GATE_REQUIRE_VALGRIND").is_none(),
            "valgrind is required but not installed"
        );
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let exe = build_program("abi_test_valgrind", Lang::C, &abi_test(), Link::Shared, &[]);
    let wrapper = [
        "valgrind",
        "--tool=memcheck",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=all",
        "--num-callers=60",
    ];
    // Valgrind runs many times slower: wider limits, fewer churned threads.
    let stderr = run_scenarios(&exe, &wrapper, "8", "300");
    assert_valgrind_clean(&stderr);
}

/// 0 errors, and nothing definitely or possibly lost.
fn assert_valgrind_clean(stderr: &str) {
    for line in stderr.lines().filter(|l| {
        [
            "in use at exit",
            "lost:",
            "reachable:",
            "ERROR SUMMARY",
            "All heap blocks",
        ]
        .iter()
        .any(|k| l.contains(k))
    }) {
        eprintln!("valgrind: {line}");
    }
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    let freed = stderr.contains("All heap blocks were freed");
    let lost_nothing = stderr.contains("definitely lost: 0 bytes in 0 blocks")
        && stderr.contains("possibly lost: 0 bytes in 0 blocks");
    assert!(freed || lost_nothing, "{stderr}");
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
