//! Many jobs, one gate, through the binary: `wait ID ID…` and `upload` with
//! several configurations against the simulator, its counters the witness.

mod common;

use std::time::Duration;

use common::{TOKEN, finish, github_command, run, run_github, signal};
use ec3_sim::{Options, RateLimit, Sim};

/// The simulator's address and a token; a budget large enough that the
/// short intervals of these tests are what paces the polls.
fn env(sim: &Sim) -> Vec<(&'static str, &str)> {
    vec![
        ("ITWIN_ACCESS_TOKEN", TOKEN),
        ("ITWIN_API_URL", sim.url()),
        ("EC3_MAX_REQUESTS_PER_MINUTE", "5000"),
    ]
}

#[test]
fn mixed_outcomes_exit_with_the_cores_precedence() {
    let sim = common::sim(1);
    let e = env(&sim);
    // Succeeded, Failed, not found, never ends: not found (5) decides.
    let args = [
        "wait",
        "ok-m1",
        "fail-m2",
        "nope-m3",
        "slow-m4",
        "--interval",
        "20ms",
        "--timeout",
        "1500ms",
    ];
    let r = run(&args, &e);
    assert_eq!(r.code, 5, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ok-m1\tSucceeded",
            "fail-m2\tFailed",
            "nope-m3\t-",
            "slow-m4\tRunning"
        ]
    );
    // Without the not-found job, the timeout decides (3) over the failed
    // one: 1 only ever means that every job that did not succeed Failed.
    let r = run(
        &[
            "wait",
            "ok-m1",
            "slow-m4",
            "fail-m2",
            "--interval",
            "20ms",
            "--timeout",
            "1s",
        ],
        &e,
    );
    assert_eq!(r.code, 3, "{r:?}");
    // Failed alone (beside successes): 1.
    let r = run(&["wait", "ok-m9", "fail-m10", "--interval", "20ms"], &e);
    assert_eq!(r.code, 1, "{r:?}");
    // A timeout alone: 3; all succeeded: 0.
    let r = run(
        &[
            "wait",
            "ok-m5",
            "slow-m6",
            "--interval",
            "20ms",
            "--timeout",
            "800ms",
        ],
        &e,
    );
    assert_eq!(r.code, 3, "{r:?}");
    let r = run(&["wait", "ok-m7", "ok-m8", "--interval", "20ms"], &e);
    assert_eq!(r.code, 0, "{r:?}");
    r.assert_clean();
}

#[test]
fn job_ids_from_the_environment_split_on_spaces_commas_and_newlines() {
    let sim = common::sim(0);
    let mut e = env(&sim);
    e.push(("EC3_JOB_ID", " ok-e1, ok-e2\nok-e3\tok-e4 "));
    let r = run(&["wait", "--interval", "20ms"], &e);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 4, "{r:?}");
    let polled: Vec<_> = sim.stats().polls.keys().cloned().collect();
    assert_eq!(polled, ["ok-e1", "ok-e2", "ok-e3", "ok-e4"]);
}

