//! Money as integer kopecks. Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Mul};

/// An amount in kopecks (1/100 of a rouble). Invoices never hold negative amounts,
/// but the type is signed so that differences can be represented honestly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kopecks(pub i64);

impl Kopecks {
    pub const ZERO: Kopecks = Kopecks(0);

    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    pub fn roubles(self) -> i64 {
        self.0 / 100
    }

    pub fn kopecks_part(self) -> i64 {
        (self.0 % 100).abs()
    }

    pub fn checked_mul(self, n: u32) -> Option<Kopecks> {
        self.0.checked_mul(i64::from(n)).map(Kopecks)
    }

    /// `12 000,00` — the Russian accounting format: space-grouped roubles, comma, two digits.
    pub fn display_ru(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let roubles = (self.0 / 100).unsigned_abs().to_string();
        let mut grouped = String::with_capacity(roubles.len() + roubles.len() / 3);
        for (i, ch) in roubles.chars().enumerate() {
            if i > 0 && (roubles.len() - i).is_multiple_of(3) {
                grouped.push(' ');
            }
            grouped.push(ch);
        }
        format!("{sign}{grouped},{:02}", self.kopecks_part())
    }

    /// `12000.00` — the dotted decimal many payment systems and banks expect.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", (self.0 / 100).unsigned_abs(), self.kopecks_part())
    }
}

impl Add for Kopecks {
    type Output = Kopecks;
    fn add(self, rhs: Kopecks) -> Kopecks {
        Kopecks(self.0 + rhs.0)
    }
}

impl Mul<i64> for Kopecks {
    type Output = Kopecks;
    fn mul(self, rhs: i64) -> Kopecks {
        Kopecks(self.0 * rhs)
    }
}

impl std::iter::Sum for Kopecks {
    fn sum<I: Iterator<Item = Kopecks>>(iter: I) -> Kopecks {
        iter.fold(Kopecks::ZERO, Add::add)
    }
}

impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_ru())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_russian_accounting_style() {
        assert_eq!(Kopecks(0).display_ru(), "0,00");
        assert_eq!(Kopecks(5).display_ru(), "0,05");
        assert_eq!(Kopecks(1_200_000).display_ru(), "12 000,00");
        assert_eq!(Kopecks(123_456_789).display_ru(), "1 234 567,89");
        assert_eq!(Kopecks(100_000).display_ru(), "1 000,00");
        assert_eq!(Kopecks(99_999).display_ru(), "999,99");
        assert_eq!(Kopecks(1_200_000).decimal(), "12000.00");
        assert_eq!(Kopecks(-150).decimal(), "-1.50");
    }
}
