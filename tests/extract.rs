//! The extraction chain from the outside (issue 18): `upload --extract` and
//! `extract` run as processes against the simulator, every outcome read by
//! its exit status, stdout, step outputs and the simulator's counters.

mod common;

use std::time::{Duration, Instant};

use common::{TOKEN, finish, github_command, run, run_github, signal, sim};
use serde_json::Value;

/// Variables for a run.
type Env = Vec<(&'static str, String)>;

/// The environment of a run against `sim`, polling every 10 ms.
fn env(sim: &ec3_sim::Sim) -> Env {
    vec![
        ("ITWIN_ACCESS_TOKEN", TOKEN.to_owned()),
        ("ITWIN_API_URL", sim.url().to_owned()),
        ("EC3_BEARER_TOKEN", "ec3-s3cret".to_owned()),
        ("EC3_INTERVAL", "10ms".to_owned()),
    ]
}

fn upload(id: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "upload".to_owned(),
        "--configuration-id".to_owned(),
        id.to_owned(),
        "--project-name".to_owned(),
        "Tower {n}".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// How many requests `route` got.
fn route(sim: &ec3_sim::Sim, route: &str) -> u64 {
    sim.stats().routes.get(route).copied().unwrap_or(0)
}

const POST_JOBS: &str = "POST /ec3/jobs";
const RUN: &str = "POST /imodel-mappings/extractions";
const STATE: &str = "GET /imodel-mappings/extractions/{id}";
const LOGS: &str = "GET /imodel-mappings/extractions/{id}/logs";
const CONFIG: &str = "GET /ec3/configurations/{id}";

#[test]
fn a_full_chain_extracts_the_distinct_mappings_creates_the_job_with_its_id_and_waits() {
    let sim = sim(2);
    let e = env(&sim);
    let args = upload(
        "a-ext",
        &["--extract", "--changeset-id", "cs-9", "--wait", "--json"],
    );
    let r = run(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 0, "{r:?}");
    let out = json(r.stdout.trim());
    assert_eq!(out["status"], "Succeeded");
    assert_eq!(out["extractionId"], "ok-x1");
    assert_eq!(out["extractionState"], "Succeeded");
    assert_eq!(out["stage"], "job");
    // One extraction of the distinct mappings, in label order, at the changeset.
    let runs = sim.extraction_requests();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["iModelId"], "imodel-1");
    assert_eq!(
        runs[0]["mappings"],
        serde_json::json!([{"id": "a-m1"}, {"id": "a-m2"}])
    );
    assert_eq!(runs[0]["changesetId"], "cs-9");
    // The job carries the extraction's id.
    let jobs = sim.created_requests();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["extractionId"], "ok-x1");
    // Progress names the stage, then the job's lines.
    let lines: Vec<&str> = r.stderr.lines().collect();
    let extraction = lines
        .iter()
        .position(|l| l.starts_with("ec3-gate: extraction ok-x1 is Succeeded ("))
        .expect("the extraction's progress line");
    let job = lines
        .iter()
        .position(|l| l.starts_with("ec3-gate: job ok-a-ext is "))
        .expect("the job's progress line");
    assert!(extraction < job, "{}", r.stderr);
    // The whole chain: the configuration, the run, four state reads (Queued,
    // Running, Running, Succeeded), the job's creation and its polls
    // (Queued, Running, Running, Succeeded); no log read for a clean success.
    let stats = sim.stats();
    assert_eq!(
        (
            route(&sim, CONFIG),
            route(&sim, RUN),
            route(&sim, STATE),
            route(&sim, LOGS),
            route(&sim, POST_JOBS),
        ),
        (1, 1, 4, 0, 1)
    );
    assert_eq!(route(&sim, "GET /ec3/jobs/{id}"), 4);
    assert_eq!(stats.requests, 11, "{:?}", stats.routes);
    assert_eq!(stats.connections, 1);
    r.assert_clean();
}