#[test]
fn the_budget_is_never_exceeded_at_the_simulator() {
    let limited = || {
        Sim::start(Options {
            running_polls: 1_000_000,
            rate_limit: Some(RateLimit::per_minute(500)),
            ..Options::default()
        })
        .unwrap()
    };
    // One job polled every 10 ms would be 6,000 a minute: the budget
    // allows 40, counted where the service counts.
    let sim = limited();
    let mut e = env(&sim);
    e.push(("EC3_MAX_REQUESTS_PER_MINUTE", "40"));
    let r = run(
        &[
            "wait",
            "slow-b",
            "--interval",
            "10ms",
            "--timeout",
            "1500ms",
        ],
        &e,
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(sim.stats().max_requests_in(Duration::from_secs(60)), 40);

    // 20 jobs at 1,200 a minute: paced through the budget, one request
    // every 50 ms, each job about once a second, in turn, on one connection.
    let sim = limited();
    let ids: Vec<String> = (0..20).map(|i| format!("slow-b{i}")).collect();
    let mut args = vec!["wait", "--interval", "10ms", "--timeout", "3s"];
    args.extend(ids.iter().map(String::as_str));
    let mut e = env(&sim);
    e.push(("EC3_MAX_REQUESTS_PER_MINUTE", "1200"));
    let r = run(&args, &e);
    assert_eq!(r.code, 3, "{r:?}");
    let stats = sim.stats();
    // A second's share is 20, besides the last round, which every job makes
    // just before the deadline; the minute's limit (1,200) is far away.
    assert!(
        stats.max_requests_in(Duration::from_secs(1)) <= 20 + 20,
        "{stats:?}"
    );
    let first = stats.api_requests[0];
    let paced = ec3_sim::Stats {
        api_requests: (stats.api_requests.iter().copied())
            .filter(|t| *t < first + Duration::from_millis(1500))
            .collect(),
        ..Default::default()
    };
    assert!(
        paced.max_requests_in(Duration::from_secs(1)) <= 21,
        "{stats:?}"
    );
    assert!(stats.api_requests.len() >= 40, "{stats:?}");
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.connections, 1);
    let (least, most) = (
        stats.polls.values().min().unwrap(),
        stats.polls.values().max().unwrap(),
    );
    assert!(most - least <= 1, "round robin: {:?}", stats.polls);
    // A budget out of bounds is a usage error naming its source.
    let r = run(&["wait", "ok-x", "--max-requests-per-minute", "0"], &e);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("--max-requests-per-minute"),
        "{}",
        r.stderr
    );
}

#[test]
fn duplicate_ids_are_polled_once_and_reported_at_each_position() {
    let sim = common::sim(1);
    let r = run(
        &[
            "wait",
            "--json",
            "ok-d1",
            "ok-d2",
            "ok-d1",
            "--interval",
            "20ms",
        ],
        &env(&sim),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let objects = json_lines(&r.stdout);
    let ids: Vec<&str> = objects
        .iter()
        .map(|o| o["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ok-d1", "ok-d2", "ok-d1"]);
    // Queued, Running, Succeeded: 3 polls each, not 6 for the repeated one.
    assert_eq!(sim.stats().polls["ok-d1"], 3);
    assert_eq!(sim.stats().polls["ok-d2"], 3);
}

#[test]
fn json_lines_one_object_per_job_in_input_order_with_todays_keys() {
    let sim = common::sim(0);
    let r = run(
        &[
            "wait",
            "--json",
            "fail-j1",
            "ok-j2",
            "nope-j3",
            "--interval",
            "20ms",
        ],
        &env(&sim),
    );
    assert_eq!(r.code, 5, "{r:?}");
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({"jobId": "fail-j1", "status": "Failed",
            "message": ec3_sim::FAIL_MESSAGE, "ec3ProjectUrl": null})
    );
    assert_eq!(lines[1]["ec3ProjectUrl"], ec3_sim::project_link("ok-j2"));
    // A job whose wait ended in an error carries its text, as one job does.
    let mut not_found = lines[2].clone();
    let error = not_found.as_object_mut().unwrap().remove("error");
    assert!(
        error
            .as_ref()
            .and_then(|e| e.as_str())
            .is_some_and(|e| e.contains("not found")),
        "{error:?}"
    );
    assert_eq!(
        not_found,
        serde_json::json!({"jobId": "nope-j3", "status": null, "message": null, "ec3ProjectUrl": null})
    );
    assert_eq!(lines[0].get("error"), None);
    // One job: exactly today's one object.
    let r = run(
        &["wait", "--json", "ok-j4", "--interval", "20ms"],
        &env(&sim),
    );
    assert_eq!(r.stdout.lines().count(), 1);
}

