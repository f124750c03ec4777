//! Creating several EC3 jobs at once, one per configuration, with project
//! names made from one template. The placeholder rule lives here, once: the
//! command and the Action only pass the template on.

use crate::client::Call;
use crate::{Cancel, Client, Error, Event, JobId, NewJob, Observer, Secret, Timeout};
use std::collections::{HashMap, HashSet};

/// In a project name template: the configuration's display name (read with
/// `GET /ec3/configurations/{id}`; its id when it has none).
pub const PLACEHOLDER_CONFIGURATION: &str = "{configuration}";
/// In a project name template: the job's position, from 1.
pub const PLACEHOLDER_N: &str = "{n}";

/// Several jobs to create: one per configuration, all with the same EC3
/// token (and extraction, if any), named from one template.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewJobs {
    /// The configurations, one job each, in this order.
    pub configuration_ids: Vec<String>,
    /// The project name template: [`PLACEHOLDER_CONFIGURATION`] and
    /// [`PLACEHOLDER_N`] are replaced in it; anything else is kept as is.
    /// EC3 refuses duplicate project names, so with more than one
    /// configuration it must hold a placeholder.
    pub project_name: String,
    /// The user's EC3 token (see [`NewJob::ec3_token`]).
    pub ec3_token: Secret,
    /// The extraction to upload, for extraction-based jobs.
    pub extraction_id: Option<String>,
}

impl NewJobs {
    /// Report-based jobs, one per configuration; add
    /// [`NewJobs::extraction_id`] for extraction-based ones. Checked by
    /// [`NewJobs::validate`] and again before anything is sent.
    pub fn new(
        configuration_ids: Vec<String>,
        project_name: impl Into<String>,
        ec3_token: Secret,
    ) -> Self {
        Self {
            configuration_ids,
            project_name: project_name.into(),
            ec3_token,
            extraction_id: None,
        }
    }

    /// The extraction to upload, for extraction-based jobs.
    /// Defaults to none.
    pub fn extraction_id(mut self, id: impl Into<String>) -> Self {
        self.extraction_id = Some(id.into());
        self
    }

    /// What can be checked before anything is sent: at least one
    /// configuration, a placeholder when there are several, and every field
    /// as [`NewJob::validate`] checks it. Errors never include the EC3 token.
    pub fn validate(&self) -> Result<(), Error> {
        if self.configuration_ids.is_empty() {
            return Err(Error::config(
                "configuration id",
                "at least one configuration id is needed",
            ));
        }
        let has_placeholder = [PLACEHOLDER_CONFIGURATION, PLACEHOLDER_N]
            .iter()
            .any(|p| self.project_name.contains(p));
        if self.configuration_ids.len() > 1 && !has_placeholder {
            return Err(Error::config(
                "project name",
                format!(
                    "with {} configurations it must contain {PLACEHOLDER_CONFIGURATION} (the \
                     configuration's display name) or {PLACEHOLDER_N} (its position, from 1): \
                     EC3 refuses duplicate project names",
                    self.configuration_ids.len()
                ),
            ));
        }
        // The name's length is checked once the placeholders are filled in.
        let sample = project_name(&self.project_name, "x", 1);
        for id in &self.configuration_ids {
            self.job(id, sample.clone()).validate()?;
        }
        Ok(())
    }

    fn job(&self, configuration_id: &str, project_name: String) -> NewJob {
        NewJob {
            configuration_id: configuration_id.to_owned(),
            project_name,
            ec3_token: self.ec3_token.clone(),
            extraction_id: self.extraction_id.clone(),
        }
    }
}

/// `template` with its placeholders filled in. `{n}` goes first, so a
/// display name that happens to hold `{n}` stays as it is.
fn project_name(template: &str, display_name: &str, n: usize) -> String {
    template
        .replace(PLACEHOLDER_N, &n.to_string())
        .replace(PLACEHOLDER_CONFIGURATION, display_name)
}

/// A display name fit for a project name: one line, trimmed; the id when
/// there is none.
pub(crate) fn display_name(name: Option<&str>, id: &str) -> String {
    let line: String = name
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match line.trim() {
        "" => id.to_owned(),
        name => name.to_owned(),
    }
}

