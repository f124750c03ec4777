//! `ec3_gate_client_options`: what a client is made from.

use std::ffi::c_char;

use ec3::{Config, Credentials};

use crate::ffi::{
    Castable, LastError, arg_str, free_box, to_boxed_mut_ptr, try_from, try_mut_from_ptr,
};
use crate::panic::ffi_panic_boundary;
use crate::result::{Failure, ec3_gate_result};

/// The settings of a client, before it is made: API root, IMS authority,
/// OAuth scope, and credentials (a bearer token or client credentials).
///
/// Made by `ec3_gate_client_options_new` with the defaults
/// (`https://api.bentley.com`, `https://ims.bentley.com`, `itwin-platform`,
/// no credentials), filled by the `ec3_gate_client_options_set_*`
/// functions, read by `ec3_gate_client_new` (which copies what it needs, so
/// the options may be changed, reused or freed afterwards), and freed by
/// `ec3_gate_client_options_free`.
///
/// Not thread-safe: use one options object from one thread at a time.
pub struct ec3_gate_client_options {
    _private: [u8; 0],
}

/// The Rust value behind `ec3_gate_client_options`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    api_url: Option<String>,
    authority: Option<String>,
    scope: Option<String>,
    ca_cert: Option<String>,
    credentials: Option<Credentials>,
    max_requests_per_minute: Option<u32>,
    pub(crate) errors: LastError,
}

impl Castable for ec3_gate_client_options {
    type RustType = Options;
}

impl Options {
    /// The core's configuration; URLs and the scope are checked later, by
    /// `ec3::Client::new`.
    pub(crate) fn config(&self) -> Result<Config, Failure> {
        let credentials = self.credentials.clone().ok_or_else(|| {
            Failure::invalid(
                "credentials",
                "none given: call ec3_gate_client_options_set_access_token or \
                 ec3_gate_client_options_set_client_credentials",
            )
        })?;
        let mut config = Config::new(credentials).user_agent_suffix("libec3_gate");
        if let Some(url) = &self.api_url {
            config = config.api_url(url);
        }
        if let Some(url) = &self.authority {
            config = config.authority(url);
        }
        if let Some(scope) = &self.scope {
            config = config.scope(scope);
        }
        if let Some(n) = self.max_requests_per_minute {
            config = config.max_requests_per_minute(n);
        }
        if let Some(pem_or_path) = &self.ca_cert {
            config = config.ca_cert(pem_or_path);
        }
        Ok(config)
    }
}

/// Makes options with the defaults and no credentials. The caller owns them
/// and frees them with `ec3_gate_client_options_free`. Never NULL (except
/// after an internal panic).
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_new() -> *mut ec3_gate_client_options {
    ffi_panic_boundary! { to_boxed_mut_ptr(Options::default()) }
}

/// Runs a setter: checks the options pointer, records the outcome.
fn set(
    options: *mut ec3_gate_client_options,
    apply: impl FnOnce(&mut Options) -> Result<(), Failure>,
) -> ec3_gate_result {
    let options: &mut Options = try_mut_from_ptr!(options);
    let result = apply(options);
    options.errors.record(result)
}

/// Sets the API root (default `https://api.bentley.com`);
/// `/insights/carbon-calculation/...` is appended to it. It must be
/// `https://`, or `http://` to a loopback address; that is checked by
/// `ec3_gate_client_new`.
///
/// `url` is copied. Returns `EC3_GATE_RESULT_OK`, or
/// `EC3_GATE_RESULT_NULL_ARGUMENT` / `EC3_GATE_RESULT_INVALID_UTF8` (options
/// unchanged).
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_api_url(
    options: *mut ec3_gate_client_options,
    url: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: `url` is NULL or a NUL-terminated string (documented).
            o.api_url = Some(unsafe { arg_str(url, "url") }?.to_owned());
            Ok(())
        })
    }
}

/// Sets the IMS authority that issues tokens for client credentials
/// (default `https://ims.bentley.com`). Same rules and results as
/// `ec3_gate_client_options_set_api_url`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_authority(
    options: *mut ec3_gate_client_options,
    url: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: `url` is NULL or a NUL-terminated string (documented).
            o.authority = Some(unsafe { arg_str(url, "url") }?.to_owned());
            Ok(())
        })
    }
}

/// Sets the OAuth scope requested with client credentials (default
/// `itwin-platform`). `scope` is copied; it must be non-empty without
/// control characters (checked by `ec3_gate_client_new`). Results as
/// `ec3_gate_client_options_set_api_url`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_scope(
    options: *mut ec3_gate_client_options,
    scope: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: `scope` is NULL or a NUL-terminated string (documented).
            o.scope = Some(unsafe { arg_str(scope, "scope") }?.to_owned());
            Ok(())
        })
    }
}