#[test]
fn github_mode_writes_the_jobs_output_lists_and_one_annotation_per_unsucceeded_job() {
    let sim = common::sim(0);
    let r = run_github(
        &["wait", "ok-g1", "fail-g2", "ok-g3", "--interval", "20ms"],
        &env(&sim),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.output("job-id"), "ok-g1\nfail-g2\nok-g3");
    assert_eq!(r.output("status"), "Failed");
    assert_eq!(r.output("message"), ec3_sim::FAIL_MESSAGE);
    assert_eq!(
        r.output("ec3-project-url"),
        format!(
            "{}\n\n{}",
            ec3_sim::project_link("ok-g1"),
            ec3_sim::project_link("ok-g3")
        )
    );
    let jobs: Vec<serde_json::Value> = serde_json::from_str(r.output("jobs")).unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[1]["status"], "Failed");
    let annotations: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 1, "{}", r.stderr);
    assert!(annotations[0].contains("fail-g2"), "{}", annotations[0]);
    // The server's two-line message stays on the annotation's one line.
    assert!(annotations[0].contains("%0A"), "{}", annotations[0]);
    let rows: Vec<&str> = r
        .summary
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Job"))
        .collect();
    assert_eq!(rows.len(), 3, "{}", r.summary);
    assert!(rows[0].contains("ok-g1") && rows[0].contains("buildings/ok-g1"));
    r.assert_clean();
    r.assert_commands_intended();

    // All succeeded: status Succeeded, no error annotation.
    let r = run_github(
        &["wait", "ok-g4", "ok-g5", "--interval", "20ms"],
        &env(&sim),
    );
    assert_eq!((r.code, r.output("status")), (0, "Succeeded"), "{r:?}");
    assert!(!r.stderr.contains("::error"), "{}", r.stderr);
    r.assert_commands_intended();
}

#[test]
fn one_job_writes_todays_outputs_and_no_jobs_output() {
    let sim = common::sim(0);
    let r = run_github(&["wait", "ok-s1", "--interval", "20ms"], &env(&sim));
    assert_eq!(r.code, 0, "{r:?}");
    let names: Vec<&str> = r.outputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["status", "message", "ec3-project-url", "job-id"]);
    assert_eq!(r.stdout, "Succeeded\n");
}

#[test]
fn several_configurations_without_a_placeholder_are_refused_before_anything_is_sent() {
    let sim = common::sim(0);
    let mut e = env(&sim);
    e.push(("EC3_BEARER_TOKEN", "ec3-s3cret-token"));
    let r = run(
        &[
            "upload",
            "--configuration-id",
            "cfg-a",
            "--configuration-id",
            "cfg-b",
            "--project-name",
            "Campus",
        ],
        &e,
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("{configuration}"), "{}", r.stderr);
    assert_eq!(sim.stats().requests, 0, "nothing sent");
    r.assert_clean();
}

#[test]
fn upload_creates_one_job_per_configuration_then_waits_for_all() {
    let sim = common::sim(0);
    let mut e = env(&sim);
    e.push(("EC3_BEARER_TOKEN", "ec3-s3cret-token"));
    e.push(("EC3_CONFIGURATION_ID", "cfg-a\ncfg-b"));
    let r = run(
        &[
            "upload",
            "--project-name",
            "Campus {n}",
            "--wait",
            "--interval",
            "20ms",
            "--json",
        ],
        &e,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let stats = sim.stats();
    assert_eq!(stats.created, ["ok-cfg-a", "ok-cfg-b"]);
    // Each configuration is read once (its form checked) before any job is
    // created; then two creates and two polls each (Queued, Succeeded).
    let routes: Vec<(&str, u64)> = stats.routes.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        routes,
        [
            ("GET /ec3/configurations/{id}", 2),
            ("GET /ec3/jobs/{id}", 4),
            ("POST /ec3/jobs", 2)
        ],
        "{stats:?}"
    );
    assert_eq!(stats.requests, 8);
    let names: Vec<String> = sim
        .created_requests()
        .iter()
        .map(|b| b["projectName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Campus 1", "Campus 2"]);
    assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
    r.assert_clean();
}

