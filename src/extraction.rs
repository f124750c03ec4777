//! Grouping & Mapping extractions: running one, reading its state and its
//! logs, and waiting for it. Every request goes the way job requests go
//! ([`Client::api_call`]: one budget, one deadline, retries, `Retry-After`,
//! redaction, cancel), and every server text is capped and kept for the one
//! sanitiser ([`crate::text::one_line`]).

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::client::{Call, Method, Pages, Payload, Policy, Step, pause_to_retry};
use crate::retry::{Backoff, jitter};
use crate::upload::check_id;
use crate::{Cancel, Client, Error, Event, Observer, Timeout, WaitOptions, text};

/// Where extractions live under the API root.
pub(crate) const EXTRACTIONS_PATH: &str =
    "/grouping-and-mapping/datasources/imodel-mappings/extractions";

/// Most log pages followed; a service that links on forever is an error.
const MAX_LOG_PAGES: usize = 100;
/// Most log entries kept (the earliest ones).
const MAX_LOG_ENTRIES: usize = 1000;
/// Most characters of one log text (a message) kept.
const MAX_LOG_TEXT: usize = 4096;
/// Most characters of one log message in a failure's message.
const MAX_ENTRY_CHARS: usize = 300;
/// Most characters of the message built from a failed extraction's logs.
pub(crate) const MAX_FAILURE_CHARS: usize = 2000;

/// A validated extraction id (the core's one id rule: 1-256 ASCII letters,
/// digits, `.`, `_` or `-`), so it goes into a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtractionId(String);

impl ExtractionId {
    /// Validates `id`; the error is an [`Error::InvalidConfig`] for the
    /// setting `extraction id`.
    pub fn new(id: &str) -> Result<Self, Error> {
        check_id("extraction id", id)?;
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExtractionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The state of an extraction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtractionState {
    /// Accepted, not started.
    Queued,
    /// Extracting.
    Running,
    /// Done: every mapping was extracted.
    Succeeded,
    /// Done, but some mappings (or groups) failed: the logs say which.
    PartiallySucceeded,
    /// Done; nothing usable was extracted (the logs say why).
    Failed,
    /// A value this version does not know, kept verbatim (capped at 64
    /// characters). It is never finished: the wait goes on until the
    /// deadline.
    Unknown(String),
}

impl ExtractionState {
    /// The state for the service's word `s`.
    pub fn parse(s: &str) -> Self {
        match s {
            "Queued" => Self::Queued,
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "PartiallySucceeded" => Self::PartiallySucceeded,
            "Failed" => Self::Failed,
            other => Self::Unknown(other.chars().take(64).collect()),
        }
    }

    /// True for `Succeeded`, `PartiallySucceeded` and `Failed`; never for an
    /// unknown value.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::PartiallySucceeded | Self::Failed
        )
    }

    /// The state word as the service spells it (an unknown one verbatim:
    /// untrusted text, render it with [`text::one_line`]).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::PartiallySucceeded => "PartiallySucceeded",
            Self::Failed => "Failed",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for ExtractionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text::one_line(self.as_str(), 64))
    }
}

/// One answer about an extraction (`POST /extractions`, `GET
/// /extractions/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extraction {
    /// Its id.
    pub id: ExtractionId,
    /// Its state.
    pub state: ExtractionState,
    /// When it started, as the service writes it (capped at 64 characters).
    pub started_on: Option<String>,
}

impl Extraction {
    /// Parses `{"extraction": {"id", "state", "startedOn", …}}`. For the
    /// fuzz targets and property tests only; not part of the API.
    #[doc(hidden)]
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Envelope {
            extraction: Option<Wire>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            id: Option<String>,
            state: Option<String>,
            started_on: Option<String>,
        }
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
            Error::InvalidResponse(format!("extraction is not the documented JSON ({e})"))
        })?;
        let wire = envelope.extraction.ok_or_else(|| {
            Error::InvalidResponse("extraction answer has no \"extraction\" object".into())
        })?;
        let id = wire
            .id
            .ok_or_else(|| Error::InvalidResponse("extraction answer has no \"id\"".into()))?;
        let id = ExtractionId::new(&id).map_err(|_| {
            Error::InvalidResponse("the service returned an invalid extraction id".into())
        })?;
        let state = wire
            .state
            .ok_or_else(|| Error::InvalidResponse("extraction answer has no \"state\"".into()))?;
        Ok(Self {
            id,
            state: ExtractionState::parse(&state),
            started_on: wire.started_on.map(|s| text::normalize(&s, 64)),
        })
    }
}

