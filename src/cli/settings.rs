//! Validated settings: flags over environment over the core's defaults.
//! The rest of the command sees only these, or a usage error.

use std::ffi::OsString;
use std::time::Duration;

use ec3_gate::{
    CaCert, Check, Client, Config, Credentials, DEFAULT_API_URL, DEFAULT_AUTHORITY,
    DEFAULT_INTERVAL_MS, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS, Error, ExtractAndUpload, JobId,
    NewExtraction, NewJob, NewJobs, Secret, Timeout, WaitOptions,
};
use serde::Deserialize;

use super::args::{Args, Command, WaitFlags, parse_duration};
use super::text::one_line;

/// One environment variable `ec3-gate` reads.
pub struct Variable {
    /// Its name.
    pub name: &'static str,
    /// The Action input that sets it, named in errors in GitHub mode.
    pub input: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
}

/// Every variable `ec3-gate` reads: the help text is made from this list,
/// and nothing else is read into [`Env`].
pub const VARIABLES: &[Variable] = &[
    var(
        "ITWIN_ACCESS_TOKEN",
        Some("access-token"),
        "bearer token (with or without a leading `Bearer `)",
    ),
    var(
        "ITWIN_CLIENT_ID",
        Some("client-id"),
        "service-app client id (used when no token)",
    ),
    var(
        "ITWIN_CLIENT_SECRET",
        Some("client-secret"),
        "service-app client secret",
    ),
    var("ITWIN_SCOPE", Some("scope"), "scope for client credentials"),
    var("ITWIN_AUTHORITY", Some("authority"), "IMS authority"),
    var("ITWIN_API_URL", Some("api-url"), "API root"),
    var(
        "EC3_JOB_ID",
        Some("job-id"),
        "job id(s), when JOB_ID is not given (spaces, commas or newlines between)",
    ),
    var("EC3_TIMEOUT", Some("timeout"), "wait deadline"),
    var(
        "EC3_INTERVAL",
        Some("interval"),
        "poll interval while Queued/Running",
    ),
    var(
        "EC3_BEARER_TOKEN",
        Some("ec3-token"),
        "EC3 (Building Transparency) token, for `upload`",
    ),
    var(
        "EC3_CONFIGURATION_ID",
        Some("configuration-id"),
        "`upload --configuration-id` (several: spaces, commas or newlines between)",
    ),
    var(
        "EC3_PROJECT_NAME",
        Some("project-name"),
        "`upload --project-name`",
    ),
    var(
        "EC3_EXTRACTION_ID",
        Some("extraction-id"),
        "`upload --extraction-id`",
    ),
    var(
        "EC3_EXTRACT",
        Some("extract"),
        "`true`: `upload --extract` (run the extraction first); `false` (default): not",
    ),
    var(
        "EC3_IMODEL_ID",
        Some("imodel-id"),
        "`--imodel-id`: the iModel to extract",
    ),
    var(
        "EC3_CHANGESET_ID",
        Some("changeset-id"),
        "`--changeset-id`: the changeset to extract (default: the latest)",
    ),
    var(
        "EC3_MAPPING_ID",
        Some("mapping-id"),
        "`extract --mapping-id` (several: spaces, commas or newlines between)",
    ),
    var(
        "EC3_ALLOW_PARTIAL_EXTRACTION",
        Some("allow-partial-extraction"),
        "`true`: go on after a PartiallySucceeded extraction, with a warning; `false` (default)",
    ),
    var(
        "EC3_MAX_REQUESTS_PER_MINUTE",
        Some("max-requests-per-minute"),
        "`--max-requests-per-minute`: most requests in any minute",
    ),
    var(
        "EC3_CA_CERT",
        Some("ca-cert"),
        "extra CA certificates (PEM file path or PEM text), as --ca-cert",
    ),
    var(
        "GITHUB_ACTIONS",
        None,
        "`true`: write step outputs, summary and annotations",
    ),
];

const fn var(name: &'static str, input: Option<&'static str>, help: &'static str) -> Variable {
    Variable { name, input, help }
}

/// The variables of [`VARIABLES`], as envy reads them (a test keeps the two
/// in step). Deliberately not `Debug`: it holds secrets.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
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
    ec3_extract: Option<String>,
    ec3_imodel_id: Option<String>,
    ec3_changeset_id: Option<String>,
    ec3_mapping_id: Option<String>,
    ec3_allow_partial_extraction: Option<String>,
    ec3_max_requests_per_minute: Option<String>,
    ec3_ca_cert: Option<String>,
    github_actions: Option<String>,
}

