//! The library as a C or C++ project gets it: `scripts/install-capi.sh` into
//! a fresh prefix, then a C11 program built with nothing but pkg-config
//! (shared, static, and fully static) and a C++17 CMake project (shared and
//! static imported targets), each run against the local service with no
//! `LD_LIBRARY_PATH`. Also the shared library's SONAME and file names, and
//! the exported symbols of both libraries against `ffi/ec3_gate.symbols`.
//!
//! Linux only: the install layout for macOS and Windows is documented in
//! docs/c-api.md but cannot be built on this CI's runner.
#![cfg(target_os = "linux")]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use support::{
    Lang, VALGRIND, assert_valgrind_clean, have_or_skip, have_valgrind, paths, run, run_ok, server,
};

const MAJOR: &str = env!("CARGO_PKG_VERSION_MAJOR");
const MINOR: &str = env!("CARGO_PKG_VERSION_MINOR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The install prefix, filled once per test run by the install script.
fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let paths = paths();
        let prefix = paths.out.join("prefix");
        let _ = std::fs::remove_dir_all(&prefix);
        run_ok(
            Command::new(paths.workspace.join("scripts/install-capi.sh"))
                .arg("--from")
                .arg(&paths.lib_dir)
                .arg("--prefix")
                .arg(&prefix),
            "scripts/install-capi.sh",
        );
        prefix
    })
}

