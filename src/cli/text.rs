//! Server text on its way to a person: every piece of text that came from
//! the service passes [`one_line`] before `ec3-gate` prints it, so there is
//! one place that decides how untrusted text looks.

use std::fmt::Write as _;

/// Renders untrusted text for a single log line: control characters
/// (including CR, LF and the C1 range) and Unicode bidi overrides become
/// visible escapes, and the result is capped at `max` characters.
///
/// Because no line break survives, server text can never begin a line of its
/// own, so it can never be read by the runner as a `::workflow-command::`.
pub fn one_line(text: &str, max: usize) -> String {
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
    fn one_line_escapes_every_line_break_and_control() {
        let s = one_line("ok\n::error::pwned\r\u{1b}[31m\u{202e}\u{85}", 100);
        assert!(!s.contains('\n') && !s.contains('\r') && !s.contains('\u{1b}'));
        assert_eq!(s, "ok\\n::error::pwned\\r\\u{1b}[31m\\u{202e}\\u{85}");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
