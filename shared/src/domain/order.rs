//! An order from the website form, validated field by field, and the invoice it becomes.

use super::invoice::{Invoice, InvoiceNumber, Line, Status};
use super::plan::{Catalogue, Plan};
use super::requisites::{Buyer, Seller, check_inn, check_kpp};
use super::vat::VatTable;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most periods one invoice may cover.
pub const MAX_QUANTITY: u32 = 120;

/// The public form fields, exactly as forms and scripts send them.
pub const FIELDS: [&str; 9] = [
    "plan",
    "quantity",
    "company",
    "inn",
    "kpp",
    "address",
    "email",
    "account",
    "idempotency_key",
];

/// Raw form fields: name → text, as posted (JSON values already turned into text).
pub type OrderInput = BTreeMap<String, String>;

/// Field name → machine-readable error code.
pub type FieldErrors = BTreeMap<String, &'static str>;

/// A validated order: every field checked, the plan resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub plan: Plan,
    pub quantity: u32,
    pub buyer: Buyer,
    pub account: String,
    /// A form token that makes resubmission safe (the `Idempotency-Key` header does the same).
    pub idempotency_key: Option<String>,
    /// The service period the invoice pays for, when known up front (renewals); printed on it.
    pub service_period: Option<super::subscription::Period>,
    /// The latest due date (a renewal is due while access is still open); the payment terms
    /// apply when they end sooner.
    pub due_by: Option<NaiveDate>,
}

fn clean_text(v: &str, max_chars: usize) -> Result<String, &'static str> {
    let v = v.trim();
    if v.is_empty() {
        Err("required")
    } else if v.chars().count() > max_chars {
        Err("too_long")
    } else if v.chars().any(char::is_control) {
        Err("invalid_characters")
    } else {
        Ok(v.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

fn looks_whole(q: &str) -> bool {
    let digits = q.strip_prefix('-').unwrap_or(q);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

pub fn check_email(v: &str) -> Result<String, &'static str> {
    let v = v.trim();
    if v.is_empty() {
        return Err("required");
    }
    let valid = v.len() <= 254
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        && match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if valid { Ok(v.to_owned()) } else { Err("invalid_email") }
}

fn check_token(v: &str) -> Result<String, &'static str> {
    let v = v.trim();
    if v.is_empty() || v.len() > 128 || !v.bytes().all(|c| c.is_ascii_graphic()) {
        Err("invalid_format")
    } else {
        Ok(v.to_owned())
    }
}

impl Order {
    /// Validates every field and reports all problems at once. Empty values count as absent.
    pub fn validate(input: &OrderInput, catalogue: &Catalogue) -> Result<Order, FieldErrors> {
        let mut errors = FieldErrors::new();
        for name in input.keys() {
            if !FIELDS.contains(&name.as_str()) {
                errors.insert(name.clone(), "unknown_field");
            }
        }
        let get = |k: &str| input.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut field = |name: &str, r: Result<String, &'static str>| match r {
            Ok(v) => Some(v),
            Err(code) => {
                errors.insert(name.to_owned(), code);
                None
            }
        };

        let plan = match get("plan") {
            None => field("plan", Err("required")),
            Some(id) => field("plan", catalogue.get(id).map(|p| p.id.clone()).ok_or("unknown_plan")),
        }
        .and_then(|id| catalogue.get(&id).cloned());
        // Anything that looks like a whole number but is not 1..=MAX is out of range.
        let quantity = match get("quantity") {
            None => Some(1),
            Some(q) => match q.parse::<u64>() {
                Ok(n) if (1..=u64::from(MAX_QUANTITY)).contains(&n) => Some(n as u32),
                _ if looks_whole(q) => field("quantity", Err("out_of_range")).map(|_| 0),
                _ => field("quantity", Err("not_an_integer")).map(|_| 0),
            },
        };
        let company = field("company", clean_text(get("company").unwrap_or(""), 300));
        let inn = get("inn").map(str::to_owned);
        let inn = match inn {
            None => field("inn", Err("required")),
            Some(v) => field("inn", check_inn(&v).map(|_| v.clone()).map_err(|e| e.code())),
        };
        let kpp = match (get("kpp"), inn.as_deref().map(str::len)) {
            (None, Some(10)) => field("kpp", Err("required")).map(Some),
            (None, _) => Some(None),
            (Some(_), Some(12)) => field("kpp", Err("not_allowed")).map(Some),
            (Some(v), _) => field("kpp", check_kpp(v).map(|_| v.to_owned()).map_err(|e| e.code())).map(Some),
        };
        let address = field("address", clean_text(get("address").unwrap_or(""), 500));
        let email = field("email", check_email(get("email").unwrap_or("")));
        let account = match get("account") {
            None => inn.clone(),
            Some(v) => field("account", check_token(v)),
        };
        let idempotency_key = match get("idempotency_key") {
            None => Some(None),
            Some(v) => field("idempotency_key", check_token(v)).map(Some),
        };

        if let (Some(p), Some(q)) = (&plan, quantity)
            && p.price.checked_mul(q).is_none()
        {
            errors.insert("quantity".into(), "out_of_range");
        }
        let order = || {
            Some(Order {
                plan: plan?,
                quantity: quantity?,
                buyer: Buyer {
                    name: company?,
                    inn: inn?,
                    kpp: kpp?,
                    address: address?,
                    email: email?,
                },
                account: account?,
                idempotency_key: idempotency_key?,
                service_period: None,
                due_by: None,
            })
        };
        match order() {
            Some(order) if errors.is_empty() => Ok(order),
            _ => Err(errors),
        }
    }
}

