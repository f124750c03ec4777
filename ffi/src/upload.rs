//! The extraction chain from C: `ec3_gate_client_extract_and_upload`, and
//! the `extract` fields of `ec3_gate_create_job_params` that
//! `ec3_gate_client_create_job_with` honours too. The chain and its rules
//! are the core's (`ec3::Client::extract_and_upload`); this file reads the
//! C arguments and turns the outcome into a result code and a job object.

use ec3::{ChainOutcome, ExtractAndUpload, JobId, JobStatus, NewJobs, Secret, WaitOptions};

use crate::client::{Client, cancel_flag, ec3_gate_client, failed_message, read_wait_params};
use crate::ffi::{Out, arg_str, optional_arg_str, to_boxed_mut_ptr, try_ref_from_ptr};
use crate::job::{Job, ec3_gate_job};
use crate::panic::ffi_panic_boundary;
use crate::params::{self, ec3_gate_create_job_params, ec3_gate_wait_params, flag};
use crate::progress::Progress;
use crate::result::{Failure, ec3_gate_result};

/// The chain `p` asks for, when its `extract` is 1; `None` when it is 0
/// (then the other extraction fields must be unset: nothing is silently
/// ignored).
///
/// # Safety
/// The strings in `p` are NULL or NUL-terminated.
pub(crate) unsafe fn chain_of(
    p: &ec3_gate_create_job_params,
) -> Result<Option<ExtractAndUpload>, Failure> {
    let extract = flag(p.extract, "extract")?;
    let allow_partial = flag(p.allow_partial_extraction, "allow_partial_extraction")?;
    // SAFETY: this and the next string are NULL or NUL-terminated (this
    // function's contract).
    let imodel_id = unsafe { optional_arg_str(p.imodel_id, "imodel_id") }?;
    // SAFETY: as above.
    let changeset_id = unsafe { optional_arg_str(p.changeset_id, "changeset_id") }?;
    if !extract {
        let set = [
            ("imodel_id", imodel_id.is_some()),
            ("changeset_id", changeset_id.is_some()),
            ("allow_partial_extraction", allow_partial),
        ];
        return match set.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(Failure::invalid(name, "is only used with extract = 1")),
            None => Ok(None),
        };
    }
    // SAFETY: this and the next three strings are NULL or NUL-terminated
    // (this function's contract).
    let configuration_id = unsafe { arg_str(p.configuration_id, "configuration_id") }?;
    // SAFETY: as above.
    let project_name = unsafe { arg_str(p.project_name, "project_name") }?;
    // SAFETY: as above.
    let token = unsafe { arg_str(p.ec3_token, "ec3_token") }?;
    // SAFETY: as above.
    let extraction_id = unsafe { optional_arg_str(p.extraction_id, "extraction_id") }?;
    let mut jobs = NewJobs::new(
        vec![configuration_id.to_owned()],
        project_name,
        Secret::new(token),
    );
    if let Some(id) = extraction_id {
        // The core refuses it, naming both ways to give the extraction.
        jobs = jobs.extraction_id(id);
    }
    let mut chain = ExtractAndUpload::new(jobs).allow_partial(allow_partial);
    if let Some(id) = imodel_id {
        chain = chain.imodel_id(id);
    }
    if let Some(id) = changeset_id {
        chain = chain.changeset_id(id);
    }
    Ok(Some(chain))
}

/// `error` of a job creation with the core's setting `extraction` (an
/// extraction-based configuration without an extraction) named by the C
/// fields that give one. The core's other job settings keep their names
/// (`configuration id`, `extraction id`: the messages C callers know).
pub(crate) fn job_names(error: ec3::Error) -> ec3::Error {
    error.rename_setting("extraction", "extract (or extraction_id)")
}

/// `error` of the chain with the core's names of its settings replaced by
/// the C fields that set them.
pub(crate) fn c_names(error: ec3::Error) -> ec3::Error {
    job_names(error)
        .rename_setting("iModel id", "imodel_id")
        .rename_setting("changeset id", "changeset_id")
        .rename_setting("extraction id", "extraction_id")
}

