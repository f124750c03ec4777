//! A job as the service answered it: `ec3_gate_job` and `ec3_gate_status`.

use std::ffi::{CString, c_char};
use std::ptr::null;

use ec3::{ChainExtraction, Extraction, ExtractionId, ExtractionState, JobId, JobStatus};

use crate::ffi::{Castable, c_string, free_box, try_from};
use crate::panic::ffi_panic_boundary;

/// The state of an EC3 upload job.
///
/// Read it as a `uint32_t` and compare with these names; treat any other
/// value like `EC3_GATE_STATUS_UNKNOWN` (later versions may add states).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ec3_gate_status {
    /// A status this version of the library does not know (the service's
    /// word is in `ec3_gate_job_status_text`). A wait treats it as unfinished.
    Unknown = 0,
    /// Accepted, not started.
    Queued = 1,
    /// Uploading to EC3.
    Running = 2,
    /// Done: the EC3 project exists (see `ec3_gate_job_ec3_project_url`).
    Succeeded = 3,
    /// Done: the upload failed (see `ec3_gate_job_message`).
    Failed = 4,
}

impl ec3_gate_status {
    fn of(status: &JobStatus) -> Self {
        match status {
            JobStatus::Queued => Self::Queued,
            JobStatus::Running => Self::Running,
            JobStatus::Succeeded => Self::Succeeded,
            JobStatus::Failed => Self::Failed,
            // `Other`, and any status a later core knows.
            _ => Self::Unknown,
        }
    }
}

/// A job's status, failure message and EC3 project link, as answered by the
/// service; for `ec3_gate_client_extract_and_upload`, also the extraction
/// it uploads (`ec3_gate_job_extraction_id`, `ec3_gate_job_extraction_state`).
///
/// Made by `ec3_gate_client_job_status`, the waits and
/// `ec3_gate_client_extract_and_upload`; the
/// caller owns it and frees it with `ec3_gate_job_free`. A job passed to a
/// progress callback is borrowed: it lives until the callback returns and is
/// never freed by the caller. A job is immutable, so any thread may read it.
pub struct ec3_gate_job {
    _private: [u8; 0],
}

/// The Rust value behind `ec3_gate_job`: the answer with C strings made once,
/// so the accessors hand out pointers that live as long as the job.
#[derive(Debug)]
pub(crate) struct Job {
    /// `None` when no job was created (an extraction's report, or a chain
    /// that stopped at its extraction).
    id: Option<CString>,
    status: ec3_gate_status,
    status_text: CString,
    message: Option<CString>,
    ec3_project_url: Option<CString>,
    extraction_id: Option<CString>,
    extraction_state: Option<CString>,
}

impl Castable for ec3_gate_job {
    type RustType = Job;
}

impl Job {
    /// The service's answer about job `id`.
    pub(crate) fn new(id: &JobId, job: &ec3::Job) -> Self {
        Self {
            id: Some(c_string(id.as_str())),
            status: ec3_gate_status::of(&job.status),
            status_text: c_string(job.status.as_str()),
            message: job.message.as_deref().map(c_string),
            ec3_project_url: job.ec3_project_url.as_deref().map(c_string),
            extraction_id: None,
            extraction_state: None,
        }
    }

    /// What is known of a job of the extraction chain: `id` once created,
    /// `last` once the service answered about it (else status `Unknown`,
    /// text `""`), and its extraction.
    pub(crate) fn of_chain(
        id: Option<&JobId>,
        last: Option<&ec3::Job>,
        extraction: Option<&ChainExtraction>,
    ) -> Self {
        let mut job = match (id, last) {
            (Some(id), Some(last)) => Self::new(id, last),
            (id, _) => Self {
                id: id.map(|id| c_string(id.as_str())),
                status: ec3_gate_status::Unknown,
                status_text: CString::default(),
                message: None,
                ec3_project_url: None,
                extraction_id: None,
                extraction_state: None,
            },
        };
        if let Some(e) = extraction {
            job.set_extraction(e.id.as_ref(), e.state());
        }
        job
    }

    /// Adds the job's extraction, as far as it is known.
    pub(crate) fn set_extraction(
        &mut self,
        id: Option<&ExtractionId>,
        state: Option<&ExtractionState>,
    ) {
        self.extraction_id = id.map(|id| c_string(id.as_str()));
        self.extraction_state = id.and(state).map(state_text);
    }