/// How serious a log entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// `Information`.
    Information,
    /// `Warning`.
    Warning,
    /// `Error`.
    Error,
    /// A value this version does not know, verbatim (capped at 64
    /// characters).
    Other(String),
}

impl LogLevel {
    fn parse(s: &str) -> Self {
        match s {
            "Information" => Self::Information,
            "Warning" => Self::Warning,
            "Error" => Self::Error,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }

    /// The level as the service spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Information => "Information",
            Self::Warning => "Warning",
            Self::Error => "Error",
            Self::Other(s) => s,
        }
    }
}

/// One entry of an extraction's logs. Every text is server text: capped
/// (4 Ki characters), line endings normalised, and to be rendered with
/// [`text::one_line`] before it is printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExtractionLog {
    /// `Information`, `Warning`, `Error`.
    #[serde(serialize_with = "level_str")]
    pub level: LogLevel,
    /// The extraction's state when this was logged.
    pub state: Option<String>,
    /// When, as the service wrote it (with or without fractional seconds).
    pub date_time: Option<String>,
    /// What it is about (`Mapping`, `Group`, …).
    pub context_type: Option<String>,
    /// The id of what it is about (a mapping id, a group id).
    pub context_id: Option<String>,
    /// The kind of problem (`QueryExecution`, …).
    pub category: Option<String>,
    /// What happened.
    pub message: Option<String>,
}

fn level_str<S: serde::Serializer>(level: &LogLevel, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.as_str())
}

impl ExtractionLog {
    /// [`ExtractionLog::date_time`] read as a time: both forms the service
    /// writes (`2024-05-01T10:00:00+00:00`, `2024-05-01T10:00:00.1234567Z`)
    /// and any other RFC 3339 offset; `None` when absent or unreadable.
    pub fn time(&self) -> Option<SystemTime> {
        parse_date_time(self.date_time.as_deref()?)
    }

    /// The entry on one line for a person: `Error Mapping m-1: message`,
    /// server text rendered by [`text::one_line`].
    pub fn line(&self) -> String {
        let mut out = text::one_line(self.level.as_str(), 64);
        if let Some(t) = &self.context_type {
            out.push(' ');
            out.push_str(&text::one_line(t, 64));
        }
        if let Some(id) = &self.context_id {
            out.push(' ');
            out.push_str(&text::one_line(id, 256));
        }
        out.push_str(": ");
        out.push_str(&text::one_line(
            self.message.as_deref().unwrap_or("(no message)"),
            500,
        ));
        out
    }
}

/// Parses the log page `body`: its entries and its `_links.next.href`.
fn parse_log_page(body: &[u8]) -> Result<(Vec<ExtractionLog>, Option<String>), Error> {
    #[derive(Deserialize)]
    struct Page {
        logs: Vec<Wire>,
        #[serde(rename = "_links")]
        links: Option<Links>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Wire {
        level: Option<String>,
        state: Option<String>,
        date_time: Option<String>,
        context_type: Option<String>,
        context_id: Option<String>,
        category: Option<String>,
        message: Option<String>,
    }
    #[derive(Deserialize)]
    struct Links {
        next: Option<Link>,
    }
    #[derive(Deserialize)]
    struct Link {
        href: Option<String>,
    }
    let page: Page = serde_json::from_slice(body).map_err(|_| {
        Error::InvalidResponse("extraction logs are not the documented JSON".into())
    })?;
    let cap = |s: Option<String>, max| s.map(|s| text::normalize(&s, max));
    let logs = page
        .logs
        .into_iter()
        .map(|w| ExtractionLog {
            level: LogLevel::parse(w.level.as_deref().unwrap_or("")),
            state: cap(w.state, 64),
            date_time: cap(w.date_time, 64),
            context_type: cap(w.context_type, 64),
            context_id: cap(w.context_id, 256),
            category: cap(w.category, 128),
            message: cap(w.message, MAX_LOG_TEXT),
        })
        .collect();
    let next = page.links.and_then(|l| l.next).and_then(|n| n.href);
    Ok((logs, next))
}

/// Reads an RFC 3339 date and time (`2024-05-01T10:00:00+00:00`,
/// `2024-05-01T10:00:00.1234567Z`: any number of fractional digits, `Z` or
/// an offset). For the fuzz targets and property tests only; not part of
/// the API.
#[doc(hidden)]
pub fn parse_date_time(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then_some(())?;
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    // days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    let since = Duration::new(secs.unsigned_abs(), nanos);
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(since)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(since)
    }
}

