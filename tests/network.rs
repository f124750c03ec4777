//! Real networks: TLS with certificates made at test time, a CONNECT proxy,
//! names that never resolve. Each failure must name the endpoint and cause,
//! and stop at once when waiting cannot help (exit 6).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{as_text, closed_port, ec3, retries, sim_tls};
use ec3_sim::proxy::{Proxy, ProxyMode};
use ec3_sim::tls::Pki;

/// A job of the simulator that succeeds.
const JOB: &str = "ok-net";

/// `wait` with its defaults (a 30-minute deadline) against `api`.
fn wait(api: &str) -> Command {
    let mut cmd = ec3(&[]);
    cmd.args(["wait", JOB, "--api-url", api, "--interval", "10ms"])
        .env("ITWIN_ACCESS_TOKEN", "test-token-123456");
    cmd
}

/// Runs `cmd` and checks that it failed at once (exit 6, no retry) with `cause` in its
/// error. Returns its stderr.
fn fails_at_once_naming(cmd: &mut Command, cause: &str) -> String {
    let out = cmd.output().unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains(cause), "{err}");
    assert_eq!(retries(&err), 0, "{err}");
    err
}

/// Runs `cmd` and checks that it succeeded. Returns its stdout.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", as_text(&out.stderr));
    as_text(&out.stdout)
}

#[test]
fn untrusted_certificate_fails_at_once_naming_the_problem() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    let cause = format!(
        "TLS handshake with API localhost:{}: certificate not trusted (unknown issuer",
        server.port()
    );
    fails_at_once_naming(&mut wait(server.url()), &cause);
    assert_eq!(server.stats().connections, 1);
}

#[test]
fn self_signed_certificate_is_named_as_such() {
    let pki = Pki::self_signed(&["localhost"]);
    let server = sim_tls(&pki, None);
    let cause = "certificate not trusted (self-signed)";
    fails_at_once_naming(&mut wait(server.url()), cause);
}

#[test]
fn extra_ca_by_flag_file_is_trusted() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    let out = succeeds(wait(server.url()).args(["--ca-cert", pki.ca_file.to_str().unwrap()]));
    assert_eq!(out.trim(), "Succeeded");
}

#[test]
fn extra_ca_by_environment_as_pem_text_or_path_is_trusted() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    for value in [pki.ca_pem.clone(), pki.ca_file.to_str().unwrap().to_owned()] {
        succeeds(wait(server.url()).env("EC3_CA_CERT", &value));
    }
}

// On Linux the platform's store is the system's PEM files, which
// SSL_CERT_FILE names; macOS (Keychain) and Windows (the certificate store)
// have stores of their own that the variable does not change.
#[cfg(target_os = "linux")]
#[test]
fn system_store_from_ssl_cert_file_is_trusted() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    succeeds(wait(server.url()).env("SSL_CERT_FILE", &pki.ca_file));
}

#[test]
fn unreadable_ca_cert_is_a_usage_error() {
    let out = wait("https://localhost:1")
        .args(["--ca-cert", "/nonexistent/ca.pem"])
        .output()
        .unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: --ca-cert: cannot read '/nonexistent/ca.pem'"),
        "{err}"
    );
    // The error names where the value came from.
    let out = wait("https://localhost:1")
        .env("EC3_CA_CERT", "-----BEGIN CERTIFICATE-----\nnot base64\n")
        .output()
        .unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error: EC3_CA_CERT: "), "{err}");
}

#[test]
fn certificate_for_another_name_fails_at_once_naming_the_name() {
    let pki = Pki::new(&["other.example"]);
    let server = sim_tls(&pki, None);
    let cause = "certificate not trusted (not valid for localhost)";
    fails_at_once_naming(
        wait(server.url()).args(["--ca-cert", pki.ca_file.to_str().unwrap()]),
        cause,
    );
}

