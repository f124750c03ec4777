//! `ec3-gate doctor`: diagnoses a setup instead of refusing it. The
//! settings and where each came from; every setting problem; then every
//! check the valid settings allow (the core's [`Checkup`]), and with
//! `--job-id` / `--configuration-id` a read of what a run will touch.
//! Each check is one line, ✓ or ✗ with what is wrong and its fix; the exit
//! code is that of the failure [`rank`] puts first.

use ec3_gate::{
    Cancel, Cause, Check, Client, ConfigurationForm, DEFAULT_API_URL, DEFAULT_AUTHORITY,
    DEFAULT_INTERVAL_MS, DEFAULT_MAX_REQUESTS_PER_MINUTE, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS, Error,
    ErrorKind, JobId, MAX_INTERVAL_MS, MAX_REQUESTS_PER_MINUTE, MAX_TIMEOUT_MS, MIN_INTERVAL_MS,
    MIN_TIMEOUT_MS, Phase, Role, Timeout,
};

use super::Outcome;
use super::github::markdown_cell;
use super::reporter::Reporter;
use super::settings::{Diagnosis, Setting};
use super::text::one_line;

/// The order in which failures decide the exit code, as documented:
/// settings (2), authentication (4), not found (5), network and service
/// (6), then what the service rejected (7).
fn rank(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => 0,
        ErrorKind::Auth => 1,
        ErrorKind::NotFound => 2,
        ErrorKind::Service => 3,
        ErrorKind::Rejected => 4,
        _ => 5,
    }
}

/// One line of the report.
pub struct Line {
    /// What was checked: the setting as the user named it, or the step
    /// (`API api.bentley.com:443 resolve`, `token`, `job ID`).
    pub name: String,
    /// What was found, or what is wrong (the text the other commands use).
    pub detail: String,
    /// How to fix it; `None` for a check that passed.
    pub fix: Option<String>,
    /// More about a failure (the issuer of an untrusted certificate).
    pub note: Option<String>,
    /// The failure, which decides the exit code.
    error: Option<Error>,
}

impl Line {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            detail: detail.into(),
            fix: None,
            note: None,
            error: None,
        }
    }

    fn failed(name: impl Into<String>, detail: impl Into<String>, fix: String, e: Error) -> Self {
        Self {
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix),
            note: None,
            error: Some(e),
        }
    }

    /// True for a check that passed.
    pub fn passed(&self) -> bool {
        self.error.is_none()
    }

    /// The line for people: `✓ name: detail` or `✗ name: detail; fix: …`.
    pub fn human(&self) -> String {
        let (name, detail) = (one_line(&self.name, 300), one_line(&self.detail, 1000));
        match &self.fix {
            None => format!("✓ {name}: {detail}"),
            Some(fix) => format!("✗ {name}: {detail}; fix: {}", one_line(fix, 500)),
        }
    }

    /// `{"name","ok","detail","fix"}`.
    pub fn json(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "ok": self.passed(),
            "detail": self.detail,
            "fix": self.fix,
        })
        .to_string()
    }
}

/// Everything `doctor` found, for the reporter of the output mode.
pub struct Report {
    /// The settings table.
    pub settings: Vec<Setting>,
    /// One line per check, in the order run.
    pub lines: Vec<Line>,
    /// Checks that could not run, and why (people only).
    pub skipped: Vec<String>,
}

impl Report {
    /// The checks that failed.
    pub fn problems(&self) -> usize {
        self.lines.iter().filter(|l| !l.passed()).count()
    }

    /// The last line: how many problems.
    pub fn tally(&self) -> String {
        tally(self.problems())
    }

