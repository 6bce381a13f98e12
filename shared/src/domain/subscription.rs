//! Subscription periods: what one paid invoice adds to an account's access.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// An account's current access to a plan: from `start` until `end` (exclusive: the first day
/// without access). Business dates in the seller's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// What one paid invoice does to a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The service period the invoice pays for (printed on the act).
    pub covered: Period,
    /// The subscription after it.
    pub after: Period,
    /// The end it extends from (`None` for a new or lapsed subscription): the condition that
    /// makes the write safe against a concurrent extension.
    pub from_end: Option<NaiveDate>,
}

/// How a plan is billed: ahead of each period (the default), or at its start with access kept
/// while the invoice is within its payment terms (postpaid).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    #[default]
    Prepaid,
    Postpaid,
}

/// An account's subscription to a plan as stored: its paid period and whether the expiry job
/// closed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Current {
    pub period: Period,
    pub expired: bool,
}

/// Adds months the calendar way: 31 January + 1 month = the last day of February.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// `date` plus `days`, saturating at the calendar's end.
pub fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Extends `current` by `months`: from its end while it runs or is within its `grace_days` after
/// the end (access stays open during grace, so a renewal paid then continues without a gap, even
/// if the expiry job closed it before the payment was processed); from `today` once grace is
/// over, or for a first purchase.
pub fn extend(current: Option<Current>, today: NaiveDate, months: u32, grace_days: u32) -> Extension {
    match current {
        Some(Current { period: p, .. }) if today < add_days(p.end, grace_days) => {
            let covered = Period {
                start: p.end,
                end: add_months(p.end, months),
            };
            Extension {
                covered,
                after: Period {
                    start: p.start,
                    end: covered.end,
                },
                from_end: Some(p.end),
            }
        }
        lapsed => {
            let covered = Period {
                start: today,
                end: add_months(today, months),
            };
            Extension {
                covered,
                after: covered,
                from_end: lapsed.map(|c| c.period.end),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn month_ends_clamp() {
        assert_eq!(add_months(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(add_months(d("2028-01-31"), 1), d("2028-02-29"));
        assert_eq!(add_months(d("2026-03-31"), 1), d("2026-04-30"));
        assert_eq!(add_months(d("2026-11-27"), 12), d("2027-11-27"));
    }

    #[test]
    fn a_first_purchase_starts_today() {
        let e = extend(None, d("2026-01-31"), 1, 3);
        assert_eq!(
            e.covered,
            Period {
                start: d("2026-01-31"),
                end: d("2026-02-28")
            }
        );
        assert_eq!(e.after, e.covered);
        assert_eq!(e.from_end, None);
    }

    #[test]
    fn a_renewal_paid_early_extends_from_the_old_end() {
        let current = Period {
            start: d("2026-11-01"),
            end: d("2026-12-01"),
        };
        let e = extend(Some(active(current)), d("2026-11-24"), 3, 3);
        assert_eq!(
            e.covered,
            Period {
                start: d("2026-12-01"),
                end: d("2027-03-01")
            }
        );
        assert_eq!(
            e.after,
            Period {
                start: d("2026-11-01"),
                end: d("2027-03-01")
            }
        );
        assert_eq!(e.from_end, Some(d("2026-12-01")));
    }

    fn active(period: Period) -> Current {
        Current { period, expired: false }
    }

    #[test]
    fn a_renewal_paid_during_grace_continues_from_the_old_end() {
        let current = Period {
            start: d("2026-11-01"),
            end: d("2026-12-01"),
        };
        // Grace of 3 days: 1, 2 and 3 December.
        for today in ["2026-12-01", "2026-12-03"] {
            let e = extend(Some(active(current)), d(today), 1, 3);
            assert_eq!(e.covered.start, d("2026-12-01"), "{today}");
            assert_eq!(e.from_end, Some(d("2026-12-01")));
        }
        // Past grace: a fresh start.
        assert_eq!(
            extend(Some(active(current)), d("2026-12-04"), 1, 3).covered.start,
            d("2026-12-04")
        );
        // Paid within grace but processed after the expiry job ran: still no gap.
        let closed = Current {
            period: current,
            expired: true,
        };
        assert_eq!(
            extend(Some(closed), d("2026-12-02"), 1, 3).covered.start,
            d("2026-12-01")
        );
    }

    #[test]
    fn a_renewal_paid_after_expiry_starts_today() {
        let current = Period {
            start: d("2026-09-01"),
            end: d("2026-10-01"),
        };
        let e = extend(Some(active(current)), d("2026-11-27"), 1, 3);
        assert_eq!(
            e.covered,
            Period {
                start: d("2026-11-27"),
                end: d("2026-12-27")
            }
        );
        assert_eq!(e.after, e.covered);
        assert_eq!(e.from_end, Some(d("2026-10-01")));
        // Without grace, the day a period ends is already without access.
        let e = extend(Some(active(current)), d("2026-10-01"), 1, 0);
        assert_eq!(e.covered.start, d("2026-10-01"));
        assert_eq!(e.from_end, Some(d("2026-10-01")));
    }
}
