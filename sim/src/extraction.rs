//! The Grouping & Mapping API's extractions: run one, read its state, its logs, an iModel's
//! extractions. What each does is scripted by the mapping ids it was run with.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::Stats;
use crate::http::{Response, error, form_raw, form_value, reply};

/// Root of the Grouping & Mapping routes, as under `https://api.bentley.com`.
pub const GM: &str = "/grouping-and-mapping/datasources/imodel-mappings";
/// Most log entries on one page, whatever `$top` asks.
const LOG_PAGE: usize = 2;
/// Page size of an iModel's extractions without `$top`.
const LIST_PAGE: usize = 100;
/// The two forms of a log entry's `dateTime`, in turn.
pub const LOG_TIMES: [&str; 2] = ["2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.1234567Z"];

/// How an extraction behaves, named by a prefix (of a mapping id, then of the extraction id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `Queued`, `Running` × running polls, `Succeeded`.
    Ok,
    /// The same walk, then `PartiallySucceeded`.
    Partial,
    /// The same walk, then `Failed`.
    Fail,
    /// `Running` forever.
    Slow,
    /// `Cancelling`, a state clients do not know, on every read.
    Odd,
    /// 404 on every read.
    Gone,
}

impl Outcome {
    const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::Partial,
        Outcome::Fail,
        Outcome::Slow,
        Outcome::Odd,
        Outcome::Gone,
    ];

    /// Its prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Fail => "fail",
            Outcome::Slow => "slow",
            Outcome::Odd => "odd",
            Outcome::Gone => "gone",
        }
    }

    /// The outcome an id's prefix (the text before its first `-`) names, if any.
    pub fn of(id: &str) -> Option<Outcome> {
        let prefix = id.split('-').next().unwrap_or("");
        Outcome::ALL.into_iter().find(|o| o.prefix() == prefix)
    }

    /// What a run over `mappings` does: the first mapping (in order) naming an outcome other
    /// than `ok` decides; else `ok`.
    pub fn of_run(mappings: &[String]) -> Outcome {
        let mut scripted = mappings.iter().filter_map(|m| Outcome::of(m));
        scripted.find(|&o| o != Outcome::Ok).unwrap_or(Outcome::Ok)
    }

    /// The state the `poll`th read (from 1) answers, `Queued` (as the run answered) before
    /// the first; `None` for a 404.
    fn state(self, poll: u64, running_polls: u64) -> Option<&'static str> {
        let terminal = match self {
            Outcome::Gone => return None,
            _ if poll == 0 => return Some("Queued"),
            Outcome::Slow => return Some("Running"),
            Outcome::Odd => return Some("Cancelling"),
            Outcome::Ok => "Succeeded",
            Outcome::Partial => "PartiallySucceeded",
            Outcome::Fail => "Failed",
        };
        Some(match poll {
            1 => "Queued",
            n if n <= running_polls.saturating_add(1) => "Running",
            _ => terminal,
        })
    }

    /// The log entries (without `dateTime`) of a run over `mappings`.
    fn logs(self, mappings: &[String]) -> Vec<Value> {
        let entry = |state: &str, mapping: &str, level: &str, category: &str, message: String| {
            json!({
                "state": state,
                "contextType": "Mapping",
                "contextId": mapping,
                "level": level,
                "category": category,
                "message": message,
            })
        };
        let done = |m: &str| {
            let message = format!("Mapping {m} was extracted.");
            entry("Succeeded", m, "Information", "ExtractionFinished", message)
        };
        let mut logs = Vec::new();
        for (i, m) in mappings.iter().enumerate() {
            match self {
                Outcome::Ok => logs.push(done(m)),
                Outcome::Partial if Outcome::of(m) == Some(Outcome::Partial) => {
                    let warning = format!("Mapping {m}: group Beams selects no elements.");
                    logs.push(entry("Running", m, "Warning", "GroupQuery", warning));
                    let failed = format!("Mapping {m}: the query of group Walls is invalid.");
                    logs.push(entry("Failed", m, "Error", "QueryExecution", failed));
                }
                Outcome::Partial => logs.push(done(m)),
                Outcome::Fail => {
                    let mut message = format!("Mapping {m} could not be extracted.");
                    if i == 0 {
                        // Server text a client must cap and escape: control characters, a
                        // line that would be a workflow command, and far too much of it.
                        message += "\n::error::fake failure\r\u{1b}[31mred\u{7}\u{0} ";
                        message += &"query detail ".repeat(160);
                    }
                    logs.push(entry("Failed", m, "Error", "QueryExecution", message));
                }
                Outcome::Slow | Outcome::Odd | Outcome::Gone => {}
            }
        }
        logs
    }
}

