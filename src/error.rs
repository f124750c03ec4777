//! The one error type of the core.

use std::fmt;

use crate::net_error::NetError;
use crate::{ExtractionId, ExtractionState, text};

/// What the service said about a failed request, when its body had the
/// documented `{"error": {"code", "message"}}` shape. Both parts are untrusted
/// text: capped, and printed escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The error code, such as `JobNotFound`.
    pub code: Option<String>,
    /// The human-readable message.
    pub message: Option<String>,
    /// What the error is about, when the service says (`jobId`).
    pub target: Option<String>,
}

impl ServiceError {
    /// Reads the documented error shape out of a response body (and OAuth's
    /// `{"error": "invalid_client", "error_description": …}` from the token
    /// endpoint); anything else (HTML from a gateway, nothing at all) gives
    /// an empty `ServiceError`.
    pub(crate) fn from_body(body: &[u8]) -> Self {
        use serde_json::Value;
        let text_of =
            |v: Option<&Value>| v.and_then(Value::as_str).map(|s| text::normalize(s, 1024));
        let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        match root.get("error") {
            Some(Value::Object(e)) => Self {
                code: text_of(e.get("code")),
                message: text_of(e.get("message")),
                target: text_of(e.get("target")),
            },
            Some(code @ Value::String(_)) => Self {
                code: text_of(Some(code)),
                message: text_of(root.get("error_description")),
                target: None,
            },
            _ => Self::default(),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => {
                write!(f, "{}: {}", text::one_line(c, 100), text::one_line(m, 300))
            }
            (Some(c), None) => f.write_str(&text::one_line(c, 100)),
            (None, Some(m)) => f.write_str(&text::one_line(m, 300)),
            (None, None) => Ok(()),
        }
    }
}

/// Everything that can go wrong in ec3-gate's core.
///
/// The variants follow the CLI's exit-code contract, so a caller can map an
/// error to an outcome without reading its text. `Display` never includes a
/// token or secret, and server text in it is escaped onto one line.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// A job id that is not 1-128 ASCII letters, digits, `-`, `_` or `.`
    /// (and not only dots).
    InvalidJobId(String),
    /// A setting that cannot be used (a malformed URL, a bad duration, …).
    InvalidConfig {
        /// The setting, as the user names it (`ITWIN_API_URL`, `--timeout`).
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// Neither an access token nor client credentials were given.
    NoCredentials,
    /// The service or the token endpoint refused the credentials (401/403,
    /// or the token endpoint refused the client).
    AuthRefused {
        /// HTTP status of the refusal.
        status: u16,
        /// What the service said.
        detail: ServiceError,
    },
    /// The job does not exist (404).
    JobNotFound(ServiceError),
    /// The service rejected the request as invalid (400/422).
    Rejected {
        /// HTTP status of the rejection.
        status: u16,
        /// What the service said.
        detail: ServiceError,
    },
    /// The service answered with an error status that retries did not cure
    /// (5xx, 429 past the deadline) or that is final (other 4xx).
    Service {
        /// HTTP status of the last answer.
        status: u16,
        /// What the service said.
        detail: ServiceError,
    },
    /// A network failure that retries did not cure, or that no retry can
    /// (see [`NetError::persistence`]): names the endpoint, phase and cause.
    Network(Box<NetError>),
    /// The service answered 2xx with a body that is not the documented shape,
    /// is not JSON, or is larger than the 1 MiB cap.
    InvalidResponse(String),
    /// `wait` reached its deadline while the job was still unfinished.
    TimedOut,
    /// The operation was cancelled (a signal, or a C caller's cancel).
    Cancelled,
    /// The extraction a job needed finished without success (`Failed`, or
    /// `PartiallySucceeded` when that is not allowed): no job was created.
    /// The message is built from the logs' `Error` entries (capped; server
    /// text, escaped when displayed).
    ExtractionFailed(Box<ExtractionFailure>),
    /// The extraction does not exist (404).
    ExtractionNotFound(ServiceError),
    /// A bug in ec3-gate (a panic caught at a boundary).
    Internal(String),
}

