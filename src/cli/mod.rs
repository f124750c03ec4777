//! The `ec3-gate` command line: parse, validate, run on a worker thread
//! (so a signal is answered at once), then report.

pub mod args;
mod progress;
pub mod settings;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ec3_gate::github::{self, command, escape_data};
use ec3_gate::report::Report;
use ec3_gate::text::one_line;
use ec3_gate::{Cancel, Client, Error, Job, JobId, JobStatus};

use progress::{LastJob, Progress};
use settings::{Early, Settings, Task};

/// How a run ended; `main` turns it into an exit code.
#[derive(Debug)]
pub enum Outcome {
    /// `status`: the service answered with the job.
    Answered(Job),
    /// `wait`: the job reached a terminal status.
    Finished(Job),
    /// Something stopped the run (usage, auth, timeout, …).
    Failed(Error),
    /// A signal (its number) stopped the run.
    Interrupted(i32),
}

/// After a signal, how long the worker gets to stop by itself before the
/// outcome is reported without it.
const SIGNAL_GRACE: Duration = Duration::from_millis(400);

enum Message {
    Done(Result<Job, Error>),
    Signal(i32),
}

/// Runs `args`, with the environment from `vars`, and reports the outcome on
/// stdout/stderr and, in GitHub mode, to the runner's files.
pub fn run(
    args: args::Args,
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Outcome {
    let (early, settings) = settings::resolve(args, vars);
    if early.github {
        // Before anything else is printed, so nothing can show a secret.
        for secret in &early.secrets {
            eprintln!("{}", command("add-mask", &[], secret));
        }
    }
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return finish(&early, None, None, Outcome::Failed(e), Duration::ZERO),
    };
    let job_id = settings.job_id.clone();
    let started = Instant::now();
    let last: LastJob = LastJob::default();
    let outcome = execute(&early, settings, &last);
    let known = last.lock().map(|g| g.clone()).unwrap_or_default();
    finish(&early, Some(&job_id), known, outcome, started.elapsed())
}

fn execute(early: &Early, settings: Settings, last: &LastJob) -> Outcome {
    let Settings {
        job_id,
        config,
        task,
        ..
    } = settings;
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::channel();
    watch_signals(&cancel, tx.clone());
    let is_wait = matches!(task, Task::Wait(_));
    let mut progress = Progress::new(early.github, job_id.clone(), last.clone(), is_wait);
    let worker = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let result = match task {
                Task::Status { timeout } => {
                    client.job_status(&job_id, timeout, &cancel, &mut progress)
                }
                Task::Wait(options) => client.wait(&job_id, &options, &cancel, &mut progress),
            };
            progress.finish();
            let _ = tx.send(Message::Done(result));
        })
    };
    let outcome = match rx.recv() {
        Ok(Message::Done(Ok(job))) if is_wait => Outcome::Finished(job),
        Ok(Message::Done(Ok(job))) => Outcome::Answered(job),
        Ok(Message::Done(Err(Error::Cancelled))) | Err(_) => Outcome::Interrupted(2),
        Ok(Message::Done(Err(e))) => Outcome::Failed(e),
        Ok(Message::Signal(sig)) => {
            // The worker was cancelled; give it a moment to finish cleanly.
            let _ = rx.recv_timeout(SIGNAL_GRACE);
            Outcome::Interrupted(sig)
        }
    };
    if !matches!(outcome, Outcome::Interrupted(_)) {
        let _ = worker.join();
    }
    outcome
}

#[cfg(unix)]
fn watch_signals(cancel: &Cancel, tx: mpsc::Sender<Message>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = tx.send(Message::Signal(sig));
            cancel.cancel();
        }
    });
}

#[cfg(not(unix))]
fn watch_signals(_: &Cancel, _: mpsc::Sender<Message>) {}

/// Reports `outcome`: the result on stdout, a verdict on stderr, and in
/// GitHub mode the outputs, summary and an annotation.
fn finish(
    early: &Early,
    job_id: Option<&JobId>,
    known: Option<Job>,
    outcome: Outcome,
    elapsed: Duration,
) -> Outcome {
    let job = match &outcome {
        Outcome::Answered(j) | Outcome::Finished(j) => Some(j.clone()),
        _ => known,
    };
    let report = Report::new(job_id, job.as_ref());
    let usage = matches!(&outcome, Outcome::Failed(e) if e.is_usage());

    if early.json && !usage {
        println!("{}", report.to_json());
    } else if let Some(job) = &job {
        println!("{}", job.status);
    }

    let id = job_id.map_or_else(String::new, |i| i.to_string());
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
    let (title, verdict) = verdict(&outcome, job.as_ref(), &id, &took.to_string());
    if early.github {
        let kind = match &outcome {
            Outcome::Finished(j) | Outcome::Answered(j) if j.status != JobStatus::Failed => {
                "notice"
            }
            Outcome::Answered(_) => "warning",
            _ => "error",
        };
        eprintln!("{}", command(kind, &[("title", title)], &verdict));
        write_runner_files(&report, title, elapsed, usage);
    } else {
        eprintln!("ec3-gate: {}", one_line(&verdict, 2000));
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

/// Writes `$GITHUB_OUTPUT` (always, with empty values where unknown) and the
/// step summary (when the job was looked at). A failure to write is reported,
/// never silent, but does not change the verdict.
fn write_runner_files(report: &Report, title: &str, elapsed: Duration, usage: bool) {
    let path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match path("GITHUB_OUTPUT") {
        Some(p) => {
            if let Err(e) = github::append_outputs(&p, &report.outputs()) {
                eprintln!(
                    "{}",
                    command(
                        "warning",
                        &[],
                        &format!("could not write step outputs: {e}")
                    )
                );
            }
        }
        None => eprintln!("::warning::GITHUB_OUTPUT is not set; step outputs were not written"),
    }
    if usage {
        return;
    }
    if let Some(p) = path("GITHUB_STEP_SUMMARY") {
        let text = report.summary(title, elapsed);
        if let Err(e) = github::append(&p, &text) {
            eprintln!(
                "{}",
                command(
                    "warning",
                    &[],
                    &format!(
                        "could not write the step summary: {}",
                        escape_data(&e.to_string())
                    )
                )
            );
        }
    }
}
