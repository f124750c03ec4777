//! Host name lookups with a deadline, waited for without std's channels.
//!
//! ureq's default resolver runs a lookup on a helper thread and waits for it
//! on an `mpsc` channel. Waiting on a channel makes std create a `Thread`
//! handle for the waiting thread, and for the main thread of a C program that
//! handle is never freed: valgrind reports 48 bytes "possibly lost" in every
//! program that uses the C library. This resolver looks up the same way, but
//! waits on a `Mutex` and `Condvar`, which need no such handle; and an IP
//! address (a loopback URL) needs no lookup and no thread at all.
//!
//! Its purpose is how a lookup is run and waited for (so that a C program's
//! memory checker stays clean), and that a lookup that fails says so: ureq's
//! resolver passes the system's error on as a bare `io::Error`
//! ("uncategorized error"), indistinguishable from a later failure; here any
//! failed lookup is [`ureq::Error::HostNotFound`]. What that means (which
//! endpoint, how long to retry) stays the business of
//! [`crate::net_error::classify`].

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs};
use ureq::unversioned::transport::NextTimeout;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Resolver;

/// The lookup's answer, handed from its thread to the waiting one.
type Slot = (Mutex<Option<std::io::Result<Vec<SocketAddr>>>>, Condvar);

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no scheme or host")));
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority
            .port_u16()
            .or(match scheme.as_str() {
                "https" => Some(443),
                "http" => Some(80),
                _ => None,
            })
            .ok_or_else(|| ureq::Error::BadUri(format!("{uri} has no port")))?;
        let found: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            let Some(name) = DefaultResolver::host_and_port(scheme, authority) else {
                return Err(ureq::Error::BadUri(format!("{uri} has no port")));
            };
            if timeout.after.is_not_happening() {
                let found = name.to_socket_addrs();
                found.map_err(|_| ureq::Error::HostNotFound)?.collect()
            } else {
                lookup(name, timeout)?
            }
        };
        let mut result = self.empty();
        // `ResolvedSocketAddrs` holds 16, as ureq's own resolver keeps.
        for addr in found.into_iter().take(16) {
            result.push(addr);
        }
        if result.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(result)
        }
    }
}

/// Looks `name` up on a helper thread (getaddrinfo cannot be interrupted)
/// and waits for it until the timeout; a late answer is dropped.
fn lookup(name: String, timeout: NextTimeout) -> Result<Vec<SocketAddr>, ureq::Error> {
    let slot: Arc<Slot> = Arc::default();
    let theirs = Arc::clone(&slot);
    std::thread::Builder::new()
        .name("ec3-gate-dns".into())
        .spawn(move || {
            let answer = name.to_socket_addrs().map(Iterator::collect);
            *theirs.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
            theirs.1.notify_one();
        })?;
    let deadline = Instant::now().checked_add(*timeout.after);
    let mut answer = slot.0.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(answer) = answer.take() {
            return answer.map_err(|_| ureq::Error::HostNotFound);
        }
        let left = deadline.map_or(std::time::Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        answer = slot
            .1
            .wait_timeout(answer, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ureq::unversioned::resolver::Resolver as _;
    use ureq::unversioned::transport::time;

    use super::*;

    fn resolve(url: &str, timeout: NextTimeout) -> Result<Vec<SocketAddr>, ureq::Error> {
        let config = ureq::config::Config::default();
        let found = Resolver.resolve(&url.parse().unwrap(), &config, timeout)?;
        Ok(found.iter().copied().collect())
    }

    fn within(seconds: u64) -> NextTimeout {
        NextTimeout {
            after: time::Duration::from(Duration::from_secs(seconds)),
            ..NextTimeout::default()
        }
    }

    #[test]
    fn addresses_need_no_lookup() {
        let found = resolve("http://127.0.0.1:8080/x", within(5)).unwrap();
        assert_eq!(found, ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
        let found = resolve("https://[::1]/x", NextTimeout::default()).unwrap();
        assert_eq!(found, ["[::1]:443".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn names_are_looked_up_with_and_without_a_deadline() {
        for timeout in [within(30), NextTimeout::default()] {
            let found = resolve("http://localhost:9/x", timeout).unwrap();
            assert!(
                found.iter().all(|a| a.ip().is_loopback() && a.port() == 9),
                "{found:?}"
            );
        }
        for timeout in [within(30), NextTimeout::default()] {
            let failed = resolve("http://no-such-host.invalid/", timeout);
            assert!(
                matches!(failed, Err(ureq::Error::HostNotFound)),
                "{failed:?}"
            );
        }
    }
}
