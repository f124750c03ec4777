//! From "the iModel changed" to "EC3 has the new numbers, or the gate is
//! red" in one call: read the configurations, run one extraction per
//! distinct iModel over the union of their mappings, wait for them, create
//! the jobs with their extraction ids, and (optionally) wait for the jobs,
//! all under one deadline. The rules of the chain's outcomes live here.

use std::collections::HashMap;

use crate::extraction::failure_message;
use crate::new_jobs::display_name;
use crate::upload::check_id;
use crate::{
    Cancel, Client, Configuration, ConfigurationForm, Error, Extraction, ExtractionFailure,
    ExtractionId, ExtractionLog, ExtractionState, Job, JobId, LogLevel, NewExtraction, NewJobs,
    Observer, WaitOptions,
};

/// What [`Client::extract_and_upload`] does: the jobs (one per
/// configuration, named from one template, as [`NewJobs`]; without an
/// extraction id: the chain makes them) and how to extract.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExtractAndUpload {
    /// The jobs. [`NewJobs::extraction_id`] must be unset.
    pub jobs: NewJobs,
    /// The iModel to extract, for every configuration; `None`: each
    /// configuration's own (the last path segment of its
    /// `_links.iModel.href`).
    pub imodel_id: Option<String>,
    /// The changeset to extract; `None`: the latest.
    pub changeset_id: Option<String>,
    /// Go on after a `PartiallySucceeded` extraction (with a warning)
    /// instead of stopping the chain.
    pub allow_partial: bool,
}

impl ExtractAndUpload {
    /// The chain for `jobs`, each configuration's iModel, the latest
    /// changeset, a partial extraction refused.
    pub fn new(jobs: NewJobs) -> Self {
        Self {
            jobs,
            imodel_id: None,
            changeset_id: None,
            allow_partial: false,
        }
    }

    /// Extracts this iModel for every configuration.
    pub fn imodel_id(mut self, id: impl Into<String>) -> Self {
        self.imodel_id = Some(id.into());
        self
    }

    /// Extracts at this changeset.
    pub fn changeset_id(mut self, id: impl Into<String>) -> Self {
        self.changeset_id = Some(id.into());
        self
    }

    /// Goes on after a `PartiallySucceeded` extraction when `allow`.
    pub fn allow_partial(mut self, allow: bool) -> Self {
        self.allow_partial = allow;
        self
    }

    /// What can be checked before anything is sent: the jobs as
    /// [`NewJobs::validate`] checks them, no extraction id of their own
    /// (setting `extraction id`), and the iModel and changeset ids by the
    /// core's id rule (`iModel id`, `changeset id`).
    pub fn validate(&self) -> Result<(), Error> {
        self.jobs.validate()?;
        if self.jobs.extraction_id.is_some() {
            return Err(Error::config(
                "extraction id",
                "the chain runs the extraction itself: give an extraction id or extract, not both",
            ));
        }
        if let Some(id) = &self.imodel_id {
            check_id("iModel id", id)?;
        }
        if let Some(id) = &self.changeset_id {
            check_id("changeset id", id)?;
        }
        Ok(())
    }
}

/// The stage of the chain an outcome belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Reading the configurations, running or waiting for the extractions:
    /// no job was created.
    Extraction,
    /// Creating or waiting for the jobs.
    Job,
}

impl Stage {
    /// `extraction` or `job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extraction => "extraction",
            Self::Job => "job",
        }
    }
}

/// One extraction of a chain: one per distinct iModel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainExtraction {
    /// The iModel extracted.
    pub imodel_id: String,
    /// The mappings extracted: the union of its configurations', in order.
    pub mapping_ids: Vec<String>,
    /// Its id, once the service gave one.
    pub id: Option<ExtractionId>,
    /// The last answer about it.
    pub last_seen: Option<Extraction>,
    /// The `Warning` and `Error` entries of its logs, read when it finished
    /// other than `Succeeded` (server text, capped).
    pub problems: Vec<ExtractionLog>,
}

impl ChainExtraction {
    /// Its last known state.
    pub fn state(&self) -> Option<&ExtractionState> {
        self.last_seen.as_ref().map(|e| &e.state)
    }
}

/// One job of a chain (one per configuration, in the order given).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChainJob {
    /// Its configuration.
    pub configuration_id: String,
    /// Its extraction: an index into [`ChainOutcome::extractions`] (`None`
    /// when the chain stopped before the configurations were planned).
    pub extraction: Option<usize>,
    /// The job's id, once created.
    pub id: Option<JobId>,
    /// The service's last answer about the job.
    pub last_seen: Option<Job>,
    /// `Ok(Some(job))`: it finished (look at the status); `Ok(None)`:
    /// created, not waited for; `Err`: why not (the chain's error for every
    /// job when it stopped at the extraction stage).
    pub result: Result<Option<Job>, Error>,
}

