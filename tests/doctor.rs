//! `ec3-gate doctor`: diagnoses a setup instead of refusing it. Every
//! setting problem is a ✗ line with its fix, every check the rest allows
//! still runs (the API and the authority each on their own), the exit code
//! is that of the first failure in the documented order, and no secret is
//! ever printed.

mod common;

use common::{as_text, closed_port, ec3, run_github, sim, sim_tls};
use ec3_sim::proxy::{Proxy, ProxyMode};
use ec3_sim::tls::Pki;

/// The client secret the simulator's token endpoint accepts (for `id`).
const GOOD_SECRET: &str = "good-secret-value";

/// `doctor` with client credentials against `url` (API and authority).
fn doctor(url: &str, secret: &str) -> std::process::Command {
    let mut cmd = ec3(&[]);
    cmd.args(["doctor", "--api-url", url])
        .env("ITWIN_AUTHORITY", url)
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", secret);
    cmd
}

/// The simulator over TLS, its CA and its URL.
struct Tls {
    pki: Pki,
    sim: ec3_sim::Sim,
    url: String,
}

fn tls() -> Tls {
    let pki = Pki::new(&["localhost"]);
    let sim = sim_tls(&pki, Some(("id", GOOD_SECRET)));
    let url = format!("https://localhost:{}", sim.port());
    Tls { pki, sim, url }
}

impl Tls {
    /// `doctor` trusting the simulator's CA, and nothing else set.
    fn doctor(&self) -> std::process::Command {
        let mut cmd = ec3(&["doctor"]);
        cmd.env("EC3_CA_CERT", &self.pki.ca_file);
        cmd
    }

    /// `role localhost:PORT`, as the check lines name a host.
    fn host(&self, role: &str) -> String {
        format!("{role} localhost:{}", self.sim.port())
    }
}

/// The ✓/✗ lines of `text`, each as its mark and the check's name (up to
/// the first `": "`), in order.
fn marks(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .map(|l| l.split(": ").next().unwrap_or(l).to_owned())
        .collect()
}

/// The ✓ lines of every step of a host that passes.
fn passing(host: &str) -> Vec<String> {
    ["proxy", "resolve", "connect", "TLS"]
        .iter()
        .map(|step| format!("✓ {host} {step}"))
        .collect()
}

/// The one line of `text` that starts with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    let found: Vec<&str> = text.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "one line {prefix:?} in\n{text}");
    found[0]
}

fn expect(parts: &[&[String]]) -> Vec<String> {
    parts.concat()
}

fn s(text: &str) -> Vec<String> {
    vec![text.to_owned()]
}

/// Issue's first case: a client id without its secret. Before, one line
/// (`error: ITWIN_CLIENT_SECRET: missing`) and exit 2, nothing checked; now
/// the table, the problem with its fix, and every network check.
#[test]
fn a_client_id_without_its_secret_is_one_problem_and_the_rest_is_checked() {
    let t = tls();
    let out = t
        .doctor()
        .env("ITWIN_CLIENT_ID", "abc")
        .env("ITWIN_API_URL", &t.url)
        .env("ITWIN_AUTHORITY", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}{}", as_text(&out.stderr));
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✗ ITWIN_CLIENT_SECRET"),
            &s("✓ trust"),
            &passing(&t.host("API")),
            &passing(&t.host("authority")),
        ]),
        "{text}"
    );
    assert_eq!(
        line(&text, "✗ "),
        "✗ ITWIN_CLIENT_SECRET: missing (ITWIN_CLIENT_ID is set); fix: set ITWIN_CLIENT_SECRET \
         to the service app's client secret, or unset ITWIN_CLIENT_ID and set ITWIN_ACCESS_TOKEN"
    );
    // The text is the one `wait` refuses the same setup with.
    let wait = ec3(&["wait", "ok-1"])
        .env("ITWIN_CLIENT_ID", "abc")
        .output()
        .unwrap();
    assert_eq!(wait.status.code(), Some(2));
    assert!(
        as_text(&wait.stderr)
            .contains("error: ITWIN_CLIENT_SECRET: missing (ITWIN_CLIENT_ID is set)"),
        "{}",
        as_text(&wait.stderr)
    );
    assert_eq!(
        line(&text, "  credentials"),
        "  credentials             a client id without its secret (ITWIN_CLIENT_ID)"
    );
    assert_eq!(text.lines().last(), Some("1 problem found"), "{text}");
    assert!(
        !text.contains("abc"),
        "the client id is never printed: {text}"
    );
}

