//! Exact money parsing for callbacks, plus the small helpers the adapters share: constant-time
//! comparison, a strict form decoder and JSON scalar text. No floats anywhere.

use crate::domain::Kopecks;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// An exact decimal string (`"1200"`, `"1200.5"`, `"1200.50"`, `"10.000000"`) as kopecks.
///
/// ASCII digits only, an optional `.` followed by at least one digit; digits beyond the second
/// decimal must be zeros. No sign, exponent, spaces or non-ASCII digits. `None` on overflow.
pub fn to_kopecks(s: &str) -> Option<Kopecks> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut roubles: i64 = 0;
    for b in int.bytes() {
        roubles = roubles.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let mut kopecks: i64 = 0;
    if let Some(frac) = frac {
        let digits = frac.as_bytes();
        if digits.is_empty() || !digits.iter().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digit = |i: usize| digits.get(i).map_or(0, |b| i64::from(b - b'0'));
        kopecks = digit(0) * 10 + digit(1);
        if digits.iter().skip(2).any(|&b| b != b'0') {
            return None;
        }
    }
    roubles.checked_mul(100)?.checked_add(kopecks).map(Kopecks)
}

/// Minor units given as an integer: a JSON integer or a string of ASCII digits. Never negative.
pub(crate) fn minor_units(value: &Value) -> Option<Kopecks> {
    match value {
        Value::Number(n) => n.as_i64().filter(|k| *k >= 0).map(Kopecks),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok().map(Kopecks),
        _ => None,
    }
}

/// The text of a raw JSON scalar exactly as sent: strings unquoted, numbers and booleans as
/// written (no float ever sees an amount), `null`, objects and arrays as `None`.
pub(crate) fn raw_text(raw: &serde_json::value::RawValue) -> Option<String> {
    let text = raw.get().trim();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b'{' | b'[' | b'n' => None,
        _ => Some(text.to_owned()),
    }
}

/// The text of a JSON scalar: strings as they are, numbers as their JSON text, booleans as
/// `true`/`false`. `None` for null, objects and arrays.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Equality whose time depends only on the lengths, never on where the inputs differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `application/x-www-form-urlencoded` decoded strictly: `+` is a space, percent-escapes must
/// decode to UTF-8, and a repeated name is an error (no guessing which one counts).
pub(crate) fn parse_form(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name)?;
        let value = decode_component(value)?;
        match out.entry(name) {
            Entry::Vacant(slot) => {
                slot.insert(value);
            }
            Entry::Occupied(slot) => return Err(format!("repeated parameter {:?}", slot.key())),
        }
    }
    Ok(out)
}

fn decode_component(s: &str) -> Result<String, String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "parameter is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_exact_decimals() {
        assert_eq!(to_kopecks("1200"), Some(Kopecks(120_000)));
        assert_eq!(to_kopecks("1200.5"), Some(Kopecks(120_050)));
        assert_eq!(to_kopecks("1200.50"), Some(Kopecks(120_050)));
        assert_eq!(to_kopecks("1200.05"), Some(Kopecks(120_005)));
        assert_eq!(to_kopecks("10.000000"), Some(Kopecks(1_000)));
        assert_eq!(to_kopecks("0.01"), Some(Kopecks(1)));
        assert_eq!(to_kopecks("0"), Some(Kopecks(0)));
        assert_eq!(to_kopecks("007.10"), Some(Kopecks(710)));
        assert_eq!(to_kopecks("92233720368547758.07"), Some(Kopecks(i64::MAX)));
        assert_eq!(
            to_kopecks("92233720368547758"),
            Some(Kopecks(9_223_372_036_854_775_800))
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "1.005",
            "1.001",
            "-1",
            "+1",
            "",
            ".",
            ".5",
            "5.",
            "1e3",
            "1E3",
            "1,5",
            "1.2.3",
            "١٢",
            "１２",
            " 12",
            "12 ",
            "NaN",
            "inf",
            "0x10",
            "92233720368547758.08",
            "92233720368547759",
            "99999999999999999999999",
        ] {
            assert_eq!(to_kopecks(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn json_amount_shapes_are_exact() {
        // Raw JSON text, as the adapters read it: the exact digits, never a float.
        let raw: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> = serde_json::from_str(
            r#"{"a":1200.50,"b":"1200.00","c":1.005,"d":-5,"e":12345678901234567.89,"f":null,"g":[1],"h":1e3}"#,
        )
        .unwrap();
        let amount = |k: &str| raw_text(&raw[k]).and_then(|t| to_kopecks(&t));
        assert_eq!(amount("a"), Some(Kopecks(120_050)));
        assert_eq!(amount("b"), Some(Kopecks(120_000)));
        assert_eq!(amount("c"), None);
        assert_eq!(amount("d"), None);
        // 17 significant digits: an f64 would have rounded this.
        assert_eq!(amount("e"), Some(Kopecks(1_234_567_890_123_456_789)));
        assert_eq!((amount("f"), amount("g"), amount("h")), (None, None, None));

        assert_eq!(minor_units(&json!(120_000)), Some(Kopecks(120_000)));
        assert_eq!(minor_units(&json!("120000")), Some(Kopecks(120_000)));
        assert_eq!(minor_units(&json!(1200.0)), None);
        assert_eq!(minor_units(&json!(-1)), None);
        assert_eq!(minor_units(&json!("12.00")), None);
        assert_eq!(minor_units(&json!(u64::MAX)), None);
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn form_is_strict() {
        let f = parse_form("OutSum=10.000000&InvId=2026000123&Shp_a=x+y%2Bz&EMail=a%40b.ru&&flag").unwrap();
        assert_eq!(f["OutSum"], "10.000000");
        assert_eq!(f["Shp_a"], "x y+z");
        assert_eq!(f["EMail"], "a@b.ru");
        assert_eq!(f["flag"], "");
        assert_eq!(parse_form("a=%D0%B6").unwrap()["a"], "ж");
        assert!(parse_form("a=%FF").is_err());
        assert!(parse_form("a=1&a=2").is_err());
    }
}
