//! `ec3-gate upload` and `ec3-gate configurations` as processes: the POST
//! body, exit code 7, the retry rules of a non-idempotent request, the
//! `job-id` output, pagination.

mod common;

use common::{
    CONFIGURATIONS, JOBS, TOKEN, is_configuration_read, job_json, pairs, run, run_github,
    unknown_form_configuration,
};
use ec3_sim::scripted::{Action, TestServer, json, response};
use mockito::{Matcher, Server};

const EC3_TOKEN: &str = "ec3-s3cret";

fn base_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ITWIN_ACCESS_TOKEN", TOKEN.into()),
        ("ITWIN_API_URL", url.into()),
        ("EC3_BEARER_TOKEN", EC3_TOKEN.into()),
    ]
}

const UPLOAD: [&str; 5] = [
    "upload",
    "--configuration-id",
    "cfg-1",
    "--project-name",
    "Tower A",
];

fn created(id: &str) -> String {
    format!(r#"{{"job":{{"id":"{id}","_links":{{"status":{{"href":"x"}}}}}}}}"#)
}

#[test]
fn upload_posts_the_documented_body_and_prints_the_id() {
    let mut server = Server::new();
    let m = server
        .mock("POST", JOBS)
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(serde_json::json!({
            "configurationId": "cfg-1", "projectName": "Tower A", "ec3BearerToken": EC3_TOKEN
        })))
        .with_status(201)
        .with_body(created("job-42"))
        .expect(1)
        .create();
    let e = base_env(&server.url());
    let r = run(&UPLOAD, &pairs(&e));
    m.assert();
    assert_eq!((r.code, r.stdout.as_str()), (0, "job-42\n"), "{r:?}");
    r.assert_clean();
}

#[test]
fn upload_reads_its_fields_from_env_including_the_extraction() {
    let mut server = Server::new();
    let m = server
        .mock("POST", JOBS)
        .match_body(Matcher::Json(serde_json::json!({
            "configurationId": "cfg-env", "projectName": "From env", "ec3BearerToken": EC3_TOKEN, "extractionId": "ex-1"
        })))
        .with_status(201)
        .with_body(created("job-43"))
        .create();
    let mut e = base_env(&server.url());
    e.extend([
        ("EC3_CONFIGURATION_ID", "cfg-env".into()),
        ("EC3_PROJECT_NAME", "From env".into()),
        ("EC3_EXTRACTION_ID", "ex-1".into()),
    ]);
    let r = run(&["upload", "--json"], &pairs(&e));
    m.assert();
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["jobId"], "job-43");
}

#[test]
fn upload_wait_gates_like_wait_and_writes_job_id_once() {
    let sim = common::sim(2);
    let e = base_env(sim.url());
    // The simulator makes a job that fails for a configuration id starting `fail`.
    let mut args = UPLOAD.to_vec();
    args[2] = "fail-cfg";
    args.extend(["--wait", "--interval", "10ms"]);
    let r = run_github(&args, &pairs(&e));
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(sim.stats().created, ["fail-fail-cfg"]);
    assert_eq!(r.output("job-id"), "fail-fail-cfg");
    assert_eq!(
        (r.output("status"), r.output("message")),
        ("Failed", ec3_sim::FAIL_MESSAGE)
    );
    let sent = &sim.created_requests()[0];
    assert_eq!(
        (&sent["projectName"], &sent["ec3BearerToken"]),
        (&"Tower A".into(), &EC3_TOKEN.into())
    );
    // The job id was written before the wait began: first in the file.
    assert!(
        r.output_file.starts_with("job-id<<ghadelimiter_"),
        "{}",
        r.output_file
    );
    assert!(
        r.stderr.lines().next().unwrap().starts_with("::add-mask::"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("::add-mask::{EC3_TOKEN}")));
    r.assert_clean();
}

