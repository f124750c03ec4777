//! The `ec3-gate` binary as a process against the simulator, or mockito where a
//! test checks the requests themselves or scripts odd answers: commands,
//! exit codes, stdout/stderr, headers, retries and validation.

mod common;

use std::time::{Duration, Instant};

use common::{JOBS, TOKEN, job_json, job_mock, run};
use ec3_sim::project_link;
use mockito::{Matcher, Server};

fn job_path(id: &str) -> String {
    format!("{JOBS}/{id}")
}

fn env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ITWIN_ACCESS_TOKEN", TOKEN.to_owned()),
        ("ITWIN_API_URL", url.to_owned()),
    ]
}

fn run_env(args: &[&str], env: &[(&'static str, String)]) -> common::Run {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(args, &pairs)
}

#[test]
fn status_prints_the_bare_word_and_sends_the_documented_headers() {
    let mut server = Server::new();
    let m = server
        .mock("GET", job_path("j1").as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("accept", "application/vnd.bentley.itwin-platform.v1+json")
        .match_header(
            "user-agent",
            Matcher::Regex(format!("^ec3-gate/{}", env!("CARGO_PKG_VERSION"))),
        )
        .with_body(job_json("Running", None, None))
        .expect(1)
        .create();
    let r = run_env(&["status", "j1"], &env(&server.url()));
    m.assert();
    assert_eq!((r.code, r.stdout.as_str()), (0, "Running\n"), "{r:?}");
    r.assert_clean();
}

#[test]
fn status_accepts_a_token_with_bearer_prefix_and_the_job_id_from_env() {
    let mut server = Server::new();
    let m = server
        .mock("GET", job_path("from-env").as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_body(job_json("Queued", None, None))
        .create();
    let mut e = env(&server.url());
    e[0].1 = format!("Bearer {TOKEN}");
    e.push(("EC3_JOB_ID", "from-env".into()));
    let r = run_env(&["status"], &e);
    m.assert();
    assert_eq!((r.code, r.stdout.as_str()), (0, "Queued\n"), "{r:?}");
}

#[test]
fn status_json_object_with_nulls_and_exit_zero_even_when_failed() {
    let mut server = Server::new();
    server
        .mock("GET", job_path("j1").as_str())
        .with_body(job_json("Failed", Some("bad\nreport"), None))
        .create();
    let r = run_env(&["status", "j1", "--json"], &env(&server.url()));
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"jobId": "j1", "status": "Failed", "message": "bad\nreport", "ec3ProjectUrl": null})
    );
    assert_eq!(r.stdout.lines().count(), 1);
}

#[test]
fn wait_walks_to_succeeded_with_the_link() {
    let sim = common::sim(2);
    let r = run_env(
        &["wait", "ok-walk", "--interval", "20ms", "--json"],
        &env(sim.url()),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["ec3ProjectUrl"], project_link("ok-walk"));
    assert_eq!(v["status"], "Succeeded");
    // Queued, Running twice, Succeeded: and not one poll more.
    let stats = sim.stats();
    assert_eq!(stats.polls["ok-walk"], 4);
    assert_eq!(stats.requests_after_terminal(), 0);
    // One progress line per status change, not per poll.
    assert_eq!(r.stderr.matches("is Running").count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("is Queued") && r.stderr.contains("is Succeeded"));
}

#[test]
fn wait_exits_one_on_failed() {
    let sim = common::sim(0);
    let r = run_env(&["wait", "fail-1", "--interval", "20ms"], &env(sim.url()));
    assert_eq!((r.code, r.stdout.as_str()), (1, "Failed\n"), "{r:?}");
    assert!(r.stderr.contains("EC3 rejected the report"), "{}", r.stderr);
}

#[test]
fn wait_times_out_with_exit_three_and_polls_until_then() {
    let sim = common::sim(0);
    let r = run_env(
        &[
            "wait",
            "slow-1",
            "--timeout",
            "400ms",
            "--interval",
            "50ms",
            "--json",
        ],
        &env(sim.url()),
    );
    assert!(sim.stats().polls["slow-1"] >= 3, "{:?}", sim.stats());
    assert_eq!(r.code, 3, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["status"], "Running");
    assert!(r.stderr.contains("still Running"), "{}", r.stderr);
}

#[test]
fn timeout_and_interval_come_from_env_and_flags_win() {
    let mut server = Server::new();
    job_mock(&mut server, &job_path("j1"), "Running").create();
    let mut e = env(&server.url());
    e.push(("EC3_TIMEOUT", "300ms".into()));
    e.push(("EC3_INTERVAL", "20ms".into()));
    let r = run_env(&["wait", "j1"], &e);
    assert_eq!(r.code, 3, "{r:?}");
    e.push(("EC3_TIMEOUT", "nonsense".into()));
    let r = run_env(&["wait", "j1", "--timeout", "200ms"], &e);
    assert_eq!(r.code, 3, "flag overrides the bad env value: {r:?}");
}

#[test]
fn unknown_status_warns_once_and_keeps_waiting() {
    let mut server = Server::new();
    let path = job_path("j1");
    job_mock(&mut server, &path, "Paused").expect(3).create();
    job_mock(&mut server, &path, "Succeeded").create();
    let r = run_env(&["wait", "j1", "--interval", "10ms"], &env(&server.url()));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stderr.matches("unknown job status 'Paused'").count(),
        1,
        "{}",
        r.stderr
    );
}

