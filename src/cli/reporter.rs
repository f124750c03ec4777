//! The end of a run: the result on stdout, a verdict on stderr, and in
//! GitHub mode the step outputs, summary and an annotation.

use std::path::PathBuf;
use std::time::Duration;

use super::github::{self, command};
use super::report::Report;
use super::text::one_line;
use ec3_gate::{Error, Job, JobStatus};

use super::progress::Known;
use super::settings::Early;
use super::{Outcome, err, out};

/// Reports `outcome` and hands it back for the exit code. `gates` is false
/// for commands that look nothing up about a job (`configurations`): they
/// write no step outputs or summary.
pub fn finish(
    early: &Early,
    known: &Known,
    outcome: Outcome,
    elapsed: Duration,
    gates: bool,
) -> Outcome {
    let state = known.get();
    let job = match &outcome {
        Outcome::Answered(j) | Outcome::Finished(j) => Some(j.clone()),
        _ => state.job.clone(),
    };
    let report = Report::new(state.job_id.as_ref(), job.as_ref());
    let usage = matches!(&outcome, Outcome::Failed(e) if e.is_usage());

    match &outcome {
        Outcome::Listed(list) if early.json => {
            out!(
                "{}",
                serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
            );
        }
        Outcome::Listed(list) => {
            for c in list {
                let field = |v: &Option<String>| one_line(v.as_deref().unwrap_or(""), 200);
                out!(
                    "{}\t{}\t{}",
                    one_line(&c.id, 256),
                    field(&c.display_name),
                    field(&c.modified_on)
                );
            }
        }
        _ if early.json && !usage => out!("{}", report.to_json()),
        Outcome::Created(id) => out!("{id}"),
        _ => {
            if let Some(job) = &job {
                out!("{}", job.status);
            }
        }
    }

    let id = report.job_id.clone().unwrap_or_default();
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string();
    let (title, verdict) = verdict(&outcome, job.as_ref(), &id, &took);
    if early.github {
        let kind = match &outcome {
            Outcome::Finished(j) | Outcome::Answered(j) if j.status != JobStatus::Failed => {
                "notice"
            }
            Outcome::Created(_) | Outcome::Listed(_) => "notice",
            Outcome::Answered(_) => "warning",
            _ => "error",
        };
        err!("{}", command(kind, &[("title", title)], &verdict));
        if gates {
            let outputs = report.outputs();
            let pending: Vec<_> = outputs
                .iter()
                .filter(|(name, _)| !(state.job_id_written && *name == "job-id"))
                .copied()
                .collect();
            write_outputs(&pending);
            if !usage {
                write_summary(&report.summary(title, elapsed));
            }
        }
    } else {
        err!("ec3-gate: {}", one_line(&verdict, 2000));
    }
    outcome
}

/// A title and a one-paragraph verdict for people.
fn verdict(outcome: &Outcome, job: Option<&Job>, id: &str, took: &str) -> (&'static str, String) {
    let link = job.and_then(|j| j.ec3_project_url.as_deref());
    let message = job
        .and_then(|j| j.message.as_deref())
        .unwrap_or("(no message)");
    match outcome {
        Outcome::Finished(j) if j.status == JobStatus::Succeeded => (
            "EC3 job succeeded",
            format!(
                "job {id} succeeded after {took}; EC3 project: {}",
                link.unwrap_or("(no link)")
            ),
        ),
        Outcome::Finished(_) => (
            "EC3 job failed",
            format!("job {id} failed after {took}: {message}"),
        ),
        Outcome::Answered(j) => ("EC3 job status", format!("job {id} is {}", j.status)),
        Outcome::Created(new) => ("EC3 job created", format!("created job {new}")),
        Outcome::Listed(list) => (
            "EC3 configurations",
            format!("{} configuration(s)", list.len()),
        ),
        Outcome::Failed(Error::TimedOut) => (
            "EC3 job timed out",
            format!(
                "job {id} was still {} after {took}",
                job.map_or("unanswered".into(), |j| j.status.to_string())
            ),
        ),
        Outcome::Failed(e) if e.is_usage() => ("ec3-gate usage error", format!("error: {e}")),
        Outcome::Failed(e) => ("ec3-gate error", format!("error: {e}")),
        Outcome::Interrupted(sig) => (
            "ec3-gate interrupted",
            format!("interrupted by signal {sig} after {took}"),
        ),
    }
}

fn runner_file(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Appends `outputs` to `$GITHUB_OUTPUT`; true when written. A failure is
/// reported as a warning, never silent, and does not change the verdict.
pub fn write_outputs(outputs: &[(&str, &str)]) -> bool {
    let Some(path) = runner_file("GITHUB_OUTPUT") else {
        err!("::warning::GITHUB_OUTPUT is not set; step outputs were not written");
        return false;
    };
    match github::append_outputs(&path, outputs) {
        Ok(()) => true,
        Err(e) => {
            err!(
                "{}",
                command(
                    "warning",
                    &[],
                    &format!("could not write step outputs: {e}")
                )
            );
            false
        }
    }
}

fn write_summary(text: &str) {
    if let Some(path) = runner_file("GITHUB_STEP_SUMMARY") {
        if let Err(e) = github::append(&path, text) {
            err!(
                "{}",
                command(
                    "warning",
                    &[],
                    &format!("could not write the step summary: {e}")
                )
            );
        }
    }
}
