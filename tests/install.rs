//! `scripts/action/install.sh` against a local HTTPS download host: the real
//! script, the real curl, the archives `scripts/release/package.sh` packs and
//! the manifest `scripts/release/manifest.sh` writes, as release.yml does.
//!
//! The host is a rustls server with a certificate for github.com from a CA made
//! at test time. curl reaches it through its own configuration, not a hook in
//! install.sh: `CURL_HOME/.curlrc` maps github.com:443 to the server
//! (`connect-to`) and `CURL_CA_BUNDLE` names the CA, so the URL install.sh
//! builds is the one a runner downloads.

// Unix only: install.sh is bash, and on Windows runners it runs under Git
// Bash, whose paths, curl and tar this harness does not model. CI's `action`
// job runs the action on Windows, and release.yml's smoke job downloads the
// real assets there.
#![cfg(unix)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tempfile::TempDir;

#[path = "common/release.rs"]
mod release;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The action's checkout names this version in its Cargo.toml: the default `version`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPO: &str = "ec3-gate/ec3-gate";
const TARGET: &str = "x86_64-unknown-linux-gnu";

fn archive_name() -> String {
    format!("ec3-gate-{VERSION}-{TARGET}.tar.gz")
}

fn download_path() -> String {
    format!("/{REPO}/releases/download/v{VERSION}/{}", archive_name())
}