#[test]
fn help_has_exit_codes_and_env_vars_and_version_matches() {
    // The contract block once, at the top; subcommand help stays short, with
    // the global options under their own heading.
    let sub = run(&["wait", "--help"], &[]);
    assert_eq!(sub.code, 0);
    assert!(!sub.stdout.contains("Exit status"), "{}", sub.stdout);
    assert!(sub.stdout.contains("Global options:"), "{}", sub.stdout);
    assert!(sub.stdout.contains("--interval"), "{}", sub.stdout);
    for args in [&["--help"][..]] {
        let r = run(args, &[]);
        assert_eq!(r.code, 0);
        for needle in [
            "Exit status",
            "130",
            "143",
            "ITWIN_ACCESS_TOKEN",
            "ITWIN_CLIENT_SECRET",
            "EC3_TIMEOUT",
            "EC3_INTERVAL",
            "ITWIN_API_URL",
        ] {
            assert!(
                r.stdout.contains(needle),
                "{needle} missing from {args:?} help"
            );
        }
    }
    let r = run(&["--version"], &[]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (
            0,
            format!("ec3-gate {}", env!("CARGO_PKG_VERSION")).as_str()
        )
    );
}

#[test]
fn the_project_name_help_shows_its_placeholders_as_typed() {
    // clap reads `{n}` in a help text as a line break.
    for args in [
        &["upload", "--help"][..],
        &["upload", "-h"],
        &["help", "upload"],
    ] {
        let r = run(args, &[]);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains("--project-name <NAME>"))
            .unwrap_or_else(|| panic!("{args:?}: {}", r.stdout));
        assert!(
            line.ends_with(
                "it must hold `{configuration}` (the configuration's name) or `{n}` (its \
                 position) [env: EC3_PROJECT_NAME]"
            ),
            "{args:?}: {line:?}"
        );
        assert!(
            !r.stdout.contains('\u{2060}'),
            "{args:?}: the stand-in leaked"
        );
    }
}

