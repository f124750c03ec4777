//! Creating an EC3 upload job: `POST /ec3/jobs`.

use serde::{Deserialize, Serialize};

use crate::client::{Call, Method, Payload, Policy};
use crate::{
    Cancel, Client, Configuration, ConfigurationForm, Error, JobId, Observer, Secret, Timeout,
};

/// What to upload: a report-based job, or extraction-based with
/// `extraction_id`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewJob {
    /// The EC3 configuration that says which report to upload.
    pub configuration_id: String,
    /// Name of the EC3 project to create.
    pub project_name: String,
    /// The user's EC3 (Building Transparency) OAuth token, scope `read
    /// write`. A secret: it goes into the request body and nowhere else.
    pub ec3_token: Secret,
    /// The extraction to upload, for extraction-based jobs.
    pub extraction_id: Option<String>,
}

impl NewJob {
    /// A report-based job; add [`NewJob::extraction_id`] for an
    /// extraction-based one. Checked by [`NewJob::validate`] and again
    /// before it is sent.
    pub fn new(
        configuration_id: impl Into<String>,
        project_name: impl Into<String>,
        ec3_token: Secret,
    ) -> Self {
        Self {
            configuration_id: configuration_id.into(),
            project_name: project_name.into(),
            ec3_token,
            extraction_id: None,
        }
    }

    /// The extraction to upload, for an extraction-based job.
    /// Defaults to none.
    pub fn extraction_id(mut self, id: impl Into<String>) -> Self {
        self.extraction_id = Some(id.into());
        self
    }

    /// Refuses empty fields, control characters and oversized values before
    /// anything is sent. Errors never include the EC3 token.
    pub fn validate(&self) -> Result<(), Error> {
        check_id("configuration id", &self.configuration_id)?;
        check("project name", &self.project_name, 256)?;
        if let Some(extraction) = &self.extraction_id {
            check_id("extraction id", extraction)?;
        }
        if self.ec3_token.expose().trim().is_empty()
            || self.ec3_token.expose().chars().any(char::is_control)
        {
            return Err(Error::config(
                "EC3 token",
                "must be non-empty, without control characters (value not shown)",
            ));
        }
        Ok(())
    }
}

/// Refuses a blank `value`, one over `max` characters, or one with control
/// characters, naming the field `what`.
fn check(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        Err(Error::config(
            what,
            format!("must be 1-{max} characters without control characters"),
        ))
    } else {
        Ok(())
    }
}

/// Refuses anything but the shape of the service's ids (GUIDs), naming the
/// field `what`: a typo or a pasted URL fails here, and a checked id goes
/// into a URL path as it is.
pub(crate) fn check_id(what: &str, value: &str) -> Result<(), Error> {
    if is_id(value, 256) {
        Ok(())
    } else {
        Err(Error::config(
            what,
            "must be 1-256 ASCII letters, digits, '.', '_' or '-', not only dots",
        ))
    }
}

/// The shape of every id that goes into a URL path as it is (the core's
/// ids, and [`JobId::new`] with `max` 128): 1-`max` ASCII letters, digits,
/// `.`, `_` or `-`, and not only dots. Nothing that changes a path, query or
/// fragment (`/`, `?`, `#`, `%`) gets through, and neither does a dot
/// segment (`.`, `..`: `/extractions/..` would be a request for the parent
/// path); longer runs of dots are refused too (no id of the service is one).
pub(crate) fn is_id(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !value.bytes().all(|b| b == b'.')
}

impl Client {
    /// Creates an EC3 upload job and returns its id.
    ///
    /// The configuration is read first (one `GET`, within `timeout`): an
    /// extraction-based one without [`NewJob::extraction_id`], or a
    /// report-based one with it, is a usage error naming it (setting
    /// `extraction`, resp. `extraction id`; rename them for your users with
    /// [`Error::rename_setting`]) and nothing is created. One of unknown
    /// form, or one the service refuses to show, goes on to the creation
    /// and the service decides.
    ///
    /// Creating is not idempotent, so a failure is retried only when the
    /// request surely never reached the service (it could not connect) or the
    /// service asked for it (429, or 503 with `Retry-After`), within `timeout`.
    /// A connection lost after sending is an error, never a second job.
    pub fn create_job(
        &self,
        job: &NewJob,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<JobId, Error> {
        job.validate()?;
        self.run(timeout.get(), cancel, observer, |client, call| {
            let extraction_id = job.extraction_id.as_deref();
            client.read_for_job(&job.configuration_id, extraction_id, false, call)?;
            client.post_job(job, call)
        })
    }

    /// `POST /ec3/jobs` for a validated `job`, within `call`.
    pub(crate) fn post_job(&self, job: &NewJob, call: &mut Call<'_>) -> Result<JobId, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            configuration_id: &'a str,
            project_name: &'a str,
            ec3_bearer_token: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            extraction_id: Option<&'a str>,
        }
        #[derive(Deserialize)]
        struct Created {
            job: Option<CreatedJob>,
        }
        #[derive(Deserialize)]
        struct CreatedJob {
            id: Option<String>,
        }

        let json = serde_json::to_vec(&Body {
            configuration_id: &job.configuration_id,
            project_name: &job.project_name,
            ec3_bearer_token: job.ec3_token.expose(),
            extraction_id: job.extraction_id.as_deref(),
        })
        .map_err(|e| Error::InvalidResponse(format!("cannot encode the request: {e}")))?;
        self.remember_secret(&job.ec3_token);
        let payload = Payload { json };
        let url = self.api_url("/insights/carbon-calculation/ec3/jobs");
        let reply = self.api_call(
            Method::Post,
            url,
            Some(&payload),
            Policy::NotIdempotent,
            call,
        )?;
        let answer = reply.into_body(|detail| Error::Service {
            status: 404,
            detail,
        })?;
        let created: Created = serde_json::from_slice(&answer).map_err(|_| {
            Error::InvalidResponse("job creation answer is not the documented JSON".into())
        })?;
        let id = created
            .job
            .and_then(|j| j.id)
            .ok_or_else(|| Error::InvalidResponse("job creation answer has no job id".into()))?;
        JobId::new(&id)
            .map_err(|_| Error::InvalidResponse("the service returned an invalid job id".into()))
    }
}

