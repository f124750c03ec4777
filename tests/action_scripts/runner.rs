//! The GitHub runner, emulated for a composite action: action.yml read as the runner needs it
//! (a small line parser that understands only the layout action.yml uses and panics on
//! anything else, including any `${{ }}` expression it cannot evaluate, so the file cannot
//! drift out of what is tested), and a runner machine that runs its steps.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ec3_sim::runner::parse_output_file;
use tempfile::TempDir;

use crate::{LINUX_TARGET, REPO, ROOT, VERSION, release};

// ---------------------------------------------------------------------------------------------
// action.yml, read as the runner would need it.

#[derive(Debug)]
pub struct Input {
    pub name: String,
    pub description: Option<String>,
    pub default: Option<String>,
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub shell: Option<String>,
    pub run: String,
    pub env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct ActionYml {
    pub inputs: Vec<Input>,
    /// Output name, description, value expression.
    pub outputs: Vec<(String, Option<String>, String)>,
    pub using: String,
    pub steps: Vec<Step>,
}

impl ActionYml {
    /// The declared input `name`; panics when action.yml has none.
    pub fn declared(&self, name: &str) -> &Input {
        let found = self.inputs.iter().find(|i| i.name == name);
        found.unwrap_or_else(|| panic!("action.yml has no input {name}"))
    }

    /// The value of input `name` for a run given `with`: the given value, else the default.
    pub fn input(&self, with: &[(&str, &str)], name: &str) -> String {
        let default = self.declared(name).default.clone();
        let given = with
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string());
        given.or(default).unwrap_or_default()
    }

    /// The step `id`.
    pub fn step(&self, id: &str) -> &Step {
        let found = self.steps.iter().find(|s| s.id == id);
        found.unwrap_or_else(|| panic!("action.yml has no step {id}"))
    }
}

/// `steps.<id>.outputs.<name>` from the steps that ran ("" when absent, as the runner does).
fn step_output(results: &[StepResult], expr: &str) -> String {
    let (id, name) = expr
        .strip_prefix("steps.")
        .and_then(|r| r.split_once(".outputs."))
        .expect("steps.<id>.outputs.<name>");
    let step = results.iter().find(|r| r.id == id);
    step.and_then(|r| r.output(name)).unwrap_or("").to_string()
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

pub fn parse_action_yml() -> ActionYml {
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
pub fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_uppercase().replace('-', "_"))
}

