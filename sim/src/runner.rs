//! What the GitHub Actions runner does with a step's files: the one reader of
//! `GITHUB_OUTPUT` (and `GITHUB_ENV`) for every test.

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

#[cfg(test)]
mod tests {
    use super::parse_output_file;

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
}
