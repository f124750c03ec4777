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
