//! The fault-injection suite: a table of cases, each a scripted server that
//! misbehaves (at the socket, HTTP, body or auth level) and the real binary
//! run against it as a process in GitHub mode.
//!
//! Every case asserts, besides its own checks:
//! - the documented exit code (see the README's table);
//! - that the run ended within its deadline plus a generous margin (a bound,
//!   not a benchmark);
//! - no panic text and no secret in stdout, stderr, `GITHUB_OUTPUT` or the
//!   step summary (a token may only appear in `::add-mask::`);
//! - a `GITHUB_OUTPUT` that the runner's rules accept, holding exactly the
//!   four outputs `status`, `message`, `ec3-project-url`, `job-id`;
//! - that the runner, reading stdout and stderr by its rules
//!   (`ec3_sim::runner::unintended`), finds no workflow command but
//!   ec3-gate's own, and no raw CR reaches the log;
//! - a step summary whose table keeps its seven rows.
//!
//! Each case is its own test, named after its row (`cargo test --test faults
//! reset_rst` runs the cases whose name contains `reset_rst`; `-- --list`
//! lists them). They all run at once (each drives its own process and
//! servers and mostly waits), so the table takes about as long as its slowest
//! case; the signal cases, timed to a second, run one at a time apart from it.

mod common;

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use common::{JOBS, Run, TOKEN, job_json, run_github, signal};
use ec3_sim::scripted::{Action, Request, TestServer, json, refused_url, response};
use libtest_mimic::{Arguments, Trial};

/// The job every case asks about.
const JOB: &str = "j1";
/// The EC3 project link of a succeeded job.
const LINK: &str = "https://buildingtransparency.org/ec3/buildings/0ee7?view=custom";
/// Client credentials (the secret is on `assert_clean`'s list).
const CLIENT_ID: &str = "ec3-gate-client";
const CLIENT_SECRET: &str = "client-s3cret";
/// A gateway's HTML error page.
const HTML: &str = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
    <body><h1>Bad Gateway</h1><p>::error::not a command</p></body></html>";

type Check = Box<dyn FnOnce(&Run) + Send>;

/// What a case's setup made: the environment for the binary and the
/// case's own checks (which may hold its servers).
struct World {
    env: Vec<(String, String)>,
    check: Check,
}

impl World {
    /// The API at `api_url` with the static test token.
    fn token(api_url: &str) -> Self {
        Self {
            env: vec![
                ("ITWIN_ACCESS_TOKEN".into(), TOKEN.into()),
                ("ITWIN_API_URL".into(), api_url.into()),
            ],
            check: Box::new(|_| {}),
        }
    }

    /// The API at `api_url`, with client credentials against `authority`.
    fn client(api_url: &str, authority: &str) -> Self {
        Self {
            env: vec![
                ("ITWIN_CLIENT_ID".into(), CLIENT_ID.into()),
                ("ITWIN_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
                ("ITWIN_AUTHORITY".into(), authority.into()),
                ("ITWIN_API_URL".into(), api_url.into()),
            ],
            check: Box::new(|_| {}),
        }
    }

    /// The environment, borrowed for a run.
    fn env(&self) -> Vec<(&str, &str)> {
        let pairs = self.env.iter();
        pairs.map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    fn check(mut self, check: impl FnOnce(&Run) + Send + 'static) -> Self {
        self.check = Box::new(check);
        self
    }
}

/// One row of the table.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// The documented exit code.
    code: i32,
    /// The run must end before this (its deadline plus a margin).
    within: Duration,
    setup: Setup,
}

type Setup = Box<dyn FnOnce() -> World + Send>;

/// A `wait` case with `--timeout {timeout}s` and a fast poll interval.
fn wait(
    name: &'static str,
    code: i32,
    timeout: u64,
    setup: impl FnOnce() -> World + Send + 'static,
) -> Case {
    let args = ["wait", JOB, "--interval", "50ms"];
    case(name, &args, code, timeout, Box::new(setup))
}

/// A `status` case with `--timeout {timeout}s`.
fn status(
    name: &'static str,
    code: i32,
    timeout: u64,
    setup: impl FnOnce() -> World + Send + 'static,
) -> Case {
    case(
        name,
        &["status", JOB, "--json"],
        code,
        timeout,
        Box::new(setup),
    )
}

/// `args` and `--timeout {timeout}s`, to end within five seconds more.
fn case(name: &'static str, args: &[&str], code: i32, timeout: u64, setup: Setup) -> Case {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend(["--timeout".into(), format!("{timeout}s")]);
    Case {
        name,
        args,
        code,
        within: Duration::from_secs(timeout + 5),
        setup,
    }
}

/// An API server answering with `script`, used with the static token.
fn api(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> World {
    World::token(&TestServer::start(script).url)
}

/// Like [`api`], and `check` also gets the server.
fn api_then(
    script: impl Fn(&Request) -> Action + Send + Sync + 'static,
    check: impl FnOnce(&Run, &TestServer) + Send + 'static,
) -> World {
    let server = TestServer::start(script);
    World::token(&server.url).check(move |r| check(r, &server))
}

/// `first` for the first `n` requests, then the job succeeds.
fn then_ok(
    n: usize,
    first: impl Fn(&Request) -> Action + Send + Sync + 'static,
) -> impl Fn(&Request) -> Action + Send + Sync + 'static {
    move |req| {
        if req.index < n {
            first(req)
        } else {
            succeeded()
        }
    }
}

fn succeeded() -> Action {
    json(200, &job_json("Succeeded", None, Some(LINK)))
}

fn running() -> Action {
    json(200, &job_json("Running", None, None))
}

fn html(status: u16) -> Action {
    Action::Raw(response(
        status,
        &[("Content-Type", "text/html")],
        HTML.as_bytes(),
    ))
}

/// A succeeded job's answer: its head and `body_bytes` of its body at once, then a byte a
/// second.
fn trickled(body_bytes: usize) -> Action {
    let Action::Raw(bytes) = succeeded() else {
        unreachable!()
    };
    let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    Action::Trickle {
        bytes,
        at_once: head + body_bytes,
        every: Duration::from_secs(1),
    }
}

/// `Queued` to the first request, then never an answer.
fn queued_then_hang(req: &Request) -> Action {
    if req.index == 0 {
        json(200, &job_json("Queued", None, None))
    } else {
        Action::Hang
    }
}

fn raw_200(body: &[u8]) -> Action {
    Action::Raw(response(200, &[("Content-Type", "application/json")], body))
}

/// A 200 head announcing a longer body than the bytes that follow.
fn truncated() -> Vec<u8> {
    let body = job_json("Succeeded", None, Some(LINK));
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len() + 500
    )
    .into_bytes();
    out.extend_from_slice(&body.as_bytes()[..body.len() / 2]);
    out
}

