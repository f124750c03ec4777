//! The service as an attacker: one test per point of issue 11's "tried as a
//! hostile service would" list, each against the real binary in GitHub
//! mode, read back the way the runner reads a step's log
//! (`ec3_sim::runner::unintended`); and a property test that puts arbitrary
//! text in every server field, end to end.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::sync::Arc;

use base64::Engine as _;
use common::{Run, TOKEN, job_json, run_github};
use ec3_sim::scripted::{Action, Request, TestServer, json, response};
use proptest::prelude::*;

const CONFIGURATIONS: &str = "/insights/carbon-calculation/ec3/configurations";

fn with_token(server: &TestServer) -> Vec<(&'static str, String)> {
    vec![
        ("ITWIN_ACCESS_TOKEN", TOKEN.to_owned()),
        ("ITWIN_API_URL", server.url.clone()),
    ]
}

fn run(args: &[&str], env: &[(&'static str, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = run_github(args, &env);
    r.assert_clean();
    r.assert_commands_intended();
    r
}

/// A configuration list page.
fn page(configurations: serde_json::Value, next: Option<String>) -> Action {
    let links = next.map_or(
        serde_json::json!({}),
        |n| serde_json::json!({"next": {"href": n}}),
    );
    json(
        200,
        &serde_json::json!({"configurations": configurations, "_links": links}).to_string(),
    )
}

/// Point 1: a status word or a configuration id at the start of a stdout
/// line (`status`; `wait` on timeout and error; the `configurations` list),
/// even behind a space or a no-break space, starts no command.
#[test]
fn status_words_and_configuration_ids_never_start_a_command() {
    let forged = [
        "::error title=EC3 job failed::forged",
        " ::warning title=EC3 job failed::forged",
        "\u{a0}::error::forged",
        "\u{3000}\t::add-mask::x",
    ];
    for status in forged {
        let server = TestServer::start(move |_| json(200, &job_json(status, None, None)));
        let env = with_token(&server);
        let r = run(&["status", "j1"], &env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.starts_with('\\'), "{status:?}: {:?}", r.stdout);
        assert_eq!(r.output("status"), status, "the output keeps the value");
        let r = run(&["status", "j1", "--json"], &env);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["status"],
            status
        );
        // Timed out: the last status is the result line.
        let args = ["wait", "j1", "--timeout", "300ms", "--interval", "10ms"];
        let r = run(&args, &env);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stdout.starts_with('\\'), "{status:?}: {:?}", r.stdout);
        // An error after a first answer: the status seen is the result line.
        let server = TestServer::start(move |req: &Request| {
            if req.index == 0 {
                json(200, &job_json(status, None, None))
            } else {
                json(404, r#"{"error":{"code":"JobNotFound","message":"gone"}}"#)
            }
        });
        let r = run(&args, &with_token(&server));
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert!(r.stdout.starts_with('\\'), "{status:?}: {:?}", r.stdout);
    }
    let list = serde_json::json!([
        {"id": forged[0], "displayName": forged[1]},
        {"id": forged[2], "displayName": "##[error]legacy"},
        {"id": "", "displayName": forged[0], "modifiedOn": forged[3]},
    ]);
    let server = TestServer::start(move |_| page(list.clone(), None));
    let env = with_token(&server);
    for json_flag in [false, true] {
        let mut args = vec!["configurations", "--itwin-id", "tw-1"];
        if json_flag {
            args.push("--json");
        }
        let r = run(&args, &env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout.lines().count(), if json_flag { 1 } else { 3 });
    }
}

/// Point 2: one 503 whose error message holds `##[error]…`, then
/// `Succeeded`: exit 0 and no forged annotation (the retry line and the
/// status-change lines carry server text mid-line).
#[test]
fn a_503_quoting_a_legacy_command_then_success_forges_nothing() {
    let server = TestServer::start(|req: &Request| {
        if req.index == 0 {
            let body = r###"{"error":{"code":"##[warning]c","message":"busy ##[error title=x]forged ::error::y"}}"###;
            Action::Raw(response(503, &[("Retry-After", "0")], body.as_bytes()))
        } else {
            json(200, &job_json("Succeeded", None, None))
        }
    });
    let r = run(&["wait", "j1", "--interval", "10ms"], &with_token(&server));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("retrying"), "{}", r.stderr);
    assert!(!r.stderr.contains("##["), "{}", r.stderr);
}

