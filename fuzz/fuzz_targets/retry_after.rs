//! The `Retry-After` parser, `parse_retry_after`, fed arbitrary text (as a
//! header value) against three clocks: a fixed date, the epoch and the far
//! future. Beyond "no panic": delay-seconds parse exactly (saturating), and
//! a date never yields a delay longer than the distance to it.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ec3_gate::parse_retry_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let clocks = [
        // Wed, 21 Oct 2015 07:28:00 GMT
        UNIX_EPOCH + Duration::from_secs(1_445_412_480),
        UNIX_EPOCH,
        // Year 9999, the end of HTTP-dates.
        UNIX_EPOCH + Duration::from_secs(253_402_300_799),
    ];
    for now in clocks {
        let Some(delay) = parse_retry_after(value, now) else {
            continue;
        };
        let trimmed = value.trim();
        if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let want = trimmed.parse::<u64>().unwrap_or(u64::MAX);
            assert_eq!(delay, Duration::from_secs(want));
        } else {
            // An HTTP-date: between 1970 and 9999, so never further than that.
            let latest = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
            let most = latest.duration_since(now).unwrap_or(Duration::ZERO);
            assert!(delay <= most, "{value:?} at {now:?}: {delay:?}");
            // And the clock plus the delay is representable (no overflow).
            assert!(now.checked_add(delay).is_some());
        }
    }
    let _ = parse_retry_after(value, SystemTime::now());
});