/// Records when each request arrived and its head.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Instant, String)>>>);

impl Log {
    fn record(&self, req: &Request) {
        self.0.lock().unwrap().push((req.at, req.head.clone()));
    }

    /// Gaps between consecutive requests.
    fn gaps(&self) -> Vec<Duration> {
        let log = self.0.lock().unwrap();
        log.windows(2).map(|w| w[1].0 - w[0].0).collect()
    }

    fn heads(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    }
}

/// `script` with every request recorded in the returned log.
fn logged(
    script: impl Fn(&Request) -> Action + Send + Sync + 'static,
) -> (Log, impl Fn(&Request) -> Action + Send + Sync + 'static) {
    let log = Log::default();
    let l = log.clone();
    (log, move |req: &Request| {
        l.record(req);
        script(req)
    })
}

/// Asserts the run reported the succeeded job.
fn reported_success(r: &Run) {
    assert_eq!(r.output("status"), "Succeeded");
    assert_eq!(r.output("ec3-project-url"), LINK);
}

/// Asserts the run knew nothing about the job (no answer was usable).
fn reported_nothing(r: &Run) {
    assert_eq!(r.output("status"), "");
    assert_eq!(r.output("message"), "");
    assert_eq!(r.output("ec3-project-url"), "");
}

/// A token endpoint issuing `fresh-t0ken-N` (N from 1) valid for
/// `expires_in` seconds; returns the server and when each token was issued.
fn token_server(expires_in: f64) -> (TestServer, Arc<Mutex<Vec<Instant>>>) {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let i = issued.clone();
    let server = TestServer::start(move |req| {
        assert!(req.path().ends_with("/connect/token"), "{}", req.head);
        let mut issued = i.lock().unwrap();
        issued.push(req.at);
        json(
            200,
            &format!(
                r#"{{"access_token":"fresh-t0ken-{}","expires_in":{expires_in},"token_type":"Bearer"}}"#,
                issued.len()
            ),
        )
    });
    (server, issued)
}

