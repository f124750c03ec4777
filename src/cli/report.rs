//! The result of a query or wait, in the forms users read: the JSON object,
//! the step outputs, and the step summary.

use std::time::Duration;

use serde::Serialize;

use ec3_gate::{Error, Job, JobId};

use super::github::{markdown_cell, markdown_link};
use super::group::{Member, deciding};

/// What is known about a job at the end of a run (or when it was cut short):
/// the `--json` object `{"jobId","status","message","ec3ProjectUrl"}`, with
/// `null` where absent (and `"error"` after a run that ended in one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The job id, when valid.
    pub job_id: Option<String>,
    /// The last status the service answered.
    pub status: Option<String>,
    /// The job's failure message.
    pub message: Option<String>,
    /// Link to the EC3 project.
    pub ec3_project_url: Option<String>,
    /// `upload --extract`: the job's extraction, and the stage the run
    /// ended in (keys present, `null` where unknown).
    #[serde(flatten)]
    pub extraction: Option<ExtractionFields>,
}

/// The keys `upload --extract` adds to a job's object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractionFields {
    /// The extraction's id, once it exists.
    pub extraction_id: Option<String>,
    /// Its last state.
    pub extraction_state: Option<String>,
    /// `extraction` (no job was created) or `job`.
    pub stage: Option<String>,
}

impl Report {
    /// A report of `job` (the last answer, if any) for `id`.
    pub fn new(id: Option<&JobId>, job: Option<&Job>) -> Self {
        Self {
            job_id: id.map(|i| i.as_str().to_owned()),
            status: job.map(|j| j.status.as_str().to_owned()),
            message: job.and_then(|j| j.message.clone()),
            ec3_project_url: job.and_then(|j| j.ec3_project_url.clone()),
            extraction: None,
        }
    }

    /// The one-line JSON object; when the run ended in `error`, with an
    /// `"error"` key holding its text (the text stderr shows).
    pub fn to_json(&self, error: Option<&Error>) -> String {
        /// The report's keys, then `error`.
        #[derive(Serialize)]
        struct Failed<'a> {
            #[serde(flatten)]
            report: &'a Report,
            error: String,
        }
        let json = match error {
            Some(e) => serde_json::to_string(&Failed {
                report: self,
                error: e.to_string(),
            }),
            None => serde_json::to_string(self),
        };
        json.unwrap_or_else(|_| "{}".to_owned())
    }

    /// The step outputs `status`, `message`, `ec3-project-url`, `job-id`
    /// (empty strings where absent).
    pub fn outputs(&self) -> [(&'static str, &str); 4] {
        fn s(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("")
        }
        [
            ("status", s(&self.status)),
            ("message", s(&self.message)),
            ("ec3-project-url", s(&self.ec3_project_url)),
            ("job-id", s(&self.job_id)),
        ]
    }

    /// A short Markdown report for `$GITHUB_STEP_SUMMARY`; `outcome` is the
    /// one-line verdict ("succeeded", "timed out", …). Every value is escaped
    /// for its table cell.
    pub fn summary(&self, outcome: &str, elapsed: Duration) -> String {
        let cell = |v: &Option<String>| v.as_deref().map_or_else(|| "–".to_owned(), markdown_cell);
        let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
        let link = self
            .ec3_project_url
            .as_deref()
            .map_or_else(|| "–".to_owned(), markdown_link);
        let extraction = self.extraction.as_ref().map_or_else(String::new, |e| {
            format!(
                "| Extraction | {} ({}) |\n",
                cell(&e.extraction_id),
                cell(&e.extraction_state)
            )
        });
        format!(
            "### EC3 upload job: {}\n\n| | |\n|---|---|\n{extraction}| Job | {} |\n| Status | {} |\n| Elapsed | {elapsed} |\n| EC3 project | {link} |\n| Message | {} |\n\n",
            markdown_cell(outcome),
            cell(&self.job_id),
            cell(&self.status),
            cell(&self.message),
        )
    }
}

/// What is known about the jobs of a group run: one [`Report`] per job, in
/// input order, and the job that decides the run's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupReport {
    /// One report per job.
    pub reports: Vec<Report>,
    /// The position of the job that decides the result; `None` when every
    /// job succeeded.
    pub deciding: Option<usize>,
}