#[test]
fn unresolvable_host_is_retried_briefly_then_named() {
    let started = Instant::now();
    let out = wait("https://ec3-gate-test.invalid").output().unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("error: network error: resolving API ec3-gate-test.invalid:443: could not resolve host ec3-gate-test.invalid"),
        "{err}"
    );
    // A few tries (4 in all), not the 30-minute deadline.
    assert_eq!(retries(&err), 3, "{err}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn refused_connection_is_retried_with_the_cause_in_each_line() {
    let port = closed_port();
    let out = wait(&format!("http://127.0.0.1:{port}"))
        .args(["--timeout", "2s"])
        .output()
        .unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    let cause = format!("connecting to API 127.0.0.1:{port}: connection refused");
    let lines: Vec<_> = err.lines().filter(|l| l.contains("retrying in")).collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(lines.iter().all(|l| l.contains(&cause)), "{err}");
}

#[test]
fn proxy_407_fails_at_once_naming_proxy_and_status() {
    let proxy = Proxy::start(ProxyMode::Refuse407).unwrap();
    let cause = format!(
        "proxy 127.0.0.1:{} refused CONNECT: 407 Proxy Authentication Required",
        proxy.port
    );
    let err = fails_at_once_naming(
        wait("https://api.ec3-gate-test.example")
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port)),
        &cause,
    );
    assert!(
        err.contains("(for API api.ec3-gate-test.example:443)"),
        "{err}"
    );
    assert_eq!(proxy.requests().len(), 1);
}

#[test]
fn tunnelling_proxy_works_with_tls_and_the_extra_ca() {
    let name = "api.ec3-gate-test.example";
    let pki = Pki::new(&[name]);
    let server = sim_tls(&pki, None);
    let proxy = Proxy::start(ProxyMode::TunnelTo(server.port())).unwrap();
    let out = succeeds(
        wait(&format!("https://{name}"))
            .env("HTTPS_PROXY", format!("127.0.0.1:{}", proxy.port))
            .env("EC3_CA_CERT", &pki.ca_pem),
    );
    assert_eq!(out.trim(), "Succeeded");
    let requests = proxy.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r == &format!("CONNECT {name}:443 HTTP/1.1")),
        "{requests:?}"
    );
}

#[test]
fn the_github_annotation_carries_the_same_text() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    let dir = tempfile::tempdir().unwrap();
    let out = wait(server.url())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"))
        .output()
        .unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    let text = format!(
        "network error: TLS handshake with API localhost:{}: certificate not trusted (unknown issuer",
        server.port()
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("::error title=") && l.contains(&text)),
        "{err}"
    );
}

#[test]
fn without_a_system_store_the_extra_ca_still_works() {
    // SSL_CERT_FILE naming an empty file: a machine with no CA certificates.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    let url = format!("https://localhost:{}", server.port());
    let untrusted = wait(&url).env("SSL_CERT_FILE", &empty).output().unwrap();
    assert_eq!(
        untrusted.status.code(),
        Some(6),
        "{}",
        as_text(&untrusted.stderr)
    );
    succeeds(
        wait(&url)
            .env("SSL_CERT_FILE", &empty)
            .args(["--ca-cert", pki.ca_file.to_str().unwrap()]),
    );
}

#[test]
fn the_json_object_carries_the_same_error_text() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, None);
    let out = wait(server.url()).arg("--json").output().unwrap();
    let err = as_text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    let json: serde_json::Value = serde_json::from_str(&as_text(&out.stdout)).unwrap();
    let text = json["error"].as_str().expect("an error key");
    assert!(
        text.starts_with(&format!(
            "network error: TLS handshake with API localhost:{}: certificate not trusted",
            server.port()
        )),
        "{json}"
    );
    assert!(err.contains(&format!("ec3-gate: error: {text}")), "{err}");
    assert_eq!(json["jobId"], JOB, "{json}");

    // A run that ends well keeps exactly the four keys.
    let out =
        succeeds(wait(server.url()).args(["--json", "--ca-cert", pki.ca_file.to_str().unwrap()]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["ec3ProjectUrl", "jobId", "message", "status"],
        "{json}"
    );
}
