//! VAT (НДС): categories on plans, rates as data with effective dates, VAT included in a price.

use super::money::Kopecks;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a plan is taxed as. The percentage for a date comes from the [`VatTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatCategory {
    /// The general rate: 20% until 2025, 22% from 2026-01-01 (425-ФЗ).
    Standard,
    /// 10% for certain goods and services.
    Reduced,
    /// 0%.
    Zero,
    /// «Без НДС»: a seller on the simplified regime, or an exempt service.
    None,
}

/// The rate that applies to one line: a percentage, or no VAT at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VatRate {
    Percent(u8),
    Exempt,
}

impl VatRate {
    /// The VAT contained in a VAT-inclusive amount: `total × rate / (100 + rate)`, rounded half up.
    pub fn included_in(self, total: Kopecks) -> Kopecks {
        match self {
            VatRate::Exempt | VatRate::Percent(0) => Kopecks::ZERO,
            VatRate::Percent(rate) => {
                let (t, r) = (i128::from(total.0), i128::from(rate));
                let den = 100 + r;
                let num = t * r;
                // Half up, away from zero.
                let q = (num.abs() * 2 + den) / (2 * den);
                Kopecks((q * num.signum()) as i64)
            }
        }
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VatRate::Percent(p) => write!(f, "{p}%"),
            VatRate::Exempt => f.write_str("none"),
        }
    }
}

impl Serialize for VatRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VatRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "none" {
            return Ok(VatRate::Exempt);
        }
        s.strip_suffix('%')
            .and_then(|p| p.parse::<u8>().ok())
            .filter(|p| *p < 100)
            .map(VatRate::Percent)
            .ok_or_else(|| serde::de::Error::custom(format!("VAT rate {s:?}: expected like \"22%\" or \"none\"")))
    }
}

/// One row of the rate table: from `from` on, `category` is taxed at `rate` percent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatRule {
    pub category: VatCategory,
    pub rate: u8,
    pub from: NaiveDate,
}

/// Rates as data, per seller. The default is Russian law as of 2026.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VatTable(pub Vec<VatRule>);

impl Default for VatTable {
    fn default() -> Self {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
        VatTable(vec![
            VatRule {
                category: VatCategory::Standard,
                rate: 20,
                from: d(2019, 1, 1),
            },
            VatRule {
                category: VatCategory::Standard,
                rate: 22,
                from: d(2026, 1, 1),
            },
            VatRule {
                category: VatCategory::Reduced,
                rate: 10,
                from: d(2004, 1, 1),
            },
            VatRule {
                category: VatCategory::Zero,
                rate: 0,
                from: d(2004, 1, 1),
            },
        ])
    }
}

impl VatTable {
    /// The rate in force on `date`; `None` when the table has no rule for it yet.
    pub fn rate(&self, category: VatCategory, date: NaiveDate) -> Option<VatRate> {
        if category == VatCategory::None {
            return Some(VatRate::Exempt);
        }
        self.0
            .iter()
            .filter(|r| r.category == category && r.from <= date)
            .max_by_key(|r| r.from)
            .map(|r| VatRate::Percent(r.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn vat_included_to_the_kopeck() {
        assert_eq!(VatRate::Percent(22).included_in(Kopecks(1_220_000)), Kopecks(220_000));
        // 12 000,00 × 22 / 122 = 2 163,934… → 2 163,93
        assert_eq!(VatRate::Percent(22).included_in(Kopecks(1_200_000)), Kopecks(216_393));
        // 100,00 × 20 / 120 = 16,666… → 16,67
        assert_eq!(VatRate::Percent(20).included_in(Kopecks(10_000)), Kopecks(1_667));
        // 0,61 × 22 / 122 = 0,11 exactly; 0,06 × 22 / 122 = 0,0108… → 0,01
        assert_eq!(VatRate::Percent(22).included_in(Kopecks(61)), Kopecks(11));
        assert_eq!(VatRate::Percent(22).included_in(Kopecks(6)), Kopecks(1));
        assert_eq!(VatRate::Percent(10).included_in(Kopecks(1_100)), Kopecks(100));
        assert_eq!(VatRate::Percent(0).included_in(Kopecks(1_100)), Kopecks(0));
        assert_eq!(VatRate::Exempt.included_in(Kopecks(1_100)), Kopecks(0));
        assert!(VatRate::Percent(22).included_in(Kopecks(i64::MAX)).0 > 0);
    }

    #[test]
    fn rates_follow_their_effective_dates() {
        let t = VatTable::default();
        assert_eq!(
            t.rate(VatCategory::Standard, date("2025-12-31")),
            Some(VatRate::Percent(20))
        );
        assert_eq!(
            t.rate(VatCategory::Standard, date("2026-01-01")),
            Some(VatRate::Percent(22))
        );
        assert_eq!(
            t.rate(VatCategory::Reduced, date("2026-11-27")),
            Some(VatRate::Percent(10))
        );
        assert_eq!(t.rate(VatCategory::Zero, date("2026-11-27")), Some(VatRate::Percent(0)));
        assert_eq!(t.rate(VatCategory::None, date("2026-11-27")), Some(VatRate::Exempt));
        assert_eq!(t.rate(VatCategory::Standard, date("2010-01-01")), None);
    }

    #[test]
    fn rate_round_trips_as_text() {
        assert_eq!(serde_json::to_string(&VatRate::Percent(22)).unwrap(), "\"22%\"");
        assert_eq!(serde_json::from_str::<VatRate>("\"none\"").unwrap(), VatRate::Exempt);
        assert!(serde_json::from_str::<VatRate>("\"220%\"").is_err());
    }
}
