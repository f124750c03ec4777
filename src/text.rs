//! Untrusted text from the service, as the core keeps it (capped, newlines
//! normalised) and renders it for a log line ([`one_line`]: the one rule for
//! server text the core, the command and the C library print).

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

/// Renders untrusted text so that it is safe anywhere on a log line, even at
/// its start: the one rule for server text that reaches a person or the
/// GitHub runner.
///
/// - Line breaks (CR, LF and the Unicode separators), control characters
///   (C0, DEL, C1, so every ESC sequence and OSC-8 link), bidi controls and
///   zero-width or other invisible format characters become visible
///   `\n`, `\r`, `\t` or `\u{…}` escapes: server text never begins a line,
///   and it looks like what it is.
/// - `##[` becomes `##\[`: the runner reads the legacy `##[command]` syntax
///   anywhere in a line.
/// - Leading whitespace is escaped, and a leading `::` becomes `\u{3a}:`:
///   the runner trims all Unicode whitespace before looking for `::`, so the
///   text is inert even printed at the start of a line.
/// - The result is capped at `max` characters (then `…`).
///
/// The output contains no character this function would escape again, so
/// applying it twice changes nothing: a layer that cannot tell whether text
/// was already rendered may render it again.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    let mut leading = true;
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hidden(c) || (leading && c.is_whitespace()) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            '[' if out.ends_with("##") => out.push_str("\\["),
            ':' if count == 0 && text.starts_with("::") => {
                out.push_str("\\u{3a}");
            }
            c => out.push(c),
        }
        leading &= c.is_whitespace();
    }
    out
}

/// True for the characters [`one_line`] always escapes: controls (C0, DEL,
/// C1) and the invisible characters that change how text displays.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Characters that change how surrounding text displays without showing
/// themselves: bidi controls (Trojan Source), zero-width characters, line and
/// paragraph separators, and the other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
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

    #[test]
    fn one_line_is_inert_at_a_line_start_and_idempotent() {
        for (text, want) in [
            ("::error::x", "\\u{3a}:error::x"),
            (" ::error::x", "\\u{20}::error::x"),
            ("\u{a0}\u{3000}::x", "\\u{a0}\\u{3000}::x"),
            ("a ##[error]b ###[c", "a ##\\[error]b ###\\[c"),
            ("zero\u{200b}width\u{feff}", "zero\\u{200b}width\\u{feff}"),
            (
                "a\u{1b}]8;;https://x\u{7}link",
                "a\\u{1b}]8;;https://x\\u{7}link",
            ),
            ("a: b", "a: b"),
        ] {
            let once = one_line(text, 100);
            assert_eq!(once, want, "{text:?}");
            assert_eq!(one_line(&once, 100), once, "idempotent for {text:?}");
        }
    }
}