#[test]
fn a_failed_extraction_creates_no_job_exits_1_and_says_why_from_the_logs() {
    let sim = sim(1);
    let e = env(&sim);
    let args = upload("fail-ext", &["--extract", "--wait", "--json"]);
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(route(&sim, POST_JOBS), 0, "no job is created");
    assert!(sim.stats().created.is_empty());
    let out = json(r.stdout.trim());
    assert_eq!(out["jobId"], Value::Null);
    assert_eq!(out["extractionId"], "fail-x1");
    assert_eq!(out["extractionState"], "Failed");
    assert_eq!(out["stage"], "extraction");
    let error = out["error"].as_str().unwrap();
    assert!(
        error.starts_with("extraction fail-x1 ended Failed: fail-m1: "),
        "{error}"
    );
    // Built from every Error entry (one long one cannot hide the next), capped.
    assert!(
        error.contains("; fail-m2: ") || error.contains("\\nfail-m2: "),
        "{error}"
    );
    assert!(error.chars().count() < 2100, "{}", error.len());
    assert_eq!(route(&sim, LOGS), 1);
    // Step outputs say which stage failed; the hostile log text runs nothing.
    assert_eq!(r.output("extraction-id"), "fail-x1");
    assert_eq!(r.output("extraction-state"), "Failed");
    assert_eq!(r.output("stage"), "extraction");
    assert_eq!(r.output("job-id"), "");
    assert!(
        r.summary.contains("| Extraction | fail\\-x1 (Failed) |"),
        "{}",
        r.summary
    );
    assert!(r.stderr.contains("no EC3 job was created"), "{}", r.stderr);
    r.assert_commands_intended();
    r.assert_clean();
}

#[test]
fn a_stop_at_the_extraction_fills_the_message_output_json_and_summary_safely() {
    let sim = sim(0);
    let e = env(&sim);
    let args = upload("fail-ext", &["--extract", "--wait", "--json"]);
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    // The message is the core's failure text from the logs' Error entries:
    // the hostile first entry (a fake `::error::` line, CR, ESC, BEL, NUL,
    // far too long) kept as text and capped, the second entry after it.
    let message = r.output("message");
    assert!(
        message.starts_with(
            "fail-m1: Mapping fail-m1 could not be extracted.\n::error::fake failure\n\u{1b}[31mred\u{7}\u{0} query detail"
        ),
        "{message:?}"
    );
    assert!(
        message.contains("\nfail-m2: Mapping fail-m2 could not be extracted."),
        "{message:?}"
    );
    assert!(message.chars().count() <= 2100, "{}", message.len());
    // The JSON object carries the same text.
    let out = json(r.stdout.trim());
    assert_eq!(out["message"], message);
    assert_eq!(out["stage"], "extraction");
    // The runner reads exactly the outputs ec3-gate wrote: the text ends
    // none of them and starts no other.
    let mut names: Vec<&str> = r.outputs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "ec3-project-url",
            "extraction-id",
            "extraction-state",
            "job-id",
            "message",
            "stage",
            "status"
        ],
        "{:?}",
        r.output_file
    );
    assert_eq!(r.output("status"), "");
    // The summary's Message cell holds it, escaped into one inert row.
    let row = r
        .summary
        .lines()
        .find(|l| l.starts_with("| Message | "))
        .expect("a Message row");
    assert!(
        row.starts_with(
            r"| Message | fail\-m1\: Mapping fail\-m1 could not be extracted\.<br>\\u\{3a\}\:error\:\:fake failure<br>\\u\{1b\}\[31mred\\u\{7\}\\u\{0\} query detail"
        ),
        "{row}"
    );
    assert!(row.contains("fail\\-m2\\: Mapping"), "{row}");
    assert!(row.ends_with(" |"), "{row}");
    assert!(!r.summary.contains('\u{1b}') && !r.summary.contains('\0'));
    assert!(!r.summary.lines().any(|l| l.trim_start().starts_with("::")));
    r.assert_commands_intended();
    r.assert_clean();

    // PartiallySucceeded, not allowed: the message names its log errors.
    let args = upload("partial-ext", &["--extract", "--wait"]);
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.output("message"),
        "partial-m1: Mapping partial-m1: the query of group Walls is invalid.\n\
         partial-m2: Mapping partial-m2: the query of group Walls is invalid."
    );
    assert!(
        r.summary.contains(
            r"| Message | partial\-m1\: Mapping partial\-m1\: the query of group Walls is invalid\.<br>partial\-m2\: Mapping partial\-m2\: the query of group Walls is invalid\. |"
        ),
        "{}",
        r.summary
    );
    r.assert_commands_intended();
}

