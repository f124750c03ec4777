//! `ec3_gate_client`: job creation, one-shot status queries and waits.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use ec3::{Cancel, JobId, JobStatus, NewJob, Secret, Timeout, WaitOptions};

use crate::cancel::ec3_gate_cancel;
use crate::ffi::{
    Castable, LastError, Out, arg_str, free_box, optional_arg_str, to_boxed_mut_ptr, try_from,
    try_ref_from_ptr,
};
use crate::job::{Job, ec3_gate_job};
use crate::options::{Options, ec3_gate_client_options};
use crate::panic::ffi_panic_boundary;
use crate::params::{self, Params, ec3_gate_create_job_params, ec3_gate_wait_params};
use crate::progress::{Progress, ec3_gate_progress_callback};
use crate::result::{Failure, ec3_gate_result};
use crate::string::to_owned_c_string;
use crate::upload;

// The core's bounds and defaults, compiled from the core's own file so that
// cbindgen writes them into the header (renamed `EC3_GATE_*` in
// ffi/cbindgen.toml). The library itself checks through the core.
#[path = "../../src/limits.rs"]
mod limits;
use limits::DEFAULT_CALL_TIMEOUT_MS;

// The same file as the core's, so these hold by construction: they use the
// module, and a wrong `#[path]` would fail here.
const _: () = {
    assert!(limits::DEFAULT_TIMEOUT_MS == ec3::DEFAULT_TIMEOUT_MS);
    assert!(limits::DEFAULT_INTERVAL_MS == ec3::DEFAULT_INTERVAL_MS);
    assert!(limits::DEFAULT_CALL_TIMEOUT_MS == ec3::DEFAULT_CALL_TIMEOUT_MS);
    assert!(limits::MIN_TIMEOUT_MS == ec3::MIN_TIMEOUT_MS);
    assert!(limits::MAX_TIMEOUT_MS == ec3::MAX_TIMEOUT_MS);
    assert!(limits::MIN_INTERVAL_MS == ec3::MIN_INTERVAL_MS);
    assert!(limits::MAX_INTERVAL_MS == ec3::MAX_INTERVAL_MS);
    assert!(limits::DEFAULT_MAX_REQUESTS_PER_MINUTE == ec3::DEFAULT_MAX_REQUESTS_PER_MINUTE);
    assert!(limits::MAX_REQUESTS_PER_MINUTE == ec3::MAX_REQUESTS_PER_MINUTE);
};

/// A suggested timeout for `ec3_gate_client_create_job`: the core's default
/// for one call, as for the command's `upload` without `--wait`.
pub const EC3_GATE_DEFAULT_CREATE_TIMEOUT_MS: u64 = DEFAULT_CALL_TIMEOUT_MS;
/// A suggested timeout for `ec3_gate_client_job_status`: the core's default
/// for one call, as for the command's `status`.
pub const EC3_GATE_DEFAULT_STATUS_TIMEOUT_MS: u64 = DEFAULT_CALL_TIMEOUT_MS;

/// A client of the Carbon Calculation API: one HTTP agent (kept-alive
/// connections), with client credentials one cached token, and one request
/// budget that every call on it shares, from every thread
/// (`ec3_gate_client_options_set_max_requests_per_minute`).
///
/// Made by `ec3_gate_client_new`, freed by `ec3_gate_client_free`.
///
/// Thread-safe: several threads may create jobs, run queries and wait on one
/// client at the same time. Each thread has its own last-error message
/// (`ec3_gate_client_last_error`). Free the client only after every call on
/// it has returned.
pub struct ec3_gate_client {
    _private: [u8; 0],
}

/// The Rust value behind `ec3_gate_client`.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) core: ec3::Client,
    pub(crate) errors: LastError,
}

impl Castable for ec3_gate_client {
    type RustType = Client;
}

/// A call's timeout from C, checked by the core.
fn call_timeout(ms: u64) -> Result<Timeout, Failure> {
    Ok(Timeout::new(Duration::from_millis(ms))
        .map_err(|e| e.rename_setting("timeout", "timeout_ms"))?)
}

/// The last error of a wait whose job `Failed`: the service's reason.
pub(crate) fn failed_message(job: &ec3::Job) -> String {
    let reason = job.message_line();
    let reason = reason.as_deref().unwrap_or("the service gave no reason");
    format!("job failed: {reason}")
}

