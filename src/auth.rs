//! Bearer tokens: a static one, or client credentials with a cached token
//! renewed before it expires.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::client::{Call, Client, Method, Policy, Request};
use crate::endpoint::Endpoint;
use crate::net_error::NetError;
use crate::secret::is_header_safe_token;
use crate::{Credentials, Error, Event, Secret};

/// Lifetime assumed when the token endpoint does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Renew this long before expiry (the official client's margin), or at half
/// the lifetime for tokens that live less than two minutes.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// `application/x-www-form-urlencoded` leaves these unencoded (RFC 6749, B).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

pub(crate) struct Auth {
    credentials: Credentials,
    token_endpoint: Endpoint,
    scope: String,
    state: Mutex<State>,
    /// Signalled when a fetch ends, so the calls waiting for it look again.
    fetched: Condvar,
}

/// The cached token, and whether a call is fetching a new one now.
///
/// One fetch at a time: calls that start together on a fresh client (or
/// when the token is due) wait for the one fetch in flight instead of each
/// asking the token endpoint, and use its token.
///
/// A call made on the fetching thread itself (from an observer the fetch
/// reports a retry to, such as a C progress callback) cannot wait for it:
/// it fetches on its own.
#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The thread whose call is fetching now (see [`this_thread`]).
    fetching: Option<usize>,
}

struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// How often a call waiting for another's fetch looks at its own cancel flag.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// Ends the fetch in flight when dropped (the fetch returned or panicked),
/// waking the calls that wait for it.
struct Fetching<'a>(&'a Auth);

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        self.0.lock().fetching = None;
        self.0.fetched.notify_all();
    }
}

impl Auth {
    pub(crate) fn new(credentials: Credentials, authority: Endpoint, scope: String) -> Self {
        Self {
            credentials,
            token_endpoint: authority,
            scope,
            state: Mutex::default(),
            fetched: Condvar::new(),
        }
    }

    /// The credentials.
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The scope tokens are asked for.
    pub(crate) fn scope(&self) -> &str {
        &self.scope
    }

