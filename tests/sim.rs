//! Tests of the `ec3-sim` example server. Its source is compiled into this test as a module
//! (Cargo gives tests no path to example binaries), started on a free loopback port in a
//! thread, and spoken to over raw TCP, so the HTTP framing itself is checked: keep-alive,
//! `Content-Length`, `Connection: close`, status lines. No proxy can get in the way.

#[allow(dead_code)] // `main` and its helpers belong to the example binary.
#[path = "../examples/ec3-sim.rs"]
mod sim;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

const JOBS: &str = "/insights/carbon-calculation/ec3/jobs";
const CONFIGS: &str = "/insights/carbon-calculation/ec3/configurations";
const BEARER: &str = "Authorization: Bearer test-token";

/// Starts a simulator on a free port; returns its base URL.
fn start(running_polls: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = sim::base_url(listener.local_addr().unwrap());
    let state = Arc::new(sim::Sim::new(base.clone(), running_polls, false));
    thread::spawn(move || sim::serve(listener, state));
    base
}

/// One client connection.
struct Conn(BufReader<TcpStream>);

/// One parsed response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    text: String,
    json: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers.find_map(|(n, v)| n.eq_ignore_ascii_case(name).then_some(v.as_str()))
    }
}

impl Conn {
    fn open(base: &str) -> Conn {
        let stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn(BufReader::new(stream))
    }

    /// Sends a request with the given extra header lines and body; reads the response.
    fn request(&mut self, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: sim\r\n");
        for header in headers {
            raw += &format!("{header}\r\n");
        }
        raw += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.send(raw.as_bytes())
    }

    fn send(&mut self, raw: &[u8]) -> Reply {
        self.0.get_mut().write_all(raw).unwrap();
        let mut line = String::new();
        self.0.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.0.read_line(&mut line).unwrap();
            match line.trim_end().split_once(':') {
                Some((name, value)) => headers.push((name.into(), value.trim().into())),
                None => break,
            }
        }
        let mut reply = Reply {
            status,
            headers,
            text: String::new(),
            json: Value::Null,
        };
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let length = reply.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; length];
        self.0.read_exact(&mut body).unwrap();
        reply.text = String::from_utf8(body).unwrap();
        reply.json = serde_json::from_str(&reply.text).unwrap();
        reply
    }

    fn get(&mut self, path: &str, headers: &[&str]) -> Reply {
        self.request("GET", path, headers, "")
    }

    /// Whether the server has closed the connection.
    fn closed(&mut self) -> bool {
        matches!(self.0.read(&mut [0; 1]), Ok(0))
    }
}

fn poll_statuses(conn: &mut Conn, id: &str, polls: usize) -> Vec<String> {
    let path = format!("{JOBS}/{id}");
    let status = |reply: Reply| reply.json["job"]["status"].as_str().unwrap().to_string();
    (0..polls)
        .map(|_| status(conn.get(&path, &[BEARER])))
        .collect()
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    for _ in 0..3 {
        assert_eq!(conn.get(&format!("{JOBS}/ok-1"), &[BEARER]).status, 200);
    }
    let stats = conn.get("/__stats", &[]).json;
    assert_eq!(stats["connections"], 1);
    assert_eq!(stats["requests"], 4);
    assert_eq!(stats["jobs"]["ok-1"]["polls"], 3);

    let reply = conn.get("/__stats", &["Connection: close"]);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(conn.closed());
}

#[test]
fn ok_job_walks_to_succeeded_and_counts_requests_after_terminal() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let walk = poll_statuses(&mut conn, "ok-walk", 5);
    assert_eq!(
        walk,
        ["Queued", "Running", "Running", "Succeeded", "Succeeded"]
    );
    let reply = conn.get(&format!("{JOBS}/ok-walk"), &[BEARER]);
    let href = "https://buildingtransparency.org/ec3/buildings/ok-walk?view=custom";
    let expected = json!({ "job": {
        "status": "Succeeded", "message": null, "_links": { "ec3Project": { "href": href } }
    } });
    assert_eq!(reply.json, expected);
    let stats = conn.get("/__stats", &[]).json;
    assert_eq!(
        stats["jobs"]["ok-walk"],
        json!({ "polls": 6, "requestsAfterTerminal": 2 })
    );
    assert_eq!(stats["requestsAfterTerminal"], 2);
}

