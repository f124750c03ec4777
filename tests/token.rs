//! Client credentials: calls that start together on a fresh client share one
//! token fetch (the CLI's parallel queries and the C library's threads alike).

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ec3_gate::{Cancel, Client, Config, Credentials, JobId, Timeout};
use mockito::Server;

#[test]
fn threads_starting_together_fetch_one_token() {
    let mut server = Server::new();
    let token = server
        .mock("POST", "/connect/token")
        // Slow enough that every thread asks while the first fetch is in flight.
        .with_body_from_request(|_| {
            thread::sleep(Duration::from_millis(300));
            br#"{"access_token":"shared-t0ken","expires_in":3600,"token_type":"Bearer"}"#.to_vec()
        })
        .expect(1)
        .create();
    let jobs = server
        .mock("GET", "/insights/carbon-calculation/ec3/jobs/j1")
        .match_header("authorization", "Bearer shared-t0ken")
        .with_body(r#"{"job":{"status":"Running","message":null,"_links":{}}}"#)
        .expect(4)
        .create();
    let config = Config::new(Credentials::client_credentials("c-app", "c-s3cret").unwrap())
        .api_url(server.url())
        .authority(server.url());
    let client = Arc::new(Client::new(config).unwrap());
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (client, start) = (Arc::clone(&client), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let id = JobId::new("j1").unwrap();
                client.job_status(&id, Timeout::default(), &Cancel::new(), &mut ())
            })
        })
        .collect();
    for t in threads {
        let job = t.join().unwrap().unwrap();
        assert_eq!(job.status.as_str(), "Running");
    }
    token.assert();
    jobs.assert();
}

#[test]
fn a_call_waiting_for_another_fetch_can_be_cancelled() {
    let mut server = Server::new();
    server
        .mock("POST", "/connect/token")
        .with_body_from_request(|_| {
            thread::sleep(Duration::from_millis(1500));
            br#"{"access_token":"slow-t0ken","expires_in":3600}"#.to_vec()
        })
        .create();
    server
        .mock("GET", "/insights/carbon-calculation/ec3/jobs/j1")
        .with_body(r#"{"job":{"status":"Running","message":null,"_links":{}}}"#)
        .create();
    let config = Config::new(Credentials::client_credentials("c-app", "c-s3cret").unwrap())
        .api_url(server.url())
        .authority(server.url());
    let client = Arc::new(Client::new(config).unwrap());
    let id = JobId::new("j1").unwrap();
    let fetcher = {
        let (client, id) = (Arc::clone(&client), id.clone());
        thread::spawn(move || client.job_status(&id, Timeout::default(), &Cancel::new(), &mut ()))
    };
    // Let the first call start its fetch, then cancel a second one waiting.
    thread::sleep(Duration::from_millis(300));
    let cancel = Cancel::new();
    let trigger = {
        let cancel = cancel.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        })
    };
    let waiting = client.job_status(&id, Timeout::default(), &cancel, &mut ());
    assert!(
        matches!(waiting, Err(ec3_gate::Error::Cancelled)),
        "{waiting:?}"
    );
    trigger.join().unwrap();
    assert!(fetcher.join().unwrap().is_ok());
}
