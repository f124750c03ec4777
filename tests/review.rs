//! Issue 21's defects, through the core's API: one test per item, each
//! against a scripted server or mockito, asserting what the caller sees and
//! what the server was sent.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{JOBS, TOKEN, job_json};
use ec3_gate::{Cancel, Client, Config, Credentials, Error, JobId, Timeout, WaitOptions};
use ec3_sim::scripted::{Action, TestServer, json, response};

/// Long enough that a call which ends does so because of its cancel, never
/// its deadline.
const LONG: Duration = Duration::from_secs(120);
/// How long a test waits for a call that must end now (a cancel's promptness
/// is measured against [`LONG`], the deadline it would otherwise reach).
const PROMPT: Duration = Duration::from_secs(20);

fn client(url: &str) -> Arc<Client> {
    let config = Config::new(Credentials::access_token(TOKEN).unwrap()).api_url(url);
    Arc::new(Client::new(config).unwrap())
}

/// A server answering `script(path)`, and the paths it was asked, in order.
fn server(
    script: impl Fn(&str) -> Action + Send + Sync + 'static,
) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let server = TestServer::start(move |request| {
        let path = request.path().to_owned();
        seen.lock().unwrap().push(path.clone());
        script(&path)
    });
    (server, log)
}

fn asked(log: &Mutex<Vec<String>>, id: &str) -> usize {
    let path = format!("{JOBS}/{id}");
    log.lock().unwrap().iter().filter(|p| **p == path).count()
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < PROMPT, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Item 1: one call's cancel ends that call at once, whatever other calls
/// on the client did before, and no other call in flight notices.
#[test]
fn a_cancel_ends_its_own_call_after_another_call_was_cancelled() {
    let slow = job_json("Succeeded", None, None);
    let (server, log) = server(move |path| {
        if path.contains("/stall-") {
            Action::Hang
        } else {
            let bytes = response(
                200,
                &[("Content-Type", "application/json")],
                slow.as_bytes(),
            );
            let head = bytes.len() - slow.len();
            Action::Trickle {
                bytes,
                at_once: head,
                every: Duration::from_millis(40),
            }
        }
    });
    let client = client(&server.url);
    let (cancel_a, cancel_b) = (Cancel::new(), Cancel::new());

    let (tx_a, rx_a) = mpsc::channel();
    let (c, cancel) = (client.clone(), cancel_a.clone());
    std::thread::spawn(move || {
        let options = WaitOptions::new(LONG, Duration::from_secs(1)).unwrap();
        let _ = tx_a.send(c.wait(&JobId::new("stall-1").unwrap(), &options, &cancel, &mut ()));
    });
    let (tx_b, rx_b) = mpsc::channel();
    let (c, cancel) = (client.clone(), cancel_b.clone());
    std::thread::spawn(move || {
        let timeout = Timeout::new(LONG).unwrap();
        let _ = tx_b.send(c.job_status(&JobId::new("stall-2").unwrap(), timeout, &cancel, &mut ()));
    });
    until("both stalled requests arrive", || {
        asked(&log, "stall-1") == 1 && asked(&log, "stall-2") == 1
    });
    // A third call, in flight while the others are cancelled: its answer
    // trickles in over about two seconds.
    let (tx_c, rx_c) = mpsc::channel();
    let c = client.clone();
    std::thread::spawn(move || {
        let timeout = Timeout::new(LONG).unwrap();
        let _ = tx_c.send(c.job_status(
            &JobId::new("slow").unwrap(),
            timeout,
            &Cancel::new(),
            &mut (),
        ));
    });
    until("the slow request arrives", || asked(&log, "slow") == 1);

    cancel_b.cancel();
    let b = rx_b.recv_timeout(PROMPT).expect("B's cancel ends B's call");
    assert!(matches!(b, Err(Error::Cancelled)), "{b:?}");
    // Were B's cancel to cut A's request too, A's retry would be in
    // flight by now (its first backoff is shorter than this).
    let start = std::time::Instant::now();
    while asked(&log, "stall-1") < 2 && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    cancel_a.cancel();
    let a = rx_a
        .recv_timeout(PROMPT)
        .expect("A's cancel ends A's call, although B was cancelled before");
    assert!(matches!(a, Err(Error::Cancelled)), "{a:?}");
    let c = rx_c.recv_timeout(LONG).expect("the third call ends");
    assert!(
        c.is_ok(),
        "a call in flight is not failed by others' cancels: {c:?}"
    );

    // Nobody else's request was cut and retried.
    assert_eq!(asked(&log, "stall-1"), 1, "{:?}", log.lock().unwrap());
    assert_eq!(asked(&log, "slow"), 1, "{:?}", log.lock().unwrap());
    // The client goes on after cancels, on the same kept-alive pool.
    let done = client
        .job_status(
            &JobId::new("after").unwrap(),
            Timeout::new(LONG).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap();
    assert_eq!(done.status, ec3_gate::JobStatus::Succeeded);
}

/// Item 3: a next-page link with a multi-byte character across the API
/// root's length is refused (it leaves the root), never a panic.
#[test]
fn a_next_link_with_a_multi_byte_character_is_refused_not_a_panic() {
    let url = Arc::new(Mutex::new(String::new()));
    let base = url.clone();
    let (server, _log) = server(move |_| {
        // `http://127.0.0.1:PORT` then `é` where the root's `/` would be.
        let next = format!("{}é/insights", base.lock().unwrap());
        let body = serde_json::json!({"configurations": [], "_links": {"next": {"href": next}}});
        json(200, &body.to_string())
    });
    *url.lock().unwrap() = server.url.clone();
    let client = client(&server.url);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.configurations(
            "itwin-1",
            Timeout::new(LONG).unwrap(),
            &Cancel::new(),
            &mut (),
        )
    }));
    let result = result.expect("configurations() does not panic");
    match result {
        Err(Error::InvalidResponse(why)) => assert!(why.contains("leaves the API root"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Item 2: an authority that caches tokens hands back, at the early
/// renewal, the token it issued before; it is sent as issued, never as the
/// redacted `***`.
#[test]
fn a_renewed_token_the_client_knows_is_sent_as_issued() {
    const ISSUED: &str = "cached-t0ken-from-the-authority";
    let headers = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = headers.clone();
    let server = TestServer::start(move |request| {
        if request.path().starts_with("/connect/token") {
            // Two seconds: renewed after one.
            let body = serde_json::json!({"access_token": ISSUED, "expires_in": 2, "token_type": "Bearer"});
            return json(200, &body.to_string());
        }
        let auth = request.header("authorization").unwrap_or("").to_owned();
        let ok = auth == format!("Bearer {ISSUED}");
        seen.lock().unwrap().push(auth);
        if ok {
            json(200, &job_json("Succeeded", None, None))
        } else {
            json(401, r#"{"error":{"code":"InvalidToken"}}"#)
        }
    });
    let config = Config::new(Credentials::client_credentials("c-app", "c-s3cret-value").unwrap())
        .api_url(&server.url)
        .authority(&server.url);
    let client = Client::new(config).unwrap();
    let status = |client: &Client| {
        client.job_status(
            &JobId::new("job-1").unwrap(),
            Timeout::new(LONG).unwrap(),
            &Cancel::new(),
            &mut (),
        )
    };
    status(&client).expect("first call, first token");
    std::thread::sleep(Duration::from_millis(1500));
    let second = status(&client);
    let headers = headers.lock().unwrap().clone();
    assert!(
        headers.iter().all(|h| *h == format!("Bearer {ISSUED}")),
        "every request carries the token as issued: {headers:?}"
    );
    second.expect("the renewed (same) token is accepted");
}

/// Item 4, redaction bypass: a number no generic JSON reader takes (`1e400`)
/// kept the redactor from decoding the answer, but the job's reader decoded
/// a `\u`-escaped secret into the message. The decoded texts are scrubbed.
#[test]
fn a_secret_only_decoding_reveals_is_redacted_from_the_job() {
    // The token with its first letter escaped, as any JSON writer may.
    let escaped = format!("\\u{:04x}{}", TOKEN.as_bytes()[0], &TOKEN[1..]);
    let body = format!(
        r#"{{"job":{{"status":"Failed","message":"token {escaped} refused","_links":{{"ec3Project":{{"href":"https://x.test/{escaped}"}}}}}},"n":1e400}}"#
    );
    let (server, _log) = server(move |_| json(200, &body));
    let client = client(&server.url);
    let job = client
        .job_status(
            &JobId::new("job-1").unwrap(),
            Timeout::new(LONG).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap();
    let message = job.message.clone().unwrap_or_default();
    assert!(!message.contains(TOKEN), "{message}");
    assert_eq!(message, "token *** refused");
    assert_eq!(job.ec3_project_url.as_deref(), Some("https://x.test/***"));
}

/// Item 4, fail fast: a malformed status line is final at once, named;
/// it was retried until the deadline.
#[test]
fn a_malformed_status_line_is_final_at_once() {
    let (server, log) =
        server(|_| Action::Raw(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n".to_vec()));
    let client = client(&server.url);
    let error = client
        .job_status(
            &JobId::new("job-1").unwrap(),
            Timeout::new(Duration::from_secs(8)).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap_err();
    assert_eq!(asked(&log, "job-1"), 1, "not retried");
    let Error::Network(net) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        net.persistence(),
        ec3_gate::Persistence::Permanent,
        "{error}"
    );
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
}

/// Item 4, re-entrance: an observer (a C progress callback) that calls the
/// client while the call it observes fetches a token; the inner call waited
/// for that fetch, which waited for the observer, until its timeout.
#[test]
fn a_call_from_an_observer_during_a_token_fetch_does_not_wait_for_itself() {
    let token_requests = Arc::new(Mutex::new(0));
    let counter = token_requests.clone();
    let server = TestServer::start(move |request| {
        if request.path().starts_with("/connect/token") {
            let mut n = counter.lock().unwrap();
            *n += 1;
            if *n == 1 {
                // The first fetch is retried: the observer hears `Retrying`.
                return Action::Raw(response(503, &[("Retry-After", "0")], b""));
            }
            let body =
                serde_json::json!({"access_token": "issued-t0ken-value", "expires_in": 3600});
            return json(200, &body.to_string());
        }
        json(200, &job_json("Succeeded", None, None))
    });
    let config = Config::new(Credentials::client_credentials("c-app", "c-s3cret-value").unwrap())
        .api_url(&server.url)
        .authority(&server.url);
    let client = Client::new(config).unwrap();
    let mut inner = Vec::new();
    let mut observer = |event: ec3_gate::Event<'_>| {
        if matches!(event, ec3_gate::Event::Retrying { .. }) && inner.is_empty() {
            inner.push(client.job_status(
                &JobId::new("inner").unwrap(),
                Timeout::new(Duration::from_secs(5)).unwrap(),
                &Cancel::new(),
                &mut (),
            ));
        }
    };
    let outer = client.job_status(
        &JobId::new("outer").unwrap(),
        Timeout::new(LONG).unwrap(),
        &Cancel::new(),
        &mut observer,
    );
    assert_eq!(inner.len(), 1, "the observer heard the token fetch's retry");
    let inner = inner.pop().unwrap();
    assert!(
        inner.is_ok(),
        "the inner call fetched its own token: {inner:?}"
    );
    assert!(outer.is_ok(), "{outer:?}");
}

/// Item 4, redirects: each hop is a request of its own and takes a budget
/// slot; ureq followed up to five redirects inside one slot.
#[test]
fn every_redirect_hop_takes_a_budget_slot() {
    let (server, log) = server(|path| {
        // /hop-1 -> /hop-2 -> /hop-3 -> /hop-4 (the job).
        let next = match path.rsplit('/').next().unwrap_or("") {
            "hop-1" => "hop-2",
            "hop-2" => "hop-3",
            "hop-3" => "hop-4",
            _ => return json(200, &job_json("Succeeded", None, None)),
        };
        Action::Raw(response(
            302,
            &[("Location", &format!("{JOBS}/{next}"))],
            b"",
        ))
    });
    let config = Config::new(Credentials::access_token(TOKEN).unwrap())
        .api_url(&server.url)
        .max_requests_per_minute(2);
    let client = Client::new(config).unwrap();
    let result = client.job_status(
        &JobId::new("hop-1").unwrap(),
        Timeout::new(Duration::from_secs(5)).unwrap(),
        &Cancel::new(),
        &mut (),
    );
    let sent = log.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "two slots, two requests: {sent:?}");
    assert!(
        result.is_err(),
        "the budget allows no third hop in time: {result:?}"
    );
}

/// Item 4, redaction bypass, in a configuration list: the same decoded
/// texts, scrubbed.
#[test]
fn a_secret_only_decoding_reveals_is_redacted_from_configurations() {
    let escaped = format!("\\u{:04x}{}", TOKEN.as_bytes()[0], &TOKEN[1..]);
    let body = format!(
        r#"{{"configurations":[{{"id":"c1","displayName":"named {escaped}","description":"{escaped}"}}],"n":1e400}}"#
    );
    let (server, _log) = server(move |_| json(200, &body));
    let client = client(&server.url);
    let list = client
        .configurations(
            "itwin-1",
            Timeout::new(LONG).unwrap(),
            &Cancel::new(),
            &mut (),
        )
        .unwrap();
    assert_eq!(list[0].display_name.as_deref(), Some("named ***"));
    assert_eq!(list[0].description.as_deref(), Some("***"));
}