/// Runs the chain; errors name the C fields.
pub(crate) fn run_chain(
    client: &Client,
    chain: &ExtractAndUpload,
    options: &WaitOptions,
    wait: bool,
    cancel: &ec3::Cancel,
    observer: &mut dyn ec3::Observer,
) -> Result<ChainOutcome, Failure> {
    client
        .core
        .extract_and_upload(chain, options, wait, cancel, observer)
        .map_err(|e| Failure::from(c_names(e)))
}

/// The created job's id, or why there is none.
pub(crate) fn created_job(outcome: &ChainOutcome) -> Result<JobId, Failure> {
    if let Some(stopped) = &outcome.stopped {
        return Err(Failure::from(c_names(stopped.clone())));
    }
    let job = outcome
        .jobs
        .first()
        .ok_or_else(|| Failure::new(ec3_gate_result::Panic, "the chain returned no job"))?;
    match (&job.id, &job.result) {
        (Some(id), _) => Ok(id.clone()),
        (None, Err(error)) => Err(Failure::from(c_names(error.clone()))),
        (None, Ok(_)) => Err(Failure::new(
            ec3_gate_result::Panic,
            "the chain returned no job id",
        )),
    }
}

/// The chain's one job as C reads it, and the call's result: `OK` when the
/// job `Succeeded`, `JOB_FAILED` when it `Failed` or the extraction did not
/// succeed (and was not allowed to go on), else the error that stopped it.
fn outcome_of(outcome: &ChainOutcome) -> (Job, Result<(), Failure>) {
    let Some(chain_job) = outcome.jobs.first() else {
        let failure = Failure::new(ec3_gate_result::Panic, "the chain returned no job");
        return (Job::of_chain(None, None, None), Err(failure));
    };
    let job = Job::of_chain(
        chain_job.id.as_ref(),
        chain_job.last_seen.as_ref(),
        outcome.extraction_of(0),
    );
    let result = match (&outcome.stopped, &chain_job.result) {
        (Some(stopped), _) => Err(Failure::from(c_names(stopped.clone()))),
        (None, Ok(Some(answer))) if answer.status == JobStatus::Failed => Err(Failure::new(
            ec3_gate_result::JobFailed,
            failed_message(answer),
        )),
        (None, Ok(Some(_))) => Ok(()),
        (None, Ok(None)) => Err(Failure::new(
            ec3_gate_result::Panic,
            "the chain did not wait for the job",
        )),
        (None, Err(error)) => Err(Failure::from(c_names(error.clone()))),
    };
    (job, result)
}

