//! Properties of the code that turns untrusted text into the runner's
//! formats, and of the parsers that read the service's answers: they hold
//! for arbitrary input, not just the examples in the unit tests.
//!
//! Each property sets its own case count (`with_cases`): 512, and 10,000
//! for the one that runs every reporter over arbitrary server text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ec3_gate::{Job, JobStatus, parse_retry_after};
use ec3_sim::runner::parse_output_file;

use ec3_gate::{Configuration, Error, JobId, ServiceError};
use ec3_sim::runner::{Allowed, log_lines, unintended};

use super::Outcome;
use super::github::{
    WARNING_TITLE, annotation, append_outputs, command, escape_data, escape_property, output_entry,
};
use super::report::Report;
use super::reporter::{Human, Json, Reporter, verdict};
use super::text::{line, one_line};

/// The core's cap on one server text, and its marker (`src/text.rs`).
const MAX_TEXT_CHARS: usize = 16 * 1024;
const TRUNCATED_MARKER: &str = "… [truncated by ec3-gate]";
use proptest::prelude::*;

/// Text built from pieces that matter to the runner's formats (line ends,
/// delimiters, command markers, escapes) mixed with arbitrary Unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\r\n".to_owned()),
        Just("ghadelimiter_".to_owned()),
        Just("ghadelimiter_00000000-0000-4000-8000-000000000000".to_owned()),
        Just("::".to_owned()),
        Just("::error::".to_owned()),
        Just("::add-mask::".to_owned()),
        Just("%".to_owned()),
        Just("%0A".to_owned()),
        Just("%25".to_owned()),
        Just("EOF".to_owned()),
        Just("=".to_owned()),
        Just("<<".to_owned()),
        Just("|".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("<br>".to_owned()),
        Just("](javascript:x)".to_owned()),
        Just("\u{85}\u{2028}\u{202e}\u{0}\u{1b}".to_owned()),
        Just(" ::warning::".to_owned()),
        Just("\u{a0}\u{3000}\t::error title=EC3 job failed::".to_owned()),
        Just("##[".to_owned()),
        Just("##[error]".to_owned()),
        Just("##[set-output name=status;]".to_owned()),
        Just("::stop-commands::x".to_owned()),
        Just("\u{200b}\u{feff}\u{2060}".to_owned()),
        Just("\u{1b}]8;;https://evil.example\u{7}".to_owned()),
        Just("evil@example.com".to_owned()),
        Just("https://evil.example/x".to_owned()),
        Just("www.evil.example".to_owned()),
        Just("<b>".to_owned()),
        Just("#".to_owned()),
        Just("[".to_owned()),
        "[ -~]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

/// An output name the writer accepts.
fn output_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,16}"
}

/// What the writer promises to keep: the value with CRLF and lone CR turned
/// into LF. The runner's format cannot carry a value that ends in CR, so the
/// writer normalises line ends by design; everything else round-trips.
fn normalised(value: &str) -> String {
    value.replace("\r\n", "\n").replace('\r', "\n")
}

/// The runner's `UnescapeData` (order matters: `%25` last).
fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// The runner's `UnescapeProperty`.
fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// A workflow command as the runner reads it: name, properties, data.
type Command = (String, Vec<(String, String)>, String);

