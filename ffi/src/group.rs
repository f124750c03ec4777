//! `ec3_gate_client_wait_all`: waiting for several jobs in one call.
//!
//! One call taking an array of ids and filling arrays of jobs and result
//! codes, rather than a pattern of one `ec3_gate_client_wait` per thread:
//! the core's group wait already is the shared budget (one loop that
//! schedules every poll, round robin, under one deadline, on one connection
//! and one token, and pauses everything on a 429). Threads would each hold a
//! connection, sleep on their own schedules and compete for the budget, and
//! the C caller would have to write the threads, the joins and the
//! aggregation. Arrays in, arrays out, in input order, is what C callers know
//! from `poll(2)` and `curl_multi_wait`.

use std::ffi::c_char;

use ec3::{JobId, JobOutcome, JobStatus};

use crate::client::{Client, cancel_flag, ec3_gate_client, failed_message, read_wait_params};
use crate::ffi::{arg_str, to_boxed_mut_ptr, try_ref_from_ptr};
use crate::job::{Job, ec3_gate_job};
use crate::panic::ffi_panic_boundary;
use crate::params::ec3_gate_wait_params;
use crate::progress::Progress;
use crate::result::{Failure, ec3_gate_result};

/// Waits for `n` jobs at once, under one deadline, on one connection and
/// one token of `client`, within its request budget; fills `jobs_out[i]`
/// and `results_out[i]` for each `job_ids[i]`, in the order given.
///
/// `job_ids`: an array of `n` (at least 1) job ids, each as for
/// `ec3_gate_client_wait_with`; an id given twice is polled once and
/// reported at both positions. `params`: NULL for the defaults, else an
/// `ec3_gate_wait_params`, read exactly as `ec3_gate_client_wait_with`
/// reads it (0 and NULL fields mean the defaults; the same `struct_size`
/// rules), for the whole group: `timeout_ms` is the group's one deadline
/// (by `ec3_gate_client_wait_with`'s timeout rule), each job is polled no
/// more often than `interval_ms`, and not at all once it is finished, and
/// `cancel` ends the whole wait. When the client's budget
/// (`ec3_gate_client_options_set_max_requests_per_minute`) is too short for
/// that, the polls are paced evenly through it (each of `n` jobs about
/// every `n` × 60 s / budget), in turn; a 429 or `Retry-After` from the
/// service pauses every job.
///
/// `progress` (may be NULL) gets the same reports as for
/// `ec3_gate_client_wait_with`, each with the `job_index` of the job it is
/// about, on this thread, with `user_data` passed through.
///
/// `jobs_out` and `results_out`: arrays of `n` elements, written when the
/// wait ran (every code below but `_INVALID_ARGUMENT`, `_NULL_ARGUMENT`,
/// `_INVALID_UTF8` and `_PANIC`, which leave them untouched).
/// `results_out[i]` is what `ec3_gate_client_wait_with` would have returned
/// for that job alone: `EC3_GATE_RESULT_OK` (`Succeeded`), `_JOB_FAILED`,
/// `_TIMED_OUT`, `_NOT_FOUND`, `_AUTH`, `_SERVICE`, `_REJECTED` or
/// `_CANCELLED` (the cancel came before the job finished). `jobs_out[i]` is
/// the service's last answer about that job, whatever its result (a
/// timed-out job shows its last status), or NULL when it never answered
/// with the job. The caller owns every non-NULL job, one per position (an id
/// given twice gets two), and frees each with `ec3_gate_job_free`.
///
/// Returns `EC3_GATE_RESULT_OK` only when every job `Succeeded`. Otherwise
/// the results' code that comes first in this order: `_CANCELLED` (the
/// arrays hold everything known by then), `_INVALID_ARGUMENT`, `_AUTH`,
/// `_NOT_FOUND`, `_REJECTED`, `_SERVICE`, `_TIMED_OUT`, `_JOB_FAILED` (the
/// core's precedence, which the `ec3-gate` command's exit status follows
/// too: `_JOB_FAILED` comes out only when every job that did not succeed
/// `Failed`; anything the library could not decide outranks it). Before the
/// wait: `_INVALID_ARGUMENT` (`n` is 0, an id is malformed, a timeout or
/// interval is out of range, `struct_size` is smaller than any version of
/// `ec3_gate_wait_params` or larger with fields this version does not know
/// set), `_NULL_ARGUMENT` (`client`, `job_ids`, one of its elements,
/// `jobs_out` or `results_out` NULL) or `_INVALID_UTF8`.
/// `ec3_gate_client_last_error(client)` then says `"job_ids[i] (ID): …"`
/// for the first job with the returned code, or why the arguments were
/// refused.
///
/// Thread-safe; blocks the calling thread for at most about `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_wait_all(
    client: *const ec3_gate_client,
    job_ids: *const *const c_char,
    n: usize,
    params: *const ec3_gate_wait_params,
    jobs_out: *mut *mut ec3_gate_job,
    results_out: *mut ec3_gate_result,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let result = (|| {
            // SAFETY: `job_ids` is NULL or an array of `n` pointers, each NULL
            // or NUL-terminated (documented).
            let ids = unsafe { job_id_array(job_ids, n) }?;
            if jobs_out.is_null() {
                return Err(Failure::null("jobs_out"));
            }
            if results_out.is_null() {
                return Err(Failure::null("results_out"));
            }
            // SAFETY: `params` is NULL or a live struct whose `struct_size`
            // bytes are readable (documented).
            let (p, options) = unsafe { read_wait_params(params) }?;
            // SAFETY: `p.cancel` is NULL or live (documented).
            let cancel = unsafe { cancel_flag(p.cancel) };
            let mut observer = Progress::for_group(p.progress, p.user_data);
            let outcomes = client.core.wait_all(&ids, &options, &cancel, &mut observer)?;
            for (i, outcome) in outcomes.iter().enumerate() {
                let job = outcome
                    .last_seen
                    .as_ref()
                    .map_or(std::ptr::null_mut(), |j| {
                        to_boxed_mut_ptr(Job::new(&outcome.id, j))
                    });
                // SAFETY: both arrays are non-NULL (checked) and hold `n`
                // writable elements (documented); `i < n`.
                unsafe {
                    jobs_out.add(i).write(job);
                    results_out.add(i).write(code(outcome));
                }
            }
            // The core decides which job's result is the group's.
            match ec3::deciding_outcome(&outcomes) {
                None => Ok(()),
                Some(i) => {
                    let message =
                        format!("job_ids[{i}] ({}): {}", outcomes[i].id, message(&outcomes[i]));
                    // What `wait_with` keeps for the same answer: the HTTP
                    // status, the service's code and target.
                    let detail = outcomes[i].result.as_ref().err();
                    Err(Failure {
                        http_status: detail.and_then(ec3::Error::http_status).unwrap_or(0),
                        service_code: detail
                            .and_then(ec3::Error::service_error)
                            .and_then(|d| d.code.clone()),
                        target: detail
                            .and_then(ec3::Error::service_error)
                            .and_then(|d| d.target.clone()),
                        ..Failure::new(code(&outcomes[i]), message)
                    })
                }
            }
        })();
        client.errors.record(result)
    }
}

