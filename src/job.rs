//! EC3 upload jobs: ids, statuses, and the status response.

use std::fmt;

use serde::Deserialize;

use crate::{Error, text};

/// A validated job id: 1-128 ASCII letters, digits, `-`, `_` or `.`, and not
/// only dots. It goes into a URL path as is, so nothing that could change
/// the path, query or fragment (`/`, `?`, `#`, `%`), and no dot segment,
/// gets through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(String);

impl JobId {
    /// Validates `id`.
    pub fn new(id: &str) -> Result<Self, Error> {
        if crate::upload::is_id(id, 128) {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::InvalidJobId(id.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The state of an EC3 upload job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Accepted, not started.
    Queued,
    /// Uploading to EC3.
    Running,
    /// Done; the EC3 project exists.
    Succeeded,
    /// Done; the upload failed (see the job's message).
    Failed,
    /// A value this version does not know, kept verbatim (capped at 64
    /// characters). It is treated as unfinished.
    Other(String),
}

impl JobStatus {
    fn parse(s: &str) -> Self {
        match s {
            "Queued" => Self::Queued,
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }

    /// True for `Succeeded` and `Failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }

    /// The status word as the service spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text::one_line(self.as_str(), 64))
    }
}

/// One answer of `GET /ec3/jobs/{jobId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Job {
    /// The job's state.
    pub status: JobStatus,
    /// The failure reason (normalised line endings, capped at 16 Ki
    /// characters), when the service gave one. Untrusted text.
    pub message: Option<String>,
    /// Link to the created EC3 project, when the service gave one.
    pub ec3_project_url: Option<String>,
}

/// Longest EC3 project link kept; a longer one is reported as invalid.
const MAX_URL_BYTES: usize = 4096;

impl Job {
    /// The failure message on one line, for a log line or an error message:
    /// line breaks and control characters shown as escapes, capped at 300
    /// characters. `None` when the service gave no message.
    pub fn message_line(&self) -> Option<String> {
        self.message.as_deref().map(|m| text::one_line(m, 300))
    }

    /// Parses a job status response body. For the fuzz targets and property
    /// tests only; not part of the API.
    #[doc(hidden)]
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Envelope {
            job: Option<Wire>,
        }
        #[derive(Deserialize)]
        struct Wire {
            status: Option<String>,
            message: Option<String>,
            #[serde(rename = "_links")]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Links {
            #[serde(rename = "ec3Project")]
            ec3_project: Option<Link>,
            /// The name an older version of the service used.
            ec3: Option<Link>,
        }
        #[derive(Deserialize)]
        struct Link {
            href: Option<String>,
        }

        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
            Error::InvalidResponse(format!("job status is not the documented JSON ({e})"))
        })?;
        let wire = envelope
            .job
            .ok_or_else(|| Error::InvalidResponse("job status has no \"job\" object".into()))?;
        let status = wire
            .status
            .ok_or_else(|| Error::InvalidResponse("job status has no \"status\"".into()))?;
        let href = wire
            .links
            .and_then(|l| l.ec3_project.or(l.ec3))
            .and_then(|l| l.href);
        let ec3_project_url = match href {
            Some(h) if h.len() > MAX_URL_BYTES || h.chars().any(char::is_control) => {
                return Err(Error::InvalidResponse(
                    "the EC3 project link is too long or holds control characters".into(),
                ));
            }
            Some(h) if h.is_empty() => None,
            h => h,
        };
        Ok(Self {
            status: JobStatus::parse(&status),
            message: wire
                .message
                .map(|m| text::normalize(&m, text::MAX_TEXT_CHARS)),
            ec3_project_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids() {
        for ok in ["a", "0ee7070d-20e7-43b6", "x_y.z", &"a".repeat(128), "..a"] {
            assert!(JobId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "../x",
            "a/b",
            "a?b",
            "a#b",
            "a%2F",
            "a b",
            "é",
            &"a".repeat(129),
        ] {
            assert!(
                matches!(JobId::new(bad), Err(Error::InvalidJobId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_the_documented_answer() {
        let job = Job::from_json(br#"{ "job": { "status": "Succeeded", "message": null,
            "_links": { "ec3Project": { "href": "https://buildingtransparency.org/ec3/buildings/0ee7?view=custom" } } } }"#).unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
        assert_eq!(job.message, None);
        assert_eq!(
            job.ec3_project_url.as_deref(),
            Some("https://buildingtransparency.org/ec3/buildings/0ee7?view=custom")
        );
    }

    #[test]
    fn tolerates_missing_and_legacy_links_and_unknown_status() {
        let job = Job::from_json(br#"{"job":{"status":"Running"}}"#).unwrap();
        assert_eq!(
            (job.status, job.ec3_project_url),
            (JobStatus::Running, None)
        );
        let job = Job::from_json(
            br#"{"job":{"status":"Succeeded","_links":{"ec3":{"href":"https://x"}}}}"#,
        )
        .unwrap();
        assert_eq!(job.ec3_project_url.as_deref(), Some("https://x"));
        let job = Job::from_json(br#"{"job":{"status":"Paused","extra":1}}"#).unwrap();
        assert_eq!(job.status, JobStatus::Other("Paused".into()));
        assert!(!job.status.is_terminal());
    }

    #[test]
    fn refuses_other_shapes() {
        for body in [
            &b"<html>"[..],
            b"{}",
            br#"{"job":null}"#,
            br#"{"job":{"message":"x"}}"#,
            br#"{"job":{"status":5}}"#,
            b"\xff\xfe",
            br#"{"job":{"status":"Succeeded","_links":{"ec3Project":{"href":"https://a\nb"}}}}"#,
        ] {
            assert!(matches!(
                Job::from_json(body),
                Err(Error::InvalidResponse(_))
            ));
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Job::from_json(deep.as_bytes()).is_err());
    }
}
