//! The retry policy: when to try a message again, when to give up on it, and when to disable
//! an endpoint that keeps failing.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// Seconds to wait after each failed attempt: attempt 1 fails → attempt 2 in 5 s, … attempt 7
/// fails → attempt 8 in 10 h (Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
pub const SCHEDULE: [u64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];
/// The first attempt and one per step of `SCHEDULE`; a message is given up after the 8th.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;
/// A receiver's `Retry-After` is honoured up to this far ahead.
pub const RETRY_AFTER_CAP: Duration = Duration::hours(24);
/// An endpoint failing for this long is disabled (and the operator told).
pub const DISABLE_AFTER: Duration = Duration::days(5);

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The endpoint answered (redirects are not followed, so 3xx lands here too).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    Timeout,
    /// DNS, connection, TLS or a refused address.
    Network,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry {
        at: DateTime<Utc>,
    },
    /// The last attempt failed: record the message as failed.
    GiveUp,
    /// `410 Gone`: the receiver asked us to stop.
    DisableEndpoint,
}

/// Decides what follows attempt number `attempt` (1-based; 0 counts as 1). Only 2xx is a
/// delivery; 410 disables the endpoint; 429 and 503 honour `Retry-After` (never sooner than the
/// schedule, never later than 24 h); any other answer, a timeout or a network error retries on
/// the schedule, and after the 8th attempt the message is given up.
pub fn after_attempt(attempt: u32, outcome: &AttemptOutcome, now: DateTime<Utc>) -> Verdict {
    let asked = match outcome {
        AttemptOutcome::Status { code: 200..=299, .. } => return Verdict::Delivered,
        AttemptOutcome::Status { code: 410, .. } => return Verdict::DisableEndpoint,
        AttemptOutcome::Status {
            code: 429 | 503,
            retry_after: Some(value),
        } => parse_retry_after(value, now),
        _ => None,
    };
    let step = attempt.max(1) as usize - 1;
    let Some(&delay) = SCHEDULE.get(step) else {
        return Verdict::GiveUp;
    };
    let scheduled = now + Duration::seconds(delay as i64);
    let at = match asked {
        Some(asked) => asked.max(scheduled).min(now + RETRY_AFTER_CAP),
        None => scheduled,
    };
    Verdict::Retry { at }
}

/// A `Retry-After` value as an instant: delay-seconds (`120`) or an HTTP date in any of the
/// three forms RFC 9110 makes recipients accept (`Sun, 06 Nov 1994 08:49:37 GMT`, the RFC 850
/// `Sunday, 06-Nov-94 08:49:37 GMT`, the asctime `Sun Nov  6 08:49:37 1994`). Delays beyond
/// `RETRY_AFTER_CAP` are cut to it; `None` when unparseable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let cap = RETRY_AFTER_CAP.num_seconds();
        // All digits: a parse failure can only be an overflow, i.e. more than the cap.
        let seconds = value.parse::<i64>().map_or(cap, |s| s.min(cap));
        return Some(now + Duration::seconds(seconds));
    }
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

