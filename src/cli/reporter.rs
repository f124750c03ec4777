//! How a run talks: one [`Reporter`] per output mode. Human and JSON differ
//! in what stdout carries; GitHub adds annotations, step outputs and the
//! step summary (with either stdout form).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ec3_gate::{Error, Job, JobId, JobStatus};

use super::doctor;
use super::extract::ChainSeen;
use super::github::{self, WARNING_TITLE, annotation, command};
use super::group::Member;
use super::report::{GroupReport, Report};
use super::text::{json_line, one_line};
use super::{Outcome, err, out, runner};

/// The job id and the last answer seen, shared with the thread that reports
/// the outcome, so even an interrupted run reports them.
#[derive(Clone, Default)]
pub struct LastSeen(Arc<Mutex<Seen>>);

/// The contents of [`LastSeen`].
#[derive(Clone, Default)]
pub struct Seen {
    /// The job's id, once known.
    pub job_id: Option<JobId>,
    /// The last answer.
    pub job: Option<Job>,
    /// The `job-id` step output was written already.
    pub job_id_written: bool,
    /// A group run: every job as far as it got, in input order.
    pub members: Option<Vec<Member>>,
    /// `upload --extract` and `extract`: the extractions as far as they got.
    pub chain: Option<ChainSeen>,
}

impl LastSeen {
    /// A copy of what was seen.
    pub fn get(&self) -> Seen {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Records something about the extractions of the run.
    pub fn chain(&self, f: impl FnOnce(&mut ChainSeen)) {
        self.update(|s| f(s.chain.get_or_insert_with(ChainSeen::default)));
    }

    /// Records the job's id.
    pub fn job_id(&self, id: JobId) {
        self.update(|s| s.job_id = Some(id));
    }

    /// Records the last answer.
    pub fn job(&self, job: &Job) {
        self.update(|s| s.job = Some(job.clone()));
    }

    /// Records the jobs of a group run.
    pub fn members(&self, members: Vec<Member>) {
        self.update(|s| s.members = Some(members));
    }

    /// Records that the job at `index` was created as `id` (and not yet
    /// waited for).
    pub fn member_created(&self, index: usize, id: &JobId) {
        self.update(|s| {
            if let Some(member) = s.members.iter_mut().flatten().nth(index) {
                *member = Member {
                    id: Some(id.clone()),
                    job: None,
                    result: Ok(None),
                };
            }
        });
    }

    /// Records the last answer about `id` (at every position it holds).
    pub fn member_job(&self, id: &JobId, job: &Job) {
        self.for_member(id, |m| m.job = Some(job.clone()));
    }

    /// Records how the wait for `id` ended.
    pub fn member_ended(&self, id: &JobId, result: &Result<Job, Error>) {
        self.for_member(id, |m| m.result = result.clone().map(Some));
    }

    fn for_member(&self, id: &JobId, f: impl Fn(&mut Member)) {
        self.update(|s| {
            let members = s.members.iter_mut().flatten();
            members.filter(|m| m.id.as_ref() == Some(id)).for_each(f);
        });
    }
}

/// Where the result of a run goes, by output mode.
pub trait Reporter: Send + Sync {
    /// Prints the result on stdout: only values the tool validated, or
    /// escaped text.
    fn result(&self, outcome: &Outcome, report: &Report);

    /// The lines [`Reporter::result`] prints (without line ends).
    fn result_lines(&self, outcome: &Outcome, report: &Report) -> Vec<String>;

    /// Tells the person (or the runner) how the run ended.
    fn verdict(&self, verdict: &Verdict);

    /// Prints a warning whose `text` may hold server text; `line` prints a
    /// plain line on stderr (above a spinner, if any).
    fn warning(&self, text: &str, line: &dyn Fn(&str)) {
        line(&format!("ec3-gate: warning: {}", one_line(text, 2000)));
    }

    /// A job was created: its id is known before the wait.
    fn job_created(&self, _id: &JobId, _seen: &LastSeen) {}

    /// An extraction was started: its id is known before the wait.
    fn extraction_started(&self, _seen: &LastSeen) {}

    /// The jobs of a group were created (`None` where one could not be).
    fn jobs_created(&self, _ids: &[Option<JobId>], _seen: &LastSeen) {}

    /// Prints a group's result on stdout, one line per job in input order.
    fn group_result(&self, members: &[Member], reports: &[Report]);

    /// Writes a group run's record (GitHub: step outputs and summary).
    fn record_group(&self, _verdict: &Verdict, _group: &GroupReport, _seen: &Seen) {}

