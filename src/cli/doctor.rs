//! `ec3-gate doctor`: the settings and where each came from, then the
//! core's checks, one line each, ✓ or ✗ with the cause.

use ec3_gate::{Cancel, Client, Error, Timeout};

use super::settings::Setting;
use super::text::one_line;
use super::{Outcome, out};

/// Prints the settings and runs the checks; the outcome is the first
/// failure (so the exit code is that failure's), else [`Outcome::Checked`].
pub fn run(client: &Client, settings: &[Setting], timeout: Timeout, cancel: &Cancel) -> Outcome {
    for s in settings {
        out!("  {:<12} {} ({})", s.name, one_line(&s.value, 500), s.from);
    }
    let mut first: Option<Error> = None;
    for check in client.check(timeout, cancel) {
        match check.result {
            Ok(found) => out!("✓ {}: {}", check.step, one_line(&found, 500)),
            Err(e) => {
                out!("✗ {}: {}", check.step, one_line(&e.to_string(), 1000));
                if let Some(note) = &check.note {
                    out!("    {}", one_line(note, 500));
                }
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Outcome::Failed(e),
        None => Outcome::Checked,
    }
}
