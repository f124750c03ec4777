//! The status-response parser, `Job::from_json`, fed arbitrary bytes as an
//! answer body; whatever it accepts then goes down the reporting path (log
//! line, `--json` object, step outputs, step summary), as in the CLI.
//!
//! Beyond "no panic", it checks the parser's promises and that the outputs
//! read back, by the runner's rules, as exactly the values written.

#![no_main]

use std::time::Duration;

use ec3_gate::github::{output_entry, parse_output_file};
use ec3_gate::report::Report;
use ec3_gate::text::{MAX_TEXT_CHARS, TRUNCATED_MARKER};
use ec3_gate::{Job, JobId, JobStatus};
use libfuzzer_sys::fuzz_target;

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
    if let Some(u) = &job.ec3_project_url {
        assert!(!u.is_empty() && u.len() <= 4096);
        assert!(!u.chars().any(char::is_control));
    }

    let id = JobId::new("j1").unwrap();
    let report = Report::new(Some(&id), Some(&job));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["status"], job.status.as_str());

    let mut file = String::new();
    for (name, value) in report.outputs() {
        file.push_str(&output_entry(name, value).unwrap());
    }
    let parsed = parse_output_file(&file).unwrap();
    let written: Vec<(String, String)> = report
        .outputs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.replace("\r\n", "\n").replace('\r', "\n")))
        .collect();
    assert_eq!(parsed, written);

    let summary = report.summary("failed", Duration::from_secs(61));
    let rows = summary.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(rows, 7, "{summary}");
});