#[test]
fn fail_job_fails_with_a_multiline_message_and_slow_job_never_ends() {
    let base = start(0);
    let mut conn = Conn::open(&base);
    assert_eq!(poll_statuses(&mut conn, "fail-1", 2), ["Queued", "Failed"]);
    let reply = conn.get(&format!("{JOBS}/fail-1"), &[BEARER]);
    let message = "EC3 rejected the report:\nproject name already exists";
    let expected = json!({ "job": { "status": "Failed", "message": message, "_links": {} } });
    assert_eq!(reply.json, expected);

    let slow = poll_statuses(&mut conn, "slow-1", 20);
    assert_eq!(slow[0], "Queued");
    assert!(slow[1..].iter().all(|status| status == "Running"));
}

#[test]
fn auth_and_not_found_errors_have_the_itwin_shape() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let path = format!("{JOBS}/ok-1");
    for headers in [
        &[][..],
        &["Authorization: Bearer "],
        &["Authorization: Basic YTpi"],
    ] {
        let reply = conn.get(&path, headers);
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json["error"]["code"], "HeaderNotFound");
    }
    let reply = conn.get(&path, &["Authorization: Bearer denied"]);
    assert_eq!(
        (reply.status, &reply.json["error"]["code"]),
        (403, &json!("InsufficientPermissions"))
    );

    let reply = conn.get(&format!("{JOBS}/nope"), &[BEARER]);
    let message = "Requested EC3 Job is not available.";
    let expected =
        json!({ "error": { "code": "JobNotFound", "message": message, "target": "jobId" } });
    assert_eq!((reply.status, reply.json), (404, expected));
    assert_eq!(conn.get("/__stats", &[]).json["jobs"]["nope"]["polls"], 1);
}

#[test]
fn created_jobs_walk_and_the_ec3_token_is_never_echoed() {
    let base = start(1);
    let mut conn = Conn::open(&base);
    let secret = "EC3-SECRET-VALUE";
    let body = json!({ "configurationId": "cfg-1", "projectName": "P", "ec3BearerToken": secret });
    let reply = conn.request("POST", JOBS, &[BEARER], &body.to_string());
    let href = format!("{base}{JOBS}/sim-1");
    let expected = json!({ "job": { "id": "sim-1", "_links": { "status": { "href": href } } } });
    assert_eq!((reply.status, reply.json), (201, expected));
    assert_eq!(
        poll_statuses(&mut conn, "sim-1", 3),
        ["Queued", "Running", "Succeeded"]
    );

    let body = json!({
        "configurationId": "fail-cfg", "projectName": "P", "ec3BearerToken": secret,
        "extractionId": "e-1"
    });
    let reply = conn.request("POST", JOBS, &[BEARER], &body.to_string());
    assert_eq!(reply.json["job"]["id"], "fail-sim-2");
    assert_eq!(
        poll_statuses(&mut conn, "fail-sim-2", 3),
        ["Queued", "Running", "Failed"]
    );
    assert!(!conn.get("/__stats", &[]).text.contains(secret));
}

#[test]
fn bad_job_requests_are_refused_with_422() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let cases = [
        ("not json", None),
        ("[1]", None),
        (
            r#"{"projectName":"P","ec3BearerToken":"t"}"#,
            Some("configurationId"),
        ),
        (
            r#"{"configurationId":"c","projectName":"","ec3BearerToken":"t"}"#,
            Some("projectName"),
        ),
        (
            r#"{"configurationId":"c","projectName":"P","ec3BearerToken":1}"#,
            Some("ec3BearerToken"),
        ),
        (
            r#"{"configurationId":"c","projectName":"P","ec3BearerToken":"t","extractionId":null}"#,
            Some("extractionId"),
        ),
    ];
    for (body, target) in cases {
        let reply = conn.request("POST", JOBS, &[BEARER], body);
        assert_eq!(reply.status, 422, "{body}");
        assert_eq!(reply.json["error"]["code"], "InvalidEC3JobRequest");
        assert_eq!(reply.json["error"]["target"].as_str(), target, "{body}");
    }
    assert_eq!(conn.request("POST", JOBS, &[], "{}").status, 401);
}

#[test]
fn configurations_come_in_two_pages() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let first = conn.get(&format!("{CONFIGS}?iTwinId=tw-1"), &[BEARER]).json;
    let ids: Vec<&Value> = first["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, ["cfg-1", "cfg-2"]);
    assert_eq!(first["configurations"][0]["displayName"], "Tower A");
    assert_eq!(
        first["configurations"][0]["createdOn"],
        "2026-01-01T00:00:00Z"
    );
    let next = first["_links"]["next"]["href"].as_str().unwrap();
    assert_eq!(
        next,
        format!("{base}{CONFIGS}?iTwinId=tw-1&$continuationToken=p2")
    );

    let second = conn.get(next.trim_start_matches(&base), &[BEARER]).json;
    assert_eq!(second["configurations"].as_array().unwrap().len(), 1);
    assert_eq!(second["configurations"][0]["id"], "cfg-3");
    assert!(second["_links"].get("next").is_none());

    let reply = conn.get(CONFIGS, &[BEARER]);
    assert_eq!(
        (reply.status, &reply.json["error"]["target"]),
        (422, &json!("iTwinId"))
    );
    assert_eq!(conn.get(&format!("{CONFIGS}?iTwinId=x"), &[]).status, 401);
}

