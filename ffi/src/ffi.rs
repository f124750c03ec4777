//! The one place where C pointers become Rust references and back: handle
//! casts, argument checks, out-params, C strings, and last-error storage.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::sync::{Arc, Weak};

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

/// The last error of one object (a client or client options): an identity
/// that each thread's error store is keyed by.
///
/// The errors themselves live in the calling thread's store ([`ERRORS`]), so
/// they are freed when the thread ends, not when the object is: a program
/// that churns through threads keeps no memory for the threads gone. A
/// thread's entry for an object is replaced by each of its calls on the
/// object (removed on success), so a pointer from [`LastError::get`] stays
/// valid until that same thread's next call on the object, or until the
/// object is freed.
#[derive(Debug, Default)]
pub(crate) struct LastError(Arc<()>);

/// One thread's last failure on one object, with C strings made once.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) code: ec3_gate_result,
    pub(crate) message: CString,
    pub(crate) http_status: u16,
    pub(crate) service_code: Option<CString>,
    pub(crate) target: Option<CString>,
}

thread_local! {
    /// This thread's failures, one per object whose last call from this
    /// thread failed; entries of freed objects are dropped at the thread's
    /// next call or when it ends.
    static ERRORS: RefCell<Vec<(Weak<()>, Record)>> = const { RefCell::new(Vec::new()) };
}

impl LastError {
    /// Records the outcome of a call made by the current thread and returns
    /// its code: `OK`, or the failure's code (its details kept).
    pub(crate) fn record(&self, result: Result<(), Failure>) -> ec3_gate_result {
        let code = match &result {
            Ok(()) => ec3_gate_result::Ok,
            Err(failure) => failure.code,
        };
        // During thread teardown the store may be gone: the code still goes back.
        let _ = ERRORS.try_with(|errors| {
            let mut errors = errors.borrow_mut();
            errors.retain(|(owner, _)| owner.strong_count() > 0 && !self.owns(owner));
            if let Err(failure) = result {
                let record = Record {
                    code: failure.code,
                    message: c_string(&failure.message),
                    http_status: failure.http_status,
                    service_code: failure.service_code.as_deref().map(c_string),
                    target: failure.target.as_deref().map(c_string),
                };
                errors.push((Arc::downgrade(&self.0), record));
            }
        });
        code
    }

    fn owns(&self, owner: &Weak<()>) -> bool {
        std::ptr::eq(owner.as_ptr(), Arc::as_ptr(&self.0))
    }

    /// Reads the current thread's last failure on this object (`None` when
    /// its last call succeeded). Pointers into the record stay valid as
    /// [`LastError`] says: the C strings' buffers never move.
    pub(crate) fn with<R>(&self, read: impl Fn(Option<&Record>) -> R) -> R {
        match ERRORS.try_with(|errors| {
            let errors = errors.borrow();
            read(errors.iter().find(|(o, _)| self.owns(o)).map(|(_, r)| r))
        }) {
            Ok(value) => value,
            Err(_) => read(None),
        }
    }

    /// The current thread's message, or `""` when its last call succeeded.
    pub(crate) fn get(&self) -> *const c_char {
        self.with(|r| r.map_or(c"".as_ptr(), |r| r.message.as_ptr()))
    }
}

impl Drop for LastError {
    /// The freeing thread forgets the object's entry now; other threads do
    /// at their next call or when they end.
    fn drop(&mut self) {
        let _ = ERRORS.try_with(|errors| {
            if let Ok(mut errors) = errors.try_borrow_mut() {
                errors.retain(|(owner, _)| !self.owns(owner));
            }
        });
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
        std::thread::spawn(move || {
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

    #[test]
    fn entries_of_freed_objects_go() {
        let count = || ERRORS.with(|e| e.borrow().len());
        let before = count();
        let kept = LastError::default();
        kept.record(Err(Failure::null("a")));
        for _ in 0..100 {
            let gone = LastError::default();
            gone.record(Err(Failure::null("b")));
        }
        let other = LastError::default();
        other.record(Err(Failure::null("c")));
        assert_eq!(count(), before + 2);
        drop(other);
        drop(kept);
        assert_eq!(count(), before);
    }
}
