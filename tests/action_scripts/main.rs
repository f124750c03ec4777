//! Runs the composite action (`action.yml` and `scripts/action/*.sh`) the way the GitHub runner
//! does: each step's `run:` under `bash --noprofile --norc -eo pipefail`, with exactly the `env:`
//! that action.yml maps from the inputs, a fresh `GITHUB_OUTPUT` per step, a temporary
//! `RUNNER_TOOL_CACHE`, `RUNNER_OS=Linux` and `RUNNER_ARCH=X64`. `GITHUB_ACTION_PATH` is a
//! temporary checkout of the action with its own release manifest, which a test fills as a
//! release commit would (`scripts/release/manifest.sh`).
//!
//! Nothing reaches the internet: a stub `curl` first on `PATH` serves files from a temporary
//! directory (404 for anything else) and records its arguments. The job service is the
//! simulator (`ec3_sim::Sim`) on loopback, in this process.
//!
//! action.yml is read with a small line parser (no YAML crate among the dependencies): see
//! `runner.rs`, which holds it and the runner emulator; this file holds the tests.
#![cfg(unix)]

#[path = "../common/release.rs"]
mod release;
mod runner;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ec3_sim::{Options, Sim};
use runner::{ActionRun, Runner, env_name, expression, parse_action_yml, sha256, write_executable};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPO: &str = "example-owner/ec3-gate";
const LINUX_TARGET: &str = "x86_64-unknown-linux-gnu";

/// `with:` for a valid run; tests override single entries.
fn valid_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    with_overrides(&[("job-id", "ok-action-1")], extra)
}

/// `with:` for a valid create-then-wait run; tests override single entries.
fn create_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let create = [
        ("configuration-id", "cfg-action-1"),
        ("project-name", "Tower A build 7"),
        ("ec3-token", EC3_TOKEN),
    ];
    with_overrides(&create, extra)
}

/// `base` and an access token, each replaced by the entry of `extra` with its name.
fn with_overrides<'a>(
    base: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut with = base.to_vec();
    with.push(("access-token", "t0k3n-value"));
    for (k, v) in extra {
        with.retain(|(name, _)| name != k);
        with.push((k, v));
    }
    with
}

/// The outputs action.yml declares that a run for one job without `extract` leaves unset:
/// `jobs` is for several jobs only, the other three for `extract` only (action.yml says so).
const NOT_FOR_ONE_PLAIN_JOB: &[&str] = &["jobs", "extraction-id", "extraction-state", "stage"];

/// The EC3 token of [`create_with`]: distinctive, so any place it leaks to is found.
const EC3_TOKEN: &str = "ec3-S3CRET-t0ken-9f1c";

/// Everything a run printed, stdout and stderr of every step: the runner reads workflow
/// commands from both.
fn run_text(run: &ActionRun) -> String {
    run.steps
        .iter()
        .map(|s| format!("{}{}", s.stdout, s.stderr))
        .collect()
}

/// A bad input stops the action in its install step with exactly `expected` (one line, exit 2),
/// and run.sh, run on its own with the same inputs, refuses it identically. Returns everything
/// both printed.
fn assert_refused(runner: &Runner, with: &[(&str, &str)], expected: &str) -> String {
    let run = runner.run_action(with);
    assert_eq!(run.code(), 2, "{with:?}\n{}", run.show());
    assert_eq!(
        run.steps.len(),
        1,
        "the install step stops the action: {with:?}"
    );
    let lines: Vec<&str> = run.steps[0].stdout.lines().collect();
    assert_eq!(lines, [expected], "{with:?}\n{}", run.show());
    assert_eq!(run.steps[0].stderr, "", "{with:?}");

    // run.sh checks the inputs as well (it must be safe on its own).
    let action = parse_action_yml();
    let step = action.step("run");
    let mut env: Vec<(String, String)> = step
        .env
        .iter()
        .filter_map(|(k, v)| {
            let name = expression(v)?.strip_prefix("inputs.")?;
            Some((k.clone(), action.input(with, name)))
        })
        .collect();
    env.push(("EC3_GATE_BIN".into(), "/nonexistent/ec3-gate".into()));
    let result = runner.run_step(step, &env);
    assert_eq!(
        (result.code, result.stdout.trim_end()),
        (2, expected),
        "run.sh: {with:?}"
    );
    format!("{}{}{}", run_text(&run), result.stdout, result.stderr)
}

fn bash_lib(snippet: &str) -> Output {
    Command::new("bash")
        .args(["--noprofile", "--norc", "-euo", "pipefail", "-c"])
        .arg(format!("source \"$0\"; {snippet}"))
        .arg(Path::new(ROOT).join("scripts/action/lib.sh"))
        .output()
        .unwrap()
}

fn fake_binary() -> Vec<u8> {
    b"#!/bin/sh\necho \"fake ec3-gate $*\"\n".to_vec()
}

// ---------------------------------------------------------------------------------------------
// The job service for runs that go all the way.

/// The simulated job service, in this process: each job walks Queued, Running, then its end.
fn sim() -> Sim {
    let options = Options {
        running_polls: 1,
        ..Options::default()
    };
    Sim::start(options).unwrap()
}

/// A runner whose stub release holds the real `ec3-gate` built for this test run.
fn runner_with_real_release() -> Runner {
    let runner = Runner::new();
    runner.forbid_cargo();
    runner.publish(&fs::read(env!("CARGO_BIN_EXE_ec3-gate")).unwrap());
    runner
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn action_yml_is_thin_and_maps_every_input_through_env() {
    let action = parse_action_yml();
    assert_eq!(action.using, "composite");
    let names: Vec<&str> = action.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "job-id",
            "configuration-id",
            "project-name",
            "extraction-id",
            "extract",
            "imodel-id",
            "changeset-id",
            "allow-partial-extraction",
            "ec3-token",
            "access-token",
            "client-id",
            "client-secret",
            "api-url",
            "authority",
            "scope",
            "ca-cert",
            "timeout",
            "interval",
            "max-requests-per-minute",
            "fail-on-failed",
            "version"
        ]
    );
    for input in &action.inputs {
        let d = input
            .description
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no description", input.name));
        assert!(
            d.contains("e.g."),
            "{}: description gives no example: {d}",
            input.name
        );
    }
    let default = |n: &str| {
        action
            .inputs
            .iter()
            .find(|i| i.name == n)
            .unwrap()
            .default
            .clone()
    };
    assert_eq!(default("timeout").as_deref(), Some(""));
    assert_eq!(default("interval").as_deref(), Some(""));
    assert_eq!(default("fail-on-failed").as_deref(), Some("true"));
    assert_eq!(default("extract").as_deref(), Some("false"));
    assert_eq!(
        default("allow-partial-extraction").as_deref(),
        Some("false")
    );
    // job-id or configuration-id: neither is `required` (actionlint would then demand it in
    // every `uses:`); the scripts check that exactly one is given.
    for name in [
        "job-id",
        "configuration-id",
        "project-name",
        "extraction-id",
        "imodel-id",
        "changeset-id",
        "ec3-token",
    ] {
        assert_eq!(default(name).as_deref(), Some(""), "{name}");
    }

    let ids: Vec<&str> = action.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["install", "run"]);
    for step in &action.steps {
        // No expression inside a script: inputs reach it only through env (actions/runner#665).
        assert!(
            !step.run.contains("${{"),
            "step {} expands an expression in run:",
            step.id
        );
        let script = step.run.strip_prefix("exec ").unwrap_or(&step.run);
        assert!(
            script.starts_with("bash --noprofile --norc \"$GITHUB_ACTION_PATH/scripts/action/"),
            "step {} runs {:?}",
            step.id,
            step.run
        );
        for input in &action.inputs {
            let mapped = step.env.iter().find(|(k, _)| *k == env_name(&input.name));
            assert_eq!(
                mapped.map(|(_, v)| v.as_str()),
                Some(format!("${{{{ inputs.{} }}}}", input.name).as_str()),
                "step {} does not map input {}",
                step.id,
                input.name
            );
        }
    }

    let outputs: Vec<(&str, &str)> = action
        .outputs
        .iter()
        .map(|(n, _, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("status", "${{ steps.run.outputs.status }}"),
            ("message", "${{ steps.run.outputs.message }}"),
            (
                "ec3-project-url",
                "${{ steps.run.outputs.ec3-project-url }}"
            ),
            ("job-id", "${{ steps.run.outputs.job-id }}"),
            ("jobs", "${{ steps.run.outputs.jobs }}"),
            ("extraction-id", "${{ steps.run.outputs.extraction-id }}"),
            (
                "extraction-state",
                "${{ steps.run.outputs.extraction-state }}"
            ),
            ("stage", "${{ steps.run.outputs.stage }}"),
        ]
    );
    assert!(
        action
            .outputs
            .iter()
            .all(|(_, d, _)| d.as_deref().is_some_and(|d| d.contains("e.g.")))
    );
}

