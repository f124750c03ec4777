//! The library's version, for run-time checks against the header's macros.

use std::ffi::{CStr, c_char};

use crate::panic::ffi_panic_boundary;

/// `CARGO_PKG_VERSION`, NUL-terminated, checked at compile time.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version holds a NUL"),
    };

/// The library's version, such as `"0.1.0"`: the one the program runs with,
/// which may differ from the `EC3_GATE_VERSION_*` macros of the header it was
/// compiled with.
///
/// The string is static: never free it. Never NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_version() -> *const c_char {
    ffi_panic_boundary! { VERSION.as_ptr() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_package_version() {
        // SAFETY: ec3_gate_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(ec3_gate_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
