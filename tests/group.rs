//! Many jobs, one gate, through the core's API: `Client::wait_all` against a
//! server that logs every request (when, what, on which connection count),
//! and `Client::create_jobs` against mockito.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{JOBS, TOKEN, is_configuration_read, job_json, unknown_form_configuration};
use ec3_gate::{
    Cancel, Client, Config, Credentials, Error, Event, JobId, JobOutcome, JobStatus, NewJobs,
    Secret, Timeout, WaitOptions,
};
use ec3_sim::scripted::{Action, TestServer, json, response};
use mockito::{Matcher, Server};

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    path: String,
}

/// A server answering `script(job id, how many times it was asked before)`,
/// and the log of what it was asked.
fn server(
    script: impl Fn(&str, usize) -> Action + Send + Sync + 'static,
) -> (TestServer, Arc<Mutex<Vec<Seen>>>) {
    let log = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let seen = log.clone();
    let server = TestServer::start(move |request| {
        let path = request.path().to_owned();
        let mut log = seen.lock().unwrap();
        let before = log.iter().filter(|s| s.path == path).count();
        log.push(Seen {
            at: request.at,
            path: path.clone(),
        });
        drop(log);
        let id = path.strip_prefix(&format!("{JOBS}/")).unwrap_or("");
        script(id, before)
    });
    (server, log)
}

fn client(url: &str, per_minute: u32) -> Client {
    let config = Config::new(Credentials::access_token(TOKEN).unwrap())
        .api_url(url)
        .max_requests_per_minute(per_minute);
    Client::new(config).unwrap()
}

fn ids(list: &[&str]) -> Vec<JobId> {
    list.iter().map(|id| JobId::new(id).unwrap()).collect()
}

fn options(timeout_ms: u64, interval_ms: u64) -> WaitOptions {
    WaitOptions::new(
        Duration::from_millis(timeout_ms),
        Duration::from_millis(interval_ms),
    )
    .unwrap()
}

fn polls(log: &Mutex<Vec<Seen>>, id: &str) -> usize {
    let path = format!("{JOBS}/{id}");
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == path)
        .count()
}

fn status(outcome: &JobOutcome) -> Option<JobStatus> {
    outcome.result.as_ref().ok().map(|j| j.status.clone())
}

fn running() -> Action {
    json(200, &job_json("Running", None, None))
}

fn succeeded(id: &str) -> Action {
    json(
        200,
        &job_json("Succeeded", None, Some(&format!("https://ec3/{id}"))),
    )
}

#[test]
fn mixed_outcomes_come_back_in_input_order_and_finished_jobs_are_not_polled_again() {
    let (server, log) = server(|id, before| match id {
        "ok" => succeeded(id),
        "bad" => json(
            200,
            &job_json("Failed", Some("EC3 refused the token"), None),
        ),
        "gone" => json(
            404,
            r#"{"error":{"code":"JobNotFound","message":"Requested EC3 Job is not available."}}"#,
        ),
        "slow" if before < 2 => running(),
        "slow" => succeeded(id),
        _ => running(),
    });
    let client = client(&server.url, 600);
    let mut events: Vec<(usize, String, &'static str)> = Vec::new();
    let outcomes = client
        .wait_all(
            &ids(&["ok", "never", "bad", "gone", "slow"]),
            &options(1500, 30),
            &Cancel::new(),
            &mut |event: Event<'_>| {
                if let Event::ForJob { index, id, event } = event {
                    let kind = match event {
                        Event::StatusChanged { .. } => "changed",
                        Event::Ended(_) => "ended",
                        _ => return,
                    };
                    events.push((index, id.to_string(), kind));
                }
            },
        )
        .unwrap();

    let got: Vec<_> = outcomes.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(got, ["ok", "never", "bad", "gone", "slow"]);
    assert_eq!(status(&outcomes[0]), Some(JobStatus::Succeeded));
    assert!(matches!(outcomes[1].result, Err(Error::TimedOut)));
    assert_eq!(
        outcomes[1].last_seen.as_ref().map(|j| &j.status),
        Some(&JobStatus::Running)
    );
    assert_eq!(status(&outcomes[2]), Some(JobStatus::Failed));
    assert_eq!(
        outcomes[2].last_seen.as_ref().unwrap().message.as_deref(),
        Some("EC3 refused the token")
    );
    assert!(matches!(outcomes[3].result, Err(Error::JobNotFound(_))));
    assert!(outcomes[3].last_seen.is_none());
    assert_eq!(status(&outcomes[4]), Some(JobStatus::Succeeded));

    // Finished jobs are not asked again; the slow one exactly until it ends.
    for (id, n) in [("ok", 1), ("bad", 1), ("gone", 1), ("slow", 3)] {
        assert_eq!(polls(&log, id), n, "{id}");
    }
    assert!(polls(&log, "never") > 3);
    // One wait-end event per job, under its own position.
    for (index, id) in ["ok", "never", "bad", "gone", "slow"].iter().enumerate() {
        let ended = events
            .iter()
            .filter(|e| e.0 == index && e.1 == *id && e.2 == "ended")
            .count();
        assert_eq!(ended, 1, "{id}: {events:?}");
    }
    assert!(events.contains(&(4, "slow".into(), "changed")));
}