#[test]
fn upload_wait_timeout_still_hands_on_the_job_id() {
    let mut server = Server::new();
    server
        .mock("POST", JOBS)
        .with_status(201)
        .with_body(created("job-45"))
        .create();
    server
        .mock("GET", format!("{JOBS}/job-45").as_str())
        .with_body(job_json("Queued", None, None))
        .create();
    let e = base_env(&server.url());
    let mut args = UPLOAD.to_vec();
    args.extend(["--wait", "--interval", "20ms", "--timeout", "300ms"]);
    let r = run_github(&args, &pairs(&e));
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(
        (r.output("job-id"), r.output("status")),
        ("job-45", "Queued")
    );
}

#[test]
fn rejected_requests_exit_seven_with_the_service_code_and_message() {
    for status in [400, 422] {
        let mut server = Server::new();
        let m = server
            .mock("POST", JOBS)
            .with_status(status)
            .with_body(
                r#"{"error":{"code":"InvalidEC3JobRequest","message":"projectName is too long."}}"#,
            )
            .expect(1)
            .create();
        let e = base_env(&server.url());
        let r = run_github(&UPLOAD, &pairs(&e));
        m.assert();
        assert_eq!(r.code, 7, "{r:?}");
        assert!(
            r.stderr
                .contains("InvalidEC3JobRequest: projectName is too long."),
            "{}",
            r.stderr
        );
        assert_eq!(r.output("job-id"), "");
        r.assert_clean();
    }
}

/// `{"configuration": …}` extraction-based: labels with a `mappingId`, an
/// iModel link.
fn extraction_based(id: &str) -> String {
    serde_json::json!({"configuration": {
        "id": id, "displayName": "Tower",
        "labels": [{"name": "Walls", "mappingId": "m-1"}],
        "_links": {"iModel": {"href": "https://api.bentley.com/imodels/im-1"}}
    }})
    .to_string()
}

/// `{"configuration": …}` report-based: labels with a `reportTable`, a
/// report link.
fn report_based(id: &str) -> String {
    serde_json::json!({"configuration": {
        "id": id, "displayName": "Tower",
        "labels": [{"name": "Walls", "reportTable": "Walls"}],
        "_links": {"report": {"href": "https://api.bentley.com/insights/reporting/reports/r-1"}}
    }})
    .to_string()
}

/// A service that creates any job it is sent: only the gate's own check
/// can keep a wrong one from being created.
fn accepting_service(configuration: &str) -> (mockito::ServerGuard, mockito::Mock, mockito::Mock) {
    let mut server = Server::new();
    let read = server
        .mock("GET", format!("{CONFIGURATIONS}/cfg-1").as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_body(configuration)
        .expect(1)
        .create();
    let post = server
        .mock("POST", JOBS)
        .with_status(201)
        .with_body(created("job-should-not-exist"))
        .expect(0)
        .create();
    (server, read, post)
}

#[test]
fn an_extraction_based_configuration_without_an_extraction_is_refused_before_any_job() {
    // The service's documentation does not say it refuses such a job; this
    // one accepts it. The gate reads the configuration first and creates
    // nothing.
    let (server, read, post) = accepting_service(&extraction_based("cfg-1"));
    let e = base_env(&server.url());
    let mut args = UPLOAD.to_vec();
    args.push("--wait");
    let r = run(&args, &pairs(&e));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "error: missing --extract (or --extraction-id): configuration 'cfg-1' is \
             extraction-based: its jobs need an extraction; no job was created"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    read.assert();
    post.assert();

    // In GitHub mode it names the Action's inputs, and no job id is written.
    let (server, read, post) = accepting_service(&extraction_based("cfg-1"));
    let r = run_github(&UPLOAD, &pairs(&base_env(&server.url())));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("missing input 'extract' (or 'extraction-id'): configuration 'cfg-1'"),
        "{}",
        r.stderr
    );
    assert_eq!(r.output("job-id"), "");
    read.assert();
    post.assert();
    r.assert_clean();
}