/// A stand-in for ec3-gate that leaves a mark in `ran` when run, so a test can
/// tell that a refused binary never ran.
fn fake_binary(dir: &Path, label: &str) -> Vec<u8> {
    format!(
        "#!/bin/sh\necho {label} >>'{}'\necho 'ec3-gate {label}'\n",
        dir.join("ran").display()
    )
    .into_bytes()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg("source \"$1\" && sha256_of \"$2\"")
        .arg("-")
        .arg(Path::new(ROOT).join("scripts/action/lib.sh"))
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn write_executable(path: &Path, text: &[u8]) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The download host: HTTPS on loopback, serving the files in `dir` under any
/// path that ends in their name, and 404 for anything else.
struct Host {
    port: u16,
    ca_pem: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Host {
    fn start(dir: PathBuf) -> Host {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // Not rcgen's default name, which the leaf also gets: a leaf whose
        // issuer is its own subject looks self-signed to OpenSSL.
        ca.distinguished_name
            .push(DnType::CommonName, "ec3-gate test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["github.com".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (config, log, dir) = (config.clone(), log.clone(), dir.clone());
                std::thread::spawn(move || serve(stream, config, &log, &dir));
            }
        });
        Host {
            port,
            ca_pem: ca.pem(),
            requests,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    log: &Mutex<Vec<String>>,
    dir: &Path,
) {
    let conn = rustls::ServerConnection::new(config).unwrap();
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, stream));
    let mut line = String::new();
    // A client that gives up (a failed handshake) is no request.
    if tls.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    loop {
        let mut header = String::new();
        if tls.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    log.lock().unwrap().push(path.clone());
    let file = path.rsplit('/').next().map(|name| dir.join(name));
    let (status, body) = match file.filter(|f| f.is_file()) {
        Some(file) => ("200 OK", fs::read(file).unwrap()),
        None => ("404 Not Found", b"Not Found".to_vec()),
    };
    let tls = tls.get_mut();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(&body);
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// One runner machine with the action checked out: the real install.sh and
/// lib.sh, the repository's Cargo.toml, and a manifest of the test release.
struct Runner {
    dir: TempDir,
}

struct Install {
    code: i32,
    stdout: String,
    github_path: String,
    output: String,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::Builder::new()
            .prefix("ec3-gate-install")
            .tempdir()
            .unwrap();
        for sub in [
            "action/scripts/action",
            "tool-cache",
            "temp",
            "workspace",
            "bin",
            "release",
            "curl",
        ] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        for file in [
            "scripts/action/install.sh",
            "scripts/action/lib.sh",
            "Cargo.toml",
            "Cargo.lock",
        ] {
            fs::copy(
                Path::new(ROOT).join(file),
                dir.path().join("action").join(file),
            )
            .unwrap();
        }
        // The shipped manifest: its header, and no release yet.
        fs::copy(
            Path::new(ROOT).join("scripts/action/manifest.txt"),
            dir.path().join("action/scripts/action/manifest.txt"),
        )
        .unwrap();
        Runner { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Packs `binary` as release.yml does into `release/` and pins it in the
    /// action's manifest. Returns the archive's path.
    fn release(&self, binary: &[u8]) -> PathBuf {
        let stage = self.path("stage");
        fs::create_dir_all(&stage).unwrap();
        write_executable(&stage.join("ec3-gate"), binary);
        release::package(&stage.join("ec3-gate"), TARGET, &self.path("release"));
        let lines = release::manifest_lines(&self.path("release"));
        let manifest = self.path("action/scripts/action/manifest.txt");
        let mut text = fs::read_to_string(&manifest).unwrap();
        text.push_str(&lines);
        fs::write(manifest, text).unwrap();
        self.path("release").join(archive_name())
    }

    /// A `cargo` first on PATH that logs its arguments and puts a binary where
    /// `cargo build --target-dir DIR --release` or `--profile P` would.
    fn stub_cargo(&self) {
        let script = format!(
            r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>'{log}'
dir= profile=debug
while [ $# -gt 0 ]; do
  case $1 in
    --target-dir) dir=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --release) profile=release; shift ;;
    *) shift ;;
  esac
done
mkdir -p "$dir/$profile"
printf '#!/bin/sh\necho built\n' >"$dir/$profile/ec3-gate"
chmod +x "$dir/$profile/ec3-gate"
"#,
            log = self.path("cargo.log").display()
        );
        write_executable(&self.path("bin/cargo"), script.as_bytes());
    }

    fn cargo_calls(&self) -> String {
        fs::read_to_string(self.path("cargo.log")).unwrap_or_default()
    }

    fn cache_dir(&self) -> PathBuf {
        self.path("tool-cache/ec3-gate").join(VERSION).join("x64")
    }

    /// Runs install.sh as the action's install step does, with 127.0.0.1:`port`
    /// as github.com and `ca_pem` as the only trusted CA.
    fn install(&self, port: u16, ca_pem: &str, with: &[(&str, &str)]) -> Install {
        fs::write(self.path("ca.pem"), ca_pem).unwrap();
        fs::write(
            self.path("curl/.curlrc"),
            format!("connect-to = github.com:443:127.0.0.1:{port}\n"),
        )
        .unwrap();
        for file in ["github_path", "github_output"] {
            fs::write(self.path(file), "").unwrap();
        }
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .arg("--noprofile")
            .arg("--norc")
            .arg(self.path("action/scripts/action/install.sh"))
            // A clean environment: no proxy, no ~/.curlrc, no token of this machine.
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.path("workspace"))
            .env("CURL_HOME", self.path("curl"))
            .env("CURL_CA_BUNDLE", self.path("ca.pem"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_WORKSPACE", self.path("workspace"))
            .env("GITHUB_ACTION_PATH", self.path("action"))
            .env("GITHUB_PATH", self.path("github_path"))
            .env("GITHUB_OUTPUT", self.path("github_output"))
            .env("EC3_GATE_ACTION_REPOSITORY", REPO)
            .env("INPUT_JOB_ID", "job-1")
            .env("INPUT_ACCESS_TOKEN", "not-a-secret")
            .envs(
                with.iter()
                    .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v)),
            )
            .current_dir(self.path("workspace"))
            .output()
            .unwrap();
        Install {
            code: out.status.code().unwrap_or(-1),
            stdout: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            github_path: fs::read_to_string(self.path("github_path")).unwrap(),
            output: fs::read_to_string(self.path("github_output")).unwrap(),
        }
    }

    /// A download host serving `release/`.
    fn host(&self) -> Host {
        Host::start(self.path("release"))
    }

    fn ran(&self) -> String {
        fs::read_to_string(self.path("ran")).unwrap_or_default()
    }
}