#[test]
fn one_connection_serves_every_job() {
    let (server, log) = server(|id, before| {
        if before == 0 {
            running()
        } else {
            succeeded(id)
        }
    });
    let list: Vec<String> = (0..10).map(|i| format!("job-{i}")).collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    let outcomes = client(&server.url, 600)
        .wait_all(&ids(&list), &options(10_000, 20), &Cancel::new(), &mut ())
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| status(o) == Some(JobStatus::Succeeded))
    );
    assert_eq!(log.lock().unwrap().len(), 20);
    assert_eq!(server.accepts(), 1, "one TCP connection for 10 jobs");
}

#[test]
fn the_budget_is_never_exceeded_and_shared_fairly() {
    // One job polled every 10 ms for 1.5 s would send 150 requests; the
    // budget allows 20 in any minute, and the whole test fits in one.
    let (solo, log) = server(|_, _| running());
    let outcome = client(&solo.url, 20).wait(
        &JobId::new("solo").unwrap(),
        &options(1500, 10),
        &Cancel::new(),
        &mut (),
    );
    assert!(matches!(outcome, Err(Error::TimedOut)), "{outcome:?}");
    assert_eq!(
        log.lock().unwrap().len(),
        20,
        "the budget was used, not exceeded"
    );

    // Four jobs and 1200 a minute (one request every 50 ms): the polls are
    // paced through the budget, each job about every 200 ms, in turn.
    let (server, log) = server(|_, _| running());
    let list = ["a", "b", "c", "d"];
    let outcomes = client(&server.url, 1200)
        .wait_all(&ids(&list), &options(2000, 10), &Cancel::new(), &mut ())
        .unwrap();
    let times: Vec<Instant> = log.lock().unwrap().iter().map(|s| s.at).collect();
    // No second holds more than its share of the budget (20), besides the
    // last round, which every job makes just before the deadline.
    for (i, t) in times.iter().enumerate() {
        let inside = times[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(
            inside <= 20 + list.len(),
            "{inside} requests within a second"
        );
    }
    assert!(times.len() >= 20, "the budget was used: {}", times.len());
    let counts: Vec<usize> = list.iter().map(|id| polls(&log, id)).collect();
    let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(most - least <= 1, "round robin: {counts:?}");
    for (id, outcome) in list.iter().zip(&outcomes) {
        assert!(matches!(outcome.result, Err(Error::TimedOut)), "{id}");
        assert!(outcome.last_seen.is_some());
    }
}

#[test]
fn a_429_pauses_every_job_not_just_its_own() {
    let (server, log) = server(|id, before| {
        if id == "a" && before == 0 {
            Action::Raw(response(
                429,
                &[("Retry-After", "1"), ("Content-Type", "application/json")],
                br#"{"error":{"code":"RateLimitExceeded","message":"slow down"}}"#,
            ))
        } else {
            succeeded(id)
        }
    });
    let mut retries = 0;
    let outcomes = client(&server.url, 600)
        .wait_all(
            &ids(&["a", "b", "c"]),
            &options(20_000, 20),
            &Cancel::new(),
            &mut |event: Event<'_>| {
                if let Event::ForJob {
                    index: 0,
                    event: Event::Retrying { .. },
                    ..
                } = event
                {
                    retries += 1;
                }
            },
        )
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| status(o) == Some(JobStatus::Succeeded))
    );
    assert_eq!(retries, 1);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 4, "{log:?}");
    // Nothing at all was sent in the second after the 429, though b and c
    // were due at once.
    let refused = log[0].at;
    for later in &log[1..] {
        assert!(
            later.at >= refused + Duration::from_secs(1),
            "{} polled {:?} after the 429",
            later.path,
            later.at - refused
        );
    }
}

