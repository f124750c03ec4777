//! What a [`Client`](crate::Client) needs to know: where the service is and
//! how to authenticate.

use crate::secret::is_header_safe_token;
use crate::{Error, Secret};

/// Default API root.
pub const DEFAULT_API_URL: &str = "https://api.bentley.com";
/// Default IMS authority (token issuer).
pub const DEFAULT_AUTHORITY: &str = "https://ims.bentley.com";
/// Default OAuth scope for client credentials.
pub const DEFAULT_SCOPE: &str = "itwin-platform";

/// How to authenticate to the iTwin Platform.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A bearer token obtained elsewhere, used as is.
    AccessToken(Secret),
    /// A service application's client credentials; tokens are fetched from
    /// `{authority}/connect/token`, cached and renewed.
    ClientCredentials {
        /// The client id (not a secret, but never printed either).
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
}

impl Credentials {
    /// A static bearer token, given with or without a leading `Bearer `.
    /// Refused (without echoing it) when it is empty or could not travel in a
    /// header.
    pub fn access_token(token: &str) -> Result<Self, Error> {
        let trimmed = token.trim();
        let bare = match trimmed.split_at_checked(7) {
            Some((p, rest)) if p.eq_ignore_ascii_case("bearer ") => rest.trim_start(),
            _ => trimmed,
        };
        if !is_header_safe_token(bare) || bare.eq_ignore_ascii_case("bearer") {
            return Err(Error::config(
                "access token",
                "must be a non-empty token of visible ASCII characters (value not shown)",
            ));
        }
        Ok(Self::AccessToken(Secret::new(bare)))
    }

    /// Client credentials; both parts must be non-empty and free of control
    /// characters.
    pub fn client_credentials(client_id: &str, client_secret: &str) -> Result<Self, Error> {
        let clean = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
        if !clean(client_id) {
            return Err(Error::config(
                "client id",
                "must be non-empty, without control characters",
            ));
        }
        if !clean(client_secret) {
            return Err(Error::config(
                "client secret",
                "must be non-empty, without control characters (value not shown)",
            ));
        }
        Ok(Self::ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: Secret::new(client_secret),
        })
    }
}

/// Settings of a [`Client`](crate::Client). Validated when the client is made.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) api_url: String,
    pub(crate) authority: String,
    pub(crate) scope: String,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) user_agent: String,
    pub(crate) max_requests_per_minute: u32,
    pub(crate) ca_cert: Option<String>,
    pub(crate) secrets: Vec<Secret>,
}

impl Config {
    /// Defaults for everything but the credentials.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials: Some(credentials),
            ..Self::without_credentials()
        }
    }

    /// Defaults, and no credentials: enough for a [`Checkup`](crate::Checkup)
    /// to check the settings and the network path (`ec3-gate doctor` when
    /// the credentials are missing or unusable). [`Client::new`](crate::Client::new)
    /// refuses it with [`Error::NoCredentials`].
    pub fn without_credentials() -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            authority: DEFAULT_AUTHORITY.to_owned(),
            scope: DEFAULT_SCOPE.to_owned(),
            credentials: None,
            user_agent: format!("ec3-gate/{}", env!("CARGO_PKG_VERSION")),
            max_requests_per_minute: crate::DEFAULT_MAX_REQUESTS_PER_MINUTE,
            ca_cert: None,
            secrets: Vec::new(),
        }
    }

    /// Another secret to cut out of every answer, besides the credentials
    /// and the tokens the client itself sends (say, an EC3 token a job was
    /// created with in an earlier step, which its failure message may quote).
    /// Values shorter than 8 characters are not redacted.
    /// Defaults to none.
    pub fn redact(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// API root; `/insights/carbon-calculation/...` is appended to it.
    /// `https://` anywhere, `http://` only to loopback.
    /// Defaults to `https://api.bentley.com`.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// IMS authority that issues tokens for client credentials.
    /// Defaults to `https://ims.bentley.com`.
    pub fn authority(mut self, url: impl Into<String>) -> Self {
        self.authority = url.into();
        self
    }

    /// OAuth scope requested with client credentials.
    /// Defaults to `itwin-platform`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Most requests the client sends in any 60 seconds, all calls together
    /// (polls, job creations, token requests), from 1 to
    /// [`MAX_REQUESTS_PER_MINUTE`](crate::MAX_REQUESTS_PER_MINUTE); checked
    /// when the client is made. A request that would exceed it waits.
    /// Defaults to [`DEFAULT_MAX_REQUESTS_PER_MINUTE`](crate::DEFAULT_MAX_REQUESTS_PER_MINUTE) (60).
    pub fn max_requests_per_minute(mut self, n: u32) -> Self {
        self.max_requests_per_minute = n;
        self
    }

    /// Extra CA certificates to trust on top of the platform's: PEM text
    /// (one or more `-----BEGIN CERTIFICATE-----` blocks) or the path of a
    /// PEM file. Read and checked when the client is made.
    /// Defaults to none.
    pub fn ca_cert(mut self, pem_or_path: impl Into<String>) -> Self {
        self.ca_cert = Some(pem_or_path.into());
        self
    }

    /// Text after `ec3-gate/<version>` in the `User-Agent` header, naming the
    /// embedding program (the C library uses `libec3_gate`).
    /// Defaults to nothing.
    pub fn user_agent_suffix(mut self, suffix: &str) -> Self {
        self.user_agent = format!("ec3-gate/{} {suffix}", env!("CARGO_PKG_VERSION"));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_accepts_bearer_prefix_and_hides_the_value() {
        for raw in [
            "abc.def",
            "Bearer abc.def",
            "bearer   abc.def",
            " abc.def\n",
        ] {
            match Credentials::access_token(raw).unwrap() {
                Credentials::AccessToken(t) => assert_eq!(t.expose(), "abc.def"),
                other => panic!("{other:?}"),
            }
        }
        for bad in ["", "Bearer ", "a b", "tok\r\nX: y"] {
            let err = Credentials::access_token(bad).unwrap_err();
            assert!(err.is_usage());
        }
        let debug = format!("{:?}", Credentials::access_token("s3cr3t").unwrap());
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn client_credentials_are_checked_and_hidden() {
        let c = Credentials::client_credentials("id", "s3cr3t").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(Credentials::client_credentials("", "x").is_err());
        assert!(Credentials::client_credentials("id", "").is_err());
        let err = Credentials::client_credentials("id", "bad\nsecret").unwrap_err();
        assert!(!err.to_string().contains("secret\n"));
    }
}
