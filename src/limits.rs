//! The bounds and defaults of waits and calls (in milliseconds) and of the
//! request budget: the one place these numbers are written.
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
/// Default request budget of a client: at most this many requests in any
/// 60 seconds.
///
/// A modest share of the community tier's 500 a minute and 5,000 an hour:
/// 12% of the minute's limit, and, over the default 30-minute deadline, at
/// most 1,800 requests (36% of the hour's). It keeps 5 jobs at the default
/// 5-second interval at full speed, and polls 50 jobs each about once every
/// 50 seconds.
pub const DEFAULT_MAX_REQUESTS_PER_MINUTE: u32 = 60;
/// Largest accepted request budget: the paid tiers' 5,000 a minute. More
/// would only ever earn 429s. The smallest is 1.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 5_000;