impl Error {
    /// An [`Error::InvalidConfig`] for the setting `what`.
    pub fn config(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// This error with the setting `from` renamed `to`, when it is an
    /// [`Error::InvalidConfig`] for `from`: the core names its settings
    /// (`timeout`, `interval`), a caller names them as its user knows them
    /// (`--timeout`, `EC3_INTERVAL`, `timeout_ms`).
    pub fn rename_setting(self, from: &str, to: &str) -> Self {
        match self {
            Self::InvalidConfig { what, reason } if what == from => Self::InvalidConfig {
                what: to.to_owned(),
                reason,
            },
            other => other,
        }
    }

    /// What kind of outcome this is, and so which exit status (CLI) or
    /// result code (C library) it gets.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidJobId(_) | Self::InvalidConfig { .. } | Self::NoCredentials => {
                ErrorKind::Usage
            }
            Self::TimedOut => ErrorKind::TimedOut,
            Self::AuthRefused { .. } => ErrorKind::Auth,
            Self::JobNotFound(_) => ErrorKind::NotFound,
            Self::Rejected { .. } => ErrorKind::Rejected,
            Self::Cancelled => ErrorKind::Cancelled,
            Self::ExtractionFailed(_) => ErrorKind::Failed,
            Self::ExtractionNotFound(_) => ErrorKind::NotFound,
            Self::Service { .. }
            | Self::Network(_)
            | Self::InvalidResponse(_)
            | Self::Internal(_) => ErrorKind::Service,
        }
    }

    /// True for errors found before anything was sent: usage and configuration.
    pub fn is_usage(&self) -> bool {
        self.kind() == ErrorKind::Usage
    }

    /// The HTTP status of the answer behind the error, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::AuthRefused { status, .. }
            | Self::Rejected { status, .. }
            | Self::Service { status, .. } => Some(*status),
            Self::JobNotFound(_) | Self::ExtractionNotFound(_) => Some(404),
            _ => None,
        }
    }

    /// What the service said, when the error is an answer of the service.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::AuthRefused { detail, .. }
            | Self::Rejected { detail, .. }
            | Self::Service { detail, .. }
            | Self::JobNotFound(detail)
            | Self::ExtractionNotFound(detail) => Some(detail),
            _ => None,
        }
    }
}

/// What an [`Error::ExtractionFailed`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractionFailure {
    /// The extraction.
    pub id: ExtractionId,
    /// How it ended (`Failed` or `PartiallySucceeded`).
    pub state: ExtractionState,
    /// The logs' `Error` entries (`context id: message`, one per line),
    /// capped at 2000 characters. Untrusted text.
    pub message: String,
}

impl ExtractionFailure {
    /// The failure of extraction `id`, which ended `state`, with `message`
    /// (capped at 2000 characters here).
    pub fn new(id: ExtractionId, state: ExtractionState, message: impl Into<String>) -> Self {
        Self {
            id,
            state,
            message: text::normalize(&message.into(), crate::extraction::MAX_FAILURE_CHARS),
        }
    }
}

/// The stable classification of an [`Error`]. Each kind carries its number:
/// the `ec3-gate` exit status (1-7) and the C library's result code (all).
/// Numbers are never reused: CI scripts and C programs branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum ErrorKind {
    /// What the gate waited on finished without success: an extraction
    /// that `Failed` (or `PartiallySucceeded`, when not allowed). The
    /// command's exit status 1, as for a `Failed` job; the C library's
    /// `JOB_FAILED`.
    Failed = 1,
    /// Usage or configuration error; nothing was sent.
    Usage = 2,
    /// The job was still unfinished at the deadline.
    TimedOut = 3,
    /// Authentication or authorization refused.
    Auth = 4,
    /// The job does not exist.
    NotFound = 5,
    /// A service or network error that outlasted the retries (and bugs).
    Service = 6,
    /// The service rejected the request as invalid (400/422).
    Rejected = 7,
    /// The call was cancelled. The C library's code 8; the command exits
    /// with 128 + the signal's number instead.
    Cancelled = 8,
}

impl ErrorKind {
    /// The kind's number (see the type's docs).
    pub fn code(self) -> u8 {
        self as u8
    }
}

