//! Tests of the simulated service, started in-process on a free loopback port and spoken to
//! over raw TCP, so the HTTP framing itself is checked: keep-alive, `Content-Length`,
//! `Connection: close`, status lines. No proxy can get in the way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ec3_sim::cli::{USAGE, parse_args, write_atomically};
use ec3_sim::{Options, RateLimit, Sim, base_url};
use serde_json::{Value, json};

const JOBS: &str = "/insights/carbon-calculation/ec3/jobs";
const CONFIGS: &str = "/insights/carbon-calculation/ec3/configurations";
const BEARER: &str = "Authorization: Bearer test-token";
const JSON: &str = "Content-Type: application/json";

/// Starts a simulator on a free port.
fn start(running_polls: u64) -> Sim {
    Sim::start(Options {
        running_polls,
        ..Options::default()
    })
    .unwrap()
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
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
    let sim = start(0);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
    let sim = start(1);
    let base = sim.url();
    let mut conn = Conn::open(base);
    let secret = "EC3-SECRET-VALUE";
    let body = json!({ "configurationId": "cfg-1", "projectName": "P", "ec3BearerToken": secret });
    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body.to_string());
    let href = format!("{base}{JOBS}/ok-cfg-1");
    let expected = json!({ "job": { "id": "ok-cfg-1", "_links": { "status": { "href": href } } } });
    assert_eq!((reply.status, reply.json), (201, expected));
    assert_eq!(
        poll_statuses(&mut conn, "ok-cfg-1", 3),
        ["Queued", "Running", "Succeeded"]
    );

    let body = json!({
        "configurationId": "fail-cfg", "projectName": "P", "ec3BearerToken": secret,
        "extractionId": "e-1"
    });
    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body.to_string());
    assert_eq!(reply.json["job"]["id"], "fail-fail-cfg");
    assert_eq!(
        poll_statuses(&mut conn, "fail-fail-cfg", 3),
        ["Queued", "Running", "Failed"]
    );
    assert!(!conn.get("/__stats", &[]).text.contains(secret));
    let created = sim.created_requests();
    assert_eq!(created.len(), 2);
    assert_eq!(created[1]["extractionId"], "e-1");
    assert_eq!(sim.stats().created, ["ok-cfg-1", "fail-fail-cfg"]);
}

#[test]
fn a_created_job_lasts_the_time_its_configuration_id_says_and_its_notice_is_timed() {
    let sim = start(1);
    let mut conn = Conn::open(sim.url());
    let body = json!({
        "configurationId": "ok-ms1000-timed-ext", "projectName": "P", "ec3BearerToken": "t",
        "extractionId": "ok-x1"
    });
    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body.to_string());
    let id = "ok-ok-ms1000-timed-ext";
    assert_eq!(
        (reply.status, reply.json["job"]["id"].as_str()),
        (201, Some(id))
    );
    // By time, not by polls: still Running after more polls than `running_polls` allows.
    assert_eq!(
        poll_statuses(&mut conn, id, 4),
        ["Queued", "Running", "Running", "Running"]
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(poll_statuses(&mut conn, id, 1), ["Succeeded"]);
    let noticed = sim.stats().notice_delays[id];
    assert!(noticed < Duration::from_secs(5), "{noticed:?}");
}

#[test]
fn bad_job_requests_are_refused_with_422() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
        (
            r#"{"configurationId":"c","projectName":"P","ec3BearerToken":"t","extra":"x"}"#,
            None,
        ),
    ];
    for (body, target) in cases {
        let reply = conn.request("POST", JOBS, &[BEARER, JSON], body);
        assert_eq!(reply.status, 422, "{body}");
        assert_eq!(reply.json["error"]["code"], "InvalidEC3JobRequest");
        assert_eq!(reply.json["error"]["target"].as_str(), target, "{body}");
    }
    assert_eq!(conn.request("POST", JOBS, &[], "{}").status, 401);
    let form = r#"{"configurationId":"c","projectName":"P","ec3BearerToken":"t"}"#;
    let reply = conn.request("POST", JOBS, &[BEARER, "Content-Type: text/plain"], form);
    assert_eq!(reply.status, 415);
    assert!(sim.stats().created.is_empty());
}

#[test]
fn configurations_come_in_two_pages() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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

    let second = conn.get(next.trim_start_matches(base), &[BEARER]).json;
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
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
            (reply.status, &reply.json["error"]),
            (401, &json!("invalid_client"))
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
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
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
        let mut conn = Conn::open(base);
        assert_eq!(
            conn.send(raw).status,
            400,
            "{}",
            String::from_utf8_lossy(raw)
        );
        assert!(conn.closed());
    }
    assert_eq!(Conn::open(base).get("/__stats", &[]).status, 200);
}

#[test]
fn reset_zeroes_counters_and_jobs() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
    poll_statuses(&mut conn, "ok-1", 4);
    assert_eq!(conn.request("POST", "/__reset", &[], "").status, 200);
    let stats = conn.get("/__stats", &[]).json;
    for zero in [
        "connections",
        "requestsAfterTerminal",
        "tokensIssued",
        "jobsCreated",
    ] {
        assert_eq!(stats[zero], 0, "{zero}");
    }
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["jobs"], json!({}));
    assert_eq!(stats["routes"], json!({ "GET /__stats": 1 }));
    assert_eq!(poll_statuses(&mut conn, "ok-1", 1), ["Queued"]);
}

