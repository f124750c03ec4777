//! Waiting for a job to finish.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::retry::jitter;
use crate::{Cancel, Client, Error, Event, Job, JobId, JobStatus, Observer};

/// Longest accepted deadline for a wait or a query (7 days).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Shortest accepted poll interval: fast enough for tests, never a busy loop.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Longest accepted poll interval.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// How to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Overall deadline, from the start of the wait.
    /// Defaults to 30 minutes.
    pub timeout: Duration,
    /// Time between polls while the job is unfinished (plus up to 10%, at
    /// most 1 s, of jitter). Errors back off on their own schedule.
    /// Defaults to 5 seconds.
    pub interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            interval: Duration::from_secs(5),
        }
    }
}

impl Client {
    /// Polls `job` until it is `Succeeded` or `Failed` (both `Ok`: look at
    /// the returned job's status), or until `options.timeout` passes
    /// ([`Error::TimedOut`]).
    ///
    /// The last poll starts a little before the deadline (a quarter of the
    /// timeout, at most 1 s), so that it can finish in time: no request
    /// outlives the deadline.
    pub fn wait(
        &self,
        job: &JobId,
        options: &WaitOptions,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Job, Error> {
        let start = Instant::now();
        let slack = (options.timeout / 4).min(Duration::from_secs(1));
        self.run(options.timeout, cancel, observer, |client, call| {
            let last_chance = call.deadline - slack;
            let mut previous: Option<JobStatus> = None;
            let mut unknown = HashSet::new();
            loop {
                let current = client.fetch_job(job, call)?;
                let elapsed = start.elapsed();
                if let JobStatus::Other(value) = &current.status {
                    if unknown.insert(value.clone()) {
                        call.observer.on_event(Event::UnknownStatus(value));
                    }
                }
                if previous.as_ref() != Some(&current.status) {
                    call.observer.on_event(Event::StatusChanged {
                        job: &current,
                        elapsed,
                    });
                }
                call.observer.on_event(Event::Polled {
                    job: &current,
                    elapsed,
                });
                if current.status.is_terminal() {
                    return Ok(current);
                }
                previous = Some(current.status);

                let now = Instant::now();
                if now >= last_chance {
                    return Err(Error::TimedOut);
                }
                let step =
                    options.interval + jitter((options.interval / 10).min(Duration::from_secs(1)));
                let wake = now
                    .checked_add(step)
                    .map_or(last_chance, |t| t.min(last_chance));
                call.cancel.sleep(wake - now)?;
            }
        })
    }
}
