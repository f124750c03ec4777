//! The `ec3-gate` command line: read the environment (and mask its secrets)
//! first, then validate, call the service on a worker thread (so a signal is
//! answered at once), and report.

pub mod args;
mod doctor;
mod extract;
pub(crate) mod github;
mod group;
mod progress;
#[cfg(test)]
mod properties;
mod report;
mod reporter;
pub mod settings;
pub(crate) mod text;

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ec3_gate::{Cancel, Client, Configuration, Error, Job, JobId, WaitOptions};

use progress::Progress;
use reporter::{LastSeen, Reporter};
use settings::{Env, Settings, Task};

/// How a run ended; `main` turns it into an exit code.
#[derive(Debug)]
pub enum Outcome {
    /// `status`: the service answered with the job.
    Answered(Job),
    /// `wait`, `upload --wait`: the job reached a terminal status.
    Finished(Job),
    /// `upload`: the job was created.
    Created(JobId),
    /// `extract`: the extraction was started (or, with `--wait`, it
    /// finished as the gate accepts: `Succeeded`, or an allowed
    /// `PartiallySucceeded`).
    Extracted(ec3_gate::Extraction),
    /// `configurations`: the list.
    Listed(Vec<Configuration>),
    /// `doctor`: every check passed.
    Checked,
    /// Something stopped the run (usage, auth, timeout, …).
    Failed(Error),
    /// A signal (its number) stopped the run.
    Interrupted(i32),
    /// Several jobs (`wait ID ID…`, `upload` with several configurations):
    /// each as far as it got, in input order.
    Group(Vec<group::Member>),
}

impl Outcome {
    /// The outcome that decides the exit status: this one, or for a group
    /// the outcome of its deciding job alone (the core's precedence); `None`
    /// for a group whose every job succeeded.
    pub fn deciding(&self) -> Option<Outcome> {
        match self {
            Self::Group(members) => group::deciding(members).map(|i| members[i].outcome()),
            _ => None,
        }
    }
}

/// Prints a line on stdout, through the sanitiser's line guard
/// ([`text::line`]). A closed pipe (`ec3-gate status | head -0`) is not worth
/// a panic: the outcome and exit code still stand.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = $crate::cli::text::line(&format!($($arg)*));
        let _ = writeln!(std::io::stdout(), "{line}");
    }};
}

/// Prints a line on stderr, through the line guard, like [`out!`].
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = $crate::cli::text::line(&format!($($arg)*));
        let _ = writeln!(std::io::stderr(), "{line}");
    }};
}

/// Prints one of the command's own workflow commands (made by
/// [`github::command`], its data escaped) on stderr: the only output that
/// skips the line guard.
macro_rules! runner {
    ($command:expr) => {{
        use std::io::Write as _;
        let command: $crate::cli::github::Command = $command;
        let _ = writeln!(std::io::stderr(), "{}", command.0);
    }};
}

pub(crate) use {err, out, runner};

/// After a signal, how long the worker gets to stop by itself before the
/// outcome is reported without it.
const SIGNAL_GRACE: Duration = Duration::from_millis(400);

enum Message {
    Done(Outcome),
    Signal(i32),
}

