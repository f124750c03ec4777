//! Argument structs that can grow: `ec3_gate_create_job_params` and
//! `ec3_gate_wait_params`, each led by its own size.
//!
//! A caller sets `struct_size = sizeof(struct)` from the header it compiled
//! with, so the library knows which fields the caller knows of: a program
//! built against an older header passes a smaller struct (the fields it lacks
//! take their defaults), and one built against a newer header a larger one
//! (accepted when every field this version does not know is zero, the
//! "unset" value of every field; refused otherwise, as Linux's `openat2`
//! does). Fields are only ever added at the end.

use std::ffi::{c_char, c_void};
use std::mem::size_of;

use crate::cancel::ec3_gate_cancel;
use crate::progress::ec3_gate_progress_callback;
use crate::result::Failure;

/// What `ec3_gate_client_create_job_with` needs. Zero it all, set
/// `struct_size` to `sizeof(ec3_gate_create_job_params)`, then fill in what
/// you use: in C `ec3_gate_create_job_params p = {.struct_size = sizeof p};`,
/// in C++ `ec3_gate_create_job_params p{}; p.struct_size = sizeof p;`.
///
/// The strings are only read during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ec3_gate_create_job_params {
    /// `sizeof(ec3_gate_create_job_params)`, as the caller's header declares it.
    pub struct_size: usize,
    /// The EC3 configuration that says what to upload. Required.
    pub configuration_id: *const c_char,
    /// The name of the EC3 project to create. Required.
    pub project_name: *const c_char,
    /// The user's EC3 (Building Transparency) token: a secret, sent in the
    /// request body and nowhere else. Required.
    pub ec3_token: *const c_char,
    /// NULL for a report-based job, else the extraction to upload.
    pub extraction_id: *const c_char,
    /// Bounds the whole call: 1 to `EC3_GATE_MAX_TIMEOUT_MS`; 0 means
    /// `EC3_GATE_DEFAULT_CREATE_TIMEOUT_MS`.
    pub timeout_ms: u64,
    /// NULL, or a flag that ends the call with `EC3_GATE_RESULT_CANCELLED`
    /// when triggered.
    pub cancel: *const ec3_gate_cancel,
    /// 1: run a Grouping & Mapping extraction for the (extraction-based)
    /// configuration first, wait for it, then create the job with its id;
    /// 0 (the default): create the job at once. Any other value is refused
    /// (`EC3_GATE_RESULT_INVALID_ARGUMENT`). Not with `extraction_id`.
    /// This field and the next three came after the struct's first version
    /// (which ended at `cancel`): callers built against it get their
    /// defaults.
    pub extract: u32,
    /// With `extract`: the iModel to extract; NULL: the one the
    /// configuration links to (`_links.iModel`). Without `extract`: must be
    /// NULL.
    pub imodel_id: *const c_char,
    /// With `extract`: the changeset to extract; NULL: the iModel's latest.
    /// Without `extract`: must be NULL.
    pub changeset_id: *const c_char,
    /// With `extract`: 1 to go on after an extraction that
    /// `PartiallySucceeded` (some mappings failed), 0 (the default) to stop
    /// there with `EC3_GATE_RESULT_JOB_FAILED`. Any other value is refused;
    /// without `extract`, it must be 0.
    pub allow_partial_extraction: u32,
}

/// How `ec3_gate_client_wait_with` and `ec3_gate_client_wait_all` wait;
/// NULL for all defaults. Zero it all, set `struct_size` to
/// `sizeof(ec3_gate_wait_params)`, then fill in what you use (0 and NULL
/// mean the defaults): in C
/// `ec3_gate_wait_params p = {.struct_size = sizeof p};`, in C++
/// `ec3_gate_wait_params p{}; p.struct_size = sizeof p;`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ec3_gate_wait_params {
    /// `sizeof(ec3_gate_wait_params)`, as the caller's header declares it.
    pub struct_size: usize,
    /// Overall deadline, from the call: 1 to `EC3_GATE_MAX_TIMEOUT_MS`; 0
    /// means `EC3_GATE_DEFAULT_WAIT_TIMEOUT_MS`.
    pub timeout_ms: u64,
    /// Time between polls: `EC3_GATE_MIN_INTERVAL_MS` to
    /// `EC3_GATE_MAX_INTERVAL_MS`; 0 means `EC3_GATE_DEFAULT_INTERVAL_MS`.
    pub interval_ms: u64,
    /// NULL, or called on the waiting thread at each status change and
    /// before each retry.
    pub progress: ec3_gate_progress_callback,
    /// Passed to `progress` untouched.
    pub user_data: *mut c_void,
    /// NULL, or a flag that ends the call with `EC3_GATE_RESULT_CANCELLED`
    /// when triggered.
    pub cancel: *const ec3_gate_cancel,
}

