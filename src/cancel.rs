//! Cancelling a wait from another thread (a signal handler, a C caller).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;

/// A one-shot cancellation flag shared between threads.
///
/// Cancelling wakes a sleeping wait at once and shuts down the HTTP agents of
/// the operations it is attached to, so a request blocked on a stalled server
/// returns at once too. An agent is its client's: a cancel also interrupts
/// other calls in flight on the same client (they retry on a fresh agent).
/// Clones share the flag.
#[derive(Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    /// The agents of the calls running now, by attachment number.
    agents: Vec<(u64, ureq::Agent)>,
    next: u64,
}

impl Cancel {
    /// A flag that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: wakes every sleep and interrupts the attached agent's I/O.
    /// Calling it again does nothing.
    pub fn cancel(&self) {
        let agents = {
            let mut state = self.lock();
            state.cancelled = true;
            std::mem::take(&mut state.agents)
        };
        self.0.wake.notify_all();
        for (_, agent) in agents {
            agent.shutdown();
        }
    }

    /// True once [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// `Err(Error::Cancelled)` once cancelled.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Registers the agent whose connections a cancel must interrupt, until
    /// [`Cancel::detach`] with the returned number.
    pub(crate) fn attach(&self, agent: &ureq::Agent) -> Result<u64, Error> {
        let mut state = self.lock();
        if state.cancelled {
            return Err(Error::Cancelled);
        }
        let id = state.next;
        state.next += 1;
        state.agents.push((id, agent.clone()));
        Ok(id)
    }

    /// Forgets an agent when its call is over, so a flag reused for many
    /// calls holds none of their agents.
    pub(crate) fn detach(&self, id: u64) {
        self.lock().agents.retain(|(n, _)| *n != id);
    }

    /// Sleeps for `duration`, or less if cancelled (then `Err(Cancelled)`).
    pub(crate) fn sleep(&self, duration: Duration) -> Result<(), Error> {
        let until = Instant::now() + duration;
        let mut state = self.lock();
        loop {
            if state.cancelled {
                return Err(Error::Cancelled);
            }
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            state = self
                .0
                .wake
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_wakes_a_sleep_from_another_thread() {
        let cancel = Cancel::new();
        let other = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.cancel();
        });
        let start = Instant::now();
        assert!(matches!(
            cancel.sleep(Duration::from_secs(30)),
            Err(Error::Cancelled)
        ));
        assert!(start.elapsed() < Duration::from_secs(10));
        t.join().unwrap();
        assert!(cancel.is_cancelled());
        assert!(matches!(
            cancel.attach(&ureq::Agent::new_with_defaults()),
            Err(Error::Cancelled)
        ));
    }

    #[test]
    fn detached_agents_are_forgotten() {
        let cancel = Cancel::new();
        let agent = ureq::Agent::new_with_defaults();
        for _ in 0..100 {
            let id = cancel.attach(&agent).unwrap();
            cancel.detach(id);
        }
        assert!(cancel.lock().agents.is_empty());
    }

    #[test]
    fn uncancelled_sleep_sleeps() {
        let cancel = Cancel::new();
        let start = Instant::now();
        cancel.sleep(Duration::from_millis(20)).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(cancel.check().is_ok());
    }
}