#[test]
fn bad_inputs_fail_with_the_documented_error_and_exit_2_before_any_download() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("job-id", "")],
            "::error::input 'job-id' or 'configuration-id' is required: the EC3 upload job id to wait for, \
             e.g. job-id: ${{ steps.export.outputs.job-id }}, or the EC3 configuration to create the job from \
             (with project-name and ec3-token)",
        ),
        (
            &[("access-token", "")],
            "::error::no credentials: give either 'access-token', or 'client-id' and 'client-secret' (a service application's client credentials)",
        ),
        (
            &[("access-token", ""), ("client-id", "app")],
            "::error::input 'client-id' is set but 'client-secret' is empty: give both (is the secret defined for this repository and event?)",
        ),
        (
            &[("access-token", ""), ("client-secret", "s3cr3t")],
            "::error::input 'client-secret' is set but 'client-id' is empty: give both",
        ),
        (
            &[("client-id", "app"), ("client-secret", "s3cr3t")],
            "::error::give either 'access-token' or 'client-id'/'client-secret', not both",
        ),
        (
            &[("fail-on-failed", "yes")],
            "::error::input 'fail-on-failed' must be 'true' or 'false', got 'yes'",
        ),
        (
            &[("version", "latest")],
            "::error::input 'version' must be empty (the release matching this action's ref), 'source', or a release such as 1.2.3, got 'latest'",
        ),
    ];
    let runner = Runner::new();
    runner.forbid_cargo();
    for (with, expected) in cases {
        let shown = assert_refused(&runner, &valid_with(with), expected);
        assert!(
            !shown.contains("two\nlines") && !shown.contains("two%0Alines"),
            "secret shown"
        );
    }
    assert!(
        runner.curl_calls().is_empty(),
        "nothing may be downloaded for a bad input"
    );
    assert!(!runner.cargo_was_called());
}

/// Input values are `ec3-gate`'s to check: the action installs it, and it
/// refuses a bad value before sending anything (exit 2), with an `::error`
/// naming the input, after masking the secrets. Returns what the step
/// showed, without its mask lines (the runner does not show those).
fn assert_refused_by_ec3_gate(runner: &Runner, with: &[(&str, &str)], names: &str) -> String {
    let run = runner.run_action(with);
    assert_eq!(run.code(), 2, "{with:?}\n{}", run.show());
    let step = run.step("run");
    let shown = format!("{}{}", step.stdout, step.stderr);
    let ours = "::error title=ec3-gate usage error::error: ";
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with(&format!("{ours}{names}"))),
        "{with:?}\n{}",
        run.show()
    );
    // Nothing from the value runs as a command.
    for line in shown.lines().filter(|l| l.trim_start().starts_with("::")) {
        assert!(
            line.starts_with(ours) || line.starts_with("::add-mask::"),
            "{with:?}: {line}"
        );
    }
    shown
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bad_input_values_are_refused_by_ec3_gate_naming_the_input_before_anything_is_sent() {
    let long_id = "c".repeat(257);
    let long_name = "é".repeat(257);
    let runner = runner_with_real_release();
    // One row per refused value: input, value, what ec3-gate says.
    #[rustfmt::skip]
    let waits: &[(&str, &str, &str)] = &[
        ("job-id", "../etc", "input 'job-id' (EC3_JOB_ID): invalid job id '../etc'"),
        ("access-token", "two\nlines", "input 'access-token' (ITWIN_ACCESS_TOKEN): must be"),
        ("api-url", "http://api.example.com", "input 'api-url' (ITWIN_API_URL): plain http://"),
        ("authority", "ims.bentley.com", "input 'authority' (ITWIN_AUTHORITY): URL must start"),
        ("scope", "itwin-platform\nevil", "input 'scope' (ITWIN_SCOPE): must be"),
        ("timeout", "30", "input 'timeout' (EC3_TIMEOUT): invalid duration '30'"),
        ("interval", "fast", "input 'interval' (EC3_INTERVAL): invalid duration 'fast'"),
        ("interval", "0s", "input 'interval' (EC3_INTERVAL): must be from 10ms to 1h"),
        // An injected workflow command in a value is escaped, never run.
        ("timeout", "1\n::warning::x", "input 'timeout' (EC3_TIMEOUT): invalid duration"),
    ];
    for &(input, value, names) in waits {
        let with = valid_with(&[(input, value)]);
        let shown = assert_refused_by_ec3_gate(&runner, &with, names);
        assert!(
            !shown.contains("two\nlines") && !shown.contains("lines"),
            "secret shown: {shown}"
        );
    }
    #[rustfmt::skip]
    let creates: &[(&str, &str, &str)] = &[
        ("ec3-token", "ec3-S3CRET\nsecond-line", "input 'ec3-token' (EC3_BEARER_TOKEN): must be"),
        ("configuration-id", "cfg/../x", "input 'configuration-id' (EC3_CONFIGURATION_ID): must be"),
        ("configuration-id", &long_id, "input 'configuration-id' (EC3_CONFIGURATION_ID): must be"),
        ("project-name", "Tower A\n::warning::injected", "input 'project-name' (EC3_PROJECT_NAME): must be"),
        ("project-name", "  \t ", "input 'project-name' (EC3_PROJECT_NAME): must be"),
        ("project-name", &long_name, "input 'project-name' (EC3_PROJECT_NAME): must be"),
        ("extraction-id", "ext 1", "input 'extraction-id' (EC3_EXTRACTION_ID): must be"),
        ("extract", "yes", "input 'extract' (EC3_EXTRACT): must be `true` or `false`, got 'yes'"),
    ];
    // How to extract, checked by ec3-gate's id rule.
    #[rustfmt::skip]
    let extracts: &[(&str, &str, &str)] = &[
        ("imodel-id", "../imodel", "input 'imodel-id' (EC3_IMODEL_ID): must be"),
        ("changeset-id", "cs 1", "input 'changeset-id' (EC3_CHANGESET_ID): must be"),
        ("allow-partial-extraction", "maybe", "input 'allow-partial-extraction' (EC3_ALLOW_PARTIAL_EXTRACTION): must be"),
    ];
    let with_extract = |input, value| create_with(&[("extract", "true"), (input, value)]);
    for &(input, value, names) in extracts {
        assert_refused_by_ec3_gate(&runner, &with_extract(input, value), names);
    }
    for &(input, value, names) in creates {
        let with = create_with(&[(input, value)]);
        let shown = assert_refused_by_ec3_gate(&runner, &with, names);
        for secret in [EC3_TOKEN, "ec3-S3CRET"] {
            assert!(!shown.contains(secret), "the EC3 token is shown: {input}");
        }
    }
}

