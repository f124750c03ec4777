//! When to try again: capped exponential backoff with jitter, and
//! `Retry-After`.

use std::time::{Duration, Instant, SystemTime};

/// Statuses that are worth another try: the request may succeed later.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Capped exponential backoff: 500 ms, 1 s, 2 s, … up to 30 s, each delay
/// drawn uniformly from its upper half so that many gates restarted together
/// do not retry in lockstep.
///
/// It also counts the failures that are only worth a brief retry (a host
/// that does not resolve), which the client bounds in number and in time
/// from the first try.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    first_try: Instant,
    /// Failures so far that are worth only brief retries.
    pub(crate) brief_failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(30);

    pub(crate) fn new() -> Self {
        Self {
            next: Self::FIRST,
            first_try: Instant::now(),
            brief_failures: 0,
        }
    }

    /// Time since the first try of this series.
    pub(crate) fn since_first_try(&self) -> Duration {
        self.first_try.elapsed()
    }

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        ceiling / 2 + jitter(ceiling / 2)
    }
}

/// A uniformly random duration in `[0, max]`.
pub(crate) fn jitter(max: Duration) -> Duration {
    let max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if max_ns == 0 {
        return Duration::ZERO;
    }
    // No entropy is not a reason to fail a gate: fall back to no jitter.
    let r = getrandom::u64().unwrap_or(0);
    Duration::from_nanos(r % (max_ns + 1))
}

/// Parses a `Retry-After` value: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past
/// means "now" (zero). Anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurd values saturate; the caller never sleeps past its deadline anyway.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new();
        let ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
        for ceiling in ceilings {
            let d = b.next_delay().as_millis();
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d} not in [{}, {ceiling}]",
                ceiling / 2
            );
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["", "-1", "1.5", "soon", "12 s"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable_status(s));
        }
    }
}