/// The expression inside a value that is exactly `${{ expr }}`, if it is one.
pub fn expression(value: &str) -> Option<&str> {
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

pub fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

pub struct StepResult {
    pub id: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: Vec<(String, String)>,
    pub path: Vec<String>,
    /// What the step appended to `GITHUB_STEP_SUMMARY`.
    pub summary: String,
}

impl StepResult {
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn show(&self) -> String {
        format!(
            "step {} exited {}\n--- stdout\n{}--- stderr\n{}",
            self.id, self.code, self.stdout, self.stderr
        )
    }
}

pub struct ActionRun {
    pub steps: Vec<StepResult>,
    /// The action's outputs, evaluated from action.yml's `outputs:` after the steps ran.
    pub outputs: BTreeMap<String, String>,
}

impl ActionRun {
    /// Exit status of the composite action: that of its first failing step, else 0.
    pub fn code(&self) -> i32 {
        self.steps
            .iter()
            .map(|s| s.code)
            .find(|&c| c != 0)
            .unwrap_or(0)
    }
    pub fn step(&self, id: &str) -> &StepResult {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("step {id} did not run\n{}", self.show()))
    }
    pub fn stdout(&self) -> String {
        self.steps.iter().map(|s| s.stdout.as_str()).collect()
    }
    pub fn show(&self) -> String {
        self.steps
            .iter()
            .map(StepResult::show)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One simulated runner machine: a tool cache, a temp dir, and stubs first on PATH.
pub struct Runner {
    pub dir: TempDir,
    pub os: &'static str,
    pub arch: &'static str,
    /// Sends SIGTERM to each step's process this long after it starts, as the runner does
    /// to a cancelled run.
    pub cancel_after: Option<Duration>,
    /// The signal `cancel_after` sends: `TERM` (the default) or `INT`.
    pub cancel_signal: &'static str,
}

impl Runner {
    pub fn new() -> Runner {
        let dir = temp_dir("runner");
        for sub in ["tool-cache", "temp", "workspace", "stubs", "serve"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        check_out_action(&dir.path().join("action"));
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
    --proto|--retry|--retry-delay|--retry-max-time|--connect-timeout|--max-time) shift 2 ;;
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
            cancel_signal: "TERM",
        }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// A stub `cargo` that records that it ran and fails: for tests where a build must not happen.
    pub fn forbid_cargo(&self) {
        write_executable(
            &self.path("stubs/cargo"),
            &format!(
                "#!/bin/sh\necho called >>{}\nexit 101\n",
                self.path("cargo.log").display()
            ),
        );
    }

    pub fn cargo_was_called(&self) -> bool {
        self.path("cargo.log").exists()
    }

    /// Every curl call so far, as its argument list.
    pub fn curl_calls(&self) -> Vec<Vec<String>> {
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

    /// Publishes a release of this checkout's version the stub curl serves: the archive
    /// `scripts/release/package.sh` makes (the one release.yml uploads) around `binary`, pinned
    /// in the action's manifest by `scripts/release/manifest.sh` as release.yml pins it.
    /// Returns the archive's name.
    pub fn publish(&self, binary: &[u8]) -> String {
        let stage = temp_dir("stage");
        let bin = stage.path().join("ec3-gate");
        fs::write(&bin, binary).unwrap();
        let archive = format!("ec3-gate-{VERSION}-{LINUX_TARGET}.tar.gz");
        let printed = release::package(&bin, LINUX_TARGET, &self.path("serve"));
        assert_eq!(printed, self.path("serve").join(&archive));
        let lines = release::manifest_lines(&self.path("serve"));
        // The shipped manifest (its header, no release yet) with this release.
        let shipped = fs::read_to_string(Path::new(ROOT).join(MANIFEST)).unwrap();
        fs::write(self.manifest(), format!("{shipped}{lines}")).unwrap();
        archive
    }

    /// The action checkout's release manifest.
    pub fn manifest(&self) -> PathBuf {
        self.path("action").join(MANIFEST)
    }

    /// Adds a line to the action's manifest, in the `VERSION ASSET SHA256` form
    /// `scripts/release/manifest.sh` writes: for releases this test does not pack.
    pub fn pin(&self, version: &str, asset: &str, sha256: &str) {
        let mut text = fs::read_to_string(self.manifest()).unwrap();
        text.push_str(&format!("{version} {asset} {sha256}\n"));
        fs::write(self.manifest(), text).unwrap();
    }

    /// Replaces the sha256 the manifest pins for `asset` (every version).
    pub fn repin(&self, asset: &str, sha256: &str) {
        let text = fs::read_to_string(self.manifest()).unwrap();
        let mut found = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
                [version, name, _] if name == asset => {
                    found = true;
                    format!("{version} {name} {sha256}")
                }
                _ => line.to_string(),
            })
            .collect();
        assert!(found, "the manifest pins no {asset}");
        fs::write(self.manifest(), lines.join("\n") + "\n").unwrap();
    }

    /// Runs the action's steps in order, stopping at the first that fails, as a composite
    /// action does. `inputs` are the `with:` values; action.yml supplies the defaults.
    pub fn run_action(&self, with: &[(&str, &str)]) -> ActionRun {
        self.run_steps(with, None)
    }

    pub fn run_steps(&self, with: &[(&str, &str)], only: Option<&str>) -> ActionRun {
        let action = parse_action_yml();
        for (name, _) in with {
            action.declared(name);
        }
        let mut results: Vec<StepResult> = vec![];
        for step in &action.steps {
            if only.is_some_and(|id| id != step.id) {
                continue;
            }
            let eval = |value: &str| -> String {
                let Some(expr) = expression(value) else {
                    assert!(!value.contains("${{"), "partial expression in {value:?}");
                    return value.to_string();
                };
                if let Some(name) = expr.strip_prefix("inputs.") {
                    action.input(with, name)
                } else if expr == "github.action_repository" {
                    REPO.to_string()
                } else if expr.starts_with("steps.") {
                    step_output(&results, expr)
                } else {
                    panic!("this test cannot evaluate ${{{{ {expr} }}}}: extend it with care")
                }
            };
            let env: Vec<(String, String)> =
                step.env.iter().map(|(k, v)| (k.clone(), eval(v))).collect();
            let result = self.run_step(step, &env);
            let failed = result.code != 0;
            results.push(result);
            if failed {
                break;
            }
        }
        let outputs = action.outputs.iter().map(|(name, _, value)| {
            let expr = expression(value).expect("output values are expressions");
            (name.clone(), step_output(&results, expr))
        });
        ActionRun {
            outputs: outputs.collect(),
            steps: results,
        }
    }

    pub fn run_step(&self, step: &Step, step_env: &[(String, String)]) -> StepResult {
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
            (
                "GITHUB_ACTION_PATH",
                self.path("action").display().to_string(),
            ),
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
            let signal = format!("-{}", self.cancel_signal);
            Command::new("kill").args([&signal, &pid]).status().unwrap();
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
            summary: fs::read_to_string(&summary).unwrap(),
        }
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path("tool-cache")
            .join("ec3-gate")
            .join(VERSION)
            .join("x64")
    }
}

/// Where the action's release manifest lives in its checkout.
const MANIFEST: &str = "scripts/action/manifest.txt";

/// The action's checkout, as the runner fetches it for `uses:`: its own copy of
/// `scripts/action/` (so a test pins releases in its manifest, as a release commit does) and
/// links to everything else, this build's target dir included, so a source build reuses the
/// dependencies this test run built.
fn check_out_action(action: &Path) {
    let root = Path::new(ROOT);
    link_all_but(root, action, &["scripts", "target"]);
    link_all_but(&root.join("scripts"), &action.join("scripts"), &["action"]);
    let scripts = action.join("scripts/action");
    fs::create_dir_all(&scripts).unwrap();
    for entry in fs::read_dir(root.join("scripts/action")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), scripts.join(entry.file_name())).unwrap();
    }
    // target/<profile>/ec3-gate: install.sh builds into <checkout>/target unless
    // CARGO_TARGET_DIR says otherwise, and the runner passes that one through.
    let bin = Path::new(env!("CARGO_BIN_EXE_ec3-gate"));
    let target = bin.parent().and_then(Path::parent).unwrap();
    std::os::unix::fs::symlink(target, action.join("target")).unwrap();
}

/// Links every entry of `from` into `to` (made here), except `but`.
fn link_all_but(from: &Path, to: &Path, but: &[&str]) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let name = entry.unwrap().file_name();
        if !but.iter().any(|b| name == *b) {
            std::os::unix::fs::symlink(from.join(&name), to.join(&name)).unwrap();
        }
    }
}

pub fn sha256(file: &Path) -> String {
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