#[test]
fn arguments_are_parsed_and_checked() {
    let parse = |args: &[&str]| parse_args(args.iter().map(|arg| arg.to_string()));
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
    assert_eq!(base_url(args.addr), "http://127.0.0.1:8080");
    assert_eq!(parse(&["--help"]), Ok(None));
    // The help says what the limit counts: the requests of both APIs.
    let rate_limit = USAGE
        .split("\n  --")
        .find(|o| o.starts_with("rate-limit"))
        .unwrap();
    assert!(
        rate_limit.contains("API requests (EC3 and Grouping & Mapping together)"),
        "{rate_limit}"
    );
    assert!(!rate_limit.contains("EC3 requests"), "{rate_limit}");
    let args = parse(&["--tls", "ca.pem"]).unwrap().unwrap();
    assert_eq!(args.tls.as_deref(), Some("ca.pem"));
    let args = parse(&["--rate-limit", "500", "--quiet"]).unwrap().unwrap();
    assert_eq!((args.rate_limit, args.log), (Some(500), false));

    for bad in [
        &["--nope"][..],
        &["--addr"],
        &["--addr", "localhost"],
        &["--running-polls", "-1"],
        &["--rate-limit", "0"],
        &["--rate-limit=many"],
        &["--quiet=yes"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn url_file_is_written_whole() {
    let dir = std::env::temp_dir().join(format!("ec3-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("url");
    write_atomically(path.to_str().unwrap(), "http://127.0.0.1:1\n").unwrap();
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

/// A connection that gives up reading after `secs` (for requests never answered).
fn impatient(base: &str, secs: u64) -> Conn {
    let conn = Conn::open(base);
    let timeout = Some(Duration::from_secs(secs));
    conn.0.get_ref().set_read_timeout(timeout).unwrap();
    conn
}

/// Whether a request on `conn` goes unanswered.
fn unanswered(conn: &mut Conn, method: &str, path: &str, headers: &[&str], body: &str) -> bool {
    let mut raw = format!("{method} {path} HTTP/1.1\r\n");
    for header in headers {
        raw += &format!("{header}\r\n");
    }
    raw += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    conn.0.get_mut().write_all(raw.as_bytes()).unwrap();
    let mut byte = [0; 1];
    conn.0.read(&mut byte).is_err()
}

#[test]
fn odd_flaky_and_stall_jobs() {
    let sim = start(1);
    let base = sim.url();
    let mut conn = Conn::open(base);
    assert_eq!(
        poll_statuses(&mut conn, "odd-1", 3),
        ["Paused", "Paused", "Paused"]
    );

    let reply = conn.get(&format!("{JOBS}/flaky-1"), &[BEARER]);
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (503, Some("0"))
    );
    assert_eq!(reply.json["error"]["code"], "ServiceUnavailable");
    let walk = poll_statuses(&mut conn, "flaky-1", 3);
    assert_eq!(walk, ["Queued", "Running", "Succeeded"]);

    let mut stalled = impatient(base, 1);
    assert!(unanswered(
        &mut stalled,
        "GET",
        &format!("{JOBS}/stall-1"),
        &[BEARER],
        ""
    ));
    assert_eq!(sim.stats().polls["stall-1"], 1);
}

#[test]
fn creates_are_rejected_retried_or_stalled_by_configuration_id() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
    let body = |configuration: &str| {
        json!({ "configurationId": configuration, "projectName": "P", "ec3BearerToken": "ec3-t" })
            .to_string()
    };
    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body("reject-1"));
    assert_eq!(
        (reply.status, &reply.json["error"]["code"]),
        (422, &json!("InvalidEC3JobRequest"))
    );
    assert!(
        reply.text.contains("ec3-t"),
        "the service echoes the token: {}",
        reply.text
    );

    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body("busy-1"));
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (503, Some("0"))
    );
    let reply = conn.request("POST", JOBS, &[BEARER, JSON], &body("busy-1"));
    assert_eq!(
        (reply.status, &reply.json["job"]["id"]),
        (201, &json!("ok-busy-1-try2"))
    );
    assert_eq!(poll_statuses(&mut conn, "ok-busy-1-try2", 1), ["Queued"]);

    let mut stalled = impatient(base, 1);
    assert!(unanswered(
        &mut stalled,
        "POST",
        JOBS,
        &[BEARER, JSON],
        &body("stall-1")
    ));
    assert_eq!(sim.stats().created, ["ok-busy-1-try2"]);
    assert_eq!(
        sim.created_requests(),
        [serde_json::from_str::<Value>(&body("busy-1")).unwrap()]
    );
}

#[test]
fn token_endpoint_can_accept_one_client_only() {
    let only = Options {
        client: Some(("c-app".into(), "good-secret".into())),
        ..Options::default()
    };
    let sim = Sim::start(only).unwrap();
    let mut conn = Conn::open(sim.url());
    let form = "grant_type=client_credentials";
    let token = |conn: &mut Conn, basic: &str| {
        let header = format!("Authorization: Basic {basic}");
        conn.request("POST", "/connect/token", &[&header], form)
            .status
    };
    assert_eq!(token(&mut conn, "Yy1hcHA6Z29vZC1zZWNyZXQ="), 200); // c-app:good-secret
    assert_eq!(token(&mut conn, "Yy1hcHA6d3Jvbmc="), 401); // c-app:wrong
    assert_eq!(token(&mut conn, "YXBwOnNlY3JldA=="), 401); // app:secret
    assert_eq!(sim.stats().tokens_issued, 1);
    assert_eq!(sim.stats().routes["POST /connect/token"], 3);
}

#[test]
fn rate_limit_answers_429_with_retry_after_per_token() {
    let limited = Options {
        rate_limit: Some(RateLimit {
            requests: 3,
            per: Duration::from_secs(1),
        }),
        ..Options::default()
    };
    let sim = Sim::start(limited).unwrap();
    let mut conn = Conn::open(sim.url());
    let path = format!("{JOBS}/slow-1");
    let statuses: Vec<u16> = (0..4).map(|_| conn.get(&path, &[BEARER]).status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    let reply = conn.get(&path, &[BEARER]);
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (429, Some("1"))
    );
    assert_eq!(reply.json["error"]["code"], "RateLimitExceeded");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 requests per 1 s")
    );
    // Another token has a window of its own; refusals are not polls.
    assert_eq!(
        conn.get(&path, &["Authorization: Bearer other"]).status,
        200
    );
    assert_eq!(sim.stats().polls["slow-1"], 4);

    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(conn.get(&path, &[BEARER]).status, 200);
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 2);
    assert_eq!(stats.api_requests.len(), 7);
    assert_eq!(stats.max_requests_in(Duration::from_secs(1)), 6);
    let json = conn.get("/__stats", &[]).json;
    assert_eq!(
        (&json["rateLimited"], &json["maxRequestsPerMinute"]),
        (&json!(2), &json!(7))
    );
}