/// What to extract: an iModel's mappings, at a changeset (else the latest).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewExtraction {
    /// The iModel.
    pub imodel_id: String,
    /// The mappings to extract, in order (duplicates are sent once).
    pub mapping_ids: Vec<String>,
    /// The changeset to extract; `None`: the latest.
    pub changeset_id: Option<String>,
}

impl NewExtraction {
    /// An extraction of `mapping_ids` of `imodel_id` at the latest changeset.
    pub fn new(imodel_id: impl Into<String>, mapping_ids: Vec<String>) -> Self {
        Self {
            imodel_id: imodel_id.into(),
            mapping_ids,
            changeset_id: None,
        }
    }

    /// Extracts at `changeset_id` instead of the latest changeset.
    pub fn changeset_id(mut self, id: impl Into<String>) -> Self {
        self.changeset_id = Some(id.into());
        self
    }

    /// Every id by the core's id rule (`iModel id`, `mapping id`,
    /// `changeset id` name the refused one), and at least one mapping:
    /// before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        check_id("iModel id", &self.imodel_id)?;
        if self.mapping_ids.is_empty() {
            return Err(Error::config(
                "mapping id",
                "at least one mapping id is needed",
            ));
        }
        for id in &self.mapping_ids {
            check_id("mapping id", id)?;
        }
        if let Some(id) = &self.changeset_id {
            check_id("changeset id", id)?;
        }
        Ok(())
    }

    /// The mappings, each once, in order.
    fn distinct_mappings(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.mapping_ids
            .iter()
            .map(String::as_str)
            .filter(|m| seen.insert(*m))
            .collect()
    }
}

/// The message of a failed (or partly failed) extraction, from its logs'
/// `Error` entries (each `context id: message`, the message capped at 300
/// characters so that one long entry cannot hide the others), capped at
/// 2000 characters;
/// without any, a sentence saying so. Server text, kept as is (one line
/// per entry): render it with [`text::one_line`].
pub fn failure_message(logs: &[ExtractionLog]) -> String {
    // Without any Error entry, the warnings are the best account there is.
    let level = if logs.iter().any(|l| l.level == LogLevel::Error) {
        LogLevel::Error
    } else {
        LogLevel::Warning
    };
    let errors: Vec<String> = logs
        .iter()
        .filter(|l| l.level == level)
        .map(|l| {
            let message = text::normalize(
                l.message.as_deref().unwrap_or("(no message)"),
                MAX_ENTRY_CHARS,
            );
            match &l.context_id {
                Some(id) => format!("{id}: {message}"),
                None => message.to_owned(),
            }
        })
        .collect();
    if errors.is_empty() {
        return "the logs hold no Error or Warning entry".to_owned();
    }
    text::normalize(&errors.join("\n"), MAX_FAILURE_CHARS)
}

