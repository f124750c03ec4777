//! Extractions on the command line: `upload --extract` (the core's chain,
//! [`Client::extract_and_upload`]) and `extract`; what is known of the
//! extractions while they run ([`ChainSeen`]), so even an interrupted run
//! reports their ids; and how their outcomes read for people and the runner.

use std::time::{Duration, Instant};

use ec3_gate::{
    Cancel, ChainOutcome, Client, Error, ExtractAndUpload, Extraction, ExtractionFailure,
    ExtractionId, ExtractionLog, ExtractionState, JobId, LogLevel, NewExtraction, Stage,
    WaitOptions,
};
use serde::Serialize;

use super::Outcome;
use super::github::markdown_cell;
use super::group::Member;
use super::out;
use super::progress::Progress;
use super::report::ExtractionFields;
use super::reporter::{LastSeen, Reporter, Seen, Verdict};
use super::text::{json_line, one_line};

/// One extraction as far as the run got.
#[derive(Debug, Clone, Default)]
pub struct ExtractionSeen {
    /// Its id, once it exists.
    pub id: Option<ExtractionId>,
    /// Its last state.
    pub state: Option<ExtractionState>,
    /// Its Warning and Error log entries (read when it finished other than
    /// Succeeded).
    pub problems: Vec<ExtractionLog>,
}

/// The extractions of a run (`upload --extract`, `extract`).
#[derive(Debug, Clone)]
pub struct ChainSeen {
    /// By the index the core's events give.
    pub extractions: Vec<ExtractionSeen>,
    /// The extraction of each job (by configuration position); empty
    /// until the chain said.
    pub of_job: Vec<usize>,
    /// The stage the run is in: no job exists before [`Stage::Job`].
    pub stage: Stage,
    /// The `extraction-id` output written already, and its value.
    pub id_written: Option<String>,
    /// The `extract` command (no jobs).
    pub extract_only: bool,
    /// `extract`: the iModel and its link.
    pub imodel: Option<(String, String)>,
}

impl Default for ChainSeen {
    fn default() -> Self {
        Self {
            extractions: Vec::new(),
            of_job: Vec::new(),
            stage: Stage::Extraction,
            id_written: None,
            extract_only: false,
            imodel: None,
        }
    }
}

impl ChainSeen {
    fn at(&mut self, index: usize) -> &mut ExtractionSeen {
        if self.extractions.len() <= index {
            self.extractions
                .resize_with(index + 1, ExtractionSeen::default);
        }
        &mut self.extractions[index]
    }

    /// Records that the extraction at `index` exists.
    pub fn started(&mut self, index: usize, id: &ExtractionId) {
        self.at(index).id = Some(id.clone());
    }

    /// Records an answer about the extraction at `index`; once every known
    /// extraction finished, the run is past the extraction stage (a job
    /// may exist from then on).
    pub fn answered(&mut self, index: usize, extraction: &Extraction) {
        let seen = self.at(index);
        seen.id = Some(extraction.id.clone());
        seen.state = Some(extraction.state.clone());
        let finished = self
            .extractions
            .iter()
            .all(|e| e.state.as_ref().is_some_and(ExtractionState::is_finished));
        if finished && !self.extract_only {
            self.stage = Stage::Job;
        }
    }

    /// The distinct extraction ids, one per line (the `extraction-id`
    /// output).
    pub fn ids(&self) -> String {
        let ids: Vec<&str> = self
            .extractions
            .iter()
            .map(|e| e.id.as_ref().map_or("", ExtractionId::as_str))
            .collect();
        ids.join("\n")
    }

    /// The JSON keys of the job at `index`.
    pub fn fields(&self, index: usize) -> ExtractionFields {
        let extraction = self
            .extractions
            .get(self.of_job.get(index).copied().unwrap_or(0));
        ExtractionFields {
            extraction_id: extraction.and_then(|e| e.id.as_ref().map(|i| i.as_str().to_owned())),
            extraction_state: extraction
                .and_then(|e| e.state.as_ref().map(|s| s.as_str().to_owned())),
            stage: Some(self.stage.as_str().to_owned()),
        }
    }