/// One extraction: run, or read by an id naming an outcome.
struct Extraction {
    outcome: Outcome,
    /// The iModel it was run on (`None` for one only read by id).
    imodel: Option<String>,
    mappings: Vec<String>,
    started_on: String,
    polls: u64,
    after_terminal: u64,
    terminal_sent: bool,
}

impl Extraction {
    /// One started now, not yet read.
    fn new(outcome: Outcome, imodel: Option<String>, mappings: Vec<String>) -> Extraction {
        Extraction {
            outcome,
            imodel,
            mappings,
            started_on: now(),
            polls: 0,
            after_terminal: 0,
            terminal_sent: false,
        }
    }
}

/// The extractions a simulator knows, and what it counted of them.
#[derive(Default)]
pub struct Extractions {
    /// By id.
    known: BTreeMap<String, Extraction>,
    /// The ids of the runs, in order.
    runs: Vec<String>,
    /// The bodies of the runs, in order.
    bodies: Vec<Value>,
    /// State reads of ids that name no outcome.
    unknown: BTreeMap<String, u64>,
}

/// What the routes need to know of the simulator.
pub struct Ctx<'a> {
    /// Its base URL.
    pub base: &'a str,
    /// Polls answered `Running`.
    pub running_polls: u64,
}

impl Extractions {
    /// `POST …/extractions`: checks the body, then runs the extraction its mappings script.
    pub fn run(&mut self, ctx: &Ctx<'_>, content_type: &str, body: &[u8]) -> Response {
        let invalid =
            |message: &str, target| error(422, "InvalidExtractionRequest", message, Some(target));
        if content_type.split(';').next().map(str::trim) != Some("application/json") {
            return error(415, "UnsupportedMediaType", "Send application/json.", None);
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            let message = "The request body must be a JSON object.";
            return error(422, "InvalidExtractionRequest", message, None);
        };
        let known = ["iModelId", "mappings", "changesetId", "ecInstanceIds"];
        if let Some(field) = body.keys().find(|f| !known.contains(&f.as_str())) {
            return invalid(&format!("Unknown field {field}."), field);
        }
        let imodel = match body.get("iModelId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return invalid("iModelId must be a non-empty string.", "iModelId"),
        };
        let mapping_id = |m: &Value| {
            let id = m
                .as_object()
                .filter(|m| m.len() == 1)?
                .get("id")?
                .as_str()?;
            (!id.is_empty()).then(|| id.to_owned())
        };
        let mappings: Option<Vec<String>> = match body.get("mappings") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().map(mapping_id).collect(),
            _ => None,
        };
        let Some(mappings) = mappings else {
            let message = "mappings must be a non-empty array of {\"id\": \"…\"} objects.";
            return invalid(message, "mappings");
        };
        if !matches!(body.get("changesetId"), None | Some(Value::String(_))) {
            return invalid("changesetId must be a string.", "changesetId");
        }
        let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if body.get("ecInstanceIds").is_some_and(|v| !strings(v)) {
            return invalid(
                "ecInstanceIds must be an array of strings.",
                "ecInstanceIds",
            );
        }
        if imodel.starts_with("missing") {
            let message = "Requested iModel is not available.";
            return error(404, "IModelNotFound", message, Some("iModelId"));
        }
        let outcome = Outcome::of_run(&mappings);
        let id = format!("{}-x{}", outcome.prefix(), self.runs.len() + 1);
        let extraction = Extraction::new(outcome, Some(imodel), mappings);
        let mut answer = object(ctx, &id, "Queued", &extraction.started_on);
        // The run's answer links to the state only.
        answer["_links"] = json!({ "status": answer["_links"]["status"].take() });
        self.known.insert(id.clone(), extraction);
        self.runs.push(id);
        self.bodies.push(Value::Object(body));
        reply(201, json!({ "extraction": answer }))
    }

    /// The extraction `id`, known or new if its prefix names an outcome.
    fn get(&mut self, id: &str) -> Option<&mut Extraction> {
        if !self.known.contains_key(id) {
            let outcome = Outcome::of(id)?;
            let mappings = vec![format!("{}-m1", outcome.prefix())];
            let extraction = Extraction::new(outcome, None, mappings);
            self.known.insert(id.to_owned(), extraction);
        }
        self.known.get_mut(id)
    }

    /// `GET …/extractions/{id}`: its next state.
    pub fn state(&mut self, ctx: &Ctx<'_>, id: &str) -> Response {
        let Some(extraction) = self.get(id) else {
            *self.unknown.entry(id.to_owned()).or_default() += 1;
            return not_found();
        };
        extraction.polls += 1;
        extraction.after_terminal += u64::from(extraction.terminal_sent);
        let Some(state) = extraction
            .outcome
            .state(extraction.polls, ctx.running_polls)
        else {
            return not_found();
        };
        extraction.terminal_sent |= matches!(state, "Succeeded" | "PartiallySucceeded" | "Failed");
        let answer = object(ctx, id, state, &extraction.started_on);
        reply(200, json!({ "extraction": answer }))
    }

    /// `GET …/extractions/{id}/logs`: one page of its log.
    pub fn logs(&mut self, ctx: &Ctx<'_>, id: &str, query: &str) -> Response {
        let Some(extraction) = self.get(id).filter(|e| e.outcome != Outcome::Gone) else {
            return not_found();
        };
        let mut logs = extraction.outcome.logs(&extraction.mappings);
        for (i, entry) in logs.iter_mut().enumerate() {
            entry["dateTime"] = json!(LOG_TIMES[i % 2]);
        }
        let path = format!("{GM}/extractions/{id}/logs");
        match page(ctx, &path, &[], query, LOG_PAGE, logs) {
            Ok((entries, links)) => reply(200, json!({ "logs": entries, "_links": links })),
            Err(refused) => refused,
        }
    }

    /// `GET …/extractions?iModelId=…`: the runs on that iModel, newest first.
    pub fn list(&mut self, ctx: &Ctx<'_>, query: &str) -> Response {
        // The raw (still percent-encoded) value is what goes back into links.
        let Some(raw) = form_raw(query, "iModelId").filter(|id| !id.is_empty()) else {
            let message = "Required query parameter iModelId is missing.";
            return error(422, "InvalidRequest", message, Some("iModelId"));
        };
        let imodel = form_value(query, "iModelId").unwrap_or_default();
        if imodel.starts_with("missing") {
            let message = "Requested iModel is not available.";
            return error(404, "IModelNotFound", message, Some("iModelId"));
        }
        let objects: Vec<Value> = self
            .runs
            .iter()
            .rev()
            .filter_map(|id| Some((id, self.known.get(id)?)))
            .filter(|(_, e)| e.imodel.as_deref() == Some(&imodel) && e.outcome != Outcome::Gone)
            .filter_map(|(id, e)| {
                let state = e.outcome.state(e.polls, ctx.running_polls)?;
                Some(object(ctx, id, state, &e.started_on))
            })
            .collect();
        let path = format!("{GM}/extractions");
        match page(ctx, &path, &[("iModelId", raw)], query, LIST_PAGE, objects) {
            Ok((extractions, links)) => {
                reply(200, json!({ "extractions": extractions, "_links": links }))
            }
            Err(refused) => refused,
        }
    }

    /// The run bodies, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.clone()
    }

    /// Adds its counts to `stats`.
    pub fn count(&self, stats: &mut Stats) {
        stats.extractions = self.runs.clone();
        stats.extraction_polls = self.unknown.clone();
        for (id, e) in &self.known {
            stats.extraction_polls.insert(id.clone(), e.polls);
            stats
                .extraction_after_terminal
                .insert(id.clone(), e.after_terminal);
        }
    }
}