fn with_detail(
    f: &mut fmt::Formatter<'_>,
    head: &str,
    status: u16,
    d: &ServiceError,
) -> fmt::Result {
    if d.code.is_none() && d.message.is_none() {
        write!(f, "{head} (HTTP {status})")
    } else {
        write!(f, "{head} (HTTP {status} {d})")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJobId(id) => write!(
                f,
                "invalid job id '{}': expected 1-128 characters of ASCII letters, digits, '-', '_' or '.', not only dots",
                text::one_line(id, 140)
            ),
            Self::InvalidConfig { what, reason } => write!(f, "{what}: {reason}"),
            Self::NoCredentials => f.write_str(
                "no credentials: set ITWIN_ACCESS_TOKEN, or ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET",
            ),
            Self::AuthRefused { status, detail } => {
                with_detail(f, "authentication refused", *status, detail)
            }
            Self::JobNotFound(detail) => with_detail(f, "job not found", 404, detail),
            Self::Rejected { status, detail } => {
                with_detail(f, "request rejected as invalid", *status, detail)
            }
            Self::Service { status, detail } => with_detail(f, "service error", *status, detail),
            Self::Network(e) => write!(f, "network error: {e}"),
            Self::InvalidResponse(reason) => write!(f, "unreadable answer from the service: {reason}"),
            Self::TimedOut => f.write_str("timed out waiting for the job"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::ExtractionFailed(failure) => write!(
                f,
                "extraction {} ended {}: {}",
                failure.id,
                failure.state,
                text::one_line(&failure.message, crate::extraction::MAX_FAILURE_CHARS)
            ),
            Self::ExtractionNotFound(detail) => {
                with_detail(f, "extraction not found", 404, detail)
            }
            Self::Internal(what) => write!(f, "internal error (a bug in ec3-gate): {what}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small_and_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        // The largest variant: a status and a ServiceError (three optional
        // strings: code, message, target).
        assert!(std::mem::size_of::<Error>() <= 80);
    }

    /// The whole table: every error, its kind, its number. The exit codes
    /// and the C result codes are read from here.
    #[test]
    fn kinds_and_their_numbers() {
        use crate::{Cause, CertProblem, NetError, Phase, Role};
        let detail = ServiceError::default;
        let net = |phase, cause| {
            Error::Network(Box::new(NetError::new(
                Role::Api,
                "api.example",
                443,
                phase,
                cause,
            )))
        };
        let table = [
            (Error::InvalidJobId("a/b".into()), ErrorKind::Usage, 2),
            (Error::config("API URL", "bad"), ErrorKind::Usage, 2),
            (Error::NoCredentials, ErrorKind::Usage, 2),
            (Error::TimedOut, ErrorKind::TimedOut, 3),
            (
                Error::AuthRefused {
                    status: 401,
                    detail: detail(),
                },
                ErrorKind::Auth,
                4,
            ),
            (Error::JobNotFound(detail()), ErrorKind::NotFound, 5),
            (
                Error::Service {
                    status: 500,
                    detail: detail(),
                },
                ErrorKind::Service,
                6,
            ),
            // Every network failure, final or retried, is a service error.
            (net(Phase::Read, Cause::Reset), ErrorKind::Service, 6),
            (
                net(Phase::Resolve, Cause::NotResolved),
                ErrorKind::Service,
                6,
            ),
            (
                net(Phase::Tls, Cause::Certificate(CertProblem::SelfSigned)),
                ErrorKind::Service,
                6,
            ),
            (Error::InvalidResponse("html".into()), ErrorKind::Service, 6),
            (Error::Internal("bug".into()), ErrorKind::Service, 6),
            (
                Error::Rejected {
                    status: 422,
                    detail: detail(),
                },
                ErrorKind::Rejected,
                7,
            ),
            (Error::Cancelled, ErrorKind::Cancelled, 8),
            (
                Error::ExtractionFailed(Box::new(ExtractionFailure {
                    id: ExtractionId::new("x").unwrap(),
                    state: ExtractionState::Failed,
                    message: "m1: boom".into(),
                })),
                ErrorKind::Failed,
                1,
            ),
            (Error::ExtractionNotFound(detail()), ErrorKind::NotFound, 5),
        ];
        for (error, kind, code) in table {
            assert_eq!((error.kind(), error.kind().code()), (kind, code), "{error}");
            assert_eq!(error.is_usage(), code == 2);
        }
    }

    #[test]
    fn settings_are_renamed_only_when_they_match() {
        let e = Error::config("timeout", "too long").rename_setting("timeout", "--timeout");
        assert_eq!(e.to_string(), "--timeout: too long");
        let e = Error::config("interval", "x").rename_setting("timeout", "--timeout");
        assert_eq!(e.to_string(), "interval: x");
    }

    #[test]
    fn service_error_reads_documented_shape_only() {
        let d = ServiceError::from_body(
            br#"{"error":{"code":"JobNotFound","message":"Requested EC3 Job is not available.","target":"jobId"}}"#,
        );
        assert_eq!(d.code.as_deref(), Some("JobNotFound"));
        assert_eq!(d.target.as_deref(), Some("jobId"));
        let e = Error::JobNotFound(d.clone());
        assert_eq!(e.http_status(), Some(404));
        assert_eq!(e.service_error(), Some(&d));
        assert_eq!(Error::TimedOut.http_status(), None);
        let reset = crate::NetError::new(
            crate::Role::Api,
            "api.example",
            443,
            crate::Phase::Read,
            crate::Cause::Reset,
        );
        assert_eq!(Error::Network(Box::new(reset)).service_error(), None);
        assert_eq!(
            ServiceError::from_body(b"<html>502</html>"),
            ServiceError::default()
        );
        assert_eq!(
            ServiceError::from_body(br#"{"error":{"code":5}}"#),
            ServiceError::default()
        );
    }

    #[test]
    fn display_escapes_server_text() {
        let e = Error::Service {
            status: 500,
            detail: ServiceError {
                code: Some("X".into()),
                message: Some("line\n::error::evil".into()),
                target: None,
            },
        };
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        assert_eq!(s, "service error (HTTP 500 X: line\\n::error::evil)");
    }
}