    /// The report for people: the settings table, the checks, the tally.
    pub fn human_lines(&self) -> Vec<String> {
        let width = self
            .settings
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0);
        let mut out: Vec<String> = self
            .settings
            .iter()
            .map(|s| {
                format!(
                    "  {:<width$} {} ({})",
                    s.name,
                    one_line(&s.value, 500),
                    one_line(&s.from, 200)
                )
            })
            .collect();
        for line in &self.lines {
            out.push(line.human());
            if let Some(note) = &line.note {
                out.push(format!("    {}", one_line(note, 500)));
            }
        }
        out.extend(
            self.skipped
                .iter()
                .map(|s| format!("- {}", one_line(s, 500))),
        );
        out.push(self.tally());
        out
    }

    /// The step summary: the settings table, then the checks.
    pub fn markdown(&self) -> String {
        let mut md = format!("### ec3-gate doctor: {}\n\n", self.tally());
        md.push_str("| setting | value | from |\n|---|---|---|\n");
        for s in &self.settings {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                markdown_cell(s.name),
                markdown_cell(&s.value),
                markdown_cell(&s.from)
            ));
        }
        md.push_str("\n| | check | result | fix |\n|---|---|---|---|\n");
        for line in &self.lines {
            let mark = if line.passed() { "✓" } else { "✗" };
            let mut detail = markdown_cell(&line.detail);
            if let Some(note) = &line.note {
                detail.push_str("<br>");
                detail.push_str(&markdown_cell(note));
            }
            md.push_str(&format!(
                "| {mark} | {} | {detail} | {} |\n",
                markdown_cell(&line.name),
                markdown_cell(line.fix.as_deref().unwrap_or(""))
            ));
        }
        for s in &self.skipped {
            md.push_str(&format!("| - | {} | | |\n", markdown_cell(s)));
        }
        md.push('\n');
        md
    }
}

/// `N problems found` (`no problems found`, `1 problem found`).
pub fn tally(problems: usize) -> String {
    match problems {
        0 => "no problems found".to_owned(),
        1 => "1 problem found".to_owned(),
        n => format!("{n} problems found"),
    }
}

/// Runs every check `diagnosis` allows, reports them through `reporter`,
/// and returns the outcome: how many failed, and the failure that decides
/// the exit code.
pub fn run(diagnosis: Diagnosis, reporter: &dyn Reporter, cancel: &Cancel) -> Outcome {
    let Diagnosis {
        settings,
        unreadable,
        problems,
        checkup,
        client_credentials,
        timeout,
        job_id,
        configuration_id,
    } = diagnosis;
    let mut lines: Vec<Line> = unreadable
        .into_iter()
        .map(|e| {
            let mut line = setting_line(e);
            line.fix = Some("set it again as UTF-8 text, or unset it".to_owned());
            line
        })
        .collect();
    lines.extend(problems.into_iter().map(setting_line));
    for check in checkup.run(timeout, cancel) {
        if matches!(check.result, Err(Error::Cancelled)) {
            return Outcome::Failed(Error::Cancelled);
        }
        lines.push(check_line(check));
    }
    let mut skipped = Vec::new();
    if client_credentials && !lines.iter().any(|l| l.name == "token") {
        skipped.push(
            "token: not requested: needs valid settings and a reachable authority (see above)"
                .to_owned(),
        );
    }
    match checkup.client() {
        Some(client) => {
            if let Some(id) = &job_id {
                lines.push(job_line(client, id, timeout, cancel));
            }
            if let Some(id) = &configuration_id {
                lines.extend(configuration_lines(client, id, timeout, cancel));
            }
        }
        None => {
            let why = "not checked: needs valid settings and credentials (see above)";
            if let Some(id) = &job_id {
                skipped.push(format!("job {id}: {why}"));
            }
            if let Some(id) = &configuration_id {
                skipped.push(format!("configuration {id}: {why}"));
            }
        }
    }
    if cancel.is_cancelled() {
        return Outcome::Failed(Error::Cancelled);
    }
    let report = Report {
        settings,
        lines,
        skipped,
    };
    reporter.doctor(&report);
    let deciding = report
        .lines
        .iter()
        .filter_map(|l| l.error.as_ref())
        .min_by_key(|e| rank(e.kind()))
        .cloned();
    Outcome::Checked {
        problems: report.problems(),
        deciding,
    }
}

