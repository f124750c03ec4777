//! The `ec3-gate` command line: parse, validate, run on a worker thread
//! (so a signal is answered at once), then report.

pub mod args;
mod github;
mod progress;
#[cfg(test)]
mod properties;
mod report;
mod reporter;
#[cfg(test)]
#[path = "../../tests/common/runner_output.rs"]
mod runner_output;
pub mod settings;
mod text;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ec3_gate::{Cancel, Client, Configuration, Error, Job, JobId, WaitOptions};
use github::command;

use progress::{Known, Progress};
use settings::{Early, Settings, Task};

/// How a run ended; `main` turns it into an exit code.
#[derive(Debug)]
pub enum Outcome {
    /// `status`: the service answered with the job.
    Answered(Job),
    /// `wait`, `upload --wait`: the job reached a terminal status.
    Finished(Job),
    /// `upload`: the job was created.
    Created(JobId),
    /// `configurations`: the list.
    Listed(Vec<Configuration>),
    /// Something stopped the run (usage, auth, timeout, …).
    Failed(Error),
    /// A signal (its number) stopped the run.
    Interrupted(i32),
}

/// Prints a line on stdout. A closed pipe (`ec3-gate status | head -0`) is
/// not worth a panic: the outcome and exit code still stand.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Prints a line on stderr, ignoring a closed pipe like [`out!`].
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) use {err, out};

/// After a signal, how long the worker gets to stop by itself before the
/// outcome is reported without it.
const SIGNAL_GRACE: Duration = Duration::from_millis(400);

enum Message {
    Done(Outcome),
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
            err!("{}", command("add-mask", &[], secret));
        }
    }
    let known = Known::default();
    let started = Instant::now();
    let (outcome, gates) = match settings {
        Ok(settings) => {
            let gates = !matches!(settings.task, Task::Configurations { .. });
            (execute(&early, settings, &known), gates)
        }
        Err(e) => (Outcome::Failed(e), true),
    };
    reporter::finish(&early, &known, outcome, started.elapsed(), gates)
}

fn execute(early: &Early, settings: Settings, known: &Known) -> Outcome {
    let Settings { config, task } = settings;
    if let Task::Status { job_id, .. } | Task::Wait { job_id, .. } = &task {
        known.set_job_id(job_id.clone(), false);
    }
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::channel();
    watch_signals(&cancel, tx.clone());
    let worker = {
        let (cancel, known, github) = (cancel.clone(), known.clone(), early.github);
        std::thread::spawn(move || {
            // A bug must end the run with an error, never leave main waiting.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                perform(&client, task, &cancel, &known, github)
            }))
            .unwrap_or_else(|_| {
                Outcome::Failed(Error::Internal("the worker thread panicked".into()))
            });
            let _ = tx.send(Message::Done(outcome));
        })
    };
    let outcome = match rx.recv() {
        Ok(Message::Done(Outcome::Failed(Error::Cancelled))) => Outcome::Interrupted(2),
        Err(_) => Outcome::Failed(Error::Internal("the worker thread vanished".into())),
        Ok(Message::Done(outcome)) => outcome,
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

/// The task itself, on the worker thread.
fn perform(client: &Client, task: Task, cancel: &Cancel, known: &Known, github: bool) -> Outcome {
    match task {
        Task::Status { job_id, timeout } => {
            let mut progress = Progress::new(github, Some(job_id.clone()), known.clone(), false);
            let result = client.job_status(&job_id, timeout, cancel, &mut progress);
            result.map_or_else(Outcome::Failed, Outcome::Answered)
        }
        Task::Wait { job_id, options } => wait(client, &job_id, &options, cancel, known, github),
        Task::Upload {
            job,
            timeout,
            wait: then_wait,
        } => {
            let started = Instant::now();
            let mut progress = Progress::new(github, None, known.clone(), false);
            let job_id = match client.create_job(&job, timeout, cancel, &mut progress) {
                Ok(id) => id,
                Err(e) => return Outcome::Failed(e),
            };
            // At once, so a later step can pick the job up even if the wait is cancelled.
            known.set_job_id(job_id.clone(), github);
            match then_wait {
                None => Outcome::Created(job_id),
                Some(options) => {
                    progress.line(&format!("ec3-gate: created job {job_id}"));
                    let left = options
                        .timeout()
                        .saturating_sub(started.elapsed())
                        .max(Duration::from_millis(1));
                    // Within bounds: at least 1 ms, at most the checked timeout.
                    let left = WaitOptions::new(left, options.interval()).unwrap_or(options);
                    wait(client, &job_id, &left, cancel, known, github)
                }
            }
        }
        Task::Configurations { itwin_id, timeout } => {
            let mut progress = Progress::new(github, None, known.clone(), false);
            client
                .configurations(&itwin_id, timeout, cancel, &mut progress)
                .map_or_else(Outcome::Failed, Outcome::Listed)
        }
    }
}

fn wait(
    client: &Client,
    job_id: &JobId,
    options: &WaitOptions,
    cancel: &Cancel,
    known: &Known,
    github: bool,
) -> Outcome {
    let mut progress = Progress::new(github, Some(job_id.clone()), known.clone(), true);
    let result = client.wait(job_id, options, cancel, &mut progress);
    progress.finish();
    result.map_or_else(Outcome::Failed, Outcome::Finished)
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
