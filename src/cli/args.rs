//! The command line, as typed. Validation into settings happens in
//! [`super::settings`].

use std::time::Duration;

use clap::{Args as ClapArgs, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use ec3_gate::{
    Check, DEFAULT_API_URL, DEFAULT_AUTHORITY, DEFAULT_CALL_TIMEOUT_MS, DEFAULT_INTERVAL_MS,
    DEFAULT_MAX_REQUESTS_PER_MINUTE, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS, MAX_REQUESTS_PER_MINUTE,
    PLACEHOLDER_N,
};

use super::settings::VARIABLES;

/// Gate CI on an EC3 upload job of Bentley's iTwin Carbon Calculation API.
#[derive(Debug, Parser)]
#[command(name = "ec3-gate", version, about, propagate_version = true)]
pub struct Args {
    /// API root (`/insights/carbon-calculation/...` is appended) [env: ITWIN_API_URL]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub api_url: Option<String>,

    /// IMS authority that issues client-credential tokens [env: ITWIN_AUTHORITY]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub authority: Option<String>,

    /// Most requests in any minute, all jobs together [env: EC3_MAX_REQUESTS_PER_MINUTE]
    #[arg(long, global = true, value_name = "N", help_heading = "Global options")]
    pub max_requests_per_minute: Option<u32>,

    /// Extra CA certificates to trust (PEM file), on top of the system's [env: EC3_CA_CERT]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Global options"
    )]
    pub ca_cert: Option<String>,

    /// Print only the result and errors: no progress, retry or success lines
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The flags `wait` and `upload` share: how long to wait, and how often to ask.
#[derive(Debug, ClapArgs)]
pub struct WaitFlags {
    /// Deadline of the wait (`500ms`, `30s`, `15m`) [env: EC3_TIMEOUT]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Time between polls while Queued/Running [env: EC3_INTERVAL]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Query a job's status once and print it (exit 0 whatever the state).
    Status {
        /// The EC3 upload job id [env: EC3_JOB_ID]
        job_id: Option<String>,
        /// Retry transient failures for at most this long (`30s`, `2m`)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// Print `{"jobId","status","message","ec3ProjectUrl"}` instead of the status word
        #[arg(long)]
        json: bool,
    },
    /// Wait until the job Succeeded (exit 0) or Failed (exit 1), or time out (exit 3);
    /// with several ids, wait for all of them (exit 0 only when all Succeeded).
    Wait {
        /// The EC3 upload job ids [env: EC3_JOB_ID, separated by spaces, commas or newlines]
        #[arg(value_name = "JOB_ID")]
        job_id: Vec<String>,
        #[command(flatten)]
        wait: WaitFlags,
        /// Print `{"jobId","status","message","ec3ProjectUrl"}` at the end (one line per job)
        #[arg(long)]
        json: bool,
    },
    /// Create an EC3 upload job (POST), print its id, and with --wait gate on it like `wait`.
    Upload {
        /// EC3 configuration id (see `configurations`); repeat it for one job each [env: EC3_CONFIGURATION_ID]
        #[arg(long, value_name = "ID")]
        configuration_id: Vec<String>,
        /// Name of the EC3 project to create; with several configurations it must hold
        /// `{configuration}` (the configuration's name) or `{n}` (its position) [env: EC3_PROJECT_NAME]
        #[arg(long, value_name = "NAME")]
        project_name: Option<String>,
        /// Extraction to upload, for extraction-based jobs [env: EC3_EXTRACTION_ID]
        #[arg(long, value_name = "ID")]
        extraction_id: Option<String>,
        /// Then wait for the job, exactly like `ec3-gate wait`
        #[arg(long)]
        wait: bool,
        /// First run the extraction the (extraction-based) configuration needs, wait for it,
        /// then create the job with its id; --timeout covers the whole chain [env: EC3_EXTRACT]
        #[arg(long)]
        extract: bool,
        /// With --extract: the iModel to extract (default: the configuration's iModel) [env: EC3_IMODEL_ID]
        #[arg(long, value_name = "ID")]
        imodel_id: Option<String>,
        /// With --extract: the changeset to extract (default: the latest) [env: EC3_CHANGESET_ID]
        #[arg(long, value_name = "ID")]
        changeset_id: Option<String>,
        /// With --extract: go on (with a warning) when the extraction PartiallySucceeded
        /// [env: EC3_ALLOW_PARTIAL_EXTRACTION]
        #[arg(long)]
        allow_partial_extraction: bool,
        #[command(flatten)]
        wait_flags: WaitFlags,
        /// Print `{"jobId","status","message","ec3ProjectUrl"}` instead of the bare job id
        /// (with --extract, also "extractionId", "extractionState" and "stage")
        #[arg(long)]
        json: bool,
    },
    /// Run a Grouping & Mapping extraction and print its id; with --wait, wait until it
    /// Succeeded (exit 0), PartiallySucceeded or Failed (exit 1), or time out (exit 3).
    Extract {
        /// The iModel to extract [env: EC3_IMODEL_ID]
        #[arg(long, value_name = "ID")]
        imodel_id: Option<String>,
        /// A mapping to extract; repeat it for several [env: EC3_MAPPING_ID, separated by spaces,
        /// commas or newlines]
        #[arg(long, value_name = "ID")]
        mapping_id: Vec<String>,
        /// The changeset to extract (default: the latest) [env: EC3_CHANGESET_ID]
        #[arg(long, value_name = "ID")]
        changeset_id: Option<String>,
        /// Then wait until the extraction finished
        #[arg(long)]
        wait: bool,
        /// With --wait: a PartiallySucceeded extraction exits 0, with a warning
        /// [env: EC3_ALLOW_PARTIAL_EXTRACTION]
        #[arg(long)]
        allow_partial_extraction: bool,
        #[command(flatten)]
        wait_flags: WaitFlags,
        /// Print `{"id","state","iModelId","iModelUrl","logs"}` (logs: the Warning and Error
        /// entries) instead of the bare id
        #[arg(long)]
        json: bool,
    },
    /// List the EC3 configurations of an iTwin (id, display name, modified).
    Configurations {
        /// The iTwin (project) id
        #[arg(long, value_name = "ID")]
        itwin_id: String,
        /// Retry transient failures for at most this long
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// Print a JSON array of `{"id","displayName","description","modifiedOn"}`
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration end to end (settings, proxy, DNS, TCP, TLS, token) without touching a job.
    Doctor {
        /// Give each network check at most this long
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
}

impl Command {
    /// `--json` was asked for.
    pub fn json(&self) -> bool {
        match self {
            Self::Status { json, .. }
            | Self::Wait { json, .. }
            | Self::Upload { json, .. }
            | Self::Extract { json, .. }
            | Self::Configurations { json, .. } => *json,
            Self::Doctor { .. } => false,
        }
    }
}

/// Parses the command line; the top-level help ends with the exit codes and
/// the environment, generated from [`VARIABLES`] (and only there: subcommand
/// help stays short).
pub fn parse() -> Result<Args, clap::Error> {
    let mut command = Args::command().after_help(contract_help());
    // The defaults are the core's: shown from its constants, never typed here.
    let (wait, poll, call) = (
        show(DEFAULT_TIMEOUT_MS),
        show(DEFAULT_INTERVAL_MS),
        show(DEFAULT_CALL_TIMEOUT_MS),
    );
    let defaults = [
        ("status", "timeout", call.clone()),
        ("configurations", "timeout", call.clone()),
        ("wait", "timeout", wait.clone()),
        ("wait", "interval", poll.clone()),
        (
            "upload",
            "timeout",
            format!("{wait}; without --wait and --extract: {call}"),
        ),
        ("upload", "interval", poll.clone()),
        (
            "extract",
            "timeout",
            format!("{wait}; without --wait: {call}"),
        ),
        ("extract", "interval", poll),
        ("doctor", "timeout", show(Check::DEFAULT_TIMEOUT_MS)),
    ];
    for (sub, arg, default) in defaults {
        command = command.mut_subcommand(sub, |c| {
            c.mut_arg(arg, |a| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                a.help(format!("{help} [default: {default}]"))
            })
        });
    }
    command = command.mut_arg("max_requests_per_minute", |a| {
        let help = a.get_help().map(ToString::to_string).unwrap_or_default();
        a.help(format!(
            "{help} [default: {DEFAULT_MAX_REQUESTS_PER_MINUTE}; at most {MAX_REQUESTS_PER_MINUTE}]"
        ))
    });
    // clap turns `{n}` in a help text into a line break; the placeholder
    // goes in as a stand-in, put back by `rendered`.
    command = command
        .mut_args(keep_placeholder)
        .mut_subcommands(|c| c.mut_args(keep_placeholder));
    let matches = command.try_get_matches()?;
    Args::from_arg_matches(&matches)
}

/// Stands in for [`PLACEHOLDER_N`] in help texts while clap renders them
/// (clap would print `{n}` as a line break); [`rendered`] puts it back.
/// Zero-width, so a stand-in that slipped through would still read `{n}`.
const PLACEHOLDER_N_STAND_IN: &str = "{\u{2060}n}";

/// `arg` with [`PLACEHOLDER_N`] in its help replaced by its stand-in.
fn keep_placeholder(arg: clap::Arg) -> clap::Arg {
    match arg.get_help().map(ToString::to_string) {
        Some(help) if help.contains(PLACEHOLDER_N) => {
            arg.help(help.replace(PLACEHOLDER_N, PLACEHOLDER_N_STAND_IN))
        }
        _ => arg,
    }
}

/// What clap says for `error` (the help or the version when `--help` or
/// `--version` was asked for), with [`PLACEHOLDER_N`] as the user types it.
pub fn rendered(error: &clap::Error) -> String {
    error
        .render()
        .to_string()
        .replace(PLACEHOLDER_N_STAND_IN, PLACEHOLDER_N)
}

/// A duration in milliseconds as people write it (`30m`, `5s`).
fn show(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}

/// The contract a CI script relies on: exit codes, then the variables.
fn contract_help() -> String {
    let mut text = String::from(
        "Exit status:
  0    job Succeeded (for `status`: the service answered with the job);
       several jobs: 0 only when all Succeeded, else one job's status,
       Failed (1) last: 1 means every job that did not succeed Failed
  1    job Failed; or the extraction Failed (or PartiallySucceeded, unless allowed)
       and no job was created
  2    usage or configuration error; nothing was sent
  3    timed out: the job was still Queued/Running at the deadline
  4    authentication or authorization refused (401, 403, token endpoint)
  5    job not found (404)
  6    service or network error that outlasted the retries
  7    the service rejected the request as invalid (400/422)
  130  interrupted by SIGINT;  143  terminated by SIGTERM

Environment (flags win; empty values count as unset):
",
    );
    for v in VARIABLES {
        let default = match v.name {
            "EC3_TIMEOUT" => show(DEFAULT_TIMEOUT_MS),
            "EC3_INTERVAL" => show(DEFAULT_INTERVAL_MS),
            "EC3_MAX_REQUESTS_PER_MINUTE" => DEFAULT_MAX_REQUESTS_PER_MINUTE.to_string(),
            "ITWIN_SCOPE" => DEFAULT_SCOPE.to_owned(),
            "ITWIN_AUTHORITY" => DEFAULT_AUTHORITY.to_owned(),
            "ITWIN_API_URL" => DEFAULT_API_URL.to_owned(),
            _ => String::new(),
        };
        let default = if default.is_empty() {
            default
        } else {
            format!(" [default: {default}]")
        };
        text.push_str(&format!("  {:<22} {}{default}\n", v.name, v.help));
    }
    text.push_str(
        "  HTTPS_PROXY, NO_PROXY  proxies, with curl's rules (loopback is never proxied)
  SSL_CERT_FILE, SSL_CERT_DIR  the system's CA certificates (Linux)
Secrets are read only from the environment, never from flags.",
    );
    text
}

/// A humantime duration; the error names the value.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| {
        format!(
            "invalid duration '{}': {e} (examples: 500ms, 30s, 15m)",
            super::text::one_line(value, 40)
        )
    })
}
