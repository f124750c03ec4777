//! Builds the C library and C/C++ programs for the tests, and runs them.
//!
//! Cargo does not build a `cdylib`/`staticlib` for the package's own
//! integration tests (there is nothing for Rust to link), so the first test
//! that needs the libraries runs `cargo build -p ec3-gate-ffi --lib` with the
//! same profile, target and target directory as this test binary.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::env;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where things are.
#[derive(Debug)]
pub struct Paths {
    /// The workspace root.
    pub workspace: PathBuf,
    /// `include/`, with `ec3_gate.h`.
    pub include: PathBuf,
    /// The profile directory holding `libec3_gate.{a,so}` and `ec3_gate.pc`.
    pub lib_dir: PathBuf,
    /// Where compiled test programs go.
    pub out: PathBuf,
}

impl Paths {
    /// The shared library as the linker finds it (`-lec3_gate`).
    pub fn shared_lib(&self) -> PathBuf {
        let name = if cfg!(target_os = "macos") {
            "libec3_gate.dylib"
        } else if cfg!(windows) {
            "ec3_gate.dll"
        } else {
            "libec3_gate.so"
        };
        self.lib_dir.join(name)
    }

    pub fn static_lib(&self) -> PathBuf {
        self.lib_dir.join("libec3_gate.a")
    }

    /// A file under `ffi/`.
    pub fn ffi(&self, path: &str) -> PathBuf {
        self.workspace.join("ffi").join(path)
    }

    /// The system libraries a static link needs, from the generated `.pc`.
    pub fn native_libs(&self) -> Vec<String> {
        let pc = std::fs::read_to_string(self.lib_dir.join("ec3_gate.pc"))
            .expect("build.rs wrote ec3_gate.pc");
        let line = pc
            .lines()
            .find_map(|l| l.strip_prefix("native_libs="))
            .expect("ec3_gate.pc has native_libs");
        line.split_whitespace().map(str::to_owned).collect()
    }
}

/// Builds the libraries once per test binary.
pub fn paths() -> &'static Paths {
    static PATHS: OnceLock<Paths> = OnceLock::new();
    PATHS.get_or_init(build_libraries)
}

fn build_libraries() -> Paths {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target_dir = tmp.parent().expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let exe = env::current_exe().unwrap();
    // <target>[/<triple>]/<profile dir>/deps/<test binary>
    let lib_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let profile = match lib_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("unexpected test binary location {}", exe.display()),
    };
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo describes the test's own package in the environment; a build
    // script that watches one of these (ring's watches CARGO_MANIFEST_DIR)
    // would rebuild on every run if they leaked into the nested build.
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            cargo.env_remove(name.as_ref());
        }
    }
    cargo
        .args(["build", "--quiet", "-p", "ec3-gate-ffi", "--lib"])
        .args(["--profile", profile])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    let under = lib_dir.parent().unwrap();
    if under != target_dir {
        cargo.arg("--target").arg(under.file_name().unwrap());
    }
    let output = cargo.output().expect("run cargo");
    assert!(
        output.status.success(),
        "building the C library failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = tmp.join("ec3-gate-ffi");
    std::fs::create_dir_all(&out).unwrap();
    Paths {
        workspace: workspace.to_path_buf(),
        include: workspace.join("include"),
        lib_dir,
        out,
    }
}

/// True when `program --version` runs.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    C,
    Cpp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Static,
    Shared,
}

impl Lang {
    pub fn compiler(self) -> String {
        let (var, default) = match self {
            Lang::C => ("CC", "cc"),
            Lang::Cpp => ("CXX", "c++"),
        };
        env::var(var).unwrap_or_else(|_| default.to_owned())
    }

    /// Warnings as errors, strict standard mode: the header and programs
    /// must be clean C11 and C++17.
    pub fn flags(self) -> &'static [&'static str] {
        match self {
            Lang::C => &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"],
            Lang::Cpp => &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"],
        }
    }
}

/// Compiles and links `source` against the library; returns the program.
pub fn build_program(name: &str, lang: Lang, source: &Path, link: Link, extra: &[&str]) -> PathBuf {
    let paths = paths();
    let exe = paths.out.join(name);
    let mut cc = Command::new(lang.compiler());
    cc.args(lang.flags())
        .args(["-g", "-pthread"])
        .arg("-I")
        .arg(&paths.include)
        .args(extra)
        .arg(source)
        .arg("-o")
        .arg(&exe);
    match link {
        Link::Static => {
            cc.arg(paths.static_lib()).args(paths.native_libs());
        }
        Link::Shared => {
            cc.arg("-L")
                .arg(&paths.lib_dir)
                .arg("-lec3_gate")
                .arg(format!("-Wl,-rpath,{}", paths.lib_dir.display()));
        }
    }
    run_ok(&mut cc, "compile");
    exe
}