#[test]
fn a_mistyped_flag_gets_a_suggestion_in_the_tools_error_style() {
    let r = run(&["wait", "j1", "--intervl", "1s"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .starts_with("ec3-gate: error: unexpected argument '--intervl'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("'--interval'"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_two_and_send_nothing() {
    let mut server = Server::new();
    let any = server.mock("GET", Matcher::Any).expect(0).create();
    let url = server.url();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["wait", "../etc"], vec![], "invalid job id"),
        (vec!["wait", "a/b"], vec![], "invalid job id"),
        (vec!["wait", "a?x=1"], vec![], "invalid job id"),
        (vec!["wait", "a#b"], vec![], "invalid job id"),
        (vec!["wait", "a%2e"], vec![], "invalid job id"),
        (vec!["wait", ""], vec![], "invalid job id"),
        (vec!["wait"], vec![], "job id: missing"),
        (
            vec!["wait", "j1", "--timeout", "5 parsecs"],
            vec![],
            "'5 parsecs'",
        ),
        (vec!["wait", "j1", "--interval", "0s"], vec![], "--interval"),
        (
            vec!["wait", "j1"],
            vec![("EC3_TIMEOUT", "soon")],
            "EC3_TIMEOUT: invalid duration 'soon'",
        ),
        (
            vec!["wait", "j1"],
            vec![("EC3_INTERVAL", "1y")],
            "EC3_INTERVAL",
        ),
        (
            vec!["wait", "j1", "--timeout", "100000000000y"],
            vec![],
            "--timeout",
        ),
        (
            vec!["status", "j1", "--api-url", "http://api.example.com"],
            vec![],
            "loopback",
        ),
        (
            vec!["status", "j1", "--api-url", "ftp://x"],
            vec![],
            "https://",
        ),
        (
            vec!["status", "j1", "--authority", "http://10.0.0.1"],
            vec![],
            "loopback",
        ),
        (vec!["status", "j1", "--bogus"], vec![], "--bogus"),
        (
            vec!["status", "j1"],
            vec![("ITWIN_CLIENT_ID", "x")],
            "ITWIN_CLIENT_SECRET",
        ),
        (
            vec!["status", "j1"],
            vec![("ITWIN_ACCESS_TOKEN", "a b")],
            "ITWIN_ACCESS_TOKEN",
        ),
    ];
    for (args, extra, needle) in cases {
        let mut e = vec![("ITWIN_API_URL", url.as_str())];
        if !extra.iter().any(|(k, _)| k.starts_with("ITWIN_")) {
            e.push(("ITWIN_ACCESS_TOKEN", TOKEN));
        }
        e.extend(extra);
        let r = run(&args, &e);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(needle),
            "{args:?}: want {needle:?} in {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
        r.assert_clean();
    }
    let r = run(&["wait", "j1"], &[("ITWIN_API_URL", url.as_str())]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no credentials"), "{}", r.stderr);
    any.assert();
}

#[test]
fn ids_made_only_of_dots_are_refused_for_every_id_kind_and_nothing_is_sent() {
    // `.` and `..` are path segments: `/extractions/..` would ask for the
    // parent path. Longer runs of dots are refused too.
    let server = ec3_sim::scripted::TestServer::start(|_| {
        ec3_sim::scripted::json(500, r#"{"error":{"code":"Unexpected"}}"#)
    });
    for dots in [".", "..", "..."] {
        let upload = |flags: &[&'static str]| -> Vec<String> {
            let mut args = vec!["upload", "--configuration-id"];
            args.push(if flags.is_empty() { dots } else { "cfg-1" });
            args.extend(["--project-name", "Tower"]);
            args.extend(flags);
            args.into_iter().map(str::to_owned).collect()
        };
        let with = |args: Vec<String>| -> Vec<String> {
            args.into_iter()
                .map(|a| if a == "DOTS" { dots.to_owned() } else { a })
                .collect()
        };
        let extract = |rest: &[&str]| -> Vec<String> {
            with(
                ["extract"]
                    .iter()
                    .chain(rest)
                    .map(|a| (*a).to_owned())
                    .collect(),
            )
        };
        type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            (
                with(vec!["status".into(), "DOTS".into()]),
                vec![],
                "invalid job id",
            ),
            (
                with(vec!["wait".into(), "ok-1".into(), "DOTS".into()]),
                vec![],
                "invalid job id",
            ),
            (
                vec!["wait".into()],
                vec![("EC3_JOB_ID", dots)],
                "invalid job id",
            ),
            (upload(&[]), vec![], "--configuration-id: must be"),
            (
                with(upload(&["--extraction-id", "DOTS"])),
                vec![],
                "--extraction-id: must be",
            ),
            (
                with(upload(&["--extract", "--imodel-id", "DOTS"])),
                vec![],
                "--imodel-id: must be",
            ),
            (
                with(upload(&["--extract", "--changeset-id", "DOTS"])),
                vec![],
                "--changeset-id: must be",
            ),
            (
                extract(&["--imodel-id", "DOTS", "--mapping-id", "m-1"]),
                vec![],
                "--imodel-id: must be",
            ),
            (
                extract(&["--imodel-id", "im-1", "--mapping-id", "DOTS"]),
                vec![],
                "--mapping-id: must be",
            ),
            (
                extract(&[
                    "--imodel-id",
                    "im-1",
                    "--mapping-id",
                    "m-1",
                    "--changeset-id",
                    "DOTS",
                ]),
                vec![],
                "--changeset-id: must be",
            ),
        ];
        for (args, extra, needle) in cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut e = vec![
                ("ITWIN_ACCESS_TOKEN", TOKEN),
                ("ITWIN_API_URL", server.url.as_str()),
                ("EC3_BEARER_TOKEN", "ec3-s3cret"),
            ];
            e.extend(extra);
            let r = run(&args, &e);
            assert_eq!(r.code, 2, "{args:?}: {r:?}");
            assert!(
                r.stderr.contains(needle) && r.stderr.contains("not only dots"),
                "{args:?}: want {needle:?} in {}",
                r.stderr
            );
            assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
        }
    }
    assert_eq!(
        (server.accepts(), server.requests()),
        (0, 0),
        "nothing was sent"
    );
}

#[test]
fn empty_env_vars_count_as_unset() {
    let mut server = Server::new();
    job_mock(&mut server, &job_path("j1"), "Running").create();
    let url = server.url();
    let r = run(
        &["status", "j1"],
        &[
            ("ITWIN_ACCESS_TOKEN", TOKEN),
            ("ITWIN_API_URL", url.as_str()),
            ("ITWIN_CLIENT_ID", ""),
            ("EC3_TIMEOUT", ""),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn http_errors_map_to_documented_exit_codes() {
    let cases = [(404, 5), (401, 4), (403, 4), (400, 7), (422, 7), (409, 6)];
    for (status, code) in cases {
        let mut server = Server::new();
        let m = server
            .mock("GET", job_path("j1").as_str())
            .with_status(status)
            .with_body(r#"{"error":{"code":"JobNotFound","message":"Requested EC3 Job is not available.","target":"jobId"}}"#)
            .expect(1)
            .create();
        let r = run_env(&["wait", "j1", "--timeout", "5s"], &env(&server.url()));
        m.assert();
        assert_eq!(r.code, code, "HTTP {status}: {r:?}");
        assert!(r.stderr.contains(&format!("HTTP {status}")), "{}", r.stderr);
        r.assert_clean();
    }
}

#[test]
fn transient_errors_are_retried_then_succeed() {
    let mut server = Server::new();
    let path = job_path("j1");
    let e500 = server
        .mock("GET", path.as_str())
        .with_status(500)
        .with_body("<html>oops</html>")
        .expect(1)
        .create();
    let e503 = server
        .mock("GET", path.as_str())
        .with_status(503)
        .expect(1)
        .create();
    let e408 = server
        .mock("GET", path.as_str())
        .with_status(408)
        .expect(1)
        .create();
    let ok = job_mock(&mut server, &path, "Succeeded").expect(1).create();
    let r = run_env(&["wait", "j1", "--interval", "10ms"], &env(&server.url()));
    for m in [e500, e503, e408, ok] {
        m.assert();
    }
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr.matches("retrying in").count(), 3, "{}", r.stderr);
}

#[test]
fn retry_after_is_honoured_never_earlier() {
    let mut server = Server::new();
    let path = job_path("j1");
    let limited = server
        .mock("GET", path.as_str())
        .with_status(429)
        .with_header("retry-after", "2")
        .with_body(r#"{"error":{"code":"RateLimitExceeded","message":"slow down"}}"#)
        .expect(1)
        .create();
    let ok = job_mock(&mut server, &path, "Running").expect(1).create();
    let start = Instant::now();
    let r = run_env(&["status", "j1"], &env(&server.url()));
    limited.assert();
    ok.assert();
    assert_eq!(r.code, 0, "{r:?}");
    // A lower bound, not a speed claim: the second request waited for Retry-After.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(r.stderr.contains("RateLimitExceeded"), "{}", r.stderr);
}

#[test]
fn retry_after_past_the_deadline_gives_up_at_once_with_six() {
    for absurd in [
        "999999",
        "99999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let mut server = Server::new();
        let m = server
            .mock("GET", job_path("j1").as_str())
            .with_status(429)
            .with_header("retry-after", absurd)
            .expect(1)
            .create();
        let r = run_env(&["status", "j1", "--timeout", "3s"], &env(&server.url()));
        m.assert();
        assert_eq!(r.code, 6, "{absurd}: {r:?}");
        r.assert_clean();
    }
}

#[test]
fn persistent_server_errors_end_with_six_within_the_deadline() {
    let mut server = Server::new();
    let m = server
        .mock("GET", job_path("j1").as_str())
        .with_status(502)
        .expect_at_least(2)
        .create();
    let r = run_env(&["wait", "j1", "--timeout", "2s"], &env(&server.url()));
    m.assert();
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("HTTP 502"), "{}", r.stderr);
}

#[test]
fn bad_bodies_are_exit_six_never_a_panic() {
    let big = format!(
        r#"{{"job":{{"status":"Running","message":"{}"}}}}"#,
        "x".repeat(2 << 20)
    );
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"<html>hello</html>".to_vec(),
        b"{}".to_vec(),
        br#"{"job":null}"#.to_vec(),
        br#"{"job":{"status":7}}"#.to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        big.into_bytes(),
        deep.into_bytes(),
    ];
    for body in bodies {
        let mut server = Server::new();
        server
            .mock("GET", job_path("j1").as_str())
            .with_body(&body)
            .create();
        let r = run_env(&["wait", "j1", "--timeout", "5s"], &env(&server.url()));
        assert_eq!(r.code, 6, "{r:?}");
        assert!(r.stderr.contains("unreadable answer"), "{}", r.stderr);
        r.assert_clean();
    }
}

#[test]
fn redirects_never_carry_the_authorization_header() {
    let mut other = Server::new();
    let landed = other
        .mock("GET", "/elsewhere")
        .match_header("authorization", Matcher::Missing)
        .with_status(401)
        .expect(1)
        .create();
    let mut server = Server::new();
    server
        .mock("GET", job_path("j1").as_str())
        .with_status(302)
        .with_header("location", &format!("{}/elsewhere", other.url()))
        .create();
    let r = run_env(&["status", "j1"], &env(&server.url()));
    landed.assert();
    assert_eq!(r.code, 4, "{r:?}");
}

#[test]
fn a_proxy_in_the_environment_does_not_capture_loopback() {
    let mut server = Server::new();
    let m = job_mock(&mut server, &job_path("j1"), "Running")
        .expect(1)
        .create();
    let mut e = env(&server.url());
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "http_proxy",
        "HTTP_PROXY",
        "ALL_PROXY",
    ] {
        e.push((var, "http://127.0.0.1:9".into()));
    }
    let r = run_env(&["status", "j1"], &e);
    m.assert();
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn server_text_cannot_start_a_workflow_command_in_the_logs() {
    let mut server = Server::new();
    let evil = "done\n::error::pwned\r\n::add-mask::x %0A::warning::y";
    server
        .mock("GET", job_path("j1").as_str())
        .with_body(job_json("Failed", Some(evil), None))
        .create();
    let r = run_env(&["wait", "j1"], &env(&server.url()));
    assert_eq!(r.code, 1, "{r:?}");
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        assert!(
            !line.trim_start().starts_with("::"),
            "line begins a command: {line}"
        );
    }
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut server = Server::new();
    job_mock(&mut server, &job_path("j1"), "Succeeded").create();
    let mut cmd = common::ec3(&["wait", "j1"]);
    cmd.env("ITWIN_ACCESS_TOKEN", TOKEN)
        .env("ITWIN_API_URL", server.url());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_short_token_does_not_garble_the_answer() {
    // Echo redaction must not rewrite JSON syntax that happens to contain the token.
    let mut server = Server::new();
    job_mock(&mut server, &job_path("j1"), "Succeeded").create();
    let url = server.url();
    let r = run(
        &["status", "j1"],
        &[("ITWIN_ACCESS_TOKEN", "t"), ("ITWIN_API_URL", &url)],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "Succeeded\n"), "{r:?}");
}

#[test]
fn a_rate_limited_wait_honours_retry_after_and_still_succeeds() {
    let limited = ec3_sim::Options {
        running_polls: 3,
        rate_limit: Some(ec3_sim::RateLimit {
            requests: 2,
            per: Duration::from_secs(1),
        }),
        ..ec3_sim::Options::default()
    };
    let sim = ec3_sim::Sim::start(limited).unwrap();
    let r = run_env(
        &[
            "wait",
            "ok-limited",
            "--interval",
            "10ms",
            "--timeout",
            "30s",
        ],
        &env(sim.url()),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let stats = sim.stats();
    // Queued, Running three times, Succeeded: five answers, two a second at most.
    assert_eq!(stats.polls["ok-limited"], 5, "{stats:?}");
    assert!(stats.rate_limited >= 1, "the limit was reached: {stats:?}");
    // After a 429 the client waits out Retry-After (1 s) instead of hammering: never more
    // than the two admitted requests and the one refused in any second.
    assert!(
        stats.max_requests_in(Duration::from_secs(1)) <= 3,
        "{stats:?}"
    );
}
