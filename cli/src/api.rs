//! The management API's responses, as far as the tables need them (docs/management-api.md).
//! Identity fields are required; everything else may be missing or null, and fields the CLI
//! does not show are ignored, so a server that adds fields does not break it.

use crate::args::Condition;
use serde::Deserialize;
use serde_json::Value;

/// An invoice in a list.
#[derive(Deserialize, Debug)]
pub struct Summary {
    pub number: String,
    pub status: String,
    pub total: i64,
    pub currency: String,
    pub plan: Option<String>,
    pub account: Option<String>,
    pub buyer_name: Option<String>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct InvoicePage {
    pub invoices: Vec<Summary>,
    pub next_cursor: Option<String>,
}

/// The invoice view.
#[derive(Deserialize, Debug)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub status: String,
    pub status_label: Option<String>,
    pub total: i64,
    /// Kopecks bank transfers paid so far (0 unless some did; older servers send none).
    #[serde(default)]
    pub amount_paid: i64,
    /// Kopecks still to pay.
    #[serde(default)]
    pub balance_due: i64,
    pub vat_total: Option<i64>,
    pub currency: String,
    pub amount_in_words: Option<String>,
    pub plan: Option<String>,
    pub quantity: Option<u64>,
    pub account: Option<String>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub pdf_url: Option<String>,
    pub invoice_url: Option<String>,
    pub act_url: Option<String>,
}

/// `GET /admin/invoices/{ref}`.
#[derive(Deserialize, Debug)]
pub struct InvoiceDetail {
    pub invoice: Invoice,
    pub buyer: Option<Buyer>,
    pub period: Option<Period>,
    pub paid_at: Option<String>,
    pub fulfilled_at: Option<String>,
    pub review_reason: Option<String>,
    pub void_reason: Option<String>,
    #[serde(default)]
    pub documents: Vec<Document>,
    #[serde(default)]
    pub history: Vec<HistoryItem>,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

#[derive(Deserialize, Debug)]
pub struct Buyer {
    pub name: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Deserialize, Debug)]
pub struct Document {
    pub kind: String,
    pub key: String,
}

/// One line of an invoice's history; which fields are set depends on `kind` (event, audit,
/// payment, email); a kind this CLI does not know is shown with what it has.
#[derive(Deserialize, Debug)]
pub struct HistoryItem {
    pub kind: String,
    pub at: Option<String>,
    pub event_id: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub audit_id: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub reason: Option<String>,
    pub provider: Option<String>,
    pub payment_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub outcome: Option<String>,
    pub message_id: Option<String>,
    pub to: Option<String>,
    pub mail: Option<String>,
}

/// One webhook delivery attempt.
#[derive(Deserialize, Debug)]
pub struct Delivery {
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub attempt: Option<u64>,
    pub at: Option<String>,
    pub status: Option<u16>,
    pub outcome: Option<String>,
    pub latency_ms: Option<u64>,
}

/// What void, mark-paid and resolve answer.
#[derive(Deserialize, Debug)]
pub struct ActionResult {
    pub invoice: Invoice,
    pub audit_id: Option<String>,
    pub event_id: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Resent {
    pub message_id: Option<String>,
    pub to: Option<String>,
    pub mail: Option<String>,
    pub audit_id: Option<String>,
    pub event_id: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Subscriptions {
    pub subscriptions: Vec<Subscription>,
}

#[derive(Deserialize, Debug)]
pub struct Subscription {
    pub plan: String,
    pub status: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub quantity: Option<u64>,
    pub last_invoice_id: Option<String>,
    pub renewal_invoice_id: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Endpoints {
    pub endpoints: Vec<Endpoint>,
}

#[derive(Deserialize, Debug)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub fields: Vec<String>,
    pub enabled: bool,
    pub secret_hint: Option<String>,
    pub failing_since: Option<String>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<String>,
    /// After a rotation: until when the old secret still signs deliveries.
    #[serde(default)]
    pub previous_secret_until: Option<String>,
    /// Only in the answer to create.
    pub secret: Option<String>,
}

/// `GET /admin/events/{id}`: the event as delivered (any JSON) and its deliveries.
#[derive(Deserialize, Debug)]
pub struct EventDetail {
    pub event: Value,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

#[derive(Deserialize, Debug)]
pub struct Replay {
    pub event_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub attempt: Option<u64>,
    pub status: Option<u16>,
    pub outcome: Option<String>,
    pub delivered: bool,
    pub audit_id: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct AuditEntry {
    pub at: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub reason: Option<String>,
}

/// `POST /statements`: what the import did with each document of the statement.
#[derive(Deserialize, Debug)]
pub struct StatementReport {
    pub statement_id: String,
    pub source_key: Option<String>,
    pub report_key: Option<String>,
    pub account: Option<String>,
    pub period: Option<StatementPeriod>,
    pub summary: Option<StatementSummary>,
    #[serde(default)]
    pub lines: Vec<StatementLine>,
}

#[derive(Deserialize, Debug)]
pub struct StatementPeriod {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct StatementSummary {
    #[serde(default)]
    pub documents: u64,
    #[serde(default)]
    pub applied: u64,
    #[serde(default)]
    pub already_applied: u64,
    #[serde(default)]
    pub review: u64,
    #[serde(default)]
    pub skipped: u64,
}

/// One document of the statement: `applied`, `already_applied`, `review` or `skipped`.
#[derive(Deserialize, Debug)]
pub struct StatementLine {
    pub line: u64,
    pub date: Option<String>,
    pub number: Option<String>,
    pub amount: i64,
    pub outcome: String,
    #[serde(default)]
    pub allocations: Vec<StatementAllocation>,
    #[serde(default)]
    pub excess: i64,
    pub reason: Option<String>,
}

/// One invoice's share of a transfer, and where it left the invoice.
#[derive(Deserialize, Debug)]
pub struct StatementAllocation {
    pub number: String,
    pub amount: i64,
    pub status: Option<String>,
    pub balance_due: Option<i64>,
}