#[test]
fn without_a_rate_limit_nothing_is_refused() {
    let sim = start(0);
    let mut conn = Conn::open(sim.url());
    let path = format!("{JOBS}/slow-1");
    assert!((0..600).all(|_| conn.get(&path, &[BEARER]).status == 200));
    assert_eq!(sim.stats().rate_limited, 0);
    assert_eq!(sim.stats().max_requests_in(Duration::from_secs(60)), 600);
}

#[test]
fn max_requests_in_slides_over_the_request_times() {
    let at = |ms: &[u64]| ec3_sim::Stats {
        api_requests: ms.iter().map(|&ms| Duration::from_millis(ms)).collect(),
        ..ec3_sim::Stats::default()
    };
    let second = Duration::from_secs(1);
    assert_eq!(at(&[]).max_requests_in(second), 0);
    assert_eq!(at(&[0, 999, 1000, 1500, 1999]).max_requests_in(second), 3);
    assert_eq!(at(&[0, 999, 1000, 1500, 1998]).max_requests_in(second), 4);
    assert_eq!(at(&[0, 1000, 2000]).max_requests_in(second), 1);
}

#[test]
fn routes_and_connections_are_counted_and_drop_stops_the_server() {
    let sim = start(2);
    let base = sim.url().to_owned();
    let mut conn = Conn::open(&base);
    conn.get(&format!("{JOBS}/ok-1"), &[BEARER]);
    conn.get(&format!("{JOBS}/ok-2"), &[BEARER]);
    conn.get(&format!("{CONFIGS}?iTwinId=t"), &[BEARER]);
    conn.get("/elsewhere", &[]);
    Conn::open(&base).get(&format!("{JOBS}/ok-1"), &[]);
    let stats = sim.stats();
    let routes: Vec<(&str, u64)> = stats.routes.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        routes,
        [
            ("GET /ec3/configurations", 1),
            ("GET /ec3/jobs/{id}", 3),
            ("other", 1)
        ]
    );
    assert_eq!((stats.connections, stats.requests), (2, 5));
    // The 401 is not an authorized request.
    assert_eq!(stats.api_requests.len(), 3);
    drop(sim);
    assert!(TcpStream::connect(base.trim_start_matches("http://")).is_err());
}