/// Point 3: a `Failed` job whose message quotes the EC3 token (raw and
/// JSON-escaped) during a wait: not in the `message` output, `--json`, the
/// log or the summary, in any spelling (the Markdown-escaped one included).
#[test]
fn the_ec3_token_quoted_by_a_failed_wait_is_redacted_everywhere() {
    let ec3 = "ec3.s3cret_token-v4lue+/x";
    let message = format!(
        "EC3 refused token {ec3} (as JSON: {})",
        ec3.replace('/', "\\/")
    );
    let server = TestServer::start(move |_| {
        let body = job_json("Failed", Some(&message), None).replace("\\\\/", "\\/");
        json(200, &body)
    });
    let mut env = with_token(&server);
    env.push(("EC3_BEARER_TOKEN", ec3.to_owned()));
    for args in [&["wait", "j1"][..], &["wait", "j1", "--json"]] {
        let r = run(args, &env);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let markdown = r"ec3\.s3cret\_token\-v4lue\+/x";
        for line in r.everything().lines() {
            if line.starts_with("::add-mask::") {
                continue;
            }
            for spelling in [ec3, markdown, "s3cret_token", "s3cret\\_token"] {
                assert!(!line.contains(spelling), "{spelling} leaked: {line}");
            }
        }
        assert!(
            r.output("message").contains("***"),
            "{}",
            r.output("message")
        );
        assert!(r.summary.contains("\\*\\*\\*"), "{}", r.summary);
    }
}

/// Point 4: a secret quoted JSON-escaped (`\/`, `\u002B`), and the Basic
/// `Authorization` value of the token request quoted back, never come out.
#[test]
fn json_escaped_secrets_and_the_quoted_basic_value_are_redacted() {
    let (id, secret) = ("ec3-gate-client", "client/s3cret+value");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let escaped = secret.replace('/', "\\/").replace('+', "\\u002B");
    let answer = format!(
        r#"{{"error":"invalid_client","error_description":"Basic {basic} with secret {escaped} refused"}}"#
    );
    let token = TestServer::start(move |_| json(401, &answer));
    let api = TestServer::start(|_| json(200, &job_json("Succeeded", None, None)));
    let env = vec![
        ("ITWIN_CLIENT_ID", id.to_owned()),
        ("ITWIN_CLIENT_SECRET", secret.to_owned()),
        ("ITWIN_AUTHORITY", token.url.clone()),
        ("ITWIN_API_URL", api.url.clone()),
    ];
    let r = run(&["wait", "j1"], &env);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("***"), "{}", r.stderr);
    for line in r.everything().lines() {
        if line.starts_with("::add-mask::") {
            continue;
        }
        for spelling in [secret, &basic, &escaped, "s3cret"] {
            assert!(!line.contains(spelling), "{spelling} leaked: {line}");
        }
    }
}

/// Point 5: `http://NAME.localhost` is pinned to loopback (never resolved
/// through DNS), and a redirect from a loopback http API to a plain-http
/// host off loopback is refused, not followed.
#[test]
fn loopback_names_are_pinned_and_plain_http_never_leaves_loopback() {
    let server = TestServer::start(|_| json(200, &job_json("Succeeded", None, None)));
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    for name in ["ec3-test.localhost", "localhost.", "A.B.LOCALHOST"] {
        let env = vec![
            ("ITWIN_ACCESS_TOKEN", TOKEN.to_owned()),
            ("ITWIN_API_URL", format!("http://{name}:{port}")),
        ];
        let r = run(&["wait", "j1"], &env);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    }
    // `.invalid` never resolves, so only the rule can answer this quickly
    // and by name; the TEST-NET address is refused the same way.
    for target in [
        "http://ec3.invalid/x",
        "http://192.0.2.1:9/x",
        "http://localhost.evil.example/x",
    ] {
        let redirecting =
            TestServer::start(move |_| Action::Raw(response(302, &[("Location", target)], b"")));
        let r = run(&["wait", "j1"], &with_token(&redirecting));
        assert_eq!(r.code, 6, "{target}: {}", r.stderr);
        assert!(r.stderr.contains("not loopback"), "{target}: {}", r.stderr);
        assert_eq!(redirecting.requests(), 1, "refused at once, not retried");
    }
}

