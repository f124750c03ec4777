//! What a run shows while it works: masks, one line per status change (or a
//! live spinner in a terminal), retries and warnings. Also keeps the last
//! answer, so outputs can be written even when the run is interrupted.

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::github::{command, escape_data};
use super::text::one_line;
use ec3_gate::{Event, Job, JobId, Observer};
use indicatif::{ProgressBar, ProgressStyle};

use super::err;

/// What is known so far (the job id, the last answer), shared with the
/// thread that reports the outcome, so even an interrupted run reports it.
#[derive(Clone, Default)]
pub struct Known(Arc<Mutex<KnownState>>);

/// The contents of [`Known`].
#[derive(Clone, Default)]
pub struct KnownState {
    /// The job's id, once known.
    pub job_id: Option<JobId>,
    /// The last answer.
    pub job: Option<Job>,
    /// The `job-id` step output was written already.
    pub job_id_written: bool,
}

impl Known {
    /// A copy of the state.
    pub fn get(&self) -> KnownState {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the job id; in GitHub mode (`write`) also writes the `job-id`
    /// output at once.
    pub fn set_job_id(&self, id: JobId, write: bool) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if write {
            state.job_id_written = super::reporter::write_outputs(&[("job-id", id.as_str())]);
        }
        state.job_id = Some(id);
    }

    fn set_job(&self, job: &Job) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).job = Some(job.clone());
    }
}

/// Prints progress to stderr (stdout carries only the result).
pub struct Progress {
    github: bool,
    job_id: Option<JobId>,
    spinner: Option<ProgressBar>,
    known: Known,
}

impl Progress {
    /// A progress display for `job_id`; a spinner only in an interactive
    /// terminal outside CI and without `NO_COLOR`.
    pub fn new(github: bool, job_id: Option<JobId>, known: Known, live: bool) -> Self {
        let interactive = live
            && !github
            && std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var_os("CI").is_none();
        let spinner = interactive.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message("waiting for the job");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            github,
            job_id,
            spinner,
            known,
        }
    }

    /// Prints one line on stderr, above the spinner if there is one.
    pub fn line(&self, text: &str) {
        match &self.spinner {
            Some(bar) => bar.println(text),
            None => err!("{text}"),
        }
    }

    /// Removes the spinner before the final report.
    pub fn finish(&self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::TokenIssued(token) if self.github => {
                self.line(&command("add-mask", &[], token.expose()));
            }
            Event::TokenIssued(_) => {}
            Event::Retrying { error, delay } => self.line(&format!(
                "ec3-gate: {error}; retrying in {}",
                humantime::format_duration(Duration::from_millis(delay.as_millis() as u64))
            )),
            Event::StatusChanged { job, elapsed } => {
                let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
                let id = self.job_id.as_ref().map_or("", JobId::as_str);
                if let Some(bar) = &self.spinner {
                    bar.set_message(format!("job {id} is {}", job.status));
                } else {
                    self.line(&format!("ec3-gate: job {id} is {} ({elapsed})", job.status));
                }
            }
            Event::Polled { job, .. } => self.known.set_job(job),
            Event::UnknownStatus(value) => {
                let text = format!(
                    "unknown job status '{}'; still waiting",
                    one_line(value, 64)
                );
                if self.github {
                    self.line(&format!("::warning::{}", escape_data(&text)));
                } else {
                    self.line(&format!("ec3-gate: warning: {text}"));
                }
            }
            _ => {}
        }
    }
}
