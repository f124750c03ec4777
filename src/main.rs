//! `ec3-gate`: wait for an EC3 upload job and gate CI on it.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;
use ec3_gate::{Error, JobStatus};

use cli::Outcome;

fn main() -> ExitCode {
    let args = match cli::args::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors; everything else is usage.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    ExitCode::from(exit_code(&cli::run(args, std::env::vars_os())))
}

/// The exit-code contract, in one place. Codes are stable: CI scripts branch
/// on them. "The job failed" (1) is kept apart from "the tool could not
/// tell" (2-6), and timeouts (3) from errors, because a retry helps only some.
fn exit_code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Answered(_) | Outcome::Created(_) | Outcome::Listed(_) | Outcome::Checked => 0,
        Outcome::Finished(job) if job.status == JobStatus::Succeeded => 0,
        Outcome::Finished(_) => 1,
        Outcome::Failed(e) if e.is_usage() => 2,
        Outcome::Failed(Error::TimedOut) => 3,
        Outcome::Failed(Error::AuthRefused { .. }) => 4,
        Outcome::Failed(Error::JobNotFound(_)) => 5,
        Outcome::Failed(Error::Rejected { .. }) => 7,
        Outcome::Failed(_) => 6,
        // 128 + signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
        Outcome::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(130),
    }
}
