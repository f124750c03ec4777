//! The C option for extra CA certificates, from a real C program against a
//! real HTTPS server whose certificate a test CA signed.

#[allow(dead_code)] // the CLI tests use the rest
#[path = "../../tests/netsim/servers.rs"]
mod netsim;
mod support;

use std::process::Command;

use support::{Lang, Link, build_program, paths, run_ok};

#[test]
fn c_program_trusts_an_extra_ca() {
    let pki = netsim::Pki::new(&["localhost"]);
    let server = netsim::Server::https(&pki);
    let exe = build_program(
        "ca_test",
        Lang::C,
        &paths().ffi("tests/c/ca_test.c"),
        Link::Static,
        &[],
    );
    let out = run_ok(
        Command::new(exe)
            .arg(format!("https://localhost:{}", server.port))
            .arg(&pki.ca_file)
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy"),
        "ca_test",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for scenario in [
        "untrusted_named",
        "ca_by_path",
        "ca_by_pem_text",
        "bad_ca_refused",
    ] {
        assert!(
            stdout.lines().any(|l| l == format!("ok - {scenario}")),
            "{scenario} not passed:\n{stdout}"
        );
    }
}