/// What [`Client::extract_and_upload`] came to: every extraction and every
/// job as far as it got.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChainOutcome {
    /// The extractions, one per distinct iModel, in order of first use.
    pub extractions: Vec<ChainExtraction>,
    /// The jobs, one per configuration, in the order given.
    pub jobs: Vec<ChainJob>,
    /// Why the chain stopped before creating any job (a failed or refused
    /// partial extraction, a timeout, a cancel, an error), else `None`.
    pub stopped: Option<Error>,
    /// Warnings to show: extractions that `PartiallySucceeded` and were
    /// allowed to go on (server text, capped).
    pub warnings: Vec<String>,
}

impl ChainOutcome {
    /// The stage the chain ended in: [`Stage::Extraction`] when it stopped
    /// before creating a job.
    pub fn stage(&self) -> Stage {
        if self.stopped.is_some() {
            Stage::Extraction
        } else {
            Stage::Job
        }
    }

    /// The extraction of the job at `index`.
    pub fn extraction_of(&self, index: usize) -> Option<&ChainExtraction> {
        self.extractions.get(self.jobs.get(index)?.extraction?)
    }
}

/// Longest message of an allowed partial extraction's warning.
const MAX_WARNING_CHARS: usize = 2000;

impl Client {
    /// Runs the whole chain under one deadline (`options.timeout()`),
    /// polling every `options.interval()`:
    ///
    /// 1. reads each configuration once; a report-based one is a usage error
    ///    (setting `extract`) naming it and its report, and nothing more is
    ///    sent; one without mappings, or without an iModel when
    ///    [`ExtractAndUpload::imodel_id`] is unset, too (`iModel id`);
    /// 2. runs one extraction per distinct iModel over the union of its
    ///    configurations' distinct mappings (each reported at once,
    ///    [`Event::ExtractionStarted`](crate::Event::ExtractionStarted)), and
    ///    waits for each;
    /// 3. stops, creating no job, when one did not succeed:
    ///    `Failed` is [`Error::ExtractionFailed`] with the logs' `Error`
    ///    entries; `PartiallySucceeded` too, unless
    ///    [`ExtractAndUpload::allow_partial`] (then a warning);
    /// 4. creates the jobs as [`Client::create_jobs`] does, each with its
    ///    iModel's extraction id, and with `wait` waits for them as
    ///    [`Client::wait_all`] does (one job: its events bare).
    ///
    /// `Err` only when the chain stopped before any extraction ran (bad
    /// input, a configuration that cannot be extracted, an error reading
    /// one); afterwards everything known is in the [`ChainOutcome`].
    pub fn extract_and_upload(
        &self,
        chain: &ExtractAndUpload,
        options: &WaitOptions,
        wait: bool,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<ChainOutcome, Error> {
        chain.validate()?;
        self.run_to_end(options.timeout(), cancel, observer, |client, call| {
            // 1. The configurations, each once.
            let ids = &chain.jobs.configuration_ids;
            let mut read: HashMap<&str, Configuration> = HashMap::new();
            for id in ids {
                if !read.contains_key(id.as_str()) {
                    let found = client.fetch_configuration(id, call)?;
                    read.insert(id, found);
                }
            }
            let mut extractions: Vec<ChainExtraction> = Vec::new();
            let mut extraction_of = Vec::with_capacity(ids.len());
            for id in ids {
                let configuration = &read[id.as_str()];
                let (imodel, mappings) = plan(configuration, chain.imodel_id.as_deref())?;
                let index = match extractions.iter().position(|e| e.imodel_id == imodel) {
                    Some(i) => i,
                    None => {
                        extractions.push(ChainExtraction {
                            imodel_id: imodel,
                            mapping_ids: Vec::new(),
                            id: None,
                            last_seen: None,
                            problems: Vec::new(),
                        });
                        extractions.len() - 1
                    }
                };
                let union = &mut extractions[index].mapping_ids;
                for m in mappings {
                    if !union.contains(&m) {
                        union.push(m);
                    }
                }
                extraction_of.push(index);
            }
            let mut outcome = ChainOutcome {
                extractions,
                jobs: ids
                    .iter()
                    .zip(&extraction_of)
                    .map(|(id, &e)| ChainJob {
                        configuration_id: id.clone(),
                        extraction: Some(e),
                        id: None,
                        last_seen: None,
                        result: Err(Error::Cancelled),
                    })
                    .collect(),
                stopped: None,
                warnings: Vec::new(),
            };

            // 2-3. The extractions: all started, then each waited for.
            if let Err(error) = client.extract(chain, options, &mut outcome, call) {
                for job in &mut outcome.jobs {
                    job.result = Err(error.clone());
                }
                outcome.stopped = Some(error);
                return Ok(outcome);
            }

            // 4. The jobs.
            let names = read
                .iter()
                .map(|(id, c)| {
                    let name = display_name(c.display_name.as_deref(), id);
                    ((*id).to_owned(), name)
                })
                .collect();
            let mut planned = match client.plan_jobs(&chain.jobs, &names) {
                Ok(planned) => planned,
                Err(error) => {
                    for job in &mut outcome.jobs {
                        job.result = Err(error.clone());
                    }
                    return Ok(outcome);
                }
            };
            for (job, &e) in planned.iter_mut().zip(&extraction_of) {
                job.extraction_id = outcome.extractions[e]
                    .id
                    .as_ref()
                    .map(|id| id.as_str().to_owned());
            }
            let created = client.post_jobs(&planned, call);
            for (job, result) in outcome.jobs.iter_mut().zip(created) {
                job.id = result.as_ref().ok().cloned();
                job.result = result.map(|_| None);
            }
            if !wait {
                return Ok(outcome);
            }
            let to_wait: Vec<JobId> = outcome.jobs.iter().filter_map(|j| j.id.clone()).collect();
            if to_wait.is_empty() {
                return Ok(outcome);
            }
            let waited = client.poll(call, &to_wait, options, to_wait.len() > 1);
            let mut waited = waited.into_iter();
            for job in outcome.jobs.iter_mut().filter(|j| j.id.is_some()) {
                if let Some(o) = waited.next() {
                    job.last_seen = o.last_seen;
                    job.result = o.result.map(Some);
                }
            }
            Ok(outcome)
        })?
    }

    /// Runs and waits for every extraction of `outcome`, recording what it
    /// learns there; `Err` is why the chain stops before any job.
    fn extract(
        &self,
        chain: &ExtractAndUpload,
        options: &WaitOptions,
        outcome: &mut ChainOutcome,
        call: &mut crate::client::Call<'_>,
    ) -> Result<(), Error> {
        for (index, e) in outcome.extractions.iter_mut().enumerate() {
            let mut new = NewExtraction::new(e.imodel_id.clone(), e.mapping_ids.clone());
            new.changeset_id.clone_from(&chain.changeset_id);
            new.validate()?;
            call.cancel.check()?;
            let started = self.post_extraction(&new, index, call)?;
            e.id = Some(started.id.clone());
            e.last_seen = Some(started);
        }
        for (index, e) in outcome.extractions.iter_mut().enumerate() {
            let Some(id) = e.id.clone() else { continue };
            let mut last = e.last_seen.take();
            let polled = self.poll_extraction(&id, index, options, &mut last, call);
            e.last_seen = last;
            let finished = polled?;
            if finished.state == ExtractionState::Succeeded {
                continue;
            }
            let logs = self.fetch_logs(&id, call);
            if let Err(Error::Cancelled) = logs {
                return Err(Error::Cancelled);
            }
            let message = match &logs {
                Ok(logs) => failure_message(logs),
                Err(error) => format!("its logs could not be read: {error}"),
            };
            e.problems = logs
                .unwrap_or_default()
                .into_iter()
                .filter(|l| matches!(l.level, LogLevel::Warning | LogLevel::Error))
                .collect();
            if finished.state == ExtractionState::PartiallySucceeded && chain.allow_partial {
                outcome.warnings.push(crate::text::normalize(
                    &format!(
                        "extraction {id} of iModel {} PartiallySucceeded; going on as allowed: \
                         {message}",
                        e.imodel_id
                    ),
                    MAX_WARNING_CHARS,
                ));
                continue;
            }
            return Err(Error::ExtractionFailed(Box::new(ExtractionFailure {
                id,
                state: finished.state,
                message,
            })));
        }
        Ok(())
    }
}

/// The iModel and the mappings to extract for `configuration`, or why it
/// cannot be extracted (nothing is sent then).
fn plan(
    configuration: &Configuration,
    imodel_id: Option<&str>,
) -> Result<(String, Vec<String>), Error> {
    let name = crate::text::one_line(&configuration.id, 256);
    match configuration.form() {
        ConfigurationForm::ReportBased => {
            let report = configuration.report_id().map_or_else(
                || "(no report link)".to_owned(),
                |r| crate::text::one_line(r, 256),
            );
            return Err(Error::config(
                "extract",
                format!(
                    "configuration '{name}' is report-based (it uploads report '{report}'): \
                     there is nothing to extract; upload it without an extraction"
                ),
            ));
        }
        ConfigurationForm::ExtractionBased | ConfigurationForm::Unknown => {}
    }
    let mappings = configuration.mapping_ids().to_vec();
    if mappings.is_empty() {
        return Err(Error::config(
            "extract",
            format!("configuration '{name}' names no mapping to extract (no labels[].mappingId)"),
        ));
    }
    for m in &mappings {
        check_id("mapping id", m).map_err(|_| {
            Error::InvalidResponse(format!(
                "configuration '{name}' names a mapping id that is not an id: '{}'",
                crate::text::one_line(m, 100)
            ))
        })?;
    }
    let imodel = match (imodel_id, configuration.imodel_id()) {
        (Some(given), _) => given.to_owned(),
        (None, Some(linked)) => {
            check_id("iModel id", linked).map_err(|_| {
                Error::InvalidResponse(format!(
                    "configuration '{name}' links an iModel whose id is not an id: '{}'",
                    crate::text::one_line(linked, 100)
                ))
            })?;
            linked.to_owned()
        }
        (None, None) => {
            return Err(Error::config(
                "iModel id",
                format!(
                    "missing: configuration '{name}' has no iModel link (_links.iModel.href); \
                     give the iModel id"
                ),
            ));
        }
    };
    Ok((imodel, mappings))
}
