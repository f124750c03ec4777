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
    }
}

impl Client {
    /// `c` with its texts capped, and scrubbed of every secret after
    /// decoding (as [`Client::read_job`] does for a job).
    fn sanitize(&self, c: Configuration) -> Configuration {
        let cap = |s: String, chars| self.scrub(text::normalize(&s, chars));
        Configuration {
            id: cap(c.id, 256),
            display_name: c.display_name.map(|s| cap(s, 1024)),
            description: c.description.map(|s| cap(s, 1024)),
            modified_on: c.modified_on.map(|s| cap(s, 1024)),
        }
    }
}