/// Sets the client's request budget: at most `n` requests in any 60
/// seconds, all calls on the client together (polls, job creations, token
/// requests, from every thread); a request that would exceed it waits
/// (within its call's timeout). Default
/// `EC3_GATE_DEFAULT_MAX_REQUESTS_PER_MINUTE`.
///
/// `n` must be 1 to `EC3_GATE_MAX_REQUESTS_PER_MINUTE`; that is checked by
/// `ec3_gate_client_new` (`EC3_GATE_RESULT_INVALID_ARGUMENT`). Returns
/// `EC3_GATE_RESULT_OK`, or `EC3_GATE_RESULT_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_max_requests_per_minute(
    options: *mut ec3_gate_client_options,
    n: u32,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            o.max_requests_per_minute = Some(n);
            Ok(())
        })
    }
}

/// Adds CA certificates to trust, on top of the platform's certificate
/// store: `pem_or_path` is PEM text (one or more `-----BEGIN CERTIFICATE-----`
/// blocks) or the path of a PEM file. For private CAs and TLS-inspecting
/// proxies. A second call replaces the first.
///
/// The string is copied; the file is read, and each certificate checked, by
/// `ec3_gate_client_new` (`EC3_GATE_RESULT_INVALID_ARGUMENT` naming the
/// problem when unreadable or not a certificate). Results as
/// `ec3_gate_client_options_set_api_url`.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_ca_cert(
    options: *mut ec3_gate_client_options,
    pem_or_path: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: `pem_or_path` is NULL or a NUL-terminated string (documented).
            o.ca_cert = Some(unsafe { arg_str(pem_or_path, "pem_or_path") }?.to_owned());
            Ok(())
        })
    }
}

/// Authenticates with a bearer token obtained elsewhere (with or without a
/// leading `Bearer `), replacing any credentials set before.
///
/// `token` is copied; the library never prints it nor puts it in an error
/// message. Returns `EC3_GATE_RESULT_OK`; `EC3_GATE_RESULT_INVALID_ARGUMENT`
/// when it is empty or holds characters a header cannot carry;
/// `EC3_GATE_RESULT_NULL_ARGUMENT` or `EC3_GATE_RESULT_INVALID_UTF8`. On error
/// the options are unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_access_token(
    options: *mut ec3_gate_client_options,
    token: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: `token` is NULL or a NUL-terminated string (documented).
            let token = unsafe { arg_str(token, "token") }?;
            o.credentials = Some(Credentials::access_token(token)?);
            Ok(())
        })
    }
}

/// Authenticates as a service application: tokens are requested from
/// `{authority}/connect/token` with these client credentials, cached and
/// renewed. Replaces any credentials set before.
///
/// Both strings are copied; the secret is never printed nor put in an error
/// message. Returns `EC3_GATE_RESULT_OK`; `EC3_GATE_RESULT_INVALID_ARGUMENT`
/// when either is empty or holds control characters;
/// `EC3_GATE_RESULT_NULL_ARGUMENT` or `EC3_GATE_RESULT_INVALID_UTF8`. On error
/// the options are unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_set_client_credentials(
    options: *mut ec3_gate_client_options,
    client_id: *const c_char,
    client_secret: *const c_char,
) -> ec3_gate_result {
    ffi_panic_boundary! {
        set(options, |o| {
            // SAFETY: both are NULL or NUL-terminated strings (documented).
            let id = unsafe { arg_str(client_id, "client_id") }?;
            // SAFETY: as above.
            let secret = unsafe { arg_str(client_secret, "client_secret") }?;
            o.credentials = Some(Credentials::client_credentials(id, secret)?);
            Ok(())
        })
    }
}

/// The detailed message of the calling thread's most recent call with these
/// options (a setter, or `ec3_gate_client_new`), or `""` when that call
/// succeeded. Never holds a token or secret.
///
/// Owned by `options`: valid until the next `ec3_gate_client_options_set_*`
/// or `ec3_gate_client_new` with them, or `ec3_gate_client_options_free`; do
/// not free it. NULL when `options` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_last_error(
    options: *const ec3_gate_client_options,
) -> *const c_char {
    ffi_panic_boundary! {
        // SAFETY: `options` is NULL or live (documented on the type).
        let options: Option<&Options> = unsafe { try_from(options) };
        options.map_or(std::ptr::null(), |o| o.errors.get())
    }
}

/// Frees options made by `ec3_gate_client_options_new`, including the
/// copies of any credentials. NULL does nothing; never free them twice.
/// Clients made from them are not affected.
#[unsafe(no_mangle)]
pub extern "C" fn ec3_gate_client_options_free(options: *mut ec3_gate_client_options) {
    ffi_panic_boundary! {
        // SAFETY: `options` is NULL or was made by this library, not yet freed.
        unsafe { free_box(options) }
    }
}
