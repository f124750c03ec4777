//! The one sanitiser of the command: every piece of server-derived text
//! passes [`one_line`] before it reaches stdout, stderr, an annotation or the
//! step summary, and every line the command prints that is not one of its own
//! workflow commands passes [`line`] (the `out!`/`err!` macros do it).
//!
//! The rule itself is the core's ([`ec3_gate::text::one_line`]); this module
//! is where the command applies it.

/// Renders untrusted text for a log line, capped at `max` characters: no line
/// break, no control, ESC sequence, bidi or zero-width character (all shown
/// as visible escapes), no `##[`, and inert even at the start of a line.
/// Idempotent.
pub fn one_line(text: &str, max: usize) -> String {
    ec3_gate::text::one_line(text, max)
}

/// A line the command prints that is not one of its own workflow commands,
/// made safe as a whole: text the command composed (a table row whose first
/// cell is empty, a message from a library) could still put `::` at a
/// trimmed line start or hold `##[`. Each of its lines is rendered by
/// [`one_line`] when it would read as a command; other lines are unchanged.
pub fn line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let part = part.strip_suffix('\r').unwrap_or(part);
        let risky = part.contains("##[")
            || part.contains('\r')
            || part.trim_start_matches(is_trimmed).starts_with("::");
        if risky {
            out.push_str(&one_line(part, usize::MAX));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A line of JSON made inert for the runner without changing its value:
/// every character [`one_line`] would escape becomes a `\uXXXX` escape, and
/// the `[` of `##[` becomes `\u005b`. (JSON's own escapes cover only C0.)
pub fn json_line(json: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        let escape = (c == '[' && out.ends_with("##")) || ec3_gate::text::is_hidden(c);
        if escape {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What the runner trims before it looks for `::`, and what a display hides.
fn is_trimmed(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{180E}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_would_be_commands_are_rendered_inert() {
        assert_eq!(line("ec3-gate: fine"), "ec3-gate: fine");
        assert_eq!(line("\t::error::x"), "\\t::error::x");
        assert_eq!(
            line("a\n\u{2003}::warning::x\nb"),
            "a\n\\u{2003}::warning::x\nb"
        );
        assert_eq!(line("ok ##[error]x"), "ok ##\\[error]x");
        assert_eq!(line("a\rb"), "a\\rb");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_commands() {
        let value = serde_json::json!({"s": "##[error]x\u{85}\u{202e}\u{e0041}\u{1b} ok"});
        let text = json_line(&value.to_string());
        assert_eq!(
            text,
            r###"{"s":"##\u005berror]x\u0085\u202e\udb40\udc41\u001b ok"}"###
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