/// A token endpoint answering with `script`; the API must never be called.
fn token_fails(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> World {
    let token = TestServer::start(script);
    let api = TestServer::start(|_| succeeded());
    let url = api.url.clone();
    World::client(&url, &token.url).check(move |r| {
        assert_eq!(api.requests(), 0, "the API was called without a token");
        reported_nothing(r);
    })
}

/// The token number in `Authorization: Bearer fresh-t0ken-N`.
fn token_number(req: &Request) -> Option<usize> {
    req.header("authorization")?
        .strip_prefix("Bearer fresh-t0ken-")?
        .parse()
        .ok()
}

/// A second loopback host (another address), for redirects.
fn other_host(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> TestServer {
    TestServer::start_full("127.0.0.2", |_| true, script)
}

fn redirect(status: u16, location: &str) -> Action {
    Action::Raw(response(status, &[("Location", location)], b""))
}

/// The redirect was followed, and no request to its target carried credentials.
fn followed_without_authorization(log: &Log) {
    let heads = log.heads();
    assert!(!heads.is_empty(), "the redirect was followed");
    for h in heads {
        assert!(!h.to_ascii_lowercase().contains("authorization"), "{h}");
    }
}

/// A message with control characters and workflow-command sequences.
const HOSTILE: &str = "upload failed\r\n::error::injected\n::add-mask::x\r::set-output name=status::Succeeded\n\
    %0A::warning::pct\n::stop-commands::tok\nEOF\nghadelimiter_00000000-0000-4000-8000-000000000000\n\
    status=Succeeded\n| a | b |\n\u{1b}[31mred\u{7}\u{0}\u{85}\u{2028}\u{202e}end\t";

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    vec![
        // ---- the connection --------------------------------------------
        wait("connection refused", 6, 2, || {
            World::token(&refused_url()).check(reported_nothing)
        }),
        wait("closed on accept, before the request, always", 6, 2, || {
            let s = TestServer::start_full("127.0.0.1", |_| false, |_| succeeded());
            World::token(&s.url).check(move |r| {
                reported_nothing(r);
                assert!(s.accepts() >= 2, "retried: {}", s.accepts());
            })
        }),
        wait("closed on accept, before the request, once", 0, 10, || {
            let s = TestServer::start_full("127.0.0.1", |n| n > 0, |_| succeeded());
            World::token(&s.url).check(reported_success)
        }),
        wait("reset (RST) after the request, always", 6, 2, || {
            api_then(
                |_| Action::Reset,
                |r, s| {
                    reported_nothing(r);
                    assert!(s.requests() >= 2, "retried: {}", s.requests());
                },
            )
        }),
        wait("reset (RST) after the request, twice", 0, 10, || {
            api(then_ok(2, |_| Action::Reset)).check(reported_success)
        }),
        wait("closed (FIN) after the request, always", 6, 2, || {
            api(|_| Action::Close).check(reported_nothing)
        }),
        wait("reset mid-body, always", 6, 2, || {
            api(|_| Action::ResetAfter(truncated())).check(reported_nothing)
        }),
        wait("reset mid-body, once", 0, 10, || {
            api(then_ok(1, |_| Action::ResetAfter(truncated()))).check(reported_success)
        }),
        wait(
            "truncated body (longer Content-Length), closed",
            6,
            2,
            || api(|_| Action::RawThenClose(truncated())).check(reported_nothing),
        ),
        wait(
            "truncated body (longer Content-Length), once",
            0,
            10,
            || api(then_ok(1, |_| Action::RawThenClose(truncated()))).check(reported_success),
        ),
        wait(
            "truncated body (longer Content-Length), held open",
            6,
            2,
            || api(|_| Action::Raw(truncated())).check(reported_nothing),
        ),
        wait("accepts and never answers", 6, 2, || {
            api(|_| Action::Hang).check(reported_nothing)
        }),
        wait("answers Queued, then never answers", 6, 2, || {
            api(queued_then_hang).check(|r| assert_eq!(r.output("status"), "Queued"))
        }),
        wait("trickles the head, 1 byte/s", 6, 3, || {
            api(|_| {
                let Action::Raw(bytes) = succeeded() else {
                    unreachable!()
                };
                Action::Trickle {
                    bytes,
                    at_once: 0,
                    every: Duration::from_secs(1),
                }
            })
            .check(reported_nothing)
        }),
        wait("trickles the body, 1 byte/s", 6, 3, || {
            api(|_| trickled(0)).check(reported_nothing)
        }),
        status("status: trickles the body, 1 byte/s", 6, 3, || {
            api(|_| trickled(5)).check(reported_nothing)
        }),
        wait("a 100 KiB response header", 6, 2, || {
            api(|_| {
                let big = "x".repeat(100 << 10);
                Action::Raw(response(200, &[("X-Padding", &big)], b"{}"))
            })
            .check(reported_nothing)
        }),
        wait("302 without a Location", 6, 10, || {
            api(|_| Action::Raw(response(302, &[], b""))).check(reported_nothing)
        }),
        wait("not HTTP at all", 6, 2, || {
            api(|_| Action::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec())).check(reported_nothing)
        }),
        wait("chunked body with a bad chunk size", 6, 2, || {
            api(|_| {
                Action::Raw(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
                        .to_vec(),
                )
            })
            .check(reported_nothing)
        }),
        // ---- rate limits -----------------------------------------------
        wait("429 storm, Retry-After: 1 (seconds)", 0, 20, || {
            let (log, script) = logged(then_ok(3, |_| {
                Action::Raw(response(429, &[("Retry-After", "1")], b"{}"))
            }));
            api(script).check(move |r| {
                reported_success(r);
                for gap in &log.gaps()[..3] {
                    assert!(*gap >= Duration::from_millis(950), "asked early: {gap:?}");
                }
            })
        }),
        wait("429 storm, Retry-After as an HTTP-date", 0, 20, || {
            let (log, script) = logged(then_ok(2, |_| {
                let at = SystemTime::now() + Duration::from_secs(2);
                let date = httpdate::fmt_http_date(at);
                Action::Raw(response(429, &[("Retry-After", &date)], b""))
            }));
            api(script).check(move |r| {
                reported_success(r);
                // The date has a resolution of one second: 2 s ahead is at least 1 s.
                for gap in &log.gaps()[..2] {
                    assert!(*gap >= Duration::from_millis(950), "asked early: {gap:?}");
                }
            })
        }),
        wait("429 storm, no Retry-After", 0, 20, || {
            api(then_ok(3, |_| {
                Action::Raw(response(
                    429,
                    &[("Content-Type", "application/json")],
                    br#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
                ))
            }))
            .check(reported_success)
        }),
        wait("429 storm, Retry-After not a number", 0, 20, || {
            api(then_ok(2, |_| {
                Action::Raw(response(429, &[("Retry-After", "soon, -5")], b""))
            }))
            .check(reported_success)
        }),
        wait("429 storm, only the iTwin rate-limit header", 0, 20, || {
            let (log, script) = logged(then_ok(2, |_| {
                Action::Raw(response(
                    429,
                    &[("iTwinPlatform-RateLimit-Retry-After-Seconds", "1")],
                    b"",
                ))
            }));
            api(script).check(move |r| {
                reported_success(r);
                for gap in &log.gaps()[..2] {
                    assert!(*gap >= Duration::from_millis(950), "asked early: {gap:?}");
                }
            })
        }),
        wait(
            "429 with Retry-After: 999999 (never sleep past the deadline)",
            6,
            3,
            || {
                api_then(
                    |_| Action::Raw(response(429, &[("Retry-After", "999999")], b"")),
                    |r, s| {
                        reported_nothing(r);
                        assert_eq!(s.requests(), 1, "a retry could not be in time");
                        assert!(r.stderr.contains("HTTP 429"), "{}", r.stderr);
                    },
                )
            },
        ),
        wait("429 with a Retry-After past u64 seconds", 6, 3, || {
            api(|_| {
                Action::Raw(response(
                    429,
                    &[("Retry-After", "99999999999999999999999999")],
                    b"",
                ))
            })
            .check(reported_nothing)
        }),
        wait("429 storm past the deadline", 6, 3, || {
            api_then(
                |_| Action::Raw(response(429, &[("Retry-After", "1")], b"")),
                |r, s| {
                    reported_nothing(r);
                    assert!(s.requests() >= 2, "{}", s.requests());
                    assert!(r.stderr.contains("HTTP 429"), "{}", r.stderr);
                },
            )
        }),
        wait("503 with Retry-After: 1, once", 0, 10, || {
            api(then_ok(1, |_| {
                Action::Raw(response(503, &[("Retry-After", "1")], HTML.as_bytes()))
            }))
            .check(reported_success)
        }),
        // ---- gateway errors --------------------------------------------
        wait("500 HTML, twice", 0, 10, || {
            api(then_ok(2, |_| html(500))).check(reported_success)
        }),
        wait("502 HTML, twice", 0, 10, || {
            api(then_ok(2, |_| html(502))).check(reported_success)
        }),
        wait("503 HTML, twice", 0, 10, || {
            api(then_ok(2, |_| html(503))).check(reported_success)
        }),
        wait("504 HTML, twice", 0, 10, || {
            api(then_ok(2, |_| html(504))).check(reported_success)
        }),
        wait("408, once", 0, 10, || {
            api(then_ok(1, |_| html(408))).check(reported_success)
        }),
        wait("500 HTML, always", 6, 3, || {
            api(|_| html(500)).check(|r| assert!(r.stderr.contains("HTTP 500"), "{}", r.stderr))
        }),
        wait("502 HTML, always", 6, 3, || {
            api(|_| html(502)).check(|r| assert!(r.stderr.contains("HTTP 502"), "{}", r.stderr))
        }),
        wait("503 HTML, always", 6, 3, || {
            api(|_| html(503)).check(|r| assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr))
        }),
        wait("504 HTML, always", 6, 3, || {
            api(|_| html(504)).check(|r| assert!(r.stderr.contains("HTTP 504"), "{}", r.stderr))
        }),
        status("status: 503 HTML, always", 6, 3, || api(|_| html(503))),
        wait("501 is final", 6, 10, || {
            api_then(
                |_| html(501),
                |_, s| assert_eq!(s.requests(), 1, "not retried"),
            )
        }),
        wait("404 job not found", 5, 10, || {
            api(|_| {
                json(
                    404,
                    r#"{"error":{"code":"JobNotFound","message":"Requested EC3 Job is not available.","target":"jobId"}}"#,
                )
            })
        }),
        wait("403 insufficient permissions", 4, 10, || {
            api(|_| {
                json(
                    403,
                    r#"{"error":{"code":"InsufficientPermissions","message":"::error::no"}}"#,
                )
            })
        }),
        wait("401 with a static token (nothing to renew)", 4, 10, || {
            api_then(
                |_| json(401, r#"{"error":{"code":"HeaderNotFound"}}"#),
                |_, s| assert_eq!(s.requests(), 1),
            )
        }),
        // The service knows the token it was sent; if it echoes it back, the
        // text must not carry it into logs, outputs or the summary.
        wait("401 whose message echoes the bearer token", 4, 10, || {
            api(|req| {
                let auth = req.header("authorization").unwrap_or_default();
                json(
                    401,
                    &format!(
                        r#"{{"error":{{"code":"InvalidToken","message":"{auth} has expired"}}}}"#
                    ),
                )
            })
        }),
        wait(
            "Failed job whose message echoes the bearer token",
            1,
            10,
            || {
                api(|req| {
                    let auth = req.header("authorization").unwrap_or_default();
                    json(
                        200,
                        &job_json("Failed", Some(&format!("rejected {auth}")), None),
                    )
                })
            },
        ),
        wait_outage(),
        // ---- answer bodies ---------------------------------------------
        wait("200 with HTML", 6, 10, || {
            api(|_| raw_200(HTML.as_bytes())).check(reported_nothing)
        }),
        wait("200 with an empty body", 6, 10, || {
            api(|_| raw_200(b"")).check(reported_nothing)
        }),
        wait("200 with the wrong shape: no job", 6, 10, || {
            api(|_| raw_200(br#"{"jobs":[{"status":"Succeeded"}]}"#)).check(reported_nothing)
        }),
        wait("200 with the wrong shape: status a number", 6, 10, || {
            api(|_| raw_200(br#"{"job":{"status":5}}"#)).check(reported_nothing)
        }),
        wait("200 with the wrong shape: an array", 6, 10, || {
            api(|_| raw_200(b"[1,2,3]")).check(reported_nothing)
        }),
        wait("200 with job null", 6, 10, || {
            api(|_| raw_200(br#"{"job":null}"#)).check(reported_nothing)
        }),
        wait("200 with a 10 MiB body", 6, 10, || {
            api(|_| {
                let mut body = br#"{"job":{"status":"Succeeded","message":""#.to_vec();
                body.resize(10 << 20, b'a');
                body.extend_from_slice(br#""}}"#);
                raw_200(&body)
            })
            .check(|r| {
                reported_nothing(r);
                assert!(r.stderr.contains("larger than"), "{}", r.stderr);
            })
        }),
        wait(
            "200 with a 10 MiB body and no Content-Length",
            6,
            10,
            || {
                api(|_| {
                let mut out = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"job\":{\"status\":\"Succeeded\",\"message\":\"".to_vec();
                out.resize(10 << 20, b'a');
                Action::RawThenClose(out)
            })
            .check(reported_nothing)
            },
        ),
        wait("200 with deeply nested JSON", 6, 10, || {
            api(|_| {
                let depth = 100_000;
                let body = format!(r#"{{"job":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
                raw_200(body.as_bytes())
            })
            .check(reported_nothing)
        }),
        wait("200 with invalid UTF-8 in the status", 6, 10, || {
            api(|_| raw_200(b"{\"job\":{\"status\":\"Succ\xff\xfeeded\"}}")).check(reported_nothing)
        }),
        wait("200 with invalid UTF-8 in the message", 6, 10, || {
            api(|_| raw_200(b"{\"job\":{\"status\":\"Failed\",\"message\":\"bad \xc3\x28\"}}"))
                .check(reported_nothing)
        }),
        wait(
            "200 with a control character in the project link",
            6,
            10,
            || {
                api(|_| {
                    json(
                        200,
                        &job_json("Succeeded", None, Some("https://x.org/a\n::error::b")),
                    )
                })
                .check(reported_nothing)
            },
        ),
        wait("unknown status values: keep waiting", 0, 10, || {
            api(|req| match req.index {
                0 | 1 => json(200, &job_json("Paused", None, None)),
                2 => json(200, &job_json("Cancelling", None, None)),
                _ => succeeded(),
            })
            .check(|r| {
                reported_success(r);
                // Warned once per value, naming it.
                let warnings = |v: &str| {
                    r.stderr
                        .lines()
                        .filter(|l| {
                            l.starts_with("::warning title=ec3-gate warning::") && l.contains(v)
                        })
                        .count()
                };
                assert_eq!(warnings("'Paused'"), 1, "{}", r.stderr);
                assert_eq!(warnings("'Cancelling'"), 1, "{}", r.stderr);
            })
        }),
        wait("unknown status forever: timed out", 3, 2, || {
            api(|_| json(200, &job_json("Paused", None, None)))
                .check(|r| assert_eq!(r.output("status"), "Paused"))
        }),
        wait("unknown status holding workflow commands", 0, 10, || {
            api(|req| match req.index {
                0 => json(
                    200,
                    &job_json("x\r\n::error::injected\n::add-mask::%0A", None, None),
                ),
                _ => succeeded(),
            })
            .check(reported_success)
        }),
        wait(
            "message with control characters and workflow commands",
            1,
            10,
            || {
                api(|_| json(200, &job_json("Failed", Some(HOSTILE), None))).check(|r| {
                    assert_eq!(r.output("status"), "Failed");
                    // The writer turns CRLF and lone CR into LF by design.
                    let want = HOSTILE.replace("\r\n", "\n").replace('\r', "\n");
                    assert_eq!(r.output("message"), want);
                    assert!(
                        r.stderr.contains("::error title=EC3 job failed::"),
                        "{}",
                        r.stderr
                    );
                })
            },
        ),
        status(
            "status: message with workflow commands, --json",
            0,
            10,
            || {
                api(|_| json(200, &job_json("Running", Some(HOSTILE), None))).check(|r| {
                    let want = HOSTILE.replace("\r\n", "\n").replace('\r', "\n");
                    assert_eq!(r.output("message"), want);
                    let line = r.stdout.lines().next().unwrap_or_default();
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    assert_eq!(v["message"], want.as_str());
                    assert_eq!(v["status"], "Running");
                })
            },
        ),
        wait("a 100 000-character message is capped", 1, 10, || {
            api(|_| json(200, &job_json("Failed", Some(&"m".repeat(100_000)), None))).check(|r| {
                let m = r.output("message");
                assert!(m.ends_with("… [truncated by ec3-gate]"), "{}", m.len());
                assert!(m.chars().count() < 20_000);
            })
        }),
        wait("project link that is not https", 0, 10, || {
            api(|_| {
                json(
                    200,
                    &job_json("Succeeded", None, Some("javascript:alert(1)")),
                )
            })
            .check(|r| {
                assert_eq!(r.output("ec3-project-url"), "javascript:alert(1)");
                assert!(!r.summary.contains("](javascript"), "{}", r.summary);
            })
        }),
        // ---- the token endpoint ----------------------------------------
        wait("token endpoint refuses the client (401)", 4, 10, || {
            token_fails(|_| {
                json(
                    401,
                    r#"{"error":"invalid_client","error_description":"bad secret"}"#,
                )
            })
        }),
        wait("token endpoint refuses the client (400)", 4, 10, || {
            token_fails(|_| json(400, r#"{"error":"invalid_client"}"#))
        }),
        wait("token endpoint answers garbage", 6, 10, || {
            token_fails(|_| raw_200(HTML.as_bytes()))
        }),
        wait(
            "token endpoint answers a token that is not header-safe",
            6,
            10,
            || {
                token_fails(|_| {
                    json(
                        200,
                        r#"{"access_token":"fresh-t0ken\r\n::error::x","expires_in":3600}"#,
                    )
                })
            },
        ),
        wait("token endpoint answers a non-Bearer token", 6, 10, || {
            token_fails(|_| {
                json(
                    200,
                    r#"{"access_token":"fresh-t0ken","token_type":"mac","expires_in":3600}"#,
                )
            })
        }),
        wait("token endpoint is down", 6, 2, || {
            let api = TestServer::start(|_| succeeded());
            let url = api.url.clone();
            World::client(&url, &refused_url()).check(move |r| {
                reported_nothing(r);
                assert_eq!(api.requests(), 0);
            })
        }),
        wait("token endpoint 503 HTML, always", 6, 3, || {
            token_fails(|_| html(503))
        }),
        wait("token endpoint never answers", 6, 2, || {
            token_fails(|_| Action::Hang)
        }),
        wait("token endpoint 503 once, then a token", 0, 10, || {
            let token = TestServer::start(|req| {
                if req.index == 0 {
                    html(503)
                } else {
                    json(200, r#"{"access_token":"fresh-t0ken-1","expires_in":3600}"#)
                }
            });
            let api = TestServer::start(|_| succeeded());
            World::client(&api.url, &token.url).check(reported_success)
        }),
        wait(
            "token expiring mid-wait (expires_in 1) is renewed",
            0,
            15,
            || {
                let (token, issued) = token_server(1.0);
                let refused = Arc::new(AtomicUsize::new(0));
                let (i, f) = (issued.clone(), refused.clone());
                let api = TestServer::start(move |req| {
                    // Refuse a token past its lifetime, as the service would.
                    let n = token_number(req).expect("a fresh token");
                    let issued_at = i.lock().unwrap()[n - 1];
                    if req.at.duration_since(issued_at) > Duration::from_secs(1) {
                        f.fetch_add(1, Ordering::SeqCst);
                        return json(401, r#"{"error":{"code":"InvalidToken"}}"#);
                    }
                    if req.index < 12 {
                        running()
                    } else {
                        succeeded()
                    }
                });
                World::client(&api.url, &token.url).check(move |r| {
                    reported_success(r);
                    let tokens = issued.lock().unwrap().len();
                    assert!(tokens >= 2, "renewed: {tokens} tokens");
                    assert_eq!(refused.load(Ordering::SeqCst), 0, "renewed before expiry");
                    // Every token was masked before use.
                    for n in 1..=tokens {
                        assert!(
                            r.stderr.contains(&format!("::add-mask::fresh-t0ken-{n}\n")),
                            "{}",
                            r.stderr
                        );
                    }
                })
            },
        )
        .interval("200ms"),
        wait(
            "401 on a job call after a renewal: one renewal, then 4",
            4,
            10,
            || {
                // Token 1 lives 1 s and is renewed mid-wait; the service refuses
                // every later token: exactly one more renewal, then exit 4.
                let (token, issued) = token_server(1.0);
                let api = TestServer::start(move |req| match token_number(req) {
                    Some(1) => running(),
                    _ => json(401, r#"{"error":{"code":"InvalidToken"}}"#),
                });
                World::client(&api.url, &token.url).check(move |r| {
                    assert_eq!(r.output("status"), "Running");
                    assert_eq!(issued.lock().unwrap().len(), 3, "tokens asked for");
                })
            },
        )
        .interval("100ms"),
        wait("401 on every job call: one renewal, then 4", 4, 10, || {
            let (token, issued) = token_server(3600.0);
            let api = TestServer::start(|_| json(401, r#"{"error":{"code":"InvalidToken"}}"#));
            let url = api.url.clone();
            World::client(&url, &token.url).check(move |r| {
                reported_nothing(r);
                assert_eq!(issued.lock().unwrap().len(), 2, "tokens asked for");
                assert_eq!(api.requests(), 2, "job calls");
            })
        }),
        wait("401 once (token revoked): renewed, then 0", 0, 10, || {
            let (token, issued) = token_server(3600.0);
            let api = TestServer::start(|req| match token_number(req) {
                Some(1) => json(401, r#"{"error":{"code":"InvalidToken"}}"#),
                _ => succeeded(),
            });
            World::client(&api.url, &token.url).check(move |r| {
                reported_success(r);
                assert_eq!(issued.lock().unwrap().len(), 2, "tokens asked for");
            })
        }),
        // ---- redirects -------------------------------------------------
        wait(
            "302 to another host: no Authorization follows",
            4,
            10,
            || {
                let (log, script) = logged(|req: &Request| {
                    if req.header("authorization").is_some() {
                        succeeded()
                    } else {
                        json(401, r#"{"error":{"code":"HeaderNotFound"}}"#)
                    }
                });
                let other = other_host(script);
                let location = format!("{}{JOBS}/{JOB}", other.url);
                api(move |_| redirect(302, &location)).check(move |r| {
                    reported_nothing(r);
                    followed_without_authorization(&log);
                })
            },
        ),
        wait(
            "307 to another host that answers: no Authorization follows",
            0,
            10,
            || {
                let (log, script) = logged(|_| succeeded());
                let other = other_host(script);
                let location = format!("{}{JOBS}/{JOB}", other.url);
                api(move |_| redirect(307, &location)).check(move |r| {
                    reported_success(r);
                    for h in log.heads() {
                        assert!(!h.to_ascii_lowercase().contains("authorization"), "{h}");
                        assert!(!h.contains(TOKEN), "{h}");
                    }
                })
            },
        ),
        // A redirect loop is not transient: it must end the run at once, not
        // be retried until the deadline (30 minutes by default).
        wait("redirect loop to itself", 6, 20, || {
            let own = Arc::new(Mutex::new(String::new()));
            let o = own.clone();
            let server = TestServer::start(move |_| redirect(302, &o.lock().unwrap()));
            *own.lock().unwrap() = format!("{}{JOBS}/{JOB}", server.url);
            World::token(&server.url).check(reported_nothing)
        })
        .within(5),
        wait("redirect loop between two hosts", 6, 20, || {
            let target = Arc::new(Mutex::new(String::new()));
            let t = target.clone();
            let other = other_host(move |_| redirect(301, &t.lock().unwrap()));
            let back = format!("{}{JOBS}/{JOB}", other.url);
            let server = TestServer::start(move |_| redirect(302, &back));
            *target.lock().unwrap() = format!("{}{JOBS}/{JOB}", server.url);
            World::token(&server.url).check(reported_nothing)
        })
        .within(5),
        wait(
            "token endpoint 302 to another host: no credentials follow",
            4,
            10,
            || {
                let (log, script) = logged(|req: &Request| {
                    if req.header("authorization").is_some() {
                        json(200, r#"{"access_token":"fresh-t0ken-1","expires_in":3600}"#)
                    } else {
                        json(401, r#"{"error":"invalid_client"}"#)
                    }
                });
                let other = other_host(script);
                let location = format!("{}/connect/token", other.url);
                let token = TestServer::start(move |_| redirect(302, &location));
                let api = TestServer::start(|_| succeeded());
                World::client(&api.url, &token.url).check(move |r| {
                    reported_nothing(r);
                    followed_without_authorization(&log);
                })
            },
        ),
        // A 307 would resend the form; ureq refuses to, which is final.
        wait(
            "token endpoint 307 to another host: not followed",
            6,
            20,
            || {
                let other = other_host(|_| json(401, r#"{"error":"invalid_client"}"#));
                let location = format!("{}/connect/token", other.url);
                let token = TestServer::start(move |_| redirect(307, &location));
                let api = TestServer::start(|_| succeeded());
                World::client(&api.url, &token.url).check(move |r| {
                    reported_nothing(r);
                    assert_eq!(other.requests(), 0);
                })
            },
        )
        .within(5),
    ]
}

impl Case {
    /// Bounds the run's duration tighter than its deadline.
    fn within(mut self, secs: u64) -> Self {
        self.within = Duration::from_secs(secs);
        self
    }

    /// Replaces the poll interval.
    fn interval(mut self, interval: &str) -> Self {
        if let Some(i) = self.args.iter().position(|a| a == "--interval") {
            self.args[i + 1] = interval.into();
        }
        self
    }
}

/// An outage of several seconds mid-wait: the port refuses connections
/// (the listener is closed, kept-alive connections are dropped), then comes
/// back answering 503 twice in a row, then the job succeeds, well inside the
/// deadline.
fn wait_outage() -> Case {
    wait(
        "outage mid-wait (refused, then 503s) that recovers",
        0,
        30,
        || {
            let recovered = Arc::new(AtomicBool::new(false));
            let after = Arc::new(AtomicUsize::new(0));
            let (r, a) = (recovered.clone(), after.clone());
            let server = Arc::new(TestServer::start(move |_| {
                if !r.load(Ordering::SeqCst) {
                    return running();
                }
                // Back up: the gateway still answers 503 for a while.
                match a.fetch_add(1, Ordering::SeqCst) {
                    1 | 2 => html(503),
                    0 | 3 => running(),
                    _ => succeeded(),
                }
            }));
            let s = server.clone();
            let controller = std::thread::spawn(move || {
                while s.requests() < 2 {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let down = Instant::now();
                s.go_down();
                std::thread::sleep(Duration::from_secs(3));
                recovered.store(true, Ordering::SeqCst);
                s.come_up();
                down.elapsed()
            });
            World::token(&server.url).check(move |r| {
                reported_success(r);
                let outage = controller.join().unwrap();
                assert!(outage >= Duration::from_secs(3));
                assert!(after.load(Ordering::SeqCst) >= 5, "503s, then the answer");
                assert!(server.accepts() >= 2, "reconnected");
                assert!(r.stderr.contains("retrying"), "{}", r.stderr);
            })
        },
    )
    .interval("200ms")
}

/// The checks every case makes.
fn common_checks(args: &[&str], code: i32, within: Duration, r: &Run, took: Duration) {
    assert_eq!(r.code, code, "exit code; stderr:\n{}", r.stderr);
    assert!(took < within, "took {took:?}, bound {within:?}");
    r.assert_clean();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert!(
        !r.everything().contains(&basic),
        "client credentials leaked"
    );
    let names: Vec<&str> = r.outputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["status", "message", "ec3-project-url", "job-id"],
        "outputs"
    );
    assert_eq!(r.output("job-id"), JOB);
    match code {
        0 if args[0] == "wait" => assert_eq!(r.output("status"), "Succeeded"),
        1 => assert_eq!(r.output("status"), "Failed"),
        _ => {}
    }
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        assert!(!line.contains('\r'), "raw CR in the log: {line:?}");
    }
    r.assert_commands_intended();
    let rows = r.summary.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(rows, 7, "summary table:\n{}", r.summary);
}

/// Runs one case; a failed check panics.
fn run_case(case: Case) {
    let world = (case.setup)();
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let start = Instant::now();
    let r = run_github(&args, &world.env());
    let took = start.elapsed();
    common_checks(&args, case.code, case.within, &r, took);
    (world.check)(&r);
}

// ---- cancellation ----------------------------------------------------------

/// Keeps the signal cases (timed to one second) from running beside the
/// table's dozens of processes, or beside each other, on a small machine.
static HEAVY: RwLock<()> = RwLock::new(());

/// A run stopped by a signal once `ready` says it is where the case wants it.
struct SignalCase {
    name: &'static str,
    args: &'static [&'static str],
    /// `INT` or `TERM`.
    signal: &'static str,
    setup: fn() -> (World, Arc<TestServer>),
    /// True once the process is in the state to interrupt.
    ready: fn(&TestServer) -> bool,
    /// The `status` output expected (the last answer known).
    status: &'static str,
}

/// An API server answering with `script`, used with the static token, and the server.
fn served(script: impl Fn(&Request) -> Action + Send + Sync + 'static) -> (World, Arc<TestServer>) {
    let server = Arc::new(TestServer::start(script));
    (World::token(&server.url), server)
}

#[cfg(unix)]
fn signal_cases() -> Vec<SignalCase> {
    vec![
        SignalCase {
            name: "SIGINT while sleeping between polls",
            args: &["wait", JOB, "--interval", "1h", "--timeout", "10m"],
            signal: "INT",
            setup: || served(|_| running()),
            ready: |s| s.requests() >= 1,
            status: "Running",
        },
        SignalCase {
            name: "SIGTERM during a backoff sleep (503, Retry-After: 60)",
            args: &["wait", JOB, "--interval", "10ms", "--timeout", "10m"],
            signal: "TERM",
            setup: || {
                served(|req| {
                    if req.index == 0 {
                        running()
                    } else {
                        Action::Raw(response(503, &[("Retry-After", "60")], HTML.as_bytes()))
                    }
                })
            },
            ready: |s| s.requests() >= 2,
            status: "Running",
        },
        SignalCase {
            name: "SIGINT during a 429 Retry-After sleep",
            args: &["wait", JOB, "--timeout", "10m"],
            signal: "INT",
            setup: || served(|_| Action::Raw(response(429, &[("Retry-After", "120")], b""))),
            ready: |s| s.requests() >= 1,
            status: "",
        },
        SignalCase {
            name: "SIGTERM during a stalled request",
            args: &["wait", JOB, "--interval", "10ms", "--timeout", "10m"],
            signal: "TERM",
            setup: || served(queued_then_hang),
            ready: |s| s.requests() >= 2,
            status: "Queued",
        },
        SignalCase {
            name: "SIGINT during a trickled answer",
            args: &["wait", JOB, "--timeout", "10m"],
            signal: "INT",
            setup: || served(|_| trickled(0)),
            ready: |s| s.requests() >= 1,
            status: "",
        },
        SignalCase {
            name: "SIGTERM during a stalled token request",
            args: &["wait", JOB, "--timeout", "10m"],
            signal: "TERM",
            setup: || {
                let token = Arc::new(TestServer::start(|_| Action::Hang));
                let api = TestServer::start(|_| succeeded());
                (World::client(&api.url, &token.url), token)
            },
            ready: |s| s.requests() >= 1,
            status: "",
        },
        SignalCase {
            name: "SIGINT during a stalled status query",
            args: &["status", JOB, "--timeout", "10m"],
            signal: "INT",
            setup: || served(|_| Action::Hang),
            ready: |s| s.requests() >= 1,
            status: "",
        },
    ]
}

/// Signals the process, then checks: exit code 130/143 within one second,
/// the outputs known so far, no secret, and no connection left open.
#[cfg(unix)]
fn run_signal_case(case: &SignalCase) {
    let (world, server) = (case.setup)();
    let env = world.env();
    let dir = tempfile::tempdir().unwrap();
    let child = common::github_command(case.args, &env, &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !(case.ready)(&server) {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Let it settle into the sleep or read it is about to block in.
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    signal(&child, case.signal);
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let r = common::finish(out, Some(dir.path().to_owned()));
    let code = if case.signal == "INT" { 130 } else { 143 };
    let args: Vec<&str> = case.args.to_vec();
    common_checks(&args, code, Duration::from_secs(1), &r, took);
    assert_eq!(r.output("status"), case.status);
    assert!(r.stderr.contains("interrupted by signal"), "{}", r.stderr);
    (world.check)(&r);
    // Nothing left running: the process's connections are closed.
    let closing = Instant::now();
    while server.open_connections() > 0 {
        assert!(
            closing.elapsed() < Duration::from_secs(2),
            "{} connection(s) left open",
            server.open_connections()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `"reset (RST) after the request, always"` as `reset_rst_after_the_request_always`.
fn test_name(case: &str) -> String {
    let words = case.split(|c: char| !c.is_ascii_alphanumeric());
    let words: Vec<String> = words
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("_")
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // All at once unless `--test-threads` says otherwise: the cases mostly wait.
    args.test_threads.get_or_insert(128);
    let table = cases();
    assert!(table.len() >= 40, "the table has {} cases", table.len());
    let mut trials: Vec<Trial> = table
        .into_iter()
        .map(|case| {
            Trial::test(test_name(case.name), move || {
                let _shared = HEAVY.read().unwrap_or_else(PoisonError::into_inner);
                run_case(case);
                Ok(())
            })
        })
        .collect();
    #[cfg(unix)]
    trials.extend(signal_cases().into_iter().map(|case| {
        Trial::test(format!("signal_{}", test_name(case.name)), move || {
            let _alone = HEAVY.write().unwrap_or_else(PoisonError::into_inner);
            run_signal_case(&case);
            Ok(())
        })
    }));
    let mut names = HashSet::new();
    for trial in &trials {
        assert!(
            names.insert(trial.name().to_owned()),
            "duplicate case {}",
            trial.name()
        );
    }
    libtest_mimic::run(&args, trials).exit_code()
}