    /// An extraction's progress, before any job exists.
    pub(crate) fn of_extraction(extraction: &Extraction) -> Self {
        let mut job = Self::of_chain(None, None, None);
        job.set_extraction(Some(&extraction.id), Some(&extraction.state));
        job
    }

    pub(crate) fn status(&self) -> ec3_gate_status {
        self.status
    }
}

/// An extraction state as C reads it: the service's word (an unknown one
/// verbatim, one line, at most 64 characters).
fn state_text(state: &ExtractionState) -> CString {
    c_string(&state.to_string())
}

/// The job's id (1-128 ASCII letters, digits, `-`, `_` or `.`), as given to
/// the call that made the job, or as the service gave it to
/// `ec3_gate_client_extract_and_upload`.
///
/// Owned by `job`, like `ec3_gate_job_status_text`; do not free it. NULL when
/// `job` is NULL, or when no job was created: a job of
/// `ec3_gate_client_extract_and_upload` whose chain stopped before the job
/// (its extraction failed, or the call timed out or was cancelled first), or
/// an extraction's progress report.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_id(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        let job: Option<&Job> = unsafe { try_from(job) };
        job.and_then(|j| j.id.as_ref()).map_or(null(), |id| id.as_ptr())
    }
}

/// The id of the Grouping & Mapping extraction the job uploads, as the
/// service gave it to `ec3_gate_client_extract_and_upload` (1-256 ASCII
/// letters, digits, `.`, `_` or `-`): set as soon as the extraction exists,
/// so also when the chain failed, timed out or was cancelled after it
/// started. NULL when `job` is NULL or came from another call
/// (`ec3_gate_client_job_status`, the waits), or the chain stopped before
/// the service gave an id.
///
/// Owned by `job`, like `ec3_gate_job_status_text`; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_extraction_id(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        let job: Option<&Job> = unsafe { try_from(job) };
        job.and_then(|j| j.extraction_id.as_ref()).map_or(null(), |id| id.as_ptr())
    }
}

/// The last state the service gave for the job's extraction, spelled as the
/// service spells it: `"Queued"`, `"Running"`, `"Succeeded"`,
/// `"PartiallySucceeded"`, `"Failed"`, or a word this version does not know
/// (server text, one line, at most 64 characters; such a state is waited
/// through as unfinished). NULL when `ec3_gate_job_extraction_id` is NULL,
/// and in an `EC3_GATE_PROGRESS_KIND_EXTRACTION_STARTED` report (not read
/// yet).
///
/// Owned by `job`, like `ec3_gate_job_status_text`; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_extraction_state(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        let job: Option<&Job> = unsafe { try_from(job) };
        job.and_then(|j| j.extraction_state.as_ref()).map_or(null(), |s| s.as_ptr())
    }
}

/// The job's status. `EC3_GATE_STATUS_UNKNOWN` when `job` is NULL, the
/// service answered a status this version does not know, or it has not
/// answered about the job (see `ec3_gate_job_id`).
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_status(job: *const ec3_gate_job) -> ec3_gate_status {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        unsafe { try_from(job) }.map_or(ec3_gate_status::Unknown, Job::status)
    }
}

/// The status word exactly as the service spelled it (`"Running"`, or an
/// unknown word, at most 64 characters), NUL-terminated; `""` when the
/// service has not answered about the job (see `ec3_gate_job_id`).
///
/// Owned by `job`: valid until `ec3_gate_job_free(job)` (or, in a progress
/// callback, until the callback returns); do not free it. NULL when `job` is
/// NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_status_text(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        unsafe { try_from(job) }.map_or(null(), |job: &Job| job.status_text.as_ptr())
    }
}

/// The failure message of a `Failed` job (it may hold newlines: it is the
/// service's text, line endings normalised to `\n`, capped at 16 KiB), or
/// NULL when the service gave none or `job` is NULL.
///
/// Owned by `job`, like `ec3_gate_job_status_text`; do not free it. The text
/// is untrusted: escape it before printing it into a log that interprets
/// commands (such as GitHub Actions' `::` workflow commands).
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_message(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        let job: Option<&Job> = unsafe { try_from(job) };
        job.and_then(|j| j.message.as_ref()).map_or(null(), |m| m.as_ptr())
    }
}