#[test]
fn download_uses_hardened_curl_verifies_the_checksum_and_fills_the_tool_cache() {
    let runner = Runner::new();
    runner.forbid_cargo();
    let archive = runner.publish(&fake_binary());
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());

    // One download, the archive: its checksum comes from the action's manifest, not the host.
    let base = format!("https://github.com/{REPO}/releases/download/v{VERSION}");
    let calls = runner.curl_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let flags = [
        "--proto",
        "=https",
        "--tlsv1.2",
        "-fsSL",
        "--retry",
        "10",
        "--retry-delay",
        "2",
        "--retry-max-time",
        "60",
        "--retry-connrefused",
    ];
    assert_eq!(&calls[0][..flags.len()], flags, "{:?}", calls[0]);
    assert_eq!(calls[0].last().unwrap(), &format!("{base}/{archive}"));

    let cache = runner.cache_dir();
    let bin = cache.join("ec3-gate");
    assert!(
        cache.with_extension("complete").exists(),
        "the x64.complete marker is written"
    );
    assert_eq!(fs::read(&bin).unwrap(), fake_binary());
    assert_ne!(
        fs::metadata(&bin).unwrap().permissions().mode() & 0o111,
        0,
        "installed executable"
    );
    let step = run.step("install");
    assert_eq!(
        step.path,
        [cache.display().to_string()],
        "GITHUB_PATH gets the install dir"
    );
    assert_eq!(
        step.output("path"),
        Some(bin.display().to_string().as_str())
    );
    assert!(step.stdout.contains(&format!(
        "sha256 verified: {}  {archive}",
        sha256(&runner.path("serve").join(&archive))
    )));
    let leftovers: Vec<_> = fs::read_dir(cache.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only x64/ and x64.complete: {leftovers:?}"
    );

    // A leading `v` names the same release.
    let runner = Runner::new();
    runner.publish(&fake_binary());
    let run = runner.run_steps(
        &valid_with(&[("version", &format!("v{VERSION}"))]),
        Some("install"),
    );
    assert_eq!(run.code(), 0, "{}", run.show());
    assert_eq!(
        runner.curl_calls()[0].last().unwrap(),
        &format!("{base}/{archive}")
    );
}

#[test]
fn a_cached_binary_is_reused_without_calling_curl() {
    let runner = Runner::new();
    runner.forbid_cargo();
    runner.publish(&fake_binary());
    let first = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(first.code(), 0, "{}", first.show());
    let calls = runner.curl_calls().len();

    let second = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(second.code(), 0, "{}", second.show());
    assert_eq!(
        runner.curl_calls().len(),
        calls,
        "the second use must not download"
    );
    let step = second.step("install");
    let cached = sha256(&runner.cache_dir().join("ec3-gate"));
    assert!(
        step.stdout.contains(&format!(
            "ec3-gate {VERSION} found in the tool cache (sha256 verified: {cached})"
        )),
        "{}",
        step.stdout
    );
    assert_eq!(step.path, [runner.cache_dir().display().to_string()]);

    // A half-written entry (no .complete marker) is not trusted: it is downloaded again.
    fs::remove_file(runner.cache_dir().with_extension("complete")).unwrap();
    let third = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(third.code(), 0, "{}", third.show());
    assert_eq!(runner.curl_calls().len(), calls + 1);
}

#[test]
fn a_bad_checksum_is_refused_and_never_falls_back_to_a_build() {
    let runner = Runner::new();
    runner.forbid_cargo();
    let archive = runner.publish(&fake_binary());
    runner.repin(&archive, &"ab".repeat(32));
    let run = runner.run_action(&valid_with(&[]));
    assert_eq!(run.code(), 1, "{}", run.show());
    assert_eq!(run.steps.len(), 1, "nothing runs after a refused install");
    let error = run
        .stdout()
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap()
        .to_string();
    let actual = sha256(&runner.path("serve").join(&archive));
    assert_eq!(
        error,
        format!(
            "::error title=ec3-gate install::checksum mismatch for {archive}: the action's release \
             manifest pins {}, the download is {actual}: refusing to unpack or run it",
            "ab".repeat(32)
        )
    );
    assert!(!runner.cache_dir().exists(), "nothing is cached");
    assert!(
        !runner.cargo_was_called(),
        "a mismatch is not a missing release"
    );

    // The archive as pinned, but the binary in it is not the one pinned: refused as well.
    runner.repin(&archive, &actual);
    let name = archive.strip_suffix(".tar.gz").unwrap();
    let binary = format!("{name}/ec3-gate");
    runner.repin(&binary, &"cd".repeat(32));
    let run = runner.run_action(&valid_with(&[]));
    assert_eq!(run.code(), 1, "{}", run.show());
    // package.sh copies the binary as it is.
    fs::write(runner.path("inside"), fake_binary()).unwrap();
    let inside = sha256(&runner.path("inside"));
    assert!(
        run.stdout().contains(&format!(
            "::error title=ec3-gate install::checksum mismatch for {binary} in {archive}: the release \
             manifest pins {}, the archive holds {inside}: refusing to run it",
            "cd".repeat(32)
        )),
        "{}",
        run.show()
    );
    assert!(!runner.cache_dir().exists());
    assert!(!runner.cargo_was_called());
}

