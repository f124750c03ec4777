//! The C option for extra CA certificates, from a real C program against the
//! simulated service over HTTPS, its certificate signed by a test CA.

// The C tests drive a Unix C toolchain (`cc`, pthreads, rpath): on Windows
// they are not built (the library itself is; see docs/c-api.md).
#![cfg(unix)]

mod support;

use std::process::Command;

use ec3_sim::tls::Pki;
use ec3_sim::{Options, Sim};

use support::{Lang, Link, build_program, paths, run_ok};

#[test]
fn c_program_trusts_an_extra_ca() {
    let pki = Pki::new(&["localhost"]);
    let server = Sim::start_tls(Options::default(), &pki).unwrap();
    let exe = build_program(
        "ca_test",
        Lang::C,
        &paths().ffi("tests/c/ca_test.c"),
        Link::Static,
        &[],
    );
    let out = run_ok(
        Command::new(exe)
            .arg(server.url())
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
