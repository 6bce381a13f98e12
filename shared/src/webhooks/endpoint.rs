//! What an operator configures per endpoint: where to send, which events (by type and by
//! conditions on the payload), and which fields of the payload to send.

use super::WebhookError;
use super::safety::{UrlPolicy, check_url};
use super::sign::Secret;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Sent whatever `fields` says: the receiver needs them to dedupe, route and order.
const ALWAYS_SENT: [&str; 3] = ["id", "type", "timestamp"];

fn yes() -> bool {
    true
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    /// `whsec_…`; redacted by `Debug`.
    pub secret: String,
    /// Event types wanted; empty or `["*"]` means all.
    #[serde(default)]
    pub events: Vec<String>,
    /// All must hold for an event to be sent.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Payload paths to send (`data.number`, `data.buyer.inn`); empty means the whole event.
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("events", &self.events)
            .field("conditions", &self.conditions)
            .field("fields", &self.fields)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A test on one field of the event: `{"path":"data.total","op":"gte","value":1000000}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Dot-separated path into the event JSON: `data.plan`, `data.buyer.inn`.
    pub path: String,
    pub op: Op,
    pub value: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// JSON equality.
    Eq,
    /// `value` is an array containing the field.
    In,
    /// The field is ≥ `value`: integers (or other numbers), or strings (dates).
    Gte,
    /// The field is ≤ `value`.
    Lte,
}

/// The value at a dot-separated path through nested objects; `None` when any step is missing.
fn lookup<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(event, |node, key| node.as_object()?.get(key))
}

/// A JSON integer, whether it fits i64 or only u64 (serde_json keeps both exactly).
fn integer(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Numbers compare numerically (exactly when both are integers); strings compare as instants
/// when both are RFC 3339 timestamps (so `…Z` and `…+00:00` agree), else lexicographically,
/// which orders ISO dates (`2025-01-31`). Anything else is incomparable.
fn compare(field: &Value, bound: &Value) -> Option<Ordering> {
    match (field, bound) {
        (Value::Number(a), Value::Number(b)) => match (integer(a), integer(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (Value::String(a), Value::String(b)) => Some(
            match (DateTime::parse_from_rfc3339(a), DateTime::parse_from_rfc3339(b)) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.cmp(b),
            },
        ),
        _ => None,
    }
}

impl Condition {
    /// Whether the event passes this condition; a missing field never does.
    pub fn matches(&self, event: &Value) -> bool {
        let Some(field) = lookup(event, &self.path) else {
            return false;
        };
        match self.op {
            Op::Eq => *field == self.value,
            Op::In => self.value.as_array().is_some_and(|values| values.contains(field)),
            Op::Gte => compare(field, &self.value).is_some_and(Ordering::is_ge),
            Op::Lte => compare(field, &self.value).is_some_and(Ordering::is_le),
        }
    }
}

/// `a.b.c`: non-empty segments.
fn valid_path(path: &str) -> bool {
    path.split('.').all(|segment| !segment.is_empty())
}

/// `invoice.paid`: dot-separated words of lowercase letters, digits and `_`, each starting with a letter.
fn valid_event_type(kind: &str) -> bool {
    kind.split('.').all(|word| {
        word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

fn invalid(message: String) -> Result<(), WebhookError> {
    Err(WebhookError::Endpoint(message))
}

impl Endpoint {
    /// Enabled, the event's `type` is wanted, and every condition holds.
    pub fn wants(&self, event: &Value) -> bool {
        self.enabled
            && self.wants_type(event.get("type").and_then(Value::as_str))
            && self.conditions.iter().all(|c| c.matches(event))
    }

    fn wants_type(&self, kind: Option<&str>) -> bool {
        self.events.is_empty()
            || self
                .events
                .iter()
                .any(|wanted| wanted == "*" || Some(wanted.as_str()) == kind)
    }

    /// The event trimmed to `fields` (parents of nested paths kept: `data.buyer.inn` gives
    /// `{"data":{"buyer":{"inn":…}}}`), always with `id`, `type` and `timestamp`. Paths the
    /// event lacks are left out. Empty `fields`: the whole event.
    pub fn payload(&self, event: &Value) -> Value {
        if self.fields.is_empty() {
            return event.clone();
        }
        let mut out = Value::Object(Map::new());
        for path in ALWAYS_SENT.into_iter().chain(self.fields.iter().map(String::as_str)) {
            if let Some(value) = lookup(event, path) {
                insert(&mut out, path, value.clone());
            }
        }
        out
    }

    /// The parsed signing key.
    pub fn signing_secret(&self) -> Result<Secret, WebhookError> {
        Secret::parse(&self.secret)
    }

    /// Everything an operator can get wrong, checked when the endpoint is saved.
    pub fn validate(&self, policy: UrlPolicy) -> Result<(), WebhookError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return invalid(format!(
                "id `{}` must be 1 to 64 characters of letters, digits, `_` and `-`",
                self.id
            ));
        }
        self.signing_secret()?;
        check_url(&self.url, policy)?;
        for kind in &self.events {
            if kind != "*" && !valid_event_type(kind) {
                return invalid(format!(
                    "event type `{kind}` must be `*` or dot-separated lowercase words, like `invoice.paid`"
                ));
            }
        }
        for (i, condition) in self.conditions.iter().enumerate() {
            if !valid_path(&condition.path) {
                return invalid(format!(
                    "conditions[{i}]: path `{}` must be dot-separated field names, like `data.plan`",
                    condition.path
                ));
            }
            match (condition.op, &condition.value) {
                (Op::In, value) if !value.is_array() => {
                    return invalid(format!(
                        "conditions[{i}] ({}): `in` needs an array value",
                        condition.path
                    ));
                }
                (Op::Gte | Op::Lte, value) if !value.is_number() && !value.is_string() => {
                    return invalid(format!(
                        "conditions[{i}] ({}): `gte` and `lte` need a number or a date string",
                        condition.path
                    ));
                }
                _ => {}
            }
        }
        for field in &self.fields {
            if !valid_path(field) {
                return invalid(format!(
                    "field `{field}` must be dot-separated field names, like `data.buyer.inn`"
                ));
            }
        }
        Ok(())
    }
}

/// Sets `path` in `out`, creating parent objects. Parents met on the way are objects: either
/// created here or copied whole from the event, where `lookup` just walked through objects.
fn insert(out: &mut Value, path: &str, value: Value) {
    let mut node = out;
    let mut segments = path.split('.').peekable();
    while let Some(key) = segments.next() {
        let Value::Object(map) = node else {
            return;
        };
        if segments.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        node = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn event() -> Value {
        json!({
            "id": "evt_0190a",
            "type": "invoice.paid",
            "timestamp": "2025-03-01T10:00:00+00:00",
            "data": {
                "invoice_id": "inv_1",
                "number": "ACME-000042",
                "plan": "pro",
                "quantity": 3,
                "total": 1_500_000,
                "currency": "RUB",
                "buyer": {"name": "ООО Ромашка", "inn": "7707083893", "email": "buh@romashka.ru"},
                "paid_at": "2025-03-01T10:00:00+00:00",
                "payment": {"provider": "yookassa", "id": "pay_1"},
                "tags": ["a", "b"],
                "note": null,
            },
        })
    }

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "crm".into(),
            url: "https://hooks.example.com/autobill".into(),
            secret: SECRET.into(),
            events: vec![],
            conditions: vec![],
            fields: vec![],
            enabled: true,
        }
    }

    fn cond(path: &str, op: Op, value: Value) -> Condition {
        Condition {
            path: path.into(),
            op,
            value,
        }
    }

    fn holds(path: &str, op: Op, value: Value) -> bool {
        cond(path, op, value).matches(&event())
    }

    #[test]
    fn deserializes_with_defaults() {
        let minimal: Endpoint = serde_json::from_value(json!({
            "id": "crm",
            "url": "https://hooks.example.com/autobill",
            "secret": SECRET,
        }))
        .unwrap();
        assert_eq!(minimal, endpoint());
        let full: Endpoint = serde_json::from_value(json!({
            "id": "crm",
            "url": "https://hooks.example.com/autobill",
            "secret": SECRET,
            "events": ["invoice.paid"],
            "conditions": [
                {"path": "data.plan", "op": "eq", "value": "pro"},
                {"path": "data.total", "op": "gte", "value": 1_000_000},
                {"path": "data.currency", "op": "in", "value": ["RUB", "USD"]},
                {"path": "data.paid_at", "op": "lte", "value": "2026-01-01"},
            ],
            "fields": ["data.number"],
            "enabled": false,
        }))
        .unwrap();
        assert_eq!(full.conditions[1], cond("data.total", Op::Gte, json!(1_000_000)));
        assert_eq!(full.conditions[2].op, Op::In);
        assert_eq!(full.conditions[3].op, Op::Lte);
        assert!(!full.enabled);
        let back: Endpoint = serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);
        assert!(serde_json::from_value::<Condition>(json!({"path": "a", "op": "gt", "value": 1})).is_err());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!("{:?}", endpoint());
        assert!(!shown.contains("C2FVsBQ"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("hooks.example.com"),
            "{shown}"
        );
        assert!(!format!("{:#?}", endpoint()).contains("C2FVsBQ"));
    }

    #[test]
    fn eq_condition() {
        assert!(holds("data.plan", Op::Eq, json!("pro")));
        assert!(!holds("data.plan", Op::Eq, json!("basic")));
        assert!(!holds("data.plan", Op::Eq, json!("PRO")));
        assert!(holds("data.quantity", Op::Eq, json!(3)));
        assert!(!holds("data.quantity", Op::Eq, json!("3")), "no type coercion");
        assert!(holds("data.buyer.inn", Op::Eq, json!("7707083893")));
        assert!(holds("data.tags", Op::Eq, json!(["a", "b"])));
        assert!(holds("data.note", Op::Eq, Value::Null), "an explicit null is a value");
        assert!(holds("type", Op::Eq, json!("invoice.paid")));
    }

    #[test]
    fn in_condition() {
        assert!(holds("data.plan", Op::In, json!(["basic", "pro"])));
        assert!(!holds("data.plan", Op::In, json!(["basic", "team"])));
        assert!(!holds("data.plan", Op::In, json!([])));
        assert!(holds("data.quantity", Op::In, json!([1, 2, 3])));
        assert!(holds("data.buyer.inn", Op::In, json!(["7707083893"])));
        assert!(!holds("data.plan", Op::In, json!("pro")), "`in` needs an array");
    }

    #[test]
    fn gte_lte_on_integers() {
        assert!(holds("data.total", Op::Gte, json!(1_000_000)));
        assert!(holds("data.total", Op::Gte, json!(1_500_000)));
        assert!(!holds("data.total", Op::Gte, json!(1_500_001)));
        assert!(holds("data.total", Op::Lte, json!(1_500_000)));
        assert!(!holds("data.total", Op::Lte, json!(999)));
        assert!(holds("data.total", Op::Gte, json!(-5)));
        assert!(holds("data.total", Op::Lte, json!(u64::MAX)));
        assert!(holds("data.total", Op::Gte, json!(1_499_999.5)));
        assert!(!holds("data.total", Op::Gte, json!("1000")), "number vs string");
        assert!(!holds("data.plan", Op::Gte, json!(1)), "string vs number");
        assert!(!holds("data.buyer", Op::Gte, json!(1)), "object");
    }

    #[test]
    fn gte_lte_on_dates() {
        assert!(holds("data.paid_at", Op::Gte, json!("2025-03-01")));
        assert!(holds("data.paid_at", Op::Gte, json!("2025-01-01")));
        assert!(!holds("data.paid_at", Op::Gte, json!("2025-03-02")));
        assert!(holds("data.paid_at", Op::Lte, json!("2025-03-02")));
        assert!(!holds("data.paid_at", Op::Lte, json!("2025-02-28")));
        // RFC 3339 timestamps compare as instants, whatever the offset notation.
        assert!(holds("data.paid_at", Op::Gte, json!("2025-03-01T10:00:00Z")));
        assert!(holds("data.paid_at", Op::Lte, json!("2025-03-01T10:00:00Z")));
        assert!(holds("data.paid_at", Op::Gte, json!("2025-03-01T12:59:59+03:00")));
        assert!(!holds("data.paid_at", Op::Gte, json!("2025-03-01T13:00:01+03:00")));
    }

    #[test]
    fn missing_fields_never_match() {
        for op in [Op::Eq, Op::In, Op::Gte, Op::Lte] {
            for value in [Value::Null, json!([Value::Null]), json!(0), json!("")] {
                for path in [
                    "data.discount",
                    "data.buyer.kpp",
                    "data.plan.name",
                    "nope.deeper",
                    "data.tags.0",
                    "",
                ] {
                    assert!(!holds(path, op, value.clone()), "{path} {op:?} {value}");
                }
            }
        }
    }

    #[test]
    fn wants_checks_type_conditions_and_enabled() {
        let ev = event();
        assert!(endpoint().wants(&ev), "no filters: everything");
        let star = Endpoint {
            events: vec!["*".into()],
            ..endpoint()
        };
        assert!(star.wants(&ev));
        let typed = Endpoint {
            events: vec!["subscription.activated".into(), "invoice.paid".into()],
            ..endpoint()
        };
        assert!(typed.wants(&ev));
        let other = Endpoint {
            events: vec!["subscription.activated".into()],
            ..endpoint()
        };
        assert!(!other.wants(&ev));
        assert!(!other.wants(&json!({"id": "x", "data": {}})), "no type");
        let disabled = Endpoint {
            enabled: false,
            ..endpoint()
        };
        assert!(!disabled.wants(&ev));
        let all_hold = Endpoint {
            conditions: vec![
                cond("data.plan", Op::Eq, json!("pro")),
                cond("data.total", Op::Gte, json!(1_000_000)),
            ],
            ..typed.clone()
        };
        assert!(all_hold.wants(&ev));
        let one_fails = Endpoint {
            conditions: vec![
                cond("data.plan", Op::Eq, json!("pro")),
                cond("data.total", Op::Gte, json!(2_000_000)),
            ],
            ..typed
        };
        assert!(!one_fails.wants(&ev));
    }

    #[test]
    fn an_event_matches_one_endpoint_of_two() {
        let pro = Endpoint {
            id: "pro-only".into(),
            conditions: vec![cond("data.plan", Op::Eq, json!("pro"))],
            ..endpoint()
        };
        let big = Endpoint {
            id: "big-amounts".into(),
            conditions: vec![cond("data.total", Op::Gte, json!(10_000_000))],
            ..endpoint()
        };
        let wanting: Vec<&str> = [&pro, &big]
            .into_iter()
            .filter(|e| e.wants(&event()))
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(wanting, ["pro-only"]);
        let mut huge_basic = event();
        huge_basic["data"]["plan"] = json!("basic");
        huge_basic["data"]["total"] = json!(12_000_000);
        let wanting: Vec<&str> = [&pro, &big]
            .into_iter()
            .filter(|e| e.wants(&huge_basic))
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(wanting, ["big-amounts"]);
    }

    #[test]
    fn payload_whole_event_when_no_fields() {
        assert_eq!(endpoint().payload(&event()), event());
    }

    #[test]
    fn payload_trims_to_fields_keeping_parents_and_always_sent_keys() {
        let trimmed = Endpoint {
            fields: vec!["data.number".into(), "data.buyer.inn".into(), "data.total".into()],
            ..endpoint()
        };
        assert_eq!(
            trimmed.payload(&event()),
            json!({
                "id": "evt_0190a",
                "type": "invoice.paid",
                "timestamp": "2025-03-01T10:00:00+00:00",
                "data": {"number": "ACME-000042", "buyer": {"inn": "7707083893"}, "total": 1_500_000},
            })
        );
    }

    #[test]
    fn payload_whole_subtrees_missing_paths_and_overlaps() {
        let fields = |fields: &[&str]| Endpoint {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            ..endpoint()
        };
        let head = json!({"id": "evt_0190a", "type": "invoice.paid", "timestamp": "2025-03-01T10:00:00+00:00"});
        // A missing path is left out, not sent as null; only the always-sent keys remain.
        assert_eq!(
            fields(&["data.discount", "data.plan.name", "nope"]).payload(&event()),
            head
        );
        // A subtree is sent whole, in either order with a path inside it.
        let buyer = json!({"name": "ООО Ромашка", "inn": "7707083893", "email": "buh@romashka.ru"});
        for order in [["data.buyer", "data.buyer.inn"], ["data.buyer.inn", "data.buyer"]] {
            let mut expected = head.clone();
            expected["data"] = json!({"buyer": buyer});
            assert_eq!(fields(&order).payload(&event()), expected, "{order:?}");
        }
        // Explicit nulls and arrays are sent as they are; always-sent keys may be listed too.
        let mut expected = head.clone();
        expected["data"] = json!({"note": null, "tags": ["a", "b"]});
        assert_eq!(
            fields(&["data.note", "data.tags", "id", "type"]).payload(&event()),
            expected
        );
        // Always-sent keys the event lacks are not invented.
        assert_eq!(
            fields(&["data.x"]).payload(&json!({"type": "t", "data": {"x": 1, "y": 2}})),
            json!({"type": "t", "data": {"x": 1}})
        );
    }

    #[test]
    fn validate_accepts_a_good_endpoint() {
        let good = Endpoint {
            id: "crm_Main-1".into(),
            events: vec!["invoice.paid".into(), "subscription.expired".into(), "*".into()],
            conditions: vec![
                cond("data.plan", Op::Eq, json!({"any": "json"})),
                cond("data.currency", Op::In, json!(["RUB"])),
                cond("data.total", Op::Gte, json!(1_000_000)),
                cond("data.paid_at", Op::Lte, json!("2026-01-01")),
            ],
            fields: vec!["data.number".into(), "data.buyer.inn".into()],
            ..endpoint()
        };
        assert_eq!(good.validate(UrlPolicy::Production), Ok(()));
        assert_eq!(endpoint().validate(UrlPolicy::Local), Ok(()));
        let local = Endpoint {
            url: "http://localhost:3000/hook".into(),
            ..endpoint()
        };
        assert_eq!(local.validate(UrlPolicy::Local), Ok(()));
        assert!(local.validate(UrlPolicy::Production).is_err());
        let max_id = Endpoint {
            id: "a".repeat(64),
            ..endpoint()
        };
        assert_eq!(max_id.validate(UrlPolicy::Production), Ok(()));
    }

    #[test]
    fn validate_rejects_each_mistake() {
        let check = |endpoint: Endpoint| endpoint.validate(UrlPolicy::Production).unwrap_err();
        for id in ["", "has space", "slash/", "dot.id", "юникод", &"a".repeat(65)] {
            let err = check(Endpoint {
                id: id.into(),
                ..endpoint()
            });
            assert!(
                matches!(err, WebhookError::Endpoint(ref m) if m.contains("id")),
                "{id}: {err}"
            );
        }
        for secret in ["", "C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_c2hvcnQ="] {
            let err = check(Endpoint {
                secret: secret.into(),
                ..endpoint()
            });
            assert!(matches!(err, WebhookError::Secret(_)), "{secret}: {err}");
        }
        let err = check(Endpoint {
            url: "http://hooks.example.com/".into(),
            ..endpoint()
        });
        assert!(matches!(err, WebhookError::Url(_)), "{err}");
        let err = check(Endpoint {
            url: "https://10.0.0.5/".into(),
            ..endpoint()
        });
        assert!(matches!(err, WebhookError::Address { .. }), "{err}");
        for kind in [
            "",
            "Invoice.Paid",
            "invoice..paid",
            "invoice.",
            ".paid",
            "invoice paid",
            "invoice.*",
            "1nvoice",
        ] {
            let err = check(Endpoint {
                events: vec!["invoice.paid".into(), kind.into()],
                ..endpoint()
            });
            assert!(
                matches!(err, WebhookError::Endpoint(ref m) if m.contains("event type")),
                "{kind:?}: {err}"
            );
        }
        for bad in [
            cond("", Op::Eq, json!(1)),
            cond("data..plan", Op::Eq, json!(1)),
            cond("data.plan.", Op::Eq, json!(1)),
            cond("data.plan", Op::In, json!("pro")),
            cond("data.total", Op::Gte, json!([1])),
            cond("data.total", Op::Lte, Value::Null),
            cond("data.total", Op::Lte, json!(true)),
        ] {
            let err = check(Endpoint {
                conditions: vec![cond("data.plan", Op::Eq, json!("pro")), bad.clone()],
                ..endpoint()
            });
            assert!(
                matches!(err, WebhookError::Endpoint(ref m) if m.contains("conditions[1]")),
                "{bad:?}: {err}"
            );
        }
        for field in ["", "data..number", ".data"] {
            let err = check(Endpoint {
                fields: vec![field.into()],
                ..endpoint()
            });
            assert!(
                matches!(err, WebhookError::Endpoint(ref m) if m.contains("field")),
                "{field:?}: {err}"
            );
        }
    }

    #[test]
    fn signing_secret_parses() {
        assert_eq!(endpoint().signing_secret().unwrap(), Secret::parse(SECRET).unwrap());
    }
}