    /// The step outputs `extraction-id`, `extraction-state` (one line per
    /// extraction) and `stage` (`extraction-id` left out when written
    /// already with this value).
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let ids = self.ids();
        let states: Vec<&str> = self
            .extractions
            .iter()
            .map(|e| e.state.as_ref().map_or("", ExtractionState::as_str))
            .collect();
        let mut outputs = Vec::new();
        if self.id_written.as_deref() != Some(ids.as_str()) {
            outputs.push(("extraction-id", ids));
        }
        outputs.push(("extraction-state", states.join("\n")));
        outputs.push(("stage", self.stage.as_str().to_owned()));
        outputs
    }

    /// The `message` (output, JSON key, summary cell) of a run that
    /// stopped at the extraction because it did not succeed (`Failed`, or
    /// `PartiallySucceeded` not allowed): the failure's message, the core's
    /// capped text from the logs' Error entries. `None` otherwise (a job's
    /// message is the job's).
    pub fn message(&self, outcome: &Outcome) -> Option<String> {
        match outcome {
            Outcome::Failed(Error::ExtractionFailed(failure))
                if self.stage == Stage::Extraction =>
            {
                Some(failure.message.clone())
            }
            _ => None,
        }
    }

    /// The verdict of a chain names its stage: a failed or timed-out
    /// extraction, and that no job was created.
    pub fn explain(&self, verdict: &mut Verdict, outcome: &Outcome) {
        if self.stage != Stage::Extraction {
            return;
        }
        let first = self.extractions.first();
        let id = first
            .and_then(|e| e.id.as_ref())
            .map_or("(not started)", ExtractionId::as_str);
        let state = first
            .and_then(|e| e.state.as_ref())
            .map_or_else(|| "unanswered".to_owned(), ToString::to_string);
        let took = humantime::format_duration(Duration::from_secs(verdict.elapsed.as_secs()));
        match outcome {
            Outcome::Failed(e @ Error::ExtractionFailed(_)) => {
                verdict.title = "EC3 extraction failed";
                verdict.text = format!("no EC3 job was created: {e}");
            }
            Outcome::Failed(Error::TimedOut) => {
                verdict.title = "EC3 extraction timed out";
                verdict.text = format!(
                    "extraction {id} was still {state} after {took}; no EC3 job was created"
                );
            }
            Outcome::Failed(e) if !e.is_usage() => {
                verdict.text = format!("no EC3 job was created (extraction {id}): error: {e}");
            }
            Outcome::Interrupted(_) => {
                verdict.text = format!(
                    "{} while extraction {id} was {state}; no EC3 job was created",
                    verdict.text
                );
            }
            _ => {}
        }
    }
}

/// `upload --extract`: the core's chain, reported as `upload` reports one
/// job or several.
pub fn chain(
    client: &Client,
    chain: &ExtractAndUpload,
    options: &WaitOptions,
    wait: bool,
    cancel: &Cancel,
    seen: &LastSeen,
    progress: &mut Progress,
) -> Outcome {
    let n = chain.jobs.configuration_ids.len();
    seen.chain(|_| {});
    if n > 1 {
        seen.members(vec![Member::pending(None); n]);
    }
    let result = client.extract_and_upload(chain, options, wait, cancel, progress);
    progress.finish();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => return Outcome::Failed(e),
    };
    record(seen, &outcome);
    for warning in &outcome.warnings {
        progress.reporter().warning(warning, &|l| progress.line(l));
    }
    if let Some(stopped) = outcome.stopped {
        return Outcome::Failed(stopped);
    }
    if n == 1 {
        let job = &outcome.jobs[0];
        if let Some(last) = &job.last_seen {
            seen.job(last);
        }
        return match (&job.result, &job.id) {
            (Ok(Some(finished)), _) => Outcome::Finished(finished.clone()),
            (Ok(None), Some(id)) => Outcome::Created(id.clone()),
            (Ok(None), None) => Outcome::Failed(Error::Internal("a job without an id".into())),
            (Err(e), _) => Outcome::Failed(e.clone()),
        };
    }
    let ids: Vec<Option<JobId>> = outcome.jobs.iter().map(|j| j.id.clone()).collect();
    if !seen.get().job_id_written {
        progress.reporter().jobs_created(&ids, seen);
    }
    let members: Vec<Member> = outcome
        .jobs
        .into_iter()
        .map(|j| Member {
            id: j.id,
            job: j.last_seen,
            result: j.result,
        })
        .collect();
    seen.members(members.clone());
    Outcome::Group(members)
}