/// A job id from C, checked as the service's URL path needs.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn parse_job_id(ptr: *const c_char) -> Result<JobId, Failure> {
    // SAFETY: per this function's contract.
    Ok(JobId::new(unsafe { arg_str(ptr, "job_id") }?)?)
}

/// The caller's cancel flag (a clone sharing it), or a private one.
///
/// # Safety
/// `ptr` is NULL or a live `ec3_gate_cancel`.
pub(crate) unsafe fn cancel_flag(ptr: *const ec3_gate_cancel) -> Cancel {
    // SAFETY: per this function's contract.
    unsafe { try_from(ptr) }.map_or_else(Cancel::new, Cancel::clone)
}

/// Makes a client from `options` and stores it in `*client_out`.
///
/// The options are copied: they may be changed, reused or freed afterwards.
/// Proxy settings are read from the environment now, with curl's rules
/// (`https_proxy`, `all_proxy`, `no_proxy`, …; loopback is never proxied).
/// Nothing is sent yet.
///
/// Returns `EC3_GATE_RESULT_OK`; `EC3_GATE_RESULT_INVALID_ARGUMENT` when there
/// are no credentials, a URL is malformed or not `https://` (plain `http://`
/// only to loopback), or the scope is empty;
/// `EC3_GATE_RESULT_NULL_ARGUMENT` when `options` or `client_out` is NULL.
/// On error `*client_out` is untouched and the message is available from
/// `ec3_gate_client_options_last_error(options)`.
///
/// The caller owns the new client and frees it with `ec3_gate_client_free`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_new(
    options: *const ec3_gate_client_options,
    client_out: *mut *mut ec3_gate_client,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let options: &Options = try_ref_from_ptr!(options);
        let result = (|| {
            let out = Out::new(client_out, "client_out")?;
            let core = ec3::Client::new(options.config()?)?;
            let client = Client {
                core,
                errors: LastError::default(),
            };
            // SAFETY: `client_out` is non-NULL (checked) and writable
            // (documented).
            unsafe { out.write(to_boxed_mut_ptr(client)) };
            Ok(())
        })();
        options.errors.record(result)
    }
}