/// Issue's second case: an insecure API URL and no credentials at all.
/// Both are problems; the authority (another host) is still checked.
#[test]
fn an_insecure_url_and_no_credentials_are_two_problems_and_the_authority_is_checked() {
    let t = tls();
    let out = t
        .doctor()
        .env("ITWIN_API_URL", "http://example.com")
        .env("ITWIN_AUTHORITY", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✗ credentials"),
            &s("✗ ITWIN_API_URL"),
            &s("✓ trust"),
            &passing(&t.host("authority")),
        ]),
        "{text}"
    );
    assert_eq!(
        line(&text, "✗ credentials"),
        "✗ credentials: none given; fix: set ITWIN_ACCESS_TOKEN, or ITWIN_CLIENT_ID and \
         ITWIN_CLIENT_SECRET (a service app's)"
    );
    assert_eq!(
        line(&text, "✗ ITWIN_API_URL"),
        "✗ ITWIN_API_URL: plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, \
         localhost); use https:// (got 'http://example.com'); fix: give an https:// URL (plain \
         http:// only to a loopback host) without user info, query or fragment, or unset it for \
         https://api.bentley.com"
    );
    assert_eq!(
        line(&text, "  api-url"),
        "  api-url                 http://example.com (ITWIN_API_URL)"
    );
    assert_eq!(text.lines().last(), Some("2 problems found"), "{text}");
}

/// Issue's third case: `EC3_TIMEOUT=banana`, which `wait` refuses, was
/// never mentioned. Now it is a problem with `wait`'s own text.
#[test]
fn a_bad_wait_timeout_is_a_problem_with_the_text_wait_uses() {
    let t = tls();
    let out = t
        .doctor()
        .env("EC3_TIMEOUT", "banana")
        .env("EC3_INTERVAL", "1ms")
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("ITWIN_API_URL", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✗ EC3_TIMEOUT"),
            &s("✗ EC3_INTERVAL"),
            &s("✓ trust"),
            &passing(&t.host("API")),
            &s("✓ token"),
        ]),
        "{text}"
    );
    let wait = ec3(&["wait", "ok-1"])
        .env("EC3_TIMEOUT", "banana")
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .output()
        .unwrap();
    let refused = as_text(&wait.stderr);
    let reason =
        "EC3_TIMEOUT: invalid duration 'banana': expected number at 0 (examples: 500ms, 30s, 15m)";
    assert!(refused.contains(&format!("error: {reason}")), "{refused}");
    assert_eq!(
        line(&text, "✗ EC3_TIMEOUT"),
        format!(
            "✗ {reason}; fix: give a duration from 1ms to 7days, such as 15m, or unset it for 30m"
        )
    );
    assert_eq!(
        line(&text, "✗ EC3_INTERVAL"),
        "✗ EC3_INTERVAL: must be from 10ms to 1h (got 1ms); fix: give a duration from 10ms to \
         1h, such as 10s, or unset it for 5s"
    );
    assert_eq!(
        line(&text, "  timeout"),
        "  timeout                 banana (EC3_TIMEOUT)"
    );
    assert!(!text.contains("opaque-token-value"), "{text}");
}

/// Issue's fourth case: the API host does not resolve. Before, doctor
/// stopped there; now the authority is checked all the way and the token
/// is fetched from it.
#[test]
fn an_api_host_that_does_not_resolve_does_not_skip_the_authority() {
    let t = tls();
    let out = t
        .doctor()
        .args(["--api-url", "https://ec3-gate-doctor.invalid"])
        .env("ITWIN_AUTHORITY", &t.url)
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", GOOD_SECRET)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    let api = "API ec3-gate-doctor.invalid:443";
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✓ trust"),
            &s(&format!("✓ {api} proxy")),
            &s(&format!("✗ {api} resolve")),
            &passing(&t.host("authority")),
            &s("✓ token"),
        ]),
        "{text}"
    );
    assert_eq!(
        line(&text, "✗ "),
        format!(
            "✗ {api} resolve: network error: resolving {api}: could not resolve host \
             ec3-gate-doctor.invalid; fix: check the host name in --api-url / ITWIN_API_URL and \
             this machine's DNS; where only a proxy reaches the internet, set HTTPS_PROXY"
        )
    );
    assert!(!text.contains(GOOD_SECRET), "{text}");
}