#[test]
fn windows_and_every_platform_map_to_the_release_names() {
    let table = [
        (
            "Linux",
            "X64",
            "x86_64-unknown-linux-gnu",
            "tar.gz",
            "ec3-gate",
        ),
        (
            "Linux",
            "ARM64",
            "aarch64-unknown-linux-gnu",
            "tar.gz",
            "ec3-gate",
        ),
        ("macOS", "X64", "x86_64-apple-darwin", "tar.gz", "ec3-gate"),
        (
            "macOS",
            "ARM64",
            "aarch64-apple-darwin",
            "tar.gz",
            "ec3-gate",
        ),
        (
            "Windows",
            "X64",
            "x86_64-pc-windows-msvc",
            "zip",
            "ec3-gate.exe",
        ),
        ("Windows", "ARM64", "", "zip", "ec3-gate.exe"),
        ("Linux", "ARM", "", "tar.gz", "ec3-gate"),
    ];
    for (os, arch, target, ext, exe) in table {
        let out = bash_lib(&format!(
            "target_triple {os} {arch}; archive_ext {os}; exe_name {os}"
        ));
        assert!(out.status.success());
        let expected: Vec<&str> = [target, ext, exe]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .collect::<Vec<_>>(),
            expected,
            "{os}/{arch}"
        );
    }

    // A Windows runner asks for the .zip the manifest pins (the stub host has none) and
    // reuses a cached ec3-gate.exe whose sha256 the manifest pins.
    let mut runner = Runner::new();
    runner.os = "Windows";
    runner.forbid_cargo();
    let windows = "x86_64-pc-windows-msvc";
    for version in ["9.9.9", VERSION] {
        let name = format!("ec3-gate-{version}-{windows}");
        runner.pin(version, &format!("{name}.zip"), &"ab".repeat(32));
    }
    runner.pin(
        "9.9.9",
        &format!("ec3-gate-9.9.9-{windows}/ec3-gate.exe"),
        &"cd".repeat(32),
    );
    let run = runner.run_steps(&valid_with(&[("version", "9.9.9")]), Some("install"));
    assert_eq!(run.code(), 1, "{}", run.show());
    let urls: Vec<String> = runner
        .curl_calls()
        .iter()
        .map(|c| c.last().unwrap().clone())
        .collect();
    let zip = format!("ec3-gate-9.9.9-{windows}.zip");
    assert_eq!(
        urls,
        [format!(
            "https://github.com/{REPO}/releases/download/v9.9.9/{zip}"
        )]
    );
    assert!(
        run.stdout().contains(&format!(
            "could not download {zip} of ec3-gate v9.9.9 from {REPO}, and the action's source is \
             version {VERSION}, not 9.9.9"
        )),
        "{}",
        run.show()
    );
    let cache = runner.cache_dir();
    fs::create_dir_all(&cache).unwrap();
    write_executable(&cache.join("ec3-gate.exe"), "#!/bin/sh\n");
    fs::write(cache.with_extension("complete"), "").unwrap();
    runner.pin(
        VERSION,
        &format!("ec3-gate-{VERSION}-{windows}/ec3-gate.exe"),
        &sha256(&cache.join("ec3-gate.exe")),
    );
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    assert_eq!(
        run.step("install").output("path"),
        Some(cache.join("ec3-gate.exe").display().to_string().as_str())
    );
    assert_eq!(runner.curl_calls().len(), 1, "no download for a cache hit");
}

#[test]
fn a_platform_without_a_release_and_another_version_fails_clearly() {
    let mut runner = Runner::new();
    runner.arch = "ARM";
    runner.forbid_cargo();
    // 9.9.9 is released (for other platforms), but not for 32-bit ARM, and it is not the
    // checkout's version, so there is nothing to build either.
    runner.pin(
        "9.9.9",
        &format!("ec3-gate-9.9.9-{LINUX_TARGET}.tar.gz"),
        &"ab".repeat(32),
    );
    let run = runner.run_steps(&valid_with(&[("version", "9.9.9")]), Some("install"));
    assert_eq!(run.code(), 1, "{}", run.show());
    assert_eq!(
        run.stdout().trim_end(),
        format!(
            "::error title=ec3-gate install::no prebuilt ec3-gate for Linux/ARM, and the action's source is \
             version {VERSION}, not 9.9.9: pick a released 'version' or 'source'"
        )
    );

    // A version the manifest does not list has no checksum to verify: refused, with advice.
    let run = runner.run_steps(&valid_with(&[("version", "9.9.8")]), Some("install"));
    assert_eq!(run.code(), 1, "{}", run.show());
    assert_eq!(
        run.stdout().trim_end(),
        format!(
            "::error title=ec3-gate install::ec3-gate 9.9.8 is not in this action's release manifest \
             ({}), so there is no checksum to verify a download against: use a released version \
             listed there (e.g. uses: …@v0 with an empty 'version'), or 'version: source' to build \
             from the action's checkout",
            runner.manifest().display()
        )
    );
    assert!(runner.curl_calls().is_empty());
    assert!(!runner.cargo_was_called());
}

/// Really builds: `cargo build --profile dist --locked` from this checkout, the action's source. It
/// shares this checkout's target dir (or CARGO_TARGET_DIR), so it is quick once that is warm.
#[test]
fn a_missing_release_falls_back_to_cargo_build_from_the_action_source() {
    let runner = Runner::new();
    // Pinned in the manifest, but the host does not serve it: the stub curl answers 404.
    let archive = runner.publish(&fake_binary());
    fs::remove_file(runner.path("serve").join(&archive)).unwrap();
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    let step = run.step("install");
    assert!(
        step.stdout.contains(&format!(
            "::notice title=ec3-gate install::could not download {archive} of ec3-gate v{VERSION} from {REPO}: \
             building ec3-gate {VERSION} from the action's source with cargo build --profile dist --locked"
        )),
        "{}",
        step.stdout
    );
    assert!(
        step.stdout
            .contains("::group::cargo build --profile dist --locked (")
    );
    assert_eq!(runner.curl_calls().len(), 1, "one download, then the build");
    let dir = runner.path("temp/ec3-gate-source/x64");
    assert_eq!(step.path, [dir.display().to_string()]);
    assert_eq!(
        step.output("path"),
        Some(dir.join("ec3-gate").display().to_string().as_str())
    );
    assert!(
        !runner.cache_dir().exists(),
        "a source build is never cached as a release"
    );
    let help = Command::new(dir.join("ec3-gate"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success(), "the built binary runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("wait"));

    // `version: source` builds without asking for a release at all (the same checkout: its
    // build is done already).
    let run = runner.run_steps(&valid_with(&[("version", "source")]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    assert!(
        run.stdout()
            .contains("version: source: building ec3-gate from the action's checkout")
    );
    assert_eq!(runner.curl_calls().len(), 1, "no download for 'source'");
}

#[test]
fn outputs_match_action_yml_for_a_succeeded_job() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&valid_with(&[
        ("job-id", "ok-action-1"),
        ("api-url", sim.url()),
        ("authority", sim.url()),
        ("interval", "50ms"),
        ("timeout", "60s"),
    ]));
    assert_eq!(run.code(), 0, "{}", run.show());
    let step = run.step("run");
    let mut written: Vec<&str> = step.outputs.iter().map(|(k, _)| k.as_str()).collect();
    written.sort();
    let mut declared: Vec<&str> = run.outputs.keys().map(String::as_str).collect();
    declared.sort();
    declared.retain(|name| !NOT_FOR_ONE_PLAIN_JOB.contains(name));
    assert_eq!(
        written, declared,
        "ec3-gate writes exactly the outputs action.yml declares"
    );
    let expected: BTreeMap<String, String> = [
        ("jobs", ""),
        ("extraction-id", ""),
        ("extraction-state", ""),
        ("stage", ""),
        ("status", "Succeeded"),
        ("message", ""),
        (
            "ec3-project-url",
            "https://buildingtransparency.org/ec3/buildings/ok-action-1?view=custom",
        ),
        ("job-id", "ok-action-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(run.outputs, expected);
    // ec3-gate masks what it reads, on stderr: the runner reads both streams.
    assert!(
        step.stderr.contains("::add-mask::t0k3n-value"),
        "the token is masked: {}",
        step.stderr
    );
}

/// Checks a run that waited for the simulator's Failed job: the exit `code` that
/// `fail-on-failed` asks for, and the job's status and message as outputs.
fn assert_failed_job(run: &ActionRun, fail_on_failed: &str, code: i32) {
    assert_eq!(
        run.code(),
        code,
        "fail-on-failed: {fail_on_failed}\n{}",
        run.show()
    );
    assert_eq!(run.outputs["status"], "Failed");
    assert_eq!(
        run.outputs["message"],
        "EC3 rejected the report:\nproject name already exists"
    );
}

#[test]
fn several_job_ids_one_per_line_set_every_output_action_yml_declares() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&valid_with(&[
        ("job-id", "ok-action-1\nfail-action-2\n"),
        ("api-url", sim.url()),
        ("interval", "50ms"),
        ("timeout", "60s"),
        ("max-requests-per-minute", "120"),
    ]));
    assert_eq!(run.code(), 1, "{}", run.show());
    let step = run.step("run");
    let mut written: Vec<&str> = step.outputs.iter().map(|(k, _)| k.as_str()).collect();
    written.sort();
    let mut declared: Vec<&str> = run.outputs.keys().map(String::as_str).collect();
    declared.sort();
    // The extraction outputs are for `extract` only.
    declared.retain(|name| !["extraction-id", "extraction-state", "stage"].contains(name));
    assert_eq!(
        written, declared,
        "every declared output (but extract's) is written"
    );
    assert_eq!(run.outputs["job-id"], "ok-action-1\nfail-action-2");
    assert_eq!(run.outputs["status"], "Failed");
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&run.outputs["jobs"]).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["status"], "Succeeded");
    // One annotation for the one job that did not succeed.
    let text = run_text(&run);
    assert_eq!(text.matches("::error").count(), 1, "{text}");
}

