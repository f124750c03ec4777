//! The panic boundary: a panic in Rust never unwinds into C and never aborts
//! the host program; it becomes a return value.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{null, null_mut};

use crate::job::ec3_gate_status;
use crate::result::ec3_gate_result;

/// What an exported function returns when its body panicked: the `PANIC`
/// code for functions returning a result, otherwise a value the function's
/// documentation already allows (NULL, `false`, `UNKNOWN`, nothing).
pub(crate) trait PanicValue {
    fn panic_value() -> Self;
}

impl PanicValue for ec3_gate_result {
    fn panic_value() -> Self {
        ec3_gate_result::Panic
    }
}

impl PanicValue for ec3_gate_status {
    fn panic_value() -> Self {
        ec3_gate_status::Unknown
    }
}

impl PanicValue for bool {
    fn panic_value() -> Self {
        false
    }
}

impl PanicValue for u16 {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for () {
    fn panic_value() -> Self {}
}

impl<T> PanicValue for *const T {
    fn panic_value() -> Self {
        null()
    }
}

impl<T> PanicValue for *mut T {
    fn panic_value() -> Self {
        null_mut()
    }
}

/// Runs the body of an exported function, turning a panic into
/// [`PanicValue::panic_value`].
///
/// `AssertUnwindSafe` is sound here because nothing observes a broken
/// invariant after a panic: the call's own state is dropped, and the shared
/// state of a handle sits behind a `Mutex` whose value is only ever replaced
/// whole, so it is read with `PoisonError::into_inner` and is always valid.
pub(crate) fn boundary<R: PanicValue>(body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| R::panic_value())
}

/// Wraps the body of every exported function: `ffi_panic_boundary! { … }`.
/// Inside, `return` leaves the exported function with that value.
macro_rules! ffi_panic_boundary {
    ($($body:tt)*) => {
        $crate::panic::boundary(move || { $($body)* })
    };
}
pub(crate) use ffi_panic_boundary;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_value() {
        // Keep the test output quiet: the default hook would print the panic.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let code: ec3_gate_result = ffi_panic_boundary! { panic!("boom") };
        let ptr: *const u8 = ffi_panic_boundary! { panic!("boom") };
        let flag: bool = ffi_panic_boundary! { panic!("boom") };
        let status: ec3_gate_status = ffi_panic_boundary! { panic!("boom") };
        std::panic::set_hook(hook);
        assert_eq!(code, ec3_gate_result::Panic);
        assert!(ptr.is_null());
        assert!(!flag);
        assert_eq!(status, ec3_gate_status::Unknown);
    }

    #[test]
    fn return_leaves_the_body_with_its_value() {
        let code: ec3_gate_result = ffi_panic_boundary! {
            if true {
                return ec3_gate_result::NullArgument;
            }
            ec3_gate_result::Ok
        };
        assert_eq!(code, ec3_gate_result::NullArgument);
    }
}