/// Reads one workflow command line as the runner does: `::name k=v,k=v::data`.
fn parse_command(line: &str) -> Option<Command> {
    let rest = line.strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = match info.split_once(' ') {
        Some((n, p)) => (n, p),
        None => (info, ""),
    };
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), unescape_property(v))
        })
        .collect();
    Some((name.to_owned(), props, unescape_data(data)))
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(hostile_text())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any set of outputs written with `append_outputs` (one write) or
    /// `output_entry` (concatenated) reads back, by the runner's rules, as
    /// exactly the written pairs, in order.
    #[test]
    fn outputs_parse_back_to_the_written_pairs(
        pairs in prop::collection::vec((output_name(), hostile_text()), 0..8)
    ) {
        let want: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.clone(), normalised(v))).collect();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        let borrowed: Vec<(&str, &str)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        append_outputs(&path, &borrowed).unwrap();
        // A second append (another step, or another write) keeps the first.
        append_outputs(&path, &borrowed).unwrap();
        let file = std::fs::read_to_string(&path).unwrap();
        let parsed = parse_output_file(&file).map_err(TestCaseError::fail)?;
        let twice: Vec<_> = want.iter().chain(want.iter()).cloned().collect();
        prop_assert_eq!(parsed, twice);

        let mut text = String::new();
        for (k, v) in &pairs {
            text.push_str(&output_entry(k, v).unwrap());
        }
        prop_assert_eq!(parse_output_file(&text).map_err(TestCaseError::fail)?, want);
    }

    /// Each value gets its own delimiter, never one found in the value.
    #[test]
    fn delimiters_are_fresh_and_absent_from_the_value(value in hostile_text()) {
        let entry = output_entry("message", &value).unwrap();
        let (header, _) = entry.split_once('\n').unwrap();
        let delimiter = header.strip_prefix("message<<").unwrap();
        prop_assert!(delimiter.starts_with("ghadelimiter_"));
        prop_assert!(!normalised(&value).contains(delimiter));
        let tail = format!("\n{delimiter}\n");
        prop_assert!(entry.ends_with(&tail));
    }

    /// Escaped workflow-command data never holds a raw CR or LF, and the
    /// runner's unescaping gives the exact text back.
    #[test]
    fn escaped_data_is_one_line_and_round_trips(data in hostile_text()) {
        let escaped = escape_data(&data);
        prop_assert!(!escaped.contains('\r') && !escaped.contains('\n'));
        prop_assert_eq!(&unescape_data(&escaped), &data);
        let property = escape_property(&data);
        prop_assert!(!property.contains(['\r', '\n', ':', ',']));
        prop_assert_eq!(unescape_property(&property), data);
    }

    /// A whole command line is one line, is read by the runner as exactly the
    /// command written (no property or command can be injected), and gives
    /// the exact data and property values back.
    #[test]
    fn command_lines_cannot_be_hijacked(title in hostile_text(), data in hostile_text()) {
        let line = command("error", &[("title", &title)], &data).0;
        prop_assert!(!line.contains('\r') && !line.contains('\n'));
        let (name, props, got) = parse_command(&line).unwrap();
        prop_assert_eq!(name, "error");
        prop_assert_eq!(props, vec![("title".to_owned(), title)]);
        prop_assert_eq!(&got, &data);

        let mask = command("add-mask", &[], &data).0;
        prop_assert!(!mask.contains('\r') && !mask.contains('\n'));
        prop_assert_eq!(parse_command(&mask).unwrap().2, data);
    }

    /// Whatever the texts, the step summary keeps the same lines and its
    /// table exactly its seven rows of three cell borders each: Markdown in
    /// a value cannot add a row, a column, a line or raw HTML.
    #[test]
    fn summary_table_cannot_be_broken(
        job_id in opt_text(),
        status in opt_text(),
        message in opt_text(),
        url in prop::option::of(prop_oneof![
            hostile_text(),
            hostile_text().prop_map(|t| format!("https://x.org/{t}")),
        ]),
        outcome in hostile_text(),
        secs in 0u64..10_000_000,
    ) {
        let report = Report { job_id, status, message, ec3_project_url: url, extraction: None };
        let summary = report.summary(&outcome, Duration::from_secs(secs));
        let plain = Report::default().summary("succeeded", Duration::ZERO);
        prop_assert_eq!(summary.lines().count(), plain.lines().count(), "{}", summary);
        let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with('|')).collect();
        prop_assert_eq!(rows.len(), 7, "{}", summary);
        for row in rows {
            prop_assert_eq!(row.matches('|').count(), 3, "{}", row);
            prop_assert!(row.ends_with(" |") || row == "|---|---|", "{}", row);
        }
        prop_assert!(!summary.contains('\r'));
        prop_assert!(!summary.replace("<br>", "").contains('<'), "{}", summary);
        // Only the heading starts with '#'.
        prop_assert_eq!(summary.lines().filter(|l| l.starts_with('#')).count(), 1);
    }

    /// Server text made one log line never breaks the line: no CR, LF or other
    /// control character survives, so it can never start a workflow command.
    #[test]
    fn one_line_never_breaks_a_line(text in hostile_text(), max in 0usize..300) {
        let line = one_line(&text, max);
        prop_assert!(!line.contains(['\n', '\r']));
        prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
        // Each kept character becomes at most `\u{10ffff}`; plus the `…`.
        prop_assert!(line.chars().count() <= max * 10 + 1);
    }

    /// The status parser never panics on arbitrary bytes.
    #[test]
    fn job_parser_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = Job::from_json(&body);
    }

    /// Nor on JSON of any shape; and what it accepts keeps its promises.
    #[test]
    fn job_parser_keeps_its_promises(body in job_like_json()) {
        if let Ok(job) = Job::from_json(body.as_bytes()) {
            if let JobStatus::Other(s) = &job.status {
                prop_assert!(s.chars().count() <= 64);
            }
            if let Some(m) = &job.message {
                prop_assert!(!m.contains('\r'));
                prop_assert!(m.chars().count() <= MAX_TEXT_CHARS + TRUNCATED_MARKER.chars().count());
            }
            if let Some(u) = &job.ec3_project_url {
                prop_assert!(!u.is_empty() && u.len() <= 4096);
                prop_assert!(!u.chars().any(char::is_control));
            }
        }
    }

    /// The `Retry-After` parser never panics, whatever the value or clock.
    #[test]
    fn retry_after_never_panics(value in any::<String>(), now in any::<u64>()) {
        let now = UNIX_EPOCH.checked_add(Duration::from_secs(now)).unwrap_or(UNIX_EPOCH);
        let _ = parse_retry_after(&value, now);
        let _ = parse_retry_after(&value, SystemTime::now());
    }

    /// Seconds parse exactly (absurd ones saturate); a date k seconds ahead is
    /// k seconds; a date in the past is zero.
    #[test]
    fn retry_after_means_what_it_says(n in any::<u64>(), k in 0u64..10_000_000, pad in "[ \t]{0,2}") {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        prop_assert_eq!(parse_retry_after(&format!("{pad}{n}{pad}"), now), Some(Duration::from_secs(n)));
        let ahead = httpdate::fmt_http_date(now + Duration::from_secs(k));
        prop_assert_eq!(parse_retry_after(&ahead, now), Some(Duration::from_secs(k)));
        let before = httpdate::fmt_http_date(now - Duration::from_secs(k));
        prop_assert_eq!(parse_retry_after(&before, now), Some(Duration::ZERO));
    }
}