#[test]
fn a_failed_job_fails_the_step_unless_fail_on_failed_is_false() {
    let sim = sim();
    let runner = runner_with_real_release();
    for (fail_on_failed, code) in [("true", 1), ("false", 0)] {
        let with = [
            ("job-id", "fail-action-1"),
            ("client-id", "ci-app"),
            ("client-secret", "ci-s3cr3t"),
            ("api-url", sim.url()),
            ("authority", sim.url()),
            ("interval", "50ms"),
            ("fail-on-failed", fail_on_failed),
        ];
        let run = runner.run_action(&with);
        assert_failed_job(&run, fail_on_failed, code);
        assert_eq!(run.outputs["job-id"], "fail-action-1");
        // The runner reads workflow commands from stdout and stderr alike.
        let step = run.step("run");
        let commands = format!("{}{}", step.stdout, step.stderr);
        assert!(
            commands.lines().any(|l| l.starts_with("::error title=")),
            "a Failed job is annotated: {commands}"
        );
        assert!(commands.contains("::add-mask::ci-s3cr3t"));
    }
}

#[test]
fn fail_on_failed_false_does_not_hide_other_errors() {
    let sim = sim();
    let runner = runner_with_real_release();
    let cases = [
        (vec![("job-id", "no-such-job")], 5),
        (
            vec![
                ("access-token", ""),
                ("client-id", "bad-client"),
                ("client-secret", "x"),
            ],
            4,
        ),
    ];
    for (extra, code) in cases {
        let mut with = valid_with(&extra);
        with.extend([
            ("api-url", sim.url()),
            ("authority", sim.url()),
            ("fail-on-failed", "false"),
        ]);
        let run = runner.run_action(&with);
        assert_eq!(run.code(), code, "{extra:?}\n{}", run.show());
    }
}

/// With several jobs, `fail-on-failed: false` lets the step pass only when every job that did
/// not succeed Failed: one Failed and one still running at the deadline fail it with 3 (the
/// core ranks a timeout above a Failed job, so exit 1 never hides one).
#[test]
fn fail_on_failed_false_with_several_jobs_does_not_hide_a_timeout() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&valid_with(&[
        ("job-id", "fail-action-3\nslow-action-4"),
        ("api-url", sim.url()),
        ("interval", "50ms"),
        ("timeout", "2s"),
        ("max-requests-per-minute", "600"),
        ("fail-on-failed", "false"),
    ]));
    assert_eq!(run.code(), 3, "{}", run.show());
    assert_eq!(run.outputs["job-id"], "fail-action-3\nslow-action-4");
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&run.outputs["jobs"]).unwrap();
    let statuses: Vec<&str> = jobs.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[0], "Failed");
    assert!(matches!(statuses[1], "Queued" | "Running"), "{statuses:?}");
    // The timed-out job decides: its status is the step's.
    assert_eq!(run.outputs["status"], statuses[1]);
}

#[test]
fn a_cancelled_run_reaches_ec3_gate_which_exits_143_with_its_outputs() {
    let sim = sim();
    let mut runner = runner_with_real_release();
    // Install first, so the second run's install step is a tool-cache hit that is long done
    // when its SIGTERM arrives; the waiting step gets its SIGTERM mid-wait.
    let installed = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(installed.code(), 0, "{}", installed.show());
    runner.cancel_after = Some(Duration::from_millis(1500));
    let run = runner.run_action(&valid_with(&[
        ("job-id", "slow-cancelled"),
        ("api-url", sim.url()),
        ("authority", sim.url()),
        ("interval", "100ms"),
        // Should the signal miss ec3-gate, it still ends by itself (and fails this test).
        ("timeout", "10s"),
    ]));
    // The signal went to the step's bash, which had exec'd into run.sh and then ec3-gate:
    // a shell killed by it would have no exit code at all.
    assert_eq!(run.code(), 143, "{}", run.show());
    let step = run.step("run");
    assert_eq!(step.output("status"), Some("Running"));
    assert_eq!(step.output("job-id"), Some("slow-cancelled"));
}

/// Hostile-service point "the Action's URL checks echo a password from URL user info": no
/// step of the Action (its scripts or ec3-gate) shows user info from `api-url` or
/// `authority`, and no step prints a workflow command of its own but what the runner
/// check allows (the scripts print no `::add-mask::`; ec3-gate masks).
#[test]
fn no_step_echoes_url_user_info() {
    let runner = runner_with_real_release();
    for (input, url) in [
        ("api-url", "https://me:hunter2@api.example.com"),
        ("authority", "https://me:hunter2@ims.example.com"),
        ("api-url", "http://me:hunter2@127.0.0.1:9"),
    ] {
        for fail_on_failed in ["true", "false"] {
            let run = runner.run_action(&valid_with(&[
                (input, url),
                ("fail-on-failed", fail_on_failed),
            ]));
            assert_eq!(run.code(), 2, "{url}\n{}", run.show());
            let shown = run.show();
            assert!(!shown.contains("hunter2"), "{url}: {shown}");
            for step in ["install", "run"] {
                let step = run.step(step);
                for log in [&step.stdout, &step.stderr] {
                    let bad =
                        ec3_sim::runner::unintended(log, &ec3_sim::runner::Allowed::ec3_gate());
                    assert!(
                        bad.iter().all(|b| b.contains("title=ec3-gate install")),
                        "{bad:?}"
                    );
                }
            }
        }
    }
}

