//! The core's extraction calls at the request level (mockito): what they
//! send, how they retry, where they refuse to follow, what they report.

use std::time::Duration;

use ec3_gate::{
    Cancel, Client, Config, Credentials, Error, ErrorKind, Event, ExtractAndUpload, ExtractionId,
    ExtractionState, NewExtraction, NewJobs, Secret, Timeout, WaitOptions,
};
use mockito::{Matcher, Server};

const GM: &str = "/grouping-and-mapping/datasources/imodel-mappings/extractions";

fn client(server: &Server) -> Client {
    let config = Config::new(Credentials::access_token("tok-123").unwrap())
        .api_url(server.url())
        .redact(Secret::new("hidden-s3cret"));
    Client::new(config).unwrap()
}

fn state(id: &str, state: &str) -> String {
    serde_json::json!({"extraction": {"id": id, "state": state}}).to_string()
}

fn wait(ms: u64) -> WaitOptions {
    WaitOptions::new(Duration::from_secs(30), Duration::from_millis(ms)).unwrap()
}

#[test]
fn run_posts_the_documented_body_and_reports_the_id_at_once() {
    let mut server = Server::new();
    let post = server
        .mock("POST", GM)
        .match_header("authorization", "Bearer tok-123")
        .match_body(Matcher::JsonString(
            r#"{"iModelId":"im-1","mappings":[{"id":"m1"},{"id":"m2"}],"changesetId":"cs-1"}"#
                .into(),
        ))
        .with_status(201)
        .with_body(state("x-1", "Queued"))
        .expect(1)
        .create();
    let new = NewExtraction::new("im-1", vec!["m1".into(), "m2".into(), "m1".into()])
        .changeset_id("cs-1");
    let mut started = Vec::new();
    let mut observer = |e: Event<'_>| {
        if let Event::ExtractionStarted { index, id } = e {
            started.push((index, id.to_string()));
        }
    };
    let e = client(&server)
        .run_extraction(&new, Timeout::default(), &Cancel::new(), &mut observer)
        .unwrap();
    assert_eq!((e.id.as_str(), e.state), ("x-1", ExtractionState::Queued));
    assert_eq!(started, [(0, "x-1".to_owned())]);
    post.assert();
}

#[test]
fn a_run_is_not_repeated_after_a_server_error_but_is_after_a_429() {
    let mut server = Server::new();
    let busy = server
        .mock("POST", GM)
        .with_status(429)
        .with_header("retry-after", "0")
        .expect(1)
        .create();
    let new = NewExtraction::new("im", vec!["m".into()]);
    let c = client(&server);
    let ok = server
        .mock("POST", GM)
        .with_status(201)
        .with_body(state("x-2", "Queued"))
        .expect(1)
        .create();
    let e = c
        .run_extraction(&new, Timeout::default(), &Cancel::new(), &mut ())
        .unwrap();
    assert_eq!(e.id.as_str(), "x-2");
    busy.assert();
    ok.assert();

    let mut server = Server::new();
    let failing = server.mock("POST", GM).with_status(500).expect(1).create();
    let err = client(&server)
        .run_extraction(&new, Timeout::default(), &Cancel::new(), &mut ())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    failing.assert();
}

#[test]
fn the_wait_retries_with_retry_after_names_unknown_states_and_ends_when_finished() {
    let mut server = Server::new();
    let path = format!("{GM}/x-3");
    let answers = [
        (503, state("x-3", "Queued")),
        (200, state("x-3", "Queued")),
        (200, state("x-3", "Cancelling")),
        (200, state("x-3", "Running")),
        (200, state("x-3", "Succeeded")),
    ];
    let mocks: Vec<_> = answers
        .iter()
        .map(|(status, body)| {
            server
                .mock("GET", path.as_str())
                .with_status(*status)
                .with_header("retry-after", "0")
                .with_body(body)
                .expect(1)
                .create()
        })
        .collect();
    let mut changes = Vec::new();
    let mut retries = 0;
    let mut observer = |e: Event<'_>| match e {
        Event::ExtractionStateChanged { extraction, .. } => {
            changes.push(extraction.state.as_str().to_owned());
        }
        Event::Retrying { .. } => retries += 1,
        _ => {}
    };
    let id = ExtractionId::new("x-3").unwrap();
    let done = client(&server)
        .wait_extraction(&id, &wait(10), &Cancel::new(), &mut observer)
        .unwrap();
    assert_eq!(done.state, ExtractionState::Succeeded);
    assert_eq!(changes, ["Queued", "Cancelling", "Running", "Succeeded"]);
    assert_eq!(retries, 1);
    for m in mocks {
        m.assert();
    }
}