    /// Writes the run's record (GitHub: step outputs and summary).
    fn record(&self, _verdict: &Verdict, _report: &Report, _seen: &Seen) {}

    /// Prints what `doctor` found: for people the settings table, one line
    /// per check and the tally; for JSON one object per check.
    fn doctor(&self, report: &doctor::Report);

    /// Writes an `extract` run's record (GitHub: step outputs and, unless
    /// `None`, the summary).
    fn record_extract(&self, _outputs: &[(&str, &str)], _summary: Option<&str>) {}

    /// Masks `secret` in everything printed after this (GitHub only).
    fn mask(&self, _secret: &str) {}

    /// A live spinner may replace progress lines (never for the runner).
    fn live(&self) -> bool {
        true
    }

    /// Progress and retry lines are shown (not with `--quiet`).
    fn chatty(&self) -> bool {
        true
    }

    /// stdout carries JSON (`--json`).
    fn json(&self) -> bool {
        false
    }
}

/// The reporter for the mode the environment and flags ask for; `quiet`
/// keeps stderr to errors (and the runner's annotations).
pub fn for_mode(github: bool, json: bool, quiet: bool) -> Arc<dyn Reporter> {
    let human = Human { quiet };
    let stdout: Box<dyn Reporter> = if json {
        Box::new(Json { human })
    } else {
        Box::new(human)
    };
    if github {
        Arc::new(GitHub { stdout })
    } else {
        Arc::from(stdout)
    }
}

/// How a run ended, for people.
pub struct Verdict {
    /// The annotation's title.
    pub title: &'static str,
    /// One paragraph.
    pub text: String,
    /// `notice`, `warning` or `error`.
    pub level: &'static str,
    /// A usage error: nothing was sent.
    pub usage: bool,
    /// The run is about a job (not `configurations`).
    pub gates: bool,
    /// How long the run took.
    pub elapsed: Duration,
}

/// Plain text: the status word, the job id, or a configuration table.
#[derive(Default)]
pub struct Human {
    /// `--quiet`: no progress, retry or success lines; only errors.
    quiet: bool,
}

impl Reporter for Human {
    fn doctor(&self, report: &doctor::Report) {
        for line in report.human_lines() {
            out!("{line}");
        }
    }

    fn result(&self, outcome: &Outcome, report: &Report) {
        for line in self.result_lines(outcome, report) {
            out!("{line}");
        }
    }

    fn result_lines(&self, outcome: &Outcome, report: &Report) -> Vec<String> {
        match outcome {
            Outcome::Listed(list) => list
                .iter()
                .map(|c| {
                    let field = |v: &Option<String>| one_line(v.as_deref().unwrap_or(""), 200);
                    format!(
                        "{}\t{}\t{}",
                        one_line(&c.id, 256),
                        field(&c.display_name),
                        field(&c.modified_on)
                    )
                })
                .collect(),
            Outcome::Created(id) => vec![id.to_string()],
            _ => report
                .status
                .iter()
                .map(|status| one_line(status, 64))
                .collect(),
        }
    }

    fn verdict(&self, verdict: &Verdict) {
        if !self.quiet || verdict.level == "error" {
            err!("ec3-gate: {}", one_line(&verdict.text, 2000));
        }
    }

    fn live(&self) -> bool {
        !self.quiet
    }

    fn chatty(&self) -> bool {
        !self.quiet
    }

    /// `ID<TAB>STATUS` per job (`-` where unknown); only the id for a job
    /// created and not waited for.
    fn group_result(&self, members: &[Member], reports: &[Report]) {
        for (member, report) in members.iter().zip(reports) {
            let id = report.job_id.as_deref().unwrap_or("-");
            match &member.result {
                Ok(None) => out!("{id}"),
                _ => out!(
                    "{id}\t{}",
                    one_line(report.status.as_deref().unwrap_or("-"), 64)
                ),
            }
        }
    }
}

/// One JSON value on stdout; stderr as for people.
#[derive(Default)]
pub struct Json {
    human: Human,
}

impl Reporter for Json {
    /// JSON Lines: one `{"name","ok","detail","fix"}` per check.
    fn doctor(&self, report: &doctor::Report) {
        for line in &report.lines {
            out!("{}", json_line(&line.json()));
        }
    }

    fn result(&self, outcome: &Outcome, report: &Report) {
        for line in self.result_lines(outcome, report) {
            out!("{line}");
        }
    }

