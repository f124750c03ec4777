//! Validated settings: flags over environment over defaults. `main` sees
//! only these, or a usage error.

use std::ffi::OsString;
use std::time::Duration;

use ec3_gate::{
    Config, Credentials, Error, JobId, MAX_INTERVAL, MAX_TIMEOUT, MIN_INTERVAL, NewJob, Secret,
    WaitOptions,
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
    ec3_ca_cert: Option<String>,
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
    "EC3_CA_CERT",
    "GITHUB_ACTIONS",
];

/// What to run.
pub enum Task {
    /// One status query.
    Status { job_id: JobId, timeout: Duration },
    /// Wait for a terminal status.
    Wait { job_id: JobId, options: WaitOptions },
    /// Create a job; then wait for it when `wait` is set.
    Upload {
        job: NewJob,
        timeout: Duration,
        wait: Option<WaitOptions>,
    },
    /// List an iTwin's EC3 configurations.
    Configurations { itwin_id: String, timeout: Duration },
    /// Check the configuration; `settings` says where each setting came from.
    Doctor {
        timeout: Duration,
        settings: Vec<Setting>,
    },
}

/// One resolved setting, for `doctor`: never a secret's value.
pub struct Setting {
    /// The setting, as `--help` names it.
    pub name: &'static str,
    /// Its value (for credentials: which kind, not the value).
    pub value: String,
    /// Where it came from: the flag, the variable, or `default`.
    pub from: &'static str,
}

/// The flag's value, else the variable's, else none; and where it came from.
fn pick(
    flag: Option<String>,
    flag_name: &'static str,
    var: Option<String>,
    var_name: &'static str,
) -> Option<(String, &'static str)> {
    flag.map(|v| (v, flag_name))
        .or_else(|| var.map(|v| (v, var_name)))
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
    /// `--quiet`: only the result and errors.
    pub quiet: bool,
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
        Command::Doctor { .. } => false,
    };
    let quiet = args.quiet;
    let env = match read_env(vars) {
        Ok(env) => env,
        Err(e) => {
            return (
                Early {
                    github: false,
                    secrets: Vec::new(),
                    json,
                    quiet,
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
        quiet,
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
            timeout: check_timeout("--timeout", timeout)?,
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
            let job = NewJob {
                configuration_id: required(
                    configuration_id,
                    &env.ec3_configuration_id,
                    "--configuration-id / EC3_CONFIGURATION_ID",
                )?,
                project_name: required(
                    project_name,
                    &env.ec3_project_name,
                    "--project-name / EC3_PROJECT_NAME",
                )?,
                ec3_token: Secret::new(required(None, &env.ec3_bearer_token, "EC3_BEARER_TOKEN")?),
                extraction_id: extraction_id.or_else(|| env.ec3_extraction_id.clone()),
            };
            job.validate()?;
            let wait = if wait {
                Some(wait_options(timeout, interval, &env)?)
            } else {
                None
            };
            let timeout = match (wait, timeout) {
                (Some(options), _) => options.timeout,
                (None, Some(t)) => check_timeout("--timeout", t)?,
                (None, None) => Duration::from_secs(60),
            };
            Task::Upload { job, timeout, wait }
        }
        Command::Configurations {
            itwin_id, timeout, ..
        } => Task::Configurations {
            itwin_id,
            timeout: check_timeout("--timeout", timeout)?,
        },
        Command::Doctor { timeout } => Task::Doctor {
            timeout: check_timeout("--timeout", timeout)?,
            settings: Vec::new(),
        },
    };
    let credentials_from = match (&env.itwin_access_token, &env.itwin_client_id) {
        (Some(_), _) => "access token from ITWIN_ACCESS_TOKEN",
        (None, Some(_)) => "client credentials from ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET",
        (None, None) => "none",
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
    let mut settings = vec![Setting {
        name: "credentials",
        value: credentials_from.to_owned(),
        from: "environment",
    }];
    let mut note = |name, picked: &Option<(String, &'static str)>, default: &str| {
        settings.push(match picked {
            Some((value, from)) => Setting {
                name,
                value: value.clone(),
                from,
            },
            None => Setting {
                name,
                value: default.to_owned(),
                from: "default",
            },
        });
    };
    let api_url = pick(
        args.api_url,
        "--api-url",
        env.itwin_api_url,
        "ITWIN_API_URL",
    );
    note("api-url", &api_url, ec3_gate::DEFAULT_API_URL);
    let authority = pick(
        args.authority,
        "--authority",
        env.itwin_authority,
        "ITWIN_AUTHORITY",
    );
    note("authority", &authority, ec3_gate::DEFAULT_AUTHORITY);
    let scope = pick(None, "", env.itwin_scope, "ITWIN_SCOPE");
    note("scope", &scope, ec3_gate::DEFAULT_SCOPE);
    let ca_cert = pick(args.ca_cert, "--ca-cert", env.ec3_ca_cert, "EC3_CA_CERT");
    let ca_shown = ca_cert.as_ref().map(|(v, from)| {
        let value = if v.contains("-----BEGIN") {
            format!("PEM text ({} bytes)", v.len())
        } else {
            ec3_gate::text::one_line(v, 200)
        };
        (value, *from)
    });
    note("ca-cert", &ca_shown, "none");
    if let Some((url, _)) = api_url {
        config = config.api_url(url);
    }
    if let Some((url, _)) = authority {
        config = config.authority(url);
    }
    if let Some((scope, _)) = scope {
        config = config.scope(scope);
    }
    if let Some((pem_or_path, _)) = ca_cert {
        config = config.ca_cert(pem_or_path);
    }
    let task = match task {
        Task::Doctor { timeout, .. } => Task::Doctor { timeout, settings },
        other => other,
    };
    Ok(Settings { config, task })
}

/// `--timeout`/`EC3_TIMEOUT` and `--interval`/`EC3_INTERVAL`, flags first.
fn wait_options(
    timeout: Option<Duration>,
    interval: Option<Duration>,
    env: &Env,
) -> Result<WaitOptions, Error> {
    let defaults = WaitOptions::default();
    let timeout = match (timeout, &env.ec3_timeout) {
        (Some(t), _) => check_timeout("--timeout", t)?,
        (None, Some(v)) => check_timeout("EC3_TIMEOUT", env_duration("EC3_TIMEOUT", v)?)?,
        (None, None) => defaults.timeout,
    };
    let interval = match (interval, &env.ec3_interval) {
        (Some(i), _) => check_interval("--interval", i)?,
        (None, Some(v)) => check_interval("EC3_INTERVAL", env_duration("EC3_INTERVAL", v)?)?,
        (None, None) => defaults.interval,
    };
    Ok(WaitOptions { timeout, interval })
}

fn env_duration(name: &str, value: &str) -> Result<Duration, Error> {
    parse_duration(value).map_err(|reason| Error::config(name, reason))
}

fn check_timeout(name: &str, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(Error::config(
            name,
            "must be more than 0 and at most 7 days",
        ));
    }
    Ok(d)
}

fn check_interval(name: &str, d: Duration) -> Result<Duration, Error> {
    if d < MIN_INTERVAL || d > MAX_INTERVAL {
        return Err(Error::config(name, "must be between 10ms and 1h"));
    }
    Ok(d)
}