/// What the chain came to, into `seen`.
fn record(seen: &LastSeen, outcome: &ChainOutcome) {
    seen.chain(|c| {
        c.stage = outcome.stage();
        c.of_job = outcome
            .jobs
            .iter()
            .map(|j| j.extraction.unwrap_or(0))
            .collect();
        for (i, e) in outcome.extractions.iter().enumerate() {
            let at = c.at(i);
            at.id.clone_from(&e.id);
            if let Some(state) = e.state() {
                at.state = Some(state.clone());
            }
            at.problems.clone_from(&e.problems);
        }
    });
}

/// What the `extract` command asks.
pub struct Ask<'a> {
    /// The extraction.
    pub new: &'a NewExtraction,
    /// The deadline (of the run and the wait together) and the interval.
    pub options: &'a WaitOptions,
    /// Wait until it finished.
    pub wait: bool,
    /// A `PartiallySucceeded` extraction passes, with a warning.
    pub allow_partial: bool,
}

/// The `extract` command's run: the extraction, and with `wait` its end
/// (and then its logs, when it did not simply succeed).
pub fn extract(
    client: &Client,
    ask: &Ask<'_>,
    cancel: &Cancel,
    seen: &LastSeen,
    progress: &mut Progress,
) -> Outcome {
    let Ask {
        new,
        options,
        wait,
        allow_partial,
    } = *ask;
    let started = Instant::now();
    seen.chain(|c| {
        c.extract_only = true;
        c.imodel = Some((new.imodel_id.clone(), client.imodel_url(&new.imodel_id)));
    });
    // One deadline: the run and the wait share `options.timeout()`.
    let Ok(timeout) = ec3_gate::Timeout::new(options.timeout()) else {
        return Outcome::Failed(Error::config("--timeout", "is out of range"));
    };
    let extraction = match client.run_extraction(new, timeout, cancel, progress) {
        Ok(e) => e,
        Err(e) => return Outcome::Failed(e),
    };
    seen.chain(|c| c.answered(0, &extraction));
    if !wait {
        return Outcome::Extracted(extraction);
    }
    let left = options
        .timeout()
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    let left = WaitOptions::new(left, options.interval()).unwrap_or(*options);
    let finished = client.wait_extraction(&extraction.id, &left, cancel, progress);
    progress.finish();
    let finished = match finished {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(e),
    };
    seen.chain(|c| c.answered(0, &finished));
    if finished.state == ExtractionState::Succeeded {
        return Outcome::Extracted(finished);
    }
    // The logs say why; a short deadline left for them is still a deadline.
    let left = options
        .timeout()
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    let logs = ec3_gate::Timeout::new(left)
        .and_then(|t| client.extraction_logs(&finished.id, t, cancel, progress));
    if let Err(Error::Cancelled) = logs {
        return Outcome::Failed(Error::Cancelled);
    }
    let message = match &logs {
        Ok(logs) => ec3_gate::failure_message(logs),
        Err(e) => format!("its logs could not be read: {e}"),
    };
    let problems: Vec<ExtractionLog> = logs
        .unwrap_or_default()
        .into_iter()
        .filter(|l| matches!(l.level, LogLevel::Warning | LogLevel::Error))
        .collect();
    seen.chain(|c| c.at(0).problems = problems);
    if finished.state == ExtractionState::PartiallySucceeded && allow_partial {
        let text = format!(
            "extraction {} PartiallySucceeded; accepted as allowed: {}",
            finished.id,
            one_line(&message, 2000)
        );
        progress.reporter().warning(&text, &|l| progress.line(l));
        return Outcome::Extracted(finished);
    }
    let failure = ExtractionFailure::new(finished.id, finished.state, message);
    Outcome::Failed(Error::ExtractionFailed(Box::new(failure)))
}