impl Env {
    /// Reads the variables of [`VARIABLES`] from `vars`; empty ones count as
    /// unset. A variable that is not UTF-8 is left out and reported (the
    /// error names it, never its value), so GitHub mode and the masks still
    /// work.
    pub fn read(vars: impl Iterator<Item = (OsString, OsString)>) -> (Self, Option<Error>) {
        let mut pairs = Vec::new();
        let mut error = None;
        for (key, value) in vars {
            let Some(known) = key
                .to_str()
                .and_then(|k| VARIABLES.iter().find(|v| v.name == k))
            else {
                continue;
            };
            match value.into_string() {
                Ok(value) if !value.is_empty() => pairs.push((known.name.to_owned(), value)),
                Ok(_) => {}
                Err(_) => {
                    error.get_or_insert_with(|| {
                        Error::config(known.name, "is not valid UTF-8 (value not shown)")
                    });
                }
            }
        }
        match envy::from_iter(pairs) {
            Ok(env) => (env, error),
            Err(e) => (
                Self::default(),
                Some(Error::config("environment", e.to_string())),
            ),
        }
    }

    /// `GITHUB_ACTIONS=true`: report to the runner.
    pub fn github(&self) -> bool {
        self.github_actions.as_deref() == Some("true")
    }

    /// The secrets found, as they will be sent (a token without any `Bearer `
    /// prefix), to mask before anything is printed.
    pub fn secrets(&self) -> Vec<String> {
        [
            &self.itwin_access_token,
            &self.itwin_client_secret,
            &self.ec3_bearer_token,
        ]
        .into_iter()
        .flatten()
        .map(|s| match Credentials::access_token(s) {
            Ok(Credentials::AccessToken(token)) => token.expose().to_owned(),
            _ => s.trim().to_owned(),
        })
        .collect()
    }

    /// How an error names the variable `name`: in GitHub mode with the
    /// Action input that sets it.
    fn name(&self, name: &'static str) -> String {
        let input = VARIABLES
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.input);
        match input {
            Some(input) if self.github() => format!("input '{input}' ({name})"),
            _ => name.to_owned(),
        }
    }

    /// A yes/no setting: the flag when set, else the variable `var`
    /// (`true` or `false`; anything else is a usage error naming it).
    fn switch(&self, flag: bool, value: &Option<String>, var: &'static str) -> Result<bool, Error> {
        if flag {
            return Ok(true);
        }
        match value.as_deref().map(str::trim) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(Error::config(
                self.name(var),
                format!("must be `true` or `false`, got '{}'", one_line(other, 40)),
            )),
        }
    }

    /// The name of a setting given by `flag` or else by the variable `var`.
    fn source(&self, flag: Option<&str>, flag_name: &str, var: &'static str) -> String {
        if flag.is_some() {
            flag_name.to_owned()
        } else {
            self.name(var)
        }
    }
}

/// What to run.
pub enum Task {
    /// One status query.
    Status { job_id: JobId, timeout: Timeout },
    /// Wait for a terminal status.
    Wait { job_id: JobId, options: WaitOptions },
    /// Wait for several jobs (at least two ids, in the order given).
    WaitAll {
        job_ids: Vec<JobId>,
        options: WaitOptions,
    },
    /// Create a job; then wait for it when `wait` is set.
    Upload {
        job: NewJob,
        timeout: Timeout,
        wait: Option<WaitOptions>,
    },
    /// Create several jobs (two configurations or more); then wait for
    /// them when `wait` is set.
    UploadAll {
        jobs: NewJobs,
        timeout: Timeout,
        wait: Option<WaitOptions>,
    },
    /// Run the extraction(s) the configurations need, then create their
    /// jobs; then wait for them when `wait` is set. `options` holds the
    /// chain's one deadline and its poll interval.
    Chain {
        chain: ExtractAndUpload,
        options: WaitOptions,
        wait: bool,
    },
    /// Run one extraction; with `wait`, wait for it (`options`' deadline
    /// covers both; without `wait`, `options.timeout()` is the call's).
    Extract {
        new: NewExtraction,
        options: WaitOptions,
        wait: bool,
        allow_partial: bool,
    },
    /// List an iTwin's EC3 configurations.
    Configurations { itwin_id: String, timeout: Timeout },
    /// Check the configuration; `settings` says where each setting came from.
    Doctor {
        timeout: Timeout,
        settings: Vec<Setting>,
    },
}

