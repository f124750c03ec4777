//! Cutting the run's secrets out of everything a service answers.
//!
//! A service may quote a request back (an error that echoes the body, a
//! gateway that prints headers), so every answer of every request is
//! scrubbed of every secret the client knows, before anything reads it: in
//! raw form and in the encodings a service or the runner uses (JSON escapes,
//! URL encoding, base64). JSON answers are also decoded, and each string
//! scrubbed after decoding: any character can be `\u`-escaped, and decoding
//! first catches every spelling.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Secrets shorter than this are not redacted: they could match the JSON
/// itself (a token `t` would turn `"status"` into `"s***a***us"`), and real
/// tokens and secrets are far longer.
pub(crate) const MIN_SECRET_CHARS: usize = 8;

/// What a secret becomes in an answer.
const REPLACEMENT: &str = "***";

/// The secrets of one client and a matcher for all their spellings.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
    matcher: Option<Matcher>,
}

/// Every spelling of every secret, found leftmost first and, of those that
/// start at the same place, longest first: a secret's encoding that contains
/// another secret goes as a whole. A run has a few secrets with about a
/// dozen spellings each, and its answers are small, so a scan that tries
/// each pattern where one can start does (an automaton crate cost the static
/// binary 193,664 bytes, measured: docs/performance.md).
struct Matcher {
    /// Longest first, so the first that matches at a position is the longest.
    patterns: Vec<Vec<u8>>,
    /// The bytes a pattern starts with: every other position is skipped.
    starts: [bool; 256],
}

impl Matcher {
    fn new(mut patterns: Vec<Vec<u8>>) -> Self {
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        patterns.retain(|p| !p.is_empty());
        let mut starts = [false; 256];
        for p in &patterns {
            starts[usize::from(p[0])] = true;
        }
        Matcher { patterns, starts }
    }

    /// The first match at or after `from`, as `(start, end)`.
    fn find(&self, haystack: &[u8], from: usize) -> Option<(usize, usize)> {
        let rest = haystack.get(from..)?;
        rest.iter().enumerate().find_map(|(i, &b)| {
            if !self.starts[usize::from(b)] {
                return None;
            }
            let at = &rest[i..];
            let p = self.patterns.iter().find(|p| at.starts_with(p))?;
            Some((from + i, from + i + p.len()))
        })
    }

    fn is_match(&self, haystack: &[u8]) -> bool {
        self.find(haystack, 0).is_some()
    }
}

impl Redactor {
    /// Adds `secret` (ignored when shorter than [`MIN_SECRET_CHARS`]).
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS || self.secrets.iter().any(|s| s == secret) {
            return;
        }
        self.secrets.push(secret.to_owned());
        let patterns = self.secrets.iter().flat_map(|s| spellings(s));
        self.matcher = Some(Matcher::new(patterns.map(String::into_bytes).collect()));
    }

    /// `body` with every spelling of every secret replaced by `***`; when it
    /// is JSON, each string (and key) is scrubbed again after decoding.
    pub(crate) fn bytes(&self, body: Vec<u8>) -> Vec<u8> {
        let Some(matcher) = &self.matcher else {
            return body;
        };
        let body = replace(matcher, &body);
        let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        if self.scrub_value(matcher, &mut value) {
            serde_json::to_vec(&value).unwrap_or(body)
        } else {
            body
        }
    }

    /// `text` (decoded from an answer) with every spelling of every secret
    /// replaced by `***`: what [`Redactor::bytes`] could not reach when the
    /// answer as a whole was no JSON it could decode.
    pub(crate) fn text(&self, mut text: String) -> String {
        if let Some(matcher) = &self.matcher {
            scrub_string(matcher, &mut text);
        }
        text
    }

    /// True when something in `value` was replaced.
    fn scrub_value(&self, matcher: &Matcher, value: &mut Value) -> bool {
        match value {
            Value::String(s) => scrub_string(matcher, s),
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.scrub_value(matcher, v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                let entries = std::mem::take(map);
                for (mut key, mut v) in entries {
                    changed |= scrub_string(matcher, &mut key);
                    changed |= self.scrub_value(matcher, &mut v);
                    map.insert(key, v);
                }
                changed
            }
            _ => false,
        }
    }
}

fn scrub_string(matcher: &Matcher, s: &mut String) -> bool {
    if !matcher.is_match(s.as_bytes()) {
        return false;
    }
    *s = String::from_utf8_lossy(&replace(matcher, s.as_bytes())).into_owned();
    true
}

fn replace(matcher: &Matcher, haystack: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut done = 0;
    while let Some((start, end)) = matcher.find(haystack, done) {
        out.extend_from_slice(&haystack[done..start]);
        out.extend_from_slice(REPLACEMENT.as_bytes());
        done = end;
    }
    out.extend_from_slice(&haystack[done..]);
    out
}

/// The ways `secret` is spelled in an answer: raw, JSON-escaped (with and
/// without `\/`), percent-encoded (upper and lower case hex, `+` for space),
/// and base64 (standard and URL-safe, at each of the three byte alignments,
/// as the runner's masker does).
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    out.push(json.replace('/', "\\/"));
    out.push(json);
    let percent = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    out.push(percent.replace("%20", "+"));
    out.push(lower_hex_escapes(&percent));
    out.push(percent);
    // The whole value, padded, when it is encoded on its own (a Basic value).
    out.push(STANDARD.encode(secret));
    out.push(URL_SAFE.encode(secret));
    for shift in 0..3 {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(secret.as_bytes());
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            // Leading characters that mix in the padding bytes, and a last
            // one that mixes in whatever follows, are not the secret's own.
            let skip = [0, 2, 3][shift];
            let end = if bytes.len() % 3 == 0 {
                encoded.len()
            } else {
                encoded.len() - 1
            };
            if let Some(core) = encoded.get(skip..end) {
                out.push(core.to_owned());
            }
        }
    }
    out.retain(|p| p.chars().count() >= MIN_SECRET_CHARS);
    out
}