/// A setting problem: named as the user named the setting, with the text
/// the other commands refuse it with.
fn setting_line(e: Error) -> Line {
    match &e {
        Error::InvalidConfig { what, reason } => {
            let fix = setting_fix(what);
            Line::failed(what.clone(), reason.clone(), fix, e)
        }
        Error::NoCredentials => Line::failed(
            "credentials",
            "none given",
            "set ITWIN_ACCESS_TOKEN, or ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET (a service app's)"
                .to_owned(),
            e,
        ),
        _ => {
            let detail = e.to_string();
            Line::failed("settings", detail, "see `ec3-gate --help`".to_owned(), e)
        }
    }
}

/// How to fix the setting `what` (a flag, a variable, or an Action input
/// naming its variable).
fn setting_fix(what: &str) -> String {
    let has = |name: &str| what.contains(name);
    let url = |default: &str| {
        format!(
            "give an https:// URL (plain http:// only to a loopback host) without user info, \
             query or fragment, or unset it for {default}"
        )
    };
    if has("ITWIN_ACCESS_TOKEN") {
        "set it to the bearer token alone (`Bearer ` may lead), or unset it and use client credentials".into()
    } else if has("ITWIN_CLIENT_SECRET") {
        "set ITWIN_CLIENT_SECRET to the service app's client secret, or unset ITWIN_CLIENT_ID and \
         set ITWIN_ACCESS_TOKEN"
            .into()
    } else if has("ITWIN_CLIENT_ID") {
        "set ITWIN_CLIENT_ID to the service app's client id, or unset ITWIN_CLIENT_SECRET and \
         set ITWIN_ACCESS_TOKEN"
            .into()
    } else if has("api-url") || has("ITWIN_API_URL") {
        url(DEFAULT_API_URL)
    } else if has("authority") || has("ITWIN_AUTHORITY") {
        url(DEFAULT_AUTHORITY)
    } else if has("ITWIN_SCOPE") {
        format!("unset it for {DEFAULT_SCOPE}, or give the scope your service app is allowed")
    } else if has("max-requests-per-minute") || has("MAX_REQUESTS_PER_MINUTE") {
        format!(
            "give a whole number from 1 to {MAX_REQUESTS_PER_MINUTE}, or unset it for \
             {DEFAULT_MAX_REQUESTS_PER_MINUTE}"
        )
    } else if has("ca-cert") || has("EC3_CA_CERT") {
        "give a readable PEM file of CA certificates (or the PEM text itself), or unset it".into()
    } else if has("PROXY") || has("proxy") {
        "give the proxy as http://host:port (or https://), or unset it to connect directly".into()
    } else if what == "--timeout" {
        // `doctor`'s own: how long each network check may take.
        let (min, max) = (show(MIN_TIMEOUT_MS), show(MAX_TIMEOUT_MS));
        let default = show(Check::DEFAULT_TIMEOUT_MS);
        format!("give a duration from {min} to {max}, such as 5s, or leave it out for {default}")
    } else if has("TIMEOUT") || has("timeout") {
        let (min, max) = (show(MIN_TIMEOUT_MS), show(MAX_TIMEOUT_MS));
        let default = show(DEFAULT_TIMEOUT_MS);
        format!("give a duration from {min} to {max}, such as 15m, or unset it for {default}")
    } else if has("INTERVAL") || has("interval") {
        let (min, max) = (show(MIN_INTERVAL_MS), show(MAX_INTERVAL_MS));
        let default = show(DEFAULT_INTERVAL_MS);
        format!("give a duration from {min} to {max}, such as 10s, or unset it for {default}")
    } else if has("job-id") || has("EC3_JOB_ID") {
        "give the id `ec3-gate upload` printed (or the service's job id)".into()
    } else if has("configuration-id") || has("CONFIGURATION_ID") {
        "give an id that `ec3-gate configurations --itwin-id ID` lists".into()
    } else if has("EXTRACTION_ID") {
        "give the id of an extraction of the configuration's iModel".into()
    } else if has("EXTRACT") || has("ALLOW_PARTIAL") {
        "set it to `true` or `false`, or unset it for false".into()
    } else if has("IMODEL_ID") {
        "give the id of the iModel the configuration reads (the last segment of its iModel link)"
            .into()
    } else if has("CHANGESET_ID") {
        "give the id of a changeset of the iModel, or unset it for the latest".into()
    } else if has("MAPPING_ID") {
        "give the ids of the iModel's Grouping & Mapping mappings, separated by commas or spaces"
            .into()
    } else {
        "see `ec3-gate --help`".into()
    }
}

