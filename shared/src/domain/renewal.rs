//! When a subscription gets its renewal invoice, its reminders and its expiry: pure rules over
//! business dates in the seller's time zone, so the scheduled jobs only carry them out.

use super::subscription::{Billing, Period, add_days, add_months};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The `[renewals]` section of the billing config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalPolicy {
    /// Days before a period ends on which the customer is reminded, e.g. `[7, 3, 1]`. The first
    /// reminder (the largest number) comes with the renewal invoice; later ones re-send it while
    /// it is unpaid.
    #[serde(default = "default_reminders")]
    pub reminder_days: Vec<u32>,
    /// Days after a period ends during which access stays open and the renewal can still be
    /// paid without a gap; then the subscription expires. Postpaid plans add the seller's
    /// payment terms.
    #[serde(default = "default_grace")]
    pub grace_days: u32,
}

fn default_reminders() -> Vec<u32> {
    vec![7]
}

fn default_grace() -> u32 {
    3
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            reminder_days: default_reminders(),
            grace_days: default_grace(),
        }
    }
}

/// Offsets of a postpaid plan: one invoice on the day its period starts.
const POSTPAID: [u32; 1] = [0];

impl RenewalPolicy {
    pub fn validate(&self) -> Result<(), String> {
        if self.reminder_days.is_empty() {
            return Err("renewals reminder_days: give at least one, e.g. [7]".into());
        }
        if let Some(d) = self.reminder_days.iter().find(|d| !(1..=365).contains(*d)) {
            return Err(format!("renewals reminder_days: {d} is not within 1..=365"));
        }
        if self.grace_days > 365 {
            return Err("renewals grace_days: at most 365".into());
        }
        Ok(())
    }

    /// The reminder offsets of a plan, largest first.
    pub fn offsets(&self, billing: Billing) -> Vec<u32> {
        match billing {
            Billing::Postpaid => POSTPAID.to_vec(),
            Billing::Prepaid => {
                let mut days = self.reminder_days.clone();
                days.sort_unstable_by(|a, b| b.cmp(a));
                days.dedup();
                days
            }
        }
    }

    /// Days after the period end until expiry: the grace, plus the payment terms for postpaid
    /// plans (their invoice is issued on the day the period starts).
    pub fn grace(&self, billing: Billing, payment_terms_days: u32) -> u32 {
        match billing {
            Billing::Prepaid => self.grace_days,
            Billing::Postpaid => self.grace_days.saturating_add(payment_terms_days),
        }
    }

    /// The period ends the reminder job looks at on `today`: every end that may still need an
    /// invoice or a reminder, including ends missed while the job did not run.
    pub fn window(&self, today: NaiveDate, max_grace: u32) -> (NaiveDate, NaiveDate) {
        let ahead = self.reminder_days.iter().copied().max().unwrap_or(0);
        let from = today
            .checked_sub_days(chrono::Days::new(u64::from(max_grace)))
            .unwrap_or(NaiveDate::MIN);
        (from, add_days(today, ahead))
    }
}

/// The first day a subscription ending on `end` (exclusive) is expired, after `grace` days.
pub fn expires_on(end: NaiveDate, grace: u32) -> NaiveDate {
    add_days(end, grace)
}

/// What the reminder job has done for the period ending on a subscription's current end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The smallest offset already reminded, if any.
    pub reminded: Option<u32>,
}

/// What the reminder job should do for one subscription today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Issue the renewal invoice and send the reminder of this offset with it.
    Issue {
        remind: u32,
    },
    /// The invoice exists: re-send it as the reminder of this offset (if still unpaid).
    Remind(u32),
}

/// The reminder due on `today` for a period ending on `end`: the nearest offset at or above the
/// days left, so a job that missed days sends one reminder, not all it missed.
pub fn due_offset(offsets: &[u32], end: NaiveDate, today: NaiveDate) -> Option<u32> {
    let left = (end - today).num_days();
    let first = i64::from(*offsets.first()?);
    if left > first {
        return None;
    }
    offsets.iter().rev().copied().find(|&d| i64::from(d) >= left)
}

/// Decides the step for a subscription ending on `end` (offsets largest first; `progress` is
/// `None` until the renewal invoice for this end exists).
pub fn step(offsets: &[u32], grace: u32, end: NaiveDate, today: NaiveDate, progress: Option<Progress>) -> Step {
    if today >= expires_on(end, grace) {
        return Step::Nothing;
    }
    let Some(due) = due_offset(offsets, end, today) else {
        return Step::Nothing;
    };
    match progress {
        None => Step::Issue { remind: due },
        Some(Progress { reminded: Some(done) }) if done <= due => Step::Nothing,
        Some(_) => Step::Remind(due),
    }
}

/// The last day to pay a renewal invoice of a period ending on `end`, issued on `today`: while
/// access is still paid for (the day before the end), or, when issued later (catch-up,
/// postpaid), the last day before the subscription would expire.
pub fn pay_by(end: NaiveDate, grace: u32, today: NaiveDate) -> NaiveDate {
    let last = if end > today { end } else { expires_on(end, grace) };
    last.pred_opt().unwrap_or(last)
}