/// Runs `cmd`, failing the test (with its output) unless it succeeds.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let output = run(cmd, Duration::from_secs(300));
    assert!(
        output.status.success(),
        "{what} failed ({}): {cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `cmd` with a deadline (a hung program fails the test, not CI).
/// Its output is read by threads, so a chatty program never blocks on a
/// full pipe.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} ran longer than {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&stdout.join().unwrap()),
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A fresh tag per program run, so job ids never collide on the server.
pub fn tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{name}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Runs the test program `exe` (through `wrapper`, such as [`VALGRIND`]) against a fresh
/// job service as `exe BASE_URL TAG VERSION ARGS...`, and checks that it passed and
/// printed `ok - NAME` for each of `scenarios`. Returns its stderr and the service.
pub fn run_scenarios(
    exe: &Path,
    wrapper: &[&str],
    args: &[&str],
    scenarios: &[&str],
    limit: Duration,
) -> (String, ec3_sim::Sim) {
    let sim = server::start();
    let name = exe.file_name().unwrap().to_str().unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut cmd = Command::new(program);
            cmd.args(wrapper_args).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    cmd.args([sim.url(), &tag(name), env!("CARGO_PKG_VERSION")])
        .args(args);
    let output = run(&mut cmd, limit);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let missing: Vec<_> = scenarios
        .iter()
        .filter(|s| !stdout.lines().any(|l| l == format!("ok - {s}")))
        .collect();
    assert!(
        output.status.success() && missing.is_empty(),
        "{name} failed ({}), scenarios not passed: {missing:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    (stderr, sim)
}

/// valgrind's memcheck as a user's CI runs it: every leak kind shown, definite or
/// possible leaks fail (valgrind's default error kinds), no suppression file.
pub const VALGRIND: &[&str] = &[
    "valgrind",
    "--tool=memcheck",
    "--error-exitcode=99",
    "--leak-check=full",
    "--show-leak-kinds=all",
    "--num-callers=60",
];

/// True when `program --version` runs. When it does not, notes that the test is
/// skipped, or fails when the variable `required_by` is set (CI sets it after
/// installing the tool).
pub fn have_or_skip(program: &str, required_by: Option<&str>) -> bool {
    if have(program) {
        return true;
    }
    if let Some(var) = required_by {
        assert!(
            env::var_os(var).is_none(),
            "{program} is required ({var} is set) but not installed"
        );
        eprintln!("skipped: {program} is not installed (set {var} to require it)");
    } else {
        eprintln!("skipped: {program} is not installed");
    }
    false
}

/// True when valgrind is installed; see [`have_or_skip`].
pub fn have_valgrind() -> bool {
    have_or_skip("valgrind", Some("EC3_GATE_REQUIRE_VALGRIND"))
}

/// Checks valgrind's report: 0 errors, and nothing definitely or possibly lost. Shows
/// its summary lines with --nocapture (the release notes quote them).
pub fn assert_valgrind_clean(stderr: &str) {
    let summary = [
        "in use at exit",
        "total heap usage",
        "lost:",
        "reachable:",
        "All heap blocks",
        "ERROR SUMMARY",
    ];
    for line in stderr
        .lines()
        .filter(|l| summary.iter().any(|k| l.contains(k)))
    {
        eprintln!("valgrind: {line}");
    }
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    let freed = stderr.contains("All heap blocks were freed");
    let lost_nothing = stderr.contains("definitely lost: 0 bytes in 0 blocks")
        && stderr.contains("possibly lost: 0 bytes in 0 blocks");
    assert!(freed || lost_nothing, "{stderr}");
}

/// The job service the C programs talk to: the project's simulator, accepting only the
/// client the programs use (`c-app` / `good-secret`). Job ids and configuration ids pick
/// the scenario (see `ec3_sim`); each program run uses ids of its own.
pub mod server {
    use ec3_sim::{Options, Sim};

    /// The project name the test programs send: a quote and non-ASCII text
    /// check the request's JSON encoding.
    pub const PROJECT_NAME: &str = "Tower \"A\" \u{dc}ber";
    /// The EC3 token the test programs send.
    pub const EC3_TOKEN: &str = "ec3-s3cr3t-token";
    /// The extraction id the test programs send for `…-ext` configurations.
    pub const EXTRACTION_ID: &str = "extraction-1";

    /// Starts a simulator; it stops when dropped.
    pub fn start() -> Sim {
        let only = ("c-app".to_owned(), "good-secret".to_owned());
        let options = Options {
            client: Some(only),
            ..Options::default()
        };
        Sim::start(options).expect("start the simulator")
    }

    /// Checks every job the programs created against what they send: a field the library
    /// dropped, renamed, mis-escaped or sent when not given fails here, naming it.
    pub fn check_created(sim: &Sim) {
        for body in sim.created_requests() {
            let configuration = body["configurationId"].as_str().unwrap_or_default();
            let extraction = configuration.ends_with("-ext").then_some(EXTRACTION_ID);
            assert_eq!(
                body["projectName"], PROJECT_NAME,
                "{configuration}: projectName"
            );
            assert!(
                body["ec3BearerToken"] == EC3_TOKEN,
                "{configuration}: ec3BearerToken"
            );
            assert_eq!(
                body["extractionId"].as_str(),
                extraction,
                "{configuration}: extractionId"
            );
        }
    }
}