/// The link to the EC3 project a `Succeeded` job created, or NULL when the
/// service gave none or `job` is NULL.
///
/// Owned by `job`, like `ec3_gate_job_status_text`; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_ec3_project_url(job: *const ec3_gate_job) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or a live job (documented on ec3_gate_job).
        let job: Option<&Job> = unsafe { try_from(job) };
        job.and_then(|j| j.ec3_project_url.as_ref()).map_or(null(), |u| u.as_ptr())
    }
}

/// Frees a job made by `ec3_gate_client_job_status` or a wait,
/// and the strings it owns. NULL does nothing. Never free a job more than
/// once, nor one received by a progress callback.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_job_free(job: *mut ec3_gate_job) {
    ffi_panic_boundary! {
        // SAFETY: `job` is NULL or was made by this library and not freed yet.
        unsafe { free_box(job) }
    }
}

/// A static name for a status value: `"Queued"`, `"Running"`, `"Succeeded"`,
/// `"Failed"`, or `"Unknown"` (also for any number that is not a status).
///
/// Takes any `uint32_t`. The string is static: never free it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_status_name(status: u32) -> *const c_char {
    ffi_panic_boundary! {
        const NAMES: [(ec3_gate_status, &std::ffi::CStr); 4] = [
            (ec3_gate_status::Queued, c"Queued"),
            (ec3_gate_status::Running, c"Running"),
            (ec3_gate_status::Succeeded, c"Succeeded"),
            (ec3_gate_status::Failed, c"Failed"),
        ];
        NAMES
            .iter()
            .find(|(s, _)| *s as u32 == status)
            .map_or(c"Unknown", |(_, name)| name)
            .as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::ffi::to_boxed_mut_ptr;

    /// # Safety
    /// `ptr` is NULL or a live NUL-terminated string.
    unsafe fn text<'a>(ptr: *const c_char) -> Option<&'a str> {
        // SAFETY: per the function's contract.
        (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_str().unwrap())
    }

    #[test]
    fn accessors_read_the_answer_and_tolerate_null() {
        let answer =
            ec3::Job::from_json(br#"{"job":{"status":"Paused","message":"a\u0000b","_links":{}}}"#)
                .unwrap();
        let id = JobId::new("j-1").unwrap();
        let job: *mut ec3_gate_job = to_boxed_mut_ptr(Job::new(&id, &answer));
        assert_eq!(ec3_gate_job_status(job), ec3_gate_status::Unknown);
        // SAFETY: the job is live until freed below; NULL results are checked.
        unsafe {
            assert_eq!(text(ec3_gate_job_id(job)), Some("j-1"));
            assert_eq!(text(ec3_gate_job_status_text(job)), Some("Paused"));
            assert_eq!(text(ec3_gate_job_message(job)), Some("a\u{FFFD}b"));
            assert_eq!(text(ec3_gate_job_ec3_project_url(job)), None);
            assert_eq!(text(ec3_gate_job_extraction_id(job)), None);
            assert_eq!(text(ec3_gate_job_extraction_state(job)), None);
        }
        ec3_gate_job_free(job);
        assert_eq!(ec3_gate_job_status(null()), ec3_gate_status::Unknown);
        assert!(ec3_gate_job_status_text(null()).is_null());
        assert!(ec3_gate_job_id(null()).is_null());
        assert!(ec3_gate_job_message(null()).is_null());
        assert!(ec3_gate_job_ec3_project_url(null()).is_null());
        assert!(ec3_gate_job_extraction_id(null()).is_null());
        assert!(ec3_gate_job_extraction_state(null()).is_null());
        ec3_gate_job_free(std::ptr::null_mut());
    }

    #[test]
    fn status_names_accept_any_number() {
        // SAFETY: ec3_gate_status_name never returns NULL; strings are static.
        let name = |n| unsafe { text(ec3_gate_status_name(n)) }.unwrap();
        assert_eq!(name(ec3_gate_status::Succeeded as u32), "Succeeded");
        assert_eq!(name(0), "Unknown");
        assert_eq!(name(5), "Unknown");
        assert_eq!(name(u32::MAX), "Unknown");
    }
}