/// The largest `struct_size` read: one page, as Linux's `openat2` refuses
/// larger ones (`E2BIG`), before reading past this version's fields.
pub(crate) const MAX_STRUCT_SIZE: usize = 4096;

/// A size-led argument struct: all-zero (NULL, 0) is every field's default.
pub(crate) trait Params: Copy {
    /// The size of the struct's first version (0.1): the smallest accepted,
    /// pinned to the end of its last 0.1 field so that adding a field keeps
    /// accepting programs built against the 0.1 header (56 bytes for the
    /// create parameters, 48 for the wait parameters, on x86-64).
    const FIRST_SIZE: usize;
    /// The defaults, with `struct_size` set.
    fn defaults() -> Self;
}

impl Params for ec3_gate_create_job_params {
    /// The first version (0.1) ended at `cancel`.
    const FIRST_SIZE: usize =
        std::mem::offset_of!(Self, cancel) + size_of::<*const ec3_gate_cancel>();
    fn defaults() -> Self {
        Self {
            struct_size: size_of::<Self>(),
            configuration_id: std::ptr::null(),
            project_name: std::ptr::null(),
            ec3_token: std::ptr::null(),
            extraction_id: std::ptr::null(),
            timeout_ms: 0,
            cancel: std::ptr::null(),
            extract: 0,
            imodel_id: std::ptr::null(),
            changeset_id: std::ptr::null(),
            allow_partial_extraction: 0,
        }
    }
}

/// A yes/no field of a params struct: 0 or 1, anything else refused (a C
/// caller can store any number; a typo must not read as "yes").
pub(crate) fn flag(value: u32, name: &str) -> Result<bool, Failure> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Failure::invalid(
            name,
            &format!("is {other}; use 1 (yes) or 0 (no)"),
        )),
    }
}

impl Params for ec3_gate_wait_params {
    const FIRST_SIZE: usize =
        std::mem::offset_of!(Self, cancel) + size_of::<*const ec3_gate_cancel>();
    fn defaults() -> Self {
        Self {
            struct_size: size_of::<Self>(),
            timeout_ms: 0,
            interval_ms: 0,
            progress: None,
            user_data: std::ptr::null_mut(),
            cancel: std::ptr::null(),
        }
    }
}

/// [`read`] for a struct the call cannot go without: NULL is refused,
/// naming it.
///
/// # Safety
/// As for [`read`].
pub(crate) unsafe fn read_required<T: Params>(ptr: *const T, name: &str) -> Result<T, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and as the caller promised.
    unsafe { read(ptr, name) }
}

