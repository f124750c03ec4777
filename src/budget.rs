//! The request budget: at most N requests a minute for a whole client, and a
//! pause for everyone when the service says "too many requests".
//!
//! It is a sliding-window log (the send times of the last N requests), not a
//! token bucket. A bucket that refills N a minute lets a full bucket go out at
//! once and then N more within the same minute: up to 2N in some 60-second
//! window, which is what the service counts. The log allows a request only
//! when fewer than N were sent in the 60 seconds before it, so no window of
//! any alignment ever holds more than N, and a steady N a minute still gets
//! through. It costs one `Instant` per allowed request (80 KB at the bound).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::limits::{MAX_REQUESTS_PER_MINUTE, MAX_TIMEOUT_MS};
use crate::{Cancel, Error};

/// The shared request budget of one client.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the most recent (at most `limit`) requests were allowed, oldest first.
    sent: VecDeque<Instant>,
    /// No request before this: the service asked everyone to wait.
    paused_until: Option<Instant>,
}

/// Whether a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Counted: send it now.
    Granted,
    /// The budget allows the next request only at or after the deadline.
    Late,
}

impl Budget {
    /// `per_minute` requests in any 60 seconds; 1 to
    /// [`MAX_REQUESTS_PER_MINUTE`].
    pub(crate) fn per_minute(per_minute: u32) -> Result<Self, Error> {
        if !(1..=MAX_REQUESTS_PER_MINUTE).contains(&per_minute) {
            return Err(Error::config(
                "max requests per minute",
                format!("must be between 1 and {MAX_REQUESTS_PER_MINUTE}, got {per_minute}"),
            ));
        }
        Ok(Self::new(per_minute as usize, Duration::from_secs(60)))
    }

    /// `limit` requests in any `window` (tests use short windows).
    pub(crate) fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Waits until a request may be sent, and counts it; [`Slot::Late`]
    /// (at once, nothing counted) when that moment is not before `deadline`.
    /// Fails only when cancelled.
    pub(crate) fn acquire(&self, deadline: Instant, cancel: &Cancel) -> Result<Slot, Error> {
        loop {
            let now = Instant::now();
            let wait_until = {
                let mut state = self.lock();
                let at = self.next_slot(&state, now);
                if at <= now {
                    state.sent.push_back(now);
                    while state.sent.len() > self.limit {
                        state.sent.pop_front();
                    }
                    return Ok(Slot::Granted);
                }
                at
            };
            if wait_until >= deadline {
                return Ok(Slot::Late);
            }
            // Another thread may take the slot meanwhile: look again after.
            cancel.sleep(wait_until - now)?;
        }
    }

    /// The window shared evenly: a group that paces its polls this far apart
    /// keeps its connection busy instead of spending the budget in a burst
    /// and then waiting out the window.
    pub(crate) fn spacing(&self) -> Duration {
        self.window / u32::try_from(self.limit).unwrap_or(u32::MAX)
    }

    /// Holds every request of the client back for `delay` (a 429, or a
    /// `Retry-After`): the limit the service enforces is shared by every job.
    pub(crate) fn pause(&self, delay: Duration) {
        // No call lasts longer than MAX_TIMEOUT_MS: a longer pause means "never".
        let until = Instant::now() + delay.min(Duration::from_millis(MAX_TIMEOUT_MS));
        let mut state = self.lock();
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
    }

    /// The earliest time the next request may go.
    fn next_slot(&self, state: &State, now: Instant) -> Instant {
        let mut at = now;
        if let Some(paused) = state.paused_until {
            at = at.max(paused);
        }
        if state.sent.len() >= self.limit {
            // The oldest of the last `limit` leaves the window then.
            at = at.max(state.sent[state.sent.len() - self.limit] + self.window);
        }
        at
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::DEFAULT_MAX_REQUESTS_PER_MINUTE;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn bounds_are_checked() {
        for bad in [0, MAX_REQUESTS_PER_MINUTE + 1, u32::MAX] {
            let err = Budget::per_minute(bad).unwrap_err();
            assert!(err.is_usage(), "{err}");
            assert!(
                err.to_string().starts_with("max requests per minute:"),
                "{err}"
            );
        }
        for ok in [1, DEFAULT_MAX_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE] {
            assert!(Budget::per_minute(ok).is_ok());
        }
    }

    #[test]
    fn no_window_ever_holds_more_than_the_limit() {
        let window = Duration::from_millis(100);
        let budget = Budget::new(5, window);
        let cancel = Cancel::new();
        let start = Instant::now();
        let mut times = Vec::new();
        while start.elapsed() < Duration::from_millis(450) {
            assert_eq!(budget.acquire(far(), &cancel).unwrap(), Slot::Granted);
            times.push(Instant::now());
        }
        // Every window that starts at a grant holds at most 5 grants.
        for (i, t) in times.iter().enumerate() {
            let inside = times[i..].iter().take_while(|u| **u < *t + window).count();
            assert!(inside <= 5, "{inside} grants within {window:?}");
        }
        // And the budget was used, not starved: 5 per window over 4+ windows.
        assert!(times.len() >= 20, "{}", times.len());
    }

    #[test]
    fn a_pause_holds_everyone_back_and_late_is_said_at_once() {
        let budget = Budget::new(100, Duration::from_secs(60));
        let cancel = Cancel::new();
        // Before the pause, so that the pause ends no sooner than 150 ms
        // after it.
        let start = Instant::now();
        budget.pause(Duration::from_millis(150));
        let soon = start + Duration::from_millis(50);
        assert_eq!(budget.acquire(soon, &cancel).unwrap(), Slot::Late);
        // Said without waiting the pause out.
        assert!(start.elapsed() < Duration::from_millis(150));
        assert_eq!(budget.acquire(far(), &cancel).unwrap(), Slot::Granted);
        assert!(start.elapsed() >= Duration::from_millis(150));
        // An absurd Retry-After does not overflow.
        budget.pause(Duration::MAX);
        assert_eq!(budget.acquire(far(), &cancel).unwrap(), Slot::Late);
    }

    #[test]
    fn a_cancel_ends_the_wait_for_a_slot() {
        let budget = Budget::new(1, Duration::from_secs(60));
        let cancel = Cancel::new();
        assert_eq!(budget.acquire(far(), &cancel).unwrap(), Slot::Granted);
        let other = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            other.cancel();
        });
        assert!(matches!(
            budget.acquire(far(), &cancel),
            Err(Error::Cancelled)
        ));
        t.join().unwrap();
    }
}