/// Hostile-service point "with fail-on-failed: false a cancelled run loses every output":
/// run.sh then outlives ec3-gate (it maps exit 1 to 0), so it passes the runner's SIGINT and
/// SIGTERM on; ec3-gate writes its outputs and exits 130/143.
#[test]
fn with_fail_on_failed_false_a_cancelled_run_still_reaches_ec3_gate() {
    let sim = sim();
    let mut runner = runner_with_real_release();
    let installed = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(installed.code(), 0, "{}", installed.show());
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        runner.cancel_after = Some(Duration::from_millis(1500));
        runner.cancel_signal = signal;
        let run = runner.run_action(&valid_with(&[
            ("job-id", "slow-cancelled-ff"),
            ("api-url", sim.url()),
            ("authority", sim.url()),
            ("interval", "100ms"),
            ("timeout", "10s"),
            ("fail-on-failed", "false"),
        ]));
        assert_eq!(run.code(), code, "SIG{signal}\n{}", run.show());
        let step = run.step("run");
        assert_eq!(step.output("status"), Some("Running"), "SIG{signal}");
        assert_eq!(step.output("job-id"), Some("slow-cancelled-ff"));
        assert!(
            step.stderr.contains("interrupted by signal"),
            "{}",
            step.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Creating the job: `configuration-id` instead of `job-id` runs `ec3-gate upload --wait`.

/// Whether `POST …/ec3/jobs` handed out `id` (the simulator's other ids exist without it).
fn is_created_id(sim: &Sim, id: &str) -> bool {
    sim.stats().created.iter().any(|created| created == id)
}

/// Every file under `dir`, recursively, not following links (the action's checkout links to
/// this repository's sources, which hold the test token).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![];
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            files.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    files
}

#[test]
fn bad_or_missing_create_inputs_fail_exactly_with_exit_2_before_any_download() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("job-id", "ok-action-1")],
            "::error::give either 'job-id' (wait for an existing job) or 'configuration-id' (create a job, \
             then wait for it), not both: got job-id 'ok-action-1' and configuration-id 'cfg-action-1'",
        ),
        (
            // Create inputs without configuration-id: neither job is named.
            &[("configuration-id", "")],
            "::error::input 'job-id' or 'configuration-id' is required: the EC3 upload job id to wait for, \
             e.g. job-id: ${{ steps.export.outputs.job-id }}, or the EC3 configuration to create the job from \
             (with project-name and ec3-token)",
        ),
        (
            &[("project-name", "")],
            "::error::input 'project-name' is required with 'configuration-id': the name of the EC3 project \
             to create, e.g. project-name: Tower A build ${{ github.run_number }}",
        ),
        (
            &[("ec3-token", "")],
            "::error::input 'ec3-token' is required with 'configuration-id': the EC3 (Building Transparency) \
             token the job uploads with, e.g. ec3-token: ${{ secrets.EC3_TOKEN }} (is the secret defined for \
             this repository and event?)",
        ),
        // Create-only inputs next to job-id: the job exists already, so they would be ignored.
        (
            &[("configuration-id", ""), ("job-id", "ok-action-1")],
            "::error::input 'project-name' is only for creating a job with 'configuration-id', but 'job-id' \
             names an existing job: remove 'project-name', or give 'configuration-id' instead of 'job-id'",
        ),
        (
            &[
                ("configuration-id", ""),
                ("project-name", ""),
                ("job-id", "ok-action-1"),
            ],
            "::error::input 'ec3-token' is only for creating a job with 'configuration-id', but 'job-id' \
             names an existing job: remove 'ec3-token', or give 'configuration-id' instead of 'job-id'",
        ),
        (
            &[
                ("configuration-id", ""),
                ("project-name", ""),
                ("ec3-token", ""),
                ("extraction-id", "ext-1"),
                ("job-id", "ok-action-1"),
            ],
            "::error::input 'extraction-id' is only for creating a job with 'configuration-id', but 'job-id' \
             names an existing job: remove 'extraction-id', or give 'configuration-id' instead of 'job-id'",
        ),
        (
            &[
                ("configuration-id", ""),
                ("project-name", ""),
                ("ec3-token", ""),
                ("extract", "true"),
                ("job-id", "ok-action-1"),
            ],
            "::error::input 'extract' is only for creating a job with 'configuration-id', but 'job-id' \
             names an existing job: remove 'extract', or give 'configuration-id' instead of 'job-id'",
        ),
        (
            &[
                ("configuration-id", ""),
                ("project-name", ""),
                ("ec3-token", ""),
                ("changeset-id", "changeset-1"),
                ("job-id", "ok-action-1"),
            ],
            "::error::input 'changeset-id' is only for creating a job with 'configuration-id', but 'job-id' \
             names an existing job: remove 'changeset-id', or give 'configuration-id' instead of 'job-id'",
        ),
        // How to extract, without extract: it would be ignored.
        (
            &[("imodel-id", "imodel-1")],
            "::error::input 'imodel-id' goes with 'extract: true' (it says how to extract), but 'extract' \
             is false: add extract: true, or remove 'imodel-id'",
        ),
        (
            &[("extract", "false"), ("allow-partial-extraction", "true")],
            "::error::input 'allow-partial-extraction' goes with 'extract: true' (it says how to extract), \
             but 'extract' is false: add extract: true, or remove 'allow-partial-extraction'",
        ),
        // The credential checks still apply when creating.
        (
            &[("access-token", "")],
            "::error::no credentials: give either 'access-token', or 'client-id' and 'client-secret' \
             (a service application's client credentials)",
        ),
    ];
    let runner = Runner::new();
    runner.forbid_cargo();
    for (with, expected) in cases {
        let shown = assert_refused(&runner, &create_with(with), expected);
        for secret in [EC3_TOKEN, "ec3-S3CRET"] {
            assert!(!shown.contains(secret), "the EC3 token is shown: {with:?}");
        }
    }
    assert!(
        runner.curl_calls().is_empty(),
        "nothing may be downloaded for a bad input"
    );
    assert!(!runner.cargo_was_called());
}