#[test]
fn a_pinned_release_is_downloaded_verified_and_cached() {
    let runner = Runner::new();
    runner.stub_cargo();
    let good = fake_binary(runner.dir.path(), "good");
    let archive = runner.release(&good);
    let host = runner.host();

    let r = runner.install(host.port, &host.ca_pem, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        host.requests(),
        [download_path()],
        "only the archive: no SHA256SUMS"
    );
    assert!(
        r.stdout.contains(&format!(
            "sha256 verified: {}  {}",
            sha256(&archive),
            archive_name()
        )),
        "{}",
        r.stdout
    );
    let cache = runner.cache_dir();
    assert_eq!(fs::read(cache.join("ec3-gate")).unwrap(), good);
    assert!(cache.with_extension("complete").is_file());
    assert_eq!(r.github_path, format!("{}\n", cache.display()));
    assert_eq!(
        r.output,
        format!("path={}\n", cache.join("ec3-gate").display())
    );
    assert_eq!(runner.cargo_calls(), "", "no build");
    assert_eq!(runner.ran(), "", "install.sh runs nothing");

    // The next job finds it in the tool cache, checks it, and downloads nothing.
    let r = runner.install(host.port, &host.ca_pem, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "ec3-gate {VERSION} found in the tool cache (sha256 verified: {})",
            sha256(&cache.join("ec3-gate"))
        )),
        "{}",
        r.stdout
    );
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_tampered_asset_is_refused_before_anything_runs() {
    let runner = Runner::new();
    runner.stub_cargo();
    let archive = runner.release(&fake_binary(runner.dir.path(), "good"));
    let pinned = sha256(&archive);
    // The host serves another build under the same name (what a replaced asset,
    // and a replaced SHA256SUMS next to it, would look like).
    let evil = fake_binary(runner.dir.path(), "evil");
    fs::remove_file(&archive).unwrap();
    let stage = runner.path("stage");
    write_executable(&stage.join("ec3-gate"), &evil);
    release::package(&stage.join("ec3-gate"), TARGET, &runner.path("release"));
    let served = sha256(&archive);
    assert_ne!(served, pinned);
    let host = runner.host();

    let r = runner.install(host.port, &host.ca_pem, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "::error title=ec3-gate install::checksum mismatch for {}: the action's release manifest \
             pins {pinned}, the download is {served}: refusing to unpack or run it",
            archive_name()
        )),
        "{}",
        r.stdout
    );
    assert_eq!(host.requests(), [download_path()]);
    assert_eq!(runner.ran(), "", "the tampered binary never ran");
    assert!(
        !runner.path("tool-cache/ec3-gate").exists(),
        "nothing cached"
    );
    assert_eq!(
        (r.github_path.as_str(), r.output.as_str()),
        ("", ""),
        "nothing for the run step"
    );
    assert_eq!(
        runner.cargo_calls(),
        "",
        "a mismatch never falls back to a build"
    );
    let temp: Vec<_> = fs::read_dir(runner.path("temp")).unwrap().collect();
    assert!(temp.is_empty(), "the download is removed: {temp:?}");
}

#[test]
fn a_version_missing_from_the_manifest_is_refused_with_advice() {
    let runner = Runner::new();
    runner.stub_cargo();
    runner.release(&fake_binary(runner.dir.path(), "good"));
    let host = runner.host();
    let manifest = runner.path("action/scripts/action/manifest.txt");
    let advice = "so there is no checksum to verify a download against: use a released version \
                  listed there (e.g. uses: …@v0 with an empty 'version'), or 'version: source' to \
                  build from the action's checkout";

    // Another version than the one released, even one the host would serve.
    let r = runner.install(host.port, &host.ca_pem, &[("version", "9.9.9")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        r.stdout.trim_end(),
        format!(
            "::error title=ec3-gate install::ec3-gate 9.9.9 is not in this action's release \
             manifest ({}), {advice}",
            manifest.display()
        )
    );

    // The manifest as shipped before the first release: the checkout's own
    // version (the default) is not pinned, so it is refused too, not built.
    fs::copy(
        Path::new(ROOT).join("scripts/action/manifest.txt"),
        &manifest,
    )
    .unwrap();
    let r = runner.install(host.port, &host.ca_pem, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "ec3-gate {VERSION} is not in this action's release manifest"
        )),
        "{}",
        r.stdout
    );
    assert!(host.requests().is_empty(), "nothing downloaded");
    assert_eq!(runner.cargo_calls(), "", "nothing built");
    assert_eq!((r.github_path.as_str(), r.output.as_str()), ("", ""));
}