    /// The authority's endpoint.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.token_endpoint
    }

    /// The secrets the credentials hold, as they travel: the access token;
    /// or the client secret, and `id:secret` raw and form-encoded (the Basic
    /// value's plain text; its base64 is one of the spellings redacted).
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        match &self.credentials {
            Credentials::AccessToken(token) => vec![token.clone()],
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let enc = |s: &str| utf8_percent_encode(s, FORM).to_string();
                vec![
                    client_secret.clone(),
                    Secret::new(format!("{client_id}:{}", client_secret.expose())),
                    Secret::new(format!(
                        "{}:{}",
                        enc(client_id),
                        enc(client_secret.expose())
                    )),
                ]
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when a refused token can be replaced by a fresh one.
    pub(crate) fn can_renew(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    /// Forgets the cached token, so the next call fetches a new one.
    pub(crate) fn invalidate(&self) {
        self.lock().cached = None;
    }

    /// The token to send now.
    pub(crate) fn bearer(&self, client: &Client, call: &mut Call<'_>) -> Result<Secret, Error> {
        let (client_id, client_secret) = match &self.credentials {
            Credentials::AccessToken(token) => return Ok(token.clone()),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let me = this_thread();
        let mut state = self.lock();
        let nested = loop {
            if let Some(c) = &state.cached {
                if Instant::now() < c.renew_at {
                    return Ok(c.token.clone());
                }
            }
            match state.fetching {
                None => break false,
                // The fetch in flight is this thread's own, held up in an
                // observer that made this call: waiting would wait for itself.
                Some(owner) if owner == me => break true,
                Some(_) => {}
            }
            // Another call is fetching: wait for it, within this call's own
            // deadline and cancel flag.
            call.cancel.check()?;
            let left = call.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // As for any request the deadline stopped before sending.
                return Err(Error::Network(Box::new(NetError::deadline(
                    &self.token_endpoint,
                ))));
            }
            state = self
                .fetched
                .wait_timeout(state, left.min(WAIT_SLICE))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        let fetching = if nested {
            None
        } else {
            state.fetching = Some(me);
            Some(Fetching(self))
        };
        drop(state);
        let asked_at = Instant::now();
        let (token, lifetime) = self.fetch(client, call, client_id, client_secret)?;
        client.remember_secret(&token);
        call.observer.on_event(Event::TokenIssued(&token));
        let margin = RENEW_MARGIN.min(lifetime / 2);
        self.lock().cached = Some(Cached {
            token: token.clone(),
            renew_at: asked_at + (lifetime - margin),
        });
        drop(fetching);
        Ok(token)
    }

    fn fetch(
        &self,
        client: &Client,
        call: &mut Call<'_>,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<(Secret, Duration), Error> {
        let enc = |s: &str| utf8_percent_encode(s, FORM).to_string();
        let basic = BASE64.encode(format!(
            "{}:{}",
            enc(client_id),
            enc(client_secret.expose())
        ));
        let request = Request {
            method: Method::Post,
            url: self.token_endpoint.join("/connect/token"),
            endpoint: &self.token_endpoint,
            authorization: Some(Secret::new(format!("Basic {basic}"))),
            accept: "application/json",
            body: Some((
                "application/x-www-form-urlencoded",
                format!("grant_type=client_credentials&scope={}", enc(&self.scope)).into_bytes(),
            )),
        };
        // Asking for a token twice is harmless, so every failure may be retried.
        let reply = client.execute(&request, Policy::Idempotent, call)?;
        // The token is read as the authority sent it: an authority that
        // caches tokens hands back one this client knows (and redacts).
        let body = match reply.status {
            200 => reply.received,
            400..=499 => {
                return Err(Error::AuthRefused {
                    status: reply.status,
                    detail: reply.detail(),
                });
            }
            status => {
                return Err(Error::Service {
                    status,
                    detail: reply.detail(),
                });
            }
        };
        parse_token(&body)
    }
}

/// This thread, as a number no other live thread has: the address of a
/// thread-local. (`std::thread::current()` would allocate a handle that a
/// thread the C caller made never frees.)
fn this_thread() -> usize {
    thread_local! {
        static MARK: u8 = const { 0 };
    }
    MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

fn parse_token(body: &[u8]) -> Result<(Secret, Duration), Error> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: Option<f64>,
        token_type: Option<String>,
    }
    let bad = |why: &str| Error::InvalidResponse(format!("token endpoint: {why}"));
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| bad("answer is not the documented JSON"))?;
    if answer
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(bad("token type is not Bearer"));
    }
    if !is_header_safe_token(&answer.access_token) {
        return Err(bad(
            "access token is empty or not header-safe (value not shown)",
        ));
    }
    let lifetime = match answer.expires_in {
        None => DEFAULT_LIFETIME,
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s.min(86_400.0)),
        Some(_) => Duration::ZERO,
    };
    Ok((Secret::new(answer.access_token), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let (t, life) =
            parse_token(br#"{"access_token":"abc","expires_in":3600,"token_type":"Bearer"}"#)
                .unwrap();
        assert_eq!((t.expose(), life), ("abc", Duration::from_secs(3600)));
        let (_, life) = parse_token(br#"{"access_token":"abc"}"#).unwrap();
        assert_eq!(life, DEFAULT_LIFETIME);
        let (_, life) = parse_token(br#"{"access_token":"abc","expires_in":-5}"#).unwrap();
        assert_eq!(life, Duration::ZERO);
        for bad in [
            &b"garbage"[..],
            br#"{"access_token":""}"#,
            br#"{"access_token":"a b"}"#,
            br#"{"access_token":"a","token_type":"mac"}"#,
        ] {
            let err = parse_token(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidResponse(_)), "{err}");
        }
    }
}