#[test]
fn a_partial_extraction_fails_the_gate_unless_allowed_then_warns_and_goes_on() {
    let sim = sim(0);
    let e = env(&sim);
    let args = upload("partial-ext", &["--extract", "--wait"]);
    let r = run(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(route(&sim, POST_JOBS), 0);
    // Names the mappings and their log errors.
    assert!(
        r.stderr.contains("ended PartiallySucceeded: partial-m1: "),
        "{}",
        r.stderr
    );

    let args = upload(
        "partial-ext",
        &[
            "--extract",
            "--allow-partial-extraction",
            "--wait",
            "--json",
        ],
    );
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 0, "{r:?}");
    let out = json(r.stdout.trim());
    assert_eq!(out["extractionState"], "PartiallySucceeded");
    assert_eq!(out["status"], "Succeeded");
    assert_eq!(sim.created_requests()[0]["extractionId"], "partial-x2");
    let warning = r
        .stderr
        .lines()
        .find(|l| l.starts_with("::warning"))
        .expect("a ::warning for the allowed partial extraction");
    assert!(warning.contains("PartiallySucceeded"), "{warning}");
    assert_eq!(r.output("extraction-state"), "PartiallySucceeded");
    assert_eq!(r.output("stage"), "job");
    r.assert_commands_intended();

    // The variable allows it too.
    let mut e2 = e.clone();
    e2.push(("EC3_EXTRACT", "true".into()));
    e2.push(("EC3_ALLOW_PARTIAL_EXTRACTION", "true".into()));
    let args = upload("partial-ext", &[]);
    let r = run(&strs(&args), &common::pairs(&e2));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("warning: extraction partial-x3"),
        "{}",
        r.stderr
    );
}

#[test]
fn extract_on_a_report_based_configuration_is_refused_after_reading_it_only() {
    let sim = sim(0);
    let e = env(&sim);
    let args = upload("tower-report", &["--extract", "--wait", "--json"]);
    let r = run(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "--extract: configuration 'tower-report' is report-based \
             (it uploads report 'report-tower')"
        ),
        "{}",
        r.stderr
    );
    let stats = sim.stats();
    assert_eq!(stats.requests, 1, "{:?}", stats.routes);
    assert_eq!(route(&sim, CONFIG), 1);

    // In GitHub mode the error names the Action's input.
    let mut e2 = e.clone();
    e2.push(("EC3_EXTRACT", "true".into()));
    let r = run_github(&strs(&upload("tower-report", &[])), &common::pairs(&e2));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "input 'extract' (EC3_EXTRACT): configuration 'tower-report' is report-based"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(sim.stats().requests, 2);
    r.assert_commands_intended();
}

#[test]
fn an_extraction_based_configuration_without_an_extraction_is_refused_naming_the_flag() {
    let sim = sim(0);
    let e = env(&sim);
    let args = upload("a-ext", &["--wait"]);
    let r = run(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "error: missing --extract (or --extraction-id): configuration 'a-ext' is \
             extraction-based"
        ),
        "{}",
        r.stderr
    );
    assert!(sim.stats().created.is_empty(), "no job is created");
    // Refused on reading the configuration, before any job is asked for.
    assert_eq!(sim.stats().requests, 1);
    assert_eq!((route(&sim, CONFIG), route(&sim, POST_JOBS)), (1, 0));

    // A report-based one with an extraction id: refused too.
    let args = upload("tower-report", &["--extraction-id", "x-1"]);
    let r = run(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("error: --extraction-id: configuration 'tower-report' is report-based"),
        "{}",
        r.stderr
    );
    assert!(sim.stats().created.is_empty());
    assert_eq!(sim.stats().requests, 2);
    assert_eq!((route(&sim, CONFIG), route(&sim, POST_JOBS)), (2, 0));
}