/// Point 6: `configurations` keeps a bounded list whatever the page count
/// (100 pages of 1 MiB took over 1 GB), and a `next` seen before is a loop.
#[test]
fn configurations_are_bounded_and_a_loop_is_an_error() {
    // Pages of about 1 MiB, linking on forever.
    let server = TestServer::start(|req: &Request| {
        let n = req.index;
        let items: Vec<_> = (0..5000)
            .map(|i| serde_json::json!({"id": format!("c{n}-{i}"), "displayName": "x".repeat(150)}))
            .collect();
        let next = format!("{}?iTwinId=tw-1&page={}", CONFIGURATIONS, n + 1);
        page(
            serde_json::Value::Array(items),
            Some(format!("http://{}{next}", req.header("host").unwrap())),
        )
    });
    let env = with_token(&server);
    let r = run(&["configurations", "--itwin-id", "tw-1"], &env);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than ec3-gate keeps"),
        "{}",
        r.stderr
    );
    assert!(server.requests() <= 3, "{} pages read", server.requests());

    // Page 1 -> page 2 -> page 1.
    let server = TestServer::start(|req: &Request| {
        let host = req.header("host").unwrap().to_owned();
        let first = format!("http://{host}{CONFIGURATIONS}?iTwinId=tw-1");
        let second = format!("{first}&page=2");
        let item = serde_json::json!([{"id": format!("c{}", req.index)}]);
        if req.path().contains("page=2") {
            page(item, Some(first))
        } else {
            page(item, Some(second))
        }
    });
    let r = run(
        &["configurations", "--itwin-id", "tw-1"],
        &with_token(&server),
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("loop"), "{}", r.stderr);
    assert_eq!(server.requests(), 2);
}

/// Point 9: annotations and the summary render server text inert: no raw
/// ESC sequence, OSC-8 link, NUL, BEL or bidi override in any line, and no
/// link, autolink or HTML in the summary.
#[test]
fn annotations_and_the_summary_render_server_text_inert() {
    let message = "red \u{1b}[31mtext\u{1b}[0m \u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7} \
        nul\u{0} bel\u{7} \u{202e}desrever\u{202c} zero\u{200b}width \
        mail evil@example.com, see https://evil.example/x or www.evil.example <img src=x onerror=alert(1)>";
    let server = TestServer::start(move |_| json(200, &job_json("Failed", Some(message), None)));
    let r = run(&["wait", "j1"], &with_token(&server));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let annotation = r
        .stderr
        .lines()
        .find(|l| l.starts_with("::error title=EC3 job failed::"))
        .unwrap();
    for line in [annotation]
        .into_iter()
        .chain(r.stdout.lines())
        .chain(r.summary.lines())
    {
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{202e}' | '\u{202c}' | '\u{200b}')),
            "{line:?}"
        );
    }
    assert!(annotation.contains("\\u{1b}[31m"), "{annotation}");
    for raw in ["evil@example.com", "https://evil", "www.evil", "<img"] {
        assert!(
            !r.summary.contains(raw),
            "{raw} in the summary:\n{}",
            r.summary
        );
    }
    assert_eq!(r.summary.lines().filter(|l| l.starts_with('|')).count(), 7);
    // The step output keeps the message exactly: outputs are values, not log lines.
    assert_eq!(r.output("message"), message);
}

/// Point 10: a variable that is not UTF-8 is a usage error (exit 2) that
/// still writes the outputs and the annotation in GitHub mode.
#[test]
fn a_non_utf8_variable_is_a_usage_error_that_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::github_command(&["wait", "j1"], &[("ITWIN_ACCESS_TOKEN", TOKEN)], &dir)
        .env("EC3_TIMEOUT", OsStr::from_bytes(b"10\xffs"))
        .output()
        .unwrap();
    let r = common::finish(out, Some(dir.path().to_owned()));
    r.assert_clean();
    r.assert_commands_intended();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let names: Vec<&str> = r.outputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["status", "message", "ec3-project-url", "job-id"]);
    // As for every usage error: nothing was sent, so nothing is known yet.
    assert_eq!(r.output("status"), "");
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("::error title=ec3-gate usage error::")
                && l.contains("EC3_TIMEOUT")
                && l.contains("UTF-8")),
        "{}",
        r.stderr
    );
}

