//! What the GitHub Actions runner does with a step's files and log: the one
//! reader of `GITHUB_OUTPUT` (and `GITHUB_ENV`), and of workflow commands in
//! stdout and stderr, for every test.

/// Parses a `GITHUB_OUTPUT`/`GITHUB_ENV` file as the runner does
/// (actions/runner `SetEnvFileCommand`): `name=value` when `=` comes before
/// any `<<`, else `name<<DELIM`, the value's lines, and `DELIM` alone on its
/// line. CR LF, LF and a last line without an end are all lines; an error
/// names what the runner would refuse.
pub fn parse_output_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                if e == 0 {
                    return Err(format!("invalid format '{line}'"));
                }
                pairs.push((line[..e].to_owned(), line[e + 1..].to_owned()));
            }
            (_, Some(h)) => {
                let (key, delimiter) = (&line[..h], &line[h + 2..]);
                if key.is_empty() || delimiter.is_empty() {
                    return Err(format!("invalid format '{line}'"));
                }
                let start = index;
                let mut end = index;
                loop {
                    match read_line(text, &mut index) {
                        None => return Err(format!("matching delimiter not found '{delimiter}'")),
                        Some((l, _)) if l == delimiter => break,
                        Some((_, None)) => return Err("EOF marker missing new line".into()),
                        Some((_, Some(newline))) => end = index - newline.len(),
                    }
                }
                pairs.push((key.to_owned(), text[start..end.max(start)].to_owned()));
            }
            _ => return Err(format!("invalid format '{line}'")),
        }
    }
    Ok(pairs)
}

/// The runner's `ReadLine`: the line at `index` without its line end, and
/// that line end (`None` at the end of the text); advances `index`.
fn read_line<'t>(text: &'t str, index: &mut usize) -> Option<(&'t str, Option<&'static str>)> {
    let rest = text.get(*index..).filter(|r| !r.is_empty())?;
    let start = *index;
    Some(match rest.find('\n') {
        None => {
            *index = text.len();
            (rest, None)
        }
        Some(lf) if lf > 0 && rest.as_bytes()[lf - 1] == b'\r' => {
            *index = start + lf + 1;
            (&rest[..lf - 1], Some("\r\n"))
        }
        Some(lf) => {
            *index = start + lf + 1;
            (&rest[..lf], Some("\n"))
        }
    })
}

/// One workflow command the runner found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command name (`error`, `add-mask`, …).
    pub name: String,
    /// Its properties, unescaped, in order.
    pub properties: Vec<(String, String)>,
    /// Its data, unescaped.
    pub data: String,
    /// True for the legacy `##[name k=v]data` syntax.
    pub legacy: bool,
    /// The whole line, as read.
    pub line: String,
}

/// Every line of `log` as the runner's `ActionCommandManager` reads a step's
/// stdout or stderr, with the workflow commands it would run: CR, LF and
/// CR LF each end a line; a line is a command when, after trimming leading
/// Unicode whitespace, it starts with `::name` and has a second `::`, or when
/// it holds `##[name]`/`##[name k=v]` anywhere; `::stop-commands::TOKEN`
/// turns commands off until a line `::TOKEN::`.
///
/// Every command is reported whatever its name (the runner ignores names it
/// does not know, but a test must not depend on that list).
pub fn commands(log: &str) -> Vec<Command> {
    let mut found = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log_lines(log) {
        let trimmed = line.trim_start_matches(is_runner_whitespace);
        if let Some(token) = &stopped {
            if trimmed.trim_end() == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        let command = parse_v2(line, trimmed).or_else(|| parse_legacy(line));
        if let Some(command) = command {
            if command.name.eq_ignore_ascii_case("stop-commands") && !command.data.is_empty() {
                stopped = Some(command.data.clone());
            }
            found.push(command);
        }
    }
    found
}

/// What a tool may write as workflow commands; see [`unintended`].
#[derive(Debug, Clone)]
pub struct Allowed {
    /// Annotation titles the tool writes (`error`, `warning`, `notice`
    /// must carry one of them).
    pub titles: Vec<String>,
    /// Values the tool may mask; `None` allows any `add-mask`.
    pub masks: Option<Vec<String>>,
}

impl Allowed {
    /// ec3-gate's annotation titles, any mask.
    pub fn ec3_gate() -> Self {
        let titles = [
            "EC3 job succeeded",
            "EC3 job failed",
            "EC3 job status",
            "EC3 job created",
            "EC3 job timed out",
            "EC3 jobs created",
            "EC3 jobs succeeded",
            "EC3 jobs did not all succeed",
            "EC3 configurations",
            "EC3 extraction started",
            "EC3 extraction finished",
            "EC3 extraction failed",
            "EC3 extraction timed out",
            "ec3-gate usage error",
            "ec3-gate error",
            "ec3-gate interrupted",
            "ec3-gate warning",
        ];
        Self {
            titles: titles.iter().map(|t| (*t).to_owned()).collect(),
            masks: None,
        }
    }
}

/// The commands in `log` the tool did not intend, each as a sentence naming
/// the line: any legacy `##[…]` command; any command not written at the very
/// start of its line (text before `::`, even whitespace, means the tool
/// printed something it did not author); and any command but `add-mask`
/// (of an allowed value), `group`/`endgroup`, `stop-commands` with its
/// resume line, and `error`/`warning`/`notice` titled as [`Allowed`] says.
pub fn unintended(log: &str, allowed: &Allowed) -> Vec<String> {
    let mut bad = Vec::new();
    for c in commands(log) {
        let why = if c.legacy {
            Some("legacy ##[…] command")
        } else if !c.line.starts_with("::") {
            Some("command after leading whitespace")
        } else {
            match c.name.as_str() {
                "add-mask" => match &allowed.masks {
                    Some(masks) if !masks.contains(&c.data) => Some("mask of an unknown value"),
                    _ => None,
                },
                "group" | "endgroup" | "stop-commands" => None,
                "error" | "warning" | "notice" => {
                    let keys_ok = c.properties.iter().all(|(k, _)| {
                        matches!(
                            k.as_str(),
                            "title" | "file" | "line" | "col" | "endLine" | "endColumn"
                        )
                    });
                    let titled = c
                        .properties
                        .iter()
                        .any(|(k, v)| k == "title" && allowed.titles.contains(v));
                    (!(keys_ok && titled)).then_some("annotation without one of the tool's titles")
                }
                _ => Some("command the tool never writes"),
            }
        };
        if let Some(why) = why {
            bad.push(format!("{why}: {:?}", c.line));
        }
    }
    bad
}

/// The lines of a log as the runner splits it: CR, LF and CR LF each end one.
pub fn log_lines(log: &str) -> impl Iterator<Item = &str> {
    let mut rest = log;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let line = &rest[..end];
        let mut next = end;
        if rest[end..].starts_with("\r\n") {
            next += 2;
        } else if end < rest.len() {
            next += 1;
        }
        rest = &rest[next..];
        Some(line)
    })
}

