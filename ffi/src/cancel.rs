//! `ec3_gate_cancel`: stopping a query or wait from another thread.

use ec3::Cancel;

use crate::ffi::{Castable, free_box, to_boxed_mut_ptr, try_from, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ec3_gate_result;

/// A one-shot cancellation flag, shared between the threads that run calls
/// and the threads that may stop them.
///
/// Made by `ec3_gate_cancel_new`, freed by `ec3_gate_cancel_free`, passed to
/// `ec3_gate_client_create_job_with`, `ec3_gate_client_job_status` and
/// `ec3_gate_client_wait_with` (and the deprecated flat calls). Triggering
/// it (from any thread) ends every call that was given it within
/// milliseconds with `EC3_GATE_RESULT_CANCELLED`: a call that sleeps
/// wakes, and a request in flight is interrupted, also one waiting on a
/// server that does not answer. For a job creation interrupted in flight,
/// the job may or may not have been created. Once triggered it stays
/// triggered: every later call given it returns `EC3_GATE_RESULT_CANCELLED`
/// at once, so use a fresh one per operation you may want to stop.
///
/// The client stays usable after a cancel, and the flag reaches only the
/// calls given it: other calls on the same client, in flight or later, and
/// its idle kept-alive connections are untouched.
///
/// All functions on it are thread-safe, but not async-signal-safe (they take a
/// lock): from a signal handler, wake a thread that calls
/// `ec3_gate_cancel_trigger`.
pub struct ec3_gate_cancel {
    _private: [u8; 0],
}

impl Castable for ec3_gate_cancel {
    type RustType = Cancel;
}

/// Makes a cancellation flag that is not triggered. The caller owns it and
/// frees it with `ec3_gate_cancel_free`. Never NULL (except after an internal
/// panic).
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_cancel_new() -> *mut ec3_gate_cancel {
    ffi_panic_boundary! { to_boxed_mut_ptr(Cancel::new()) }
}

/// Triggers the flag: calls using it end with `EC3_GATE_RESULT_CANCELLED`.
/// Triggering again does nothing.
///
/// Returns `EC3_GATE_RESULT_OK`, or `EC3_GATE_RESULT_NULL_ARGUMENT` when
/// `cancel` is NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_cancel_trigger(cancel: *const ec3_gate_cancel) -> ec3_gate_result {
    ffi_panic_boundary! {
        let cancel: &Cancel = try_ref_from_ptr!(cancel);
        cancel.cancel();
        ec3_gate_result::Ok
    }
}

/// True once the flag was triggered; false when it was not, or `cancel` is
/// NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_cancel_is_triggered(cancel: *const ec3_gate_cancel) -> bool {
    ffi_panic_boundary! {
        // SAFETY: `cancel` is NULL or live (documented on ec3_gate_cancel).
        unsafe { try_from(cancel) }.is_some_and(Cancel::is_cancelled)
    }
}

/// Frees a flag made by `ec3_gate_cancel_new`. NULL does nothing. Free it only
/// after every call that uses it has returned and no thread will trigger it
/// any more; never free it twice.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_cancel_free(cancel: *mut ec3_gate_cancel) {
    ffi_panic_boundary! {
        // SAFETY: `cancel` is NULL or was made by this library, not yet freed.
        unsafe { free_box(cancel) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_is_one_shot_and_null_safe() {
        let cancel = ec3_gate_cancel_new();
        assert!(!ec3_gate_cancel_is_triggered(cancel));
        assert_eq!(ec3_gate_cancel_trigger(cancel), ec3_gate_result::Ok);
        assert_eq!(ec3_gate_cancel_trigger(cancel), ec3_gate_result::Ok);
        assert!(ec3_gate_cancel_is_triggered(cancel));
        ec3_gate_cancel_free(cancel);
        assert_eq!(
            ec3_gate_cancel_trigger(std::ptr::null()),
            ec3_gate_result::NullArgument
        );
        assert!(!ec3_gate_cancel_is_triggered(std::ptr::null()));
        ec3_gate_cancel_free(std::ptr::null_mut());
    }
}
