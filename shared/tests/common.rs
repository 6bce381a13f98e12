//! Shared test fixtures: the demo billing config and a fixed clock.
#![allow(dead_code)]

use autobill::config::{BillingConfig, ConfigFormat};
use autobill::domain::{Order, OrderInput};
use autobill::ports::Clock;
use chrono::{DateTime, Utc};

pub fn billing(prefix: &str) -> BillingConfig {
    let mut cfg = BillingConfig::parse(include_str!("../../infra/local/config.toml"), ConfigFormat::Toml).unwrap();
    cfg.seller.number_prefix = prefix.to_owned();
    cfg
}

pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

pub fn at(s: &str) -> FixedClock {
    FixedClock(s.parse().unwrap())
}

/// A unique string per call, for keys and prefixes that must not collide across tests.
pub fn unique(tag: &str) -> String {
    format!("{tag}{}", uuid::Uuid::now_v7().simple())
}

/// A valid order for the demo plan `start` (12 000,00 incl. VAT).
pub fn order() -> Order {
    let input: OrderInput = [
        ("plan", "start"),
        ("company", "ООО «Ромашка»"),
        ("inn", "7736207543"),
        ("kpp", "770401001"),
        ("address", "Москва"),
        ("email", "buh@romashka.example"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Order::validate(&input, &billing("").plans).unwrap()
}