#[test]
fn a_duplicate_id_is_polled_once_and_reported_at_each_position() {
    let (server, log) = server(|id, before| {
        if before == 0 {
            running()
        } else {
            succeeded(id)
        }
    });
    let mut ended_at = Vec::new();
    let outcomes = client(&server.url, 600)
        .wait_all(
            &ids(&["a", "b", "a"]),
            &options(10_000, 20),
            &Cancel::new(),
            &mut |event: Event<'_>| {
                if let Event::ForJob {
                    index,
                    event: Event::Ended(_),
                    ..
                } = event
                {
                    ended_at.push(index);
                }
            },
        )
        .unwrap();
    assert_eq!(polls(&log, "a"), 2);
    assert_eq!(polls(&log, "b"), 2);
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0].id.as_str(), "a");
    assert_eq!(outcomes[2].id.as_str(), "a");
    assert_eq!(
        outcomes[0].result.as_ref().unwrap(),
        outcomes[2].result.as_ref().unwrap()
    );
    ended_at.sort_unstable();
    assert_eq!(ended_at, [0, 1], "events name the first position");
}

#[test]
fn a_cancel_returns_everything_known_so_far() {
    let (server, _log) = server(|id, _| {
        if id == "done" {
            succeeded(id)
        } else {
            running()
        }
    });
    let client = client(&server.url, 600);
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        trigger.cancel();
    });
    let outcomes = client
        .wait_all(
            &ids(&["done", "long"]),
            &options(600_000, 50),
            &cancel,
            &mut (),
        )
        .unwrap();
    canceller.join().unwrap();
    assert_eq!(status(&outcomes[0]), Some(JobStatus::Succeeded));
    assert!(matches!(outcomes[1].result, Err(Error::Cancelled)));
    assert_eq!(
        outcomes[1].last_seen.as_ref().map(|j| &j.status),
        Some(&JobStatus::Running)
    );
    // The client stays usable after the cancel.
    let again = client
        .wait_all(&ids(&["done"]), &options(5000, 20), &Cancel::new(), &mut ())
        .unwrap();
    assert_eq!(status(&again[0]), Some(JobStatus::Succeeded));
}

#[test]
fn an_empty_list_and_a_zero_budget_are_usage_errors() {
    let (server, log) = server(|_, _| running());
    let err = client(&server.url, 60)
        .wait_all(&[], &options(1000, 20), &Cancel::new(), &mut ())
        .unwrap_err();
    assert!(err.is_usage(), "{err}");
    for bad in [0, ec3_gate::MAX_REQUESTS_PER_MINUTE + 1] {
        let config = Config::new(Credentials::access_token(TOKEN).unwrap())
            .api_url(&server.url)
            .max_requests_per_minute(bad);
        let err = Client::new(config).unwrap_err();
        assert!(
            err.to_string().starts_with("max requests per minute:"),
            "{err}"
        );
    }
    assert!(log.lock().unwrap().is_empty());
}

// Creating several jobs.

const CONFIGS: &str = common::CONFIGURATIONS;

fn new_jobs(configurations: &[&str], name: &str) -> NewJobs {
    NewJobs::new(
        configurations.iter().map(|c| (*c).to_owned()).collect(),
        name,
        Secret::new("ec3-s3cret-token"),
    )
}