impl GroupReport {
    /// The report of `members`.
    pub fn new(members: &[Member]) -> Self {
        Self {
            reports: members
                .iter()
                .map(|m| Report::new(m.id.as_ref(), m.job.as_ref()))
                .collect(),
            deciding: deciding(members),
        }
    }

    /// The JSON array of the jobs' objects (the `jobs` output).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.reports).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The step outputs of several jobs: `status` is the status of the job
    /// that decides the result (the exit status), or, when every job
    /// succeeded, theirs (`Succeeded` after a wait; empty when the jobs
    /// were only created); `message` is the deciding job's; `job-id` and
    /// `ec3-project-url` list every job, one line each in input order
    /// (empty where unknown); `jobs` holds the JSON array of the jobs'
    /// objects.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let field = |f: fn(&Report) -> &Option<String>| {
            let line = |r: &Report| f(r).clone().unwrap_or_default();
            self.reports.iter().map(line).collect::<Vec<_>>().join("\n")
        };
        let decider = self.reports.get(self.deciding.unwrap_or(0));
        let of = |f: fn(&Report) -> &Option<String>| {
            decider.and_then(|r| f(r).clone()).unwrap_or_default()
        };
        vec![
            ("status", of(|r| &r.status)),
            ("message", of(|r| &r.message)),
            ("ec3-project-url", field(|r| &r.ec3_project_url)),
            ("job-id", field(|r| &r.job_id)),
            ("jobs", self.to_json()),
        ]
    }

    /// A Markdown table for `$GITHUB_STEP_SUMMARY`, one row per job with its
    /// link; every value escaped for its cell.
    pub fn summary(&self, outcome: &str, elapsed: Duration) -> String {
        let cell = |v: &Option<String>| v.as_deref().map_or_else(|| "–".to_owned(), markdown_cell);
        let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
        let extracted = self.reports.iter().any(|r| r.extraction.is_some());
        let mut text = if extracted {
            format!(
                "### EC3 upload jobs: {}\n\n| Extraction | Job | Status | EC3 project | Message |\n|---|---|---|---|---|\n",
                markdown_cell(outcome)
            )
        } else {
            format!(
                "### EC3 upload jobs: {}\n\n| Job | Status | EC3 project | Message |\n|---|---|---|---|\n",
                markdown_cell(outcome)
            )
        };
        for r in &self.reports {
            let link = r
                .ec3_project_url
                .as_deref()
                .map_or_else(|| "–".to_owned(), markdown_link);
            if let Some(e) = r.extraction.as_ref().filter(|_| extracted) {
                text.push_str(&format!(
                    "| {} ({}) ",
                    cell(&e.extraction_id),
                    cell(&e.extraction_state)
                ));
            }
            text.push_str(&format!(
                "| {} | {} | {link} | {} |\n",
                cell(&r.job_id),
                cell(&r.status),
                cell(&r.message)
            ));
        }
        text.push_str(&format!("\nElapsed: {elapsed}\n\n"));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_nulls_where_absent() {
        assert_eq!(
            Report::default().to_json(None),
            r#"{"jobId":null,"status":null,"message":null,"ec3ProjectUrl":null}"#
        );
        let job = Job::from_json(br#"{"job":{"status":"Failed","message":"a\nb"}}"#).unwrap();
        let r = Report::new(Some(&JobId::new("j1").unwrap()), Some(&job));
        assert_eq!(
            r.to_json(None),
            r#"{"jobId":"j1","status":"Failed","message":"a\nb","ec3ProjectUrl":null}"#
        );
        // Only a run that ended in an error adds its text.
        assert_eq!(
            r.to_json(Some(&Error::TimedOut)),
            r#"{"jobId":"j1","status":"Failed","message":"a\nb","ec3ProjectUrl":null,"error":"timed out waiting for the job"}"#
        );
        assert_eq!(r.outputs()[1], ("message", "a\nb"));
        assert_eq!(r.outputs()[2], ("ec3-project-url", ""));
    }

    #[test]
    fn summary_rows_stay_one_line_each() {
        let job = Job::from_json(br#"{"job":{"status":"Failed","message":"x | y\n| z"}}"#).unwrap();
        let s = Report::new(Some(&JobId::new("j1").unwrap()), Some(&job))
            .summary("failed", Duration::from_millis(62_500));
        let rows: Vec<&str> = s.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 7, "{s}");
        assert!(s.contains("| Elapsed | 1m 2s |"), "{s}");
        assert!(s.contains("| Message | x &#124; y<br>&#124; z |"), "{s}");
    }
}
