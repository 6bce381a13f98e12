//! The vendor's plan catalogue (tariffs).

use super::money::Kopecks;
use super::vat::VatCategory;
use serde::{Deserialize, Serialize};

/// The highest price of one period (10 billion roubles). With at most 120 periods, every sum an
/// invoice computes stays far inside i64.
pub const MAX_PRICE: Kopecks = Kopecks(1_000_000_000_000);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Stable id used by forms: `plan=pro`.
    pub id: String,
    /// Shown on the invoice: «Подписка «Pro»…».
    pub title: String,
    /// Price of one period, VAT included, in kopecks.
    pub price: Kopecks,
    pub period_months: u32,
    pub vat: VatCategory,
    /// `prepaid` (the default: renewal invoiced before the period ends) or `postpaid`
    /// (invoiced on the day each period starts, access kept while within payment terms).
    #[serde(default)]
    pub billing: super::subscription::Billing,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Catalogue(pub Vec<Plan>);

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<&Plan> {
        self.0.iter().find(|p| p.id == id)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.0.is_empty() {
            return Err("plans: the catalogue is empty".into());
        }
        for (i, p) in self.0.iter().enumerate() {
            let ok_id = !p.id.is_empty()
                && p.id.len() <= 64
                && p.id
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
            if !ok_id {
                return Err(format!("plans[{i}].id {:?}: use 1-64 of [A-Za-z0-9_-]", p.id));
            }
            if self.0[..i].iter().any(|q| q.id == p.id) {
                return Err(format!("plans[{i}].id {:?}: duplicate", p.id));
            }
            if p.price.0 <= 0 || p.price > MAX_PRICE {
                return Err(format!("plans[{i}].price: 1 to {} kopecks", MAX_PRICE.0));
            }
            if !(1..=36).contains(&p.period_months) {
                return Err(format!("plans[{i}].period_months: 1 to 36"));
            }
            if p.title.trim().is_empty() {
                return Err(format!("plans[{i}].title: required"));
            }
        }
        Ok(())
    }
}
