//! What a run shows while it works: masks, one line per status change (or a
//! live spinner in a terminal), retries and warnings. Also records the last
//! answer, so outputs can be written even when the run is interrupted.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use ec3_gate::{Event, ExtractionState, JobId, Observer};
use indicatif::{ProgressBar, ProgressStyle};

use super::err;
use super::reporter::{LastSeen, Reporter};
use super::text::one_line;

/// Prints progress to stderr (stdout carries only the result).
pub struct Progress {
    reporter: Arc<dyn Reporter>,
    job_id: Option<JobId>,
    spinner: Option<ProgressBar>,
    seen: LastSeen,
}

impl Progress {
    /// A progress display for `job_id`; a spinner (`live`) only in an
    /// interactive terminal that can draw it, outside CI, when the reporter
    /// allows one. The spinner has no colour, so `NO_COLOR` does not concern
    /// it.
    pub fn new(
        reporter: Arc<dyn Reporter>,
        job_id: Option<JobId>,
        seen: LastSeen,
        live: bool,
    ) -> Self {
        let interactive = live
            && reporter.live()
            && std::io::stderr().is_terminal()
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
        // indicatif hides the bar where it cannot draw (`TERM=dumb`, no
        // `TERM`), and then swallows its lines too: print plain lines instead.
        let spinner = spinner.filter(|bar| !bar.is_hidden());
        Self {
            reporter,
            job_id,
            spinner,
            seen,
        }
    }

    /// Prints one line on stderr, above the spinner if there is one.
    pub fn line(&self, text: &str) {
        match &self.spinner {
            // `err!` guards its line; the spinner's line gets the same guard.
            Some(bar) => bar.println(super::text::line(text)),
            None => err!("{text}"),
        }
    }

    /// Where the run reports.
    pub fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }

    /// Prints a progress line, when the reporter shows them (not `--quiet`).
    pub fn progress(&self, text: &str) {
        if self.reporter.chatty() {
            self.line(text);
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
            // Before anything else could print it.
            Event::TokenIssued(token) => self.reporter.mask(token.expose()),
            Event::Retrying { error, delay } => self.progress(&format!(
                "ec3-gate: {error}; retrying in {}",
                humantime::format_duration(Duration::from_millis(delay.as_millis() as u64))
            )),
            Event::StatusChanged { job, elapsed } => {
                let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
                let id = self.job_id.as_ref().map_or("", JobId::as_str);
                if let Some(bar) = &self.spinner {
                    bar.set_message(format!("job {id} is {}", job.status));
                } else {
                    self.progress(&format!("ec3-gate: job {id} is {} ({elapsed})", job.status));
                }
            }
            Event::Polled { job, .. } => self.seen.job(job),
            Event::UnknownStatus(value) => {
                let text = format!(
                    "unknown job status '{}'; still waiting",
                    one_line(value, 64)
                );
                self.reporter.warning(&text, &|l| self.line(l));
            }
            Event::ForJob { id, event, .. } => self.for_job(id, event),
            Event::Created { index, id } if self.seen.get().members.is_some() => {
                self.seen.member_created(index, id);
            }
            Event::Created { id, .. } => {
                // The one job of `upload --extract`: its id is known before the wait.
                self.job_id = Some(id.clone());
                self.seen.job_id(id.clone());
                self.reporter.job_created(id, &self.seen);
            }
            Event::ExtractionStarted { index, id } => {
                self.seen.chain(|c| c.started(index, id));
                self.reporter.extraction_started(&self.seen);
                self.progress(&format!("ec3-gate: started extraction {id}"));
            }
            Event::ExtractionStateChanged {
                index,
                extraction,
                elapsed,
            } => {
                self.seen.chain(|c| c.answered(index, extraction));
                let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
                let line = format!(
                    "ec3-gate: extraction {} is {} ({elapsed})",
                    extraction.id, extraction.state
                );
                match &self.spinner {
                    Some(bar) => bar.set_message(line.trim_start_matches("ec3-gate: ").to_owned()),
                    None => self.progress(&line),
                }
                if let ExtractionState::Unknown(value) = &extraction.state {
                    let text = format!(
                        "extraction {}: unknown extraction state '{}'; still waiting",
                        extraction.id,
                        one_line(value, 64)
                    );
                    self.reporter.warning(&text, &|l| self.line(l));
                }
            }
            Event::ExtractionPolled {
                index, extraction, ..
            } => self.seen.chain(|c| c.answered(index, extraction)),
            _ => {}
        }
    }
}

impl Progress {
    /// One job's event in a group run: the same lines, each naming its job.
    fn for_job(&mut self, id: &JobId, event: &Event<'_>) {
        match event {
            Event::Retrying { error, delay } => self.progress(&format!(
                "ec3-gate: job {id}: {error}; retrying in {}",
                humantime::format_duration(Duration::from_millis(delay.as_millis() as u64))
            )),
            Event::StatusChanged { job, elapsed } => {
                let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
                self.progress(&format!("ec3-gate: job {id} is {} ({elapsed})", job.status));
            }
            Event::Polled { job, .. } => self.seen.member_job(id, job),
            Event::UnknownStatus(value) => {
                let text = format!(
                    "job {id}: unknown job status '{}'; still waiting",
                    one_line(value, 64)
                );
                self.reporter.warning(&text, &|l| self.line(l));
            }
            Event::Ended(result) => self.seen.member_ended(id, result),
            _ => {}
        }
    }
}
