//! Listing an iTwin's EC3 configurations, so users can find the id to put
//! in their workflow.

use serde::{Deserialize, Serialize};

use crate::client::{Call, Method, Pages, Policy};
use crate::{Cancel, Client, Error, Observer, Timeout, text};

/// Most pages followed; a service that links on forever is an error.
const MAX_PAGES: usize = 100;

/// Most configurations kept in one list. With each text capped, the list
/// stays within a few tens of MiB whatever the service sends (a page is read
/// up to 1 MiB, and one is held at a time).
const MAX_CONFIGURATIONS: usize = 10_000;

/// Most characters of text kept over the whole list (ids, names,
/// descriptions, dates).
const MAX_LIST_CHARS: usize = 8 * 1024 * 1024;

/// Most distinct mappings kept of one configuration's labels.
const MAX_MAPPINGS: usize = 1000;

/// One EC3 configuration.
///
/// The list ([`Client::configurations`]) and a single read
/// ([`Client::configuration`]) both fill in what the service says; a list
/// entry may lack the labels and links, so its [`Configuration::form`] may
/// be [`ConfigurationForm::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "Wire")]
#[non_exhaustive]
pub struct Configuration {
    /// The id to pass as `--configuration-id`.
    pub id: String,
    /// Its name.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// When it was last changed (as the service writes it).
    pub modified_on: Option<String>,
    /// The distinct `labels[].mappingId`, in the order of the labels.
    #[serde(skip_serializing)]
    mapping_ids: Vec<String>,
    /// Some label names a `reportTable` (a report-based label).
    #[serde(skip_serializing)]
    report_labels: bool,
    /// `_links.report.href`.
    #[serde(skip_serializing)]
    report_link: Option<String>,
    /// `_links.iModel.href`.
    #[serde(skip_serializing)]
    imodel_link: Option<String>,
}

/// Which data an EC3 configuration uploads (see
/// [`Configuration::form`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigurationForm {
    /// Its labels read a report's tables (`reportTable`, `_links.report`):
    /// a job takes no extraction.
    ReportBased,
    /// Its labels read Grouping & Mapping mappings (`mappingId`,
    /// `_links.iModel`): a job needs an extraction of those mappings.
    ExtractionBased,
    /// The answer says neither (no labels nor links: a list entry, or a
    /// shape this version does not know).
    Unknown,
}

impl ConfigurationForm {
    /// `report-based`, `extraction-based` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReportBased => "report-based",
            Self::ExtractionBased => "extraction-based",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ConfigurationForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration as the service writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    id: String,
    display_name: Option<String>,
    description: Option<String>,
    modified_on: Option<String>,
    /// Read leniently: a shape this version does not know is no labels.
    #[serde(default)]
    labels: Option<serde_json::Value>,
    #[serde(rename = "_links", default)]
    links: Option<serde_json::Value>,
}

impl From<Wire> for Configuration {
    fn from(w: Wire) -> Self {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let mut mapping_ids: Vec<String> = Vec::new();
        let mut report_labels = false;
        let labels = w.labels.as_ref().and_then(serde_json::Value::as_array);
        for label in labels.into_iter().flatten() {
            report_labels |= label.get("reportTable").is_some_and(|t| !t.is_null());
            if let Some(id) = label.get("mappingId").and_then(text) {
                if mapping_ids.len() < MAX_MAPPINGS && !mapping_ids.contains(&id) {
                    mapping_ids.push(id);
                }
            }
        }
        let link = |name: &str| {
            w.links
                .as_ref()
                .and_then(|l| l.get(name))
                .and_then(|l| l.get("href"))
                .and_then(text)
        };
        Self {
            id: w.id,
            display_name: w.display_name,
            description: w.description,
            modified_on: w.modified_on,
            mapping_ids,
            report_labels,
            report_link: link("report"),
            imodel_link: link("iModel"),
        }
    }
}

impl Configuration {
    /// Report-based or extraction-based, as its labels and links say:
    /// labels with a `mappingId` (or an iModel link and no report link) make
    /// it extraction-based; labels with a `reportTable` (or a report link)
    /// report-based.
    pub fn form(&self) -> ConfigurationForm {
        if !self.mapping_ids.is_empty() {
            ConfigurationForm::ExtractionBased
        } else if self.report_labels || self.report_link.is_some() {
            ConfigurationForm::ReportBased
        } else if self.imodel_link.is_some() {
            ConfigurationForm::ExtractionBased
        } else {
            ConfigurationForm::Unknown
        }
    }

    /// The mappings an extraction for it must run: the distinct
    /// `labels[].mappingId`, in the order of the labels (at most 1000).
    /// Server text: check each with [`ExtractionId::new`](crate::ExtractionId::new)'s
    /// rule before use (the chain does).
    pub fn mapping_ids(&self) -> &[String] {
        &self.mapping_ids
    }

