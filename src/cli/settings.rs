//! Validated settings: flags over environment over defaults. `main` sees
//! only these, or a usage error.

use std::ffi::OsString;
use std::time::Duration;

use ec3_gate::{
    Config, Credentials, DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, Error, JobId, NewJob, Secret,
    Timeout, WaitOptions,
};
use serde::Deserialize;

use super::args::{Args, Command, parse_duration};

/// The environment variables ec3-gate reads (through envy). Deliberately not
/// `Debug`: it holds secrets.
#[derive(Default, Deserialize)]
struct Env {
    itwin_access_token: Option<String>,
    itwin_client_id: Option<String>,
    itwin_client_secret: Option<String>,
    itwin_scope: Option<String>,
    itwin_authority: Option<String>,
    itwin_api_url: Option<String>,
    ec3_job_id: Option<String>,
    ec3_timeout: Option<String>,
    ec3_interval: Option<String>,
    ec3_bearer_token: Option<String>,
    ec3_configuration_id: Option<String>,
    ec3_project_name: Option<String>,
    ec3_extraction_id: Option<String>,
    github_actions: Option<String>,
}

const KNOWN: &[&str] = &[
    "ITWIN_ACCESS_TOKEN",
    "ITWIN_CLIENT_ID",
    "ITWIN_CLIENT_SECRET",
    "ITWIN_SCOPE",
    "ITWIN_AUTHORITY",
    "ITWIN_API_URL",
    "EC3_JOB_ID",
    "EC3_TIMEOUT",
    "EC3_INTERVAL",
    "EC3_BEARER_TOKEN",
    "EC3_CONFIGURATION_ID",
    "EC3_PROJECT_NAME",
    "EC3_EXTRACTION_ID",
    "GITHUB_ACTIONS",
];

/// What to run.
pub enum Task {
    /// One status query.
    Status { job_id: JobId, timeout: Timeout },
    /// Wait for a terminal status.
    Wait { job_id: JobId, options: WaitOptions },
    /// Create a job; then wait for it when `wait` is set.
    Upload {
        job: NewJob,
        timeout: Timeout,
        wait: Option<WaitOptions>,
    },
    /// List an iTwin's EC3 configurations.
    Configurations { itwin_id: String, timeout: Timeout },
}

/// Everything a run needs, validated.
pub struct Settings {
    /// The client configuration (credentials inside).
    pub config: Config,
    /// What to run.
    pub task: Task,
}

/// What is known before validation: needed to report even a usage error.
pub struct Early {
    /// `GITHUB_ACTIONS=true`.
    pub github: bool,
    /// Secrets found in the environment, to mask before anything is printed.
    pub secrets: Vec<String>,
    /// `--json` was asked for.
    pub json: bool,
}

/// Reads the process environment, keeping only the variables ec3-gate knows.
/// A known variable that is not UTF-8 is an error naming it; empty ones count
/// as unset.
fn read_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Result<Env, Error> {
    let mut pairs = Vec::new();
    for (key, value) in vars {
        let Some(key) = key.to_str().filter(|k| KNOWN.contains(k)) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| Error::config(key, "is not valid UTF-8 (value not shown)"))?;
        if !value.is_empty() {
            pairs.push((key.to_owned(), value));
        }
    }
    envy::from_iter(pairs).map_err(|e| Error::config("environment", e.to_string()))
}