/// Creates an EC3 upload job (`POST /insights/carbon-calculation/ec3/jobs`)
/// and stores its id in `*job_id_out`, ready for `ec3_gate_client_wait_with`.
///
/// The configuration is read first (`GET …/ec3/configurations/{id}`): a job
/// its form says the service cannot run (an extraction-based configuration
/// without `extraction_id` or `extract`, a report-based one with
/// `extraction_id`) is refused with `EC3_GATE_RESULT_INVALID_ARGUMENT`,
/// naming the configuration and the field to change, and no job is created.
/// A configuration the service does not let be read goes on to the creation,
/// where the service decides.
///
/// `params` (required) says what to upload; see
/// `ec3_gate_create_job_params`. The ids are 1-256 ASCII letters, digits,
/// `.`, `_` or `-`; the project name is 1-256
/// characters, not blank, without control characters.
///
/// `ec3_token`: the user's EC3 (Building Transparency) token, not blank,
/// without control characters. A secret: it goes into the request body and
/// nowhere else, never into a message; where the service quotes it back in
/// an error, the last error shows `***` (a "token" shorter than 8
/// characters excepted), and so do later answers to this client, which
/// keeps the token for that until it is freed.
///
/// `timeout_ms` bounds the whole call. Triggering `cancel` (from another
/// thread) ends the call with `EC3_GATE_RESULT_CANCELLED`, also while the
/// request is in flight: then the job may or may not have been created.
/// A cancel that lands once the service's answer with the id arrived
/// returns `EC3_GATE_RESULT_OK` and the id: the job exists.
///
/// Creating a job is not idempotent, so the request is repeated only when it
/// surely never reached the service (no connection) or the service asked for
/// it (429, or 503 with `Retry-After`). A timeout or lost connection after
/// the request was sent is reported (`EC3_GATE_RESULT_SERVICE`, or
/// `_CANCELLED`), never retried: the job may then exist, so check the EC3
/// project before creating it again. Note that the service does
/// not check the EC3 token here: a bad one makes the job `Failed` later.
///
/// With `extract` = 1 (an extraction-based configuration), the call first
/// reads the configuration, runs a Grouping & Mapping extraction of its
/// mappings (on `imodel_id`, else the configuration's iModel, at
/// `changeset_id`, else the latest), polls it every
/// `EC3_GATE_DEFAULT_INTERVAL_MS` until it ends, then creates the job with
/// its id, all within `timeout_ms` (0 here means
/// `EC3_GATE_DEFAULT_WAIT_TIMEOUT_MS`); `{configuration}` and `{n}` in
/// `project_name` are replaced as the command does. Its rules and codes are
/// `ec3_gate_client_extract_and_upload`'s (which also waits for the job,
/// paces the polls as you choose, and hands back the extraction's id):
/// `EC3_GATE_RESULT_JOB_FAILED`, and no job, when the extraction `Failed` or
/// `PartiallySucceeded` without `allow_partial_extraction`;
/// `_INVALID_ARGUMENT` for a report-based configuration (only the
/// configuration was read).
///
/// Returns `EC3_GATE_RESULT_OK` when the service created the job. Else
/// `EC3_GATE_RESULT_REJECTED` (HTTP 400/422: the last error has the
/// service's code and message), `_AUTH`, `_SERVICE`, `_CANCELLED`,
/// `_INVALID_ARGUMENT` (a blank or over-long string, a control character, a
/// bad timeout or `struct_size`, an extraction field other than 0 or NULL
/// without `extract`, `extraction_id` with `extract`: nothing was sent; a
/// configuration of the wrong form: only it was read),
/// `_NULL_ARGUMENT`
/// (`client`, `params`, a required string or `job_id_out` NULL) or
/// `_INVALID_UTF8`; then `*job_id_out` is untouched and the
/// `ec3_gate_client_last_error*` functions have the details (except when
/// `client` itself is NULL).
///
/// The caller owns the job id string (NUL-terminated; 1-128 ASCII letters,
/// digits, `-`, `_` or `.`) and frees it once with `ec3_gate_string_free`;
/// it does not depend on the client. Thread-safe; blocks the calling thread
/// for at most about `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_create_job_with(
    client: *const ec3_gate_client,
    params: *const ec3_gate_create_job_params,
    job_id_out: *mut *mut c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let result = (|| {
            // SAFETY: NULL or a live struct whose `struct_size` bytes are
            // readable (documented).
            let p = unsafe { params::read_required(params, "params") }?;
            // With `extract` the call also waits for the extraction.
            let default = if p.extract == 0 {
                EC3_GATE_DEFAULT_CREATE_TIMEOUT_MS
            } else {
                limits::DEFAULT_TIMEOUT_MS
            };
            let timeout = call_timeout(or_default(p.timeout_ms, default))?;
            // SAFETY: the strings in `params` are NULL or NUL-terminated and
            // `job_id_out` is NULL or writable (documented).
            unsafe { create_job(client, &p, timeout, job_id_out) }
        })();
        client.errors.record(result)
    }
}

/// `ec3_gate_client_create_job_with` with flat arguments. Deprecated: it
/// cannot grow without breaking the ABI; it stays until 1.0.
///
/// As `ec3_gate_client_create_job_with` with these fields, except that
/// `timeout_ms` 0 is refused (`EC3_GATE_RESULT_INVALID_ARGUMENT`) rather
/// than meaning the default.
#[unsafe(no_mangle)]
#[deprecated = "use ec3_gate_client_create_job_with"]
#[allow(clippy::too_many_arguments)] // The flat signature it keeps for old callers.
pub extern "C" fn ec3_gate_client_create_job(
    client: *const ec3_gate_client,
    configuration_id: *const c_char,
    project_name: *const c_char,
    ec3_token: *const c_char,
    extraction_id: *const c_char,
    timeout_ms: u64,
    cancel: *const ec3_gate_cancel,
    job_id_out: *mut *mut c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let p = ec3_gate_create_job_params {
            configuration_id,
            project_name,
            ec3_token,
            extraction_id,
            timeout_ms,
            cancel,
            ..Params::defaults()
        };
        let result = (|| {
            let timeout = call_timeout(timeout_ms)?;
            // SAFETY: as for ec3_gate_client_create_job_with (documented).
            unsafe { create_job(client, &p, timeout, job_id_out) }
        })();
        client.errors.record(result)
    }
}