/// 404 for an extraction the simulator does not serve.
fn not_found() -> Response {
    let message = "Requested extraction is not available.";
    error(404, "ExtractionNotFound", message, Some("extractionId"))
}

/// The state object of extraction `id`.
fn object(ctx: &Ctx<'_>, id: &str, state: &str, started_on: &str) -> Value {
    let status = format!("{}{GM}/extractions/{id}", ctx.base);
    let logs = format!("{status}/logs");
    json!({
        "id": id,
        "state": state,
        "startedOn": started_on,
        "_links": { "status": { "href": status }, "logs": { "href": logs } },
    })
}

/// One page of `items` by the query's `$top` (1 to 1000, at most `most` a page) and
/// `$continuationToken` (the offset, as the `next` link gives it), with its links: `self`, and
/// `next` while more remain. `keep` are the raw query parameters every link repeats.
fn page(
    ctx: &Ctx<'_>,
    path: &str,
    keep: &[(&str, &str)],
    query: &str,
    most: usize,
    items: Vec<Value>,
) -> Result<(Vec<Value>, Value), Response> {
    let invalid = |message: &str, target| error(422, "InvalidRequest", message, Some(target));
    let top = match form_value(query, "$top") {
        None => None,
        Some(top) => match top.parse::<usize>() {
            Ok(n @ 1..=1000) => Some(n),
            _ => {
                return Err(invalid(
                    "$top must be a whole number from 1 to 1000.",
                    "$top",
                ));
            }
        },
    };
    let skip = match form_value(query, "$continuationToken") {
        None => 0,
        Some(token) => match token.parse::<usize>() {
            Ok(n) if n <= items.len() => n,
            _ => return Err(invalid("Invalid continuation token.", "$continuationToken")),
        },
    };
    let size = top.map_or(most, |top| top.min(most));
    let link = |offset: usize| {
        let mut params: Vec<String> = keep.iter().map(|(k, v)| format!("{k}={v}")).collect();
        params.extend(top.map(|top| format!("$top={top}")));
        if offset > 0 {
            params.push(format!("$continuationToken={offset}"));
        }
        let query = params.join("&");
        let separator = if query.is_empty() { "" } else { "?" };
        json!({ "href": format!("{}{path}{separator}{query}", ctx.base) })
    };
    let end = (skip + size).min(items.len());
    let mut links = Map::new();
    links.insert("self".into(), link(skip));
    if end < items.len() {
        links.insert("next".into(), link(end));
    }
    let page = items.into_iter().skip(skip).take(size).collect();
    Ok((page, Value::Object(links)))
}

/// Now, as `2024-05-01T10:00:00+00:00`.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, time) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let (h, m, s) = (time / 3600, time % 3600 / 60, time % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}+00:00")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_844), (2024, 5, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn the_first_scripted_mapping_decides() {
        let run =
            |ids: &[&str]| Outcome::of_run(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(run(&["ok-1", "a-1", "fail-2", "partial-1"]), Outcome::Fail);
        assert_eq!(run(&["okay-1", "x"]), Outcome::Ok);
        assert_eq!(run(&["gone"]), Outcome::Gone);
        assert_eq!(Outcome::of("slow-x3"), Some(Outcome::Slow));
        assert_eq!(Outcome::of("slowly-x3"), None);
    }
}