#[test]
fn creating_a_job_then_waiting_sets_the_outputs_action_yml_declares() {
    let sim = sim();
    let runner = runner_with_real_release();
    let base = [
        ("api-url", sim.url()),
        ("authority", sim.url()),
        ("interval", "50ms"),
        ("timeout", "60s"),
    ];
    // Report-based, extraction-based, and with client credentials instead of a token.
    let variants: [&[(&str, &str)]; 3] = [
        &[],
        &[("extraction-id", "extraction-7")],
        &[
            ("access-token", ""),
            ("client-id", "ci-app"),
            ("client-secret", "ci-s3cr3t"),
        ],
    ];
    let mut ids = vec![];
    for extra in variants {
        let with = create_with(&[&base[..], extra].concat());
        let run = runner.run_action(&with);
        assert_eq!(run.code(), 0, "{extra:?}\n{}", run.show());
        let step = run.step("run");
        let mut written: Vec<&str> = step.outputs.iter().map(|(k, _)| k.as_str()).collect();
        written.sort();
        written.dedup();
        let mut declared: Vec<&str> = run.outputs.keys().map(String::as_str).collect();
        declared.sort();
        declared.retain(|name| !NOT_FOR_ONE_PLAIN_JOB.contains(name));
        assert_eq!(
            written, declared,
            "ec3-gate writes exactly the outputs action.yml declares"
        );
        assert_eq!(
            step.outputs[0].0, "job-id",
            "the job id is written first, as soon as the job exists"
        );
        let job = run.outputs["job-id"].clone();
        assert!(
            is_created_id(&sim, &job),
            "job-id {job:?} was not created by the service"
        );
        let expected: BTreeMap<String, String> = [
            ("status", "Succeeded".to_string()),
            ("message", String::new()),
            ("ec3-project-url", ec3_sim::project_link(&job)),
            ("job-id", job.clone()),
            // For several jobs only, and with extract only.
            ("jobs", String::new()),
            ("extraction-id", String::new()),
            ("extraction-state", String::new()),
            ("stage", String::new()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(run.outputs, expected, "{extra:?}");
        assert!(
            step.stderr.contains(&format!("created job {job}")),
            "{}",
            step.stderr
        );
        ids.push(job);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each run creates its own job: {ids:?}");
}

#[test]
fn a_created_job_that_failed_fails_the_step_unless_fail_on_failed_is_false() {
    let sim = sim();
    let runner = runner_with_real_release();
    for (fail_on_failed, code) in [("true", 1), ("false", 0)] {
        let run = runner.run_action(&create_with(&[
            // The simulator fails jobs whose configuration id starts with `fail`.
            ("configuration-id", "fail-cfg-1"),
            ("api-url", sim.url()),
            ("authority", sim.url()),
            ("interval", "50ms"),
            ("fail-on-failed", fail_on_failed),
        ]));
        assert_failed_job(&run, fail_on_failed, code);
        assert_eq!(run.outputs["ec3-project-url"], "");
        let job = &run.outputs["job-id"];
        assert!(is_created_id(&sim, job), "job-id {job:?}");
        let commands = run_text(&run);
        assert!(
            commands
                .lines()
                .any(|l| l.starts_with("::error title=") && l.contains(job.as_str())),
            "a Failed job is annotated: {commands}"
        );
    }

    // fail-on-failed: false hides only a Failed job: a refused login fails the step (exit 4)
    // before anything is created, and job-id stays empty.
    let run = runner.run_action(&create_with(&[
        ("access-token", ""),
        ("client-id", "bad-client"),
        ("client-secret", "x"),
        ("api-url", sim.url()),
        ("authority", sim.url()),
        ("fail-on-failed", "false"),
    ]));
    assert_eq!(run.code(), 4, "{}", run.show());
    assert_eq!(run.outputs["job-id"], "");
}

#[test]
fn the_ec3_token_is_only_ever_printed_in_add_mask() {
    let sim = sim();
    let runner = runner_with_real_release();
    for configuration in ["cfg-mask", "fail-cfg-mask"] {
        let run = runner.run_action(&create_with(&[
            ("configuration-id", configuration),
            ("api-url", sim.url()),
            ("authority", sim.url()),
            ("interval", "50ms"),
        ]));
        assert_ne!(run.steps.len(), 1, "{}", run.show());
        let text = run_text(&run);
        let mut masked = 0;
        for line in text.lines().filter(|l| l.contains(EC3_TOKEN)) {
            assert_eq!(
                line,
                format!("::add-mask::{EC3_TOKEN}"),
                "the EC3 token is printed"
            );
            masked += 1;
        }
        assert_eq!(
            masked, 1,
            "ec3-gate masks the EC3 token before it prints anything, once: {text}"
        );
        let install = run.step("install");
        assert!(
            !format!("{}{}", install.stdout, install.stderr).contains(EC3_TOKEN),
            "the install step never sees the token"
        );
        assert!(
            run.outputs.values().all(|v| !v.contains(EC3_TOKEN)),
            "{:?}",
            run.outputs
        );
    }
    // Nor is it written anywhere: step outputs, GITHUB_PATH, the step summary, curl's arguments
    // and environment, the tool cache.
    assert!(
        runner.path("curl.env").exists(),
        "curl ran and its environment was recorded"
    );
    for file in files_under(runner.dir.path()) {
        let bytes = fs::read(&file).unwrap();
        assert!(
            !bytes
                .windows(EC3_TOKEN.len())
                .any(|w| w == EC3_TOKEN.as_bytes()),
            "the EC3 token is in {}",
            file.display()
        );
    }
}

#[test]
fn a_cancelled_wait_after_creating_still_sets_the_job_id_output() {
    let sim = sim();
    let mut runner = runner_with_real_release();
    let installed = runner.run_steps(&create_with(&[]), Some("install"));
    assert_eq!(installed.code(), 0, "{}", installed.show());
    runner.cancel_after = Some(Duration::from_millis(1500));
    let run = runner.run_action(&create_with(&[
        ("api-url", sim.url()),
        ("authority", sim.url()),
        // The first poll (Queued) comes at once; the cancellation arrives in the pause after it.
        ("interval", "5s"),
        ("timeout", "20s"),
    ]));
    assert_eq!(run.code(), 143, "{}", run.show());
    let step = run.step("run");
    let job = step.output("job-id").unwrap_or_default();
    assert!(is_created_id(&sim, job), "job-id {job:?}\n{}", run.show());
    assert_eq!(step.output("status"), Some("Queued"));
    assert_eq!(run.outputs["job-id"], job);
}

#[test]
fn ca_cert_input_trusts_a_private_ca_given_as_pem_text() {
    let pki = ec3_sim::tls::Pki::new(&["localhost"]);
    let server = Sim::start_tls(Options::default(), &pki).unwrap();
    let runner = runner_with_real_release();
    let base = [
        ("job-id", "ok-ca-cert"),
        ("api-url", server.url()),
        ("interval", "10ms"),
    ];
    let untrusted = runner.run_action(&valid_with(&base));
    assert_eq!(untrusted.code(), 6, "{}", untrusted.show());
    assert!(
        run_text(&untrusted).contains("certificate not trusted (unknown issuer"),
        "{}",
        untrusted.show()
    );
    let mut with = base.to_vec();
    with.push(("ca-cert", pki.ca_pem.as_str()));
    let trusted = runner.run_action(&valid_with(&with));
    assert_eq!(trusted.code(), 0, "{}", trusted.show());
    assert_eq!(trusted.outputs["status"], "Succeeded");
}

// ---------------------------------------------------------------------------------------------
// extract: the extraction, then the job (issue 18).

/// `with:` for an `extract` run of configuration `configuration` against `sim`.
fn extract_with<'a>(
    sim: &'a Sim,
    configuration: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let base = [
        ("configuration-id", configuration),
        ("extract", "true"),
        ("api-url", sim.url()),
        ("authority", sim.url()),
        ("interval", "50ms"),
        ("timeout", "60s"),
    ];
    create_with(&[&base[..], extra].concat())
}

/// The ids of the extractions the simulator ran, in order.
fn extraction_ids(sim: &Sim) -> Vec<String> {
    sim.stats().extractions
}

#[test]
fn extract_runs_the_extraction_then_the_job_and_sets_every_output() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&extract_with(
        &sim,
        "ok-action-ext",
        &[("imodel-id", "imodel-7"), ("changeset-id", "changeset-42")],
    ));
    assert_eq!(run.code(), 0, "{}", run.show());
    let step = run.step("run");

    // Every output action.yml declares but `jobs` (several jobs only).
    let mut written: Vec<&str> = step.outputs.iter().map(|(k, _)| k.as_str()).collect();
    written.sort();
    written.dedup();
    let mut declared: Vec<&str> = run.outputs.keys().map(String::as_str).collect();
    declared.sort();
    declared.retain(|name| *name != "jobs");
    assert_eq!(
        written, declared,
        "ec3-gate writes every output action.yml declares"
    );
    let extraction = extraction_ids(&sim);
    assert_eq!(extraction.len(), 1, "one extraction: {extraction:?}");
    let extraction = &extraction[0];
    let expected: BTreeMap<String, String> = [
        ("status", "Succeeded".to_string()),
        ("message", String::new()),
        ("ec3-project-url", ec3_sim::project_link("ok-ok-action-ext")),
        ("job-id", "ok-ok-action-ext".to_string()),
        ("jobs", String::new()),
        ("extraction-id", extraction.clone()),
        ("extraction-state", "Succeeded".to_string()),
        ("stage", "job".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(run.outputs, expected);
    // The extraction id is written as soon as it exists, before the job's.
    let position = |name: &str| step.outputs.iter().position(|(k, _)| k == name).unwrap();
    assert!(
        position("extraction-id") < position("job-id"),
        "{:?}",
        step.outputs
    );

    // What was sent: the inputs' iModel and changeset, the configuration's distinct
    // mappings; then one job with that extraction's id.
    let runs = sim.extraction_requests();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["iModelId"], "imodel-7");
    assert_eq!(runs[0]["changesetId"], "changeset-42");
    assert_eq!(
        runs[0]["mappings"],
        serde_json::json!([{"id": "ok-action-m1"}, {"id": "ok-action-m2"}])
    );
    let created = sim.created_requests();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["extractionId"], extraction.as_str());

    // The summary gains the extraction's row, above the job's.
    assert!(
        step.summary.contains(&format!(
            "| Extraction | {} (Succeeded) |",
            extraction.replace('-', "\\-")
        )),
        "{}",
        step.summary
    );
    assert!(
        step.summary.contains("| Job | ok\\-ok\\-action\\-ext |"),
        "{}",
        step.summary
    );
}

