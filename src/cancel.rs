//! Cancelling a wait from another thread (a signal handler, a C caller).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;
use crate::interrupt::{Handles, shut};

/// A one-shot cancellation flag shared between threads.
///
/// Cancelling wakes a sleeping wait at once and shuts down the connections
/// the calls it was given to are reading or writing now, so a request
/// blocked on a stalled server returns at once too. Nothing else is touched:
/// other calls on the same client, and its idle kept-alive connections, go
/// on. Clones share the flag.
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
    /// The connections in I/O for a call of this flag now, by attachment
    /// number.
    io: Vec<(u64, Handles)>,
    next: u64,
}

impl Cancel {
    /// A flag that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: wakes every sleep and interrupts the I/O of this flag's
    /// calls. Calling it again does nothing.
    pub fn cancel(&self) {
        let io = {
            let mut state = self.lock();
            state.cancelled = true;
            std::mem::take(&mut state.io)
        };
        self.0.wake.notify_all();
        for (_, handles) in io {
            shut(&handles);
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

    /// Registers a connection a cancel must interrupt (its I/O is starting),
    /// until [`Cancel::detach`] with the returned number; `Err` once
    /// cancelled.
    pub(crate) fn attach(&self, handles: &Handles) -> Result<u64, Error> {
        let mut state = self.lock();
        if state.cancelled {
            return Err(Error::Cancelled);
        }
        let id = state.next;
        state.next += 1;
        state.io.push((id, handles.clone()));
        Ok(id)
    }

    /// Forgets a connection when its I/O is over, so a flag reused for many
    /// calls holds none of their connections.
    pub(crate) fn detach(&self, id: u64) {
        self.lock().io.retain(|(n, _)| *n != id);
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
            cancel.attach(&Handles::default()),
            Err(Error::Cancelled)
        ));
    }

    #[test]
    fn detached_connections_are_forgotten() {
        let cancel = Cancel::new();
        let handles = Handles::default();
        for _ in 0..100 {
            let id = cancel.attach(&handles).unwrap();
            cancel.detach(id);
        }
        assert!(cancel.lock().io.is_empty());
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