/// `ms`, or `default` when `ms` is 0 (a zeroed field of a `*_params`
/// struct).
fn or_default(ms: u64, default: u64) -> u64 {
    if ms == 0 { default } else { ms }
}

/// The caller's `ec3_gate_wait_params` and the wait they ask for: the one
/// reader of the struct, for `ec3_gate_client_wait_with` and
/// `ec3_gate_client_wait_all` alike (NULL and 0 fields are the defaults).
///
/// # Safety
/// `ptr` is NULL or a live struct whose `struct_size` bytes are readable.
pub(crate) unsafe fn read_wait_params(
    ptr: *const ec3_gate_wait_params,
) -> Result<(ec3_gate_wait_params, WaitOptions), Failure> {
    // SAFETY: per this function's contract.
    let p = unsafe { params::read(ptr, "params") }?;
    let options = wait_options(
        or_default(p.timeout_ms, limits::DEFAULT_TIMEOUT_MS),
        or_default(p.interval_ms, limits::DEFAULT_INTERVAL_MS),
    )?;
    Ok((p, options))
}

/// A wait's timeout and interval from C, checked by the core.
fn wait_options(timeout_ms: u64, interval_ms: u64) -> Result<WaitOptions, Failure> {
    Ok(WaitOptions::new(
        Duration::from_millis(timeout_ms),
        Duration::from_millis(interval_ms),
    )
    .map_err(|e| {
        e.rename_setting("timeout", "timeout_ms")
            .rename_setting("interval", "interval_ms")
    })?)
}

/// The body of both job creations.
///
/// # Safety
/// The strings in `p` are NULL or NUL-terminated, `p.cancel` is NULL or
/// live, and `job_id_out` is NULL or writable.
unsafe fn create_job(
    client: &Client,
    p: &ec3_gate_create_job_params,
    timeout: Timeout,
    job_id_out: *mut *mut c_char,
) -> Result<(), Failure> {
    // SAFETY: this and the next three strings are each NULL or
    // NUL-terminated (this function's contract).
    let configuration_id = unsafe { arg_str(p.configuration_id, "configuration_id") }?;
    // SAFETY: as above.
    let project_name = unsafe { arg_str(p.project_name, "project_name") }?;
    // SAFETY: as above.
    let token = unsafe { arg_str(p.ec3_token, "ec3_token") }?;
    // SAFETY: as above.
    let extraction_id = unsafe { optional_arg_str(p.extraction_id, "extraction_id") }?;
    // SAFETY: as above.
    let chain = unsafe { upload::chain_of(p) }?;
    let out = Out::new(job_id_out, "job_id_out")?;
    // SAFETY: `cancel` is NULL or live (this function's contract).
    let cancel = unsafe { cancel_flag(p.cancel) };
    if let Some(chain) = chain {
        // The extraction is polled at the default interval, within `timeout`.
        let options = wait_options(
            u64::try_from(timeout.get().as_millis()).unwrap_or(u64::MAX),
            limits::DEFAULT_INTERVAL_MS,
        )?;
        let outcome = upload::run_chain(client, &chain, &options, false, &cancel, &mut ())?;
        let id = upload::created_job(&outcome)?;
        // SAFETY: `job_id_out` is non-NULL (checked) and writable (contract).
        unsafe { out.write(to_owned_c_string(id.as_str())) };
        return Ok(());
    }
    let mut job = NewJob::new(configuration_id, project_name, Secret::new(token));
    if let Some(id) = extraction_id {
        job = job.extraction_id(id);
    }
    let id = client
        .core
        .create_job(&job, timeout, &cancel, &mut ())
        .map_err(upload::job_names)?;
    // SAFETY: `job_id_out` is non-NULL (checked) and writable (contract).
    unsafe { out.write(to_owned_c_string(id.as_str())) };
    Ok(())
}

