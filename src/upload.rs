//! Creating an EC3 upload job: `POST /ec3/jobs`.

use serde::{Deserialize, Serialize};

use crate::client::{Call, Method, Payload, Policy};
use crate::{Cancel, Client, Error, JobId, Observer, Secret, Timeout};

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
    let ok = (1..=256).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            what,
            "must be 1-256 ASCII letters, digits, '.', '_' or '-'",
        ))
    }
}

impl Client {
    /// Creates an EC3 upload job and returns its id.
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
        let answer = match reply.into_body(|detail| Error::Service {
            status: 404,
            detail,
        }) {
            Ok(answer) => answer,
            Err(error @ Error::Rejected { .. }) => return Err(self.explain(job, error, call)),
            Err(error) => return Err(error),
        };
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
    /// A rejected job creation, explained when the configuration's form
    /// says why: an extraction-based configuration and no extraction id, or
    /// a report-based one and an extraction id, is a usage error (setting
    /// `extraction`, resp. `extraction id`) naming the configuration and
    /// what to change. The configuration is read only then (one request),
    /// so a creation that succeeds costs nothing more; when it cannot be
    /// read, the rejection stands as the service gave it.
    fn explain(&self, job: &NewJob, rejection: Error, call: &mut Call<'_>) -> Error {
        let Ok(configuration) = self.fetch_configuration(&job.configuration_id, call) else {
            return rejection;
        };
        let name = crate::text::one_line(&job.configuration_id, 256);
        match (configuration.form(), &job.extraction_id) {
            (crate::ConfigurationForm::ExtractionBased, None) => Error::config(
                "extraction",
                format!(
                    "configuration '{name}' is extraction-based: its jobs need an extraction \
                     (the service refused the job without one: {rejection}); no job was created"
                ),
            ),
            (crate::ConfigurationForm::ReportBased, Some(_)) => {
                let report = configuration.report_id().map_or_else(
                    || "(no report link)".to_owned(),
                    |r| crate::text::one_line(r, 256),
                );
                Error::config(
                    "extraction id",
                    format!(
                        "configuration '{name}' is report-based (it uploads report '{report}') \
                         and takes no extraction: leave the extraction id out; no job was created"
                    ),
                )
            }
            _ => rejection,
        }
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