#[test]
fn bad_ids_and_flags_are_refused_before_anything_is_sent() {
    let sim = sim(0);
    let e = env(&sim);
    let cases: Vec<(Vec<String>, Env, &str)> = vec![
        (
            upload("a-ext", &["--extract", "--imodel-id", "a/b"]),
            vec![],
            "--imodel-id: must be",
        ),
        (
            upload("a-ext", &["--extract", "--changeset-id", "c?d"]),
            vec![],
            "--changeset-id: must be",
        ),
        (
            upload("a-ext", &["--extract", "--extraction-id", "x1"]),
            vec![],
            "cannot go with --extract",
        ),
        (
            upload("a-ext", &["--imodel-id", "im"]),
            vec![],
            "--imodel-id: goes with --extract",
        ),
        (
            upload("a-ext", &[]),
            vec![("EC3_EXTRACT", "yes".into())],
            "EC3_EXTRACT: must be `true` or `false`, got 'yes'",
        ),
        (
            upload("a-ext", &[]),
            vec![
                ("EC3_EXTRACT", "true".into()),
                ("EC3_IMODEL_ID", "../x".into()),
            ],
            "EC3_IMODEL_ID: must be",
        ),
        (
            vec![
                "extract".into(),
                "--imodel-id".into(),
                "im".into(),
                "--mapping-id".into(),
                "m 1".into(),
            ],
            vec![],
            "--mapping-id: must be",
        ),
        (
            vec!["extract".into(), "--imodel-id".into(), "im".into()],
            vec![("EC3_MAPPING_ID", "m1, m/2".into())],
            "EC3_MAPPING_ID: must be",
        ),
        (
            vec!["extract".into(), "--mapping-id".into(), "m1".into()],
            vec![],
            "--imodel-id / EC3_IMODEL_ID: missing",
        ),
    ];
    for (args, extra, want) in cases {
        let mut all = e.clone();
        all.extend(extra);
        let r = run(&strs(&args), &common::pairs(&all));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    assert_eq!(sim.stats().requests, 0, "nothing was sent");
}

#[test]
fn extraction_variables_without_extract_are_refused_like_their_flags() {
    let sim = sim(0);
    let e = env(&sim);
    // Each of these would create a job (exit 0) if the variable were ignored.
    let plain = upload("a-ext", &["--extraction-id", "x-1"]);
    let how = "goes with --extract (or EC3_EXTRACT=true): it says how to extract; \
               set EC3_EXTRACT=true, or unset it";
    let cases: Vec<(Vec<String>, Env, String)> = vec![
        (
            plain.clone(),
            vec![("EC3_IMODEL_ID", "im-1".into())],
            format!("error: EC3_IMODEL_ID: {how}"),
        ),
        (
            plain.clone(),
            vec![("EC3_CHANGESET_ID", "cs-9".into())],
            format!("error: EC3_CHANGESET_ID: {how}"),
        ),
        (
            plain.clone(),
            vec![("EC3_ALLOW_PARTIAL_EXTRACTION", "true".into())],
            format!("error: EC3_ALLOW_PARTIAL_EXTRACTION: {how}"),
        ),
        // EC3_EXTRACT=false says "not extracting" as loudly as leaving it out.
        (
            plain.clone(),
            vec![
                ("EC3_EXTRACT", "false".into()),
                ("EC3_CHANGESET_ID", "cs-9".into()),
            ],
            format!("error: EC3_CHANGESET_ID: {how}"),
        ),
        // A value that is neither true nor false is never ignored either.
        (
            plain.clone(),
            vec![("EC3_ALLOW_PARTIAL_EXTRACTION", "maybe".into())],
            "error: EC3_ALLOW_PARTIAL_EXTRACTION: must be `true` or `false`, got 'maybe'".into(),
        ),
        // The flag is still named as the flag, with its own fix.
        (
            upload(
                "a-ext",
                &["--extraction-id", "x-1", "--changeset-id", "cs-9"],
            ),
            vec![("EC3_IMODEL_ID", "im-1".into())],
            "error: --changeset-id: goes with --extract (or EC3_EXTRACT=true): it says how to \
             extract; add --extract, or leave the flag out"
                .into(),
        ),
        // Mappings come from the configurations: upload takes none, either way.
        (
            upload("a-ext", &["--extract", "--wait"]),
            vec![("EC3_MAPPING_ID", "a-m1".into())],
            "error: EC3_MAPPING_ID: is for `extract` only: `upload` takes no mapping ids".into(),
        ),
        (
            plain.clone(),
            vec![("EC3_MAPPING_ID", "a-m1".into())],
            "error: EC3_MAPPING_ID: is for `extract` only".into(),
        ),
    ];
    for (args, extra, want) in cases {
        let mut all = e.clone();
        all.extend(extra);
        let r = run(&strs(&args), &common::pairs(&all));
        assert_eq!(r.code, 2, "{args:?} {all:?}: {r:?}");
        assert!(r.stderr.contains(&want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "no job id: {args:?}");
    }
    assert_eq!(sim.stats().requests, 0, "nothing was sent");

    // In GitHub mode the error names the Action's inputs.
    let mut all = e.clone();
    all.push(("EC3_IMODEL_ID", "im-1".into()));
    let r = run_github(&strs(&plain), &common::pairs(&all));
    assert_eq!(r.code, 2, "{r:?}");
    let error = r
        .stderr
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an ::error annotation");
    assert!(
        error.ends_with(
            "input 'imodel-id' (EC3_IMODEL_ID): goes with input 'extract' (EC3_EXTRACT) set to \
             true: it says how to extract; set 'extract' to true, or remove this input"
        ),
        "{error}"
    );
    r.assert_commands_intended();
    assert_eq!(sim.stats().requests, 0, "nothing was sent");

    // `false` (the Action's default for allow-partial-extraction) says
    // nothing: the plain upload goes on.
    let mut all = e.clone();
    all.push(("EC3_ALLOW_PARTIAL_EXTRACTION", "false".into()));
    all.push(("EC3_EXTRACT", "false".into()));
    let r = run(&strs(&plain), &common::pairs(&all));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "ok-a-ext\n");
    assert_eq!(sim.created_requests()[0]["extractionId"], "x-1");
    r.assert_clean();
}

#[test]
fn configurations_on_one_imodel_share_one_extraction_over_the_union_of_mappings() {
    let sim = sim(0);
    let e = env(&sim);
    let args = [
        "upload",
        "--configuration-id",
        "a-ext",
        "--configuration-id",
        "im2.b-ext",
        "--configuration-id",
        "c-ext",
        "--project-name",
        "Tower {n}",
        "--extract",
        "--json",
    ];
    let r = run_github(&args, &common::pairs(&e));
    assert_eq!(r.code, 0, "{r:?}");
    let runs = sim.extraction_requests();
    assert_eq!(runs.len(), 2, "one per iModel");
    assert_eq!(runs[0]["iModelId"], "imodel-1");
    assert_eq!(
        runs[0]["mappings"],
        serde_json::json!([{"id": "a-m1"}, {"id": "a-m2"}, {"id": "c-m1"}, {"id": "c-m2"}])
    );
    assert_eq!(runs[1]["iModelId"], "im2");
    let jobs = sim.created_requests();
    let ids: Vec<&str> = jobs
        .iter()
        .map(|j| j["extractionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ok-x1", "ok-x2", "ok-x1"]);
    let lines: Vec<Value> = r.stdout.lines().map(json).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["extractionId"], "ok-x2");
    assert_eq!(lines[2]["extractionId"], "ok-x1");
    // Written as each extraction starts (a cancel still names them); the
    // runner keeps the last value: both.
    let ids: Vec<&str> = r
        .outputs
        .iter()
        .filter(|(k, _)| k == "extraction-id")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(ids, ["ok-x1", "ok-x1\nok-x2"]);
    assert_eq!(r.output("extraction-state"), "Succeeded\nSucceeded");
    assert!(r.summary.contains("| Extraction |"), "{}", r.summary);
}

