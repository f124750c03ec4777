//! The GitHub Actions runner's file and command formats, as `ec3-gate`
//! writes them.
//!
//! Rules from the runner and `@actions/toolkit` sources: outputs are appended
//! to `$GITHUB_OUTPUT` as `name<<DELIM` / value / `DELIM` with a fresh random
//! `ghadelimiter_…` per value; workflow commands are `::name k=v::data` lines,
//! with data and property values escaped so text cannot end the command or
//! start another one.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;

use super::text::one_line;

/// Escapes workflow-command data: `%`, CR and LF (percent first), as the
/// toolkit's `escapeData`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value: as [`escape_data`] plus `:`
/// and `,`, as the toolkit's `escapeProperty`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command line of the command's own (without the trailing
/// newline), as [`command`] and [`annotation`] make it; print it with
/// `runner!`, the only way past the sanitiser's line guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command(pub String);

/// The annotation title of the command's own warnings.
pub const WARNING_TITLE: &str = "ec3-gate warning";

/// Formats one workflow command line: `::name k=v,k2=v2::data`, escaped as
/// the toolkit does (the data exactly, so an `add-mask` value matches).
pub fn command(name: &str, properties: &[(&str, &str)], data: &str) -> Command {
    let mut line = format!("::{name}");
    for (i, (key, value)) in properties.iter().enumerate() {
        line.push(if i == 0 { ' ' } else { ',' });
        let _ = write!(line, "{key}={}", escape_property(value));
    }
    let _ = write!(line, "::{}", escape_data(data));
    Command(line)
}

/// An `error`, `warning` or `notice` annotation titled `title`, whose `text`
/// may hold server text: each of its lines passes the sanitiser first
/// (controls and invisible characters shown, no `##[`), and the lines are
/// kept as the annotation's lines.
pub fn annotation(level: &str, title: &str, text: &str) -> Command {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = text.split('\n').map(|l| one_line(l, 4000)).collect();
    command(level, &[("title", title)], &lines.join("\n"))
}

/// A fresh `ghadelimiter_<uuid v4>` from the operating system's randomness.
pub fn new_delimiter() -> io::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| io::Error::other(format!("no randomness for a delimiter: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "ghadelimiter_{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// One output in the runner's multi-line form. CRLF and lone CR in `value`
/// become LF: the format cannot carry a value ending in CR, and lines are
/// lines. The name must be a plain identifier.
pub fn output_entry(name: &str, value: &str) -> io::Result<String> {
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid output name",
        ));
    }
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    // A delimiter found in the value is never used: draw another.
    let delimiter = loop {
        let d = new_delimiter()?;
        if !value.contains(&d) {
            break d;
        }
    };
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Appends all `outputs` to the file at `path` in one write.
pub fn append_outputs(path: &Path, outputs: &[(&str, &str)]) -> io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        text.push_str(&output_entry(name, value)?);
    }
    append(path, &text)
}

/// Appends `text` to the file at `path` (creating it).
pub fn append(path: &Path, text: &str) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// Escapes text for one Markdown table cell, inert whatever it holds: each
/// line passes the sanitiser (controls, ESC sequences, bidi and zero-width
/// characters shown as escapes), line breaks become `<br>`, and HTML,
/// Markdown syntax, `|` and `@` are made literal, so nothing becomes a tag,
/// a link or an autolink (`https:`, `www.`, e-mail addresses) and the table
/// stays whole. Secrets are cut out before this (by the core): the runner's
/// mask would not recognise them escaped.
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in one_line(line, usize::MAX).chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '|' => out.push_str("&#124;"),
                '@' => out.push_str("&#64;"),
                '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '{' | '}'
                | '+' | '-' | '.' | ':' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out
}

/// A Markdown link to `url` when it is an `https://` URL, with every
/// character that could end the link target percent-encoded; otherwise the
/// URL as escaped text.
pub fn markdown_link(url: &str) -> String {
    if !url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        return markdown_cell(url);
    }
    let mut target = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() && !b"()<>[]|\\\"'`{} ".contains(&b) {
            target.push(b as char);
        } else {
            let _ = write!(target, "%{b:02X}");
        }
    }
    format!("[{}]({target})", markdown_cell(url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec3_sim::runner::parse_output_file;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            command("error", &[("title", "EC3: failed, sorry")], "x\n::y").0,
            "::error title=EC3%3A failed%2C sorry::x%0A::y"
        );
        assert_eq!(command("add-mask", &[], "50%\n").0, "::add-mask::50%25%0A");
        assert_eq!(
            annotation("error", "t", "a\n\u{1b}[2J ##[error]x").0,
            "::error title=t::a%0A\\u{1b}[2J ##\\[error]x"
        );
    }

    #[test]
    fn delimiters_are_fresh_uuids() {
        let a = new_delimiter().unwrap();
        assert_eq!(a.len(), "ghadelimiter_".len() + 36);
        assert_ne!(a, new_delimiter().unwrap());
    }

    #[test]
    fn outputs_round_trip_through_the_runner_parser() {
        let values = [
            "",
            "plain",
            "two\nlines",
            "EOF",
            "a=b<<c",
            "%0A ::error::x",
            "ghadelimiter_x\n",
            "\n\n",
        ];
        let mut file = String::new();
        for (i, v) in values.iter().enumerate() {
            file.push_str(&output_entry(&format!("k{i}"), v).unwrap());
        }
        let parsed = parse_output_file(&file).unwrap();
        let want: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}"), (*v).to_owned()))
            .collect();
        assert_eq!(parsed, want);
        assert!(output_entry("bad name", "x").is_err());
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let cell = markdown_cell("a|b\nc\r\n<script>**x**`y`");
        assert_eq!(cell, "a&#124;b<br>c<br>&lt;script&gt;\\*\\*x\\*\\*\\`y\\`");
        assert_eq!(
            markdown_link("https://x.org/a b)(c"),
            "[https\\://x\\.org/a b\\)\\(c](https://x.org/a%20b%29%28c)"
        );
        assert_eq!(
            markdown_link("javascript:alert(1)"),
            "javascript\\:alert\\(1\\)"
        );
        // No autolink, no mention, no ESC or bidi character, table whole.
        assert_eq!(
            markdown_cell("mail evil@example.com www.x.org \u{1b}]8;;x\u{7}\u{202e}"),
            "mail evil&#64;example\\.com www\\.x\\.org \\\\u\\{1b\\}\\]8;;x\\\\u\\{7\\}\\\\u\\{202e\\}"
        );
    }
}