/// Several kinds of failure: the exit code is the first in the documented
/// order (settings 2, authentication 4, not found 5, network 6), not the
/// first line's.
#[test]
fn the_exit_code_follows_the_documented_order_not_the_line_order() {
    let t = tls();
    // Network (6) on the API, then authentication (4) at the token: 4.
    let out = t
        .doctor()
        .args(["--api-url", "https://ec3-gate-doctor.invalid"])
        .env("ITWIN_AUTHORITY", &t.url)
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", "wrong-secret-value")
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert_eq!(text.lines().last(), Some("2 problems found"), "{text}");
    // The same with a setting problem besides: 2.
    let out = t
        .doctor()
        .args(["--api-url", "https://ec3-gate-doctor.invalid"])
        .env("ITWIN_AUTHORITY", &t.url)
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", "wrong-secret-value")
        .env("EC3_MAX_REQUESTS_PER_MINUTE", "lots")
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with(
            "✗ EC3_MAX_REQUESTS_PER_MINUTE: must be a whole number, got 'lots'; fix: give a whole \
             number from 1 to "
        )),
        "{text}"
    );
}

#[test]
fn healthy_configuration_over_tls_passes_every_step() {
    let t = tls();
    let out = doctor(&t.url, GOOD_SECRET)
        .args(["--ca-cert", t.pki.ca_file.to_str().unwrap()])
        .args(["--job-id", "ok-1"])
        .args(["--configuration-id", "campus.walls-ext"])
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", as_text(&out.stderr));
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✓ trust"),
            &passing(&t.host("API")),
            &passing(&t.host("authority")),
            &s("✓ token"),
            &s("✓ job ok-1"),
            &s("✓ configuration campus.walls-ext"),
            &s("✓ extractions of iModel campus"),
        ]),
        "{text}"
    );
    let api = t.host("API");
    for prefix in [
        format!("  api-url                 {} (--api-url)", t.url),
        format!("  authority               {} (ITWIN_AUTHORITY)", t.url),
        "  scope                   itwin-platform (default)".to_owned(),
        "  max-requests-per-minute 60 (default)".to_owned(),
        "  job-id                  ok-1 (--job-id)".to_owned(),
        "✓ trust: the platform's certificates and 1 extra CA certificate(s)".to_owned(),
        format!("✓ {api} proxy: none (direct)"),
        format!("✓ {api} resolve: localhost resolved to "),
        format!("✓ {api} connect: connected to "),
        format!("✓ {api} TLS: certificate trusted; the server answered HTTP 404"),
        "✓ token: issued for the client credentials (not shown)".to_owned(),
        "✓ job ok-1: found; it is ".to_owned(),
        "✓ configuration campus.walls-ext: 'Extraction campus.walls' is extraction-based; \
         mappings walls-m1, walls-m2; iModel campus"
            .to_owned(),
        "✓ extractions of iModel campus: can be listed (the imodels_read permission is there)"
            .to_owned(),
    ] {
        line(&text, &prefix);
    }
    assert_eq!(text.lines().last(), Some("no problems found"), "{text}");
    assert!(
        as_text(&out.stderr).contains("ec3-gate: all checks passed"),
        "{}",
        as_text(&out.stderr)
    );
    assert!(
        !text.contains(GOOD_SECRET) && !text.contains("issued-token"),
        "{text}"
    );
    // Nothing was created: no job, no extraction run.
    let stats = t.sim.stats();
    assert!(stats.created.is_empty(), "{stats:?}");
    assert!(
        !stats
            .routes
            .keys()
            .any(|r| r.starts_with("POST /imodel-mappings") || r.starts_with("POST /ec3")),
        "{:?}",
        stats.routes
    );
}

/// `--configuration-id` against the simulator's configurations, in both
/// forms, and the ways an extraction-based one can be unusable.
#[test]
fn configurations_of_the_simulator_are_read_in_both_forms() {
    let t = tls();
    let run = |id: &str, token: &str| {
        let out = t
            .doctor()
            .args(["--configuration-id", id])
            .env("ITWIN_API_URL", &t.url)
            .env("ITWIN_ACCESS_TOKEN", token)
            .output()
            .unwrap();
        (out.status.code(), as_text(&out.stdout))
    };
    let (code, text) = run("tower-report", "good-token-value");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        line(&text, "✓ configuration"),
        "✓ configuration tower-report: 'Report tower' is report-based"
    );
    assert!(!text.contains("extractions"), "{text}");
    // An iModel the service does not know.
    let (code, text) = run("missing.walls-ext", "good-token-value");
    assert_eq!(code, Some(7), "{text}");
    assert_eq!(
        line(&text, "✗ "),
        "✗ extractions of iModel missing: request rejected as invalid (HTTP 404 \
         IModelNotFound: Requested iModel is not available.); fix: the service does not know \
         the configuration's iModel (deleted?): edit the configuration"
    );
    // No iModel link: nothing to list.
    let (code, text) = run("nolink-ext", "good-token-value");
    assert_eq!(code, Some(6), "{text}");
    line(
        &text,
        "✗ configuration nolink-ext: unreadable answer from the service: the configuration links no iModel",
    );
    // Not found, and not allowed.
    let (code, text) = run("nope", "good-token-value");
    assert_eq!(code, Some(7), "{text}");
    line(
        &text,
        "✗ configuration nope: request rejected as invalid (HTTP 404 ConfigurationNotFound",
    );
    let (code, text) = run("tower-report", "denied");
    assert_eq!(code, Some(4), "{text}");
    assert!(
        line(
            &text,
            "✗ configuration tower-report: authentication refused (HTTP 403"
        )
        .ends_with(
            "; fix: grant the user or service app the carbon_calculate permission on the project \
             (or make it an organization administrator)"
        ),
        "{text}"
    );
}

