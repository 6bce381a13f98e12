//! The invoice: its number, lines, amounts and the statuses it may move between.

use super::money::Kopecks;
use super::requisites::{Buyer, Seller};
use super::vat::VatRate;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Issued,
    /// Bank transfers covered part of it; `balance_due` is what is left.
    PartiallyPaid,
    Paid,
    Overdue,
    Void,
    NeedsReview,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("an invoice cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::PartiallyPaid => "partially_paid",
            Status::Paid => "paid",
            Status::Overdue => "overdue",
            Status::Void => "void",
            Status::NeedsReview => "needs_review",
        }
    }

    /// What the customer and the operator read.
    pub fn label_ru(self) -> &'static str {
        match self {
            Status::Issued => "Не оплачен",
            Status::PartiallyPaid => "Частично оплачен",
            Status::Paid => "Оплачен",
            Status::Overdue => "Просрочен",
            Status::Void => "Аннулирован",
            Status::NeedsReview => "Требует проверки",
        }
    }

    /// The English label of the hosted page's English version.
    pub fn label_en(self) -> &'static str {
        match self {
            Status::Issued => "Unpaid",
            Status::PartiallyPaid => "Partially paid",
            Status::Paid => "Paid",
            Status::Overdue => "Overdue",
            Status::Void => "Void",
            Status::NeedsReview => "Under review",
        }
    }

    /// The allowed moves. `paid` and `void` are final.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Issued, Paid | PartiallyPaid | Overdue | Void | NeedsReview)
                | (Overdue, Paid | PartiallyPaid | Void | NeedsReview)
                | (PartiallyPaid, Paid | PartiallyPaid)
                | (NeedsReview, Paid | Void)
        )
    }

    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `2026-000123`: an optional prefix, the year, a gapless sequence within that year.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvoiceNumber {
    pub prefix: String,
    pub year: i32,
    pub seq: u64,
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}-{:06}", self.prefix, self.year, self.seq)
    }
}

impl FromStr for InvoiceNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invoice number {s:?}: expected [prefix]YYYY-NNNNNN");
        let (head, seq) = s.rsplit_once('-').ok_or_else(bad)?;
        if head.len() < 4 || !head.is_char_boundary(head.len() - 4) || seq.len() < 6 {
            return Err(bad());
        }
        let (prefix, year) = head.split_at(head.len() - 4);
        Ok(InvoiceNumber {
            prefix: prefix.to_owned(),
            year: year.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for InvoiceNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InvoiceNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub title: String,
    pub quantity: u32,
    pub unit: String,
    pub price: Kopecks,
    pub amount: Kopecks,
    pub vat: VatRate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub number: InvoiceNumber,
    pub status: Status,
    /// The vendor's account id for this customer (defaults to the buyer's ИНН).
    pub account: String,
    pub plan: String,
    pub quantity: u32,
    /// Snapshot of the seller's requisites at issue time, so the document never changes later.
    pub seller: Seller,
    pub buyer: Buyer,
    /// «Основание»: the contract or public offer.
    pub basis: String,
    pub lines: Vec<Line>,
    pub total: Kopecks,
    pub currency: String,
    /// Business dates, in the seller's time zone.
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// The service period it pays for, when fixed at issue (renewal invoices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<super::subscription::Period>,
    /// What bank transfers have paid so far (a paid invoice may have received more: overpaid).
    #[serde(default, skip_serializing_if = "Kopecks::is_zero")]
    pub amount_paid: Kopecks,
}

impl Invoice {
    /// VAT per rate, in the order the rates first appear; exempt lines contribute nothing.
    pub fn vat_breakdown(&self) -> Vec<(VatRate, Kopecks)> {
        let mut out: Vec<(VatRate, Kopecks)> = Vec::new();
        for line in &self.lines {
            match out.iter_mut().find(|(r, _)| *r == line.vat) {
                Some((_, sum)) => *sum = *sum + line.amount,
                None => out.push((line.vat, line.amount)),
            }
        }
        out.into_iter().map(|(r, sum)| (r, r.included_in(sum))).collect()
    }

    /// What is left to pay: nothing once paid (or void), the total less transfers so far otherwise.
    pub fn balance_due(&self) -> Kopecks {
        match self.status {
            Status::Paid | Status::Void => Kopecks(0),
            _ => self.balance_after(self.amount_paid),
        }
    }

    /// What would be left to pay once `paid` in all has come in.
    pub fn balance_after(&self, paid: Kopecks) -> Kopecks {
        Kopecks(self.total.0.saturating_sub(paid.0).max(0))
    }

    /// Where `paid` in all leaves it: paid once the total is covered, partly paid before.
    pub fn status_after(&self, paid: Kopecks) -> Status {
        if paid >= self.total {
            Status::Paid
        } else {
            Status::PartiallyPaid
        }
    }

    pub fn vat_total(&self) -> Kopecks {
        self.vat_breakdown().into_iter().map(|(_, v)| v).sum()
    }

    /// The payment purpose a bank transfer should carry; it names the invoice number.
    pub fn payment_purpose(&self) -> String {
        let vat = match self.vat_breakdown().as_slice() {
            [] | [(VatRate::Exempt, _)] => "НДС не облагается".to_owned(),
            [(rate, amount)] => format!("в т.ч. НДС {rate} {} руб.", amount.display_ru()),
            _ => format!("в т.ч. НДС {} руб.", self.vat_total().display_ru()),
        };
        format!(
            "Оплата по счёту № {} от {}, {vat}",
            self.number,
            self.issue_date.format("%d.%m.%Y")
        )
    }

    /// `invoices/YYYY/MM/<number>.pdf`: browses naturally in the S3 console.
    pub fn pdf_key(&self) -> String {
        format!("invoices/{}/{}.pdf", self.issue_date.format("%Y/%m"), self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_transitions_only() {
        use Status::*;
        let all = [Issued, PartiallyPaid, Paid, Overdue, Void, NeedsReview];
        let allowed = [
            (Issued, PartiallyPaid),
            (Overdue, PartiallyPaid),
            (PartiallyPaid, Paid),
            (PartiallyPaid, PartiallyPaid),
            (Issued, Paid),
            (Issued, Overdue),
            (Issued, Void),
            (Issued, NeedsReview),
            (Overdue, Paid),
            (Overdue, Void),
            (Overdue, NeedsReview),
            (NeedsReview, Paid),
            (NeedsReview, Void),
        ];
        for from in all {
            for to in all {
                assert_eq!(from.can_become(to), allowed.contains(&(from, to)), "{from} -> {to}");
            }
        }
        assert_eq!(Paid.transition(Issued), Err(TransitionError { from: Paid, to: Issued }));
        assert_eq!(Issued.label_ru(), "Не оплачен");
        assert_eq!(Paid.label_ru(), "Оплачен");
    }

    #[test]
    fn numbers_format_and_parse() {
        let n = InvoiceNumber {
            prefix: String::new(),
            year: 2026,
            seq: 123,
        };
        assert_eq!(n.to_string(), "2026-000123");
        assert_eq!("2026-000123".parse::<InvoiceNumber>(), Ok(n));
        let p = InvoiceNumber {
            prefix: "АБ-".into(),
            year: 2026,
            seq: 1_234_567,
        };
        assert_eq!(p.to_string(), "АБ-2026-1234567");
        assert_eq!(p.to_string().parse::<InvoiceNumber>(), Ok(p));
        assert!("2026".parse::<InvoiceNumber>().is_err());
        assert!("ж-12".parse::<InvoiceNumber>().is_err());
    }
}
