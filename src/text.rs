//! Untrusted text from the service, as the core keeps it (capped, newlines
//! normalised) and shows it in its own `Display` texts (on one line).

use std::fmt::Write as _;

/// The most characters of one server-provided text (a job's failure message,
/// an error message) that ec3-gate keeps. Longer texts are cut and marked.
pub(crate) const MAX_TEXT_CHARS: usize = 16 * 1024;

/// Marker appended to a text that was cut at [`MAX_TEXT_CHARS`].
pub(crate) const TRUNCATED_MARKER: &str = "… [truncated by ec3-gate]";

/// Caps `text` at `max` characters (on a character boundary) and turns every
/// CRLF or lone CR into LF.
///
/// Line endings are normalised because the runner's output-file format cannot
/// carry a value that ends in CR, and a message's lines mean the same either
/// way; everything else is kept exactly.
pub(crate) fn normalize(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut chars = text.chars().peekable();
    let mut count = 0;
    while let Some(c) = chars.next() {
        if count == max {
            out.push_str(TRUNCATED_MARKER);
            break;
        }
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
        count += 1;
    }
    out
}

/// Renders untrusted text for a single log line: control characters
/// (including CR, LF and the C1 range) and Unicode bidi overrides become
/// visible escapes, and the result is capped at `max` characters.
///
/// Because no line break survives, server text can never begin a line of its
/// own, so it can never be read by the runner as a `::workflow-command::`.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the display of surrounding text (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_text_and_unifies_line_endings() {
        assert_eq!(normalize("a\r\nb\rc\nd", 100), "a\nb\nc\nd");
        assert_eq!(normalize("::error::x %0A EOF", 100), "::error::x %0A EOF");
        assert_eq!(normalize("", 100), "");
    }

    #[test]
    fn normalize_caps_on_a_char_boundary() {
        let capped = normalize("ééééé", 3);
        assert_eq!(capped, format!("ééé{TRUNCATED_MARKER}"));
        assert_eq!(normalize("abc", 3), "abc");
    }

    #[test]
    fn one_line_escapes_every_line_break_and_control() {
        let s = one_line("ok\n::error::pwned\r\u{1b}[31m\u{202e}\u{85}", 100);
        assert!(!s.contains('\n') && !s.contains('\r') && !s.contains('\u{1b}'));
        assert_eq!(s, "ok\\n::error::pwned\\r\\u{1b}[31m\\u{202e}\\u{85}");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
