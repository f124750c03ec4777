//! Waiting for a job to finish.

use std::time::Duration;

use crate::{Cancel, Client, Error, Job, JobId, Observer};

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
    /// outlives the deadline. It is the one-job case of
    /// [`Client::wait_all`], with its events bare.
    pub fn wait(
        &self,
        job: &JobId,
        options: &WaitOptions,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Job, Error> {
        self.run(options.timeout, cancel, observer, |client, call| {
            let mut outcomes = client.poll(call, std::slice::from_ref(job), options, false);
            outcomes
                .pop()
                .map_or_else(|| Err(Error::Internal("no outcome".into())), |o| o.result)
        })
    }
}
