//! The runner's reader of `$GITHUB_OUTPUT`, for tests: what the runner
//! would make of the files `ec3-gate` writes. Also compiled into the
//! binary's unit tests (`#[path]`), so there is one copy.

/// Reads an output file the way the runner does (`name=value` lines and
/// `name<<DELIM` … `DELIM` blocks, LF or CRLF line ends; a value is the exact
/// text between its header line and the delimiter line). For tests.
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
