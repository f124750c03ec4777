//! A string that must never be shown: access tokens, client secrets, EC3 tokens.

use std::fmt;

/// A secret value. `Debug` and `Display` print `***`, so a secret cannot leak
/// through logging, error messages or panics by accident; [`Secret::expose`]
/// is the one, greppable way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text itself. Call it only to put the value on the wire or
    /// into a mask command.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// True when `value` can travel in an HTTP header: visible ASCII only, no
/// spaces or control characters. Tokens failing this are refused up front, so
/// a malformed secret never reaches a request (or an error message).
pub(crate) fn is_header_safe_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn header_safe_tokens() {
        assert!(is_header_safe_token("eyJ.abc-_~+/="));
        assert!(!is_header_safe_token(""));
        assert!(!is_header_safe_token("a b"));
        assert!(!is_header_safe_token("a\r\nX-Evil: 1"));
        assert!(!is_header_safe_token("tökén"));
    }
}