#[test]
fn an_unknown_state_is_never_finished_the_wait_times_out() {
    let mut server = Server::new();
    server
        .mock("GET", format!("{GM}/x-4").as_str())
        .with_body(state("x-4", "Paused"))
        .create();
    let id = ExtractionId::new("x-4").unwrap();
    let options = WaitOptions::new(Duration::from_millis(300), Duration::from_millis(50)).unwrap();
    let err = client(&server)
        .wait_extraction(&id, &options, &Cancel::new(), &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::TimedOut), "{err}");
}

#[test]
fn logs_follow_next_pages_under_the_api_root_only_and_are_redacted() {
    let mut server = Server::new();
    let page2 = format!("{}{GM}/x-5/logs?$continuationToken=t2", server.url());
    let first = serde_json::json!({
        "logs": [{"level": "Error", "contextId": "m1", "message": "bad hidden-s3cret",
                  "dateTime": "2024-05-01T10:00:00+00:00"}],
        "_links": {"next": {"href": page2}}
    });
    server
        .mock("GET", format!("{GM}/x-5/logs").as_str())
        .with_body(first.to_string())
        .expect(1)
        .create();
    let second = serde_json::json!({
        "logs": [{"level": "Warning", "contextId": "m2", "message": "meh",
                  "dateTime": "2024-05-01T10:00:00.1234567Z"}]
    });
    let page = server
        .mock("GET", format!("{GM}/x-5/logs").as_str())
        .match_query(Matcher::UrlEncoded(
            "$continuationToken".into(),
            "t2".into(),
        ))
        .with_body(second.to_string())
        .expect(1)
        .create();
    let id = ExtractionId::new("x-5").unwrap();
    let logs = client(&server)
        .extraction_logs(&id, Timeout::default(), &Cancel::new(), &mut ())
        .unwrap();
    page.assert();
    assert_eq!(logs.len(), 2);
    assert!(
        logs.iter().all(|l| l.time().is_some()),
        "both dateTime forms"
    );
    assert!(
        !logs[0]
            .message
            .as_deref()
            .unwrap()
            .contains("hidden-s3cret")
    );

    // A next link off the API root is not followed (the token stays home).
    let mut server = Server::new();
    let away = serde_json::json!({
        "logs": [], "_links": {"next": {"href": "https://elsewhere.example/logs?p=2"}}
    });
    server
        .mock("GET", format!("{GM}/x-6/logs").as_str())
        .with_body(away.to_string())
        .expect(1)
        .create();
    let err = client(&server)
        .extraction_logs(
            &ExtractionId::new("x-6").unwrap(),
            Timeout::default(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap_err();
    assert!(err.to_string().contains("leaves the API root"), "{err}");
}

#[test]
fn a_cancelled_chain_names_its_extraction_and_creates_no_job() {
    let mut server = Server::new();
    server
        .mock("GET", "/insights/carbon-calculation/ec3/configurations/c1")
        .with_body(
            serde_json::json!({"configuration": {"id": "c1", "labels": [{"mappingId": "m1"}],
                "_links": {"iModel": {"href": "https://x/imodels/im-9"}}}})
            .to_string(),
        )
        .create();
    server
        .mock("POST", GM)
        .with_status(201)
        .with_body(state("x-7", "Queued"))
        .create();
    server
        .mock("GET", format!("{GM}/x-7").as_str())
        .with_body(state("x-7", "Running"))
        .create();
    let jobs = server
        .mock("POST", "/insights/carbon-calculation/ec3/jobs")
        .expect(0)
        .create();
    let cancel = Cancel::new();
    let canceller = cancel.clone();
    let mut observer = move |e: Event<'_>| {
        if matches!(e, Event::ExtractionStateChanged { .. }) {
            canceller.cancel();
        }
    };
    let chain = ExtractAndUpload::new(NewJobs::new(
        vec!["c1".into()],
        "Tower",
        Secret::new("ec3-token"),
    ));
    let outcome = client(&server)
        .extract_and_upload(&chain, &wait(3_600_000), true, &cancel, &mut observer)
        .unwrap();
    assert!(matches!(outcome.stopped, Some(Error::Cancelled)));
    assert_eq!(outcome.stage().as_str(), "extraction");
    assert_eq!(outcome.extractions[0].imodel_id, "im-9");
    assert_eq!(outcome.extractions[0].id.as_ref().unwrap().as_str(), "x-7");
    assert!(outcome.jobs[0].id.is_none());
    jobs.assert();
}
