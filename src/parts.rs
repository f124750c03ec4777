//! A configuration's parts, each validated on its own: [`Client::new`]
//! stops at the first problem, a [`Checkup`](crate::Checkup) lists them all.
//! The one place that says which settings a client checks, and in which
//! order.
//!
//! [`Client::new`]: crate::Client::new

use crate::budget::Budget;
use crate::client::PROXY_VARIABLES;
use crate::endpoint::Endpoint;
use crate::net_error::Role;
use crate::tls::Trust;
use crate::{Config, Error};

/// Each part of a [`Config`], validated (or why not).
pub(crate) struct Parts {
    /// The API root, with its proxy.
    pub(crate) api: Result<Endpoint, Error>,
    /// The IMS authority, with its proxy.
    pub(crate) authority: Result<Endpoint, Error>,
    /// The OAuth scope.
    pub(crate) scope: Result<(), Error>,
    /// The request budget.
    pub(crate) budget: Result<Budget, Error>,
    /// The extra CA certificates.
    pub(crate) trust: Result<Trust, Error>,
    /// The proxy variables set, read once: a redirect hop chooses its own
    /// proxy from them.
    pub(crate) proxy_env: Vec<(&'static str, String)>,
}

impl Parts {
    /// Validates every part of `config`, the environment (proxies) read
    /// through `var`.
    pub(crate) fn read(config: &Config, var: impl Fn(&str) -> Option<String>) -> Self {
        let api = Endpoint::parse("API URL", &config.api_url)
            .and_then(|e| e.with_role(Role::Api).with_proxy_from(&var));
        let authority = Endpoint::parse("authority", &config.authority)
            .and_then(|e| e.with_role(Role::Authority).with_proxy_from(&var));
        let scope = if config.scope.trim().is_empty() || config.scope.chars().any(char::is_control)
        {
            Err(Error::config(
                "scope",
                "must be non-empty, without control characters",
            ))
        } else {
            Ok(())
        };
        Self {
            api,
            authority,
            scope,
            budget: Budget::per_minute(config.max_requests_per_minute),
            trust: match &config.ca_cert {
                Some(value) => Trust::with_extra(value),
                None => Ok(Trust::default()),
            },
            proxy_env: PROXY_VARIABLES
                .iter()
                .filter_map(|&name| var(name).map(|value| (name, value)))
                .collect(),
        }
    }

    /// Every problem, in the order [`Client::new`](crate::Client::new)
    /// meets them (its error is the first); a proxy variable refused for
    /// both endpoints is one problem.
    pub(crate) fn problems(&self) -> Vec<Error> {
        let all = [
            self.api.as_ref().err(),
            self.authority.as_ref().err(),
            self.scope.as_ref().err(),
            self.budget.as_ref().err(),
            self.trust.as_ref().err(),
        ];
        let mut problems: Vec<Error> = Vec::new();
        for e in all.into_iter().flatten() {
            if !problems.iter().any(|p| p.to_string() == e.to_string()) {
                problems.push(e.clone());
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_found_and_a_shared_proxy_once() {
        let config = Config::without_credentials()
            .api_url("http://example.com")
            .authority("https://user:pw@ims.example")
            .scope(" ")
            .max_requests_per_minute(0)
            .ca_cert("/nonexistent/ca.pem");
        let problems: Vec<String> = Parts::read(&config, |_| None)
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("API URL: plain http:// is only allowed"));
        assert!(problems[1].starts_with("authority: URL must not contain '@'"));
        assert!(!problems[1].contains("pw"));
        assert!(problems[2].starts_with("scope: "));
        assert!(problems[3].starts_with("max requests per minute: "));
        assert!(problems[4].starts_with("CA certificate: cannot read"));
        let proxy = |name: &str| (name == "HTTPS_PROXY").then(|| "ftp://proxy".to_owned());
        let problems = Parts::read(&Config::without_credentials(), proxy).problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .starts_with("HTTPS_PROXY: proxy scheme 'ftp'")
        );
    }
}
