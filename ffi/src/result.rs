//! Result codes, their static descriptions, and the failures behind them.

use std::ffi::{CStr, c_char};

use crate::panic::ffi_panic_boundary;

/// The result of every fallible function.
///
/// The numbers are stable: a number, once given a meaning, keeps it, and a
/// code that is ever retired leaves its number unused for good. Codes 0 to 7
/// mean the same as the `ec3-gate` command's exit status for the same outcome,
/// so a tool may pass them on as its own exit status. Codes 8, 9, 10 and 99
/// have no exit status of their own in the command (it exits 130/143 when
/// interrupted, and reports bad arguments as 2). A code the command adds
/// later gets the same number here when the library can have that outcome.
///
/// Treat any value not listed here as an error: later versions may add codes.
/// `ec3_gate_strerror` describes every code, known or not.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ec3_gate_result {
    /// Success. For a wait: the job `Succeeded`.
    Ok = 0,
    /// A wait ended because the job `Failed`. The job was still returned:
    /// its message says why.
    JobFailed = 1,
    /// An argument or option is invalid (malformed job id, URL that is not
    /// `https://` or loopback `http://`, missing credentials, timeout or
    /// interval out of range). Nothing was sent.
    InvalidArgument = 2,
    /// The wait reached its timeout while the job was still `Queued` or
    /// `Running`.
    TimedOut = 3,
    /// The service or the token endpoint refused the credentials (HTTP 401 or
    /// 403, or a refused client).
    Auth = 4,
    /// The job does not exist (HTTP 404).
    NotFound = 5,
    /// A service or network error that retries within the timeout did not
    /// cure (5xx, 429, connection failures, unreadable or oversized answers).
    Service = 6,
    /// The service rejected the request as invalid (HTTP 400 or 422), such
    /// as a job creation with a configuration it cannot use. The last error
    /// holds the service's error code and message.
    Rejected = 7,
    /// The call was cancelled through its `ec3_gate_cancel`.
    Cancelled = 8,
    /// A required pointer argument was NULL. Nothing was done.
    NullArgument = 9,
    /// A string argument was not valid UTF-8. Nothing was done.
    InvalidUtf8 = 10,
    /// A bug in the library: a Rust panic was caught at the boundary. The
    /// objects involved remain safe to free.
    Panic = 99,
}

impl ec3_gate_result {
    /// Every code, for tests and for `ec3_gate_strerror`.
    pub(crate) const ALL: [Self; 12] = [
        Self::Ok,
        Self::JobFailed,
        Self::InvalidArgument,
        Self::TimedOut,
        Self::Auth,
        Self::NotFound,
        Self::Service,
        Self::Rejected,
        Self::Cancelled,
        Self::NullArgument,
        Self::InvalidUtf8,
        Self::Panic,
    ];

    /// The code for a number a C caller passed, if it is one.
    pub(crate) fn from_u32(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u32 == code)
    }

    /// The static description.
    pub(crate) fn description(self) -> &'static CStr {
        match self {
            Self::Ok => c"success",
            Self::JobFailed => c"the job failed",
            Self::InvalidArgument => c"invalid argument",
            Self::TimedOut => c"timed out waiting for the job",
            Self::Auth => c"authentication or authorization refused",
            Self::NotFound => c"job not found",
            Self::Service => c"service or network error",
            Self::Rejected => c"the service rejected the request as invalid",
            Self::Cancelled => c"cancelled",
            Self::NullArgument => c"a required argument is NULL",
            Self::InvalidUtf8 => c"a string argument is not valid UTF-8",
            Self::Panic => c"internal error (panic in libec3_gate)",
        }
    }
}

impl From<&ec3::Error> for ec3_gate_result {
    /// The core's classification carries the number (`ec3::ErrorKind`); a
    /// kind this version does not know is a service error, the command's 6.
    fn from(error: &ec3::Error) -> Self {
        Self::from_u32(u32::from(error.kind().code())).unwrap_or(Self::Service)
    }
}

/// A failed call: its code, the detailed message, and what the service
/// answered (if it did), kept as the last error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: ec3_gate_result,
    pub(crate) message: String,
    /// The HTTP status of the service's answer; 0 when there was none.
    pub(crate) http_status: u16,
    /// The service's error code and target, from its error body.
    pub(crate) service_code: Option<String>,
    pub(crate) target: Option<String>,
}

impl Failure {
    pub(crate) fn new(code: ec3_gate_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            http_status: 0,
            service_code: None,
            target: None,
        }
    }

    /// A NULL pointer where `name` was required.
    pub(crate) fn null(name: &str) -> Self {
        Self::new(ec3_gate_result::NullArgument, format!("{name} is NULL"))
    }

    /// A string argument `name` that is not UTF-8.
    pub(crate) fn utf8(name: &str) -> Self {
        Self::new(
            ec3_gate_result::InvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    }

    /// An argument `name` that is out of range or malformed.
    pub(crate) fn invalid(name: &str, reason: &str) -> Self {
        Self::new(
            ec3_gate_result::InvalidArgument,
            format!("{name}: {reason}"),
        )
    }
}

impl From<ec3::Error> for Failure {
    fn from(error: ec3::Error) -> Self {
        // The core's `Display` and the service's words never hold a token or
        // secret: the core cut them out of the answers they come from.
        let detail = error.service_error();
        Self {
            http_status: error.http_status().unwrap_or(0),
            service_code: detail.and_then(|d| d.code.clone()),
            target: detail.and_then(|d| d.target.clone()),
            ..Self::new((&error).into(), error.to_string())
        }
    }
}

/// A static, human-readable description of a result code, such as
/// `"job not found"`.
///
/// Any number is accepted: a code this version does not know gives
/// `"unknown result code"`. The string is static: never free it. Never NULL.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_strerror(code: u32) -> *const c_char {
    ffi_panic_boundary! {
        ec3_gate_result::from_u32(code)
            .map_or(c"unknown result code", ec3_gate_result::description)
            .as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stable() {
        let numbers: Vec<u32> = ec3_gate_result::ALL.iter().map(|c| *c as u32).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99]);
        // Spelled out by name: renaming or renumbering one is a break.
        let named = [
            (ec3_gate_result::Ok, 0),
            (ec3_gate_result::JobFailed, 1),
            (ec3_gate_result::InvalidArgument, 2),
            (ec3_gate_result::TimedOut, 3),
            (ec3_gate_result::Auth, 4),
            (ec3_gate_result::NotFound, 5),
            (ec3_gate_result::Service, 6),
            (ec3_gate_result::Rejected, 7),
            (ec3_gate_result::Cancelled, 8),
            (ec3_gate_result::NullArgument, 9),
            (ec3_gate_result::InvalidUtf8, 10),
            (ec3_gate_result::Panic, 99),
        ];
        for (code, number) in named {
            assert_eq!(code as u32, number, "{code:?}");
            assert_eq!(ec3_gate_result::from_u32(number), Some(code));
        }
        assert_eq!(ec3_gate_result::from_u32(11), None);
    }

    #[test]
    fn strerror_knows_every_code_and_survives_others() {
        // SAFETY: ec3_gate_strerror returns a static NUL-terminated string.
        let text = |code| unsafe { CStr::from_ptr(ec3_gate_strerror(code)) }.to_str();
        for code in ec3_gate_result::ALL {
            assert_ne!(text(code as u32).unwrap(), "unknown result code");
        }
        for code in [11, 98, 100, 130, u32::MAX] {
            assert_eq!(text(code).unwrap(), "unknown result code");
        }
    }
}