/// Reads the environment from `vars` and, in GitHub mode, masks every
/// secret in it: the first thing the command does, before anything (even a
/// usage error) could print one.
pub fn read_env(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> (Env, Option<Error>) {
    let (env, error) = Env::read(vars);
    if env.github() {
        let reporter = reporter::for_mode(true, false, false);
        for secret in env.secrets() {
            reporter.mask(&secret);
        }
    }
    (env, error)
}

/// A command line clap refused: printed in the tool's one error style (and
/// as an annotation in GitHub mode); exit 2.
pub fn refuse_args(error: &clap::Error, env: &Env) -> Outcome {
    let text = error.render().to_string();
    err!("ec3-gate: {}", text.trim_end());
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let e = Error::config("command line", first);
    if env.github() {
        reporter::for_mode(true, false, false).verdict(&reporter::Verdict {
            title: "ec3-gate usage error",
            text: format!("error: {e}"),
            level: "error",
            usage: true,
            gates: false,
            elapsed: Duration::ZERO,
        });
    }
    Outcome::Failed(e)
}

/// Gates on what `args` and `env` ask for, and reports the outcome on
/// stdout/stderr and, in GitHub mode, to the runner's files.
pub fn gate(args: args::Args, env: &Env, env_error: Option<Error>) -> Outcome {
    let reporter = reporter::for_mode(env.github(), args.command.json(), args.quiet);
    let seen = LastSeen::default();
    let started = Instant::now();
    let gates = !matches!(
        args.command,
        args::Command::Configurations { .. } | args::Command::Doctor { .. }
    );
    let settings = match env_error {
        Some(e) => Err(e),
        None => settings::validate(args, env),
    };
    let outcome = match settings {
        Ok(mut settings) => {
            let names = std::mem::take(&mut settings.names);
            names.outcome(supervise(settings, &reporter, &seen))
        }
        Err(e) => Outcome::Failed(e),
    };
    reporter::finish(&*reporter, &seen, outcome, started.elapsed(), gates)
}

/// Calls the service on a worker thread, and answers a signal at once.
fn supervise(settings: Settings, reporter: &Arc<dyn Reporter>, seen: &LastSeen) -> Outcome {
    let Settings { client, task, .. } = settings;
    if let Task::Status { job_id, .. } | Task::Wait { job_id, .. } = &task {
        seen.job_id(job_id.clone());
    }
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::channel();
    watch_signals(&cancel, tx.clone());
    let worker = {
        let (cancel, seen, reporter) = (cancel.clone(), seen.clone(), reporter.clone());
        std::thread::spawn(move || {
            // A bug must end the run with an error, never leave main waiting:
            // unwinding is the panic policy of every build (Cargo.toml).
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                call_service(&client, task, &cancel, &seen, reporter)
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

/// The task's calls to the service, on the worker thread.
fn call_service(
    client: &Client,
    task: Task,
    cancel: &Cancel,
    seen: &LastSeen,
    reporter: Arc<dyn Reporter>,
) -> Outcome {
    let progress = |job_id: Option<JobId>, live: bool| {
        Progress::new(reporter.clone(), job_id, seen.clone(), live)
    };
    match task {
        Task::Status { job_id, timeout } => {
            let mut progress = progress(Some(job_id.clone()), false);
            let result = client.job_status(&job_id, timeout, cancel, &mut progress);
            result.map_or_else(Outcome::Failed, Outcome::Answered)
        }
        Task::Wait { job_id, options } => {
            let mut progress = progress(Some(job_id.clone()), true);
            wait(client, &job_id, &options, cancel, &mut progress)
        }
        Task::WaitAll { job_ids, options } => {
            let mut progress = progress(None, false);
            group::wait_all(client, &job_ids, &options, cancel, seen, &mut progress)
        }
        Task::UploadAll {
            jobs,
            timeout,
            wait,
        } => {
            let mut progress = progress(None, false);
            group::upload_all(client, &jobs, timeout, wait, cancel, seen, &mut progress)
        }
        Task::Upload {
            job,
            timeout,
            wait: then_wait,
        } => {
            let started = Instant::now();
            let mut creating = progress(None, false);
            let job_id = match client.create_job(&job, timeout, cancel, &mut creating) {
                Ok(id) => id,
                Err(e) => return Outcome::Failed(e),
            };
            seen.job_id(job_id.clone());
            reporter.job_created(&job_id, seen);
            match then_wait {
                None => Outcome::Created(job_id),
                Some(options) => {
                    creating.progress(&format!("ec3-gate: created job {job_id}"));
                    let left = options
                        .timeout()
                        .saturating_sub(started.elapsed())
                        .max(Duration::from_millis(1));
                    // Within bounds: at least 1 ms, at most the checked timeout.
                    let left = WaitOptions::new(left, options.interval()).unwrap_or(options);
                    let mut progress = progress(Some(job_id.clone()), true);
                    wait(client, &job_id, &left, cancel, &mut progress)
                }
            }
        }
        Task::Chain {
            chain,
            options,
            wait,
        } => {
            let mut progress = progress(None, true);
            extract::chain(client, &chain, &options, wait, cancel, seen, &mut progress)
        }
        Task::Extract {
            new,
            options,
            wait,
            allow_partial,
        } => {
            let mut progress = progress(None, true);
            let ask = extract::Ask {
                new: &new,
                options: &options,
                wait,
                allow_partial,
            };
            extract::extract(client, &ask, cancel, seen, &mut progress)
        }
        Task::Configurations { itwin_id, timeout } => {
            let mut progress = progress(None, false);
            client
                .configurations(&itwin_id, timeout, cancel, &mut progress)
                .map_or_else(Outcome::Failed, Outcome::Listed)
        }
        Task::Doctor { timeout, settings } => doctor::run(client, &settings, timeout, cancel),
    }
}

fn wait(
    client: &Client,
    job_id: &JobId,
    options: &WaitOptions,
    cancel: &Cancel,
    progress: &mut Progress,
) -> Outcome {
    let result = client.wait(job_id, options, cancel, progress);
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