/// The `extract --json` object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractReport<'a> {
    id: Option<&'a str>,
    state: Option<&'a str>,
    #[serde(rename = "iModelId")]
    imodel_id: Option<&'a str>,
    #[serde(rename = "iModelUrl")]
    imodel_url: Option<&'a str>,
    logs: &'a [ExtractionLog],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Reports the `extract` command: the id (or the JSON object) on stdout,
/// the verdict, and in GitHub mode the outputs `extraction-id` and
/// `extraction-state` and a summary.
pub fn finish_extract(reporter: &dyn Reporter, seen: &Seen, outcome: &Outcome, elapsed: Duration) {
    let chain = seen.chain.clone().unwrap_or_default();
    let first = chain.extractions.first().cloned().unwrap_or_default();
    let id = first.id.as_ref().map(ExtractionId::as_str);
    let state = first.state.as_ref().map(ExtractionState::as_str);
    let error = match outcome {
        Outcome::Failed(e) => Some(e),
        _ => None,
    };
    let usage = error.is_some_and(Error::is_usage);
    let wants_json = reporter.json();
    if wants_json && !usage {
        let report = ExtractReport {
            id,
            state,
            imodel_id: chain.imodel.as_ref().map(|(i, _)| i.as_str()),
            imodel_url: chain.imodel.as_ref().map(|(_, u)| u.as_str()),
            logs: &first.problems,
            error: error.map(ToString::to_string),
        };
        let text = serde_json::to_string(&report).unwrap_or_else(|_| "{}".to_owned());
        out!("{}", json_line(&text));
    } else if !wants_json {
        if let Some(id) = id {
            out!("{id}");
        }
    }
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
    let shown = id.unwrap_or("(not started)");
    let (title, text, level) = match outcome {
        Outcome::Extracted(e) if e.state.is_finished() => (
            "EC3 extraction finished",
            format!("extraction {shown} {} after {took}", e.state),
            "notice",
        ),
        Outcome::Extracted(e) => (
            "EC3 extraction started",
            format!("started extraction {shown} ({})", e.state),
            "notice",
        ),
        Outcome::Failed(Error::TimedOut) => (
            "EC3 extraction timed out",
            format!(
                "extraction {shown} was still {} after {took}",
                first
                    .state
                    .as_ref()
                    .map_or_else(|| "unanswered".to_owned(), ToString::to_string)
            ),
            "error",
        ),
        Outcome::Failed(e @ Error::ExtractionFailed(_)) => {
            ("EC3 extraction failed", format!("error: {e}"), "error")
        }
        Outcome::Failed(e) if e.is_usage() => {
            ("ec3-gate usage error", format!("error: {e}"), "error")
        }
        Outcome::Failed(e) => ("ec3-gate error", format!("error: {e}"), "error"),
        Outcome::Interrupted(sig) => (
            "ec3-gate interrupted",
            format!("interrupted by signal {sig} after {took}; extraction {shown}"),
            "error",
        ),
        _ => ("extraction", String::new(), "notice"),
    };
    let verdict = Verdict {
        title,
        text,
        level,
        usage,
        gates: true,
        elapsed,
    };
    reporter.verdict(&verdict);
    let mut outputs = chain.outputs();
    outputs.retain(|(name, _)| *name != "stage");
    let pending: Vec<(&str, &str)> = outputs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let summary = (!usage).then(|| {
        let mut summary = format!(
            "### EC3 extraction: {}\n\n| | |\n|---|---|\n| Extraction | {} |\n| State | {} |\n| iModel | {} |\n| Elapsed | {took} |\n",
            markdown_cell(title),
            markdown_cell(shown),
            markdown_cell(state.unwrap_or("–")),
            markdown_cell(chain.imodel.as_ref().map_or("–", |(i, _)| i.as_str())),
        );
        for log in first.problems.iter().take(20) {
            summary.push_str(&format!(
                "| {} | {} |\n",
                markdown_cell(log.level.as_str()),
                markdown_cell(&log.line())
            ));
        }
        summary.push('\n');
        summary
    });
    reporter.record_extract(&pending, summary.as_deref());
}
