//! Builds `tests/c/extract_test.c` (the extraction chain from C:
//! `ec3_gate_client_extract_and_upload` and the `extract` fields of
//! `ec3_gate_create_job_params`) against `include/ec3_gate.h` and the static
//! library, runs it against the simulator, checks what reached the
//! simulator, then runs it again under valgrind memcheck.

// The C tests drive a Unix C toolchain (`cc`, `c++`, pthreads, rpath): on
// Windows they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{Lang, Link, VALGRIND, assert_valgrind_clean, build_program, paths, server};

/// The scenarios the program must report as passed.
const SCENARIOS: &[&str] = &[
    "chain_succeeds",
    "chain_with_imodel_and_changeset",
    "failed_extraction_creates_no_job",
    "partial_extraction_refused",
    "partial_extraction_allowed",
    "report_based_configuration_refused",
    "wrong_form_refused_without_extract",
    "create_job_with_extract",
    "first_version_struct_still_works",
    "timeout_names_the_extraction",
    "cancel_names_the_extraction",
    "usage_errors",
];

/// The extraction bodies whose first mapping belongs to the configuration
/// stem `stem` (`PREFIX-TAG-NAME`).
fn runs_of<'a>(runs: &'a [Value], stem: &str) -> Vec<&'a Value> {
    let first = format!("{stem}-m1");
    runs.iter()
        .filter(|b| b["mappings"][0]["id"].as_str() == Some(first.as_str()))
        .collect()
}

/// Runs the program (through `wrapper`, such as valgrind), checks that every
/// scenario passed and what the simulator received; returns its stderr.
fn run_extract(exe: &Path, wrapper: &[&str], slowness: &str) -> String {
    let limit = Duration::from_secs(600);
    let (stderr, sim) = support::run_scenarios(exe, wrapper, &[slowness], SCENARIOS, limit);
    // The tag the program ran with: every configuration id holds it.
    let created = sim.created_requests();
    let runs = sim.extraction_requests();
    let ok_stem = runs
        .iter()
        .filter_map(|b| b["mappings"][0]["id"].as_str())
        .find(|m| m.starts_with("ok-") && m.ends_with("-chain-m1"))
        .expect("the succeeded chain ran an extraction")
        .trim_end_matches("-chain-m1")
        .trim_start_matches("ok-")
        .to_owned();
    let tag = ok_stem.as_str();

    // The chain that succeeded: one extraction of the configuration's
    // distinct mappings, on the iModel it links to, at the latest changeset;
    // then one job with that extraction's id.
    let chain = runs_of(&runs, &format!("ok-{tag}-chain"));
    assert_eq!(chain.len(), 1, "{runs:?}");
    assert_eq!(chain[0]["iModelId"], "imodel-1");
    let mappings: Vec<&str> = chain[0]["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        mappings,
        [format!("ok-{tag}-chain-m1"), format!("ok-{tag}-chain-m2")]
    );
    assert!(chain[0].get("changesetId").is_none(), "{:?}", chain[0]);
    let job_of = |configuration: &str| {
        created
            .iter()
            .filter(|b| b["configurationId"] == configuration)
            .collect::<Vec<_>>()
    };
    let jobs = job_of(&format!("ok-{tag}-chain-ext"));
    assert_eq!(jobs.len(), 1, "{created:?}");
    assert!(
        jobs[0]["extractionId"]
            .as_str()
            .is_some_and(|id| id.starts_with("ok-x")),
        "{:?}",
        jobs[0]
    );
    assert_eq!(jobs[0]["projectName"], server::PROJECT_NAME);
    assert_eq!(jobs[0]["ec3BearerToken"], server::EC3_TOKEN);

    // The iModel and changeset the caller named.
    let named = runs_of(&runs, &format!("ok-{tag}-named"));
    assert_eq!(named.len(), 1, "{runs:?}");
    assert_eq!(named[0]["iModelId"], "imodel-given");
    assert_eq!(named[0]["changesetId"], "changeset-9");

    // Failed, refused partial: extractions ran, no job was created.
    assert_eq!(runs_of(&runs, &format!("fail-{tag}-chain")).len(), 1);
    assert!(job_of(&format!("fail-{tag}-chain-ext")).is_empty());
    // Twice: ec3_gate_client_extract_and_upload, then create_job_with.
    assert_eq!(runs_of(&runs, &format!("partial-{tag}-refused")).len(), 2);
    assert!(job_of(&format!("partial-{tag}-refused-ext")).is_empty());

    // Allowed partial: the iModel the configuration links to, and a job.
    let allowed = runs_of(&runs, &format!("partial-{tag}-allowed"));
    assert_eq!(allowed.len(), 1, "{runs:?}");
    assert_eq!(allowed[0]["iModelId"], "imodel-linked");
    assert_eq!(
        job_of(&format!("imodel-linked.partial-{tag}-allowed-ext")).len(),
        1
    );

    // create_job_with + extract: one extraction, one job with its id.
    assert_eq!(runs_of(&runs, &format!("ok-{tag}-created")).len(), 1);
    let jobs = job_of(&format!("ok-{tag}-created-ext"));
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0]["extractionId"].is_string());

    // The first-version struct: a report-based job, no extraction id.
    let jobs = job_of(&format!("ok-{tag}-old-report"));
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].get("extractionId").is_none(), "{:?}", jobs[0]);

    // Refused before anything was sent: no extraction, no job.
    for stem in [format!("ok-{tag}-usage"), format!("ok-{tag}-chain-report")] {
        assert!(runs_of(&runs, &stem).is_empty(), "{stem}: {runs:?}");
    }
    assert!(job_of(&format!("ok-{tag}-usage-ext")).is_empty());
    // A job of the wrong form is never created.
    assert!(job_of(&format!("ok-{tag}-plain-ext")).is_empty());
    assert!(job_of(&format!("ok-{tag}-plain-report")).is_empty());
    assert!(job_of(&format!("ok-{tag}-chain-report")).is_empty());
    // The report-based configuration was read (twice: both calls), and
    // nothing else was sent for it: every extraction run is accounted for.
    let stats = sim.stats();
    assert_eq!(stats.extractions.len(), runs.len());
    assert_eq!(runs.len(), 9, "{runs:?}");
    stderr
}

