//! Listing an iTwin's EC3 configurations, so users can find the id to put
//! in their workflow.

use serde::{Deserialize, Serialize};

use crate::client::{Call, Method, Policy};
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

/// One EC3 configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// What it uploads, label by label: read through
    /// [`Configuration::form`] and [`Configuration::mapping_ids`]; not in
    /// the JSON the CLI prints.
    #[serde(default, skip_serializing)]
    labels: Vec<Label>,
    /// Its links: read through [`Configuration::form`] and
    /// [`Configuration::imodel_id`].
    #[serde(default, rename = "_links", skip_serializing)]
    links: ConfigurationLinks,
}

/// Which of the two forms an EC3 configuration has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigurationForm {
    /// Uploads a report (labels name a `reportTable`; `_links.report`).
    ReportBased,
    /// Uploads an extraction of an iModel's mappings (labels name a
    /// `mappingId`; `_links.iModel`): a job needs an extraction id.
    ExtractionBased,
}

/// One label of a configuration: only what tells its form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Label {
    mapping_id: Option<String>,
    report_table: Option<String>,
}

/// The links of a configuration that tell its form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct ConfigurationLinks {
    report: Option<Href>,
    #[serde(rename = "iModel")]
    imodel: Option<Href>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct Href {
    href: Option<String>,
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
            let mut seen = std::collections::HashSet::new();
            for _ in 0..MAX_PAGES {
                // Page links are compared as the service wrote them.
                seen.insert(url.clone());
                let reply = client.api_call(Method::Get, url, None, Policy::Idempotent, call)?;
                let body = reply.into_body(|detail| Error::Service {
                    status: 404,
                    detail,
                })?;
                let page: Page = serde_json::from_slice(&body).map_err(|_| {
                    Error::InvalidResponse("configuration list is not the documented JSON".into())
                })?;
                for c in page.configurations {
                    let c = sanitize(c);
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
                match page.links.and_then(|l| l.next).and_then(|n| n.href) {
                    Some(next) if seen.contains(&next) => {
                        return Err(Error::InvalidResponse(
                            "the configuration list links back to a page already read (a loop); \
                             not followed"
                                .into(),
                        ));
                    }
                    Some(next) if client.is_api_url(&next) => url = next,
                    Some(_) => {
                        return Err(Error::InvalidResponse(
                            "the next page link leaves the API root; not followed".into(),
                        ));
                    }
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
        Ok(sanitize(single.configuration))
    }
}

impl Configuration {
    /// Its form, as its labels and links tell it: extraction-based when a
    /// label names a `mappingId` or it links an iModel, report-based when a
    /// label names a `reportTable` or it links a report; `None` when it
    /// says neither (the list of an iTwin's configurations may not).
    pub fn form(&self) -> Option<ConfigurationForm> {
        let imodel = self.links.imodel.as_ref().is_some_and(|l| l.href.is_some());
        let report = self.links.report.as_ref().is_some_and(|l| l.href.is_some());
        if imodel || self.labels.iter().any(|l| l.mapping_id.is_some()) {
            Some(ConfigurationForm::ExtractionBased)
        } else if report || self.labels.iter().any(|l| l.report_table.is_some()) {
            Some(ConfigurationForm::ReportBased)
        } else {
            None
        }
    }

    /// The mappings an extraction for it must run: the distinct
    /// `labels[].mappingId`, in the order first named (escaped server text).
    pub fn mapping_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in self.labels.iter().filter_map(|l| l.mapping_id.as_deref()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The iModel it extracts from: the last path segment of
    /// `_links.iModel.href` (escaped server text; check it before use).
    pub fn imodel_id(&self) -> Option<&str> {
        let href = self.links.imodel.as_ref()?.href.as_deref()?;
        let path = href.split(['?', '#']).next().unwrap_or_default();
        path.split('/').rev().find(|s| !s.is_empty())
    }

    /// Characters of text it holds.
    fn chars(&self) -> usize {
        let len = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        let labels: usize = self
            .labels
            .iter()
            .map(|l| len(&l.mapping_id) + len(&l.report_table))
            .sum();
        let links = [&self.links.report, &self.links.imodel]
            .into_iter()
            .flatten()
            .map(|l| len(&l.href))
            .sum::<usize>();
        self.id.chars().count()
            + len(&self.display_name)
            + len(&self.description)
            + len(&self.modified_on)
            + labels
            + links
    }
}

fn sanitize(c: Configuration) -> Configuration {
    let cap = |s: Option<String>| s.map(|s| text::normalize(&s, 1024));
    let link = |l: Option<Href>| {
        l.map(|l| Href {
            href: l.href.map(|h| text::normalize(&h, 2048)),
        })
    };
    Configuration {
        id: text::normalize(&c.id, 256),
        display_name: cap(c.display_name),
        description: cap(c.description),
        modified_on: cap(c.modified_on),
        labels: c
            .labels
            .into_iter()
            .map(|l| Label {
                mapping_id: l.mapping_id.map(|s| text::normalize(&s, 256)),
                report_table: cap(l.report_table),
            })
            .collect(),
        links: ConfigurationLinks {
            report: link(c.links.report),
            imodel: link(c.links.imodel),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Configuration {
        sanitize(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn the_form_mappings_and_imodel_are_read_from_labels_and_links() {
        let ext = read(
            r#"{"id":"c1","labels":[{"name":"a","mappingId":"m1"},{"name":"b","mappingId":"m2"},
                {"name":"c","mappingId":"m1"}],
                "_links":{"iModel":{"href":"https://api.example/imodels/im-9/"},
                          "iTwin":{"href":"https://api.example/itwins/t"}}}"#,
        );
        assert_eq!(ext.form(), Some(ConfigurationForm::ExtractionBased));
        assert_eq!(ext.mapping_ids(), ["m1", "m2"]);
        assert_eq!(ext.imodel_id(), Some("im-9"));
        let report = read(
            r#"{"id":"c2","labels":[{"name":"a","reportTable":"T"}],
                "_links":{"report":{"href":"https://api.example/reports/r"}}}"#,
        );
        assert_eq!(report.form(), Some(ConfigurationForm::ReportBased));
        assert!(report.mapping_ids().is_empty());
        assert_eq!(report.imodel_id(), None);
        assert_eq!(read(r#"{"id":"c3"}"#).form(), None);
        // Not in the JSON the CLI prints.
        let json = serde_json::to_string(&ext).unwrap();
        assert!(!json.contains("m1") && !json.contains("_links"), "{json}");
    }
}
