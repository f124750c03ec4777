//! `ec3-gate`: wait for an EC3 upload job and gate CI on it.

mod cli;

use std::process::ExitCode;

use ec3_gate::{ErrorKind, JobStatus};

use cli::Outcome;

fn main() -> ExitCode {
    // The environment first: its secrets are masked before anything prints.
    let (env, env_error) = cli::read_env(std::env::vars_os());
    let outcome = match cli::args::parse() {
        Ok(args) => cli::gate(args, &env, env_error),
        // --help and --version are not errors.
        Err(e) if !e.use_stderr() => {
            use std::io::Write as _;
            // A closed stdout (`ec3-gate --help | head -1`) is no error.
            let _ = std::io::stdout().write_all(cli::args::rendered(&e).as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => cli::refuse_args(&e, &env),
    };
    ExitCode::from(exit_code(&outcome))
}

/// The exit-code contract. Codes are stable: CI scripts branch on them. "The
/// job failed" (1) is kept apart from "the tool could not tell" (2-7, the
/// core's [`ErrorKind`] numbers), and timeouts (3) from errors, because a
/// retry helps only some.
fn exit_code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Answered(_)
        | Outcome::Created(_)
        | Outcome::Extracted(_)
        | Outcome::Listed(_)
        | Outcome::Checked => 0,
        Outcome::Finished(job) if job.status == JobStatus::Succeeded => 0,
        Outcome::Finished(_) => 1,
        // The CLI turns a cancel into `Interrupted`; one that slips through
        // was still an interruption.
        Outcome::Failed(e) if e.kind() == ErrorKind::Cancelled => 130,
        Outcome::Failed(e) => e.kind().code(),
        // 128 + signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
        Outcome::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(130),
        // Several jobs: 0 only when every one succeeded, else the status of
        // the job the core's precedence picks, as for that job alone.
        Outcome::Group(_) => outcome.deciding().map_or(0, |one| exit_code(&one)),
    }
}
