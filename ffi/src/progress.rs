//! Progress reports of a wait, passed to a C callback.

use std::ffi::{CString, c_char, c_void};
use std::ptr::null;
use std::time::{Duration, Instant};

use ec3::{Event, JobId, Observer};

use crate::ffi::{c_string, to_const_ptr};
use crate::job::{Job, ec3_gate_job, ec3_gate_status};
use crate::result::ec3_gate_result;

/// What a progress report is about. Ignore kinds you do not know: later
/// versions may add some.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ec3_gate_progress_kind {
    /// The job's status differs from the previous poll's (or it is the first
    /// poll): `status`, `elapsed_ms` and `job` are set.
    StatusChanged = 1,
    /// A request failed in a way worth retrying; the next try is in
    /// `retry_in_ms`. `error` and `detail` say why; `job` is NULL.
    Retrying = 2,
    /// In `ec3_gate_client_extract_and_upload`: the service started the
    /// extraction and gave its id, before it is polled (so a caller cut
    /// short later still knows it). `job` has no id (`ec3_gate_job_id` is
    /// NULL) and `status` is `EC3_GATE_STATUS_UNKNOWN`: read
    /// `ec3_gate_job_extraction_id` (its state is NULL: not read yet).
    /// `elapsed_ms` counts from the call.
    ExtractionStarted = 3,
    /// In `ec3_gate_client_extract_and_upload`: the extraction's state
    /// differs from the previous poll's (or it is the first poll). `job`
    /// and `status` as for `EXTRACTION_STARTED`, with
    /// `ec3_gate_job_extraction_state` set.
    ExtractionChanged = 4,
}

/// One progress report, passed to an `ec3_gate_progress_callback`.
///
/// The report and everything it points to are borrowed: valid only until
/// the callback returns. Copy what you need; never free any of it. The
/// library makes these; later versions may add fields at the end, so read a
/// field past `detail` only when `struct_size` covers it (compare with
/// `offsetof`).
#[repr(C)]
#[derive(Debug)]
pub struct ec3_gate_progress {
    /// `sizeof` the report as the library that made it declares it.
    pub struct_size: usize,
    /// What happened (an `ec3_gate_progress_kind`).
    pub kind: ec3_gate_progress_kind,
    /// For `STATUS_CHANGED`: the new status. Otherwise
    /// `EC3_GATE_STATUS_UNKNOWN`.
    pub status: ec3_gate_status,
    /// Milliseconds since the wait started.
    pub elapsed_ms: u64,
    /// For `STATUS_CHANGED`: the job as answered (read it with the
    /// `ec3_gate_job_*` accessors; in `ec3_gate_client_extract_and_upload`
    /// it also names its extraction). For `EXTRACTION_CHANGED`: the
    /// extraction, as a job not created yet; for `EXTRACTION_STARTED`, too.
    /// Otherwise NULL.
    pub job: *const ec3_gate_job,
    /// For `RETRYING`: milliseconds until the next try. Otherwise 0.
    pub retry_in_ms: u64,
    /// For `RETRYING`: the code the failure would have ended the call with
    /// (usually `EC3_GATE_RESULT_SERVICE`). Otherwise `EC3_GATE_RESULT_OK`.
    pub error: ec3_gate_result,
    /// For `RETRYING`: a one-line description of the failure (no secrets;
    /// server text escaped). Otherwise NULL.
    pub detail: *const c_char,
    /// Which job the report is about: for `ec3_gate_client_wait_all`, its
    /// position in `job_ids` (the first one, for an id given twice), or
    /// `SIZE_MAX` for a report about no single job (a token request being
    /// retried); for `ec3_gate_client_wait` and
    /// `ec3_gate_client_extract_and_upload`, 0.
    pub job_index: usize,
}

/// Receives progress reports of a wait (`ec3_gate_client_wait_with`), on the thread that
/// called it, with the `user_data` given to the wait.
///
/// It may call `ec3_gate_cancel_trigger`, the `ec3_gate_job_*` accessors and
/// `ec3_gate_status_name`. It must return normally: no C++ exception or
/// `longjmp` may leave it. It must not free the client or the job it is
/// given. It may call the client (create, query, wait) too: such a call
/// made while the wait fetches a token fetches one of its own rather than
/// wait for the fetch the callback holds up.
pub type ec3_gate_progress_callback =
    Option<unsafe extern "C" fn(event: *const ec3_gate_progress, user_data: *mut c_void)>;

/// The core's observer for one wait: forwards events to the C callback, and
/// keeps the last job answered (what a timed-out wait hands back).
pub(crate) struct Progress {
    /// The job of a one-job wait (for the extraction chain, once created);
    /// `None` for a group, whose events name their job.
    id: Option<JobId>,
    /// The extraction chain's extraction, as last answered.
    extraction: Option<ec3::Extraction>,
    callback: ec3_gate_progress_callback,
    user_data: *mut c_void,
    start: Instant,
    /// The `job_index` of events about no job in particular.
    bare_index: usize,
    pub(crate) last: Option<ec3::Job>,
}