    /// The iModel it reads: the last path segment of `_links.iModel.href`,
    /// when there is one (not checked: the chain checks it with the core's
    /// id rule).
    pub fn imodel_id(&self) -> Option<&str> {
        last_segment(self.imodel_link.as_deref()?)
    }

    /// The report it uploads: `_links.report.href`, when there is one.
    pub fn report_link(&self) -> Option<&str> {
        self.report_link.as_deref()
    }

    /// The report's id: the last path segment of [`Configuration::report_link`].
    pub fn report_id(&self) -> Option<&str> {
        last_segment(self.report_link.as_deref()?)
    }
}

/// The last non-empty path segment of `href`, without query or fragment
/// (never the host of a URL without a path).
fn last_segment(href: &str) -> Option<&str> {
    let href = href.split(['?', '#']).next().unwrap_or("");
    let path = match href.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => href,
    };
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && !s.contains(':'))
}

impl Client {
    /// Lists the EC3 configurations of `itwin_id`, following `_links.next`
    /// (only to the same API root: the token never goes elsewhere). Memory
    /// is bounded: more than 10,000 configurations (or 8 Mi characters of
    /// their text), or a `next` link to a page already read (a loop), is an
    /// [`Error::InvalidResponse`].
    pub fn configurations(
        &self,
        itwin_id: &str,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Configuration>, Error> {
        #[derive(Deserialize)]
        struct Page {
            configurations: Vec<Configuration>,
            #[serde(rename = "_links")]
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Links {
            next: Option<Link>,
        }
        #[derive(Deserialize)]
        struct Link {
            href: Option<String>,
        }

        let valid = (1..=128).contains(&itwin_id.len())
            && itwin_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(Error::config(
                "iTwin id",
                "must be 1-128 ASCII letters, digits or '-'",
            ));
        }
        self.run(timeout.get(), cancel, observer, |client, call| {
            // Validated above: nothing in the id needs encoding.
            let mut url = client.api_url(&format!(
                "/insights/carbon-calculation/ec3/configurations?iTwinId={itwin_id}"
            ));
            let mut all = Vec::new();
            let mut chars = 0;
            let mut pages = Pages::new("configuration list");
            for _ in 0..MAX_PAGES {
                pages.read(&url);
                let reply = client.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
                let body = reply.into_body(|detail| Error::Service {
                    status: 404,
                    detail,
                })?;
                let page: Page = serde_json::from_slice(&body).map_err(|_| {
                    Error::InvalidResponse("configuration list is not the documented JSON".into())
                })?;
                for c in page.configurations {
                    let c = client.sanitize(c);
                    chars += c.chars();
                    if all.len() == MAX_CONFIGURATIONS || chars > MAX_LIST_CHARS {
                        return Err(Error::InvalidResponse(format!(
                            "the configuration list is larger than ec3-gate keeps \
                             ({MAX_CONFIGURATIONS} configurations or {} MiB of text)",
                            MAX_LIST_CHARS / (1024 * 1024)
                        )));
                    }
                    all.push(c);
                }
                match pages.next(client, page.links.and_then(|l| l.next).and_then(|n| n.href))? {
                    Some(next) => url = next,
                    None => return Ok(all),
                }
            }
            Err(Error::InvalidResponse(format!(
                "more than {MAX_PAGES} pages of configurations"
            )))
        })
    }
}

impl Client {
    /// Reads one EC3 configuration (`GET /ec3/configurations/{id}`): its
    /// display name names the projects of [`Client::create_jobs`].
    ///
    /// `id` is checked as [`NewJob::validate`](crate::NewJob::validate)
    /// checks a configuration id (so nothing in it needs encoding). A
    /// configuration the service does not know (404) is
    /// [`Error::Rejected`]: a wrong id in the input, which no retry cures.
    pub fn configuration(
        &self,
        id: &str,
        timeout: Timeout,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Configuration, Error> {
        crate::upload::check_id("configuration id", id)?;
        self.run(timeout.get(), cancel, observer, |client, call| {
            client.fetch_configuration(id, call)
        })
    }

    /// [`Client::configuration`] within `call`, `id` checked.
    pub(crate) fn fetch_configuration(
        &self,
        id: &str,
        call: &mut Call<'_>,
    ) -> Result<Configuration, Error> {
        #[derive(Deserialize)]
        struct Single {
            configuration: Configuration,
        }
        // Checked by the caller: nothing in the id needs encoding.
        let url = self.api_url(&format!(
            "/insights/carbon-calculation/ec3/configurations/{id}"
        ));
        let reply = self.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
        let body = reply.into_body(|detail| Error::Rejected {
            status: 404,
            detail,
        })?;
        let single: Single = serde_json::from_slice(&body).map_err(|_| {
            Error::InvalidResponse("configuration is not the documented JSON".into())
        })?;
        Ok(self.sanitize(single.configuration))
    }
}

impl Configuration {
    /// Characters of text it holds.
    fn chars(&self) -> usize {
        let len = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        self.id.chars().count()
            + len(&self.display_name)
            + len(&self.description)
            + len(&self.modified_on)
            + len(&self.report_link)
            + len(&self.imodel_link)
            + self
                .mapping_ids
                .iter()
                .map(|m| m.chars().count())
                .sum::<usize>()
    }
}

impl Client {
    /// `c` capped ([`sanitize`]), its texts scrubbed of every secret after
    /// decoding (as [`Client::read_job`] does for a job).
    fn sanitize(&self, c: Configuration) -> Configuration {
        sanitize(c, |s| self.scrub(s))
    }
}

/// `c` with its texts capped; `scrub` cuts secrets out of the texts kept
/// for display (ids and links are data, capped only).
fn sanitize(c: Configuration, scrub: impl Fn(String) -> String) -> Configuration {
    let cap = |s: Option<String>| s.map(|s| scrub(text::normalize(&s, 1024)));
    let link = |s: Option<String>| s.map(|s| text::normalize(&s, 4096));
    Configuration {
        id: scrub(text::normalize(&c.id, 256)),
        display_name: cap(c.display_name),
        description: cap(c.description),
        modified_on: cap(c.modified_on),
        mapping_ids: c
            .mapping_ids
            .into_iter()
            .map(|m| text::normalize(&m, 300))
            .collect(),
        report_labels: c.report_labels,
        report_link: link(c.report_link),
        imodel_link: link(c.imodel_link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: serde_json::Value) -> Configuration {
        sanitize(serde_json::from_value(json).unwrap(), |s| s)
    }

    #[test]
    fn an_extraction_based_configuration_names_its_distinct_mappings_and_imodel() {
        let c = read(serde_json::json!({
            "id": "c1", "displayName": "Campus",
            "labels": [
                {"name": "Walls", "mappingId": "m1", "groupName": "W"},
                {"name": "Slabs", "mappingId": "m2"},
                {"name": "Beams", "mappingId": "m1"},
                {"name": "odd", "mappingId": 5},
                "not an object",
            ],
            "_links": {"iModel": {"href": "https://api.bentley.com/imodels/im-7/"},
                       "iTwin": {"href": "https://api.bentley.com/itwins/t"}}
        }));
        assert_eq!(c.form(), ConfigurationForm::ExtractionBased);
        assert_eq!(c.mapping_ids(), ["m1", "m2"]);
        assert_eq!(c.imodel_id(), Some("im-7"));
        assert_eq!(c.report_id(), None);
        // The listing's JSON is what it was: no labels or links in it.
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"id": "c1", "displayName": "Campus", "description": null,
                               "modifiedOn": null})
        );
    }