/// The caller's struct as this version knows it: NULL gives the defaults; a
/// smaller (older) struct gets the defaults for the fields it lacks; a larger
/// (newer) one is accepted when the fields past this version's are zero.
///
/// # Safety
/// `ptr` is NULL or points to `struct_size` readable bytes whose first field
/// is that `size_t` (the C declaration of `T`, of this or another version).
pub(crate) unsafe fn read<T: Params>(ptr: *const T, name: &str) -> Result<T, Failure> {
    let mut value = T::defaults();
    if ptr.is_null() {
        return Ok(value);
    }
    // SAFETY: every version of the struct starts with its `size_t` size.
    let size = unsafe { ptr.cast::<usize>().read_unaligned() };
    if size < T::FIRST_SIZE {
        return Err(Failure::invalid(
            name,
            &format!(
                "struct_size is {size}, smaller than any version of the struct ({})",
                T::FIRST_SIZE
            ),
        ));
    }
    if size > MAX_STRUCT_SIZE {
        return Err(Failure::invalid(
            name,
            &format!("struct_size is {size}, larger than any struct ({MAX_STRUCT_SIZE} at most)"),
        ));
    }
    let known = size_of::<T>();
    if size > known {
        // SAFETY: the caller's struct has `size` readable bytes.
        let newer =
            unsafe { std::slice::from_raw_parts(ptr.cast::<u8>().add(known), size - known) };
        if newer.iter().any(|&b| b != 0) {
            return Err(Failure::invalid(
                name,
                &format!(
                    "sets fields this library version ({}) does not know \
                     (struct_size {size}, known {known}): a newer header?",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
    }
    // SAFETY: both sides have at least `min(size, known)` bytes, the source
    // is a C struct of the same layout for those bytes, and every field is
    // valid for any bit pattern C can store in it (integers, nullable
    // pointers, a nullable function pointer).
    unsafe {
        std::ptr::copy_nonoverlapping(
            ptr.cast::<u8>(),
            (&raw mut value).cast::<u8>(),
            size.min(known),
        );
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 0.1 sizes stay the smallest accepted, whatever fields come later.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_first_sizes_are_pinned() {
        assert_eq!(ec3_gate_create_job_params::FIRST_SIZE, 56);
        assert_eq!(ec3_gate_wait_params::FIRST_SIZE, 48);
    }

    #[test]
    fn a_size_above_one_page_is_refused_before_reading() {
        let mut p = ec3_gate_wait_params::defaults();
        p.struct_size = MAX_STRUCT_SIZE + 1;
        // SAFETY: refused after reading the size alone.
        let err = unsafe { read(&p, "params") }.unwrap_err();
        assert!(err.message.contains("larger than any struct"), "{err:?}");
    }

    #[test]
    fn sizes_older_newer_and_null() {
        let null: *const ec3_gate_wait_params = std::ptr::null();
        // SAFETY: NULL is allowed.
        let p = unsafe { read(null, "params") }.unwrap();
        assert_eq!((p.timeout_ms, p.interval_ms), (0, 0));

        let mut p = ec3_gate_wait_params::defaults();
        p.timeout_ms = 7;
        // SAFETY: a live struct of this version.
        assert_eq!(unsafe { read(&p, "params") }.unwrap().timeout_ms, 7);

        p.struct_size = 8;
        // SAFETY: as above (reads only the size).
        let err = unsafe { read(&p, "params") }.unwrap_err();
        assert!(err.message.contains("smaller"), "{err:?}");

        // A newer caller's struct: this one plus one more field.
        #[repr(C)]
        struct Newer {
            known: ec3_gate_wait_params,
            added: u64,
        }
        let mut newer = Newer {
            known: ec3_gate_wait_params::defaults(),
            added: 0,
        };
        newer.known.struct_size = size_of::<Newer>();
        newer.known.interval_ms = 50;
        let ptr = (&raw const newer).cast::<ec3_gate_wait_params>();
        // SAFETY: `struct_size` bytes are readable.
        assert_eq!(unsafe { read(ptr, "params") }.unwrap().interval_ms, 50);
        newer.added = 1;
        let ptr = (&raw const newer).cast::<ec3_gate_wait_params>();
        // SAFETY: as above.
        let err = unsafe { read(ptr, "params") }.unwrap_err();
        assert!(err.message.contains("does not know"), "{err:?}");
    }

    #[test]
    fn create_params_of_the_first_version_read_without_the_extraction_fields() {
        // A caller's struct of the first version: up to `cancel`, followed
        // by bytes that are not its own (here: all ones).
        let mut bytes = [0xFF_u8; size_of::<ec3_gate_create_job_params>()];
        let mut first = ec3_gate_create_job_params::defaults();
        first.struct_size = ec3_gate_create_job_params::FIRST_SIZE;
        first.timeout_ms = 9;
        // SAFETY: both are as large as the struct; the source is a live one.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&raw const first).cast::<u8>(),
                bytes.as_mut_ptr(),
                ec3_gate_create_job_params::FIRST_SIZE,
            );
        }
        let ptr = bytes.as_ptr().cast::<ec3_gate_create_job_params>();
        // SAFETY: `struct_size` (the first version's) bytes are readable.
        let p = unsafe { read(ptr, "params") }.unwrap();
        assert_eq!(p.timeout_ms, 9);
        assert_eq!((p.extract, p.allow_partial_extraction), (0, 0));
        assert!(p.imodel_id.is_null() && p.changeset_id.is_null());
        assert_eq!(
            ec3_gate_create_job_params::FIRST_SIZE,
            std::mem::offset_of!(ec3_gate_create_job_params, cancel) + size_of::<usize>()
        );
    }

    #[test]
    fn flags_are_zero_or_one() {
        assert!(!flag(0, "extract").unwrap());
        assert!(flag(1, "extract").unwrap());
        let err = flag(2, "extract").unwrap_err();
        assert_eq!(err.message, "extract: is 2; use 1 (yes) or 0 (no)");
    }
}