#[test]
fn a_job_that_is_not_found_and_one_that_is_forbidden_are_told_apart() {
    let server = sim(0);
    let run = |token: &str, job: &str| {
        ec3(&["doctor", "--job-id", job])
            .args(["--api-url", server.url()])
            .env("ITWIN_ACCESS_TOKEN", token)
            .output()
            .unwrap()
    };
    let out = run("good-token-value", "missing-1");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert_eq!(
        line(&text, "✗ "),
        "✗ job missing-1: job not found (HTTP 404 JobNotFound: Requested EC3 Job is not \
         available.); fix: check the job id: the service does not know it (a typo, or a job of \
         another project)"
    );
    let out = run("denied", "ok-1");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        line(&text, "✗ ").starts_with(
            "✗ job ok-1: authentication refused (HTTP 403 InsufficientPermissions: The user does \
             not have the carbon_calculate permission on this iTwin.); fix: grant the user or \
             service app the carbon_calculate permission on the project"
        ),
        "{text}"
    );
    // A malformed id is a setting problem, with `status`'s own text.
    let out = run("good-token-value", "a/b");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        line(
            &text,
            "✗ --job-id: invalid job id 'a/b': expected 1-128 characters"
        )
        .contains("; fix: "),
        "{text}"
    );
    // Without a usable client the job is not read, and doctor says so.
    let before = server.stats().polls.get("ok-1").copied();
    let out = ec3(&["doctor", "--job-id", "ok-1", "--api-url", server.url()])
        .env("ITWIN_CLIENT_ID", "abc")
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        line(&text, "- job"),
        "- job ok-1: not checked: needs valid settings and credentials (see above)"
    );
    assert_eq!(
        server.stats().polls.get("ok-1").copied(),
        before,
        "job read"
    );
}

/// A mock API with one configuration (read once) and the extraction list
/// of its iModel `im-7` answering the status `extractions`, read `reads`
/// times.
fn configuration_server(
    configuration: serde_json::Value,
    extractions: usize,
    reads: usize,
) -> (mockito::ServerGuard, Vec<mockito::Mock>) {
    let mut server = mockito::Server::new();
    let id = configuration["id"].as_str().unwrap().to_owned();
    let body = serde_json::json!({ "configuration": configuration }).to_string();
    let mocks = vec![
        server
            .mock(
                "GET",
                format!("/insights/carbon-calculation/ec3/configurations/{id}").as_str(),
            )
            .with_body(body)
            .expect(1)
            .create(),
        server
            .mock(
                "GET",
                "/grouping-and-mapping/datasources/imodel-mappings/extractions",
            )
            .match_query(mockito::Matcher::AllOf(vec![
                mockito::Matcher::UrlEncoded("iModelId".into(), "im-7".into()),
                mockito::Matcher::UrlEncoded("$top".into(), "1".into()),
            ]))
            .with_status(extractions)
            .with_body(r#"{"extractions":[],"_links":{}}"#)
            .expect(reads)
            .create(),
    ];
    (server, mocks)
}

fn configuration_doctor(server: &mockito::ServerGuard, id: &str) -> std::process::Output {
    ec3(&["doctor", "--configuration-id", id])
        .args(["--api-url", &server.url()])
        .env("ITWIN_ACCESS_TOKEN", "good-token-value")
        .output()
        .unwrap()
}

fn extraction_based(id: &str, imodel_link: bool) -> serde_json::Value {
    let mut links = serde_json::json!({"iTwin": {"href": "https://api.example/itwins/t-1"}});
    if imodel_link {
        links["iModel"] = serde_json::json!({"href": "https://api.example/imodels/im-7"});
    }
    serde_json::json!({
        "id": id, "displayName": "Tower",
        "labels": [
            {"name": "Walls", "mappingId": "map-1", "groupName": "w"},
            {"name": "Slabs", "mappingId": "map-2", "groupName": "s"},
            {"name": "Beams", "mappingId": "map-1", "groupName": "b"}
        ],
        "_links": links
    })
}

#[test]
fn a_configuration_is_read_with_its_form_mappings_and_imodel() {
    // Report-based: one line, and nothing about extractions.
    let report = serde_json::json!({
        "id": "cfg-report", "displayName": "Report",
        "labels": [{"name": "Walls", "reportTable": "T", "elementNameColumn": "n"}],
        "_links": {"report": {"href": "https://api.example/reports/r-1"}}
    });
    let (server, mocks) = configuration_server(report, 200, 0);
    let out = configuration_doctor(&server, "cfg-report");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        line(&text, "✓ configuration"),
        "✓ configuration cfg-report: 'Report' is report-based"
    );
    assert!(!text.contains("extractions"), "{text}");
    mocks[0].assert();
    mocks[1].assert();

    // Extraction-based: its distinct mappings, its iModel, and whether the
    // iModel's extractions can be listed.
    let (server, mocks) = configuration_server(extraction_based("cfg-ext", true), 200, 1);
    let out = configuration_doctor(&server, "cfg-ext");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        line(&text, "✓ configuration"),
        "✓ configuration cfg-ext: 'Tower' is extraction-based; mappings map-1, map-2; iModel im-7"
    );
    assert_eq!(
        line(&text, "✓ extractions"),
        "✓ extractions of iModel im-7: can be listed (the imodels_read permission is there)"
    );
    mocks[1].assert();
}