/// A duration in milliseconds as people write it (`30m`).
fn show(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// A step of the core's checks.
fn check_line(check: Check) -> Line {
    let Check {
        step, result, note, ..
    } = check;
    match result {
        Ok(found) => Line::ok(step, found),
        Err(e) => {
            let fix = if step == "token" {
                token_fix(&e)
            } else {
                error_fix(&e, "", "")
            };
            let mut line = Line::failed(step, e.to_string(), fix, e);
            line.note = note;
            line
        }
    }
}

/// How to fix a refused or unusable token.
fn token_fix(e: &Error) -> String {
    let code = e.service_error().and_then(|d| d.code.as_deref());
    match code {
        Some("TokenExpired" | "TokenNotYetValid") => {
            "put a fresh token in ITWIN_ACCESS_TOKEN (or use client credentials, which ec3-gate \
             renews), and check this machine's clock"
                .into()
        }
        Some("InsufficientScope" | "InvalidAudience") => format!(
            "get a token for the scope {DEFAULT_SCOPE} (or the one ITWIN_SCOPE names) into \
             ITWIN_ACCESS_TOKEN"
        ),
        _ if matches!(e, Error::AuthRefused { .. }) => {
            "check ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET: a service app of the iTwin Platform \
             (developer.bentley.com), allowed the scope ITWIN_SCOPE names"
                .into()
        }
        _ => error_fix(e, "", ""),
    }
}

/// How to fix `e`; `forbidden` and `unknown` say what a 403 and a 404 of
/// this read mean (empty: the general advice).
fn error_fix(e: &Error, forbidden: &str, unknown: &str) -> String {
    match e {
        Error::Network(net) => {
            let setting = match net.role() {
                Role::Api => "--api-url / ITWIN_API_URL",
                Role::Authority => "--authority / ITWIN_AUTHORITY",
                _ => "HTTPS_PROXY",
            };
            let at = format!("{}:{}", net.host(), net.port());
            match net.cause() {
                Cause::NotResolved if net.role() == Role::Proxy => {
                    "check the proxy's host name in HTTPS_PROXY".into()
                }
                Cause::NotResolved => format!(
                    "check the host name in {setting} and this machine's DNS; where only a proxy \
                     reaches the internet, set HTTPS_PROXY"
                ),
                Cause::Certificate(_) => format!(
                    "if a TLS-inspecting proxy or firewall re-signs connections here, give its CA \
                     certificate with --ca-cert / EC3_CA_CERT; else check {setting}"
                ),
                Cause::ProxyRefused(407) => {
                    "give the proxy's credentials in HTTPS_PROXY (http://user:password@host:port)"
                        .into()
                }
                Cause::ProxyRefused(_) => {
                    format!("ask the proxy's administrator to allow {at}, or check HTTPS_PROXY")
                }
                _ if net.phase() == Phase::Connect || net.phase() == Phase::Resolve => format!(
                    "check that {at} is reachable from here (a firewall may block it; \
                     HTTPS_PROXY and NO_PROXY choose the proxy)"
                ),
                _ => format!("check the network path to {at} (proxy, firewall), then try again"),
            }
        }
        Error::AuthRefused { status: 403, .. } if !forbidden.is_empty() => forbidden.to_owned(),
        Error::AuthRefused { .. } => {
            "the service refused the token: check the credentials (see the token line)".into()
        }
        Error::JobNotFound(_) => {
            "check the job id: the service does not know it (a typo, or a job of another \
             project)"
                .into()
        }
        Error::Rejected { status: 404, .. } if !unknown.is_empty() => unknown.to_owned(),
        Error::Rejected { .. } | Error::InvalidConfig { .. } | Error::InvalidJobId(_) => {
            "check the id: `ec3-gate configurations --itwin-id ID` lists the configurations".into()
        }
        _ => "the service failed: try again later; if it lasts, report it to Bentley".into(),
    }
}

/// What a 403 on a job or a configuration means.
const CARBON_PERMISSION: &str = "grant the user or service app the carbon_calculate permission \
     on the project (or make it an organization administrator)";

/// `--job-id`: reads the job, as `status` would.
fn job_line(client: &Client, id: &JobId, timeout: Timeout, cancel: &Cancel) -> Line {
    let name = format!("job {id}");
    match client.job_status(id, timeout, cancel, &mut ()) {
        Ok(job) => Line::ok(name, format!("found; it is {}", job.status)),
        Err(e) => {
            let fix = error_fix(&e, CARBON_PERMISSION, "");
            Line::failed(name, e.to_string(), fix, e)
        }
    }
}

/// `--configuration-id`: reads the configuration, says its form, mappings
/// and iModel, and for an extraction-based one whether the iModel's
/// extractions can be listed.
fn configuration_lines(client: &Client, id: &str, timeout: Timeout, cancel: &Cancel) -> Vec<Line> {
    let name = format!("configuration {id}");
    let configuration = match client.configuration(id, timeout, cancel, &mut ()) {
        Ok(c) => c,
        Err(e) => {
            let fix = error_fix(
                &e,
                CARBON_PERMISSION,
                "check the configuration id: `ec3-gate configurations --itwin-id ID` lists them",
            );
            return vec![Line::failed(name, e.to_string(), fix, e)];
        }
    };
    let title = configuration
        .display_name
        .as_deref()
        .map_or_else(String::new, |n| format!("'{}' ", one_line(n, 200)));
    let form = configuration.form();
    let mappings = configuration.mapping_ids();
    let imodel = configuration.imodel_id();
    let detail = match form {
        ConfigurationForm::ExtractionBased => format!(
            "{title}is extraction-based; mappings {}; iModel {}",
            if mappings.is_empty() {
                "(none)".to_owned()
            } else {
                mappings.join(", ")
            },
            imodel.unwrap_or("(no link)")
        ),
        ConfigurationForm::ReportBased => format!("{title}is report-based"),
        _ => format!("{title}does not say its form (no labels or links in the answer)"),
    };
    let mut lines = vec![Line::ok(name.clone(), detail)];
    if form != ConfigurationForm::ExtractionBased {
        return lines;
    }
    let unusable = |what: &str| {
        let e = Error::InvalidResponse(format!("the configuration {what}"));
        Line::failed(
            name.clone(),
            e.to_string(),
            "edit the configuration (or make a new one) so that it names its iModel and mappings"
                .to_owned(),
            e,
        )
    };
    if mappings.is_empty() {
        lines.push(unusable("names no mapping (labels[].mappingId)"));
    }
    let Some(imodel) = imodel else {
        lines.push(unusable("links no iModel (_links.iModel)"));
        return lines;
    };
    let step = format!("extractions of iModel {imodel}");
    lines.push(
        match client.check_extractions(imodel, timeout, cancel, &mut ()) {
            Ok(_) => Line::ok(step, "can be listed (the imodels_read permission is there)"),
            Err(e) => {
                let fix = error_fix(
                    &e,
                    "grant the user or service app the imodels_read permission on the iModel's \
                     iTwin: an extraction-based upload reads the iModel's extractions",
                    "the service does not know the configuration's iModel (deleted?): edit the \
                     configuration",
                );
                Line::failed(step, e.to_string(), fix, e)
            }
        },
    );
    lines
}