    fn result_lines(&self, outcome: &Outcome, report: &Report) -> Vec<String> {
        let json = match outcome {
            Outcome::Listed(list) => serde_json::to_string(list).unwrap_or_else(|_| "[]".into()),
            Outcome::Failed(e) if e.is_usage() => return Vec::new(),
            // `doctor` printed its checks already.
            Outcome::Checked { .. } => return Vec::new(),
            Outcome::Failed(e) => report.to_json(Some(e)),
            _ => report.to_json(None),
        };
        vec![json_line(&json)]
    }

    fn verdict(&self, verdict: &Verdict) {
        self.human.verdict(verdict);
    }

    fn live(&self) -> bool {
        self.human.live()
    }

    fn chatty(&self) -> bool {
        self.human.chatty()
    }

    fn json(&self) -> bool {
        true
    }

    /// JSON Lines: one object per job, in input order, each as one job's
    /// (with `"error"` for a job whose wait ended in one).
    fn group_result(&self, members: &[Member], reports: &[Report]) {
        for (member, report) in members.iter().zip(reports) {
            out!(
                "{}",
                json_line(&report.to_json(member.result.as_ref().err()))
            );
        }
    }
}

/// The GitHub runner: stdout as asked, plus annotations, masks, step outputs
/// and the step summary.
pub struct GitHub {
    stdout: Box<dyn Reporter>,
}

impl Reporter for GitHub {
    /// stdout as asked; each failed check an `error` annotation titled with
    /// the check's name; the report in the step summary.
    fn doctor(&self, report: &doctor::Report) {
        self.stdout.doctor(report);
        for line in report.lines.iter().filter(|l| !l.passed()) {
            let fix = line.fix.as_deref().unwrap_or_default();
            runner!(annotation(
                "error",
                &one_line(&line.name, 200),
                &format!("{}; fix: {fix}", line.detail)
            ));
        }
        write_summary(&report.markdown());
    }

    fn result(&self, outcome: &Outcome, report: &Report) {
        self.stdout.result(outcome, report);
    }

    fn result_lines(&self, outcome: &Outcome, report: &Report) -> Vec<String> {
        self.stdout.result_lines(outcome, report)
    }

    fn verdict(&self, verdict: &Verdict) {
        runner!(annotation(verdict.level, verdict.title, &verdict.text));
    }

    fn warning(&self, text: &str, _line: &dyn Fn(&str)) {
        // No spinner in GitHub mode: straight to stderr.
        runner!(annotation("warning", WARNING_TITLE, text));
    }

    fn extraction_started(&self, seen: &LastSeen) {
        // At once, as for a job: a cancel or a timeout still names it.
        let Some(chain) = seen.get().chain else {
            return;
        };
        let ids = chain.ids();
        if write_outputs(&[("extraction-id", &ids)]) {
            seen.chain(|c| c.id_written = Some(ids));
        }
    }

    fn job_created(&self, id: &JobId, seen: &LastSeen) {
        // At once, so a later step can pick the job up even if the wait is cancelled.
        let written = write_outputs(&[("job-id", id.as_str())]);
        seen.update(|s| s.job_id_written = written);
    }

    fn record(&self, verdict: &Verdict, report: &Report, seen: &Seen) {
        if !verdict.gates {
            return;
        }
        let mut pending: Vec<(&str, String)> = report
            .outputs()
            .into_iter()
            .filter(|(name, _)| !(seen.job_id_written && *name == "job-id"))
            .map(|(name, value)| (name, value.to_owned()))
            .collect();
        if let Some(chain) = &seen.chain {
            pending.extend(chain.outputs());
        }
        let pending: Vec<(&str, &str)> = pending.iter().map(|(n, v)| (*n, v.as_str())).collect();
        write_outputs(&pending);
        if !verdict.usage {
            write_summary(&report.summary(verdict.title, verdict.elapsed));
        }
    }

    fn jobs_created(&self, ids: &[Option<JobId>], seen: &LastSeen) {
        // At once, as for one job; a line stays empty where a creation failed.
        let list: Vec<&str> = ids
            .iter()
            .map(|i| i.as_ref().map_or("", JobId::as_str))
            .collect();
        let written = write_outputs(&[("job-id", &list.join("\n"))]);
        seen.update(|s| s.job_id_written = written);
    }

    fn group_result(&self, members: &[Member], reports: &[Report]) {
        self.stdout.group_result(members, reports);
    }

    fn record_group(&self, verdict: &Verdict, group: &GroupReport, seen: &Seen) {
        let mut outputs = group.outputs();
        if let Some(chain) = &seen.chain {
            outputs.extend(chain.outputs());
        }
        let pending: Vec<(&str, &str)> = outputs
            .iter()
            .filter(|(name, _)| !(seen.job_id_written && *name == "job-id"))
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        write_outputs(&pending);
        write_summary(&group.summary(verdict.title, verdict.elapsed));
    }