#[test]
fn an_extraction_based_configuration_without_read_permission_names_imodels_read() {
    let (server, mocks) = configuration_server(extraction_based("cfg-ext", true), 403, 1);
    let out = configuration_doctor(&server, "cfg-ext");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        line(
            &text,
            "✗ extractions of iModel im-7: authentication refused (HTTP 403)"
        )
        .ends_with(
            "; fix: grant the user or service app the imodels_read permission on the iModel's \
             iTwin: an extraction-based upload reads the iModel's extractions"
        ),
        "{text}"
    );
    mocks[1].assert();
    // Without an iModel link there is nothing to list: a problem, no request.
    let (server, mocks) = configuration_server(extraction_based("nolink-ext", false), 200, 0);
    let out = configuration_doctor(&server, "nolink-ext");
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with(
            "✗ configuration nolink-ext: unreadable answer from the service: the configuration \
             links no iModel (_links.iModel); fix: "
        )),
        "{text}"
    );
    mocks[1].assert();
}

#[test]
fn an_unknown_configuration_is_the_error_upload_would_meet() {
    let mut server = mockito::Server::new();
    let _m = server
        .mock(
            "GET",
            "/insights/carbon-calculation/ec3/configurations/nope",
        )
        .with_status(404)
        .with_body(
            r#"{"error":{"code":"ConfigurationNotFound","message":"No such configuration."}}"#,
        )
        .create();
    let out = configuration_doctor(&server, "nope");
    let text = as_text(&out.stdout);
    // 404 on a configuration is `upload`'s "rejected" (7), as for upload.
    assert_eq!(out.status.code(), Some(7), "{text}");
    assert_eq!(
        line(&text, "✗ "),
        "✗ configuration nope: request rejected as invalid (HTTP 404 ConfigurationNotFound: No \
         such configuration.); fix: check the configuration id: `ec3-gate configurations \
         --itwin-id ID` lists them"
    );
}

#[test]
fn json_gives_one_object_per_check() {
    let t = tls();
    let out = t
        .doctor()
        .arg("--json")
        .env("ITWIN_CLIENT_ID", "abc")
        .env("ITWIN_API_URL", &t.url)
        .env("ITWIN_AUTHORITY", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 10, "{text}");
    for o in &objects {
        let keys: Vec<&str> = o.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["detail", "fix", "name", "ok"], "{o}");
        assert_eq!(o["ok"].as_bool().unwrap(), o["fix"].is_null(), "{o}");
    }
    assert_eq!(
        objects[0],
        serde_json::json!({
            "name": "ITWIN_CLIENT_SECRET",
            "ok": false,
            "detail": "missing (ITWIN_CLIENT_ID is set)",
            "fix": "set ITWIN_CLIENT_SECRET to the service app's client secret, or unset \
                    ITWIN_CLIENT_ID and set ITWIN_ACCESS_TOKEN"
        })
    );
    assert_eq!(objects[1]["name"], "trust");
    assert!(as_text(&out.stderr).contains("ec3-gate: 1 problem found"));
}