#[test]
fn a_configuration_without_an_imodel_link_needs_the_imodel_id() {
    let sim = sim(0);
    let e = env(&sim);
    let r = run(
        &strs(&upload("nolink-ext", &["--extract"])),
        &common::pairs(&e),
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "--imodel-id / EC3_IMODEL_ID: missing: configuration 'nolink-ext' has no iModel link"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(route(&sim, RUN), 0);
    let r = run(
        &strs(&upload("nolink-ext", &["--extract", "--imodel-id", "im7"])),
        &common::pairs(&e),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(sim.extraction_requests()[0]["iModelId"], "im7");
}

#[test]
fn an_unfinished_extraction_times_out_with_its_id_and_the_unknown_state_named() {
    let sim = sim(0);
    let e = env(&sim);
    let args = upload(
        "odd-ext",
        &["--extract", "--wait", "--timeout", "1s", "--json"],
    );
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 3, "{r:?}");
    let out = json(r.stdout.trim());
    assert_eq!(out["extractionState"], "Cancelling");
    assert_eq!(out["stage"], "extraction");
    assert_eq!(r.output("extraction-id"), "odd-x1");
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("unknown extraction state 'Cancelling'"))
        .collect();
    assert_eq!(warnings.len(), 1, "once per value: {}", r.stderr);
    assert!(
        r.stderr
            .contains("extraction odd-x1 was still Cancelling after"),
        "{}",
        r.stderr
    );
    assert_eq!(route(&sim, POST_JOBS), 0);

    // An extraction the service forgets: exit 5.
    let r = run(
        &strs(&upload("gone-ext", &["--extract"])),
        &common::pairs(&e),
    );
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(route(&sim, POST_JOBS), 0);
}