/// Everything about the seller that shapes an invoice: requisites, terms, calendar, rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerProfile {
    pub requisites: Seller,
    /// «Основание» printed on every invoice.
    pub basis: String,
    /// Business dates (issue and due dates, year of the number) are computed in this zone.
    #[serde(default = "default_tz")]
    pub time_zone: Tz,
    #[serde(default)]
    pub number_prefix: String,
    #[serde(default = "default_terms")]
    pub payment_terms_days: u32,
    #[serde(default)]
    pub vat_rates: VatTable,
}

fn default_tz() -> Tz {
    chrono_tz::Europe::Moscow
}

fn default_terms() -> u32 {
    5
}

impl SellerProfile {
    pub fn validate(&self) -> Result<(), String> {
        self.requisites.validate()?;
        if self.basis.trim().is_empty() {
            return Err("seller basis: required".into());
        }
        // The number goes into S3 keys, file names and bank payment purposes: keep it plain.
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.number_prefix.len() > 16 || !self.number_prefix.chars().all(plain) {
            return Err("seller number_prefix: at most 16 of A-Z a-z 0-9 - _".into());
        }
        if let Some(rule) = self.vat_rates.0.iter().find(|r| r.rate >= 100) {
            return Err(format!(
                "seller vat_rates: rate {} is not a percentage below 100",
                rule.rate
            ));
        }
        if self.payment_terms_days > 365 {
            return Err("seller payment_terms_days: at most 365".into());
        }
        Ok(())
    }

    /// The business date of an instant, in the seller's zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// The numbering year (and so the counter) an invoice created at `at` belongs to.
    pub fn number_year(&self, at: DateTime<Utc>) -> i32 {
        self.local_date(at).year()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("no VAT rate is configured for {category:?} on {date}")]
    NoVatRate {
        category: super::vat::VatCategory,
        date: NaiveDate,
    },
    #[error("price × quantity does not fit in an invoice")]
    AmountOverflow,
}