/// The period a renewal invoice pays for: the next one, from the current end.
pub fn next_period(end: NaiveDate, months: u32) -> Period {
    Period {
        start: end,
        end: add_months(end, months),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn policy(days: &[u32]) -> RenewalPolicy {
        RenewalPolicy {
            reminder_days: days.to_vec(),
            grace_days: 3,
        }
    }

    #[test]
    fn the_defaults_are_seven_days_ahead_and_three_of_grace() {
        let p = RenewalPolicy::default();
        assert_eq!(p.offsets(Billing::Prepaid), vec![7]);
        assert_eq!(p.grace(Billing::Prepaid, 5), 3);
        assert_eq!(p.offsets(Billing::Postpaid), vec![0]);
        assert_eq!(p.grace(Billing::Postpaid, 5), 8);
        p.validate().unwrap();
    }

    #[test]
    fn offsets_are_sorted_and_checked() {
        assert_eq!(policy(&[1, 7, 3, 3]).offsets(Billing::Prepaid), vec![7, 3, 1]);
        assert!(policy(&[]).validate().is_err());
        assert!(policy(&[0]).validate().is_err());
        assert!(policy(&[400]).validate().is_err());
    }

    #[test]
    fn the_invoice_comes_with_the_first_reminder_and_later_ones_resend_it() {
        let offsets = [7, 3, 1];
        let end = d("2026-12-10");
        let step_on = |today: &str, p| step(&offsets, 3, end, d(today), p);
        assert_eq!(step_on("2026-12-02", None), Step::Nothing);
        assert_eq!(step_on("2026-12-03", None), Step::Issue { remind: 7 });
        let sent = |d| Some(Progress { reminded: Some(d) });
        assert_eq!(
            step_on("2026-12-03", sent(7)),
            Step::Nothing,
            "a second run the same day"
        );
        assert_eq!(step_on("2026-12-06", sent(7)), Step::Nothing);
        assert_eq!(step_on("2026-12-07", sent(7)), Step::Remind(3));
        assert_eq!(step_on("2026-12-09", sent(3)), Step::Remind(1));
        assert_eq!(step_on("2026-12-09", sent(1)), Step::Nothing);
        // Invoiced, but its reminder was never sent (the mail was refused): send it now.
        assert_eq!(
            step_on("2026-12-04", Some(Progress { reminded: None })),
            Step::Remind(7)
        );
    }

    #[test]
    fn missed_days_are_caught_up_with_one_email() {
        let offsets = [7, 3, 1];
        let end = d("2026-12-10");
        // The job did not run from the 3rd to the 8th: one invoice, with the nearest reminder.
        assert_eq!(step(&offsets, 3, end, d("2026-12-08"), None), Step::Issue { remind: 3 });
        // Even after the end, within grace, the invoice is still issued (access is still open).
        assert_eq!(step(&offsets, 3, end, d("2026-12-11"), None), Step::Issue { remind: 1 });
        assert_eq!(step(&offsets, 3, end, d("2026-12-12"), None), Step::Issue { remind: 1 });
        // From the expiry date on, nothing: the expiry job closes it.
        assert_eq!(step(&offsets, 3, end, d("2026-12-13"), None), Step::Nothing);
    }

    #[test]
    fn postpaid_plans_are_invoiced_when_the_period_starts() {
        let p = RenewalPolicy::default();
        let offsets = p.offsets(Billing::Postpaid);
        let grace = p.grace(Billing::Postpaid, 5);
        let end = d("2027-01-01");
        assert_eq!(step(&offsets, grace, end, d("2026-12-31"), None), Step::Nothing);
        assert_eq!(
            step(&offsets, grace, end, d("2027-01-01"), None),
            Step::Issue { remind: 0 }
        );
        assert_eq!(
            step(&offsets, grace, end, d("2027-01-05"), None),
            Step::Issue { remind: 0 }
        );
        let done = Some(Progress { reminded: Some(0) });
        assert_eq!(step(&offsets, grace, end, d("2027-01-02"), done), Step::Nothing);
        assert_eq!(expires_on(end, grace), d("2027-01-09"));
    }

    #[test]
    fn the_window_reaches_back_over_grace_and_ahead_to_the_first_reminder() {
        let (from, to) = policy(&[7, 3]).window(d("2026-03-01"), 8);
        assert_eq!((from, to), (d("2026-02-21"), d("2026-03-08")));
    }

    #[test]
    fn a_renewal_is_due_while_access_lasts() {
        let end = d("2026-12-24");
        assert_eq!(pay_by(end, 3, d("2026-12-17")), d("2026-12-23"));
        // Issued in grace: due before the subscription would expire on the 27th.
        assert_eq!(pay_by(end, 3, d("2026-12-25")), d("2026-12-26"));
    }

    #[test]
    fn the_next_period_follows_the_calendar() {
        assert_eq!(
            next_period(d("2026-01-31"), 1),
            Period {
                start: d("2026-01-31"),
                end: d("2026-02-28")
            }
        );
        assert_eq!(next_period(d("2026-12-01"), 12).end, d("2027-12-01"));
    }
}
