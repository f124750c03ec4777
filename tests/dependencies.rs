//! The command line's crates are the binary's alone: the C library and a Rust
//! program that uses the core (`ec3-gate` with `default-features = false`)
//! compile none of them. Read from `cargo tree` of the locked workspace.

use std::path::Path;
use std::process::Command;

/// The crates only the command line needs (the `cli` feature).
const CLI_ONLY: [&str; 4] = ["clap", "envy", "indicatif", "signal-hook"];

/// The crate names of `cargo tree ARGS -e normal` (one per line, deduplicated).
fn tree(args: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "--no-dedupe"])
        .args(args)
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn cli_crates_in(names: &[String]) -> Vec<&str> {
    CLI_ONLY
        .into_iter()
        .filter(|c| names.iter().any(|n| n == c))
        .collect()
}

#[test]
fn the_c_library_depends_on_no_command_line_crate() {
    let names = tree(&["-p", "ec3-gate-ffi"]);
    assert!(names.iter().any(|n| n == "ureq"), "{names:?}");
    assert_eq!(cli_crates_in(&names), Vec::<&str>::new(), "{names:?}");
}

#[test]
fn the_core_without_its_cli_feature_depends_on_no_command_line_crate() {
    let names = tree(&["-p", "ec3-gate", "--no-default-features"]);
    assert!(names.iter().any(|n| n == "ureq"), "{names:?}");
    assert_eq!(cli_crates_in(&names), Vec::<&str>::new(), "{names:?}");
}

#[test]
fn the_binary_has_them_by_default() {
    // The default features build the binary: the check above is not empty.
    let names = tree(&["-p", "ec3-gate"]);
    assert_eq!(cli_crates_in(&names), CLI_ONLY.to_vec(), "{names:?}");
}
