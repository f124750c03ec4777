//! Validated settings: flags over environment over the core's defaults.
//! The rest of the command sees only these, or a usage error.

use std::ffi::OsString;
use std::time::Duration;

use ec3_gate::{
    CaCert, Check, Checkup, Client, Config, Credentials, DEFAULT_API_URL, DEFAULT_AUTHORITY,
    DEFAULT_INTERVAL_MS, DEFAULT_MAX_REQUESTS_PER_MINUTE, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS, Error,
    ExtractAndUpload, JobId, NewExtraction, NewJob, NewJobs, Secret, Timeout, WaitOptions,
    check_id,
};
use serde::Deserialize;

use super::args::{Args, Command, DoctorFlags, WaitFlags, parse_duration};
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
        "`--imodel-id`: the iModel to extract (`upload`: only with EC3_EXTRACT=true, else refused)",
    ),
    var(
        "EC3_CHANGESET_ID",
        Some("changeset-id"),
        "`--changeset-id`: the changeset to extract (default: the latest; `upload`: only with EC3_EXTRACT=true, else refused)",
    ),
    // No Action input: the Action runs `upload`, which refuses it.
    var(
        "EC3_MAPPING_ID",
        None,
        "`extract --mapping-id` (several: spaces, commas or newlines between); refused by `upload`, which extracts its configurations' mappings",
    ),
    var(
        "EC3_ALLOW_PARTIAL_EXTRACTION",
        Some("allow-partial-extraction"),
        "`true`: go on after a PartiallySucceeded extraction, with a warning; `false` (default); `upload`: `true` only with EC3_EXTRACT=true, else refused",
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
    /// work; one error for each such variable, in the order met.
    pub fn read(vars: impl Iterator<Item = (OsString, OsString)>) -> (Self, Vec<Error>) {
        let mut pairs = Vec::new();
        let mut errors = Vec::new();
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
                    errors.push(Error::config(
                        known.name,
                        "is not valid UTF-8 (value not shown)",
                    ));
                }
            }
        }
        match envy::from_iter(pairs) {
            Ok(env) => (env, errors),
            Err(e) => {
                errors.push(Error::config("environment", e.to_string()));
                (Self::default(), errors)
            }
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

/// How the user named each setting the core names in its errors (`API
/// URL`, `authority`, `extract`, `iModel id`, …): the flag, the variable,
/// or in GitHub mode the Action input. Client settings are renamed when
/// the client is built; the task's in errors found while the run talks to
/// the service (a configuration that needs `--extract`, an iModel the
/// configuration does not name).
#[derive(Default)]
pub struct Names(Vec<(&'static str, String)>);

impl Names {
    /// The names of the client's settings, given as `flags` or variables.
    fn of_client(flags: &ClientFlags, env: &Env) -> Self {
        Self(vec![
            (
                "API URL",
                env.source(flags.api_url.as_deref(), "--api-url", "ITWIN_API_URL"),
            ),
            (
                "authority",
                env.source(flags.authority.as_deref(), "--authority", "ITWIN_AUTHORITY"),
            ),
            ("scope", env.name("ITWIN_SCOPE")),
            ("max requests per minute", budget_name(flags, env)),
            (
                "CA certificate",
                env.source(flags.ca_cert.as_deref(), "--ca-cert", "EC3_CA_CERT"),
            ),
        ])
    }

    /// The names of the settings of `command` the core may name.
    fn of_task(command: &Command, env: &Env) -> Self {
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
            Outcome::Failed(e) => Outcome::Failed(self.rename(e)),
            Outcome::Group(members) => Outcome::Group(
                members
                    .into_iter()
                    .map(|mut m| {
                        m.result = m.result.map_err(|e| self.rename(e));
                        m
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// `e` with the core's name of a setting replaced by the user's.
    pub fn rename(&self, e: Error) -> Error {
        self.0
            .iter()
            .fold(e, |e, (from, to)| e.rename_setting(from, to))
    }
}

/// Validates the flags and the environment into settings: the first
/// problem refuses the run (`doctor` lists them all: [`diagnose`]).
pub fn validate(args: Args, env: &Env) -> Result<Settings, Error> {
    let (flags, command) = ClientFlags::split(args);
    let mut names = Names::of_task(&command, env);
    let task = task(command, env)?;
    let (config, client_names, budget_problem) =
        client_config(&flags, env, Config::new(credentials(env)?));
    if let Some(e) = budget_problem {
        return Err(e);
    }
    let client = Client::new(config).map_err(|e| client_names.rename(e))?;
    names.0.extend(client_names.0);
    Ok(Settings {
        client,
        task,
        names,
    })
}

/// The flags that configure the client.
struct ClientFlags {
    api_url: Option<String>,
    authority: Option<String>,
    max_requests_per_minute: Option<u32>,
    ca_cert: Option<String>,
}

impl ClientFlags {
    /// `args` as the flags that configure the client and the command.
    fn split(args: Args) -> (Self, Command) {
        let Args {
            api_url,
            authority,
            max_requests_per_minute,
            ca_cert,
            command,
            ..
        } = args;
        let flags = Self {
            api_url,
            authority,
            max_requests_per_minute,
            ca_cert,
        };
        (flags, command)
    }
}

/// How the user gave the request budget: the variable, else the flag.
fn budget_name(flags: &ClientFlags, env: &Env) -> String {
    match (
        flags.max_requests_per_minute,
        &env.ec3_max_requests_per_minute,
    ) {
        (None, Some(_)) => env.name("EC3_MAX_REQUESTS_PER_MINUTE"),
        _ => "--max-requests-per-minute".to_owned(),
    }
}

/// The credentials in the environment: an access token, else client
/// credentials; both halves of those, or an error naming the missing one.
fn credentials(env: &Env) -> Result<Credentials, Error> {
    match (
        &env.itwin_access_token,
        &env.itwin_client_id,
        &env.itwin_client_secret,
    ) {
        (Some(token), _, _) => Credentials::access_token(token).map_err(|_| {
            Error::config(
                env.name("ITWIN_ACCESS_TOKEN"),
                "must be a token of visible ASCII characters (value not shown)",
            )
        }),
        (None, Some(id), Some(secret)) => {
            Credentials::client_credentials(id, secret).map_err(|e| {
                e.rename_setting("client id", &env.name("ITWIN_CLIENT_ID"))
                    .rename_setting("client secret", &env.name("ITWIN_CLIENT_SECRET"))
            })
        }
        (None, Some(_), None) => Err(Error::config(
            env.name("ITWIN_CLIENT_SECRET"),
            format!("missing ({} is set)", env.name("ITWIN_CLIENT_ID")),
        )),
        (None, None, Some(_)) => Err(Error::config(
            env.name("ITWIN_CLIENT_ID"),
            format!("missing ({} is set)", env.name("ITWIN_CLIENT_SECRET")),
        )),
        (None, None, None) => Err(Error::NoCredentials),
    }
}

/// `config` with the client settings of the flags and the environment,
/// how each is named, and the problem of a budget variable that is not a
/// number (the rest are checked by the core).
fn client_config(
    flags: &ClientFlags,
    env: &Env,
    mut config: Config,
) -> (Config, Names, Option<Error>) {
    let mut problem = None;
    let names = Names::of_client(flags, env);
    if let Some(url) = flags.api_url.clone().or_else(|| env.itwin_api_url.clone()) {
        config = config.api_url(url);
    }
    if let Some(url) = flags
        .authority
        .clone()
        .or_else(|| env.itwin_authority.clone())
    {
        config = config.authority(url);
    }
    if let Some(scope) = &env.itwin_scope {
        config = config.scope(scope);
    }
    match (
        flags.max_requests_per_minute,
        &env.ec3_max_requests_per_minute,
    ) {
        (Some(n), _) => config = config.max_requests_per_minute(n),
        (None, Some(text)) => match text.trim().parse() {
            Ok(n) => config = config.max_requests_per_minute(n),
            Err(_) => {
                problem = Some(Error::config(
                    budget_name(flags, env),
                    format!("must be a whole number, got '{}'", one_line(text, 40)),
                ));
            }
        },
        (None, None) => {}
    }
    if let Some(pem_or_path) = flags.ca_cert.clone().or_else(|| env.ec3_ca_cert.clone()) {
        config = config.ca_cert(pem_or_path);
    }
    // An EC3 token in the environment is cut out of every answer, even of
    // a `wait` for a job an earlier step created with it.
    if let Some(token) = &env.ec3_bearer_token {
        config = config.redact(Secret::new(token.trim()));
    }
    (config, names, problem)
}

/// What `doctor` checks: the settings table, every setting problem (never
/// a refusal), and the checkup of what the valid settings allow.
pub struct Diagnosis {
    /// Every setting, where it came from (never a secret's value).
    pub settings: Vec<Setting>,
    /// Variables that could not be read (not UTF-8), each named.
    pub unreadable: Vec<Error>,
    /// Every setting problem, each named as the user named the setting,
    /// with the text the other commands refuse it with.
    pub problems: Vec<Error>,
    /// The client's settings checked, and the checks they allow.
    pub checkup: Checkup,
    /// Client credentials were given (so a token should be requested).
    pub client_credentials: bool,
    /// How long each network check may take.
    pub timeout: Timeout,
    /// `--job-id`: the job to read, when given and valid.
    pub job_id: Option<JobId>,
    /// `--configuration-id`: the configuration to read, when given and valid.
    pub configuration_id: Option<String>,
}

/// Checks every setting `doctor` is given, with the checks the other
/// commands use, and collects each problem instead of stopping at the
/// first; `env_errors` are the environment's own (non-UTF-8 variables).
pub fn diagnose(args: Args, env: &Env, env_errors: Vec<Error>) -> Diagnosis {
    let settings = provenance(&args, env);
    let mut problems = Vec::new();
    let (flags, command) = ClientFlags::split(args);
    let doctor = match command {
        Command::Doctor(doctor) => doctor,
        _ => DoctorFlags::default(),
    };
    let default_timeout =
        Timeout::new(Duration::from_millis(Check::DEFAULT_TIMEOUT_MS)).unwrap_or_default();
    let timeout = match doctor.timeout {
        Some(t) => Timeout::new(t).unwrap_or_else(|e| {
            problems.push(e.rename_setting("timeout", "--timeout"));
            default_timeout
        }),
        None => default_timeout,
    };
    let credentials = credentials(env).map_err(|e| problems.push(e)).ok();
    let client_credentials = matches!(credentials, Some(Credentials::ClientCredentials { .. }));
    let base = credentials.map_or_else(Config::without_credentials, Config::new);
    let (config, names, budget_problem) = client_config(&flags, env, base);
    problems.extend(budget_problem);
    let checkup = Checkup::new(config);
    problems.extend(checkup.problems().iter().map(|e| names.rename(e.clone())));
    problems.extend(wait_problems(env));
    if let Some(list) = &env.ec3_job_id {
        problems.extend(job_ids(split_list(list), true, env).err());
    }
    let job_id = doctor.job_id.and_then(|id| {
        JobId::new(&id)
            .map_err(|e| problems.push(Error::config("--job-id", e.to_string())))
            .ok()
    });
    for (list, var) in [
        (&env.ec3_configuration_id, "EC3_CONFIGURATION_ID"),
        (&env.ec3_mapping_id, "EC3_MAPPING_ID"),
    ] {
        let ids = list.as_deref().map(split_list).unwrap_or_default();
        let name = env.name(var);
        for (i, id) in ids.iter().enumerate() {
            let what = match ids.len() {
                1 => name.clone(),
                _ => format!("{name} #{}", i + 1),
            };
            problems.extend(check_id(&what, id).err());
        }
    }
    let configuration_id = doctor.configuration_id.and_then(|id| {
        check_id("--configuration-id", &id)
            .map_err(|e| problems.push(e))
            .ok()
            .map(|()| id)
    });
    for (value, var) in [
        (&env.ec3_extraction_id, "EC3_EXTRACTION_ID"),
        (&env.ec3_imodel_id, "EC3_IMODEL_ID"),
        (&env.ec3_changeset_id, "EC3_CHANGESET_ID"),
    ] {
        if let Some(id) = value {
            problems.extend(check_id(&env.name(var), id).err());
        }
    }
    for (value, var) in [
        (&env.ec3_extract, "EC3_EXTRACT"),
        (
            &env.ec3_allow_partial_extraction,
            "EC3_ALLOW_PARTIAL_EXTRACTION",
        ),
    ] {
        problems.extend(env.switch(false, value, var).err());
    }
    Diagnosis {
        settings,
        unreadable: env_errors,
        problems,
        checkup,
        client_credentials,
        timeout,
        job_id,
        configuration_id,
    }
}

/// `EC3_TIMEOUT` and `EC3_INTERVAL`, each checked on its own as `wait`
/// checks it (the other at its default).
fn wait_problems(env: &Env) -> Vec<Error> {
    let (timeout, interval) = (
        Duration::from_millis(DEFAULT_TIMEOUT_MS),
        Duration::from_millis(DEFAULT_INTERVAL_MS),
    );
    let mut problems = Vec::new();
    match setting(None, "--timeout", &env.ec3_timeout, "EC3_TIMEOUT", env) {
        Ok((Some(t), name)) => problems.extend(
            WaitOptions::new(t, interval)
                .err()
                .map(|e| e.rename_setting("timeout", &name)),
        ),
        Ok((None, _)) => {}
        Err(e) => problems.push(e),
    }
    match setting(None, "--interval", &env.ec3_interval, "EC3_INTERVAL", env) {
        Ok((Some(i), name)) => problems.extend(
            WaitOptions::new(timeout, i)
                .err()
                .map(|e| e.rename_setting("interval", &name)),
        ),
        Ok((None, _)) => {}
        Err(e) => problems.push(e),
    }
    problems
}

/// Checks job ids (from `EC3_JOB_ID` when `from_env`, else `JOB_ID`
/// arguments), each error naming where the id came from.
fn job_ids(ids: Vec<String>, from_env: bool, env: &Env) -> Result<Vec<JobId>, Error> {
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
    Ok(job_ids)
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
            let mut job_ids = job_ids(ids, from_env, env)?;
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
            // Checked even when not extracting: a bad value is never ignored.
            let allow_partial = env.switch(
                allow_partial_extraction,
                &env.ec3_allow_partial_extraction,
                "EC3_ALLOW_PARTIAL_EXTRACTION",
            )?;
            // `upload` takes no mapping ids (the chain extracts those its
            // configurations name): set, the variable would be lost.
            if env.ec3_mapping_id.is_some() {
                return Err(Error::config(
                    env.name("EC3_MAPPING_ID"),
                    "is for `extract` only: `upload` takes no mapping ids (with --extract it \
                     extracts the mappings its configurations name); unset it",
                ));
            }
            // The settings that say how to extract, by flag or by variable
            // (`EC3_ALLOW_PARTIAL_EXTRACTION=false` says nothing): without
            // extracting they would be lost, so they are refused.
            let how_to_extract = [
                (
                    "--imodel-id",
                    imodel_id.is_some(),
                    "EC3_IMODEL_ID",
                    env.ec3_imodel_id.is_some(),
                ),
                (
                    "--changeset-id",
                    changeset_id.is_some(),
                    "EC3_CHANGESET_ID",
                    env.ec3_changeset_id.is_some(),
                ),
                (
                    "--allow-partial-extraction",
                    allow_partial_extraction,
                    "EC3_ALLOW_PARTIAL_EXTRACTION",
                    allow_partial,
                ),
            ];
            if !extract {
                let flag_way = (
                    "--extract (or EC3_EXTRACT=true)",
                    "add --extract, or leave the flag out",
                );
                let var_way = if env.github() {
                    (
                        "input 'extract' (EC3_EXTRACT) set to true",
                        "set 'extract' to true, or remove this input",
                    )
                } else {
                    (
                        "--extract (or EC3_EXTRACT=true)",
                        "set EC3_EXTRACT=true, or unset it",
                    )
                };
                // Flags first: what the command line says, then the
                // environment.
                let by_flag = how_to_extract
                    .iter()
                    .find(|s| s.1)
                    .map(|s| (s.0.to_owned(), flag_way));
                let given = by_flag.or_else(|| {
                    let by_var = how_to_extract.iter().find(|s| s.3);
                    by_var.map(|s| (env.name(s.2), var_way))
                });
                if let Some((name, (with, fix))) = given {
                    return Err(Error::config(
                        name,
                        format!("goes with {with}: it says how to extract; {fix}"),
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
                let mut chain = ExtractAndUpload::new(jobs).allow_partial(allow_partial);
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
        // Never refused: `doctor` lists every problem (see `diagnose`).
        Command::Doctor(_) => {
            return Err(Error::Internal(
                "`doctor` is checked by settings::diagnose".into(),
            ));
        }
    })
}

/// The settings `doctor` shows, each with where it came from: the flag,
/// else the variable, else the core's default. Secrets only by kind; a URL
/// holding `@` (user info, maybe a password) not at all. Settings that
/// have no default (ids, names) only when given.
fn provenance(args: &Args, env: &Env) -> Vec<Setting> {
    let pick = |name, flag: Option<String>, flag_name: &str, var, value: &Option<String>| match (
        flag, value,
    ) {
        (Some(v), _) => Some(Setting {
            name,
            value: v,
            from: flag_name.to_owned(),
        }),
        (None, Some(v)) => Some(Setting {
            name,
            value: v.clone(),
            from: env.name(var),
        }),
        (None, None) => None,
    };
    let or_default = |setting: Option<Setting>, name, default: &str| {
        setting.unwrap_or_else(|| Setting {
            name,
            value: default.to_owned(),
            from: "default".to_owned(),
        })
    };
    let hide_user_info = |mut s: Setting| {
        if s.value.contains('@') {
            s.value = "(not shown: it holds '@', user info that may be a password)".to_owned();
        }
        s
    };
    let (credentials, from) = match (
        &env.itwin_access_token,
        &env.itwin_client_id,
        &env.itwin_client_secret,
    ) {
        (Some(_), _, _) => ("access token (not shown)", env.name("ITWIN_ACCESS_TOKEN")),
        (None, Some(_), Some(_)) => (
            "client credentials (not shown)",
            format!(
                "{}, {}",
                env.name("ITWIN_CLIENT_ID"),
                env.name("ITWIN_CLIENT_SECRET")
            ),
        ),
        (None, Some(_), None) => (
            "a client id without its secret",
            env.name("ITWIN_CLIENT_ID"),
        ),
        (None, None, Some(_)) => (
            "a client secret without its id (not shown)",
            env.name("ITWIN_CLIENT_SECRET"),
        ),
        (None, None, None) => ("none", "environment".to_owned()),
    };
    let doctor = match &args.command {
        Command::Doctor(doctor) => Some(doctor),
        _ => None,
    };
    let mut ca_cert = pick(
        "ca-cert",
        args.ca_cert.clone(),
        "--ca-cert",
        "EC3_CA_CERT",
        &env.ec3_ca_cert,
    );
    if let Some(ca) = &mut ca_cert {
        ca.value = match CaCert::of(&ca.value) {
            CaCert::Pem(text) => format!("PEM text ({} bytes)", text.len()),
            CaCert::Path(path) => path.to_owned(),
            _ => "given".to_owned(),
        };
    }
    let mut settings = vec![
        Setting {
            name: "credentials",
            value: credentials.to_owned(),
            from,
        },
        hide_user_info(or_default(
            pick(
                "api-url",
                args.api_url.clone(),
                "--api-url",
                "ITWIN_API_URL",
                &env.itwin_api_url,
            ),
            "api-url",
            DEFAULT_API_URL,
        )),
        hide_user_info(or_default(
            pick(
                "authority",
                args.authority.clone(),
                "--authority",
                "ITWIN_AUTHORITY",
                &env.itwin_authority,
            ),
            "authority",
            DEFAULT_AUTHORITY,
        )),
        or_default(
            pick("scope", None, "", "ITWIN_SCOPE", &env.itwin_scope),
            "scope",
            DEFAULT_SCOPE,
        ),
        or_default(ca_cert, "ca-cert", "none"),
        or_default(
            pick(
                "max-requests-per-minute",
                args.max_requests_per_minute.map(|n| n.to_string()),
                "--max-requests-per-minute",
                "EC3_MAX_REQUESTS_PER_MINUTE",
                &env.ec3_max_requests_per_minute,
            ),
            "max-requests-per-minute",
            &DEFAULT_MAX_REQUESTS_PER_MINUTE.to_string(),
        ),
    ];
    let given = [
        pick("timeout", None, "", "EC3_TIMEOUT", &env.ec3_timeout),
        pick("interval", None, "", "EC3_INTERVAL", &env.ec3_interval),
        pick(
            "job-id",
            doctor.and_then(|d| d.job_id.clone()),
            "--job-id",
            "EC3_JOB_ID",
            &env.ec3_job_id,
        ),
        pick(
            "configuration-id",
            doctor.and_then(|d| d.configuration_id.clone()),
            "--configuration-id",
            "EC3_CONFIGURATION_ID",
            &env.ec3_configuration_id,
        ),
        pick(
            "project-name",
            None,
            "",
            "EC3_PROJECT_NAME",
            &env.ec3_project_name,
        ),
        pick(
            "extraction-id",
            None,
            "",
            "EC3_EXTRACTION_ID",
            &env.ec3_extraction_id,
        ),
        pick("extract", None, "", "EC3_EXTRACT", &env.ec3_extract),
        pick("imodel-id", None, "", "EC3_IMODEL_ID", &env.ec3_imodel_id),
        pick(
            "changeset-id",
            None,
            "",
            "EC3_CHANGESET_ID",
            &env.ec3_changeset_id,
        ),
        pick(
            "mapping-id",
            None,
            "",
            "EC3_MAPPING_ID",
            &env.ec3_mapping_id,
        ),
        pick(
            "allow-partial-extraction",
            None,
            "",
            "EC3_ALLOW_PARTIAL_EXTRACTION",
            &env.ec3_allow_partial_extraction,
        ),
        env.ec3_bearer_token.as_ref().map(|_| Setting {
            name: "ec3-token",
            value: "given (not shown)".to_owned(),
            from: env.name("EC3_BEARER_TOKEN"),
        }),
    ];
    settings.extend(given.into_iter().flatten());
    settings
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
        let (env, errors) = Env::read(all);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(env.ec3_extraction_id.as_deref(), Some("x"));
        let (env, errors) = Env::read([("EC3_UNKNOWN".into(), "x".into())].into_iter());
        assert!(errors.is_empty() && env.ec3_job_id.is_none());
    }
}