/// Reads the environment and the parsed flags into settings.
pub fn resolve(
    args: Args,
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> (Early, Result<Settings, Error>) {
    let json = match &args.command {
        Command::Status { json, .. }
        | Command::Wait { json, .. }
        | Command::Upload { json, .. }
        | Command::Configurations { json, .. } => *json,
    };
    let env = match read_env(vars) {
        Ok(env) => env,
        Err(e) => {
            return (
                Early {
                    github: false,
                    secrets: Vec::new(),
                    json,
                },
                Err(e),
            );
        }
    };
    let early = Early {
        github: env.github_actions.as_deref() == Some("true"),
        secrets: [
            &env.itwin_access_token,
            &env.itwin_client_secret,
            &env.ec3_bearer_token,
        ]
        .into_iter()
        .flatten()
        .map(|s| match Credentials::access_token(s) {
            // What will be sent: without any `Bearer ` prefix, in any case.
            Ok(Credentials::AccessToken(token)) => token.expose().to_owned(),
            _ => s.trim().to_owned(),
        })
        .collect(),
        json,
    };
    let settings = validate(args, env);
    (early, settings)
}

fn validate(args: Args, env: Env) -> Result<Settings, Error> {
    let job_id = |arg: Option<String>, env: &Env| match arg.or_else(|| env.ec3_job_id.clone()) {
        Some(id) => JobId::new(&id),
        None => Err(Error::config(
            "job id",
            "missing: pass JOB_ID or set EC3_JOB_ID",
        )),
    };
    let task = match args.command {
        Command::Status {
            job_id: id,
            timeout,
            ..
        } => Task::Status {
            job_id: job_id(id, &env)?,
            timeout: call_timeout(timeout)?,
        },
        Command::Wait {
            job_id: id,
            timeout,
            interval,
            ..
        } => Task::Wait {
            options: wait_options(timeout, interval, &env)?,
            job_id: job_id(id, &env)?,
        },
        Command::Upload {
            configuration_id,
            project_name,
            extraction_id,
            wait,
            timeout,
            interval,
            ..
        } => {
            let required = |flag: Option<String>, var: &Option<String>, what: &str| {
                flag.or_else(|| var.clone()).ok_or_else(|| {
                    Error::config(what, "missing: pass the flag or set the variable")
                })
            };
            let mut job = NewJob::new(
                required(
                    configuration_id,
                    &env.ec3_configuration_id,
                    "--configuration-id / EC3_CONFIGURATION_ID",
                )?,
                required(
                    project_name,
                    &env.ec3_project_name,
                    "--project-name / EC3_PROJECT_NAME",
                )?,
                Secret::new(required(None, &env.ec3_bearer_token, "EC3_BEARER_TOKEN")?),
            );
            if let Some(id) = extraction_id.or_else(|| env.ec3_extraction_id.clone()) {
                job = job.extraction_id(id);
            }
            job.validate()?;
            let wait = if wait {
                Some(wait_options(timeout, interval, &env)?)
            } else {
                None
            };
            let timeout = match wait {
                // Within the wait's bounds, so a valid call timeout too.
                Some(options) => Timeout::new(options.timeout())
                    .map_err(|e| e.rename_setting("timeout", "--timeout"))?,
                None => call_timeout(timeout)?,
            };
            Task::Upload { job, timeout, wait }
        }
        Command::Configurations {
            itwin_id, timeout, ..
        } => Task::Configurations {
            itwin_id,
            timeout: call_timeout(timeout)?,
        },
    };
    let credentials = match (
        env.itwin_access_token,
        env.itwin_client_id,
        env.itwin_client_secret,
    ) {
        (Some(token), _, _) => Credentials::access_token(&token).map_err(|_| {
            Error::config(
                "ITWIN_ACCESS_TOKEN",
                "must be a token of visible ASCII characters (value not shown)",
            )
        })?,
        (None, Some(id), Some(secret)) => Credentials::client_credentials(&id, &secret)?,
        (None, Some(_), None) => {
            return Err(Error::config(
                "ITWIN_CLIENT_SECRET",
                "missing (ITWIN_CLIENT_ID is set)",
            ));
        }
        (None, None, Some(_)) => {
            return Err(Error::config(
                "ITWIN_CLIENT_ID",
                "missing (ITWIN_CLIENT_SECRET is set)",
            ));
        }
        (None, None, None) => return Err(Error::NoCredentials),
    };
    let mut config = Config::new(credentials);
    if let Some(url) = args.api_url.or(env.itwin_api_url) {
        config = config.api_url(url);
    }
    if let Some(url) = args.authority.or(env.itwin_authority) {
        config = config.authority(url);
    }
    if let Some(scope) = env.itwin_scope {
        config = config.scope(scope);
    }
    Ok(Settings { config, task })
}

/// `--timeout`/`EC3_TIMEOUT` and `--interval`/`EC3_INTERVAL`, flags first,
/// else the core's defaults; the core checks them.
fn wait_options(
    timeout: Option<Duration>,
    interval: Option<Duration>,
    env: &Env,
) -> Result<WaitOptions, Error> {
    let (timeout, timeout_name) = setting(timeout, "--timeout", &env.ec3_timeout, "EC3_TIMEOUT")?;
    let (interval, interval_name) =
        setting(interval, "--interval", &env.ec3_interval, "EC3_INTERVAL")?;
    WaitOptions::new(
        timeout.unwrap_or(Duration::from_millis(DEFAULT_TIMEOUT_MS)),
        interval.unwrap_or(Duration::from_millis(DEFAULT_INTERVAL_MS)),
    )
    .map_err(|e| {
        e.rename_setting("timeout", timeout_name)
            .rename_setting("interval", interval_name)
    })
}

/// A duration from its flag, else from its variable; and the name it came by.
fn setting(
    flag: Option<Duration>,
    flag_name: &'static str,
    var: &Option<String>,
    var_name: &'static str,
) -> Result<(Option<Duration>, &'static str), Error> {
    match (flag, var) {
        (Some(d), _) => Ok((Some(d), flag_name)),
        (None, Some(v)) => parse_duration(v)
            .map(|d| (Some(d), var_name))
            .map_err(|reason| Error::config(var_name, reason)),
        (None, None) => Ok((None, flag_name)),
    }
}

/// `--timeout` of a single call, else the core's default.
fn call_timeout(timeout: Option<Duration>) -> Result<Timeout, Error> {
    timeout.map_or(Ok(Timeout::default()), |t| {
        Timeout::new(t).map_err(|e| e.rename_setting("timeout", "--timeout"))
    })
}