#[test]
fn token_endpoint_grants_client_credentials() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let form = "grant_type=client_credentials&scope=itwin-platform";
    let good = "Authorization: Basic YXBwOnNlY3JldA=="; // app:secret
    for n in 1..=2 {
        let reply = conn.request("POST", "/connect/token", &[good], form);
        let token = format!("sim-token-{n}");
        let expected = json!({ "access_token": token, "expires_in": 3600, "token_type": "Bearer" });
        assert_eq!((reply.status, reply.json), (200, expected));
    }
    let bad_client = "Authorization: Basic YmFkLWNsaWVudDp4"; // bad-client:x
    for headers in [&[bad_client][..], &[], &["Authorization: Basic !!"]] {
        let reply = conn.request("POST", "/connect/token", headers, form);
        assert_eq!(
            (reply.status, reply.json),
            (400, json!({ "error": "invalid_client" }))
        );
    }
    let reply = conn.request("POST", "/connect/token", &[good], "grant_type=password");
    assert_eq!(
        (reply.status, reply.json),
        (400, json!({ "error": "unsupported_grant_type" }))
    );
}

#[test]
fn protocol_errors_are_answered_not_panicked_on() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    let reply = conn.request("DELETE", &format!("{JOBS}/ok-1"), &[BEARER], "");
    assert_eq!((reply.status, reply.header("allow")), (405, Some("GET")));
    assert_eq!(conn.get("/elsewhere", &[]).status, 404);
    assert_eq!(conn.get(&format!("{JOBS}/a/b"), &[BEARER]).status, 404);

    let huge = format!("POST {JOBS} HTTP/1.1\r\n{BEARER}\r\nContent-Length: 1048577\r\n\r\n");
    let reply = conn.send(huge.as_bytes());
    assert_eq!(
        (reply.status, reply.header("connection")),
        (413, Some("close"))
    );
    assert!(conn.closed());

    let garbage: [&[u8]; 4] = [
        b"hello\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"GET /__stats HTTP/1.1\r\nno colon\r\n\r\n",
        b"POST /__reset HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ];
    for raw in garbage {
        let mut conn = Conn::open(&base);
        assert_eq!(
            conn.send(raw).status,
            400,
            "{}",
            String::from_utf8_lossy(raw)
        );
        assert!(conn.closed());
    }
    assert_eq!(Conn::open(&base).get("/__stats", &[]).status, 200);
}

#[test]
fn reset_zeroes_counters_and_jobs() {
    let base = start(2);
    let mut conn = Conn::open(&base);
    poll_statuses(&mut conn, "ok-1", 4);
    assert_eq!(conn.request("POST", "/__reset", &[], "").status, 200);
    let stats = conn.get("/__stats", &[]).json;
    let expected =
        json!({ "connections": 0, "requests": 1, "jobs": {}, "requestsAfterTerminal": 0 });
    assert_eq!(stats, expected);
    assert_eq!(poll_statuses(&mut conn, "ok-1", 1), ["Queued"]);
}

#[test]
fn arguments_are_parsed_and_checked() {
    let parse = |args: &[&str]| sim::parse_args(args.iter().map(|arg| arg.to_string()));
    let defaults = parse(&[]).unwrap().unwrap();
    assert_eq!(defaults.addr.to_string(), "127.0.0.1:0");
    assert_eq!((defaults.running_polls, defaults.url_file), (2, None));

    let args = parse(&[
        "--addr=0.0.0.0:8080",
        "--running-polls",
        "5",
        "--url-file",
        "u",
    ]);
    let args = args.unwrap().unwrap();
    assert_eq!(args.addr.to_string(), "0.0.0.0:8080");
    assert_eq!(
        (args.running_polls, args.url_file.as_deref()),
        (5, Some("u"))
    );
    assert_eq!(sim::base_url(args.addr), "http://127.0.0.1:8080");
    assert_eq!(parse(&["--help"]), Ok(None));

    for bad in [
        &["--nope"][..],
        &["--addr"],
        &["--addr", "localhost"],
        &["--running-polls", "-1"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn url_file_is_written_whole() {
    let dir = std::env::temp_dir().join(format!("ec3-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("url");
    sim::write_atomically(path.to_str().unwrap(), "http://127.0.0.1:1\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "http://127.0.0.1:1\n"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file is left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
