//! Shared test fixtures: the demo billing config and a fixed clock.
#![allow(dead_code)]

use autobill::config::{BillingConfig, ConfigFormat};
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