#[test]
fn upload_creates_no_job_when_one_configuration_needs_an_extraction() {
    // `cfg-b` is unknown to the simulator (its read is refused, the service
    // would decide); `a-ext` is extraction-based and no extraction is given.
    let sim = common::sim(0);
    let mut e = env(&sim);
    e.push(("EC3_BEARER_TOKEN", "ec3-s3cret-token"));
    e.push(("EC3_CONFIGURATION_ID", "cfg-b\na-ext"));
    let r = run(&["upload", "--project-name", "Campus {n}", "--wait"], &e);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "error: missing --extract (or --extraction-id): configuration 'a-ext' is \
             extraction-based"
        ),
        "{}",
        r.stderr
    );
    let stats = sim.stats();
    assert!(stats.created.is_empty(), "{stats:?}");
    assert_eq!(stats.routes.get("POST /ec3/jobs"), None, "{stats:?}");
    assert_eq!(stats.routes["GET /ec3/configurations/{id}"], 2);
    assert_eq!(stats.requests, 2);
}

#[cfg(unix)]
#[test]
fn sigterm_writes_everything_known_so_far() {
    let sim = common::sim(0);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = github_command(
        &[
            "wait",
            "ok-t1",
            "slow-t2",
            "fail-t3",
            "--interval",
            "50ms",
            "--timeout",
            "10m",
        ],
        &env(&sim),
        &dir,
    );
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Until the two that end have ended (the third never does).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.stats().polls.get("fail-t3").copied().unwrap_or(0) < 2
        || sim.stats().polls.get("ok-t1").copied().unwrap_or(0) < 2
    {
        assert!(std::time::Instant::now() < deadline, "the jobs never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    signal(&child, "TERM");
    let r = finish(
        child.wait_with_output().unwrap(),
        Some(dir.path().to_owned()),
    );
    assert_eq!(r.code, 143, "{r:?}");
    assert_eq!(r.output("job-id"), "ok-t1\nslow-t2\nfail-t3");
    let jobs: Vec<serde_json::Value> = serde_json::from_str(r.output("jobs")).unwrap();
    let statuses: Vec<&str> = jobs.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["Succeeded", "Running", "Failed"]);
    assert_eq!(r.stdout.lines().count(), 3, "{r:?}");
    assert!(
        r.stderr.contains("interrupted by signal 15"),
        "{}",
        r.stderr
    );
    // One row per job, markdown-escaped.
    for id in ["ok\\-t1", "slow\\-t2", "fail\\-t3"] {
        let row = format!("| {id} |");
        assert_eq!(r.summary.matches(&row).count(), 1, "{}", r.summary);
    }
}

#[cfg(unix)]
#[test]
fn sigterm_during_creation_writes_the_ids_created_so_far() {
    let sim = common::sim(0);
    let dir = tempfile::tempdir().unwrap();
    let mut e = env(&sim);
    e.push(("EC3_BEARER_TOKEN", "ec3-s3cret-token"));
    // The second creation gets no answer: the run is still creating.
    e.push(("EC3_CONFIGURATION_ID", "cfg-s1\nstall-s2\ncfg-s3"));
    let mut cmd = github_command(&["upload", "--project-name", "Campus {n}"], &e, &dir);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.stats().created.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no job was created");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Well into the second creation, which never ends.
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    let r = finish(
        child.wait_with_output().unwrap(),
        Some(dir.path().to_owned()),
    );
    assert_eq!(r.code, 143, "{r:?}");
    assert_eq!(sim.stats().created, ["ok-cfg-s1"]);
    assert_eq!(
        r.output("job-id").lines().next(),
        Some("ok-cfg-s1"),
        "{r:?}"
    );
    let jobs: Vec<serde_json::Value> = serde_json::from_str(r.output("jobs")).unwrap();
    let ids: Vec<Option<&str>> = jobs.iter().map(|j| j["jobId"].as_str()).collect();
    assert_eq!(ids, [Some("ok-cfg-s1"), None, None]);
    r.assert_clean();
    r.assert_commands_intended();
}

/// `--json` with several jobs: one JSON object per stdout line.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}
