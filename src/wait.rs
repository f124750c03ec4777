//! Waiting for a job to finish.

use std::time::Duration;

use crate::{Cancel, Client, Error, Job, JobId, Observer};

use crate::limits::{
    DEFAULT_CALL_TIMEOUT_MS, DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, MAX_INTERVAL_MS,
    MAX_TIMEOUT_MS, MIN_INTERVAL_MS, MIN_TIMEOUT_MS,
};

/// The deadline of one call ([`Client::job_status`], [`Client::create_job`],
/// [`Client::configurations`]): transient failures are retried until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(Duration);

impl Timeout {
    /// Checks `duration` against [`MIN_TIMEOUT_MS`]..=[`MAX_TIMEOUT_MS`]. The
    /// error is an [`Error::InvalidConfig`] for the setting `timeout`.
    pub fn new(duration: Duration) -> Result<Self, Error> {
        check("timeout", duration, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS).map(Self)
    }

    /// The deadline, counted from the start of the call.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl Default for Timeout {
    /// [`DEFAULT_CALL_TIMEOUT_MS`]: 1 minute.
    fn default() -> Self {
        Self(Duration::from_millis(DEFAULT_CALL_TIMEOUT_MS))
    }
}

/// How to wait: a deadline and a poll interval, both within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    timeout: Duration,
    interval: Duration,
}

impl WaitOptions {
    /// Checks `timeout` against [`MIN_TIMEOUT_MS`]..=[`MAX_TIMEOUT_MS`] and
    /// `interval` against [`MIN_INTERVAL_MS`]..=[`MAX_INTERVAL_MS`]. The error
    /// is an [`Error::InvalidConfig`] for the setting `timeout` or `interval`.
    pub fn new(timeout: Duration, interval: Duration) -> Result<Self, Error> {
        Ok(Self {
            timeout: check("timeout", timeout, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)?,
            interval: check("interval", interval, MIN_INTERVAL_MS, MAX_INTERVAL_MS)?,
        })
    }

    /// Overall deadline, from the start of the wait.
    /// Defaults to [`DEFAULT_TIMEOUT_MS`] (30 minutes).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Time between polls while the job is unfinished (plus up to 10%, at
    /// most 1 s, of jitter). Errors back off on their own schedule.
    /// Defaults to [`DEFAULT_INTERVAL_MS`] (5 seconds).
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
        }
    }
}

/// `value` when it is within `min_ms..=max_ms`.
fn check(what: &str, value: Duration, min_ms: u64, max_ms: u64) -> Result<Duration, Error> {
    let (min, max) = (Duration::from_millis(min_ms), Duration::from_millis(max_ms));
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    let show = |d: Duration| humantime::format_duration(d).to_string();
    Err(Error::config(
        what,
        format!(
            "must be from {} to {} (got {})",
            show(min),
            show(max),
            show(value)
        ),
    ))
}

impl Client {
    /// Polls `job` until it is `Succeeded` or `Failed` (both `Ok`: look at
    /// the returned job's status), or until `options.timeout()` passes
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
        self.run(options.timeout(), cancel, observer, |client, call| {
            let mut outcomes = client.poll(call, std::slice::from_ref(job), options, false);
            outcomes
                .pop()
                .map_or_else(|| Err(Error::Internal("no outcome".into())), |o| o.result)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_against_the_core_bounds() {
        let ms = Duration::from_millis;
        assert!(WaitOptions::new(ms(MIN_TIMEOUT_MS), ms(MIN_INTERVAL_MS)).is_ok());
        assert!(WaitOptions::new(ms(MAX_TIMEOUT_MS), ms(MAX_INTERVAL_MS)).is_ok());
        // A Rust caller can no longer poll in a tight loop.
        let e = WaitOptions::new(ms(1000), Duration::ZERO).unwrap_err();
        assert_eq!(e.to_string(), "interval: must be from 10ms to 1h (got 0s)");
        let e = WaitOptions::new(ms(MAX_TIMEOUT_MS + 1), ms(1000)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("timeout: must be from 1ms to 7days"),
            "{e}"
        );
        assert!(WaitOptions::new(Duration::ZERO, ms(1000)).is_err());
        assert!(Timeout::new(Duration::ZERO).is_err());
        assert!(Timeout::new(ms(MAX_TIMEOUT_MS + 1)).is_err());
        assert_eq!(Timeout::default().get(), ms(DEFAULT_CALL_TIMEOUT_MS));
        let d = WaitOptions::default();
        assert_eq!(
            (d.timeout(), d.interval()),
            (ms(DEFAULT_TIMEOUT_MS), ms(DEFAULT_INTERVAL_MS))
        );
        assert_eq!(WaitOptions::new(d.timeout(), d.interval()).unwrap(), d);
    }
}
