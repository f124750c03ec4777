//! `ec3-gate doctor`: one line per step, the settings' sources, the exit
//! code of the first failure, and never a secret.

mod common;

use common::{as_text, closed_port, ec3, sim, sim_tls};
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

#[test]
fn healthy_configuration_passes_every_step() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, Some(("id", GOOD_SECRET)));
    let url = format!("https://localhost:{}", server.port());
    let out = doctor(&url, GOOD_SECRET)
        .args(["--ca-cert", pki.ca_file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", as_text(&out.stderr));
    let api = format!("API localhost:{}", server.port());
    let authority = format!("authority localhost:{}", server.port());
    for line in [
        format!("  api-url      {url} (--api-url)"),
        format!("  authority    {url} (ITWIN_AUTHORITY)"),
        "  scope        itwin-platform (default)".to_owned(),
        "✓ trust: the platform's certificates and 1 extra CA certificate(s)".to_owned(),
        format!("✓ {api} proxy: none (direct)"),
        format!("✓ {api} resolve: localhost resolved to "),
        format!("✓ {api} connect: connected to "),
        format!("✓ {api} TLS: certificate trusted; the server answered HTTP 404"),
        format!("✓ {authority} TLS: certificate trusted"),
        "✓ token: issued for the client credentials (not shown)".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&line)),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(!text.contains('✗'), "{text}");
    assert!(
        !text.contains(GOOD_SECRET) && !text.contains("issued-token"),
        "{text}"
    );
}

#[test]
fn refused_client_fails_the_token_step_with_exit_4() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, Some(("id", GOOD_SECRET)));
    let url = format!("https://localhost:{}", server.port());
    let out = doctor(&url, "wrong-secret-value")
        .env("EC3_CA_CERT", &pki.ca_pem)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}{}", as_text(&out.stderr));
    assert!(
        text.lines().any(|l| l
            == "✗ token: authentication refused \
                    (HTTP 401 invalid_client: Client authentication failed.)"),
        "{text}"
    );
    assert!(text.contains("  ca-cert      PEM text ("), "{text}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
}

#[test]
fn untrusted_certificate_fails_the_tls_step_with_exit_6() {
    let pki = Pki::new(&["localhost"]);
    let server = sim_tls(&pki, Some(("id", GOOD_SECRET)));
    let url = format!("https://localhost:{}", server.port());
    let out = doctor(&url, GOOD_SECRET).output().unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains(&format!(
            "✗ API localhost:{} TLS: network error: TLS handshake with API localhost:{}: certificate not trusted (unknown issuer",
            server.port(), server.port()
        )),
        "{text}"
    );
    // The issuer, read from the certificate without trusting it.
    assert!(
        text.lines().any(|l| l == "    issuer CN=ec3-gate test CA"),
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
    for line in [
        format!("✓ {api} proxy: through 127.0.0.1:{}", proxy.port),
        format!("✓ {api} resolve: proxy 127.0.0.1 resolved to 127.0.0.1"),
        format!(
            "✗ {api} TLS: network error: connecting to proxy 127.0.0.1:{port} (for {api}): \
             proxy 127.0.0.1:{port} refused CONNECT: 407 Proxy Authentication Required",
            port = proxy.port
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[test]
fn unresolvable_host_fails_the_resolve_step_with_exit_6() {
    let out = doctor("https://ec3-gate-doctor.invalid", GOOD_SECRET)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.lines().any(|l| l
            == "✗ API ec3-gate-doctor.invalid:443 resolve: network error: resolving API \
                ec3-gate-doctor.invalid:443: could not resolve host ec3-gate-doctor.invalid"),
        "{text}"
    );
    assert_eq!(text.matches('✗').count(), 2, "API and authority: {text}");
}

#[test]
fn refused_connection_fails_the_connect_step_with_exit_6() {
    let port = closed_port();
    let out = doctor(&format!("http://127.0.0.1:{port}"), GOOD_SECRET)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains(&format!(
            "✗ API 127.0.0.1:{port} connect: network error: connecting to API 127.0.0.1:{port}: connection refused"
        )),
        "{text}"
    );
}

#[test]
fn an_expired_jwt_is_reported_without_printing_it() {
    use base64::Engine as _;
    let server = sim(0);
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1000}"#);
    let token = format!("eyJhbGciOiJub25lIn0.{claims}.c2lnbmF0dXJl");
    let out = ec3(&[])
        .args(["doctor", "--api-url"])
        .arg(server.url())
        .env("ITWIN_ACCESS_TOKEN", &token)
        .output()
        .unwrap();
    let text = as_text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains(
            "✗ token: authentication refused (HTTP 401 TokenExpired: the given token expired "
        ),
        "{text}"
    );
    assert!(!text.contains(&claims), "{text}");
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
    assert!(
        text.lines()
            .any(|l| l == "✓ trust: no system store found: the compiled-in Mozilla roots"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "✓ token: given (not a JWT with an expiry: checked only by the service)"),
        "{text}"
    );
}