/// .NET's `char.IsWhiteSpace` (what `TrimStart()` removes), plus the
/// zero-width characters a display hides: stricter than the runner.
fn is_runner_whitespace(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{180E}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

fn parse_v2(line: &str, trimmed: &str) -> Option<Command> {
    let rest = trimmed.strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), unescape(v, true))
        })
        .collect();
    Some(Command {
        name: name.to_owned(),
        properties,
        data: unescape(data, false),
        legacy: false,
        line: line.to_owned(),
    })
}

/// The legacy form, as `ActionCommand.TryParse` finds it: the first `##[`,
/// the first `]` after it. Any name counts.
fn parse_legacy(line: &str) -> Option<Command> {
    let start = line.find("##[")? + 3;
    let end = start + line[start..].find(']')?;
    let info = &line[start..end];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    let properties = props
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Some(Command {
        name: name.to_owned(),
        properties,
        data: line[end + 1..].to_owned(),
        legacy: true,
        line: line.to_owned(),
    })
}

fn unescape(s: &str, property: bool) -> String {
    let mut out = s.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        out = out.replace("%3A", ":").replace("%2C", ",");
    }
    out.replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_heredoc_and_crlf_forms() {
        let parsed =
            parse_output_file("a=1\r\nb<<E\r\nx\r\ny\r\nE\r\nc=x<<y\n\nd<<E\nE\n").unwrap();
        let want = [("a", "1"), ("b", "x\r\ny"), ("c", "x<<y"), ("d", "")];
        let want: Vec<_> = want.map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(parsed, want);
    }

    #[test]
    fn what_the_runner_refuses_is_an_error() {
        for bad in [
            "b<<E\nx\n",
            "b<<E\nx",
            "novalue\n",
            "=v\n",
            "<<E\nE\n",
            "k<<\n",
        ] {
            assert!(parse_output_file(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn both_syntaxes_any_line_end_unicode_trim() {
        let log = "a\r::error title=EC3 job failed::x%0Ay\r\n\u{a0}\u{2003}::warning::w\nsome ##[error]legacy\n##[set-output name=a;]v";
        let found = commands(log);
        let names: Vec<_> = found.iter().map(|c| (c.name.as_str(), c.legacy)).collect();
        assert_eq!(
            names,
            [
                ("error", false),
                ("warning", false),
                ("error", true),
                ("set-output", true)
            ]
        );
        assert_eq!(found[0].data, "x\ny");
        assert_eq!(
            found[0].properties,
            [("title".to_owned(), "EC3 job failed".to_owned())]
        );
        let bad = unintended(log, &Allowed::ec3_gate());
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(
            bad[0].starts_with("command after leading whitespace"),
            "{bad:?}"
        );
    }

    #[test]
    fn stop_commands_fence_text_until_the_token() {
        let log = "::stop-commands::t0k\n::error::fenced\n##[error]fenced\n::t0k::\n::error::live";
        let found = commands(log);
        let names: Vec<_> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["stop-commands", "error"]);
        assert_eq!(found[1].data, "live");
        assert_eq!(log_lines("a\r\rb\r\n").collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn masks_and_titles_are_allow_listed() {
        let allowed = Allowed {
            masks: Some(vec!["tok".into()]),
            ..Allowed::ec3_gate()
        };
        let ok = "::add-mask::tok\n::notice title=EC3 job succeeded::done\n::group::g\n::endgroup::\nplain: text";
        assert!(unintended(ok, &allowed).is_empty());
        let bad = "::add-mask::other\n::error title=pwned::x\n::set-env name=A::b";
        assert_eq!(unintended(bad, &allowed).len(), 3);
    }
}