/// Queries a job's status once and stores the answer in `*job_out`, whatever
/// the job's state (`Queued`, `Running`, `Succeeded`, `Failed` or unknown).
///
/// `job_id`: 1-128 ASCII letters, digits, `-`, `_` or `.`. `timeout_ms`
/// (1 to `EC3_GATE_MAX_TIMEOUT_MS`) bounds the whole call: transient failures
/// (5xx, 429, connection errors) are retried until then. `cancel` may be
/// NULL; when given, triggering it from another thread ends the call with
/// `EC3_GATE_RESULT_CANCELLED`.
///
/// Returns `EC3_GATE_RESULT_OK` when the service answered with the job. Else
/// `EC3_GATE_RESULT_NOT_FOUND`, `_AUTH`, `_SERVICE`, `_REJECTED`,
/// `_CANCELLED`, `_INVALID_ARGUMENT` (bad job id or timeout),
/// `_NULL_ARGUMENT` (`client`, `job_id` or `job_out` NULL) or
/// `_INVALID_UTF8`; then `*job_out` is untouched and the
/// `ec3_gate_client_last_error*` functions have the details (except when
/// `client` itself is NULL).
///
/// The caller owns the job and frees it with `ec3_gate_job_free`.
/// Thread-safe; blocks the calling thread for at most about `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_job_status(
    client: *const ec3_gate_client,
    job_id: *const c_char,
    timeout_ms: u64,
    cancel: *const ec3_gate_cancel,
    job_out: *mut *mut ec3_gate_job,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let result = (|| {
            // SAFETY: `job_id` is NULL or a NUL-terminated string (documented).
            let id = unsafe { parse_job_id(job_id) }?;
            let out = Out::new(job_out, "job_out")?;
            let timeout = call_timeout(timeout_ms)?;
            // SAFETY: `cancel` is NULL or live (documented).
            let cancel = unsafe { cancel_flag(cancel) };
            let job = client.core.job_status(&id, timeout, &cancel, &mut ())?;
            // SAFETY: `job_out` is non-NULL (checked) and writable (documented).
            unsafe { out.write(to_boxed_mut_ptr(Job::new(&id, &job))) };
            Ok(())
        })();
        client.errors.record(result)
    }
}

/// Polls a job until it is `Succeeded` or `Failed`, or the timeout comes.
///
/// `job_id`: as for `ec3_gate_client_job_status`. `params`: NULL for the
/// defaults, else see `ec3_gate_wait_params`.
///
/// The timeout rule, exactly: the first poll starts at once, and the next
/// ones every `interval_ms` plus up to 10% (at most 1 s) of jitter. No
/// request outlives `timeout_ms` from the call. To leave the last poll
/// time to finish, no poll starts later than `timeout_ms - min(timeout_ms /
/// 4, 1000)` ms after the call (the sleep before it is cut short to that
/// moment); when the job is still unfinished after that last poll, the call
/// returns `EC3_GATE_RESULT_TIMED_OUT` at once. So `TIMED_OUT` comes after
/// at least `timeout_ms - min(timeout_ms / 4, 1000)` ms and at most
/// `timeout_ms` ms (plus scheduling).
///
/// `progress` is called on this thread at each status change (the first poll
/// included) and before each retry, with `user_data` passed through
/// untouched. Triggering `cancel` from another thread (or from the callback)
/// ends the wait within milliseconds with `EC3_GATE_RESULT_CANCELLED`, also
/// in the middle of a request.
///
/// Returns `EC3_GATE_RESULT_OK` when the job `Succeeded`,
/// `EC3_GATE_RESULT_JOB_FAILED` when it `Failed` (its message says why), and
/// `EC3_GATE_RESULT_TIMED_OUT` at the timeout: in these three cases
/// `*job_out` is written, with the last job the service answered (for
/// `TIMED_OUT`, NULL when no poll was answered). Otherwise `*job_out` is
/// untouched and the code is `EC3_GATE_RESULT_NOT_FOUND`, `_AUTH`,
/// `_SERVICE`, `_REJECTED`, `_CANCELLED`, `_INVALID_ARGUMENT` (bad job id,
/// timeout, interval or `struct_size`), `_NULL_ARGUMENT` (`client`, `job_id`
/// or `job_out` NULL) or `_INVALID_UTF8`. The `ec3_gate_client_last_error*`
/// functions have the details of every code but OK (except when `client`
/// itself is NULL).
///
/// The caller owns the job and frees it with `ec3_gate_job_free`.
/// Thread-safe; blocks the calling thread for at most `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_wait_with(
    client: *const ec3_gate_client,
    job_id: *const c_char,
    params: *const ec3_gate_wait_params,
    job_out: *mut *mut ec3_gate_job,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let result = (|| {
            // SAFETY: `params` is NULL or a live struct whose `struct_size`
            // bytes are readable (documented).
            let (p, options) = unsafe { read_wait_params(params) }?;
            // SAFETY: `job_id` is NULL or NUL-terminated, `p.cancel` NULL or
            // live, `job_out` NULL or writable (documented).
            unsafe { wait(client, job_id, &p, options, job_out, true) }
        })();
        client.errors.record(result)
    }
}