/// Whether an endpoint failing without a success since `failing_since` should be disabled.
pub fn should_disable(failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(failing_since) >= DISABLE_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap()
    }

    fn status(code: u16) -> AttemptOutcome {
        AttemptOutcome::Status {
            code,
            retry_after: None,
        }
    }

    fn with_retry_after(code: u16, value: &str) -> AttemptOutcome {
        AttemptOutcome::Status {
            code,
            retry_after: Some(value.into()),
        }
    }

    fn retry_in(seconds: i64) -> Verdict {
        Verdict::Retry {
            at: now() + Duration::seconds(seconds),
        }
    }

    #[test]
    fn each_failed_attempt_waits_its_step() {
        let expected = [5, 300, 1800, 7200, 18000, 36000, 36000];
        for (i, seconds) in expected.into_iter().enumerate() {
            let attempt = i as u32 + 1;
            for outcome in [status(500), AttemptOutcome::Timeout, AttemptOutcome::Network] {
                assert_eq!(
                    after_attempt(attempt, &outcome, now()),
                    retry_in(seconds),
                    "attempt {attempt} {outcome:?}"
                );
            }
        }
        assert_eq!(
            SCHEDULE.iter().sum::<u64>(),
            99_305,
            "about 27.6 h from first to last attempt"
        );
    }

    #[test]
    fn gives_up_after_the_eighth_attempt() {
        assert_eq!(MAX_ATTEMPTS, 8);
        for outcome in [
            status(500),
            status(404),
            status(302),
            AttemptOutcome::Timeout,
            AttemptOutcome::Network,
            with_retry_after(429, "10"),
        ] {
            assert!(
                matches!(after_attempt(7, &outcome, now()), Verdict::Retry { .. }),
                "{outcome:?}"
            );
            assert_eq!(after_attempt(8, &outcome, now()), Verdict::GiveUp, "{outcome:?}");
            assert_eq!(after_attempt(9, &outcome, now()), Verdict::GiveUp, "{outcome:?}");
            assert_eq!(after_attempt(u32::MAX, &outcome, now()), Verdict::GiveUp, "{outcome:?}");
        }
        // A success or a 410 on the last attempt still counts.
        assert_eq!(after_attempt(8, &status(200), now()), Verdict::Delivered);
        assert_eq!(after_attempt(8, &status(410), now()), Verdict::DisableEndpoint);
    }

    #[test]
    fn attempt_zero_counts_as_the_first() {
        assert_eq!(after_attempt(0, &status(500), now()), retry_in(5));
    }

    #[test]
    fn only_2xx_is_delivered() {
        for code in [200, 201, 202, 204, 299] {
            assert_eq!(after_attempt(1, &status(code), now()), Verdict::Delivered, "{code}");
        }
        for code in [100, 199, 400, 401, 403, 404, 409, 413, 418, 500, 502, 504, 599] {
            assert_eq!(after_attempt(1, &status(code), now()), retry_in(5), "{code}");
        }
    }

    #[test]
    fn redirects_are_failures() {
        for code in [300, 301, 302, 303, 304, 307, 308] {
            assert_eq!(after_attempt(2, &status(code), now()), retry_in(300), "{code}");
            // A Retry-After on a redirect means nothing.
            assert_eq!(
                after_attempt(2, &with_retry_after(code, "3600"), now()),
                retry_in(300),
                "{code}"
            );
        }
    }

    #[test]
    fn gone_disables_the_endpoint() {
        for attempt in [1, 4, 8] {
            assert_eq!(after_attempt(attempt, &status(410), now()), Verdict::DisableEndpoint);
            assert_eq!(
                after_attempt(attempt, &with_retry_after(410, "5"), now()),
                Verdict::DisableEndpoint
            );
        }
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(after_attempt(1, &with_retry_after(429, "120"), now()), retry_in(120));
        assert_eq!(after_attempt(1, &with_retry_after(503, " 120 "), now()), retry_in(120));
        // Never sooner than the schedule.
        assert_eq!(after_attempt(3, &with_retry_after(429, "60"), now()), retry_in(1800));
        assert_eq!(after_attempt(1, &with_retry_after(429, "0"), now()), retry_in(5));
        // Never later than 24 h.
        assert_eq!(
            after_attempt(1, &with_retry_after(429, "90000"), now()),
            retry_in(86_400)
        );
        assert_eq!(
            after_attempt(1, &with_retry_after(503, "99999999999999999999999"), now()),
            retry_in(86_400)
        );
        assert_eq!(
            after_attempt(6, &with_retry_after(503, "86400"), now()),
            retry_in(86_400)
        );
        // Garbage is ignored.
        for junk in ["", "soon", "-5", "1.5", "120s", "+120"] {
            assert_eq!(
                after_attempt(1, &with_retry_after(429, junk), now()),
                retry_in(5),
                "{junk:?}"
            );
        }
        // Only 429 and 503 are honoured.
        for code in [500, 502, 504] {
            assert_eq!(
                after_attempt(1, &with_retry_after(code, "120"), now()),
                retry_in(5),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_http_date() {
        // now() is Sat, 01 Mar 2025 10:00:00 GMT.
        let in_an_hour = "Sat, 01 Mar 2025 11:00:00 GMT";
        assert_eq!(
            after_attempt(1, &with_retry_after(503, in_an_hour), now()),
            retry_in(3600)
        );
        assert_eq!(
            after_attempt(1, &with_retry_after(429, in_an_hour), now()),
            retry_in(3600)
        );
        // Obsolete forms.
        let rfc850 = "Saturday, 01-Mar-25 11:00:00 GMT";
        assert_eq!(after_attempt(1, &with_retry_after(503, rfc850), now()), retry_in(3600));
        let asctime = "Sat Mar  1 11:00:00 2025";
        assert_eq!(after_attempt(1, &with_retry_after(503, asctime), now()), retry_in(3600));
        // In the past: the schedule.
        let past = "Fri, 28 Feb 2025 10:00:00 GMT";
        assert_eq!(after_attempt(2, &with_retry_after(503, past), now()), retry_in(300));
        // Far ahead: capped.
        let far = "Wed, 05 Mar 2025 10:00:00 GMT";
        assert_eq!(after_attempt(1, &with_retry_after(429, far), now()), retry_in(86_400));
    }

    #[test]
    fn parse_retry_after_forms() {
        let at = |s: &str| parse_retry_after(s, now());
        let eleven = Some(now() + Duration::hours(1));
        assert_eq!(at("3600"), eleven);
        assert_eq!(at("Sat, 01 Mar 2025 11:00:00 GMT"), eleven);
        assert_eq!(at("Saturday, 01-Mar-25 11:00:00 GMT"), eleven);
        assert_eq!(at("Sat Mar  1 11:00:00 2025"), eleven);
        assert_eq!(at("18446744073709551616"), Some(now() + RETRY_AFTER_CAP));
        assert_eq!(at("tomorrow"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn disable_after_five_days_of_failures() {
        assert_eq!(DISABLE_AFTER, Duration::days(5));
        let since = now();
        assert!(!should_disable(since, since));
        assert!(!should_disable(since, since + Duration::days(5) - Duration::seconds(1)));
        assert!(should_disable(since, since + Duration::days(5)));
        assert!(should_disable(since, since + Duration::days(30)));
        assert!(
            !should_disable(since, since - Duration::days(6)),
            "clock skew is not failure"
        );
    }
}