    fn record_extract(&self, outputs: &[(&str, &str)], summary: Option<&str>) {
        write_outputs(outputs);
        if let Some(summary) = summary {
            write_summary(summary);
        }
    }

    fn mask(&self, secret: &str) {
        runner!(command("add-mask", &[], secret));
    }

    fn live(&self) -> bool {
        false
    }

    fn chatty(&self) -> bool {
        self.stdout.chatty()
    }

    fn json(&self) -> bool {
        self.stdout.json()
    }
}

/// Reports `outcome` through `reporter` and hands it back for the exit code.
/// `gates` is false for commands that look nothing up about a job
/// (`configurations`): they write no step outputs or summary.
pub fn finish(
    reporter: &dyn Reporter,
    seen: &LastSeen,
    outcome: Outcome,
    elapsed: Duration,
    gates: bool,
) -> Outcome {
    let seen = seen.get();
    if seen.chain.as_ref().is_some_and(|c| c.extract_only) {
        super::extract::finish_extract(reporter, &seen, &outcome, elapsed);
        return outcome;
    }
    // A chain cut short before any job was created reports as one run.
    let before_jobs = seen
        .chain
        .as_ref()
        .is_some_and(|c| c.stage == ec3_gate::Stage::Extraction);
    let members = match &outcome {
        Outcome::Group(members) => Some(members.clone()),
        Outcome::Interrupted(_) if !before_jobs => seen.members.clone(),
        _ => None,
    };
    if let Some(members) = members {
        finish_group(reporter, &seen, &members, &outcome, elapsed);
        return outcome;
    }
    let job = match &outcome {
        Outcome::Answered(j) | Outcome::Finished(j) => Some(j.clone()),
        _ => seen.job.clone(),
    };
    let mut report = Report::new(seen.job_id.as_ref(), job.as_ref());
    if let Some(chain) = &seen.chain {
        report.extraction = Some(chain.fields(0));
        if report.message.is_none() {
            report.message = chain.message(&outcome);
        }
    }
    reporter.result(&outcome, &report);
    let mut verdict = verdict(&outcome, job.as_ref(), &report, elapsed, gates);
    if let Some(chain) = &seen.chain {
        chain.explain(&mut verdict, &outcome);
    }
    if matches!(outcome, Outcome::Checked { problems, .. } if problems > 0) {
        // Each failed check has its own line (and annotation) already:
        // the whole gets a plain line.
        err!("ec3-gate: {}", verdict.text);
    } else {
        reporter.verdict(&verdict);
    }
    reporter.record(&verdict, &report, &seen);
    outcome
}

/// Reports a group run: its jobs on stdout, a verdict for each job that did
/// not succeed (one annotation each in GitHub mode), one line for the whole,
/// and the record.
fn finish_group(
    reporter: &dyn Reporter,
    seen: &Seen,
    members: &[Member],
    outcome: &Outcome,
    elapsed: Duration,
) {
    let mut group = GroupReport::new(members);
    if let Some(chain) = &seen.chain {
        for (i, report) in group.reports.iter_mut().enumerate() {
            report.extraction = Some(chain.fields(i));
        }
    }
    reporter.group_result(members, &group.reports);
    for (member, report) in members.iter().zip(&group.reports) {
        // A job the interruption cut short has no verdict of its own.
        if member.succeeded() || matches!(member.result, Err(Error::Cancelled)) {
            continue;
        }
        let job = member.job.as_ref();
        let mut one = verdict(&member.outcome(), job, report, elapsed, true);
        if matches!(&member.result, Err(e) if !matches!(e, Error::TimedOut)) {
            // Errors do not name their job; in a group they must.
            let id = report.job_id.as_deref().unwrap_or("(not created)");
            one.text = format!("job {id}: {}", one.text);
        }
        reporter.verdict(&one);
    }
    let n = members.len();
    let unsucceeded = members.iter().filter(|m| !m.succeeded()).count();
    let created_only = members.iter().all(|m| matches!(m.result, Ok(None)));
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
    let (title, text, level) = match outcome {
        Outcome::Interrupted(sig) => (
            "ec3-gate interrupted",
            format!(
                "interrupted by signal {sig} after {took}; {} of {n} jobs had ended",
                n - members
                    .iter()
                    .filter(|m| matches!(m.result, Err(Error::Cancelled)))
                    .count()
            ),
            "error",
        ),
        _ if created_only => ("EC3 jobs created", format!("created {n} jobs"), "notice"),
        _ if unsucceeded == 0 => (
            "EC3 jobs succeeded",
            format!("all {n} jobs succeeded after {took}"),
            "notice",
        ),
        _ => (
            "EC3 jobs did not all succeed",
            format!("{unsucceeded} of {n} jobs did not succeed after {took}"),
            "error",
        ),
    };
    let verdict = Verdict {
        title,
        text,
        level,
        usage: false,
        gates: true,
        elapsed,
    };
    if level == "error" && !matches!(outcome, Outcome::Interrupted(_)) {
        // Each job that did not succeed has its annotation already: the
        // whole gets a plain line.
        err!("ec3-gate: {}", verdict.text);
    } else {
        reporter.verdict(&verdict);
    }
    reporter.record_group(&verdict, &group, seen);
}

/// A title and a one-paragraph verdict for people.
pub(super) fn verdict(
    outcome: &Outcome,
    job: Option<&Job>,
    report: &Report,
    elapsed: Duration,
    gates: bool,
) -> Verdict {
    let id = report.job_id.as_deref().unwrap_or_default();
    let took = humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string();
    let link = job.and_then(|j| j.ec3_project_url.as_deref());
    let message = job
        .and_then(|j| j.message.as_deref())
        .unwrap_or("(no message)");
    let (title, text) = match outcome {
        Outcome::Finished(j) if j.status == JobStatus::Succeeded => (
            "EC3 job succeeded",
            format!(
                "job {id} succeeded after {took}; EC3 project: {}",
                link.unwrap_or("(no link)")
            ),
        ),
        Outcome::Finished(_) => (
            "EC3 job failed",
            format!("job {id} failed after {took}: {message}"),
        ),
        Outcome::Answered(j) => ("EC3 job status", format!("job {id} is {}", j.status)),
        Outcome::Created(new) => ("EC3 job created", format!("created job {new}")),
        Outcome::Extracted(e) => (
            "EC3 extraction started",
            format!("extraction {} is {}", e.id, e.state),
        ),
        Outcome::Listed(list) => (
            "EC3 configurations",
            format!("{} configuration(s)", list.len()),
        ),
        Outcome::Checked { problems: 0, .. } => ("ec3-gate doctor", "all checks passed".to_owned()),
        Outcome::Checked { problems, .. } => ("ec3-gate doctor", doctor::tally(*problems)),
        Outcome::Failed(Error::TimedOut) => (
            "EC3 job timed out",
            format!(
                "job {id} was still {} after {took}",
                job.map_or("unanswered".into(), |j| j.status.to_string())
            ),
        ),
        Outcome::Failed(e) if e.is_usage() => ("ec3-gate usage error", format!("error: {e}")),
        Outcome::Failed(e) => ("ec3-gate error", format!("error: {e}")),
        Outcome::Interrupted(sig) => (
            "ec3-gate interrupted",
            format!("interrupted by signal {sig} after {took}"),
        ),
        // Reported by `finish_group`, job by job.
        Outcome::Group(_) => ("EC3 jobs", String::new()),
    };
    let level = match outcome {
        Outcome::Finished(j) | Outcome::Answered(j) if j.status != JobStatus::Failed => "notice",
        Outcome::Created(_)
        | Outcome::Extracted(_)
        | Outcome::Listed(_)
        | Outcome::Checked { problems: 0, .. } => "notice",
        Outcome::Answered(_) => "warning",
        _ => "error",
    };
    Verdict {
        title,
        text,
        level,
        usage: matches!(outcome, Outcome::Failed(e) if e.is_usage()),
        gates,
        elapsed,
    }
}

fn runner_file(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Appends `outputs` to `$GITHUB_OUTPUT`; true when written. A failure is
/// reported as a warning, never silent, and does not change the verdict.
fn write_outputs(outputs: &[(&str, &str)]) -> bool {
    let Some(path) = runner_file("GITHUB_OUTPUT") else {
        runner!(annotation(
            "warning",
            WARNING_TITLE,
            "GITHUB_OUTPUT is not set; step outputs were not written"
        ));
        return false;
    };
    match github::append_outputs(&path, outputs) {
        Ok(()) => true,
        Err(e) => {
            runner!(annotation(
                "warning",
                WARNING_TITLE,
                &format!("could not write step outputs: {e}")
            ));
            false
        }
    }
}

fn write_summary(text: &str) {
    if let Some(path) = runner_file("GITHUB_STEP_SUMMARY") {
        if let Err(e) = github::append(&path, text) {
            runner!(annotation(
                "warning",
                WARNING_TITLE,
                &format!("could not write the step summary: {e}")
            ));
        }
    }
}