impl Client {
    /// Reads configuration `id` (one `GET`, within `call`) before a job is
    /// created from it, and refuses a job its form says the service cannot
    /// run ([`check_form`]): nothing is created then.
    ///
    /// A configuration of unknown form goes on to the creation. So does one
    /// the service does not let be read (a refusal, an error status, an
    /// answer not understood) unless `needed` (its display name names the
    /// project): the service then decides at creation, as without this
    /// check. A cancel, the deadline, refused credentials or a network
    /// failure stop here: a creation would meet the same.
    pub(crate) fn read_for_job(
        &self,
        id: &str,
        extraction_id: Option<&str>,
        needed: bool,
        call: &mut Call<'_>,
    ) -> Result<Option<Configuration>, Error> {
        match self.fetch_configuration(id, call) {
            Ok(configuration) => {
                check_form(&configuration, id, extraction_id)?;
                Ok(Some(configuration))
            }
            Err(Error::Rejected { .. } | Error::Service { .. } | Error::InvalidResponse(_))
                if !needed =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

/// Refuses a job for `configuration` (given as `configuration_id`) that its
/// form says the service cannot run, as a usage error naming the
/// configuration and what to change: an extraction-based one without an
/// extraction id (setting `extraction`), a report-based one with one
/// (setting `extraction id`, naming its report). A configuration of unknown
/// form passes.
fn check_form(
    configuration: &Configuration,
    configuration_id: &str,
    extraction_id: Option<&str>,
) -> Result<(), Error> {
    let name = crate::text::one_line(configuration_id, 256);
    match (configuration.form(), extraction_id) {
        (ConfigurationForm::ExtractionBased, None) => Err(Error::config(
            "extraction",
            format!(
                "configuration '{name}' is extraction-based: its jobs need an extraction; \
                 no job was created"
            ),
        )),
        (ConfigurationForm::ReportBased, Some(_)) => {
            let report = configuration.report_id().map_or_else(
                || "(no report link)".to_owned(),
                |r| crate::text::one_line(r, 256),
            );
            Err(Error::config(
                "extraction id",
                format!(
                    "configuration '{name}' is report-based (it uploads report '{report}') \
                     and takes no extraction: leave the extraction id out; no job was created"
                ),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> NewJob {
        NewJob {
            configuration_id: "cfg".into(),
            project_name: "Tower".into(),
            ec3_token: Secret::new("ec3-s3cret"),
            extraction_id: None,
        }
    }

    #[test]
    fn a_job_must_fit_its_configurations_form() {
        let read =
            |json: serde_json::Value| -> Configuration { serde_json::from_value(json).unwrap() };
        let extraction = read(serde_json::json!({"id": "c", "labels": [{"mappingId": "m"}]}));
        let report = read(serde_json::json!({
            "id": "c", "_links": {"report": {"href": "https://h/reports/r-1"}}
        }));
        let unknown = read(serde_json::json!({"id": "c"}));
        let err = check_form(&extraction, "c\n1", None).unwrap_err();
        assert!(err.is_usage());
        assert_eq!(
            err.to_string(),
            "extraction: configuration 'c\\n1' is extraction-based: its jobs need an \
             extraction; no job was created"
        );
        assert!(check_form(&extraction, "c", Some("x")).is_ok());
        let err = check_form(&report, "c", Some("x")).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "extraction id: configuration 'c' is report-based (it uploads report 'r-1')"
            ),
            "{err}"
        );
        assert!(check_form(&report, "c", None).is_ok());
        assert!(check_form(&unknown, "c", None).is_ok());
        assert!(check_form(&unknown, "c", Some("x")).is_ok());
    }

    #[test]
    fn ids_made_only_of_dots_are_refused() {
        for bad in [".", "..", "...", "", "a/b", "a%2e", "x?y", &"a".repeat(257)] {
            let err = check_id("extraction id", bad).unwrap_err();
            assert!(err.is_usage(), "{bad}");
        }
        for ok in [
            "a",
            "..a",
            "a..",
            "a.b",
            "3fa85f64-5717-4562",
            &"a".repeat(256),
        ] {
            assert!(check_id("extraction id", ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_id("iModel id", "..").unwrap_err().to_string(),
            "iModel id: must be 1-256 ASCII letters, digits, '.', '_' or '-', not only dots"
        );
        assert!(!is_id(&"a".repeat(129), 128));
    }

    #[test]
    fn validation_names_the_field_and_hides_the_token() {
        assert!(job().validate().is_ok());
        let mut j = job();
        j.project_name = "a\nb".into();
        assert!(
            j.validate()
                .unwrap_err()
                .to_string()
                .starts_with("project name:")
        );
        let mut j = job();
        j.ec3_token = Secret::new(" ");
        let err = j.validate().unwrap_err().to_string();
        assert!(err.starts_with("EC3 token:"));
        assert!(!format!("{:?}", job()).contains("ec3-s3cret"));
    }
}