fn source() -> std::path::PathBuf {
    paths().ffi("tests/c/extract_test.c")
}

#[test]
fn c_program_runs_the_extraction_chain() {
    let exe = build_program("extract_test", Lang::C, &source(), Link::Static, &[]);
    run_extract(&exe, &[], "1");
}

/// Valgrind memcheck as a user's CI runs it: no invalid access, nothing
/// definitely or possibly lost (every job object freed by the caller, none
/// leaked by the library, also when the chain stops at the extraction).
/// Skipped (with a note) when valgrind is not installed, unless
/// `EC3_GATE_REQUIRE_VALGRIND` is set.
#[test]
fn c_program_runs_the_extraction_chain_under_valgrind() {
    if !support::have_valgrind() {
        return;
    }
    let exe = build_program(
        "extract_test_valgrind",
        Lang::C,
        &source(),
        Link::Static,
        &[],
    );
    // Valgrind runs code many times slower: widen the time limits.
    let stderr = run_extract(&exe, VALGRIND, "8");
    assert_valgrind_clean(&stderr);
}

/// An AddressSanitizer (and LeakSanitizer) build of the program: the job
/// objects of every outcome, the progress reports' borrowed jobs.
#[test]
fn c_program_runs_the_extraction_chain_with_address_sanitizer() {
    let flags = ["-fsanitize=address", "-fno-omit-frame-pointer"];
    let exe = build_program(
        "extract_test_asan",
        Lang::C,
        &source(),
        Link::Static,
        &flags,
    );
    run_extract(&exe, &[], "3");
}
