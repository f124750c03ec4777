//! Strings the library hands to C for keeps, and `ec3_gate_string_free`.

use std::ffi::{CString, c_char};

use crate::ffi::c_string;
use crate::panic::ffi_panic_boundary;

/// `text` as a NUL-terminated string the C caller owns, released by
/// `ec3_gate_string_free`.
pub(crate) fn to_owned_c_string(text: &str) -> *mut c_char {
    c_string(text).into_raw()
}

/// Frees a string that a function of this library gave to the caller to own
/// (its documentation says "frees it with `ec3_gate_string_free`"), such as
/// the job id from `ec3_gate_client_create_job`. NULL does nothing.
///
/// Never pass a string owned by an object (`ec3_gate_job_*`,
/// `*_last_error`), a static one (`ec3_gate_strerror`, `ec3_gate_version`),
/// or memory from elsewhere; never free one twice; do not write into the
/// string before freeing it. Thread-safe: any thread may free it.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_string_free(string: *mut c_char) {
    ffi_panic_boundary! {
        if !string.is_null() {
            // SAFETY: made by `to_owned_c_string` (`CString::into_raw`) and
            // not freed yet, with its length unchanged (documented).
            drop(unsafe { CString::from_raw(string) });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    fn owned_strings_round_trip_and_null_is_a_no_op() {
        let s = to_owned_c_string("ok-123");
        // SAFETY: live and NUL-terminated until freed below.
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"ok-123");
        ec3_gate_string_free(s);
        ec3_gate_string_free(std::ptr::null_mut());
    }
}