#[test]
fn the_same_service_over_tls_through_the_proxy() {
    use ec3_sim::proxy::{Proxy, ProxyMode};
    use ec3_sim::tls::Pki;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let pki = Pki::new(&["localhost"]);
    let sim = Sim::start_tls(Options::default(), &pki).unwrap();
    assert_eq!(sim.url(), format!("https://localhost:{}", sim.port()));
    let proxy = Proxy::start(ProxyMode::TunnelTo(sim.port())).unwrap();

    let mut tcp = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    tcp.write_all(b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(tcp.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(
        b"GET /insights/carbon-calculation/ec3/jobs/ok-tls HTTP/1.1\r\nHost: localhost\r\n\
          Authorization: Bearer t0ken-value\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""status":"Queued""#), "{answer}");
    assert_eq!(proxy.requests(), ["CONNECT api.example:443 HTTP/1.1"]);
    assert_eq!(sim.stats().connections, 1);
    assert_eq!(sim.stats().polls["ok-tls"], 1);
}

#[test]
fn one_configuration_is_report_based_or_extraction_based_by_its_suffix() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
    let reply = conn.get(&format!("{CONFIGS}/tower-report"), &[BEARER]);
    assert_eq!(reply.status, 200);
    let report = &reply.json["configuration"];
    assert_eq!(report["id"], "tower-report");
    let href = format!("{base}/insights/reporting/reports/report-tower");
    assert_eq!(report["_links"], json!({ "report": { "href": href } }));
    for label in report["labels"].as_array().unwrap() {
        assert!(label["reportTable"].is_string(), "{label}");
        assert!(label.get("mappingId").is_none(), "{label}");
    }
    for field in [
        "displayName",
        "createdOn",
        "createdBy",
        "modifiedOn",
        "modifiedBy",
    ] {
        assert!(report[field].is_string(), "{field}");
    }

    let mappings = |configuration: &Value| -> Vec<String> {
        let labels = configuration["labels"].as_array().unwrap();
        let ids = labels
            .iter()
            .map(|l| l["mappingId"].as_str().unwrap().to_owned());
        ids.collect()
    };
    let reply = conn.get(&format!("{CONFIGS}/im2.partial-a-ext"), &[BEARER]);
    let extraction = &reply.json["configuration"];
    assert_eq!(reply.status, 200);
    assert_eq!(
        mappings(extraction),
        ["partial-a-m1", "partial-a-m2", "partial-a-m1"]
    );
    let links = json!({
        "iTwin": { "href": format!("{base}/itwins/itwin-1") },
        "iModel": { "href": format!("{base}/imodels/im2") },
    });
    assert_eq!(extraction["_links"], links);
    let label = &extraction["labels"][0];
    assert!(label["groupName"].is_string() && label.get("reportTable").is_none());

    let reply = conn.get(&format!("{CONFIGS}/tower-ext"), &[BEARER]);
    let plain = &reply.json["configuration"];
    assert_eq!(mappings(plain), ["tower-m1", "tower-m2", "tower-m1"]);
    let imodel = format!("{base}/imodels/imodel-1");
    assert_eq!(plain["_links"]["iModel"]["href"], json!(imodel));

    let reply = conn.get(&format!("{CONFIGS}/nolink-ext"), &[BEARER]);
    let unlinked = &reply.json["configuration"];
    assert_eq!(mappings(unlinked)[0], "nolink-m1");
    assert!(unlinked["_links"].get("iModel").is_none());
    assert!(unlinked["_links"]["iTwin"].is_object());

    let reply = conn.get(&format!("{CONFIGS}/cfg-1"), &[BEARER]);
    let message = "Requested EC3 Configuration is not available.";
    let expected = json!({ "error": {
        "code": "ConfigurationNotFound", "message": message, "target": "configurationId"
    } });
    assert_eq!((reply.status, reply.json), (404, expected));
    assert_eq!(
        conn.get(&format!("{CONFIGS}/a-ext/b"), &[BEARER]).status,
        404
    );
    let path = format!("{CONFIGS}/tower-ext");
    assert_eq!(conn.get(&path, &[]).status, 401);
    assert_eq!(
        conn.get(&path, &["Authorization: Bearer denied"]).status,
        403
    );
    let reply = conn.request("DELETE", &path, &[BEARER], "");
    assert_eq!((reply.status, reply.header("allow")), (405, Some("GET")));
    let stats = sim.stats();
    assert_eq!(stats.routes["GET /ec3/configurations/{id}"], 8);
    assert_eq!(stats.routes["other"], 1);
}

const EXTRACTIONS: &str = "/grouping-and-mapping/datasources/imodel-mappings/extractions";

/// Runs an extraction of `mappings` on `imodel`; the answer.
fn run_extraction(conn: &mut Conn, imodel: &str, mappings: &[&str]) -> Reply {
    let mappings: Vec<Value> = mappings.iter().map(|id| json!({ "id": id })).collect();
    let body = json!({ "iModelId": imodel, "mappings": mappings });
    conn.request("POST", EXTRACTIONS, &[BEARER, JSON], &body.to_string())
}

/// The states `polls` reads of extraction `id` answer (the status code for a non-200).
fn extraction_states(conn: &mut Conn, id: &str, polls: usize) -> Vec<String> {
    let path = format!("{EXTRACTIONS}/{id}");
    let state = |reply: Reply| match reply.status {
        200 => reply.json["extraction"]["state"]
            .as_str()
            .unwrap()
            .to_string(),
        status => status.to_string(),
    };
    (0..polls)
        .map(|_| state(conn.get(&path, &[BEARER])))
        .collect()
}

/// Whether `text` has the form `2026-12-05T11:32:44+00:00`.
fn is_timestamp(text: &str) -> bool {
    let digits = |range: std::ops::Range<usize>| text[range].bytes().all(|b| b.is_ascii_digit());
    text.len() == 25
        && text.ends_with("+00:00")
        && [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
            .iter()
            .all(|&(i, c)| text.as_bytes()[i] == c)
        && digits(0..4)
        && digits(17..19)
}

#[test]
fn extraction_runs_are_queued_then_walk_as_their_first_scripted_mapping_says() {
    let sim = start(2);
    let base = sim.url();
    let mut conn = Conn::open(base);
    let reply = run_extraction(&mut conn, "im-1", &["ok-a", "plain", "partial-b", "fail-c"]);
    assert_eq!(reply.status, 201);
    let run = &reply.json["extraction"];
    assert_eq!(
        (&run["id"], &run["state"]),
        (&json!("partial-x1"), &json!("Queued"))
    );
    assert!(is_timestamp(run["startedOn"].as_str().unwrap()), "{run}");
    let status = format!("{base}{EXTRACTIONS}/partial-x1");
    assert_eq!(run["_links"], json!({ "status": { "href": status } }));
    let walk = extraction_states(&mut conn, "partial-x1", 5);
    let partial = [
        "Queued",
        "Running",
        "Running",
        "PartiallySucceeded",
        "PartiallySucceeded",
    ];
    assert_eq!(walk, partial);
    let reply = conn.get(&format!("{EXTRACTIONS}/partial-x1"), &[BEARER]);
    let state = &reply.json["extraction"];
    assert_eq!(state["startedOn"], run["startedOn"]);
    let logs = format!("{status}/logs");
    let links = json!({ "status": { "href": status }, "logs": { "href": logs } });
    assert_eq!(state["_links"], links);

    let cases = [
        (&["ok-a", "okay-b"][..], "ok-x2", "Succeeded"),
        (&["mine", "fail-b", "partial-c"], "fail-x3", "Failed"),
    ];
    for (mappings, id, terminal) in cases {
        let reply = run_extraction(&mut conn, "im-1", mappings);
        assert_eq!(reply.json["extraction"]["id"], id);
        let walk = extraction_states(&mut conn, id, 4);
        assert_eq!(walk, ["Queued", "Running", "Running", terminal]);
    }
    let reply = run_extraction(&mut conn, "im-1", &["slow-a"]);
    assert_eq!(reply.json["extraction"]["id"], "slow-x4");
    assert!(
        extraction_states(&mut conn, "slow-x4", 10)
            .iter()
            .all(|s| s == "Running")
    );
    let reply = run_extraction(&mut conn, "im-1", &["ok-a", "odd-b"]);
    assert_eq!(reply.json["extraction"]["id"], "odd-x5");
    assert_eq!(extraction_states(&mut conn, "odd-x5", 3), ["Cancelling"; 3]);
    let reply = run_extraction(&mut conn, "im-1", &["gone-a"]);
    assert_eq!(
        (reply.status, &reply.json["extraction"]["id"]),
        (201, &json!("gone-x6"))
    );
    assert_eq!(extraction_states(&mut conn, "gone-x6", 2), ["404"; 2]);

    // An id read without a run walks as its prefix says; an unknown prefix is 404.
    let walk = extraction_states(&mut conn, "fail-never-run", 4);
    assert_eq!(walk, ["Queued", "Running", "Running", "Failed"]);
    let reply = conn.get(&format!("{EXTRACTIONS}/nope-x1"), &[BEARER]);
    let message = "Requested extraction is not available.";
    let expected = json!({ "error": {
        "code": "ExtractionNotFound", "message": message, "target": "extractionId"
    } });
    assert_eq!((reply.status, reply.json), (404, expected));

    let stats = sim.stats();
    let runs = [
        "partial-x1",
        "ok-x2",
        "fail-x3",
        "slow-x4",
        "odd-x5",
        "gone-x6",
    ];
    assert_eq!(stats.extractions, runs);
    assert_eq!(stats.extraction_polls["partial-x1"], 6);
    assert_eq!(stats.extraction_after_terminal["partial-x1"], 2);
    assert_eq!(stats.extraction_after_terminal["slow-x4"], 0);
    assert_eq!(stats.extraction_polls["nope-x1"], 1);
}

#[test]
fn extraction_runs_are_checked_and_their_bodies_recorded() {
    let sim = start(2);
    let mut conn = Conn::open(sim.url());
    let cases = [
        (r#"not json"#, None),
        (r#"[1]"#, None),
        (r#"{"mappings":[{"id":"ok-a"}]}"#, Some("iModelId")),
        (
            r#"{"iModelId":"","mappings":[{"id":"ok-a"}]}"#,
            Some("iModelId"),
        ),
        (
            r#"{"iModelId":7,"mappings":[{"id":"ok-a"}]}"#,
            Some("iModelId"),
        ),
        (r#"{"iModelId":"im"}"#, Some("mappings")),
        (r#"{"iModelId":"im","mappings":[]}"#, Some("mappings")),
        (
            r#"{"iModelId":"im","mappings":[{"id":""}]}"#,
            Some("mappings"),
        ),
        (r#"{"iModelId":"im","mappings":["ok-a"]}"#, Some("mappings")),
        (
            r#"{"iModelId":"im","mappings":[{"id":"a","x":1}]}"#,
            Some("mappings"),
        ),
        (
            r#"{"iModelId":"im","mappings":[{"id":"a"}],"changesetId":1}"#,
            Some("changesetId"),
        ),
        (
            r#"{"iModelId":"im","mappings":[{"id":"a"}],"ecInstanceIds":"0x20"}"#,
            Some("ecInstanceIds"),
        ),
        (
            r#"{"iModelId":"im","mappings":[{"id":"a"}],"extra":true}"#,
            Some("extra"),
        ),
    ];
    for (body, target) in cases {
        let reply = conn.request("POST", EXTRACTIONS, &[BEARER, JSON], body);
        assert_eq!(reply.status, 422, "{body}");
        assert_eq!(
            reply.json["error"]["code"], "InvalidExtractionRequest",
            "{body}"
        );
        assert_eq!(reply.json["error"]["target"].as_str(), target, "{body}");
    }
    let good = r#"{"iModelId":"im","mappings":[{"id":"ok-a"}]}"#;
    let reply = conn.request(
        "POST",
        EXTRACTIONS,
        &[BEARER, "Content-Type: text/plain"],
        good,
    );
    assert_eq!(reply.status, 415);
    let reply = run_extraction(&mut conn, "missing-im", &["ok-a"]);
    let expected = json!({ "error": {
        "code": "IModelNotFound", "message": "Requested iModel is not available.",
        "target": "iModelId"
    } });
    assert_eq!((reply.status, reply.json), (404, expected));
    assert!(sim.extraction_requests().is_empty());
    assert!(sim.stats().extractions.is_empty());

    let full = json!({
        "iModelId": "im-1", "mappings": [{ "id": "ok-a" }, { "id": "ok-b" }],
        "changesetId": "cs-9", "ecInstanceIds": ["0x20"]
    });
    let reply = conn.request("POST", EXTRACTIONS, &[BEARER, JSON], &full.to_string());
    assert_eq!(
        (reply.status, &reply.json["extraction"]["id"]),
        (201, &json!("ok-x1"))
    );
    run_extraction(&mut conn, "im-2", &["fail-a"]);
    let bodies = sim.extraction_requests();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], full);
    assert_eq!(bodies[1]["mappings"], json!([{ "id": "fail-a" }]));
    assert!(bodies[1].get("changesetId").is_none());
    assert_eq!(sim.stats().extractions, ["ok-x1", "fail-x2"]);
    assert_eq!(sim.stats().routes["POST /imodel-mappings/extractions"], 17);

    // A reset forgets the runs: numbering starts again.
    sim.reset();
    assert!(sim.extraction_requests().is_empty());
    let reply = run_extraction(&mut conn, "im-1", &["ok-a"]);
    assert_eq!(reply.json["extraction"]["id"], "ok-x1");
    assert_eq!(extraction_states(&mut conn, "fail-x2", 1), ["Queued"]);
}

/// Every page of `path` (a path and query on the simulator), by its `next` links.
fn pages(conn: &mut Conn, base: &str, path: &str, key: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(format!("{base}{path}"));
    while let Some(href) = next {
        let reply = conn.get(href.strip_prefix(base).unwrap(), &[BEARER]);
        assert_eq!(reply.status, 200, "{href}: {}", reply.text);
        assert_eq!(reply.json["_links"]["self"]["href"], json!(href));
        pages.push(reply.json[key].as_array().unwrap().clone());
        next = reply.json["_links"]["next"]["href"]
            .as_str()
            .map(str::to_owned);
        assert!(pages.len() < 20, "no end to the pages");
    }
    pages
}

#[test]
fn extraction_logs_are_paged_in_both_time_forms() {
    let sim = start(0);
    let base = sim.url();
    let mut conn = Conn::open(base);
    run_extraction(&mut conn, "im-1", &["fail-a", "ok-b", "fail-c"]);
    let logs = format!("{EXTRACTIONS}/fail-x1/logs");
    let paged = pages(&mut conn, base, &logs, "logs");
    assert_eq!(paged.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let entries: Vec<Value> = paged.concat();
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["dateTime"].as_str().unwrap())
        .collect();
    let forms = ["2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.1234567Z"];
    assert_eq!(times, [forms[0], forms[1], forms[0]]);
    let contexts: Vec<&Value> = entries.iter().map(|e| &e["contextId"]).collect();
    assert_eq!(contexts, ["fail-a", "ok-b", "fail-c"]);
    for entry in &entries {
        assert_eq!(
            (&entry["level"], &entry["state"]),
            (&json!("Error"), &json!("Failed"))
        );
        assert_eq!(entry["contextType"], "Mapping");
        assert_eq!(entry["category"], "QueryExecution");
    }
    let long = entries[0]["message"].as_str().unwrap();
    assert!(long.chars().count() > 2000, "{}", long.len());
    assert!(long.contains("\n::error::") && long.contains('\u{1b}') && long.contains('\r'));
    assert!(entries[1]["message"].as_str().unwrap().len() < 100);

    // $top asks for smaller pages, never larger ones; links keep it.
    let by_one = pages(&mut conn, base, &format!("{logs}?$top=1"), "logs");
    assert_eq!(by_one.len(), 3);
    assert_eq!(by_one.concat(), entries);
    let reply = conn.get(&format!("{logs}?$top=1"), &[BEARER]);
    let next = format!("{base}{logs}?$top=1&$continuationToken=1");
    assert_eq!(reply.json["_links"]["next"]["href"], json!(next));
    let by_five = pages(&mut conn, base, &format!("{logs}?$top=5"), "logs");
    assert_eq!(by_five.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    for bad in [
        "$top=0",
        "$top=1001",
        "$top=two",
        "$continuationToken=9",
        "$continuationToken=x",
    ] {
        let reply = conn.get(&format!("{logs}?{bad}"), &[BEARER]);
        assert_eq!(
            (reply.status, &reply.json["error"]["code"]),
            (422, &json!("InvalidRequest"))
        );
        let target = bad.split('=').next().unwrap();
        assert_eq!(reply.json["error"]["target"], target, "{bad}");
    }

    run_extraction(
        &mut conn,
        "im-1",
        &["ok-a", "partial-b", "plain", "partial-c"],
    );
    let logs = format!("{EXTRACTIONS}/partial-x2/logs");
    let entries = pages(&mut conn, base, &logs, "logs").concat();
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["contextId"].as_str().unwrap(),
                e["level"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("ok-a", "Information"),
        ("partial-b", "Warning"),
        ("partial-b", "Error"),
        ("plain", "Information"),
        ("partial-c", "Warning"),
        ("partial-c", "Error"),
    ];
    assert_eq!(seen, expected);

    run_extraction(&mut conn, "im-1", &["ok-a", "ok-b"]);
    let logs = format!("{EXTRACTIONS}/ok-x3/logs");
    let entries = pages(&mut conn, base, &logs, "logs").concat();
    let levels: Vec<&Value> = entries.iter().map(|e| &e["level"]).collect();
    assert_eq!(levels, ["Information", "Information"]);
    for quiet in ["slow", "odd"] {
        run_extraction(&mut conn, "im-1", &[&format!("{quiet}-a")]);
    }
    for id in ["slow-x4", "odd-x5"] {
        let reply = conn.get(&format!("{EXTRACTIONS}/{id}/logs"), &[BEARER]);
        assert_eq!(
            (reply.status, &reply.json["logs"]),
            (200, &json!([])),
            "{id}"
        );
        assert!(reply.json["_links"].get("next").is_none());
    }
    run_extraction(&mut conn, "im-1", &["gone-a"]);
    for id in ["gone-x6", "nope-1"] {
        let reply = conn.get(&format!("{EXTRACTIONS}/{id}/logs"), &[BEARER]);
        assert_eq!(
            (reply.status, &reply.json["error"]["code"]),
            (404, &json!("ExtractionNotFound"))
        );
    }
    // An id read without a run logs as one mapping named for its outcome.
    let reply = conn.get(&format!("{EXTRACTIONS}/partial-unrun/logs"), &[BEARER]);
    assert_eq!(reply.json["logs"][0]["contextId"], "partial-m1");
    assert_eq!(conn.get(&logs, &[]).status, 401);
    assert_eq!(
        conn.get(&logs, &["Authorization: Bearer denied"]).status,
        403
    );
    assert_eq!(
        conn.get(&format!("{EXTRACTIONS}//logs"), &[BEARER]).status,
        404
    );
    assert_eq!(
        conn.get(&format!("{EXTRACTIONS}/a/b/logs"), &[BEARER])
            .status,
        404
    );
}

#[test]
fn an_imodels_extractions_are_listed_newest_first_and_paged() {
    let sim = start(1);
    let base = sim.url();
    let mut conn = Conn::open(base);
    for (imodel, mapping) in [
        ("im-1", "ok-a"),
        ("im-2", "ok-a"),
        ("im-1", "fail-a"),
        ("im-1", "gone-a"),
        ("im-1", "slow-a"),
        ("im 3", "odd-a"),
    ] {
        assert_eq!(run_extraction(&mut conn, imodel, &[mapping]).status, 201);
    }
    extraction_states(&mut conn, "ok-x1", 3);
    extraction_states(&mut conn, "fail-x3", 1);
    extraction_states(&mut conn, "odd-x6", 1);
    let list = format!("{EXTRACTIONS}?iModelId=im-1");
    let reply = conn.get(&list, &[BEARER]);
    let extractions = reply.json["extractions"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = extractions
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("slow-x5", "Queued"),
            ("fail-x3", "Queued"),
            ("ok-x1", "Succeeded")
        ]
    );
    let state = conn.get(&format!("{EXTRACTIONS}/ok-x1"), &[BEARER]).json;
    assert_eq!(extractions[2], state["extraction"]);
    assert_eq!(
        reply.json["_links"],
        json!({ "self": { "href": format!("{base}{list}") } })
    );
    let stats = sim.stats();
    assert_eq!(
        stats.extraction_polls["fail-x3"], 1,
        "a list is not a state read"
    );

    let paged = pages(&mut conn, base, &format!("{list}&$top=2"), "extractions");
    assert_eq!(paged.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let reply = conn.get(&format!("{list}&$top=2"), &[BEARER]);
    let next = format!("{base}{list}&$top=2&$continuationToken=2");
    assert_eq!(reply.json["_links"]["next"]["href"], json!(next));
    let by_one = pages(&mut conn, base, &format!("{list}&$top=1"), "extractions");
    assert_eq!(by_one.len(), 3);
    let spaced = conn
        .get(&format!("{EXTRACTIONS}?iModelId=im%203"), &[BEARER])
        .json;
    let odd = &spaced["extractions"][0];
    assert_eq!(
        (&odd["id"], &odd["state"]),
        (&json!("odd-x6"), &json!("Cancelling"))
    );
    let href = format!("{base}{EXTRACTIONS}?iModelId=im%203");
    assert_eq!(spaced["_links"]["self"]["href"], json!(href));
    let none = conn
        .get(&format!("{EXTRACTIONS}?iModelId=im-9"), &[BEARER])
        .json;
    assert_eq!(none["extractions"], json!([]));

    for (query, target) in [
        ("", "iModelId"),
        ("?iModelId=", "iModelId"),
        ("?iModelId=im-1&$top=0", "$top"),
        ("?iModelId=im-1&$top=1001", "$top"),
        ("?iModelId=im-1&$continuationToken=zz", "$continuationToken"),
    ] {
        let reply = conn.get(&format!("{EXTRACTIONS}{query}"), &[BEARER]);
        assert_eq!(
            (reply.status, &reply.json["error"]["target"]),
            (422, &json!(target)),
            "{query}"
        );
    }
    let reply = conn.get(&format!("{EXTRACTIONS}?iModelId=missing-1"), &[BEARER]);
    assert_eq!(
        (reply.status, &reply.json["error"]["code"]),
        (404, &json!("IModelNotFound"))
    );
    let thousand = conn.get(&format!("{list}&$top=1000"), &[BEARER]);
    assert_eq!(thousand.json["extractions"].as_array().unwrap().len(), 3);
    assert_eq!(conn.get(&list, &[]).status, 401);
    let reply = conn.request("DELETE", EXTRACTIONS, &[BEARER], "");
    assert_eq!(
        (reply.status, reply.header("allow")),
        (405, Some("GET, POST"))
    );
}

#[test]
fn both_apis_share_auth_the_rate_limit_and_the_counters() {
    let limited = Options {
        rate_limit: Some(RateLimit {
            requests: 4,
            per: Duration::from_secs(1),
        }),
        ..Options::default()
    };
    let sim = Sim::start(limited).unwrap();
    let mut conn = Conn::open(sim.url());
    let body = r#"{"iModelId":"im-1","mappings":[{"id":"ok-a"}]}"#;
    for (token, status, permission) in [
        ("", 401, None),
        ("Authorization: Bearer expired", 401, None),
        ("Authorization: Bearer denied", 403, Some("imodels_write")),
    ] {
        let headers: Vec<&str> = [token, JSON]
            .into_iter()
            .filter(|h| !h.is_empty())
            .collect();
        let reply = conn.request("POST", EXTRACTIONS, &headers, body);
        assert_eq!(reply.status, status, "{token}");
        if let Some(permission) = permission {
            assert!(reply.text.contains(permission), "{}", reply.text);
        }
    }
    let reply = conn.get(
        &format!("{EXTRACTIONS}/ok-x1"),
        &["Authorization: Bearer denied"],
    );
    assert!(reply.text.contains("imodels_read"), "{}", reply.text);
    assert!(sim.extraction_requests().is_empty());

    // One window per token over both APIs: two EC3 requests and two Grouping & Mapping ones.
    let statuses = [
        conn.get(&format!("{CONFIGS}/a-ext"), &[BEARER]).status,
        conn.request("POST", EXTRACTIONS, &[BEARER, JSON], body)
            .status,
        conn.get(&format!("{EXTRACTIONS}/ok-x1"), &[BEARER]).status,
        conn.get(&format!("{JOBS}/ok-1"), &[BEARER]).status,
        conn.get(&format!("{EXTRACTIONS}/ok-x1/logs"), &[BEARER])
            .status,
        conn.get(&format!("{JOBS}/ok-1"), &[BEARER]).status,
        conn.get(&format!("{EXTRACTIONS}?iModelId=im-1"), &[BEARER])
            .status,
    ];
    assert_eq!(statuses, [200, 201, 200, 200, 429, 429, 429]);
    let reply = conn.request("POST", EXTRACTIONS, &[BEARER, JSON], body);
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (429, Some("1"))
    );
    assert_eq!(
        sim.extraction_requests().len(),
        1,
        "a refused run is not recorded"
    );

    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 4);
    assert_eq!(stats.max_requests_in(Duration::from_secs(1)), 8);
    assert_eq!(stats.extraction_polls["ok-x1"], 1);
    let routes: Vec<(&str, u64)> = stats.routes.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        routes,
        [
            ("GET /ec3/configurations/{id}", 1),
            ("GET /ec3/jobs/{id}", 2),
            ("GET /imodel-mappings/extractions", 1),
            ("GET /imodel-mappings/extractions/{id}", 2),
            ("GET /imodel-mappings/extractions/{id}/logs", 1),
            ("POST /imodel-mappings/extractions", 5),
        ]
    );
    let json = conn.get("/__stats", &[]).json;
    assert_eq!(json["extractionsRun"], 1);
    let expected = json!({ "ok-x1": { "polls": 1, "requestsAfterTerminal": 0 } });
    assert_eq!(json["extractions"], expected);
    assert_eq!(json["rateLimited"], 4);

    conn.request("POST", "/__reset", &[], "");
    let json = conn.get("/__stats", &[]).json;
    assert_eq!(
        (&json["extractionsRun"], &json["extractions"]),
        (&json!(0), &json!({}))
    );
}