#[test]
fn a_failed_extraction_fails_the_step_and_creates_no_job() {
    let sim = sim();
    let runner = runner_with_real_release();
    // fail-on-failed: false lets a Failed extraction pass too (exit 1 is "Failed"),
    // with the same outputs and annotation.
    for (fail_on_failed, code) in [("true", 1), ("false", 0)] {
        let run = runner.run_action(&extract_with(
            &sim,
            "fail-action-ext",
            &[("fail-on-failed", fail_on_failed)],
        ));
        assert_eq!(run.code(), code, "{}", run.show());
        assert_eq!(run.outputs["stage"], "extraction");
        assert_eq!(run.outputs["extraction-state"], "Failed");
        assert!(
            run.outputs["extraction-id"].starts_with("fail-x"),
            "{:?}",
            run.outputs
        );
        assert_eq!(run.outputs["job-id"], "");
        let text = run_text(&run);
        assert!(
            text.lines()
                .any(|l| l.starts_with("::error title=EC3 extraction failed::")
                    && l.contains("fail-action-m1")),
            "{text}"
        );
        // The logs' fake workflow command never starts a line.
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("::error::fake")),
            "{text}"
        );
        assert!(run.step("run").summary.contains("(Failed) |"));
    }
    assert!(sim.created_requests().is_empty(), "no job may be created");
    assert_eq!(extraction_ids(&sim).len(), 2);
}

#[test]
fn a_partial_extraction_fails_the_step_unless_allowed() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&extract_with(&sim, "partial-action-ext", &[]));
    assert_eq!(run.code(), 1, "{}", run.show());
    assert_eq!(run.outputs["stage"], "extraction");
    assert_eq!(run.outputs["extraction-state"], "PartiallySucceeded");
    assert_eq!(run.outputs["job-id"], "");
    assert!(sim.created_requests().is_empty(), "refused: no job");

    let run = runner.run_action(&extract_with(
        &sim,
        "partial-action-ext",
        &[("allow-partial-extraction", "true")],
    ));
    assert_eq!(run.code(), 0, "{}", run.show());
    assert_eq!(run.outputs["stage"], "job");
    assert_eq!(run.outputs["extraction-state"], "PartiallySucceeded");
    assert_eq!(run.outputs["status"], "Succeeded");
    assert_eq!(sim.created_requests().len(), 1, "allowed: the job");
    let text = run_text(&run);
    assert!(
        text.lines()
            .any(|l| l.starts_with("::warning") && l.contains("PartiallySucceeded")),
        "a warning annotation: {text}"
    );
}

#[test]
fn extract_on_a_report_based_configuration_is_refused_before_anything_but_reading_it() {
    let sim = sim();
    let runner = runner_with_real_release();
    let run = runner.run_action(&extract_with(&sim, "ok-action-report", &[]));
    assert_eq!(run.code(), 2, "{}", run.show());
    let text = run_text(&run);
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error title=ec3-gate usage error::")
                && l.contains("'ok-action-report' is report-based")),
        "{text}"
    );
    assert!(extraction_ids(&sim).is_empty());
    assert!(sim.created_requests().is_empty());
}

#[test]
fn a_cancelled_extraction_still_sets_the_extraction_outputs() {
    let sim = sim();
    let mut runner = runner_with_real_release();
    let installed = runner.run_steps(&create_with(&[]), Some("install"));
    assert_eq!(installed.code(), 0, "{}", installed.show());
    runner.cancel_after = Some(Duration::from_millis(1500));
    // A `slow` extraction stays Running: the runner's SIGTERM comes while it is waited for.
    let run = runner.run_action(&extract_with(
        &sim,
        "slow-action-ext",
        &[("interval", "5s"), ("timeout", "20s")],
    ));
    assert_eq!(run.code(), 143, "{}", run.show());
    let extraction = extraction_ids(&sim);
    assert_eq!(extraction.len(), 1, "{extraction:?}");
    assert_eq!(run.outputs["extraction-id"], extraction[0]);
    assert_eq!(run.outputs["extraction-state"], "Running");
    assert_eq!(run.outputs["stage"], "extraction");
    assert_eq!(run.outputs["job-id"], "");
    assert!(sim.created_requests().is_empty(), "no job after a cancel");
}
