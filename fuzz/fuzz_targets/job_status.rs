//! The status-response parser, `Job::from_json`, fed arbitrary bytes as an
//! answer body.
//!
//! Beyond "no panic", it checks the parser's promises. The reporting path
//! (`--json`, step outputs, summary) is the binary's own; its properties are
//! in src/cli/properties.rs.

#![no_main]

use ec3_gate::{Job, JobStatus};
use libfuzzer_sys::fuzz_target;

/// The core's cap on one server text (16 Ki characters) and its marker.
const MAX_TEXT_CHARS: usize = 16 * 1024;
const TRUNCATED_MARKER: &str = "… [truncated by ec3-gate]";

fuzz_target!(|data: &[u8]| {
    let Ok(job) = Job::from_json(data) else {
        return;
    };
    if let JobStatus::Other(s) = &job.status {
        assert!(s.chars().count() <= 64);
        assert!(!job.status.is_terminal());
    }
    let line = job.status.to_string();
    assert!(!line.contains(['\n', '\r']));
    if let Some(m) = &job.message {
        assert!(!m.contains('\r'));
        assert!(m.chars().count() <= MAX_TEXT_CHARS + TRUNCATED_MARKER.chars().count());
    }
    if let Some(line) = job.message_line() {
        assert!(!line.contains(['\n', '\r']));
    }
    if let Some(u) = &job.ec3_project_url {
        assert!(!u.is_empty() && u.len() <= 4096);
        assert!(!u.chars().any(char::is_control));
    }
});