/// One resolved setting, for `doctor`: never a secret's value.
pub struct Setting {
    /// The setting, as the flags name it.
    pub name: &'static str,
    /// Its value as given, unescaped (for credentials: which kind, not the
    /// value).
    pub value: String,
    /// Where it came from: the flag, the variable (or Action input), the
    /// environment, or `default`.
    pub from: String,
}

/// Everything a run needs, validated: nothing has been sent yet.
pub struct Settings {
    /// The client, its configuration checked.
    pub client: Client,
    /// What to run.
    pub task: Task,
    /// How the run's errors name the settings the core names.
    pub names: Names,
}

/// How errors found while the run talks to the service (a configuration
/// that needs `--extract`, an iModel the configuration does not name) name
/// the settings the core names (`extract`, `extraction`, `extraction id`,
/// `iModel id`): as the user set them, flag, variable or Action input.
#[derive(Default)]
pub struct Names(Vec<(&'static str, String)>);

impl Names {
    /// The names for `command`.
    fn of(command: &Command, env: &Env) -> Self {
        let Command::Upload {
            extract,
            extraction_id,
            ..
        } = command
        else {
            return Self::default();
        };
        let github = env.github();
        let extract_name = if github || !*extract {
            env.name("EC3_EXTRACT")
        } else {
            "--extract".to_owned()
        };
        let missing = if github {
            "missing input 'extract' (or 'extraction-id')"
        } else {
            "missing --extract (or --extraction-id)"
        };
        let imodel = if github {
            env.name("EC3_IMODEL_ID")
        } else {
            "--imodel-id / EC3_IMODEL_ID".to_owned()
        };
        Self(vec![
            ("extract", extract_name),
            ("extraction", missing.to_owned()),
            (
                "extraction id",
                env.source(
                    extraction_id.as_deref(),
                    "--extraction-id",
                    "EC3_EXTRACTION_ID",
                ),
            ),
            ("iModel id", imodel),
        ])
    }

    /// `outcome` with its errors' settings renamed.
    pub fn outcome(&self, outcome: super::Outcome) -> super::Outcome {
        use super::Outcome;
        match outcome {
            Outcome::Failed(e) => Outcome::Failed(self.apply(e)),
            Outcome::Group(members) => Outcome::Group(
                members
                    .into_iter()
                    .map(|mut m| {
                        m.result = m.result.map_err(|e| self.apply(e));
                        m
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// `e` with its setting renamed, if it is one of these.
    pub fn apply(&self, e: Error) -> Error {
        self.0
            .iter()
            .fold(e, |e, (from, to)| e.rename_setting(from, to))
    }
}

/// Validates the flags and the environment into settings.
pub fn validate(args: Args, env: &Env) -> Result<Settings, Error> {
    let shown = matches!(args.command, Command::Doctor { .. }).then(|| provenance(&args, env));
    let names = Names::of(&args.command, env);
    let mut task = task(args.command, env)?;
    if let (Task::Doctor { settings, .. }, Some(shown)) = (&mut task, shown) {
        *settings = shown;
    }
    let credentials = match (
        &env.itwin_access_token,
        &env.itwin_client_id,
        &env.itwin_client_secret,
    ) {
        (Some(token), _, _) => Credentials::access_token(token).map_err(|_| {
            Error::config(
                env.name("ITWIN_ACCESS_TOKEN"),
                "must be a token of visible ASCII characters (value not shown)",
            )
        })?,
        (None, Some(id), Some(secret)) => {
            Credentials::client_credentials(id, secret).map_err(|e| {
                e.rename_setting("client id", &env.name("ITWIN_CLIENT_ID"))
                    .rename_setting("client secret", &env.name("ITWIN_CLIENT_SECRET"))
            })?
        }
        (None, Some(_), None) => {
            return Err(Error::config(
                env.name("ITWIN_CLIENT_SECRET"),
                format!("missing ({} is set)", env.name("ITWIN_CLIENT_ID")),
            ));
        }
        (None, None, Some(_)) => {
            return Err(Error::config(
                env.name("ITWIN_CLIENT_ID"),
                format!("missing ({} is set)", env.name("ITWIN_CLIENT_SECRET")),
            ));
        }
        (None, None, None) => return Err(Error::NoCredentials),
    };
    let mut config = Config::new(credentials);
    let api_url_name = env.source(args.api_url.as_deref(), "--api-url", "ITWIN_API_URL");
    let authority_name = env.source(args.authority.as_deref(), "--authority", "ITWIN_AUTHORITY");
    let ca_cert_name = env.source(args.ca_cert.as_deref(), "--ca-cert", "EC3_CA_CERT");
    if let Some(url) = args.api_url.or_else(|| env.itwin_api_url.clone()) {
        config = config.api_url(url);
    }
    if let Some(url) = args.authority.or_else(|| env.itwin_authority.clone()) {
        config = config.authority(url);
    }
    if let Some(scope) = &env.itwin_scope {
        config = config.scope(scope);
    }
    let budget_name = match (
        args.max_requests_per_minute,
        &env.ec3_max_requests_per_minute,
    ) {
        (Some(n), _) => {
            config = config.max_requests_per_minute(n);
            "--max-requests-per-minute".to_owned()
        }
        (None, Some(text)) => {
            let name = env.name("EC3_MAX_REQUESTS_PER_MINUTE");
            let n = text.trim().parse().map_err(|_| {
                Error::config(
                    &name,
                    format!("must be a whole number, got '{}'", one_line(text, 40)),
                )
            })?;
            config = config.max_requests_per_minute(n);
            name
        }
        (None, None) => "--max-requests-per-minute".to_owned(),
    };
    if let Some(pem_or_path) = args.ca_cert.or_else(|| env.ec3_ca_cert.clone()) {
        config = config.ca_cert(pem_or_path);
    }
    // An EC3 token in the environment is cut out of every answer, even of
    // a `wait` for a job an earlier step created with it.
    if let Some(token) = &env.ec3_bearer_token {
        config = config.redact(Secret::new(token.trim()));
    }
    let client = Client::new(config).map_err(|e| {
        e.rename_setting("API URL", &api_url_name)
            .rename_setting("authority", &authority_name)
            .rename_setting("scope", &env.name("ITWIN_SCOPE"))
            .rename_setting("max requests per minute", &budget_name)
            .rename_setting("CA certificate", &ca_cert_name)
    })?;
    Ok(Settings {
        client,
        task,
        names,
    })
}

/// The items of a list variable: separated by whitespace, commas or newlines.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn task(command: Command, env: &Env) -> Result<Task, Error> {
    let job_id = |arg: Option<String>| match (arg, &env.ec3_job_id) {
        (Some(id), _) => JobId::new(&id),
        (None, Some(id)) => {
            JobId::new(id).map_err(|e| Error::config(env.name("EC3_JOB_ID"), e.to_string()))
        }
        (None, None) => Err(Error::config(
            "job id",
            "missing: pass JOB_ID or set EC3_JOB_ID",
        )),
    };
    Ok(match command {
        Command::Status {
            job_id: id,
            timeout,
            ..
        } => Task::Status {
            job_id: job_id(id)?,
            timeout: call_timeout(timeout)?,
        },
        Command::Wait {
            job_id: ids, wait, ..
        } => {
            let options = wait_options(&wait, env)?;
            let (ids, from_env) = match (ids.is_empty(), &env.ec3_job_id) {
                (false, _) => (ids, false),
                (true, Some(list)) => (split_list(list), true),
                (true, None) => (Vec::new(), false),
            };
            let mut job_ids = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let checked = JobId::new(id).map_err(|e| {
                    let what = if from_env {
                        env.name("EC3_JOB_ID")
                    } else {
                        "JOB_ID".to_owned()
                    };
                    if ids.len() == 1 && from_env {
                        Error::config(what, e.to_string())
                    } else if ids.len() == 1 {
                        e
                    } else {
                        Error::config(format!("{what} #{}", i + 1), e.to_string())
                    }
                })?;
                job_ids.push(checked);
            }
            match job_ids.len() {
                0 => {
                    return Err(Error::config(
                        "job id",
                        "missing: pass JOB_ID or set EC3_JOB_ID",
                    ));
                }
                1 => Task::Wait {
                    job_id: job_ids.remove(0),
                    options,
                },
                _ => Task::WaitAll { job_ids, options },
            }
        }
        Command::Upload {
            configuration_id,
            project_name,
            extraction_id,
            wait,
            extract,
            imodel_id,
            changeset_id,
            allow_partial_extraction,
            wait_flags,
            ..
        } => {
            let extract = env.switch(extract, &env.ec3_extract, "EC3_EXTRACT")?;
            let extract_flags = [
                ("--imodel-id", imodel_id.is_some()),
                ("--changeset-id", changeset_id.is_some()),
                ("--allow-partial-extraction", allow_partial_extraction),
            ];
            if !extract {
                if let Some((flag, _)) = extract_flags.iter().find(|(_, given)| *given) {
                    return Err(Error::config(
                        *flag,
                        "goes with --extract (or EC3_EXTRACT=true): it says how to extract",
                    ));
                }
            }
            let extract_names = [
                (
                    "iModel id",
                    env.source(imodel_id.as_deref(), "--imodel-id", "EC3_IMODEL_ID"),
                ),
                (
                    "changeset id",
                    env.source(
                        changeset_id.as_deref(),
                        "--changeset-id",
                        "EC3_CHANGESET_ID",
                    ),
                ),
            ];
            let required = |flag: Option<String>, var: &Option<String>, what: &str| {
                flag.or_else(|| var.clone()).ok_or_else(|| {
                    Error::config(what, "missing: pass the flag or set the variable")
                })
            };
            let configuration_name = if configuration_id.is_empty() {
                env.name("EC3_CONFIGURATION_ID")
            } else {
                "--configuration-id".to_owned()
            };
            let names = [
                ("configuration id", configuration_name),
                (
                    "project name",
                    env.source(
                        project_name.as_deref(),
                        "--project-name",
                        "EC3_PROJECT_NAME",
                    ),
                ),
                (
                    "extraction id",
                    env.source(
                        extraction_id.as_deref(),
                        "--extraction-id",
                        "EC3_EXTRACTION_ID",
                    ),
                ),
                ("EC3 token", env.name("EC3_BEARER_TOKEN")),
            ];
            let rename = |e: Error| {
                names
                    .iter()
                    .fold(e, |e, (from, to)| e.rename_setting(from, to))
            };
            let configuration_ids = match (configuration_id.is_empty(), &env.ec3_configuration_id) {
                (false, _) => configuration_id,
                (true, Some(list)) => split_list(list),
                (true, None) => Vec::new(),
            };
            if configuration_ids.is_empty() {
                required(None, &None, "--configuration-id / EC3_CONFIGURATION_ID")?;
            }
            let project_name = required(
                project_name,
                &env.ec3_project_name,
                "--project-name / EC3_PROJECT_NAME",
            )?;
            let ec3_token = Secret::new(required(None, &env.ec3_bearer_token, "EC3_BEARER_TOKEN")?);
            let extraction_id = extraction_id.or_else(|| env.ec3_extraction_id.clone());
            if extract {
                if extraction_id.is_some() {
                    return Err(Error::config(
                        names[2].1.clone(),
                        "cannot go with --extract (EC3_EXTRACT=true): the extraction makes the \
                         id; give one or the other",
                    ));
                }
                let jobs = NewJobs::new(configuration_ids, project_name, ec3_token);
                let mut chain = ExtractAndUpload::new(jobs).allow_partial(env.switch(
                    allow_partial_extraction,
                    &env.ec3_allow_partial_extraction,
                    "EC3_ALLOW_PARTIAL_EXTRACTION",
                )?);
                if let Some(id) = imodel_id.or_else(|| env.ec3_imodel_id.clone()) {
                    chain = chain.imodel_id(id);
                }
                if let Some(id) = changeset_id.or_else(|| env.ec3_changeset_id.clone()) {
                    chain = chain.changeset_id(id);
                }
                chain.validate().map_err(|e| {
                    extract_names
                        .iter()
                        .fold(rename(e), |e, (from, to)| e.rename_setting(from, to))
                })?;
                // The deadline covers the whole chain: the wait's, with or
                // without --wait (an extraction is waited for either way).
                let options = wait_options(&wait_flags, env)?;
                return Ok(Task::Chain {
                    chain,
                    options,
                    wait,
                });
            }
            let several = configuration_ids.len() > 1;
            let mut jobs = NewJobs::new(configuration_ids, project_name, ec3_token);
            if let Some(id) = extraction_id {
                jobs = jobs.extraction_id(id);
            }
            // One configuration: exactly today's job, its name as given.
            let mut job = NewJob::new(
                jobs.configuration_ids[0].clone(),
                jobs.project_name.clone(),
                jobs.ec3_token.clone(),
            );
            if let Some(id) = &jobs.extraction_id {
                job = job.extraction_id(id);
            }
            if several {
                jobs.validate().map_err(rename)?;
            } else {
                job.validate().map_err(rename)?;
            }
            let wait = if wait {
                Some(wait_options(&wait_flags, env)?)
            } else {
                None
            };
            let timeout = match wait {
                // Checked within the wait's bounds, which are a call's too.
                Some(options) => Timeout::new(options.timeout())?,
                None => call_timeout(wait_flags.timeout)?,
            };
            if several {
                return Ok(Task::UploadAll {
                    jobs,
                    timeout,
                    wait,
                });
            }
            Task::Upload { job, timeout, wait }
        }
        Command::Extract {
            imodel_id,
            mapping_id,
            changeset_id,
            wait,
            allow_partial_extraction,
            wait_flags,
            ..
        } => {
            let names = [
                (
                    "iModel id",
                    env.source(imodel_id.as_deref(), "--imodel-id", "EC3_IMODEL_ID"),
                ),
                (
                    "mapping id",
                    if mapping_id.is_empty() {
                        env.name("EC3_MAPPING_ID")
                    } else {
                        "--mapping-id".to_owned()
                    },
                ),
                (
                    "changeset id",
                    env.source(
                        changeset_id.as_deref(),
                        "--changeset-id",
                        "EC3_CHANGESET_ID",
                    ),
                ),
            ];
            let rename = |e: Error| {
                names
                    .iter()
                    .fold(e, |e, (from, to)| e.rename_setting(from, to))
            };
            let imodel_id = imodel_id
                .or_else(|| env.ec3_imodel_id.clone())
                .ok_or_else(|| {
                    Error::config(
                        "--imodel-id / EC3_IMODEL_ID",
                        "missing: pass the flag or set the variable",
                    )
                })?;
            let mapping_ids = match (mapping_id.is_empty(), &env.ec3_mapping_id) {
                (false, _) => mapping_id,
                (true, Some(list)) => split_list(list),
                (true, None) => {
                    return Err(Error::config(
                        "--mapping-id / EC3_MAPPING_ID",
                        "missing: pass the flag (once per mapping) or set the variable",
                    ));
                }
            };
            let mut new = NewExtraction::new(imodel_id, mapping_ids);
            if let Some(id) = changeset_id.or_else(|| env.ec3_changeset_id.clone()) {
                new = new.changeset_id(id);
            }
            new.validate().map_err(rename)?;
            let allow_partial = env.switch(
                allow_partial_extraction,
                &env.ec3_allow_partial_extraction,
                "EC3_ALLOW_PARTIAL_EXTRACTION",
            )?;
            let options = if wait {
                wait_options(&wait_flags, env)?
            } else {
                let timeout = call_timeout(wait_flags.timeout)?;
                WaitOptions::new(timeout.get(), Duration::from_millis(DEFAULT_INTERVAL_MS))?
            };
            Task::Extract {
                new,
                options,
                wait,
                allow_partial,
            }
        }
        Command::Configurations {
            itwin_id, timeout, ..
        } => Task::Configurations {
            itwin_id,
            timeout: call_timeout(timeout)?,
        },
        Command::Doctor { timeout } => Task::Doctor {
            timeout: match timeout {
                Some(t) => Timeout::new(t).map_err(|e| e.rename_setting("timeout", "--timeout"))?,
                None => Timeout::new(Duration::from_millis(Check::DEFAULT_TIMEOUT_MS))?,
            },
            settings: Vec::new(),
        },
    })
}

/// The settings `doctor` shows, each with where it came from: the flag,
/// else the variable, else the core's default. Secrets only by kind.
fn provenance(args: &Args, env: &Env) -> Vec<Setting> {
    let pick = |name,
                flag: &Option<String>,
                flag_name: &str,
                var,
                value: &Option<String>,
                default: &str| {
        let (value, from) = match (flag, value) {
            (Some(v), _) => (v.clone(), flag_name.to_owned()),
            (None, Some(v)) => (v.clone(), env.name(var)),
            (None, None) => (default.to_owned(), "default".to_owned()),
        };
        Setting { name, value, from }
    };
    let credentials = match (&env.itwin_access_token, &env.itwin_client_id) {
        (Some(_), _) => "access token from ITWIN_ACCESS_TOKEN",
        (None, Some(_)) => "client credentials from ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET",
        (None, None) => "none",
    };
    let mut ca_cert = pick(
        "ca-cert",
        &args.ca_cert,
        "--ca-cert",
        "EC3_CA_CERT",
        &env.ec3_ca_cert,
        "none",
    );
    ca_cert.value = match CaCert::of(&ca_cert.value) {
        CaCert::Pem(text) => format!("PEM text ({} bytes)", text.len()),
        CaCert::Path(path) => path.to_owned(),
        _ => "given".to_owned(),
    };
    vec![
        Setting {
            name: "credentials",
            value: credentials.to_owned(),
            from: "environment".to_owned(),
        },
        pick(
            "api-url",
            &args.api_url,
            "--api-url",
            "ITWIN_API_URL",
            &env.itwin_api_url,
            DEFAULT_API_URL,
        ),
        pick(
            "authority",
            &args.authority,
            "--authority",
            "ITWIN_AUTHORITY",
            &env.itwin_authority,
            DEFAULT_AUTHORITY,
        ),
        pick(
            "scope",
            &None,
            "",
            "ITWIN_SCOPE",
            &env.itwin_scope,
            DEFAULT_SCOPE,
        ),
        ca_cert,
    ]
}

/// `--timeout`/`EC3_TIMEOUT` and `--interval`/`EC3_INTERVAL`, flags first,
/// else the core's defaults; the core checks them.
fn wait_options(flags: &WaitFlags, env: &Env) -> Result<WaitOptions, Error> {
    let (timeout, timeout_name) = setting(
        flags.timeout,
        "--timeout",
        &env.ec3_timeout,
        "EC3_TIMEOUT",
        env,
    )?;
    let (interval, interval_name) = setting(
        flags.interval,
        "--interval",
        &env.ec3_interval,
        "EC3_INTERVAL",
        env,
    )?;
    WaitOptions::new(
        timeout.unwrap_or(Duration::from_millis(DEFAULT_TIMEOUT_MS)),
        interval.unwrap_or(Duration::from_millis(DEFAULT_INTERVAL_MS)),
    )
    .map_err(|e| {
        e.rename_setting("timeout", &timeout_name)
            .rename_setting("interval", &interval_name)
    })
}

/// A duration from its flag, else from its variable; and the name it came by.
fn setting(
    flag: Option<Duration>,
    flag_name: &str,
    value: &Option<String>,
    var: &'static str,
    env: &Env,
) -> Result<(Option<Duration>, String), Error> {
    match (flag, value) {
        (Some(d), _) => Ok((Some(d), flag_name.to_owned())),
        (None, Some(v)) => parse_duration(v)
            .map(|d| (Some(d), env.name(var)))
            .map_err(|reason| Error::config(env.name(var), reason)),
        (None, None) => Ok((None, flag_name.to_owned())),
    }
}

/// `--timeout` of a single call, else the core's default.
fn call_timeout(timeout: Option<Duration>) -> Result<Timeout, Error> {
    timeout.map_or(Ok(Timeout::default()), |t| {
        Timeout::new(t).map_err(|e| e.rename_setting("timeout", "--timeout"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scripts/action/run.sh clears the job's `ITWIN_*` and `EC3_*` variables
    /// so that only the Action's inputs configure the step: that prefix rule
    /// must cover every variable an input can set.
    #[test]
    fn every_variable_an_input_sets_has_a_prefix_the_action_clears() {
        for v in VARIABLES.iter().filter(|v| v.input.is_some()) {
            assert!(
                v.name.starts_with("ITWIN_") || v.name.starts_with("EC3_"),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn every_listed_variable_is_read_and_only_those() {
        let all = VARIABLES
            .iter()
            .map(|v| (OsString::from(v.name), OsString::from("x")));
        let (env, error) = Env::read(all);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(env.ec3_extraction_id.as_deref(), Some("x"));
        let (env, error) = Env::read([("EC3_UNKNOWN".into(), "x".into())].into_iter());
        assert!(error.is_none() && env.ec3_job_id.is_none());
    }
}
