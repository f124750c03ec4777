//! The binary opens no file of the trust store without TLS (`--help`, usage
//! errors, plain http to loopback) and each at most once with it, counted
//! by the kernel: inotify reports every open of a file in the store's
//! directories (`SSL_CERT_FILE` and `SSL_CERT_DIR` point there), whoever
//! opens it. Linux only; the core's own counts, rule by rule, are in
//! `tests/trust_store.rs`.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_text, ec3, sim, sim_tls};
use ec3_sim::tls::Pki;

/// A trust store in a temporary directory, watched for opens: the bundle
/// `bundle.pem` (two CAs that did not sign the simulator's certificate) and
/// the directory `certs/` (the simulator's CA as `ca.pem` and its hash link,
/// one of the bundle's CAs again, and a link to the bundle).
struct Store {
    dir: tempfile::TempDir,
    server: Pki,
}

impl Store {
    fn new() -> Self {
        let server = Pki::new(&["localhost"]);
        let others = [Pki::new(&["localhost"]), Pki::new(&["localhost"])];
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, format!("{}{}", others[0].ca_pem, others[1].ca_pem)).unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("ca.pem"), &server.ca_pem).unwrap();
        std::os::unix::fs::symlink("ca.pem", certs.join("1a2b3c4d.0")).unwrap();
        std::fs::write(certs.join("other.pem"), &others[0].ca_pem).unwrap();
        std::os::unix::fs::symlink(&bundle, certs.join("ca-certificates.crt")).unwrap();
        Self { dir, server }
    }

    fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// The binary with `args`, the store as its platform store, and a token.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = ec3(args);
        cmd.env("SSL_CERT_FILE", self.dir.path().join("bundle.pem"))
            .env("SSL_CERT_DIR", self.certs())
            .env("ITWIN_ACCESS_TOKEN", "trust-token");
        cmd
    }

    /// Runs `cmd` to its end and returns its exit code, its stderr, and the
    /// opens of the store's files and directories it caused, by name.
    fn opens(&self, cmd: &mut Command) -> (i32, String, BTreeMap<String, usize>) {
        let watch = Watch::new(&[self.dir.path(), &self.certs()]);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            as_text(&out.stderr),
            watch.opens(),
        )
    }
}

/// An inotify instance reporting `IN_OPEN` in some directories.
struct Watch {
    fd: i32,
    dirs: Vec<(i32, String)>,
}

impl Watch {
    fn new(dirs: &[&Path]) -> Self {
        // SAFETY: plain system calls; the path is a NUL-terminated string that
        // outlives the call.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let dirs = dirs
            .iter()
            .map(|dir| {
                let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
                let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_OPEN) };
                assert!(
                    wd >= 0,
                    "inotify_add_watch: {}",
                    std::io::Error::last_os_error()
                );
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                (wd, name)
            })
            .collect();
        Self { fd, dirs }
    }

    /// Every open so far, as `watched-dir/name` (the directory itself when
    /// `name` is empty), with how many times.
    fn opens(self) -> BTreeMap<String, usize> {
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        let mut opens = BTreeMap::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            // SAFETY: reads into a live buffer of the length given.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let mut at = 0;
            while at + HEADER <= n as usize {
                // SAFETY: the kernel wrote a whole event here; read unaligned.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                let name_bytes = &buf[at + HEADER..at + HEADER + event.len as usize];
                let name = String::from_utf8_lossy(name_bytes)
                    .trim_end_matches('\0')
                    .to_owned();
                let dir = self
                    .dirs
                    .iter()
                    .find(|(wd, _)| *wd == event.wd)
                    .map_or("?", |(_, d)| d.as_str());
                *opens.entry(format!("{dir}/{name}")).or_insert(0) += 1;
                at += HEADER + event.len as usize;
            }
        }
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.fd) };
        opens
    }
}

/// The store's top directory, as `Watch::opens` names it.
fn top(store: &Store) -> String {
    store
        .dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn help_and_usage_errors_open_no_trust_store_file() {
    let store = Store::new();
    for args in [
        &["--help"][..],
        &["status", "--help"],
        &["status"],
        &["status", "bad/id", "--api-url", "https://localhost:1"],
        &[
            "status",
            "ok-1",
            "--api-url",
            "https://localhost:1",
            "--nonsense",
        ],
        &["status", "ok-1", "--api-url", "http://192.0.2.1"],
    ] {
        let (code, err, opens) = store.opens(&mut store.command(args));
        assert!(code == 0 || code == 2, "{args:?}: exit {code}: {err}");
        assert!(opens.is_empty(), "{args:?} opened {opens:?}");
    }
    // A usage error in the extra CA itself: that file is read, not the store.
    let (code, err, opens) = store.opens(store.command(&["status", "ok-1"]).args([
        "--api-url",
        "https://localhost:1",
        "--ca-cert",
        "/nonexistent/ca.pem",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(opens.is_empty(), "{opens:?}");
}

#[test]
fn plain_http_to_loopback_opens_no_trust_store_file() {
    let store = Store::new();
    let server = sim(2);
    for args in [
        &["status", "ok-plain", "--api-url", server.url()][..],
        &[
            "wait",
            "ok-plain-wait",
            "--api-url",
            server.url(),
            "--interval",
            "10ms",
        ],
    ] {
        let (code, err, opens) = store.opens(&mut store.command(args));
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(opens.is_empty(), "{args:?} opened {opens:?}");
    }
}

#[test]
fn an_extra_ca_over_tls_reads_the_bundle_once_and_no_directory() {
    let store = Store::new();
    let server = sim_tls(&store.server, None);
    let ca_path = store.server.ca_file.to_str().unwrap().to_owned();
    let bundle_only = BTreeMap::from([(format!("{}/bundle.pem", top(&store)), 1)]);
    // --ca-cert FILE, then EC3_CA_CERT as PEM text; a wait of several polls.
    let mut by_flag = store.command(&["wait", "ok-flag", "--api-url", server.url()]);
    by_flag.args(["--interval", "10ms", "--ca-cert", &ca_path]);
    let mut by_env = store.command(&["status", "ok-env", "--api-url", server.url()]);
    by_env.env("EC3_CA_CERT", &store.server.ca_pem);
    for cmd in [&mut by_flag, &mut by_env] {
        let (code, err, opens) = store.opens(cmd);
        assert_eq!(code, 0, "{err}");
        assert_eq!(opens, bundle_only);
    }
}

#[test]
fn a_chain_only_the_directory_vouches_for_reads_each_file_once() {
    let store = Store::new();
    let server = sim_tls(&store.server, None);
    let mut wait = store.command(&["wait", "ok-dir", "--api-url", server.url()]);
    wait.args(["--interval", "10ms"]);
    let (code, err, opens) = store.opens(&mut wait);
    assert_eq!(code, 0, "{err}");
    let top = top(&store);
    // The bundle, the directory listing, then ca.pem and other.pem: the hash
    // link is ca.pem again and the bundle's link the bundle, both read already.
    let want = BTreeMap::from([
        (format!("{top}/bundle.pem"), 1),
        (format!("{top}/certs"), 1),
        ("certs/".to_owned(), 1),
        ("certs/ca.pem".to_owned(), 1),
        ("certs/other.pem".to_owned(), 1),
    ]);
    assert_eq!(opens, want);
}
