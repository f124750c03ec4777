//! What a running query or wait reports as it goes.

use std::time::Duration;

use crate::{Error, Extraction, ExtractionId, Job, JobId, Secret};

/// One thing that happened during a call, reported to an [`Observer`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A token was obtained at run time (client credentials). A CI runner
    /// must mask it before anything else is printed.
    TokenIssued(&'a Secret),
    /// A request failed in a way worth retrying; the next try is in `delay`.
    Retrying {
        /// Why the request failed.
        error: &'a Error,
        /// How long until the next try.
        delay: Duration,
    },
    /// A poll answered (every poll, for live displays).
    Polled {
        /// The job as answered.
        job: &'a Job,
        /// Time since the wait started.
        elapsed: Duration,
    },
    /// The job's status differs from the previous poll's (or it is the first).
    StatusChanged {
        /// The job as answered.
        job: &'a Job,
        /// Time since the wait started.
        elapsed: Duration,
    },
    /// The service answered a status value this version does not know; it
    /// is reported once per distinct value and treated as unfinished.
    UnknownStatus(&'a str),
    /// In a group wait ([`Client::wait_all`](crate::Client::wait_all)):
    /// `event` (`Polled`, `StatusChanged`, `UnknownStatus`, `Retrying` or
    /// `Ended`) happened to the job `id`. A one-job
    /// [`Client::wait`](crate::Client::wait) reports its events bare.
    ForJob {
        /// The job's position among the ids given (the first one, for an id
        /// given more than once).
        index: usize,
        /// The job.
        id: &'a JobId,
        /// What happened to it.
        event: &'a Event<'a>,
    },
    /// In [`Client::create_jobs`](crate::Client::create_jobs): the job for
    /// the configuration at `index` was created, before the next is sent,
    /// so a caller cut short (a signal) still knows every job that exists.
    Created {
        /// The configuration's position among those given.
        index: usize,
        /// The new job.
        id: &'a JobId,
    },
    /// In a group wait, inside [`Event::ForJob`]: the wait for this job is
    /// over, with this outcome; it is not polled again.
    Ended(&'a Result<Job, Error>),
    /// An extraction was run and the service gave its id: reported at once,
    /// before it is waited for, so a caller cut short (a signal, a timeout)
    /// still knows it.
    ExtractionStarted {
        /// Its position among the extractions of one call (0 for
        /// [`Client::run_extraction`](crate::Client::run_extraction); in
        /// [`Client::extract_and_upload`](crate::Client::extract_and_upload),
        /// one per distinct iModel, in order of first use).
        index: usize,
        /// The extraction.
        id: &'a ExtractionId,
    },
    /// An extraction's state differs from the previous poll's (or it is the
    /// first); an unknown state ([`ExtractionState::Unknown`](crate::ExtractionState::Unknown))
    /// is reported here and waited through.
    ExtractionStateChanged {
        /// As in [`Event::ExtractionStarted`].
        index: usize,
        /// The extraction as answered.
        extraction: &'a Extraction,
        /// Time since the wait for it started.
        elapsed: Duration,
    },
    /// An extraction's state was read (every poll, for live displays).
    ExtractionPolled {
        /// As in [`Event::ExtractionStarted`].
        index: usize,
        /// The extraction as answered.
        extraction: &'a Extraction,
        /// Time since the wait for it started.
        elapsed: Duration,
    },
}

/// Receives [`Event`]s. Closures taking an `Event` are observers; `()` ignores
/// everything.
pub trait Observer {
    /// Called for each event, on the thread running the call.
    fn on_event(&mut self, event: Event<'_>);
}

impl<F: FnMut(Event<'_>)> Observer for F {
    fn on_event(&mut self, event: Event<'_>) {
        self(event);
    }
}

impl Observer for () {
    fn on_event(&mut self, _: Event<'_>) {}
}