#[test]
fn a_report_based_configuration_with_an_extraction_is_refused_before_any_job() {
    let (server, read, post) = accepting_service(&report_based("cfg-1"));
    let mut args = UPLOAD.to_vec();
    args.extend(["--extraction-id", "x-1", "--json"]);
    let r = run(&args, &pairs(&base_env(&server.url())));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "error: --extraction-id: configuration 'cfg-1' is report-based (it uploads report \
             'r-1') and takes no extraction"
        ),
        "{}",
        r.stderr
    );
    read.assert();
    post.assert();
}

#[test]
fn a_configuration_of_unknown_form_or_unreadable_leaves_the_decision_to_the_service() {
    for (status, body) in [
        (200, unknown_form_configuration("cfg-1")),
        (
            404,
            r#"{"error":{"code":"ConfigurationNotFound","message":"no"}}"#.to_owned(),
        ),
    ] {
        let mut server = Server::new();
        let read = server
            .mock("GET", format!("{CONFIGURATIONS}/cfg-1").as_str())
            .with_status(status)
            .with_body(body)
            .expect(1)
            .create();
        let post = server
            .mock("POST", JOBS)
            .with_status(201)
            .with_body(created("job-47"))
            .expect(1)
            .create();
        let r = run(&UPLOAD, &pairs(&base_env(&server.url())));
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "job-47\n"),
            "{status}: {r:?}"
        );
        read.assert();
        post.assert();
    }
}

#[test]
fn a_reset_after_the_post_was_sent_does_not_create_a_second_job() {
    let server = TestServer::start(|req| match req {
        r if is_configuration_read(r) => json(200, &unknown_form_configuration("cfg-1")),
        _ => Action::Close,
    });
    let e = base_env(&server.url);
    let r = run(&UPLOAD, &pairs(&e));
    assert_eq!(r.code, 6, "{r:?}");
    assert_eq!(
        server.requests(),
        2,
        "the configuration read, then one POST: the POST must not be repeated"
    );
}

#[test]
fn a_timeout_after_sending_is_not_retried_either() {
    let server = TestServer::start(|req| match req {
        r if is_configuration_read(r) => json(200, &unknown_form_configuration("cfg-1")),
        _ => Action::Hang,
    });
    let e = base_env(&server.url);
    let mut args = UPLOAD.to_vec();
    args.extend(["--timeout", "2s"]);
    let r = run(&args, &pairs(&e));
    assert_eq!(r.code, 6, "{r:?}");
    assert_eq!(
        server.requests(),
        2,
        "the configuration read, then one POST"
    );
}

#[test]
fn the_post_is_retried_only_when_the_service_asks() {
    // 429, then 503 with Retry-After: both say "not done, try again".
    let server = TestServer::start(|req| match req.index {
        0 if is_configuration_read(req) => json(200, &unknown_form_configuration("cfg-1")),
        1 => Action::Raw(response(429, &[("Retry-After", "0")], b"")),
        2 => Action::Raw(response(503, &[("Retry-After", "0")], b"")),
        _ => json(201, &created("job-46")),
    });
    let r = run(&UPLOAD, &pairs(&base_env(&server.url)));
    assert_eq!((r.code, r.stdout.as_str()), (0, "job-46\n"), "{r:?}");
    assert_eq!(server.requests(), 4, "the configuration read, then 3 POSTs");

    // A plain 503 or 500 may have created the job: not retried.
    for status in [503, 500, 502] {
        let server = TestServer::start(move |req| match req {
            r if is_configuration_read(r) => json(200, &unknown_form_configuration("cfg-1")),
            _ => Action::Raw(response(status, &[], b"<html>down</html>")),
        });
        let r = run(&UPLOAD, &pairs(&base_env(&server.url)));
        assert_eq!(r.code, 6, "{status}: {r:?}");
        assert_eq!(server.requests(), 2, "{status}: the read, then one POST");
    }
}

#[test]
fn a_refused_connection_is_retried_because_nothing_was_sent() {
    // Reserve a port, then free it: connections are refused until the deadline.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut args = UPLOAD.to_vec();
    args.extend(["--timeout", "2s"]);
    let r = run(&args, &pairs(&base_env(&url)));
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.matches("retrying in").count() >= 1, "{}", r.stderr);
}