/// Turns a validated order into an `issued` invoice with the given id and number.
pub fn issue(
    order: &Order,
    profile: &SellerProfile,
    id: String,
    seq: u64,
    created_at: DateTime<Utc>,
) -> Result<Invoice, IssueError> {
    let issue_date = profile.local_date(created_at);
    let plan = &order.plan;
    let vat = profile
        .vat_rates
        .rate(plan.vat, issue_date)
        .ok_or(IssueError::NoVatRate {
            category: plan.vat,
            date: issue_date,
        })?;
    let amount = plan
        .price
        .checked_mul(order.quantity)
        .ok_or(IssueError::AmountOverflow)?;
    let period = match plan.period_months {
        1 => "1 месяц".to_owned(),
        n => format!(
            "{n} {}",
            super::words::plural(u64::from(n), "месяц", "месяца", "месяцев")
        ),
    };
    let title = match order.service_period {
        None => format!("Подписка на сервис, тариф «{}», {period}", plan.title),
        Some(p) => format!(
            "Подписка на сервис, тариф «{}», {period}, с {} по {}",
            plan.title,
            p.start.format("%d.%m.%Y"),
            p.end.pred_opt().unwrap_or(p.end).format("%d.%m.%Y")
        ),
    };
    let mut due_date = issue_date + Days::new(u64::from(profile.payment_terms_days));
    if let Some(by) = order.due_by {
        due_date = due_date.min(by).max(issue_date);
    }
    let line = Line {
        title,
        quantity: order.quantity,
        unit: "усл.".into(),
        price: plan.price,
        amount,
        vat,
    };
    Ok(Invoice {
        id,
        number: InvoiceNumber {
            prefix: profile.number_prefix.clone(),
            year: issue_date.year(),
            seq,
        },
        status: Status::Issued,
        account: order.account.clone(),
        plan: plan.id.clone(),
        quantity: order.quantity,
        seller: profile.requisites.clone(),
        buyer: order.buyer.clone(),
        basis: profile.basis.clone(),
        total: amount,
        lines: vec![line],
        currency: "RUB".into(),
        issue_date,
        due_date,
        created_at,
        period: order.service_period,
        amount_paid: super::money::Kopecks::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kopecks, VatRate};
    use crate::samples::{catalogue, profile};

    fn input(pairs: &[(&str, &str)]) -> OrderInput {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn good() -> OrderInput {
        input(&[
            ("plan", "pro"),
            ("company", "ООО  «Ромашка»"),
            ("inn", "7736207543"),
            ("kpp", "770401001"),
            ("address", "Москва, ул. Льва Толстого, 16"),
            ("email", "buh@romashka.ru"),
        ])
    }

    #[test]
    fn a_good_order_validates() {
        let o = Order::validate(&good(), &catalogue()).unwrap();
        assert_eq!(o.quantity, 1);
        assert_eq!(o.buyer.name, "ООО «Ромашка»");
        assert_eq!(o.account, "7736207543");
        assert_eq!(o.idempotency_key, None);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut i = good();
        i.insert("inn".into(), "7736207544".into());
        i.insert("quantity".into(), "0".into());
        i.insert("plan".into(), "gold".into());
        i.insert("email".into(), "nobody".into());
        i.insert("colour".into(), "red".into());
        let e = Order::validate(&i, &catalogue()).unwrap_err();
        assert_eq!(e.get("inn"), Some(&"invalid_checksum"));
        assert_eq!(e.get("quantity"), Some(&"out_of_range"));
        assert_eq!(e.get("plan"), Some(&"unknown_plan"));
        assert_eq!(e.get("email"), Some(&"invalid_email"));
        assert_eq!(e.get("colour"), Some(&"unknown_field"));
    }

    #[test]
    fn quantity_rules() {
        for (q, want) in [
            ("-1", "out_of_range"),
            ("121", "out_of_range"),
            ("99999999999999999999999", "out_of_range"),
            ("1.5", "not_an_integer"),
            ("x", "not_an_integer"),
        ] {
            let mut i = good();
            i.insert("quantity".into(), q.into());
            assert_eq!(
                Order::validate(&i, &catalogue()).unwrap_err().get("quantity"),
                Some(&want),
                "{q}"
            );
        }
        let mut i = good();
        i.insert("quantity".into(), "3".into());
        assert_eq!(Order::validate(&i, &catalogue()).unwrap().quantity, 3);
    }

    #[test]
    fn kpp_follows_the_inn() {
        let mut i = good();
        i.remove("kpp");
        assert_eq!(
            Order::validate(&i, &catalogue()).unwrap_err().get("kpp"),
            Some(&"required")
        );
        i.insert("kpp".into(), "77040100".into());
        assert_eq!(
            Order::validate(&i, &catalogue()).unwrap_err().get("kpp"),
            Some(&"invalid_format")
        );
        // A sole trader (12 digits) has no КПП.
        i.insert("inn".into(), "500100732259".into());
        assert_eq!(
            Order::validate(&i, &catalogue()).unwrap_err().get("kpp"),
            Some(&"not_allowed")
        );
        i.remove("kpp");
        assert!(Order::validate(&i, &catalogue()).is_ok());
    }

    #[test]
    fn issue_computes_dates_in_the_sellers_zone() {
        let o = Order::validate(&good(), &catalogue()).unwrap();
        // 22:30 UTC on 31 Dec is already 1 Jan in Moscow: the invoice belongs to the new year.
        let at = "2026-12-31T22:30:00Z".parse().unwrap();
        let inv = issue(&o, &profile(), "id".into(), 1, at).unwrap();
        assert_eq!(inv.issue_date.to_string(), "2027-01-01");
        assert_eq!(inv.due_date.to_string(), "2027-01-06");
        assert_eq!(inv.number.to_string(), "2027-000001");
        assert_eq!(inv.total, Kopecks(1_200_000));
        assert_eq!(inv.lines[0].vat, VatRate::Percent(22));
        assert_eq!(inv.vat_total(), Kopecks(216_393));
        assert_eq!(inv.pdf_key(), "invoices/2027/01/2027-000001.pdf");
        assert!(inv.payment_purpose().contains("2027-000001"));
        assert_eq!(profile().number_year(at), 2027);
    }
}