fn created(id: &str) -> String {
    format!(r#"{{"job":{{"id":"{id}","_links":{{"status":{{"href":"x"}}}}}}}}"#)
}

fn post_named(server: &mut Server, configuration: &str, name: &str, id: &str) -> mockito::Mock {
    server
        .mock("POST", JOBS)
        .match_body(Matcher::Json(serde_json::json!({
            "configurationId": configuration, "projectName": name,
            "ec3BearerToken": "ec3-s3cret-token"
        })))
        .with_status(201)
        .with_body(created(id))
        .expect(1)
        .create()
}

#[test]
fn several_configurations_without_a_placeholder_send_nothing() {
    let mut server = Server::new();
    let any = server.mock("GET", Matcher::Any).expect(0).create();
    let post = server.mock("POST", Matcher::Any).expect(0).create();
    let err = client(&server.url(), 60)
        .create_jobs(
            &new_jobs(&["cfg-a", "cfg-b"], "Campus"),
            Timeout::new(Duration::from_secs(10)).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap_err();
    assert!(err.is_usage(), "{err}");
    assert!(err.to_string().contains("{configuration}"), "{err}");
    any.assert();
    post.assert();
}

#[test]
fn placeholders_name_each_project_from_its_configuration_and_position() {
    let mut server = Server::new();
    let mut gets = Vec::new();
    for (id, name) in [("cfg-a", "Building A"), ("cfg-b", "Building\nB")] {
        gets.push(
            server
                .mock("GET", format!("{CONFIGS}/{id}").as_str())
                .with_body(
                    serde_json::json!({"configuration": {"id": id, "displayName": name}})
                        .to_string(),
                )
                .expect(1)
                .create(),
        );
    }
    let posts = [
        post_named(&mut server, "cfg-a", "Campus / Building A (1)", "job-1"),
        post_named(&mut server, "cfg-b", "Campus / Building B (2)", "job-2"),
        post_named(&mut server, "cfg-a", "Campus / Building A (3)", "job-3"),
    ];
    // Each id is reported as soon as its job exists (a signal may end the
    // run before create_jobs returns).
    let mut reported = Vec::new();
    let mut observer = |event: Event<'_>| {
        if let Event::Created { index, id } = event {
            reported.push((index, id.as_str().to_owned()));
        }
    };
    let created = client(&server.url(), 60)
        .create_jobs(
            &new_jobs(
                &["cfg-a", "cfg-b", "cfg-a"],
                "Campus / {configuration} ({n})",
            ),
            Timeout::new(Duration::from_secs(10)).unwrap(),
            &Cancel::new(),
            &mut observer,
        )
        .unwrap();
    let ids: Vec<_> = created
        .iter()
        .map(|r| r.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["job-1", "job-2", "job-3"]);
    let expected: Vec<(usize, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (i, (*id).to_owned()))
        .collect();
    assert_eq!(reported, expected);
    for m in gets.iter().chain(&posts) {
        m.assert();
    }
}

#[test]
fn two_jobs_with_the_same_name_are_refused_before_any_is_created() {
    let mut server = Server::new();
    let _get = server
        .mock("GET", Matcher::Regex(format!("^{CONFIGS}/cfg-")))
        .with_body(r#"{"configuration": {"id": "x", "displayName": "Same"}}"#)
        .create();
    let post = server.mock("POST", Matcher::Any).expect(0).create();
    let err = client(&server.url(), 60)
        .create_jobs(
            &new_jobs(&["cfg-a", "cfg-b"], "{configuration}"),
            Timeout::new(Duration::from_secs(10)).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap_err();
    assert!(err.is_usage(), "{err}");
    assert!(err.to_string().contains("'Same'"), "{err}");
    post.assert();
}

#[test]
fn a_create_that_may_have_arrived_is_never_repeated_and_the_others_go_on() {
    // The second create's connection is closed once the request is in: it
    // may have reached the service, so it must not be sent again. Requests
    // 0-2 read the three configurations.
    let server = TestServer::start(|request| match request.index {
        _ if is_configuration_read(request) => json(200, &unknown_form_configuration("c")),
        4 => Action::Close,
        n => json(201, &created(&format!("job-{n}"))),
    });
    let results = client(&server.url, 60)
        .create_jobs(
            &new_jobs(&["cfg-a", "cfg-b", "cfg-c"], "Tower {n}"),
            Timeout::new(Duration::from_secs(10)).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap().as_str(), "job-3");
    assert!(matches!(results[1], Err(Error::Network(_))), "{results:?}");
    assert_eq!(results[2].as_ref().unwrap().as_str(), "job-5");
    assert_eq!(
        server.requests(),
        6,
        "three configuration reads, three creates: none was repeated"
    );
}

#[test]
fn an_unknown_configuration_is_a_rejected_request_and_nothing_is_created() {
    let mut server = Server::new();
    let _get = server
        .mock("GET", format!("{CONFIGS}/nope").as_str())
        .with_status(404)
        .with_body(r#"{"error":{"code":"ConfigurationNotFound","message":"no such"}}"#)
        .create();
    let post = server.mock("POST", Matcher::Any).expect(0).create();
    let err = client(&server.url(), 60)
        .create_jobs(
            &new_jobs(&["nope"], "{configuration}"),
            Timeout::new(Duration::from_secs(10)).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { status: 404, .. }), "{err}");
    post.assert();
}

#[test]
fn a_configuration_of_the_wrong_form_stops_every_job_before_any_is_created() {
    // Each distinct configuration is read once; the service would accept
    // every job, but none is created.
    let extraction_based = serde_json::json!({"configuration": {
        "id": "cfg-x", "labels": [{"name": "Walls", "mappingId": "m-1"}]
    }});
    let report_based = serde_json::json!({"configuration": {
        "id": "cfg-r", "_links": {"report": {"href": "https://h/reports/r-9"}}
    }});
    for (extraction, setting, named) in [
        (None, "extraction:", "'cfg-x' is extraction-based"),
        (
            Some("x-1"),
            "extraction id:",
            "'cfg-r' is report-based (it uploads report 'r-9')",
        ),
    ] {
        let mut server = Server::new();
        let reads = [
            ("cfg-u", unknown_form_configuration("cfg-u")),
            ("cfg-x", extraction_based.to_string()),
            ("cfg-r", report_based.to_string()),
        ]
        .map(|(id, body)| {
            server
                .mock("GET", format!("{CONFIGS}/{id}").as_str())
                .with_body(body)
                .expect(1)
                .create()
        });
        let post = server
            .mock("POST", Matcher::Any)
            .with_status(201)
            .with_body(created("job-1"))
            .expect(0)
            .create();
        let mut jobs = new_jobs(&["cfg-u", "cfg-u", "cfg-x", "cfg-r"], "Tower {n}");
        if let Some(id) = extraction {
            jobs = jobs.extraction_id(id);
        }
        let err = client(&server.url(), 60)
            .create_jobs(
                &jobs,
                Timeout::new(Duration::from_secs(10)).unwrap(),
                &Cancel::new(),
                &mut (),
            )
            .unwrap_err();
        assert!(err.is_usage(), "{err}");
        let text = err.to_string();
        assert!(text.starts_with(setting), "{text}");
        assert!(text.contains(named), "{text}");
        assert!(text.ends_with("no job was created"), "{text}");
        post.assert();
        // Reading stops at the first configuration that refuses.
        reads[0].assert();
        reads[1].assert();
        if extraction.is_none() {
            assert!(!reads[2].matched(), "read after the refusal");
        } else {
            reads[2].assert();
        }
    }
}

#[test]
fn a_cancel_during_creation_keeps_the_ids_already_created() {
    let server = TestServer::start(|request| match request.index {
        _ if is_configuration_read(request) => json(200, &unknown_form_configuration("c")),
        3 => json(201, &created("job-3")),
        _ => Action::Hang,
    });
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        trigger.cancel();
    });
    let results = client(&server.url, 60)
        .create_jobs(
            &new_jobs(&["cfg-a", "cfg-b", "cfg-c"], "Tower {n}"),
            Timeout::new(Duration::from_secs(600)).unwrap(),
            &cancel,
            &mut (),
        )
        .unwrap();
    canceller.join().unwrap();
    assert_eq!(results[0].as_ref().unwrap().as_str(), "job-3");
    assert!(matches!(results[1], Err(Error::Cancelled)), "{results:?}");
    assert!(matches!(results[2], Err(Error::Cancelled)), "{results:?}");
    assert_eq!(
        server.requests(),
        5,
        "three configuration reads, two creates: nothing sent after the cancel"
    );
}

#[test]
fn one_token_serves_every_job() {
    let (server, log) = server(|id, _| {
        if id.is_empty() {
            json(
                200,
                r#"{"access_token":"issued-token-abc","expires_in":3600,"token_type":"Bearer"}"#,
            )
        } else {
            succeeded(id)
        }
    });
    let config = Config::new(Credentials::client_credentials("app", "s3cret-value").unwrap())
        .api_url(&server.url)
        .authority(&server.url);
    let mut issued = 0;
    let outcomes = Client::new(config)
        .unwrap()
        .wait_all(
            &ids(&["a", "b", "c", "d", "e"]),
            &options(10_000, 20),
            &Cancel::new(),
            &mut |event: Event<'_>| {
                if matches!(event, Event::TokenIssued(_)) {
                    issued += 1;
                }
            },
        )
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| status(o) == Some(JobStatus::Succeeded))
    );
    let tokens = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/connect/token")
        .count();
    assert_eq!((tokens, issued), (1, 1));
    assert_eq!(server.accepts(), 1, "token and polls on one connection");
}