/// From "the iModel changed" to "EC3 has the new numbers": runs a Grouping
/// & Mapping extraction for the configuration, waits for it, creates the
/// EC3 job with its id, and waits for the job; what the command's
/// `ec3-gate upload --extract --wait` does, in one call under one deadline.
///
/// `params` (required): as for `ec3_gate_client_create_job_with`, with
/// `extract` = 1 (0 is refused: the same struct means the same thing to
/// both calls, and this one always extracts). `imodel_id` NULL extracts the
/// iModel the configuration links to; `changeset_id` NULL, its latest
/// changeset; `allow_partial_extraction` = 1 goes on after an extraction
/// that `PartiallySucceeded`. `extraction_id` must be NULL. Its
/// `timeout_ms` must be 0 and its `cancel` NULL: `wait` bounds and cancels
/// the whole call. As with the command, `{configuration}` and `{n}` in
/// `project_name` are replaced by the configuration's display name and 1.
///
/// `wait`: NULL for the defaults, else read as `ec3_gate_client_wait_with`
/// reads it: `timeout_ms` is the one deadline of the whole chain (reading
/// the configuration, the extraction, creating the job, waiting for it),
/// `interval_ms` paces the extraction's polls and then the job's, `cancel`
/// ends the call, and `progress` gets an
/// `EC3_GATE_PROGRESS_KIND_EXTRACTION_STARTED` report as soon as the
/// extraction has an id, `_EXTRACTION_CHANGED` reports as its state
/// changes, then the job's reports, whose job also names the extraction.
///
/// What is sent: the configuration is read once
/// (`GET /ec3/configurations/{id}`); a report-based one (it cannot be
/// extracted) is refused with `EC3_GATE_RESULT_INVALID_ARGUMENT`, naming it
/// and its report, and nothing more is sent; so is one that names no
/// mapping, or no iModel when `imodel_id` is NULL. Then one extraction of
/// the configuration's distinct mappings (`POST` then polls of
/// `GET /grouping-and-mapping/…/extractions/{id}`); when it ends `Failed`,
/// or `PartiallySucceeded` without `allow_partial_extraction`, its logs
/// are read, no job is created, and the call returns
/// `EC3_GATE_RESULT_JOB_FAILED` with the logs' errors in the last error.
/// Otherwise the job is created (as `ec3_gate_client_create_job_with`
/// creates it) and waited for (as `ec3_gate_client_wait_with` waits).
///
/// Returns `EC3_GATE_RESULT_OK` when the extraction and then the job
/// `Succeeded` (or the extraction `PartiallySucceeded`, allowed);
/// `_JOB_FAILED` when the job `Failed` or the extraction did not succeed
/// (the last error says which and why); `_TIMED_OUT` at the deadline;
/// `_CANCELLED`; `_NOT_FOUND` (the extraction or the job vanished),
/// `_AUTH`, `_SERVICE`, `_REJECTED` (the service refused the extraction or
/// the job); `_INVALID_ARGUMENT` (as for `ec3_gate_client_create_job_with`
/// and `ec3_gate_client_wait_with`, a bad `imodel_id` or `changeset_id`, a
/// configuration that cannot be extracted), `_NULL_ARGUMENT` (`client`,
/// `params`, a required string or `job_out` NULL) or `_INVALID_UTF8`.
///
/// `*job_out` is written once an extraction was started, whatever the
/// code: the job's last answer (`ec3_gate_job_id` NULL when no job was
/// created: read `ec3_gate_job_extraction_id` and
/// `ec3_gate_job_extraction_state` to see how far it got). For the codes
/// that come before (bad arguments, the configuration could not be read or
/// extracted) it is untouched. The `ec3_gate_client_last_error*` functions
/// have the details of every code but OK (except when `client` itself is
/// NULL).
///
/// The caller owns the job and frees it with `ec3_gate_job_free`.
/// Thread-safe; blocks the calling thread for at most about `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_extract_and_upload(
    client: *const ec3_gate_client,
    params: *const ec3_gate_create_job_params,
    wait: *const ec3_gate_wait_params,
    job_out: *mut *mut ec3_gate_job,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let result = (|| {
            // SAFETY: NULL or a live struct whose `struct_size` bytes are
            // readable (documented).
            let p = unsafe { params::read_required(params, "params") }?;
            if p.timeout_ms != 0 {
                return Err(Failure::invalid(
                    "params.timeout_ms",
                    "must be 0: wait->timeout_ms bounds the whole call",
                ));
            }
            if !p.cancel.is_null() {
                return Err(Failure::invalid(
                    "params.cancel",
                    "must be NULL: wait->cancel ends the whole call",
                ));
            }
            if p.extract != 1 {
                return Err(Failure::invalid(
                    "extract",
                    "must be 1: ec3_gate_client_extract_and_upload always extracts",
                ));
            }
            // SAFETY: the strings in `params` are NULL or NUL-terminated
            // (documented).
            let chain = unsafe { chain_of(&p) }?.ok_or_else(|| {
                Failure::invalid("extract", "must be 1")
            })?;
            // SAFETY: `wait` is NULL or a live struct whose `struct_size`
            // bytes are readable (documented).
            let (w, options) = unsafe { read_wait_params(wait) }?;
            let out = Out::new(job_out, "job_out")?;
            // SAFETY: `w.cancel` is NULL or live (documented).
            let cancel = unsafe { cancel_flag(w.cancel) };
            let mut observer = Progress::for_chain(w.progress, w.user_data);
            let outcome = run_chain(client, &chain, &options, true, &cancel, &mut observer)?;
            let (job, result) = outcome_of(&outcome);
            // SAFETY: `job_out` is non-NULL (checked) and writable
            // (documented).
            unsafe { out.write(to_boxed_mut_ptr(job)) };
            result
        })();
        client.errors.record(result)
    }
}