/// `percent` with the hex digits of each `%XX` escape in lower case.
fn lower_hex_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut pending = 0;
    for c in percent.chars() {
        if c == '%' {
            pending = 2;
            out.push(c);
        } else if pending > 0 {
            pending -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t/t0ken+value==";

    fn redactor() -> Redactor {
        let mut r = Redactor::default();
        r.add(SECRET);
        r
    }

    fn scrubbed(body: &str) -> String {
        String::from_utf8(redactor().bytes(body.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn raw_anywhere_in_any_body() {
        assert_eq!(
            scrubbed(&format!("<html>{SECRET}</html>")),
            "<html>***</html>"
        );
        assert_eq!(scrubbed(&format!("a{SECRET}{SECRET}b")), "a******b");
    }

    #[test]
    fn json_escaped_in_any_spelling() {
        // `\/` and `\u`-escapes of any character, even every one.
        let slash = SECRET.replace('/', "\\/");
        let all_u: String = SECRET
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let plus = SECRET.replace('+', "\\u002B");
        for quoted in [slash, all_u, plus] {
            let body = format!(r#"{{"error":{{"message":"token {quoted} refused"}}}}"#);
            let out = scrubbed(&body);
            assert_eq!(
                out, r#"{"error":{"message":"token *** refused"}}"#,
                "{body}"
            );
        }
        // In a key too.
        assert_eq!(scrubbed(&format!(r#"{{"{SECRET}":1}}"#)), r#"{"***":1}"#);
    }

    #[test]
    fn url_encoded() {
        let upper = utf8_percent_encode(SECRET, NON_ALPHANUMERIC).to_string();
        let lower = lower_hex_escapes(&upper);
        for encoded in [upper, lower] {
            assert_eq!(scrubbed(&format!("token={encoded}&x=1")), "token=***&x=1");
        }
    }

    #[test]
    fn base64_at_every_alignment_and_alphabet() {
        for prefix in ["", "a", "ab"] {
            for engine in [&STANDARD, &URL_SAFE] {
                let encoded = engine.encode(format!("{prefix}{SECRET}:tail"));
                let out = scrubbed(&format!("Authorization: Basic {encoded}"));
                assert!(out.contains("***"), "{prefix:?} {encoded} -> {out}");
                assert!(!out.contains(&encoded), "{out}");
            }
        }
    }

    #[test]
    fn a_whole_base64_value_goes_with_its_padding() {
        let encoded = STANDARD.encode(SECRET);
        assert!(encoded.ends_with('='), "{encoded}");
        assert_eq!(scrubbed(&format!("Basic {encoded}.")), "Basic ***.");
    }

    #[test]
    fn leftmost_then_longest_then_onwards() {
        let m = Matcher::new(vec![
            b"abcdefgh".to_vec(),
            b"abcdefghij".to_vec(),
            b"cdefghijkl".to_vec(),
        ]);
        // Leftmost wins over longer later ones; at one start, the longest.
        assert_eq!(replace(&m, b"xxabcdefghijkl"), b"xx***kl");
        assert_eq!(replace(&m, b"abcdefghi"), b"***i");
        // The search goes on after a match, never inside it; at the very end too.
        assert_eq!(replace(&m, b"abcdefghabcdefgh"), b"******");
        assert_eq!(replace(&m, b"xcdefghijkl"), b"x***");
        // A pattern cut off by the end of the text is no match.
        assert_eq!(replace(&m, b"zzabcdefg"), b"zzabcdefg");
        assert!(!m.is_match(b"abcdefg"));
    }

    proptest::proptest! {
        /// The same output as an Aho-Corasick automaton in leftmost-longest
        /// mode (what the redactor used before), over a small alphabet so
        /// that patterns overlap, nest and repeat.
        #[test]
        fn same_matches_as_aho_corasick_leftmost_longest(
            patterns in proptest::collection::vec("[ab/%=]{1,6}", 1..8),
            haystack in "[ab/%=x]{0,60}",
        ) {
            let reference = aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&patterns)
                .unwrap();
            let mut expected = Vec::new();
            reference.replace_all_with_bytes(haystack.as_bytes(), &mut expected, |_, _, dst| {
                dst.extend_from_slice(REPLACEMENT.as_bytes());
                true
            });
            let ours = Matcher::new(patterns.iter().map(|p| p.as_bytes().to_vec()).collect());
            proptest::prop_assert_eq!(replace(&ours, haystack.as_bytes()), expected);
            proptest::prop_assert_eq!(ours.is_match(haystack.as_bytes()), reference.is_match(&haystack));
        }
    }

    #[test]
    fn short_secrets_and_clean_bodies_are_left_alone() {
        let mut r = Redactor::default();
        r.add("tok");
        let body = br#"{"status":"tok"}"#.to_vec();
        assert_eq!(r.bytes(body.clone()), body);
        let clean = br#"{"job": {"status": "Running"}}"#.to_vec();
        assert_eq!(
            redactor().bytes(clean.clone()),
            clean,
            "untouched, not re-encoded"
        );
    }
}
