//! Shared helpers for the integration tests: run the real binary with a
//! clean environment, and read what it wrote the way the runner does.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ec3_sim::runner::{Allowed, parse_output_file, unintended};

/// Where the tests' jobs live.
pub const JOBS: &str = "/insights/carbon-calculation/ec3/jobs";
/// A token the tests check never leaks.
pub const TOKEN: &str = "s3cr3t-t0ken.abc";
/// Where the tests' configurations live (`{CONFIGURATIONS}/{id}`: one).
pub const CONFIGURATIONS: &str = "/insights/carbon-calculation/ec3/configurations";

/// `{"configuration": …}` of neither form (no labels, no links): a job is
/// created from it without a check, the service decides.
pub fn unknown_form_configuration(id: &str) -> String {
    serde_json::json!({"configuration": {"id": id, "displayName": "Tower"}}).to_string()
}

/// For a scripted server: whether `request` reads a configuration (the
/// `GET` that comes before a job is created).
pub fn is_configuration_read(request: &ec3_sim::scripted::Request) -> bool {
    request.head.starts_with("GET ") && request.path().starts_with(CONFIGURATIONS)
}

/// The simulated service, its jobs answering `Running` `running_polls` times.
pub fn sim(running_polls: u64) -> ec3_sim::Sim {
    let options = ec3_sim::Options {
        running_polls,
        ..ec3_sim::Options::default()
    };
    ec3_sim::Sim::start(options).expect("start the simulator")
}

/// `{"job": {...}}` with a status, optional message and link.
pub fn job_json(status: &str, message: Option<&str>, link: Option<&str>) -> String {
    let links = link.map_or(
        serde_json::json!({}),
        |l| serde_json::json!({"ec3Project": {"href": l}}),
    );
    serde_json::json!({"job": {"status": status, "message": message, "_links": links}}).to_string()
}

/// A mock of `GET {path}` answering a job with `status` (for more, `create()` it).
pub fn job_mock(server: &mut mockito::Server, path: &str, status: &str) -> mockito::Mock {
    let body = job_json(status, None, None);
    server.mock("GET", path).with_body(body)
}

/// Borrows owned environment pairs for [`run`] and [`run_github`].
pub fn pairs<'a>(e: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    e.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `$GITHUB_OUTPUT` parsed by the runner's rules (GitHub mode only).
    pub outputs: Vec<(String, String)>,
    /// The raw output file.
    pub output_file: String,
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary: String,
}

impl Run {
    /// The value of one output; panics when absent or repeated.
    pub fn output(&self, name: &str) -> &str {
        let found: Vec<_> = self.outputs.iter().filter(|(k, _)| k == name).collect();
        assert_eq!(found.len(), 1, "output {name} in {:?}", self.outputs);
        &found[0].1
    }

    /// Everything the run printed or wrote.
    pub fn everything(&self) -> String {
        format!(
            "{}{}{}{}",
            self.stdout, self.stderr, self.output_file, self.summary
        )
    }

    /// Asserts no secret in any stream or file, and no panic.
    pub fn assert_clean(&self) {
        let all = self.everything();
        for secret in [
            TOKEN,
            "client-s3cret",
            "sim-token-",
            "fresh-t0ken",
            "ec3-s3cret",
        ] {
            // A token may appear only in the runner's mask command.
            for line in all.lines().filter(|l| l.contains(secret)) {
                assert!(line.starts_with("::add-mask::"), "secret leaked: {line}");
            }
        }
        assert!(!all.contains("panicked"), "panic: {all}");
        assert!(!all.contains("RUST_BACKTRACE"), "panic: {all}");
    }

    /// Asserts that the runner, reading stdout and stderr by its rules, finds
    /// no workflow command ec3-gate did not mean to write.
    pub fn assert_commands_intended(&self) {
        let allowed = Allowed::ec3_gate();
        let mut bad = unintended(&self.stdout, &allowed);
        bad.extend(unintended(&self.stderr, &allowed));
        assert!(
            bad.is_empty(),
            "unintended workflow commands:\n{}\nstdout:\n{}\nstderr:\n{}",
            bad.join("\n"),
            self.stdout,
            self.stderr
        );
    }
}

/// A command for the binary with an empty environment (no proxies, no CI).
pub fn ec3(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ec3-gate"));
    c.args(args).env_clear().stdin(Stdio::null());
    c
}

/// Runs the binary with `env`, outside GitHub mode.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = ec3(args);
    c.envs(env.iter().copied());
    finish(c.output().expect("run ec3-gate"), None)
}

/// Runs the binary in GitHub mode with fresh output and summary files.
pub fn run_github(args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut c = github_command(args, env, &dir);
    finish(
        c.output().expect("run ec3-gate"),
        Some(dir.path().to_owned()),
    )
}

/// A GitHub-mode command writing into `dir`.
pub fn github_command(args: &[&str], env: &[(&str, &str)], dir: &tempfile::TempDir) -> Command {
    let mut c = ec3(args);
    c.envs(env.iter().copied())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"));
    c
}

/// Collects a finished process and its files (`dir` in GitHub mode).
pub fn finish(out: std::process::Output, dir: Option<PathBuf>) -> Run {
    let read = |name: &str| {
        dir.as_ref()
            .and_then(|d| std::fs::read_to_string(d.join(name)).ok())
            .unwrap_or_default()
    };
    let output_file = read("output");
    let outputs = parse_output_file(&output_file).expect("the runner accepts GITHUB_OUTPUT");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs,
        output_file,
        summary: read("summary"),
    }
}

/// A process's output stream as text.
pub fn as_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Lines of `stderr` that report a retry.
pub fn retries(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("; retrying in "))
        .count()
}

/// The simulated service over HTTPS with `pki`'s certificate (jobs answer
/// `Running` twice); `client` is the one client the token endpoint accepts.
pub fn sim_tls(pki: &ec3_sim::tls::Pki, client: Option<(&str, &str)>) -> ec3_sim::Sim {
    let options = ec3_sim::Options {
        client: client.map(|(id, secret)| (id.to_owned(), secret.to_owned())),
        ..ec3_sim::Options::default()
    };
    ec3_sim::Sim::start_tls(options, pki).expect("start the simulator over TLS")
}

/// A loopback port nothing listens on.
/// Sends `child` the signal `name` (`TERM`, `INT`) with `kill`, as a runner does.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status();
    assert!(status.unwrap().success());
}

pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
