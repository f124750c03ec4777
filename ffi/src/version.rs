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

/// The package version as one number: MAJOR * 1000000 + MINOR * 1000 + PATCH.
const VERSION_NUMBER: u32 = {
    /// A decimal version part, at compile time.
    const fn part(text: &str) -> u32 {
        let bytes = text.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i].is_ascii_digit(), "a version part is decimal");
            n = n * 10 + (bytes[i] - b'0') as u32;
            i += 1;
        }
        n
    }
    let (major, minor, patch) = (
        part(env!("CARGO_PKG_VERSION_MAJOR")),
        part(env!("CARGO_PKG_VERSION_MINOR")),
        part(env!("CARGO_PKG_VERSION_PATCH")),
    );
    assert!(
        minor < 1000 && patch < 1000,
        "each part fits its three digits"
    );
    major * 1_000_000 + minor * 1_000 + patch
};

/// The library's version as one number, MAJOR * 1000000 + MINOR * 1000 +
/// PATCH (1002003 for 1.2.3): the run-time counterpart of the header's
/// `EC3_GATE_VERSION_NUMBER`. A program can refuse a library older than the
/// header it was built with:
/// `ec3_gate_version_number() >= EC3_GATE_VERSION_NUMBER`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_version_number() -> u32 {
    VERSION_NUMBER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_package_version() {
        // SAFETY: ec3_gate_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(ec3_gate_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        let parts: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split(['.', '-'])
            .take(3)
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            ec3_gate_version_number(),
            parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]
        );
    }
}
