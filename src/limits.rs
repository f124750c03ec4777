//! The bounds and defaults of waits and calls, in milliseconds: the one
//! place these numbers are written.
//!
//! Plain literals only, on purpose (C sees them as they are written): the C library compiles this file too
//! (`#[path]`), so that cbindgen writes the same numbers into the header.

/// Default deadline of a wait, in milliseconds (30 minutes).
pub const DEFAULT_TIMEOUT_MS: u64 = 1_800_000;
/// Default time between polls of a wait, in milliseconds (5 seconds).
pub const DEFAULT_INTERVAL_MS: u64 = 5_000;
/// Default deadline of one call (a status query, a job creation, a
/// configuration list), in milliseconds (1 minute).
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 60_000;
/// Shortest accepted deadline, in milliseconds.
pub const MIN_TIMEOUT_MS: u64 = 1;
/// Longest accepted deadline, in milliseconds (7 days).
pub const MAX_TIMEOUT_MS: u64 = 604_800_000;
/// Shortest accepted time between polls, in milliseconds: fast enough for
/// tests, never a busy loop.
pub const MIN_INTERVAL_MS: u64 = 10;
/// Longest accepted time between polls, in milliseconds (1 hour).
pub const MAX_INTERVAL_MS: u64 = 3_600_000;