impl Progress {
    /// For `ec3_gate_client_wait`: every report is about its one job.
    pub(crate) fn new(
        id: &JobId,
        callback: ec3_gate_progress_callback,
        user_data: *mut c_void,
    ) -> Self {
        Self {
            id: Some(id.clone()),
            extraction: None,
            callback,
            user_data,
            start: Instant::now(),
            bare_index: 0,
            last: None,
        }
    }

    /// For `ec3_gate_client_wait_all`: reports say which job they are about.
    pub(crate) fn for_group(callback: ec3_gate_progress_callback, user_data: *mut c_void) -> Self {
        Self {
            id: None,
            extraction: None,
            callback,
            user_data,
            start: Instant::now(),
            bare_index: usize::MAX,
            last: None,
        }
    }

    /// For `ec3_gate_client_extract_and_upload`: one extraction, then one
    /// job, whose id comes with its creation.
    pub(crate) fn for_chain(callback: ec3_gate_progress_callback, user_data: *mut c_void) -> Self {
        Self {
            bare_index: 0,
            ..Self::for_group(callback, user_data)
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Observer for Progress {
    fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::Polled { job, .. } => {
                self.last = Some(job.clone());
                return;
            }
            Event::Created { id, .. } => self.id = Some(id.clone()),
            Event::ExtractionPolled { extraction, .. } => {
                self.extraction = Some(extraction.clone());
            }
            Event::ExtractionStateChanged { extraction, .. } => {
                self.extraction = Some(extraction.clone());
            }
            _ => {}
        }
        let id = self.id.clone();
        self.report(&event, id.as_ref(), self.bare_index);
    }
}

impl Progress {
    fn report(&mut self, event: &Event<'_>, id: Option<&JobId>, job_index: usize) {
        let Some(callback) = self.callback else {
            return;
        };
        // Kept alive until the callback has returned.
        let mut job: Job;
        let detail: CString;
        let report = match event {
            Event::ForJob { id, index, event } => return self.report(event, Some(id), *index),
            Event::StatusChanged {
                job: answer,
                elapsed,
            } => {
                // Every job of a group names itself (`ForJob`).
                let Some(id) = id else { return };
                job = Job::new(id, answer);
                if let Some(e) = &self.extraction {
                    job.set_extraction(Some(&e.id), Some(&e.state));
                }
                ec3_gate_progress {
                    struct_size: size_of::<ec3_gate_progress>(),
                    kind: ec3_gate_progress_kind::StatusChanged,
                    status: job.status(),
                    elapsed_ms: millis(*elapsed),
                    job: to_const_ptr::<ec3_gate_job>(&job),
                    retry_in_ms: 0,
                    error: ec3_gate_result::Ok,
                    detail: null(),
                    job_index,
                }
            }
            Event::ExtractionStarted { id, .. } => {
                job = Job::of_chain(None, None, None);
                job.set_extraction(Some(id), None);
                ec3_gate_progress {
                    struct_size: size_of::<ec3_gate_progress>(),
                    kind: ec3_gate_progress_kind::ExtractionStarted,
                    status: ec3_gate_status::Unknown,
                    elapsed_ms: millis(self.start.elapsed()),
                    job: to_const_ptr::<ec3_gate_job>(&job),
                    retry_in_ms: 0,
                    error: ec3_gate_result::Ok,
                    detail: null(),
                    job_index,
                }
            }
            Event::ExtractionStateChanged { extraction, .. } => {
                job = Job::of_extraction(extraction);
                ec3_gate_progress {
                    struct_size: size_of::<ec3_gate_progress>(),
                    kind: ec3_gate_progress_kind::ExtractionChanged,
                    status: ec3_gate_status::Unknown,
                    elapsed_ms: millis(self.start.elapsed()),
                    job: to_const_ptr::<ec3_gate_job>(&job),
                    retry_in_ms: 0,
                    error: ec3_gate_result::Ok,
                    detail: null(),
                    job_index,
                }
            }
            Event::Retrying { error, delay } => {
                detail = c_string(&error.to_string());
                ec3_gate_progress {
                    struct_size: size_of::<ec3_gate_progress>(),
                    kind: ec3_gate_progress_kind::Retrying,
                    status: ec3_gate_status::Unknown,
                    elapsed_ms: millis(self.start.elapsed()),
                    job: null(),
                    retry_in_ms: millis(*delay),
                    error: (*error).into(),
                    detail: detail.as_ptr(),
                    job_index,
                }
            }
            // Tokens never reach C; per-poll and unknown-status events add
            // nothing a status change does not say.
            _ => return,
        };
        // SAFETY: the caller of the wait passed a valid function
        // (or NULL, handled above) and promised it returns normally; the
        // report and what it points to outlive the call.
        unsafe { callback(&report, self.user_data) };
    }
}