/// A configuration's id, name, description and date, as the service sent them.
type ConfigurationFields = (String, Option<String>, Option<String>, Option<String>);

/// Every server field a run can print, each an arbitrary string.
#[derive(Debug)]
struct ServerFields {
    status: String,
    message: Option<String>,
    link: Option<String>,
    code: Option<String>,
    error_message: Option<String>,
    configurations: Vec<ConfigurationFields>,
    header: String,
}

fn server_fields() -> impl Strategy<Value = ServerFields> {
    let configuration = (hostile_text(), opt_text(), opt_text(), opt_text());
    (
        hostile_text(),
        opt_text(),
        prop::option::of(prop_oneof![
            hostile_text(),
            hostile_text().prop_map(|t| format!("https://x.org/{t}")),
        ]),
        opt_text(),
        opt_text(),
        prop::collection::vec(configuration, 0..3),
        hostile_text(),
    )
        .prop_map(
            |(status, message, link, code, error_message, configurations, header)| ServerFields {
                status,
                message,
                link,
                code,
                error_message,
                configurations,
                header,
            },
        )
}

/// Everything a GitHub-mode run prints on stdout and stderr for answers
/// holding `f`, through the same functions the run uses: progress lines,
/// warnings, each outcome's result lines (plain and JSON), verdict
/// annotations and plain verdicts; and the step summary.
fn printed(f: &ServerFields) -> (String, Vec<String>) {
    use serde_json::json;
    let body = json!({"job": {
        "status": f.status,
        "message": f.message,
        "_links": {"ec3Project": {"href": f.link}},
    }});
    let Ok(job) = Job::from_json(body.to_string().as_bytes()) else {
        return (String::new(), Vec::new());
    };
    let mut detail = ServiceError::default();
    detail.code = f.code.clone();
    detail.message = f.error_message.clone();
    let configurations: Vec<Configuration> = f
        .configurations
        .iter()
        .filter_map(|(id, name, description, modified)| {
            serde_json::from_value(json!({
                "id": id, "displayName": name, "description": description, "modifiedOn": modified,
            }))
            .ok()
        })
        .collect();
    let id = JobId::new("j1").unwrap();
    let mut log = Vec::new();
    let service = || Error::Service {
        status: 503,
        detail: detail.clone(),
    };
    // Progress (stderr): `out!`/`err!` pass every line through `line`.
    log.push(line(&format!("ec3-gate: {}; retrying in 1s", service())));
    log.push(line(&format!("ec3-gate: job {id} is {} (1s)", job.status)));
    let unknown = format!(
        "unknown job status '{}'; still waiting",
        one_line(job.status.as_str(), 64)
    );
    log.push(annotation("warning", WARNING_TITLE, &unknown).0);
    log.push(line(&format!(
        "ec3-gate: warning: {}",
        one_line(&unknown, 2000)
    )));
    log.push(line(&format!(
        "ec3-gate: invalid duration '{}'",
        one_line(&f.header, 40)
    )));
    // Each outcome whose lines hold different server text (the others, such
    // as a 404's or a 401's, print the same detail as the 503's).
    let outcomes = [
        Outcome::Finished(job.clone()),
        Outcome::Answered(job.clone()),
        Outcome::Failed(Error::TimedOut),
        Outcome::Failed(service()),
        Outcome::Listed(configurations),
    ];
    let report = Report::new(Some(&id), Some(&job));
    for outcome in &outcomes {
        for reporter in [&Human::default() as &dyn Reporter, &Json::default()] {
            for l in reporter.result_lines(outcome, &report) {
                log.push(line(&l));
            }
        }
        let v = verdict(outcome, Some(&job), &report, Duration::from_secs(3), true);
        log.push(annotation(v.level, v.title, &v.text).0);
        log.push(line(&format!("ec3-gate: {}", one_line(&v.text, 2000))));
    }
    // The summary's server text is the report's, whatever the title.
    let summary = report.summary("EC3 job failed", Duration::from_secs(3));
    (log.join("\n"), vec![summary])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Whatever every server field holds, the runner finds no command the
    /// tool did not write in anything a run prints, no line holds a control,
    /// ESC, bidi or zero-width character, and the summary stays inert: its
    /// table whole, no HTML, no autolink (`@`, `://`, `www.`).
    #[test]
    fn server_text_never_commands_the_runner(f in server_fields()) {
        let (log, summaries) = printed(&f);
        let bad = unintended(&log, &Allowed::ec3_gate());
        prop_assert!(bad.is_empty(), "{:?}\n{}", bad, log);
        for l in log_lines(&log) {
            // The configuration table's own tabs are the only control.
            let hidden = |c: char| c != '\t' && ec3_gate::text::is_hidden(c);
            prop_assert!(!l.chars().any(hidden), "{:?}", l);
            prop_assert!(!l.contains("##["), "{:?}", l);
        }
        for summary in summaries {
            let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with('|')).collect();
            prop_assert_eq!(rows.len(), 7, "{}", summary);
            prop_assert!(!summary.replace("<br>", "").contains('<'), "{}", summary);
            for l in summary.lines() {
                prop_assert!(!l.chars().any(ec3_gate::text::is_hidden), "{:?}", l);
            }
            // Only the link target (percent-encoded, after `](`) may hold `://` or `www.`.
            let text: String = summary
                .split("](")
                .enumerate()
                .map(|(i, part)| match part.split_once(')') {
                    Some((_, after)) if i > 0 => after,
                    _ => part,
                })
                .collect();
            prop_assert!(!text.contains('@'), "{}", summary);
            let unescaped = text.replace("\\:", "");
            prop_assert!(!unescaped.contains("://") && !text.contains("www."), "{}", summary);
        }
    }
}

/// JSON shaped like (and unlike) a job answer: right and wrong types in
/// every field, hostile strings, nesting.
fn job_like_json() -> impl Strategy<Value = String> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        hostile_text().prop_map(Value::String),
        Just(json!("Succeeded")),
        Just(json!("Failed")),
        Just(json!("https://buildingtransparency.org/ec3/x")),
    ];
    let value = leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("job".to_owned()),
                    Just("status".to_owned()),
                    Just("message".to_owned()),
                    Just("_links".to_owned()),
                    Just("ec3Project".to_owned()),
                    Just("ec3".to_owned()),
                    Just("href".to_owned()),
                    "[a-z]{1,5}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    (value, hostile_text(), opt_text(), opt_text()).prop_map(|(v, status, message, href)| {
        let doc = json!({"job": {
            "status": status,
            "message": message,
            "_links": {"ec3Project": {"href": href}, "extra": v.clone()},
        }});
        // Half documented-ish answers, half anything at all.
        if message.as_deref().is_some_and(|m| m.len() % 2 == 0) {
            v.to_string()
        } else {
            doc.to_string()
        }
    })
}