#[test]
fn a_tampered_tool_cache_entry_is_refused_and_replaced() {
    let runner = Runner::new();
    runner.stub_cargo();
    let good = fake_binary(runner.dir.path(), "good");
    runner.release(&good);
    let host = runner.host();
    // A whole-looking cache entry holding something else.
    let cache = runner.cache_dir();
    fs::create_dir_all(&cache).unwrap();
    let evil = fake_binary(runner.dir.path(), "evil");
    write_executable(&cache.join("ec3-gate"), &evil);
    fs::write(cache.with_extension("complete"), "").unwrap();
    let evil_sha = sha256(&cache.join("ec3-gate"));

    let r = runner.install(host.port, &host.ca_pem, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "::warning title=ec3-gate install::the tool cache's ec3-gate {VERSION} ({}) has sha256 \
             {evil_sha}, the release manifest pins ",
            cache.join("ec3-gate").display()
        )) && r
            .stdout
            .contains(": refusing to run it, replacing it with a verified download"),
        "{}",
        r.stdout
    );
    assert_eq!(host.requests(), [download_path()], "replaced by a download");
    assert_eq!(fs::read(cache.join("ec3-gate")).unwrap(), good);
    assert_eq!(
        r.output,
        format!("path={}\n", cache.join("ec3-gate").display())
    );
    assert_eq!(runner.ran(), "", "the tampered entry never ran");
}

/// The source build is a stub `cargo` on PATH: a real `cargo build` of the
/// action takes minutes, and tests/action_scripts/ runs one. What is tested
/// here is the decision to build and where the result goes.
#[test]
fn a_download_host_that_is_down_falls_back_to_the_source_build_with_a_notice() {
    let runner = Runner::new();
    runner.stub_cargo();
    runner.release(&fake_binary(runner.dir.path(), "good"));
    // The host's CA is trusted, but nothing listens on the port curl is sent
    // to: every connection is refused.
    let host = runner.host();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let r = runner.install(port, &host.ca_pem, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "::notice title=ec3-gate install::could not download {} of ec3-gate v{VERSION} from \
             {REPO}: building ec3-gate {VERSION} from the action's source with cargo build",
            archive_name()
        )),
        "{}",
        r.stdout
    );
    assert!(
        runner.cargo_calls().starts_with("build "),
        "{}",
        runner.cargo_calls()
    );
    let dir = runner.path("temp/ec3-gate-source/x64");
    assert_eq!(r.github_path, format!("{}\n", dir.display()));
    assert_eq!(
        r.output,
        format!("path={}\n", dir.join("ec3-gate").display())
    );
    assert!(
        !runner.cache_dir().exists(),
        "a source build is never cached as a release"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn a_release_archive_carries_the_readme_and_both_licences() {
    let dir = TempDir::new().unwrap();
    let binary = dir.path().join("ec3-gate");
    write_executable(&binary, &fake_binary(dir.path(), "good"));
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/release/package.sh"))
        .args([VERSION, TARGET])
        .arg(&binary)
        .arg(dir.path().join("release"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let unpacked = dir.path().join("unpacked");
    fs::create_dir(&unpacked).unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(dir.path().join("release").join(archive_name()))
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(tar.success());
    let top = unpacked.join(format!("ec3-gate-{VERSION}-{TARGET}"));
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        assert_eq!(
            fs::read(top.join(doc)).unwrap(),
            fs::read(Path::new(ROOT).join(doc)).unwrap(),
            "{doc}"
        );
    }
}
