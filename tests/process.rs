//! Whole-process behaviour: one TCP connection per wait, and prompt, honest
//! exits on SIGINT/SIGTERM.

mod common;

use std::time::{Duration, Instant};

use common::{TOKEN, finish, github_command, job_json, run, signal};
use ec3_sim::scripted::{Action, TestServer, json};

#[test]
fn a_six_poll_wait_uses_one_tcp_connection() {
    let sim = common::sim(4);
    let r = run(
        &["wait", "ok-six", "--interval", "10ms"],
        &[("ITWIN_ACCESS_TOKEN", TOKEN), ("ITWIN_API_URL", sim.url())],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // Queued, Running four times, Succeeded.
    let polls = |sim: &ec3_sim::Sim| sim.stats().polls["ok-six"];
    assert_eq!(polls(&sim), 6, "polls");
    assert_eq!(sim.stats().connections, 1, "TCP connections");
    // And nothing after the terminal answer.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sim.stats().requests_after_terminal(), 0);
    assert_eq!(polls(&sim), 6);
}

#[cfg(unix)]
#[cfg(unix)]
fn interrupted(
    server: &TestServer,
    name: &str,
    interval: &str,
    settle: Duration,
) -> (common::Run, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = github_command(
        &["wait", "j1", "--interval", interval, "--timeout", "10m"],
        &[
            ("ITWIN_ACCESS_TOKEN", TOKEN),
            ("ITWIN_API_URL", &server.url),
        ],
        &dir,
    );
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(settle);
    let sent = Instant::now();
    signal(&child, name);
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    (finish(out, Some(dir.path().to_owned())), took)
}

#[cfg(unix)]
#[test]
fn sigterm_during_the_poll_sleep_exits_143_with_outputs() {
    let server = TestServer::start(|_| json(200, &job_json("Running", None, None)));
    let (r, took) = interrupted(&server, "TERM", "1h", Duration::from_millis(600));
    assert_eq!(r.code, 143, "{r:?}");
    assert_eq!((r.output("status"), r.output("job-id")), ("Running", "j1"));
    assert!(
        r.stderr.contains("interrupted by signal 15"),
        "{}",
        r.stderr
    );
    // Promptly: far less than the hour-long interval (a bound, not a benchmark).
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[cfg(unix)]
#[test]
fn sigint_during_a_stalled_request_exits_130_with_outputs() {
    let server = TestServer::start(|req| {
        if req.index == 0 {
            json(200, &job_json("Queued", None, None))
        } else {
            Action::Hang
        }
    });
    let (r, took) = interrupted(&server, "INT", "10ms", Duration::from_millis(600));
    assert_eq!(r.code, 130, "{r:?}");
    assert_eq!(r.output("status"), "Queued");
    assert!(took < Duration::from_secs(5), "{took:?}");
    r.assert_clean();
}

#[test]
fn a_server_that_never_answers_cannot_hold_the_wait_past_its_deadline() {
    let server = TestServer::start(|_| Action::Hang);
    let start = Instant::now();
    let r = run(
        &["wait", "j1", "--timeout", "1500ms"],
        &[
            ("ITWIN_ACCESS_TOKEN", TOKEN),
            ("ITWIN_API_URL", &server.url),
        ],
    );
    assert_eq!(r.code, 6, "{r:?}");
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

/// Runs the binary in a pseudo-terminal (util-linux `script`), so stderr is
/// a TTY; `None` where `script` is missing.
///
/// Linux only: macOS has BSD `script`, which has no `-c` and takes the command
/// as arguments, and Windows has no pseudo-terminal `script` at all; the
/// spinner's terminal handling is the same code on every OS.
#[cfg(target_os = "linux")]
fn in_a_terminal(server: &TestServer, extra_env: &[(&str, &str)]) -> Option<String> {
    let line = format!(
        "{} wait j1 --interval 300ms --api-url {}",
        env!("CARGO_BIN_EXE_ec3-gate"),
        server.url
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ITWIN_ACCESS_TOKEN", TOKEN)
        .env("TERM", "xterm-256color")
        .envs(extra_env.iter().copied())
        .output()
        .ok()?;
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

// Linux only: see `in_a_terminal`.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_gets_a_live_spinner_unless_it_cannot_draw_one() {
    let job = || {
        TestServer::start(|req| {
            let status = if req.index < 3 {
                "Running"
            } else {
                "Succeeded"
            };
            json(200, &job_json(status, None, None))
        })
    };
    let Some(live) = in_a_terminal(&job(), &[]) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    // The spinner redraws its line in place (carriage return + erase line) with the status.
    assert!(live.contains("\r\x1b[2K"), "{live:?}");
    assert!(live.contains("job j1 is Running"), "{live:?}");
    assert!(
        !live.contains("ec3-gate: job j1 is Running"),
        "no log lines in a terminal: {live:?}"
    );

    // The spinner has no colour: NO_COLOR leaves it alone (issue 12).
    let no_color = in_a_terminal(&job(), &[("NO_COLOR", "1")]).unwrap();
    assert!(no_color.contains("\r\x1b[2K"), "{no_color:?}");

    // A terminal that cannot draw it gets the plain lines instead.
    let plain = in_a_terminal(&job(), &[("TERM", "dumb")]).unwrap();
    assert!(!plain.contains("\x1b[2K"), "{plain:?}");
    assert!(plain.contains("ec3-gate: job j1 is Running"), "{plain:?}");
}