fn soname() -> String {
    let abi = if MAJOR == "0" {
        format!("0.{MINOR}")
    } else {
        MAJOR.to_owned()
    };
    format!("libec3_gate.so.{abi}")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn install_tree_is_complete_and_versioned() {
    let prefix = prefix();
    let lib = prefix.join("lib");
    for file in [
        "include/ec3_gate.h",
        "lib/libec3_gate.a",
        "lib/pkgconfig/ec3_gate.pc",
        "lib/pkgconfig/ec3_gate-static.pc",
        "lib/cmake/ec3_gate/ec3_gateConfig.cmake",
        "lib/cmake/ec3_gate/ec3_gateConfigVersion.cmake",
        "share/doc/ec3_gate/c-api.md",
        "share/doc/ec3_gate/LICENSE-MIT",
        "share/doc/ec3_gate/LICENSE-APACHE",
    ] {
        assert!(prefix.join(file).is_file(), "{file} is not installed");
    }
    let real = format!("libec3_gate.so.{VERSION}");
    assert!(lib.join(&real).is_file() && !lib.join(&real).is_symlink());
    let link = |name: &str| std::fs::read_link(lib.join(name)).ok();
    assert_eq!(link(&soname()), Some(PathBuf::from(&real)));
    assert_eq!(link("libec3_gate.so"), Some(PathBuf::from(soname())));
    let dynamic = run_ok(
        Command::new("readelf").arg("-d").arg(lib.join(&real)),
        "readelf",
    );
    assert!(
        text(&dynamic).contains(&format!("Library soname: [{}]", soname())),
        "{}",
        text(&dynamic)
    );
    // The tree is relocatable: no file names the build directory.
    for file in [
        "lib/pkgconfig/ec3_gate.pc",
        "lib/cmake/ec3_gate/ec3_gateConfig.cmake",
    ] {
        let body = std::fs::read_to_string(prefix.join(file)).unwrap();
        assert!(
            !body.contains(&*paths().lib_dir.to_string_lossy()),
            "{file}: {body}"
        );
    }
}

/// The names in `ffi/ec3_gate.symbols`.
fn symbol_list() -> BTreeSet<String> {
    std::fs::read_to_string(paths().ffi("ec3_gate.symbols"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Global symbols `nm` lists as defined in `file`.
fn defined_globals(args: &[&str], file: &Path) -> BTreeSet<String> {
    let output = run_ok(
        Command::new("nm")
            .args(args)
            .arg("--defined-only")
            .arg(file),
        "nm",
    );
    text(&output)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace().rev();
            let name = parts.next()?;
            let kind = parts.next()?;
            // Uppercase kinds are global (T text, D data, B bss, W weak…).
            (kind.len() == 1 && kind.chars().all(|c| c.is_ascii_uppercase()))
                .then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn both_libraries_export_exactly_the_symbol_list() {
    if !have_or_skip("nm", None) {
        return;
    }
    let list = symbol_list();
    let header = std::fs::read_to_string(prefix().join("include/ec3_gate.h")).unwrap();
    for name in &list {
        let declared = [" ", "*"]
            .iter()
            .any(|before| header.contains(&format!("{before}{name}(")));
        assert!(declared, "{name} is not declared in the header");
    }
    let lib = prefix().join("lib");
    let shared = defined_globals(&["-D"], &lib.join(soname()));
    let shipped_static = defined_globals(&["-g"], &lib.join("libec3_gate.a"));
    let built_static = defined_globals(&["-g"], &paths().static_lib());
    eprintln!(
        "exported symbols: shared {}, static as installed {}, static as built {}",
        shared.len(),
        shipped_static.len(),
        built_static.len()
    );
    assert_eq!(shared, list);
    assert_eq!(shipped_static, list);
}

/// Runs an installed program against the service, with no library path
/// from the environment. Returns (exit code, stdout, stderr).
fn run_program(cmd: &mut Command) -> (i32, String, String) {
    let output = run(cmd.env_remove("LD_LIBRARY_PATH"), Duration::from_secs(300));
    (
        output.status.code().unwrap_or(-1),
        text(&output),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn needed(exe: &Path) -> String {
    text(&run_ok(
        Command::new("readelf").arg("-d").arg(exe),
        "readelf",
    ))
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let output = run_ok(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig"))
            .args(args),
        "pkg-config",
    );
    text(&output)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The README's example, built from the installed prefix with pkg-config:
/// shared (rpath from the .pc's libdir), static through
/// `ec3_gate-static`, and fully static (`cc -static`).
#[test]
fn c_example_builds_from_the_prefix_with_pkg_config() {
    if !have_or_skip("pkg-config", None) {
        return;
    }
    let paths = paths();
    assert_eq!(pkg_config(&["--modversion", "ec3_gate"]), [VERSION]);
    assert_eq!(pkg_config(&["--modversion", "ec3_gate-static"]), [VERSION]);
    let libdir = pkg_config(&["--variable=libdir", "ec3_gate"]).join(" ");
    let shared = [
        pkg_config(&["--cflags", "--libs", "ec3_gate"]),
        vec![format!("-Wl,-rpath,{libdir}")],
    ]
    .concat();
    let static_libs = pkg_config(&["--cflags", "--libs", "--static", "ec3_gate-static"]);
    let fully_static = [vec!["-static".to_owned()], static_libs.clone()].concat();
    let sim = server::start();
    for (name, flags) in [
        ("installed_shared", shared),
        ("installed_static", static_libs),
        ("installed_fully_static", fully_static),
    ] {
        let exe = paths.out.join(name);
        let mut cc = Command::new(Lang::C.compiler());
        cc.args(Lang::C.flags())
            .arg(paths.ffi("examples/wait.c"))
            .arg("-o")
            .arg(&exe)
            .args(&flags);
        run_ok(&mut cc, &format!("building {name}"));
        let dynamic = needed(&exe);
        assert_eq!(
            dynamic.contains(&format!("Shared library: [{}]", soname())),
            name == "installed_shared",
            "{name}: {dynamic}"
        );
        let example = |job: &str| {
            run_program(
                Command::new(&exe)
                    .env("ITWIN_ACCESS_TOKEN", "good-token")
                    .env("ITWIN_API_URL", sim.url())
                    .env("EC3_INTERVAL_MS", "10")
                    .arg(job),
            )
        };
        let id = format!("ok-{name}");
        let (code, out, err) = example(&id);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert_eq!(
            out,
            format!("https://buildingtransparency.org/ec3/buildings/{id}?view=custom\n")
        );
        let (code, _, err) = example(&format!("missing-{name}"));
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("HTTP 404, service code JobNotFound"), "{err}");
    }
}

/// The installed shared library under valgrind, as a user's CI runs it.
#[test]
fn installed_example_under_valgrind_loses_nothing() {
    // Requiring valgrind requires the pkg-config this test builds with.
    if !have_valgrind() || !have_or_skip("pkg-config", Some("EC3_GATE_REQUIRE_VALGRIND")) {
        return;
    }
    let paths = paths();
    let libdir = pkg_config(&["--variable=libdir", "ec3_gate"]).join(" ");
    let exe = paths.out.join("installed_valgrind");
    run_ok(
        Command::new(Lang::C.compiler())
            .args(Lang::C.flags())
            .arg(paths.ffi("examples/wait.c"))
            .arg("-o")
            .arg(&exe)
            .args(pkg_config(&["--cflags", "--libs", "ec3_gate"]))
            .arg(format!("-Wl,-rpath,{libdir}")),
        "building installed_valgrind",
    );
    let sim = server::start();
    let (code, out, err) = run_program(
        Command::new(VALGRIND[0])
            .args(&VALGRIND[1..])
            .arg(&exe)
            .arg("ok-installed-valgrind")
            .env("ITWIN_ACCESS_TOKEN", "good-token")
            .env("ITWIN_API_URL", sim.url())
            .env("EC3_INTERVAL_MS", "10"),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_valgrind_clean(&err);
}

/// A C++17 CMake project finds the package (and refuses another ABI
/// line), builds against both imported targets, and runs.
#[test]
fn cmake_project_builds_from_the_prefix() {
    if !have_or_skip("cmake", Some("EC3_GATE_REQUIRE_CMAKE")) {
        return;
    }
    let paths = paths();
    let source = paths.ffi("tests/cmake");
    let configure = |build: &Path, want: &str| {
        let _ = std::fs::remove_dir_all(build);
        run(
            Command::new("cmake")
                .arg("-S")
                .arg(&source)
                .arg("-B")
                .arg(build)
                .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix().display()))
                .arg(format!("-DEC3_GATE_WANT={want}"))
                .env("CXX", Lang::Cpp.compiler()),
            Duration::from_secs(300),
        )
    };
    // Another ABI line is not this package: 0.x and 0.(x+1) differ.
    let next: u32 = MINOR.parse::<u32>().unwrap() + 1;
    let other = if MAJOR == "0" {
        format!("0.{next}")
    } else {
        format!("{}", MAJOR.parse::<u32>().unwrap() + 1)
    };
    let refused = configure(&paths.out.join("cmake-other"), &other);
    assert!(
        !refused.status.success(),
        "find_package({other}) accepted {VERSION}"
    );
    let build = paths.out.join("cmake-build");
    let configured = configure(&build, &format!("{MAJOR}.{MINOR}"));
    assert!(
        configured.status.success(),
        "cmake configure failed:\n{}{}",
        text(&configured),
        String::from_utf8_lossy(&configured.stderr)
    );
    run_ok(
        Command::new("cmake").arg("--build").arg(&build),
        "cmake --build",
    );
    let sim = server::start();
    for name in ["consumer_shared", "consumer_static"] {
        let exe = build.join(name);
        assert_eq!(
            needed(&exe).contains(&soname()),
            name == "consumer_shared",
            "{name}"
        );
        let id = format!("ok-{name}");
        let (code, out, err) = run_program(Command::new(&exe).args([sim.url(), "good-token", &id]));
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert_eq!(
            out,
            format!("{id} https://buildingtransparency.org/ec3/buildings/{id}?view=custom\n")
        );
        let (code, _, err) = run_program(Command::new(&exe).args([
            sim.url(),
            "good-token",
            &format!("missing-{name}"),
        ]));
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("(HTTP 404, JobNotFound)"), "{err}");
    }
}

/// release.yml relies on package-capi.sh failing loudly on bad arguments
/// (the archive itself is built by the release workflow, not here: it is a
/// full release build per target).
#[test]
fn package_capi_refuses_bad_arguments_before_building() {
    let paths = paths();
    let script = paths.workspace.join("scripts/release/package-capi.sh");
    let out = paths.out.join("package-capi-refused");
    for (args, says) in [
        (vec![], "usage: package-capi.sh TARGET OUTDIR"),
        (
            vec!["x86_64-unknown-linux-gnu"],
            "usage: package-capi.sh TARGET OUTDIR",
        ),
        (
            vec!["not a target", out.to_str().unwrap()],
            "TARGET must be a Rust target triple, got 'not a target'",
        ),
    ] {
        let output = run(
            Command::new("bash").arg(&script).args(&args),
            Duration::from_secs(60),
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert_eq!(text(&output), format!("::error::{says}\n"), "{args:?}");
    }
    assert!(!out.exists(), "nothing is written for refused arguments");
}
