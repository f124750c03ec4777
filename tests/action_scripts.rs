//! Runs the composite action (`action.yml` and `scripts/action/*.sh`) the way the GitHub runner
//! does: each step's `run:` under `bash --noprofile --norc -eo pipefail`, with exactly the `env:`
//! that action.yml maps from the inputs, a fresh `GITHUB_OUTPUT` per step, a temporary
//! `RUNNER_TOOL_CACHE`, `RUNNER_OS=Linux` and `RUNNER_ARCH=X64`.
//!
//! Nothing reaches the internet: a stub `curl` first on `PATH` serves files from a temporary
//! directory (404 for anything else) and records its arguments. The job service is the
//! simulator (`ec3_sim::Sim`) on loopback, in this process.
//!
//! action.yml is read with a small line parser (no YAML crate among the dependencies). It
//! understands only the layout action.yml uses and panics on anything else, including any
//! `${{ }}` expression it cannot evaluate, so the file cannot drift out of what is tested here.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ec3_sim::runner::parse_output_file;
use ec3_sim::{Options, Sim};
use tempfile::TempDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPO: &str = "example-owner/ec3-gate";
const LINUX_TARGET: &str = "x86_64-unknown-linux-gnu";

// ---------------------------------------------------------------------------------------------
// action.yml, read as the runner would need it.

#[derive(Debug)]
struct Input {
    name: String,
    description: Option<String>,
    default: Option<String>,
}

#[derive(Debug)]
struct Step {
    id: String,
    shell: Option<String>,
    run: String,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
struct ActionYml {
    inputs: Vec<Input>,
    /// Output name, description, value expression.
    outputs: Vec<(String, Option<String>, String)>,
    using: String,
    steps: Vec<Step>,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].to_string();
        }
    }
    s.to_string()
}

fn key_value(line: &str) -> (String, String) {
    let (k, v) = line
        .trim()
        .split_once(':')
        .unwrap_or_else(|| panic!("not `key: value`: {line:?}"));
    (k.trim().to_string(), unquote(v))
}

fn parse_action_yml() -> ActionYml {
    let text = fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    let mut action = ActionYml {
        inputs: vec![],
        outputs: vec![],
        using: String::new(),
        steps: vec![],
    };
    let mut section = String::new();
    let mut in_env = false;
    for raw in text.lines() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        if indent == 0 {
            section = key_value(raw).0;
            continue;
        }
        match (section.as_str(), indent) {
            ("inputs", 2) => action.inputs.push(Input {
                name: key_value(raw).0,
                description: None,
                default: None,
            }),
            ("inputs", 4) => {
                let (k, v) = key_value(raw);
                let input = action.inputs.last_mut().unwrap();
                match k.as_str() {
                    "description" => input.description = Some(v),
                    "default" => input.default = Some(v),
                    "required" => {}
                    _ => panic!("unexpected input key {k:?}"),
                }
            }
            ("outputs", 2) => action.outputs.push((key_value(raw).0, None, String::new())),
            ("outputs", 4) => {
                let (k, v) = key_value(raw);
                let output = action.outputs.last_mut().unwrap();
                match k.as_str() {
                    "description" => output.1 = Some(v),
                    "value" => output.2 = v,
                    _ => panic!("unexpected output key {k:?}"),
                }
            }
            ("runs", 2) => {
                let (k, v) = key_value(raw);
                if k == "using" {
                    action.using = v;
                } else {
                    assert_eq!(k, "steps", "unexpected runs key");
                }
            }
            ("runs", 4) => {
                let (k, v) =
                    key_value(trimmed.strip_prefix("- ").expect("a step starts with `- `"));
                assert_eq!(k, "id", "each step must start with its id");
                action.steps.push(Step {
                    id: v,
                    shell: None,
                    run: String::new(),
                    env: vec![],
                });
                in_env = false;
            }
            ("runs", 6) => {
                let (k, v) = key_value(raw);
                let step = action.steps.last_mut().unwrap();
                in_env = k == "env";
                match k.as_str() {
                    "shell" => step.shell = Some(v),
                    "run" => {
                        assert!(
                            !v.starts_with('|') && !v.starts_with('>'),
                            "keep run: on one line"
                        );
                        step.run = v;
                    }
                    "env" | "name" => {}
                    _ => panic!("unexpected step key {k:?}"),
                }
            }
            ("runs", 8) if in_env => {
                let step = action.steps.last_mut().unwrap();
                step.env.push(key_value(raw));
            }
            ("name" | "description" | "author", _) | ("branding", 2) => {}
            _ => panic!("action.yml line outside the layout this test understands: {raw:?}"),
        }
    }
    action
}