/// The ids of a C array, checked.
///
/// # Safety
/// `ids` is NULL or points to `n` pointers, each NULL or a NUL-terminated
/// string.
unsafe fn job_id_array(ids: *const *const c_char, n: usize) -> Result<Vec<JobId>, Failure> {
    if ids.is_null() {
        return Err(Failure::null("job_ids"));
    }
    if n == 0 {
        return Err(Failure::invalid("n", "at least one job id is needed"));
    }
    (0..n)
        .map(|i| {
            let name = format!("job_ids[{i}]");
            // SAFETY: `i < n`, and the array holds `n` pointers (the caller).
            let ptr = unsafe { *ids.add(i) };
            // SAFETY: NULL or NUL-terminated (the caller).
            let text = unsafe { arg_str(ptr, &name) }?;
            JobId::new(text).map_err(|e| {
                let failure = Failure::from(e);
                Failure::new(failure.code, format!("{name}: {}", failure.message))
            })
        })
        .collect()
}

/// What `ec3_gate_client_wait_with` would return for this job alone.
fn code(outcome: &JobOutcome) -> ec3_gate_result {
    match &outcome.result {
        Ok(job) if job.status == JobStatus::Failed => ec3_gate_result::JobFailed,
        Ok(_) => ec3_gate_result::Ok,
        Err(error) => error.into(),
    }
}

/// The detail of one job's result, for the last error.
fn message(outcome: &JobOutcome) -> String {
    match &outcome.result {
        Ok(job) => failed_message(job),
        Err(error) => error.to_string(),
    }
}
