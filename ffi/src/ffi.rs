//! The one place where C pointers become Rust references and back: handle
//! casts, argument checks, out-params, C strings, and last-error storage.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, ThreadId};

use crate::result::{Failure, ec3_gate_result};

/// Ties an opaque C handle type (such as `ec3_gate_client`) to the Rust value
/// behind it. Every handle is a `Box<RustType>` made by its `_new` function
/// and released once by its `_free` function, so all handle casts go through
/// the functions below and nowhere else.
pub(crate) trait Castable {
    /// The Rust value a pointer to this handle type points to.
    type RustType;
}

/// Moves `value` to the heap and hands it to C as a `*mut C`.
pub(crate) fn to_boxed_mut_ptr<C: Castable>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// A handle borrowed by C for the duration of a callback, as a `*const C`.
pub(crate) fn to_const_ptr<C: Castable>(value: &C::RustType) -> *const C {
    (value as *const C::RustType).cast()
}

/// The value behind a handle, or `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or was made by [`to_boxed_mut_ptr`] or [`to_const_ptr`] for
/// this `C` and is still alive, and nothing mutates it during `'a`.
pub(crate) unsafe fn try_from<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: the caller guarantees a live value of `C::RustType` or NULL.
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// The value behind a handle, mutably, or `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or was made by [`to_boxed_mut_ptr`] for this `C`, is still
/// alive, and no other reference to it exists during `'a`.
pub(crate) unsafe fn try_from_mut<'a, C: Castable>(ptr: *mut C) -> Option<&'a mut C::RustType> {
    // SAFETY: the caller guarantees a live, unaliased value or NULL.
    unsafe { ptr.cast::<C::RustType>().as_mut() }
}

/// Drops the value behind a handle; NULL does nothing.
///
/// # Safety
/// `ptr` is NULL or was made by [`to_boxed_mut_ptr`] for this `C` and was not
/// freed before; no reference to it outlives this call.
pub(crate) unsafe fn free_box<C: Castable>(ptr: *mut C) {
    if !ptr.is_null() {
        // SAFETY: made by `Box::into_raw` of a `Box<C::RustType>`, freed once.
        drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
    }
}

/// Returns `NULL_ARGUMENT` from the enclosing exported function when the
/// handle is NULL; otherwise the value behind it.
macro_rules! try_ref_from_ptr {
    ($ptr:expr) => {
        // SAFETY: every exported function documents that a non-NULL handle
        // must be live and made by this library.
        match unsafe { $crate::ffi::try_from($ptr) } {
            Some(value) => value,
            None => return $crate::result::ec3_gate_result::NullArgument,
        }
    };
}
pub(crate) use try_ref_from_ptr;

/// [`try_ref_from_ptr`] for a handle the function mutates.
macro_rules! try_mut_from_ptr {
    ($ptr:expr) => {
        // SAFETY: as for `try_ref_from_ptr`, and the caller does not use the
        // handle from another thread during the call (documented).
        match unsafe { $crate::ffi::try_from_mut($ptr) } {
            Some(value) => value,
            None => return $crate::result::ec3_gate_result::NullArgument,
        }
    };
}
pub(crate) use try_mut_from_ptr;

/// A required C string argument as `&str`.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays unchanged
/// during `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, per the caller.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|_| Failure::utf8(name))
}

/// An optional C string argument as `&str`: NULL gives `None`.
///
/// # Safety
/// As for [`arg_str`].
pub(crate) unsafe fn optional_arg_str<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: per this function's contract.
    unsafe { arg_str(ptr, name) }.map(Some)
}

/// A required out-param, checked before any work is done; written only on
/// success, with [`Out::write`].
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(ptr: *mut T, name: &str) -> Result<Self, Failure> {
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
        Ok(Self(ptr))
    }

    /// Stores the result. The previous value is not read or dropped: it is
    /// whatever the C caller left there.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] is valid for a write of `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`) and writable, per the caller.
        unsafe { self.0.write(value) }
    }
}

/// `text` as a C string. A NUL inside (possible in server text) becomes
/// U+FFFD, so the string C sees is never cut short silently.
pub(crate) fn c_string(text: &str) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.to_owned()
    };
    CString::new(text).unwrap_or_default()
}

/// The detailed message of each thread's most recent failed call on one
/// object (a client or client options).
///
/// A thread's entry is replaced by each call it makes on the object (removed
/// on success), so a pointer from [`LastError::get`] stays valid until that
/// same thread's next call on the object, or until the object is freed. The
/// map holds one entry per thread whose last call failed.
#[derive(Debug, Default)]
pub(crate) struct LastError(Mutex<HashMap<ThreadId, CString>>);

impl LastError {
    /// Records the outcome of a call made by the current thread and returns
    /// its code: `OK`, or the failure's code (its message kept).
    pub(crate) fn record(&self, result: Result<(), Failure>) -> ec3_gate_result {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let id = thread::current().id();
        match result {
            Ok(()) => {
                map.remove(&id);
                ec3_gate_result::Ok
            }
            Err(failure) => {
                map.insert(id, c_string(&failure.message));
                failure.code
            }
        }
    }

    /// The current thread's message, or `""` when its last call succeeded.
    pub(crate) fn get(&self) -> *const c_char {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&thread::current().id()) {
            // The CString's heap buffer does not move when the map rehashes,
            // and only this thread replaces or removes its own entry.
            Some(message) => message.as_ptr(),
            None => c"".as_ptr(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_keeps_text_after_a_nul() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\u{FFFD}b");
        assert_eq!(c_string("plain").to_str().unwrap(), "plain");
    }

    #[test]
    fn last_error_is_per_thread() {
        let errors = std::sync::Arc::new(LastError::default());
        let code = errors.record(Err(Failure::null("job_id")));
        assert_eq!(code, ec3_gate_result::NullArgument);
        let other = std::sync::Arc::clone(&errors);
        thread::spawn(move || {
            // SAFETY: `get` returns a live NUL-terminated string.
            assert_eq!(unsafe { CStr::from_ptr(other.get()) }, c"");
            other.record(Err(Failure::utf8("x")));
        })
        .join()
        .unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(errors.get()) }, c"job_id is NULL");
        assert_eq!(errors.record(Ok(())), ec3_gate_result::Ok);
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(errors.get()) }, c"");
    }
}