    #[test]
    fn a_report_based_configuration_names_its_report() {
        let c = read(serde_json::json!({
            "id": "c2",
            "labels": [{"name": "Walls", "reportTable": "Walls"}],
            "_links": {"report": {"href": "https://api.bentley.com/insights/reporting/reports/r-1?x=1"}}
        }));
        assert_eq!(c.form(), ConfigurationForm::ReportBased);
        assert_eq!(c.report_id(), Some("r-1"));
        assert!(c.mapping_ids().is_empty());
        assert_eq!(c.imodel_id(), None);
        // Labels alone tell it, links alone too; nothing tells nothing.
        let labels = read(serde_json::json!({"id": "c", "labels": [{"reportTable": "T"}]}));
        assert_eq!(labels.form(), ConfigurationForm::ReportBased);
        let link = read(
            serde_json::json!({"id": "c", "_links": {"iModel": {"href": "https://h/imodels/i"}}}),
        );
        assert_eq!(link.form(), ConfigurationForm::ExtractionBased);
        let odd = read(serde_json::json!({"id": "c", "labels": {"x": 1}, "_links": 5}));
        assert_eq!(odd.form(), ConfigurationForm::Unknown);
        let bare = read(serde_json::json!({"id": "c"}));
        assert_eq!(bare.form(), ConfigurationForm::Unknown);
        assert_eq!(ConfigurationForm::Unknown.to_string(), "unknown");
    }

    #[test]
    fn an_imodel_link_without_a_usable_last_segment_gives_none() {
        for href in ["https://h/", "https://h", "", "https://h?q=/x", "https:"] {
            let c = read(serde_json::json!({"id": "c", "_links": {"iModel": {"href": href}}}));
            assert_eq!(c.imodel_id(), None, "{href}");
        }
        assert_eq!(last_segment("https://h/imodels/abc#frag"), Some("abc"));
        assert_eq!(last_segment("https://h/imodels/abc/?x=1"), Some("abc"));
        assert_eq!(last_segment("/imodels/abc"), Some("abc"));
    }
}