// ---- every server field, end to end -----------------------------------------

/// Text that matters to the runner, mixed with arbitrary Unicode (no NUL:
/// a header cannot carry it; JSON bodies get it from the pieces).
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("::error::".to_owned()),
        Just(" ::warning title=EC3 job failed::".to_owned()),
        Just("\u{a0}::add-mask::".to_owned()),
        Just("##[error]".to_owned()),
        Just("##[set-output name=status;]".to_owned()),
        Just("::stop-commands::t".to_owned()),
        Just("%0A".to_owned()),
        Just("\u{1b}[2J\u{1b}]8;;https://evil.example\u{7}".to_owned()),
        Just("\u{0}\u{202e}\u{200b}\u{85}\u{2028}".to_owned()),
        Just("evil@example.com <b>|".to_owned()),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

/// A header value: printable ASCII and obs-text only, as HTTP allows.
fn header_value(text: &str) -> String {
    text.chars().filter(|c| (' '..='~').contains(c)).collect()
}

#[derive(Debug, Clone)]
struct Answer {
    kind: u8,
    status: String,
    message: Option<String>,
    link: Option<String>,
    code: String,
    error_message: String,
    configuration: (String, String, String),
    header: String,
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        0u8..5,
        hostile(),
        prop::option::of(hostile()),
        prop::option::of(hostile().prop_map(|t| format!("https://x.org/{t}"))),
        (hostile(), hostile()),
        (hostile(), hostile(), hostile()),
        hostile(),
    )
        .prop_map(
            |(kind, status, message, link, (code, error_message), configuration, header)| Answer {
                kind,
                status,
                message,
                link,
                code,
                error_message,
                configuration,
                header,
            },
        )
}

fn serve(a: &Answer, req: &Request) -> Action {
    let header = header_value(&a.header);
    let headers = [
        ("X-Hostile", header.as_str()),
        ("Retry-After", header.as_str()),
    ];
    let body = |status: u16, body: String| Action::Raw(response(status, &headers, body.as_bytes()));
    let error = serde_json::json!({"error": {"code": a.code, "message": a.error_message}});
    match a.kind {
        0 => body(
            200,
            job_json(&a.status, a.message.as_deref(), a.link.as_deref()),
        ),
        1 => body(404, error.to_string()),
        2 => body(400, error.to_string()),
        // A redirect whose target is hostile text; if followed, the job.
        3 if req.index == 0 => {
            let location = format!("/{}", header_value(&a.header).replace(' ', "%20"));
            Action::Raw(response(302, &[("Location", &location)], b""))
        }
        3 => body(
            200,
            job_json(&a.status, a.message.as_deref(), a.link.as_deref()),
        ),
        _ => {
            let (id, name, modified) = &a.configuration;
            let list = serde_json::json!({"configurations": [
                {"id": id, "displayName": name, "modifiedOn": modified, "description": a.message},
            ]});
            body(200, list.to_string())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the service puts in the status, message, link, error code and
    /// message, configuration fields, headers and `Location`, the runner
    /// finds no command ec3-gate did not write, no secret leaks, and the
    /// summary keeps its table.
    #[test]
    fn every_server_field_end_to_end(a in answer(), json_flag in any::<bool>()) {
        let shared = Arc::new(a.clone());
        let server = TestServer::start(move |req| serve(&shared, req));
        let env = with_token(&server);
        let mut args = if a.kind == 4 {
            vec!["configurations", "--itwin-id", "tw-1"]
        } else {
            vec!["status", "j1", "--timeout", "5s"]
        };
        if json_flag {
            args.push("--json");
        }
        let r = run(&args, &env);
        prop_assert!([0, 4, 5, 6, 7].contains(&r.code), "{}: {}", r.code, r.stderr);
        if a.kind != 4 {
            let rows = r.summary.lines().filter(|l| l.starts_with('|')).count();
            prop_assert_eq!(rows, 7, "{}", r.summary);
        }
    }
}