/// `ec3_gate_client_wait_with` with flat arguments. Deprecated: it cannot
/// grow without breaking the ABI; it stays until 1.0.
///
/// As `ec3_gate_client_wait_with` with these fields, except that 0 for
/// `timeout_ms` or `interval_ms` is refused
/// (`EC3_GATE_RESULT_INVALID_ARGUMENT`) rather than meaning the default, and
/// that on `EC3_GATE_RESULT_TIMED_OUT` `*job_out` is untouched.
#[unsafe(no_mangle)]
#[deprecated = "use ec3_gate_client_wait_with"]
#[allow(clippy::too_many_arguments)] // The flat signature it keeps for old callers.
pub extern "C" fn ec3_gate_client_wait(
    client: *const ec3_gate_client,
    job_id: *const c_char,
    timeout_ms: u64,
    interval_ms: u64,
    progress: ec3_gate_progress_callback,
    user_data: *mut c_void,
    cancel: *const ec3_gate_cancel,
    job_out: *mut *mut ec3_gate_job,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        let p = ec3_gate_wait_params {
            timeout_ms,
            interval_ms,
            progress,
            user_data,
            cancel,
            ..Params::defaults()
        };
        let result = (|| {
            let options = wait_options(timeout_ms, interval_ms)?;
            // SAFETY: as for ec3_gate_client_wait_with (documented).
            unsafe { wait(client, job_id, &p, options, job_out, false) }
        })();
        client.errors.record(result)
    }
}

/// The body of both waits; `give_last` hands the last job answered back on a
/// timeout.
///
/// # Safety
/// `job_id` is NULL or NUL-terminated, `p.cancel` NULL or live, `p.progress`
/// NULL or a function that returns normally, `job_out` NULL or writable.
unsafe fn wait(
    client: &Client,
    job_id: *const c_char,
    p: &ec3_gate_wait_params,
    options: WaitOptions,
    job_out: *mut *mut ec3_gate_job,
    give_last: bool,
) -> Result<(), Failure> {
    // SAFETY: `job_id` is NULL or a NUL-terminated string (contract).
    let id = unsafe { parse_job_id(job_id) }?;
    let out = Out::new(job_out, "job_out")?;
    // SAFETY: `cancel` is NULL or live (contract).
    let cancel = unsafe { cancel_flag(p.cancel) };
    let mut observer = Progress::new(&id, p.progress, p.user_data);
    let job = match client.core.wait(&id, &options, &cancel, &mut observer) {
        Ok(job) => job,
        Err(error @ ec3::Error::TimedOut) if give_last => {
            let last = observer.last.as_ref().map(|job| Job::new(&id, job));
            let last = last.map_or(std::ptr::null_mut(), to_boxed_mut_ptr);
            // SAFETY: `job_out` is non-NULL (checked) and writable (contract).
            unsafe { out.write(last) };
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    let failed = (job.status == JobStatus::Failed).then(|| failed_message(&job));
    // SAFETY: `job_out` is non-NULL (checked) and writable (contract).
    unsafe { out.write(to_boxed_mut_ptr(Job::new(&id, &job))) };
    match failed {
        Some(message) => Err(Failure::new(ec3_gate_result::JobFailed, message)),
        None => Ok(()),
    }
}

/// The result code of the calling thread's most recent call on `client`
/// (`EC3_GATE_RESULT_OK` when it succeeded): what that call returned.
/// `EC3_GATE_RESULT_NULL_ARGUMENT` when `client` is NULL. Thread-safe; per
/// thread, like `ec3_gate_client_last_error`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_last_error_code(
    client: *const ec3_gate_client,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        let client: &Client = try_ref_from_ptr!(client);
        client.errors.with(|r| r.map_or(ec3_gate_result::Ok, |r| r.code))
    }
}