/// `INPUT_FAIL_ON_FAILED` for `fail-on-failed`: the name a JavaScript action would get.
fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_uppercase().replace('-', "_"))
}

/// The expression inside a value that is exactly `${{ expr }}`, if it is one.
fn expression(value: &str) -> Option<&str> {
    let inner = value.strip_prefix("${{")?.strip_suffix("}}")?;
    Some(inner.trim())
}

// ---------------------------------------------------------------------------------------------
// Runner plumbing.

static UNIQUE: AtomicU32 = AtomicU32::new(0);

fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ec3-action-{tag}-"))
        .tempdir()
        .unwrap()
}

fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

struct StepResult {
    id: String,
    code: i32,
    stdout: String,
    stderr: String,
    outputs: Vec<(String, String)>,
    path: Vec<String>,
}

impl StepResult {
    fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn show(&self) -> String {
        format!(
            "step {} exited {}\n--- stdout\n{}--- stderr\n{}",
            self.id, self.code, self.stdout, self.stderr
        )
    }
}

struct ActionRun {
    steps: Vec<StepResult>,
    /// The action's outputs, evaluated from action.yml's `outputs:` after the steps ran.
    outputs: BTreeMap<String, String>,
}

impl ActionRun {
    /// Exit status of the composite action: that of its first failing step, else 0.
    fn code(&self) -> i32 {
        self.steps
            .iter()
            .map(|s| s.code)
            .find(|&c| c != 0)
            .unwrap_or(0)
    }
    fn step(&self, id: &str) -> &StepResult {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("step {id} did not run\n{}", self.show()))
    }
    fn stdout(&self) -> String {
        self.steps.iter().map(|s| s.stdout.as_str()).collect()
    }
    fn show(&self) -> String {
        self.steps
            .iter()
            .map(StepResult::show)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One simulated runner machine: a tool cache, a temp dir, and stubs first on PATH.
struct Runner {
    dir: TempDir,
    os: &'static str,
    arch: &'static str,
    /// Sends SIGTERM to each step's process this long after it starts, as the runner does
    /// to a cancelled run.
    cancel_after: Option<Duration>,
}

impl Runner {
    fn new() -> Runner {
        let dir = temp_dir("runner");
        for sub in ["tool-cache", "temp", "workspace", "stubs", "serve"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let stubs = dir.path().join("stubs");
        // Serves `serve/<last URL segment>` or fails like `curl -f` on a 404; records its
        // arguments, one per line, each call ended by `--end--`, and its environment (in
        // curl.env, so a secret that reaches it is found).
        write_executable(
            &stubs.join("curl"),
            &format!(
                r#"#!/usr/bin/env bash
set -u
log={log}
serve={serve}
out=; url=
env >>{env_log}
for arg in "$@"; do printf '%s\n' "$arg" >>"$log"; done
printf -- '--end--\n' >>"$log"
while [ $# -gt 0 ]; do
  case $1 in
    -o|--output) out=$2; shift 2 ;;
    --proto|--retry|--connect-timeout|--max-time) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
file=$serve/${{url##*/}}
if [ -n "$url" ] && [ -f "$file" ]; then cp "$file" "$out"; exit 0; fi
echo "curl: (22) The requested URL returned error: 404" >&2
exit 22
"#,
                log = dir.path().join("curl.log").display(),
                env_log = dir.path().join("curl.env").display(),
                serve = dir.path().join("serve").display(),
            ),
        );
        Runner {
            dir,
            os: "Linux",
            arch: "X64",
            cancel_after: None,
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// A stub `cargo` that records that it ran and fails: for tests where a build must not happen.
    fn forbid_cargo(&self) {
        write_executable(
            &self.path("stubs/cargo"),
            &format!(
                "#!/bin/sh\necho called >>{}\nexit 101\n",
                self.path("cargo.log").display()
            ),
        );
    }

    fn cargo_was_called(&self) -> bool {
        self.path("cargo.log").exists()
    }

    /// Every curl call so far, as its argument list.
    fn curl_calls(&self) -> Vec<Vec<String>> {
        let text = fs::read_to_string(self.path("curl.log")).unwrap_or_default();
        let mut calls = vec![vec![]];
        for line in text.lines() {
            if line == "--end--" {
                calls.push(vec![]);
            } else {
                calls.last_mut().unwrap().push(line.to_string());
            }
        }
        calls.pop();
        calls
    }

    /// Publishes a release the stub curl serves: the archive `scripts/release/package.sh` makes
    /// (the one release.yml uploads) around `binary`, and a SHA256SUMS naming `checksum` for it
    /// (the true one when `None`).
    fn publish(&self, binary: &[u8], checksum: Option<&str>) -> String {
        let stage = temp_dir("stage");
        let bin = stage.path().join("ec3-gate");
        fs::write(&bin, binary).unwrap();
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/release/package.sh"))
            .args([VERSION, LINUX_TARGET])
            .arg(&bin)
            .arg(self.path("serve"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let archive = format!("ec3-gate-{VERSION}-{LINUX_TARGET}.tar.gz");
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            printed.trim_end(),
            self.path("serve").join(&archive).display().to_string()
        );
        let sum = checksum
            .map(str::to_string)
            .unwrap_or_else(|| sha256(&self.path("serve").join(&archive)));
        fs::write(
            self.path("serve/SHA256SUMS"),
            format!("{sum}  {archive}\n0000  other.zip\n"),
        )
        .unwrap();
        archive
    }

    /// Runs the action's steps in order, stopping at the first that fails, as a composite
    /// action does. `inputs` are the `with:` values; action.yml supplies the defaults.
    fn run_action(&self, with: &[(&str, &str)]) -> ActionRun {
        self.run_steps(with, None)
    }

    fn run_steps(&self, with: &[(&str, &str)], only: Option<&str>) -> ActionRun {
        let action = parse_action_yml();
        for (name, _) in with {
            assert!(
                action.inputs.iter().any(|i| i.name == *name),
                "action.yml has no input {name}"
            );
        }
        let input = |name: &str| -> String {
            let declared = action
                .inputs
                .iter()
                .find(|i| i.name == name)
                .unwrap_or_else(|| panic!("no input {name}"));
            with.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| declared.default.clone())
                .unwrap_or_default()
        };
        let mut results: Vec<StepResult> = vec![];
        for step in &action.steps {
            if only.is_some_and(|id| id != step.id) {
                continue;
            }
            let eval = |value: &str, results: &[StepResult]| -> String {
                let Some(expr) = expression(value) else {
                    assert!(!value.contains("${{"), "partial expression in {value:?}");
                    return value.to_string();
                };
                if let Some(name) = expr.strip_prefix("inputs.") {
                    input(name)
                } else if expr == "github.action_repository" {
                    REPO.to_string()
                } else if let Some(rest) = expr.strip_prefix("steps.") {
                    let (id, name) = rest
                        .split_once(".outputs.")
                        .expect("steps.<id>.outputs.<name>");
                    results
                        .iter()
                        .find(|r| r.id == id)
                        .and_then(|r| r.output(name))
                        .unwrap_or("")
                        .to_string()
                } else {
                    panic!("this test cannot evaluate ${{{{ {expr} }}}}: extend it with care")
                }
            };
            let env: Vec<(String, String)> = step
                .env
                .iter()
                .map(|(k, v)| (k.clone(), eval(v, &results)))
                .collect();
            let result = self.run_step(step, &env);
            let failed = result.code != 0;
            results.push(result);
            if failed {
                break;
            }
        }
        let mut outputs = BTreeMap::new();
        for (name, _, value) in &action.outputs {
            let expr = expression(value).expect("output values are expressions");
            let (id, out) = expr
                .strip_prefix("steps.")
                .and_then(|r| r.split_once(".outputs."))
                .expect("outputs come from steps.<id>.outputs.<name>");
            let v = results
                .iter()
                .find(|r| r.id == id)
                .and_then(|r| r.output(out))
                .unwrap_or("");
            outputs.insert(name.clone(), v.to_string());
        }
        ActionRun {
            steps: results,
            outputs,
        }
    }

    fn run_step(&self, step: &Step, step_env: &[(String, String)]) -> StepResult {
        assert_eq!(
            step.shell.as_deref(),
            Some("bash"),
            "steps run under bash on every OS"
        );
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        let files = self.path(&format!("temp/_runner_file_commands/{}-{n}", step.id));
        fs::create_dir_all(&files).unwrap();
        let (output, path, summary) = (
            files.join("output"),
            files.join("path"),
            files.join("summary"),
        );
        for f in [&output, &path, &summary] {
            fs::write(f, "").unwrap();
        }
        let script = files.join("script.sh");
        fs::write(&script, format!("{}\n", step.run)).unwrap();

        let mut cmd = Command::new("bash");
        // The runner's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`.
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script);
        cmd.env_clear();
        let system_path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!("{}:{system_path}", self.path("stubs").display()),
        );
        for keep in [
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "CARGO_TARGET_DIR",
            "TMPDIR",
        ] {
            if let Ok(v) = std::env::var(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.envs([
            ("CI", "true".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("RUNNER_OS", self.os.into()),
            ("RUNNER_ARCH", self.arch.into()),
            (
                "RUNNER_TOOL_CACHE",
                self.path("tool-cache").display().to_string(),
            ),
            ("RUNNER_TEMP", self.path("temp").display().to_string()),
            (
                "GITHUB_WORKSPACE",
                self.path("workspace").display().to_string(),
            ),
            ("GITHUB_ACTION_PATH", ROOT.to_string()),
            ("GITHUB_OUTPUT", output.display().to_string()),
            ("GITHUB_PATH", path.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ]);
        cmd.envs(step_env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(self.path("workspace"));
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        if let Some(delay) = self.cancel_after {
            std::thread::sleep(delay);
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        }
        let out = child.wait_with_output().unwrap();
        StepResult {
            id: step.id.clone(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_output_file(&fs::read_to_string(&output).unwrap()).unwrap(),
            path: fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.path("tool-cache")
            .join("ec3-gate")
            .join(VERSION)
            .join("x64")
    }
}

fn sha256(file: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(file)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(file)
                .output()
        })
        .expect("sha256sum or shasum");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `with:` for a valid run; tests override single entries.
fn valid_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut with = vec![("job-id", "ok-action-1"), ("access-token", "t0k3n-value")];
    for (k, v) in extra {
        with.retain(|(name, _)| name != k);
        with.push((k, v));
    }
    with
}

/// `with:` for a valid create-then-wait run; tests override single entries.
fn create_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut with = vec![
        ("configuration-id", "cfg-action-1"),
        ("project-name", "Tower A build 7"),
        ("ec3-token", EC3_TOKEN),
        ("access-token", "t0k3n-value"),
    ];
    for (k, v) in extra {
        with.retain(|(name, _)| name != k);
        with.push((k, v));
    }
    with
}

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
    let step = action.steps.iter().find(|s| s.id == "run").unwrap();
    let mut env: Vec<(String, String)> = step
        .env
        .iter()
        .filter_map(|(k, v)| {
            let name = expression(v)?.strip_prefix("inputs.")?;
            let value = with
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string());
            let default = action
                .inputs
                .iter()
                .find(|i| i.name == name)?
                .default
                .clone();
            Some((k.clone(), value.or(default).unwrap_or_default()))
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
    runner.publish(&fs::read(env!("CARGO_BIN_EXE_ec3-gate")).unwrap(), None);
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
            "ec3-token",
            "access-token",
            "client-id",
            "client-secret",
            "api-url",
            "authority",
            "scope",
            "timeout",
            "interval",
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
    assert_eq!(default("timeout").as_deref(), Some("30m"));
    assert_eq!(default("interval").as_deref(), Some("5s"));
    assert_eq!(default("fail-on-failed").as_deref(), Some("true"));
    // job-id or configuration-id: neither is `required` (actionlint would then demand it in
    // every `uses:`); the scripts check that exactly one is given.
    for name in [
        "job-id",
        "configuration-id",
        "project-name",
        "extraction-id",
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
            &[("job-id", "../etc")],
            "::error::input 'job-id' may contain only letters, digits, '.', '_' and '-', got '../etc'",
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
            &[("access-token", "two\nlines")],
            "::error::input 'access-token' must not contain whitespace or newlines (value not shown)",
        ),
        (
            &[("api-url", "http://api.example.com")],
            "::error::input 'api-url' must use https:// (plain http is allowed only to 127.0.0.1, localhost or [::1]), got 'http://api.example.com'",
        ),
        (
            &[("authority", "ims.bentley.com")],
            "::error::input 'authority' must be an https:// URL such as https://api.bentley.com, got 'ims.bentley.com'",
        ),
        (
            &[("scope", "itwin-platform\nevil")],
            "::error::input 'scope' must be one line of space-separated scopes, e.g. itwin-platform",
        ),
        (
            &[("timeout", "30")],
            "::error::input 'timeout' must be a duration with a unit, e.g. 500ms, 30s, 15m or 1h 30m, got '30'",
        ),
        (
            &[("interval", "fast")],
            "::error::input 'interval' must be a duration with a unit, e.g. 500ms, 30s, 15m or 1h 30m, got 'fast'",
        ),
        (
            &[("fail-on-failed", "yes")],
            "::error::input 'fail-on-failed' must be 'true' or 'false', got 'yes'",
        ),
        (
            &[("version", "latest")],
            "::error::input 'version' must be empty (the release matching this action's ref), 'source', or a release such as 1.2.3, got 'latest'",
        ),
        // An injected workflow command in a value is escaped, never run.
        (
            &[("timeout", "1\n::warning::x")],
            "::error::input 'timeout' must be a duration with a unit, e.g. 500ms, 30s, 15m or 1h 30m, got '1%0A::warning::x'",
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

#[test]
fn download_uses_hardened_curl_verifies_the_checksum_and_fills_the_tool_cache() {
    let runner = Runner::new();
    runner.forbid_cargo();
    let archive = runner.publish(&fake_binary(), None);
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());

    let base = format!("https://github.com/{REPO}/releases/download/v{VERSION}");
    let calls = runner.curl_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (call, file) in calls.iter().zip(["SHA256SUMS", archive.as_str()]) {
        let flags = [
            "--proto",
            "=https",
            "--tlsv1.2",
            "-fsSL",
            "--retry",
            "10",
            "--retry-connrefused",
        ];
        assert_eq!(&call[..flags.len()], flags, "{call:?}");
        assert_eq!(call.last().unwrap(), &format!("{base}/{file}"));
    }

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
    runner.publish(&fake_binary(), None);
    let run = runner.run_steps(
        &valid_with(&[("version", &format!("v{VERSION}"))]),
        Some("install"),
    );
    assert_eq!(run.code(), 0, "{}", run.show());
    assert_eq!(
        runner.curl_calls()[1].last().unwrap(),
        &format!("{base}/{archive}")
    );
}

#[test]
fn a_cached_binary_is_reused_without_calling_curl() {
    let runner = Runner::new();
    runner.forbid_cargo();
    runner.publish(&fake_binary(), None);
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
    assert!(
        step.stdout
            .contains(&format!("ec3-gate {VERSION} found in the tool cache")),
        "{}",
        step.stdout
    );
    assert_eq!(step.path, [runner.cache_dir().display().to_string()]);

    // A half-written entry (no .complete marker) is not trusted: it is downloaded again.
    fs::remove_file(runner.cache_dir().with_extension("complete")).unwrap();
    let third = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(third.code(), 0, "{}", third.show());
    assert_eq!(runner.curl_calls().len(), calls + 2);
}

#[test]
fn a_bad_checksum_is_refused_and_never_falls_back_to_a_build() {
    let runner = Runner::new();
    runner.forbid_cargo();
    let archive = runner.publish(&fake_binary(), Some(&"ab".repeat(32)));
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
            "::error title=ec3-gate install::checksum mismatch for {archive}: SHA256SUMS says {}, \
             the download is {actual}: refusing to install or run it",
            "ab".repeat(32)
        )
    );
    assert!(!runner.cache_dir().exists(), "nothing is cached");
    assert!(
        !runner.cargo_was_called(),
        "a mismatch is not a missing release"
    );

    // A SHA256SUMS without our archive is refused as well.
    fs::write(
        runner.path("serve/SHA256SUMS"),
        format!("{actual}  some-other-file.tar.gz\n"),
    )
    .unwrap();
    let run = runner.run_action(&valid_with(&[]));
    assert_eq!(run.code(), 1);
    assert!(
        run.stdout().contains(&format!(
            "SHA256SUMS of release v{VERSION} has no checksum for {archive}: refusing to install it"
        )),
        "{}",
        run.show()
    );
    assert!(!runner.cache_dir().exists());
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

    // A Windows runner asks for the .zip and reuses a cached ec3-gate.exe.
    let mut runner = Runner::new();
    runner.os = "Windows";
    runner.forbid_cargo();
    fs::write(runner.path("serve/SHA256SUMS"), "").unwrap();
    let run = runner.run_steps(&valid_with(&[("version", "9.9.9")]), Some("install"));
    assert_eq!(run.code(), 1, "{}", run.show());
    let urls: Vec<String> = runner
        .curl_calls()
        .iter()
        .map(|c| c.last().unwrap().clone())
        .collect();
    let base = format!("https://github.com/{REPO}/releases/download/v9.9.9");
    assert_eq!(
        urls,
        [
            format!("{base}/SHA256SUMS"),
            format!("{base}/ec3-gate-9.9.9-x86_64-pc-windows-msvc.zip")
        ]
    );
    assert!(run.stdout().contains(&format!(
        "release v9.9.9 of {REPO} has no ec3-gate-9.9.9-x86_64-pc-windows-msvc.zip, and the action's source is version {VERSION}, not 9.9.9"
    )));
    let cache = runner.cache_dir();
    fs::create_dir_all(&cache).unwrap();
    write_executable(&cache.join("ec3-gate.exe"), "#!/bin/sh\n");
    fs::write(cache.with_extension("complete"), "").unwrap();
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    assert_eq!(
        run.step("install").output("path"),
        Some(cache.join("ec3-gate.exe").display().to_string().as_str())
    );
}

#[test]
fn a_platform_without_a_release_and_another_version_fails_clearly() {
    let mut runner = Runner::new();
    runner.arch = "ARM";
    runner.forbid_cargo();
    let run = runner.run_steps(&valid_with(&[("version", "9.9.9")]), Some("install"));
    assert_eq!(run.code(), 1);
    assert_eq!(
        run.stdout().trim_end(),
        format!(
            "::error title=ec3-gate install::no prebuilt ec3-gate for Linux/ARM, and the action's source is \
             version {VERSION}, not 9.9.9: pick a released 'version' or 'source'"
        )
    );
    assert!(runner.curl_calls().is_empty());
}

/// Really builds: `cargo build --release --locked` from this checkout, the action's source. It
/// shares this checkout's target dir (or CARGO_TARGET_DIR), so it is quick once that is warm.
#[test]
fn a_missing_release_falls_back_to_cargo_build_from_the_action_source() {
    let runner = Runner::new();
    // Nothing published: the stub curl answers 404 to every URL.
    let run = runner.run_steps(&valid_with(&[]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    let step = run.step("install");
    assert!(
        step.stdout.contains(&format!(
            "::notice title=ec3-gate install::no ec3-gate release v{VERSION} in {REPO} (could not download SHA256SUMS): \
             building ec3-gate {VERSION} from the action's source with cargo build --release --locked"
        )),
        "{}",
        step.stdout
    );
    assert!(
        step.stdout
            .contains("::group::cargo build --release --locked (")
    );
    assert_eq!(
        runner.curl_calls().len(),
        1,
        "no archive is fetched once SHA256SUMS is missing"
    );
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

    // `version: source` builds without asking for a release at all.
    let runner = Runner::new();
    let run = runner.run_steps(&valid_with(&[("version", "source")]), Some("install"));
    assert_eq!(run.code(), 0, "{}", run.show());
    assert!(
        run.stdout()
            .contains("version: source: building ec3-gate from the action's checkout")
    );
    assert!(runner.curl_calls().is_empty());
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
    assert_eq!(
        written, declared,
        "ec3-gate writes exactly the outputs action.yml declares"
    );
    let expected: BTreeMap<String, String> = [
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
    assert!(
        step.stdout.contains("::add-mask::t0k3n-value"),
        "the token is masked: {}",
        step.stdout
    );
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

// ---------------------------------------------------------------------------------------------
// Creating the job: `configuration-id` instead of `job-id` runs `ec3-gate upload --wait`.

/// Whether `POST …/ec3/jobs` handed out `id` (the simulator's other ids exist without it).
fn is_created_id(sim: &Sim, id: &str) -> bool {
    sim.stats().created.iter().any(|created| created == id)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn bad_or_missing_create_inputs_fail_exactly_with_exit_2_before_any_download() {
    let long_id = "c".repeat(257);
    let long_name = "é".repeat(257);
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
        (
            &[("ec3-token", "ec3-S3CRET\nsecond-line")],
            "::error::input 'ec3-token' must not contain whitespace or newlines (value not shown)",
        ),
        (
            &[("configuration-id", "cfg/../x")],
            "::error::input 'configuration-id' may contain only letters, digits, '.', '_' and '-', got 'cfg/../x'",
        ),
        (
            &[("configuration-id", &long_id)],
            "::error::input 'configuration-id' must be at most 256 characters, got 257",
        ),
        (
            &[("project-name", "Tower A\n::warning::injected")],
            "::error::input 'project-name' must be one line without control characters, e.g. project-name: Tower A",
        ),
        (
            &[("project-name", "  \t ")],
            "::error::input 'project-name' must be one line without control characters, e.g. project-name: Tower A",
        ),
        (
            &[("project-name", "   ")],
            "::error::input 'project-name' must not be only whitespace, e.g. project-name: Tower A",
        ),
        (
            // Characters, not bytes: 257 two-byte characters.
            &[("project-name", &long_name)],
            "::error::input 'project-name' must be at most 256 characters, got 257",
        ),
        (
            &[("extraction-id", "ext 1")],
            "::error::input 'extraction-id' may contain only letters, digits, '.', '_' and '-', got 'ext 1'",
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
            (
                "ec3-project-url",
                format!("https://buildingtransparency.org/ec3/buildings/{job}?view=custom"),
            ),
            ("job-id", job.clone()),
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
            masked, 2,
            "run.sh masks the EC3 token before ec3-gate starts, and ec3-gate masks it again: {text}"
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