impl Client {
    /// Creates one job per configuration of `jobs`, in order, under one
    /// deadline (`timeout`) and this client's request budget, and returns
    /// one result per configuration, in the same order.
    ///
    /// Nothing is created unless every job can be: the template is checked
    /// first ([`NewJobs::validate`]: several configurations and no
    /// placeholder is refused before anything is sent), then each distinct
    /// configuration is read once and its form checked as
    /// [`Client::create_job`] does (an extraction-based one without
    /// [`NewJobs::extraction_id`], or a report-based one with it, is a usage
    /// error), then every name is checked, and two jobs that would get the
    /// same name are refused. Those failures are the `Err`. When the
    /// template uses [`PLACEHOLDER_CONFIGURATION`], a configuration that
    /// cannot be read is an `Err` too (its display name names the project).
    ///
    /// Then each job is created as [`Client::create_job`] does: a request
    /// that may have reached the service is never repeated, so a job is
    /// never created twice. One job's failure does not stop the others. A
    /// cancel gives [`Error::Cancelled`] to the jobs not yet created, and
    /// keeps the ids of those that were. Each id is reported
    /// ([`Event::Created`]) as soon as the job exists.
    pub fn create_jobs(
        &self,
        jobs: &NewJobs,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Result<JobId, Error>>, Error> {
        jobs.validate()?;
        self.run_to_end(timeout.get(), cancel, observer, |client, call| {
            let needed = jobs.project_name.contains(PLACEHOLDER_CONFIGURATION);
            let extraction_id = jobs.extraction_id.as_deref();
            let mut names = HashMap::new();
            for id in &jobs.configuration_ids {
                if names.contains_key(id) {
                    continue;
                }
                let read = client.read_for_job(id, extraction_id, needed, call)?;
                let name = read.and_then(|c| c.display_name);
                names.insert(id.clone(), display_name(name.as_deref(), id));
            }
            let planned = client.plan_jobs(jobs, &names)?;
            Ok(client.post_jobs(&planned, call))
        })?
    }

    /// The jobs of `jobs`, named (`names`: display names by configuration
    /// id, read by the caller; the id stands in for a missing one), checked,
    /// and refused together when two would get the same name.
    pub(crate) fn plan_jobs(
        &self,
        jobs: &NewJobs,
        names: &HashMap<String, String>,
    ) -> Result<Vec<NewJob>, Error> {
        let mut planned = Vec::with_capacity(jobs.configuration_ids.len());
        let mut seen = HashSet::new();
        for (i, id) in jobs.configuration_ids.iter().enumerate() {
            let display = names.get(id.as_str()).map_or(id.as_str(), String::as_str);
            let job = jobs.job(id, project_name(&jobs.project_name, display, i + 1));
            job.validate()?;
            if !seen.insert(job.project_name.clone()) {
                return Err(Error::config(
                    "project name",
                    format!(
                        "two jobs would be named '{}' and EC3 refuses duplicate project \
                         names: add {PLACEHOLDER_N}",
                        crate::text::one_line(&job.project_name, 256)
                    ),
                ));
            }
            planned.push(job);
        }
        Ok(planned)
    }

    /// Creates each of `planned` in order, reporting [`Event::Created`] as
    /// each exists; a cancel gives [`Error::Cancelled`] to those not yet
    /// created.
    pub(crate) fn post_jobs(
        &self,
        planned: &[NewJob],
        call: &mut Call<'_>,
    ) -> Vec<Result<JobId, Error>> {
        let mut created = Vec::with_capacity(planned.len());
        for (index, job) in planned.iter().enumerate() {
            let result = call.cancel.check().and_then(|()| self.post_job(job, call));
            if let Ok(id) = &result {
                call.observer.on_event(Event::Created { index, id });
            }
            created.push(result);
        }
        created
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(ids: &[&str], name: &str) -> NewJobs {
        NewJobs {
            configuration_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            project_name: name.into(),
            ec3_token: Secret::new("ec3-s3cret"),
            extraction_id: None,
        }
    }

    #[test]
    fn several_configurations_need_a_placeholder() {
        assert!(jobs(&["a"], "Tower").validate().is_ok());
        let err = jobs(&["a", "b"], "Tower").validate().unwrap_err();
        assert!(err.is_usage());
        assert!(
            err.to_string()
                .starts_with("project name: with 2 configurations"),
            "{err}"
        );
        assert!(jobs(&["a", "b"], "Tower {n}").validate().is_ok());
        assert!(jobs(&["a", "b"], "{configuration}").validate().is_ok());
        assert!(jobs(&[], "Tower").validate().unwrap_err().is_usage());
        assert!(jobs(&["a", "b\n"], "{n}").validate().is_err());
        let err = jobs(&["a"], "x").validate();
        assert!(err.is_ok());
    }

    #[test]
    fn placeholders_are_filled_in() {
        assert_eq!(
            project_name("{configuration} #{n}", "Campus A", 3),
            "Campus A #3"
        );
        assert_eq!(project_name("{n}-{n}", "x", 12), "12-12");
        assert_eq!(project_name("{configuration}", "odd {n}", 2), "odd {n}");
        assert_eq!(project_name("Tower {other}", "x", 1), "Tower {other}");
        assert_eq!(display_name(Some(" A\nB "), "id"), "A B");
        assert_eq!(display_name(Some("  "), "id"), "id");
        assert_eq!(display_name(None, "id"), "id");
    }
}