impl Client {
    /// Runs an extraction (`POST …/imodel-mappings/extractions`) and returns
    /// it as the service answered (usually `Queued`). Its id is reported
    /// ([`Event::ExtractionStarted`]) as soon as it exists.
    ///
    /// Running is not idempotent: like a job creation, a failure is retried
    /// only when the request surely never reached the service or the service
    /// asked for it (429, or 503 with `Retry-After`), within `timeout`.
    /// An iModel the service does not know (404) is [`Error::Rejected`].
    pub fn run_extraction(
        &self,
        new: &NewExtraction,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Extraction, Error> {
        new.validate()?;
        self.run(timeout.get(), cancel, observer, |client, call| {
            client.post_extraction(new, 0, call)
        })
    }

    /// Reads an extraction's state once (`GET …/extractions/{id}`),
    /// retrying transient failures within `timeout`. An unknown extraction
    /// is [`Error::ExtractionNotFound`].
    pub fn extraction(
        &self,
        id: &ExtractionId,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Extraction, Error> {
        self.run(timeout.get(), cancel, observer, |client, call| {
            client.fetch_extraction(id, call)
        })
    }

    /// Reads an extraction's logs (`GET …/extractions/{id}/logs`), following
    /// `_links.next` only under the API root (the token goes nowhere else),
    /// never back to a page already read; at most 100 pages and the first
    /// 1000 entries, each text capped.
    pub fn extraction_logs(
        &self,
        id: &ExtractionId,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Vec<ExtractionLog>, Error> {
        self.run(timeout.get(), cancel, observer, |client, call| {
            client.fetch_logs(id, call)
        })
    }

    /// Polls `id` every `options.interval()` (plus jitter) until it is
    /// finished (`Succeeded`, `PartiallySucceeded` or `Failed`: all `Ok`,
    /// look at the state), or until `options.timeout()` passes
    /// ([`Error::TimedOut`]). An unknown state is reported
    /// ([`Event::ExtractionStateChanged`]) and waited through. The last
    /// poll starts a little before the deadline, as for jobs.
    pub fn wait_extraction(
        &self,
        id: &ExtractionId,
        options: &WaitOptions,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Extraction, Error> {
        self.run(options.timeout(), cancel, observer, |client, call| {
            let mut last = None;
            client.poll_extraction(id, 0, options, &mut last, call)
        })
    }

    /// The link to the iModel `imodel_id` under the API root
    /// (`{api}/imodels/{id}`, as configurations link it); the id as given
    /// (check it first, as [`NewExtraction::validate`] does).
    pub fn imodel_url(&self, imodel_id: &str) -> String {
        self.api_url(&format!("/imodels/{imodel_id}"))
    }

    /// `POST …/extractions` for a validated `new`, within `call`; reports
    /// [`Event::ExtractionStarted`] with `index`.
    pub(crate) fn post_extraction(
        &self,
        new: &NewExtraction,
        index: usize,
        call: &mut Call<'_>,
    ) -> Result<Extraction, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            #[serde(rename = "iModelId")]
            imodel_id: &'a str,
            mappings: Vec<Mapping<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            changeset_id: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Mapping<'a> {
            id: &'a str,
        }
        let json = serde_json::to_vec(&Body {
            imodel_id: &new.imodel_id,
            mappings: new
                .distinct_mappings()
                .into_iter()
                .map(|id| Mapping { id })
                .collect(),
            changeset_id: new.changeset_id.as_deref(),
        })
        .map_err(|e| Error::InvalidResponse(format!("cannot encode the request: {e}")))?;
        let url = self.api_url(EXTRACTIONS_PATH);
        let reply = self.api_call(
            Method::Post,
            url,
            Some(&Payload { json }),
            Policy::NotIdempotent,
            call,
        )?;
        let body = reply.into_body(|detail| Error::Rejected {
            status: 404,
            detail,
        })?;
        let extraction = Extraction::from_json(&body)?;
        call.observer.on_event(Event::ExtractionStarted {
            index,
            id: &extraction.id,
        });
        Ok(extraction)
    }

    /// `GET …/extractions/{id}` within `call`.
    pub(crate) fn fetch_extraction(
        &self,
        id: &ExtractionId,
        call: &mut Call<'_>,
    ) -> Result<Extraction, Error> {
        let url = self.api_url(&format!("{EXTRACTIONS_PATH}/{id}"));
        let reply = self.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
        let extraction = Extraction::from_json(&reply.into_body(Error::ExtractionNotFound)?)?;
        if extraction.id != *id {
            return Err(Error::InvalidResponse(
                "the service answered about another extraction".into(),
            ));
        }
        Ok(extraction)
    }

    /// The logs of `id`, every page, within `call`.
    pub(crate) fn fetch_logs(
        &self,
        id: &ExtractionId,
        call: &mut Call<'_>,
    ) -> Result<Vec<ExtractionLog>, Error> {
        let mut url = self.api_url(&format!("{EXTRACTIONS_PATH}/{id}/logs"));
        let mut all = Vec::new();
        let mut pages = Pages::new("extraction logs");
        for _ in 0..MAX_LOG_PAGES {
            pages.read(&url);
            let reply = self.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
            let (logs, next) = parse_log_page(&reply.into_body(Error::ExtractionNotFound)?)?;
            all.extend(logs);
            if all.len() >= MAX_LOG_ENTRIES {
                all.truncate(MAX_LOG_ENTRIES);
                return Ok(all);
            }
            match pages.next(self, next)? {
                Some(next) => url = next,
                None => return Ok(all),
            }
        }
        Err(Error::InvalidResponse(format!(
            "more than {MAX_LOG_PAGES} pages of extraction logs"
        )))
    }

    /// The polling loop of an extraction within `call`; `last` keeps the
    /// last answer (so a timeout or a cancel still shows how far it got);
    /// `index` goes into the events.
    pub(crate) fn poll_extraction(
        &self,
        id: &ExtractionId,
        index: usize,
        options: &WaitOptions,
        last: &mut Option<Extraction>,
        call: &mut Call<'_>,
    ) -> Result<Extraction, Error> {
        let start = Instant::now();
        let left = call.deadline.saturating_duration_since(start);
        let slack = (left / 4).min(Duration::from_secs(1));
        let last_chance = call.deadline - slack;
        let url = self.api_url(&format!("{EXTRACTIONS_PATH}/{id}"));
        let mut backoff = Backoff::new();
        loop {
            let step = self.api_attempt(
                Method::Get,
                &url,
                None,
                Policy::Idempotent,
                &mut backoff,
                call,
            );
            let reply = match step {
                Step::Done(reply) => reply,
                Step::Failed(error) => return Err(error),
                Step::Retry { error, delay } => {
                    pause_to_retry(call, error, delay)?;
                    continue;
                }
                Step::Late => {
                    // The budget allows nothing more before the deadline:
                    // the wait still ends no sooner than its last chance to
                    // poll, as a wait's timeout promises (as for jobs).
                    let now = Instant::now();
                    if last_chance > now {
                        call.cancel.sleep(last_chance - now)?;
                    }
                    return Err(Error::TimedOut);
                }
            };
            backoff = Backoff::new();
            let extraction = Extraction::from_json(&reply.into_body(Error::ExtractionNotFound)?)?;
            if extraction.id != *id {
                return Err(Error::InvalidResponse(
                    "the service answered about another extraction".into(),
                ));
            }
            let elapsed = start.elapsed();
            if last.as_ref().map(|e| &e.state) != Some(&extraction.state) {
                call.observer.on_event(Event::ExtractionStateChanged {
                    index,
                    extraction: &extraction,
                    elapsed,
                });
            }
            call.observer.on_event(Event::ExtractionPolled {
                index,
                extraction: &extraction,
                elapsed,
            });
            *last = Some(extraction.clone());
            if extraction.state.is_finished() {
                return Ok(extraction);
            }
            let now = Instant::now();
            if now >= last_chance {
                return Err(Error::TimedOut);
            }
            let period = options.interval();
            let due = now
                .checked_add(period + jitter((period / 10).min(Duration::from_secs(1))))
                .map_or(last_chance, |t| t.min(last_chance));
            call.cancel.sleep(due.saturating_duration_since(now))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_typed_and_unknown_ones_never_finish() {
        for (word, state, finished) in [
            ("Queued", ExtractionState::Queued, false),
            ("Running", ExtractionState::Running, false),
            ("Succeeded", ExtractionState::Succeeded, true),
            (
                "PartiallySucceeded",
                ExtractionState::PartiallySucceeded,
                true,
            ),
            ("Failed", ExtractionState::Failed, true),
        ] {
            let parsed = ExtractionState::parse(word);
            assert_eq!(parsed, state);
            assert_eq!(parsed.is_finished(), finished);
            assert_eq!(parsed.as_str(), word);
        }
        let odd = ExtractionState::parse("Cancelling");
        assert_eq!(odd, ExtractionState::Unknown("Cancelling".into()));
        assert!(!odd.is_finished());
        let hostile = ExtractionState::parse(&format!("::error::x\n{}", "y".repeat(100)));
        assert_eq!(hostile.as_str().chars().count(), 64);
        let shown = hostile.to_string();
        assert!(
            !shown.contains('\n') && shown.starts_with("\\u{3a}:error"),
            "{shown}"
        );
    }

    #[test]
    fn extraction_answers_are_read_or_refused() {
        let e = Extraction::from_json(
            br#"{"extraction":{"id":"x-1","state":"Queued","startedOn":"2022-09-10T13:44:56+00:00",
                "_links":{"status":{"href":"https://h/x-1"}}}}"#,
        )
        .unwrap();
        assert_eq!(e.id.as_str(), "x-1");
        assert_eq!(e.state, ExtractionState::Queued);
        for bad in [
            &b"<html>"[..],
            b"{}",
            br#"{"extraction":{"state":"Queued"}}"#,
            br#"{"extraction":{"id":"a/b","state":"Queued"}}"#,
            br#"{"extraction":{"id":"x"}}"#,
        ] {
            assert!(matches!(
                Extraction::from_json(bad),
                Err(Error::InvalidResponse(_))
            ));
        }
    }

    #[test]
    fn both_date_time_forms_are_read() {
        let plain = parse_date_time("2024-05-01T10:00:00+00:00").unwrap();
        let fraction = parse_date_time("2024-05-01T10:00:00.1234567Z").unwrap();
        let epoch = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(epoch(plain), Duration::from_secs(1_714_557_600));
        assert_eq!(epoch(fraction), Duration::new(1_714_557_600, 123_456_700));
        let shifted = parse_date_time("2024-05-01T12:30:00+02:30").unwrap();
        assert_eq!(epoch(shifted), Duration::from_secs(1_714_557_600));
        assert_eq!(
            epoch(parse_date_time("1970-01-01T00:00:00Z").unwrap()),
            Duration::ZERO
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T10:00:00",
            "2024-13-01T10:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+0000",
            "2024-05-01T10:00:00Zjunk",
            "２０２４-05-01T10:00:00Z",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn log_pages_are_read_capped_and_hostile_text_stays_inert() {
        let long = format!("::error::pwned\r\n{}", "z".repeat(10_000));
        let body = serde_json::json!({"logs": [
            {"state": "Failed", "dateTime": "2024-05-01T10:00:00.1234567Z", "contextType": "Mapping",
             "contextId": "m-1", "level": "Error", "category": "QueryExecution", "message": long},
            {"level": "Verbose"},
        ], "_links": {"next": {"href": "https://h/next"}}});
        let (logs, next) = parse_log_page(body.to_string().as_bytes()).unwrap();
        assert_eq!(next.as_deref(), Some("https://h/next"));
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[1].level, LogLevel::Other("Verbose".into()));
        assert!(logs[0].time().is_some());
        let message = logs[0].message.as_deref().unwrap();
        assert!(
            message.starts_with("::error::pwned\nzzz"),
            "CRLF normalised"
        );
        assert!(message.ends_with(text::TRUNCATED_MARKER));
        let line = logs[0].line();
        assert!(
            line.starts_with("Error Mapping m-1: \\u{3a}:error::pwned\\nzzz"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let failure = failure_message(&logs);
        assert!(failure.starts_with("m-1: ::error::pwned"));
        assert!(failure.chars().count() <= MAX_FAILURE_CHARS + text::TRUNCATED_MARKER.len());
        assert_eq!(
            failure_message(&logs[1..]),
            "the logs hold no Error or Warning entry"
        );
        let mut warned = logs[0].clone();
        warned.level = LogLevel::Warning;
        warned.message = Some("group Beams selects nothing".into());
        assert_eq!(
            failure_message(&[warned]),
            "m-1: group Beams selects nothing"
        );
        assert!(parse_log_page(b"{\"logs\": 5}").is_err());
    }

    #[test]
    fn new_extractions_are_checked_by_the_one_id_rule() {
        let ok = NewExtraction::new("im-1", vec!["m1".into(), "m2".into(), "m1".into()]);
        assert!(ok.validate().is_ok());
        assert_eq!(ok.distinct_mappings(), ["m1", "m2"]);
        let cases = [
            (NewExtraction::new("a/b", vec!["m".into()]), "iModel id:"),
            (NewExtraction::new("im", vec![]), "mapping id:"),
            (NewExtraction::new("im", vec!["m?x".into()]), "mapping id:"),
            (
                NewExtraction::new("im", vec!["m".into()]).changeset_id("c d"),
                "changeset id:",
            ),
        ];
        for (new, what) in cases {
            let e = new.validate().unwrap_err();
            assert!(e.is_usage() && e.to_string().starts_with(what), "{e}");
        }
        assert!(ExtractionId::new("x.y_z-1").is_ok());
        assert!(ExtractionId::new("").unwrap_err().is_usage());
    }
}