#[test]
fn upload_needs_its_fields_and_the_ec3_token_from_env_only() {
    let mut server = Server::new();
    let none = server.mock("POST", Matcher::Any).expect(0).create();
    let url = server.url();
    let mut e = base_env(&url);
    e.retain(|(k, _)| *k != "EC3_BEARER_TOKEN");
    let r = run(&UPLOAD, &pairs(&e));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("EC3_BEARER_TOKEN"), "{}", r.stderr);

    let r = run(&["upload", "--project-name", "x"], &pairs(&base_env(&url)));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--configuration-id"), "{}", r.stderr);

    let r = run(
        &[
            "upload",
            "--configuration-id",
            "c",
            "--project-name",
            "a\u{7}b",
        ],
        &pairs(&base_env(&url)),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--project-name: must be"), "{}", r.stderr);

    let mut args = UPLOAD.to_vec();
    args.extend(["--ec3-token", EC3_TOKEN]);
    let r = run(&args, &pairs(&base_env(&url)));
    assert_eq!(r.code, 2, "secrets are never flags: {r:?}");
    none.assert();
}

#[test]
fn configurations_follow_pagination() {
    let mut server = Server::new();
    let base = server.url();
    let list = "/insights/carbon-calculation/ec3/configurations";
    let page1 = serde_json::json!({
        "configurations": [{"id": "cfg-1", "displayName": "Tower A", "modifiedOn": "2026-02-01T00:00:00Z"}],
        "_links": {"next": {"href": format!("{base}{list}?iTwinId=tw-1&$continuationToken=p2")}}
    });
    let page2 = serde_json::json!({
        "configurations": [{"id": "cfg-2", "displayName": "Bridge\nB", "modifiedOn": null}],
        "_links": {}
    });
    let first = server
        .mock("GET", list)
        .match_query(Matcher::Exact("iTwinId=tw-1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_body(page1.to_string())
        .expect(1)
        .create();
    let second = server
        .mock("GET", list)
        .match_query(Matcher::Exact("iTwinId=tw-1&$continuationToken=p2".into()))
        .with_body(page2.to_string())
        .expect(1)
        .create();
    let e = base_env(&base);
    let r = run(&["configurations", "--itwin-id", "tw-1"], &pairs(&e));
    first.assert();
    second.assert();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout,
        "cfg-1\tTower A\t2026-02-01T00:00:00Z\ncfg-2\tBridge\\nB\t\n"
    );

    let r = run(
        &["configurations", "--itwin-id", "tw-1", "--json"],
        &pairs(&e),
    );
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["displayName"], "Bridge\nB");
}

#[test]
fn configurations_never_follow_a_link_off_the_api_root() {
    let mut server = Server::new();
    server
        .mock("GET", "/insights/carbon-calculation/ec3/configurations")
        .match_query(Matcher::Any)
        .with_body(
            r#"{"configurations":[],"_links":{"next":{"href":"https://evil.example/steal"}}}"#,
        )
        .create();
    let r = run(
        &["configurations", "--itwin-id", "tw-1"],
        &pairs(&base_env(&server.url())),
    );
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("leaves the API root"), "{}", r.stderr);
    let r = run(
        &["configurations", "--itwin-id", "../x"],
        &pairs(&base_env(&server.url())),
    );
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn a_service_quoting_the_ec3_token_back_cannot_leak_it() {
    let mut server = Server::new();
    server
        .mock("POST", JOBS)
        .with_status(422)
        .with_body(format!(
            r#"{{"error":{{"code":"InvalidEC3JobRequest","message":"EC3 token '{EC3_TOKEN}' is not valid."}}}}"#
        ))
        .create();
    let e = base_env(&server.url());
    for r in [run(&UPLOAD, &pairs(&e)), run_github(&UPLOAD, &pairs(&e))] {
        assert_eq!(r.code, 7, "{r:?}");
        assert!(
            r.stderr.contains("EC3 token '***' is not valid."),
            "{}",
            r.stderr
        );
        r.assert_clean();
    }
}