#[cfg(unix)]
#[test]
fn a_signal_during_the_extraction_exits_143_and_still_names_it() {
    let sim = sim(0);
    let e = env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let args = upload("slow-ext", &["--extract", "--wait", "--interval", "1h"]);
    let mut cmd = github_command(&strs(&args), &common::pairs(&e), &dir);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Signalled once the extraction was polled (counted, not timed).
    let start = Instant::now();
    while route(&sim, STATE) == 0 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(route(&sim, STATE), 1);
    signal(&child, "TERM");
    let r = finish(
        child.wait_with_output().unwrap(),
        Some(dir.path().to_owned()),
    );
    assert_eq!(r.code, 143, "{r:?}");
    assert_eq!(r.output("extraction-id"), "slow-x1");
    assert_eq!(r.output("extraction-state"), "Running");
    assert_eq!(r.output("stage"), "extraction");
    assert_eq!(r.output("job-id"), "");
    assert!(
        r.stderr
            .contains("while extraction slow-x1 was Running; no EC3 job was created"),
        "{}",
        r.stderr
    );
    assert_eq!(route(&sim, POST_JOBS), 0);
    r.assert_clean();
}

#[test]
fn extract_alone_prints_the_id_or_the_object_with_its_problems() {
    let sim = sim(0);
    let e = env(&sim);
    let r = run(
        &["extract", "--imodel-id", "im", "--mapping-id", "ok-1"],
        &common::pairs(&e),
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "ok-x1\n"), "{r:?}");
    assert_eq!(route(&sim, STATE), 0, "not waited for");

    let mut e2 = e.clone();
    e2.push(("EC3_MAPPING_ID", "partial-1, ok-2\npartial-1".into()));
    let r = run(
        &["extract", "--imodel-id", "im", "--wait", "--json"],
        &common::pairs(&e2),
    );
    assert_eq!(r.code, 1, "{r:?}");
    let out = json(r.stdout.trim());
    assert_eq!(out["id"], "partial-x2");
    assert_eq!(out["state"], "PartiallySucceeded");
    assert_eq!(out["iModelId"], "im");
    assert_eq!(out["iModelUrl"], format!("{}/imodels/im", sim.url()));
    let logs = out["logs"].as_array().unwrap();
    let levels: Vec<&str> = logs.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["Warning", "Error"]);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("PartiallySucceeded")
    );
    assert_eq!(
        sim.extraction_requests()[1]["mappings"],
        serde_json::json!([{"id": "partial-1"}, {"id": "ok-2"}])
    );

    let logs_before = route(&sim, LOGS);
    let r = run_github(
        &[
            "extract",
            "--imodel-id",
            "im",
            "--mapping-id",
            "fail-1",
            "--mapping-id",
            "fail-2",
            "--mapping-id",
            "fail-3",
            "--wait",
        ],
        &common::pairs(&e),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "fail-x3\n");
    // Three Error entries, two a page: both pages read, every mapping named.
    assert_eq!(route(&sim, LOGS) - logs_before, 2);
    for m in ["fail-1: ", "fail-2: ", "fail-3: "] {
        assert!(r.stderr.contains(m), "{m} in {}", r.stderr);
    }
    assert_eq!(r.output("extraction-id"), "fail-x3");
    assert_eq!(r.output("extraction-state"), "Failed");
    r.assert_commands_intended();
    r.assert_clean();
}

#[test]
fn one_deadline_covers_the_whole_chain() {
    // Extraction and job each need five polls 200 ms apart (Queued, Running
    // × 3, the end): at least 1.6 s together, so a 1.5 s chain ends in the
    // job's wait, which gets only what the extraction left.
    let sim = sim(3);
    let e = env(&sim);
    let args = upload(
        "a-ext",
        &[
            "--extract",
            "--wait",
            "--interval",
            "200ms",
            "--timeout",
            "1500ms",
            "--json",
        ],
    );
    let r = run_github(&strs(&args), &common::pairs(&e));
    assert_eq!(r.code, 3, "{r:?}");
    let out = json(r.stdout.trim());
    assert_eq!(out["extractionState"], "Succeeded");
    assert_eq!(out["stage"], "job");
    assert_eq!(out["jobId"], "ok-a-ext");
    assert_eq!(r.output("stage"), "job");
    assert_eq!(r.output("job-id"), "ok-a-ext");
    assert_eq!(route(&sim, STATE), 5);
    assert!(
        route(&sim, "GET /ec3/jobs/{id}") < 5,
        "{:?}",
        sim.stats().routes
    );
}