#[test]
fn github_mode_annotates_each_problem_and_writes_the_table_to_the_summary() {
    let t = tls();
    let ca = t.pki.ca_file.to_str().unwrap().to_owned();
    let run = run_github(
        &["doctor", "--api-url", "https://ec3-gate-doctor.invalid"],
        &[
            ("EC3_CA_CERT", &ca),
            ("ITWIN_AUTHORITY", &t.url),
            ("ITWIN_CLIENT_ID", "abc"),
            ("EC3_TIMEOUT", "banana"),
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    // The check's name as the title, escaped as the runner needs (`:` and `,`).
    assert_eq!(errors.len(), 3, "{}", run.stderr);
    assert!(
        errors[0].starts_with(
            "::error title=input 'client-secret' (ITWIN_CLIENT_SECRET)::missing (input \
             'client-id' (ITWIN_CLIENT_ID) is set); fix: "
        ),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("::error title=input 'timeout' (EC3_TIMEOUT)::invalid duration"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].starts_with(
            "::error title=API ec3-gate-doctor.invalid%3A443 resolve::network error: resolving"
        ),
        "{}",
        errors[2]
    );
    assert!(
        run.stderr.contains("ec3-gate: 3 problems found"),
        "{}",
        run.stderr
    );
    assert!(
        run.summary
            .contains("### ec3-gate doctor: 3 problems found"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| setting | value | from |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| credentials | a client id without its secret |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| ✗ | input 'timeout' \\(EC3\\_TIMEOUT\\) | invalid duration 'banana'"),
        "{}",
        run.summary
    );
    run.assert_clean();
    // Every command is intended: the three annotations, titled with the
    // names of the failed checks (as the runner reads the escaped titles).
    let mut allowed = ec3_sim::runner::Allowed::ec3_gate();
    allowed.titles.extend(
        [
            "input 'client-secret' (ITWIN_CLIENT_SECRET)",
            "input 'timeout' (EC3_TIMEOUT)",
            "API ec3-gate-doctor.invalid:443 resolve",
        ]
        .map(str::to_owned),
    );
    let mut bad = ec3_sim::runner::unintended(&run.stdout, &allowed);
    bad.extend(ec3_sim::runner::unintended(&run.stderr, &allowed));
    assert!(bad.is_empty(), "{bad:?}\n{}", run.stderr);
}

#[test]
fn secrets_and_user_info_never_show() {
    let t = tls();
    let out = t
        .doctor()
        .env("ITWIN_API_URL", "https://user:hunter2@api.example")
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", "client-s3cret-value")
        .env("ITWIN_AUTHORITY", &t.url)
        .env("EC3_BEARER_TOKEN", "ec3-s3cret-value")
        .output()
        .unwrap();
    let text = as_text(&out.stdout) + &as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for secret in ["hunter2", "client-s3cret-value", "ec3-s3cret-value"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        line(&text, "  api-url"),
        "  api-url                 (not shown: it holds '@', user info that may be a password) \
         (ITWIN_API_URL)"
    );
    assert_eq!(
        line(&text, "  ec3-token"),
        "  ec3-token               given (not shown) (EC3_BEARER_TOKEN)"
    );
    assert!(
        line(
            &text,
            "✗ ITWIN_API_URL: URL must not contain '@' (user info)"
        )
        .contains("; fix: "),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn every_variable_that_is_not_utf8_is_its_own_problem() {
    use std::os::unix::ffi::OsStrExt as _;
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let t = tls();
    let out = t
        .doctor()
        .env("ITWIN_SCOPE", bad)
        .env("EC3_JOB_ID", bad)
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("ITWIN_API_URL", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let problems: Vec<&str> = text.lines().filter(|l| l.starts_with('✗')).collect();
    assert_eq!(problems.len(), 2, "{text}");
    for name in ["ITWIN_SCOPE", "EC3_JOB_ID"] {
        assert!(
            problems.iter().any(|l| l.starts_with(&format!(
                "✗ {name}: is not valid UTF-8 (value not shown); fix: set it again as UTF-8 text"
            ))),
            "{text}"
        );
    }
}

#[test]
fn a_given_jwt_is_read_for_expiry_audience_and_scope() {
    use base64::Engine as _;
    let server = sim(0);
    let jwt = |claims: &str| {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        (format!("eyJhbGciOiJub25lIn0.{claims}.c2lnbmF0dXJl"), claims)
    };
    let doctor = |token: &str| {
        ec3(&["doctor", "--api-url", server.url()])
            .env("ITWIN_ACCESS_TOKEN", token)
            .output()
            .unwrap()
    };
    let (expired, claims) = jwt(r#"{"exp":1000}"#);
    let out = doctor(&expired);
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        line(&text, "✗ token: ").starts_with(
            "✗ token: authentication refused (HTTP 401 TokenExpired: the given token expired "
        ),
        "{text}"
    );
    assert!(line(&text, "✗ token: ").contains("; fix: put a fresh token in ITWIN_ACCESS_TOKEN"));
    assert!(!text.contains(&claims), "{text}");
    let (scoped, _) = jwt(r#"{"exp":99999999999,"scope":["openid"],"aud":["itwin-platform"]}"#);
    let out = doctor(&scoped);
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert_eq!(
        line(&text, "✗ token: "),
        "✗ token: authentication refused (HTTP 401 InsufficientScope: the given token's scope is \
         'openid', without itwin-platform); fix: get a token for the scope itwin-platform (or the \
         one ITWIN_SCOPE names) into ITWIN_ACCESS_TOKEN"
    );
    let (early, _) = jwt(r#"{"nbf":99999999998,"exp":99999999999}"#);
    let text = as_text(&doctor(&early).stdout);
    assert!(
        line(&text, "✗ token: ").contains("TokenNotYetValid: the given token is valid only in "),
        "{text}"
    );
}

#[test]
fn refused_client_fails_the_token_step_with_exit_4() {
    let t = tls();
    let out = doctor(&t.url, "wrong-secret-value")
        .env("EC3_CA_CERT", &t.pki.ca_pem)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}{}", as_text(&out.stderr));
    assert_eq!(
        line(&text, "✗ token"),
        "✗ token: authentication refused (HTTP 401 invalid_client: Client authentication \
         failed.); fix: check ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET: a service app of the iTwin \
         Platform (developer.bentley.com), allowed the scope ITWIN_SCOPE names"
    );
    line(&text, "  ca-cert                 PEM text (");
    assert!(!text.contains("wrong-secret-value"), "{text}");
}

#[test]
fn untrusted_certificate_fails_the_tls_step_with_exit_6() {
    let t = tls();
    let out = doctor(&t.url, GOOD_SECRET).output().unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    let port = t.sim.port();
    assert!(
        line(&text, &format!("✗ API localhost:{port} TLS")).starts_with(&format!(
            "✗ API localhost:{port} TLS: network error: TLS handshake with API localhost:{port}: \
             certificate not trusted (unknown issuer"
        )),
        "{text}"
    );
    assert!(
        line(&text, &format!("✗ API localhost:{port} TLS")).ends_with(
            "; fix: if a TLS-inspecting proxy or firewall re-signs connections here, give its CA \
             certificate with --ca-cert / EC3_CA_CERT; else check --api-url / ITWIN_API_URL"
        ),
        "{text}"
    );
    // The issuer, read from the certificate without trusting it; and the
    // authority, the same server, is checked on its own.
    assert_eq!(
        text.lines()
            .filter(|l| *l == "    issuer CN=ec3-gate test CA")
            .count(),
        2,
        "{text}"
    );
    line(&text, &format!("✗ authority localhost:{port} TLS"));
}

#[test]
fn an_unusable_ca_file_skips_only_the_tls_steps() {
    let t = tls();
    let out = t
        .doctor()
        .env("EC3_CA_CERT", "/nonexistent/ca.pem")
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("ITWIN_API_URL", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let api = t.host("API");
    assert_eq!(
        marks(&text),
        [
            "✗ EC3_CA_CERT".to_owned(),
            format!("✓ {api} proxy"),
            format!("✓ {api} resolve"),
            format!("✓ {api} connect"),
            "✓ token".to_owned(),
        ],
        "{text}"
    );
}

#[test]
fn proxy_refusing_connect_fails_the_tls_step_naming_the_proxy() {
    let proxy = Proxy::start(ProxyMode::Refuse407).unwrap();
    let out = ec3(&[])
        .args(["doctor", "--api-url", "https://api.ec3-gate-test.example"])
        .env("ITWIN_ACCESS_TOKEN", "test-token-123456")
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    let api = "API api.ec3-gate-test.example:443";
    for want in [
        format!("✓ {api} proxy: through 127.0.0.1:{}", proxy.port),
        format!("✓ {api} resolve: proxy 127.0.0.1 resolved to 127.0.0.1"),
        format!(
            "✗ {api} TLS: network error: connecting to proxy 127.0.0.1:{port} (for {api}): \
             proxy 127.0.0.1:{port} refused CONNECT: 407 Proxy Authentication Required; fix: \
             give the proxy's credentials in HTTPS_PROXY (http://user:password@host:port)",
            port = proxy.port
        ),
    ] {
        assert_eq!(line(&text, &want), want);
    }
}

#[test]
fn a_bad_proxy_variable_is_a_problem_and_both_hosts_would_use_it() {
    let out = ec3(&["doctor", "--api-url", "https://api.ec3-gate-test.example"])
        .env("ITWIN_CLIENT_ID", "id")
        .env("ITWIN_CLIENT_SECRET", GOOD_SECRET)
        .env("ITWIN_AUTHORITY", "https://ims.ec3-gate-test.example")
        .env("HTTPS_PROXY", "ftp://proxy.example:21")
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // One problem, not one per host; neither host can be checked.
    assert_eq!(marks(&text), ["✗ HTTPS_PROXY", "✓ trust"], "{text}");
    assert!(
        line(&text, "✗ HTTPS_PROXY: proxy scheme 'ftp' is not supported").ends_with(
            "; fix: give the proxy as http://host:port (or https://), or unset it to connect directly"
        ),
        "{text}"
    );
}

#[test]
fn refused_connection_fails_the_connect_step_with_exit_6() {
    let port = closed_port();
    let out = doctor(&format!("http://127.0.0.1:{port}"), GOOD_SECRET)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    // API and authority are the same closed port: each fails on its own.
    for role in ["API", "authority"] {
        assert!(
            line(&text, &format!("✗ {role} 127.0.0.1:{port} connect")).starts_with(&format!(
                "✗ {role} 127.0.0.1:{port} connect: network error: connecting to {role} \
                 127.0.0.1:{port}: connection refused"
            )),
            "{text}"
        );
    }
    // No token was requested (the authority was not reached), and doctor
    // says so.
    assert!(
        !text.contains("✓ token") && !text.contains("✗ token"),
        "{text}"
    );
    assert_eq!(
        line(&text, "- token"),
        "- token: not requested: needs valid settings and a reachable authority (see above)"
    );
}

#[test]
fn trust_falls_back_to_the_compiled_roots_without_a_system_store() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let server = sim(0);
    let out = ec3(&[])
        .args(["doctor", "--api-url"])
        .arg(server.url())
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("SSL_CERT_FILE", &empty)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    line(
        &text,
        "✓ trust: no system store found: the compiled-in Mozilla roots",
    );
    line(
        &text,
        "✓ token: given (not a JWT with an expiry: checked only by the service)",
    );
}

/// The extraction chain's variables are settings too: each bad one is its
/// own ✗ line with the text `upload --extract` refuses it with.
#[test]
fn bad_extraction_variables_are_each_a_problem() {
    let t = tls();
    let out = t
        .doctor()
        .env("EC3_EXTRACT", "yes")
        .env("EC3_ALLOW_PARTIAL_EXTRACTION", "1")
        .env("EC3_IMODEL_ID", "..")
        .env("EC3_CHANGESET_ID", "a/b")
        .env("EC3_MAPPING_ID", "m-1, m?2")
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("ITWIN_API_URL", &t.url)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        marks(&text),
        expect(&[
            &s("✗ EC3_MAPPING_ID #2"),
            &s("✗ EC3_IMODEL_ID"),
            &s("✗ EC3_CHANGESET_ID"),
            &s("✗ EC3_EXTRACT"),
            &s("✗ EC3_ALLOW_PARTIAL_EXTRACTION"),
            &s("✓ trust"),
            &passing(&t.host("API")),
            &s("✓ token"),
        ]),
        "{text}"
    );
    let upload = ec3(&["upload", "--configuration-id", "c-ext"])
        .env("EC3_EXTRACT", "yes")
        .env("ITWIN_ACCESS_TOKEN", "opaque-token-value")
        .env("EC3_BEARER_TOKEN", "ec3-token-value")
        .output()
        .unwrap();
    let refused = as_text(&upload.stderr);
    let reason = line(&text, "✗ EC3_EXTRACT").trim_start_matches("✗ ");
    let reason = reason.split("; fix: ").next().unwrap();
    assert!(
        refused.contains(&format!("error: {reason}")),
        "{refused}\n{reason}"
    );
    assert!(text.ends_with("5 problems found\n"), "{text}");
}
