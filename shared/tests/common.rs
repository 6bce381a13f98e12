//! Shared test fixtures: the demo billing config and a fixed clock.
#![allow(dead_code)]

use autobill::config::{BillingConfig, ConfigFormat};
use autobill::domain::{Order, OrderInput};
use autobill::ports::Clock;
use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, Projection, ProjectionType};
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

/// An environment variable `make test` sets (it starts the local AWS).
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests with `make test`"))
}

/// YooKassa's API is never asked in these tests.
pub struct NoLookup;

impl autobill::ports::PaymentLookup for NoLookup {
    async fn fetch(&self, _: &str) -> Result<Vec<u8>, autobill::ports::StoreError> {
        Err(autobill::ports::StoreError("not configured".into()))
    }
}

/// Pays `invoice` in full through the callback service (the sandbox provider), as of `clock`.
pub async fn pay(
    store: &autobill::adapters::DynamoStore,
    invoice: &autobill::domain::Invoice,
    clock: std::sync::Arc<dyn Clock>,
) {
    use autobill::payments::{Handled, InvoiceRef, PaymentNotice};
    let callbacks = autobill::callbacks::Callbacks::<_, NoLookup> {
        store: store.clone(),
        lookup: None,
        number_prefix: invoice.number.prefix.clone(),
        clock,
    };
    let notice = PaymentNotice {
        provider: "sandbox",
        payment_id: unique("pay-"),
        invoice: InvoiceRef::Id(invoice.id.clone()),
        amount: invoice.total,
        currency: "RUB".into(),
        succeeded: true,
    };
    assert_eq!(callbacks.apply(&notice).await.unwrap(), Handled::Paid);
}

/// Messages the local SES accepted for `to`.
pub async fn mails_to(to: &str) -> Vec<String> {
    let data: serde_json::Value = reqwest::get(format!("{}/_local/ses/raw-messages", env("AWS_ENDPOINT_URL")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
        .filter(|raw| raw.contains(to))
        .collect()
}

/// An e-mail as the customer reads it.
#[derive(Debug)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub attachments: Vec<String>,
}

/// The messages to `to`, decoded.
pub async fn read_mails_to(to: &str) -> Vec<Mail> {
    use mail_parser::{MessageParser, MimeHeaders};
    mails_to(to)
        .await
        .iter()
        .filter_map(|raw| MessageParser::default().parse(raw.as_bytes()))
        .map(|m| Mail {
            subject: m.subject().unwrap_or_default().to_owned(),
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            attachments: m
                .attachments()
                .map(|a| a.attachment_name().unwrap_or_default().to_owned())
                .collect(),
        })
        .collect()
}

/// A fresh table (named after `tag`) with the shared test table's keys and indexes (created
/// from template.yaml), for tests that read a whole index partition.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client, tag: &str) -> String {
    let shape = client
        .describe_table()
        .table_name(env("AUTOBILL_TABLE"))
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let name = unique(tag);
    let indexes = shape
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(i.index_name().unwrap())
                .set_key_schema(Some(i.key_schema().to_vec()))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap()
        })
        .collect();
    client
        .create_table()
        .table_name(&name)
        .set_attribute_definitions(Some(shape.attribute_definitions().to_vec()))
        .set_key_schema(Some(shape.key_schema().to_vec()))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    name
}

/// How many items of one `entity` a table holds (a scan: tests only).
pub async fn count_entity(client: &aws_sdk_dynamodb::Client, table: &str, entity: &str) -> usize {
    let (mut n, mut start) = (0, None);
    loop {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression("entity = :e")
            .expression_attribute_values(":e", aws_sdk_dynamodb::types::AttributeValue::S(entity.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        n += out.items().len();
        start = out.last_evaluated_key;
        if start.is_none() {
            return n;
        }
    }
}
