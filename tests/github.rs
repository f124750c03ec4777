//! GitHub Actions mode and client-credential auth, through the binary:
//! outputs parsed the way the runner parses them, summary, annotations,
//! masks, token caching and renewal.

mod common;

use common::{JOBS, TOKEN, job_json, job_mock, pairs, run_github};
use mockito::{Matcher, Server};

fn job_path(id: &str) -> String {
    format!("{JOBS}/{id}")
}

const LINK: &str = "https://buildingtransparency.org/ec3/buildings/0ee7?view=custom";

#[test]
fn success_writes_all_outputs_summary_and_a_notice() {
    let mut server = Server::new();
    server
        .mock("GET", job_path("j1").as_str())
        .with_body(job_json("Succeeded", None, Some(LINK)))
        .create();
    let url = server.url();
    let r = run_github(
        &["wait", "j1"],
        &[("ITWIN_ACCESS_TOKEN", TOKEN), ("ITWIN_API_URL", &url)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let names: Vec<&str> = r.outputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["status", "message", "ec3-project-url", "job-id"]);
    assert_eq!(r.output("status"), "Succeeded");
    assert_eq!(r.output("message"), "");
    assert_eq!(r.output("ec3-project-url"), LINK);
    assert_eq!(r.output("job-id"), "j1");
    assert!(
        r.stderr.contains(&format!(
            "::notice title=EC3 job succeeded::job j1 succeeded after 0s; EC3 project: {LINK}"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.summary.contains("| Status | Succeeded |"),
        "{}",
        r.summary
    );
    assert!(
        r.summary
            .contains("(https://buildingtransparency.org/ec3/buildings/0ee7?view=custom)"),
        "{}",
        r.summary
    );
    // Every output value has its own fresh delimiter.
    let delimiters: std::collections::HashSet<&str> = r
        .output_file
        .lines()
        .filter_map(|l| l.split_once("<<").map(|(_, d)| d))
        .collect();
    assert_eq!(delimiters.len(), 4);
    r.assert_clean();
}

#[test]
fn hostile_failure_message_round_trips_and_injects_nothing() {
    let evil = "line one\n::error::injected\nEOF\n%0A::set-output name=status::Succeeded\nghadelimiter_00000000-0000-4000-8000-000000000000\nstatus=Succeeded\n| a | b |\n<script>";
    let mut server = Server::new();
    server
        .mock("GET", job_path("j1").as_str())
        .with_body(job_json("Failed", Some(evil), None))
        .create();
    let url = server.url();
    let r = run_github(
        &["wait", "j1"],
        &[("ITWIN_ACCESS_TOKEN", TOKEN), ("ITWIN_API_URL", &url)],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.output("message"), evil);
    assert_eq!(r.output("status"), "Failed");
    assert_eq!(r.outputs.len(), 4, "{:?}", r.outputs);
    // Only ec3-gate's own commands begin a line; the message is escaped inside them.
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        if line.starts_with("::") {
            assert!(
                line.starts_with("::error title=EC3 job failed::")
                    || line.starts_with("::add-mask::"),
                "{line}"
            );
            assert!(!line.contains('\r'));
        }
    }
    assert!(
        r.stderr
            .contains("line one%0A\\u{3a}:error::injected%0AEOF%0A%250A::set-output"),
        "{}",
        r.stderr
    );
    // The summary table keeps its rows.
    let rows = r.summary.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(rows, 7, "{}", r.summary);
    assert!(!r.summary.contains("<script>"));
}

#[test]
fn outputs_are_written_on_timeout_error_and_usage_error() {
    let mut server = Server::new();
    job_mock(&mut server, &job_path("slow"), "Running").create();
    server
        .mock("GET", job_path("gone").as_str())
        .with_status(404)
        .create();
    let url = server.url();
    let env = [
        ("ITWIN_ACCESS_TOKEN", TOKEN),
        ("ITWIN_API_URL", url.as_str()),
    ];

    let r = run_github(
        &["wait", "slow", "--timeout", "300ms", "--interval", "20ms"],
        &env,
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(
        (r.output("status"), r.output("job-id")),
        ("Running", "slow")
    );
    assert!(
        r.stderr.contains("::error title=EC3 job timed out::"),
        "{}",
        r.stderr
    );
    assert!(r.summary.contains("timed out"));

    let r = run_github(&["wait", "gone"], &env);
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!((r.output("status"), r.output("job-id")), ("", "gone"));
    assert!(
        r.stderr
            .contains("::error title=ec3-gate error::error: job not found"),
        "{}",
        r.stderr
    );

    let r = run_github(&["wait", "../x"], &env);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!((r.output("status"), r.output("job-id")), ("", ""));
    assert!(
        r.stderr.contains("::error title=ec3-gate usage error::"),
        "{}",
        r.stderr
    );
}

#[test]
fn env_secrets_are_masked_before_anything_else() {
    let mut server = Server::new();
    job_mock(&mut server, &job_path("j1"), "Running").create();
    let url = server.url();
    let r = run_github(
        &["status", "j1"],
        &[
            ("ITWIN_ACCESS_TOKEN", &format!("bEaReR   {TOKEN}")),
            ("ITWIN_API_URL", &url),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stderr.lines().next(),
        Some(format!("::add-mask::{TOKEN}").as_str()),
        "{}",
        r.stderr
    );
    r.assert_clean();
}

fn token_mock(server: &mut Server, token: &str, expires_in: u64) -> mockito::Mock {
    server
        .mock("POST", "/connect/token")
        // base64("client-id:client-s3cret")
        .match_header("authorization", "Basic Y2xpZW50LWlkOmNsaWVudC1zM2NyZXQ=")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_body(Matcher::AllOf(vec![
            Matcher::Regex("grant_type=client_credentials".into()),
            Matcher::Regex("scope=itwin-platform".into()),
        ]))
        .with_body(format!(
            r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#
        ))
}

fn cc_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ITWIN_CLIENT_ID", "client-id".into()),
        ("ITWIN_CLIENT_SECRET", "client-s3cret".into()),
        ("ITWIN_API_URL", url.into()),
        ("ITWIN_AUTHORITY", url.into()),
    ]
}

#[test]
fn client_credentials_token_is_fetched_once_masked_and_used() {
    let mut server = Server::new();
    let token = token_mock(&mut server, "fresh-t0ken", 3600)
        .expect(1)
        .create();
    let path = job_path("j1");
    let polls = server
        .mock("GET", path.as_str())
        .match_header("authorization", "Bearer fresh-t0ken")
        .with_body(job_json("Running", None, None))
        .expect(3)
        .create();
    let done = job_mock(&mut server, &path, "Succeeded").create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1", "--interval", "10ms"], &pairs(&e));
    token.assert();
    polls.assert();
    done.assert();
    assert_eq!(r.code, 0, "{r:?}");
    let first_token_line = r.stderr.lines().position(|l| l.contains("fresh-t0ken"));
    assert_eq!(
        r.stderr.lines().nth(first_token_line.unwrap()),
        Some("::add-mask::fresh-t0ken"),
        "the mask comes first: {}",
        r.stderr
    );
    r.assert_clean();
}

#[test]
fn a_short_lived_token_is_renewed_before_it_expires() {
    let mut server = Server::new();
    let token = token_mock(&mut server, "fresh-t0ken", 1)
        .expect_at_least(2)
        .create();
    let path = job_path("j1");
    job_mock(&mut server, &path, "Running").expect(30).create();
    job_mock(&mut server, &path, "Succeeded").create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1", "--interval", "50ms"], &pairs(&e));
    token.assert();
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn a_401_mid_wait_renews_once_then_gives_up_with_four() {
    let mut server = Server::new();
    let token = token_mock(&mut server, "fresh-t0ken", 3600)
        .expect(2)
        .create();
    let path = job_path("j1");
    job_mock(&mut server, &path, "Running").expect(1).create();
    let refused = server
        .mock("GET", path.as_str())
        .with_status(401)
        .expect(2)
        .create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1", "--interval", "10ms"], &pairs(&e));
    token.assert();
    refused.assert();
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(r.output("status"), "Running");
    r.assert_clean();
}

#[test]
fn a_401_cured_by_renewal_keeps_waiting() {
    let mut server = Server::new();
    let token = token_mock(&mut server, "fresh-t0ken", 3600)
        .expect(2)
        .create();
    let path = job_path("j1");
    server
        .mock("GET", path.as_str())
        .with_status(401)
        .expect(1)
        .create();
    job_mock(&mut server, &path, "Succeeded").create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1"], &pairs(&e));
    token.assert();
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn token_endpoint_refusal_is_four_and_garbage_is_six() {
    let mut server = Server::new();
    let refused = server
        .mock("POST", "/connect/token")
        .with_status(400)
        .with_body(r#"{"error":"invalid_client"}"#)
        .expect(1)
        .create();
    let jobs = server.mock("GET", Matcher::Any).expect(0).create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1"], &pairs(&e));
    refused.assert();
    jobs.assert();
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("invalid_client"), "{}", r.stderr);
    r.assert_clean();

    let mut server = Server::new();
    server
        .mock("POST", "/connect/token")
        .with_body("<html>login</html>")
        .create();
    let e = cc_env(&server.url());
    let r = run_github(&["wait", "j1"], &pairs(&e));
    assert_eq!(r.code, 6, "{r:?}");
    r.assert_clean();
}

#[test]
fn secrets_are_masked_before_a_usage_error_even_a_bad_flag() {
    for args in [
        &["wait", "j1", "--intervl", "1s"][..],
        &["wait", "../etc"][..],
    ] {
        let r = run_github(
            args,
            &[
                ("ITWIN_ACCESS_TOKEN", TOKEN),
                ("EC3_BEARER_TOKEN", "ec3-s3cr3t-t0ken"),
            ],
        );
        assert_eq!(r.code, 2, "{r:?}");
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(
            lines[..2],
            [
                format!("::add-mask::{TOKEN}").as_str(),
                "::add-mask::ec3-s3cr3t-t0ken"
            ],
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("::error title=ec3-gate usage error::"),
            "{}",
            r.stderr
        );
    }
}

/// Every secret the run knows is cut out of every answer, however the
/// service spells it: here a `wait` (no job created in this run) whose
/// failure message quotes the EC3 token JSON-escaped, the client secret
/// URL-encoded and the Basic value of the token request.
#[test]
fn secrets_quoted_by_the_service_in_any_encoding_never_leave() {
    let ec3 = "ec3/s3cr3t+t0ken";
    let escaped: String = ec3
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let message = format!(
        "token {escaped}; secret client%2Ds3cret; auth Basic Y2xpZW50LWlkOmNsaWVudC1zM2NyZXQ="
    );
    let mut server = Server::new();
    token_mock(&mut server, "fresh-t0ken", 3600).create();
    server
        .mock("GET", job_path("j1").as_str())
        .with_body(format!(
            r#"{{"job":{{"status":"Failed","message":"{message}"}}}}"#
        ))
        .create();
    let mut e = cc_env(&server.url());
    e.push(("EC3_BEARER_TOKEN", ec3.into()));
    let r = run_github(&["wait", "j1", "--interval", "10ms", "--json"], &pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.output("message"), "token ***; secret ***; auth Basic ***");
    let shown = format!("{}{}{}{}", r.stdout, r.stderr, r.output_file, r.summary);
    for secret in [
        "s3cr3t+t0ken",
        "client-s3cret",
        "client%2Ds3cret",
        "Y2xpZW50",
    ] {
        let without_masks: String = shown
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        assert!(!without_masks.contains(secret), "{secret}: {shown}");
    }
}