/// The HTTP status of the service's answer behind the calling thread's most
/// recent failed call on `client` (such as 404 or 422); 0 when that call got
/// no error answer (it succeeded, was refused before sending, timed out,
/// was cancelled, failed on the network, or the job `Failed`), or `client`
/// is NULL. Thread-safe; per thread, like `ec3_gate_client_last_error`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_last_error_http_status(client: *const ec3_gate_client) -> u16 {
    ffi_panic_boundary! {
        // SAFETY: `client` is NULL or live (documented on the type).
        let client: Option<&Client> = unsafe { try_from(client) };
        client.map_or(0, |c| c.errors.with(|r| r.map_or(0, |r| r.http_status)))
    }
}

/// The service's error code (such as `"JobNotFound"` or
/// `"InvalidEC3JobRequest"`) from the error answer behind the calling
/// thread's most recent failed call on `client`; NULL when the answer had
/// none (or there was no error answer, see
/// `ec3_gate_client_last_error_http_status`), or `client` is NULL.
///
/// Server text, untrusted: at most 1024 characters, line endings normalised,
/// a NUL replaced by U+FFFD. Owned by `client`, valid as long as
/// `ec3_gate_client_last_error`'s string; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_last_error_service_code(
    client: *const ec3_gate_client,
) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `client` is NULL or live (documented on the type).
        let client: Option<&Client> = unsafe { try_from(client) };
        client.map_or(std::ptr::null(), |c| {
            c.errors.with(|r| r.and_then(|r| r.service_code.as_ref()).map_or(std::ptr::null(), |s| s.as_ptr()))
        })
    }
}

/// The service's error target (such as `"jobId"`: what the error is about)
/// from the error answer behind the calling thread's most recent failed call
/// on `client`; NULL when it gave none, or `client` is NULL. Same rules as
/// `ec3_gate_client_last_error_service_code`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_last_error_target(
    client: *const ec3_gate_client,
) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `client` is NULL or live (documented on the type).
        let client: Option<&Client> = unsafe { try_from(client) };
        client.map_or(std::ptr::null(), |c| {
            c.errors.with(|r| r.and_then(|r| r.target.as_ref()).map_or(std::ptr::null(), |s| s.as_ptr()))
        })
    }
}

/// The detailed message of the calling thread's most recent call on
/// `client` that did not return `EC3_GATE_RESULT_OK`, such as
/// `"job not found (HTTP 404 JobNotFound: Requested EC3 Job is not
/// available.)"`; `""` when that thread's most recent call on it succeeded.
/// One line; server text escaped; never a token or secret.
///
/// Owned by `client`: valid until this thread's next call that takes the
/// client (job creation, status query, wait or `ec3_gate_client_wait_all`),
/// or `ec3_gate_client_free`; do not free it. Per thread: another thread's
/// calls never change it. Each thread keeps its own last errors, freed when
/// the thread ends (or at its next call after the client is freed). NULL
/// when `client` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_last_error(client: *const ec3_gate_client) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `client` is NULL or live (documented on the type).
        let client: Option<&Client> = unsafe { try_from(client) };
        client.map_or(std::ptr::null(), |c| c.errors.get())
    }
}

/// Frees a client made by `ec3_gate_client_new`: its connections, cached
/// token and last-error messages. NULL does nothing. Call it only after every
/// call on the client has returned, and only once. Jobs it returned stay
/// valid.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_free(client: *mut ec3_gate_client) {
    ffi_panic_boundary! {
        // SAFETY: `client` is NULL or was made by this library, not yet freed.
        unsafe { free_box(client) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_checked_by_the_core_and_named_as_in_c() {
        let failure = call_timeout(0).unwrap_err();
        assert_eq!(
            failure.code,
            crate::result::ec3_gate_result::InvalidArgument
        );
        assert!(failure.message.starts_with("timeout_ms: "), "{failure:?}");
        assert_eq!(
            call_timeout(EC3_GATE_DEFAULT_STATUS_TIMEOUT_MS).unwrap(),
            Timeout::default()
        );
    }
}
