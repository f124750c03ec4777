//! Name resolution that says so when it fails.
//!
//! ureq's resolver passes the system's lookup error on as a bare
//! `io::Error` ("uncategorized error"), indistinguishable from a failure
//! later on. This one reports every lookup failure as
//! [`ureq::Error::HostNotFound`], so [`crate::net_error::classify`] can name
//! the phase and the host.

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// ureq's resolver, with lookup failures made [`ureq::Error::HostNotFound`].
#[derive(Debug, Default)]
pub(crate) struct NamingResolver(DefaultResolver);

impl Resolver for NamingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|e| match e {
            ureq::Error::Io(_) => ureq::Error::HostNotFound,
            other => other,
        })
    }
}
