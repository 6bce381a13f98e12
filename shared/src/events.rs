//! The domain events autobill announces (through the outbox, then EventBridge, then webhooks):
//! `{"id": "evt_…", "type", "timestamp", "data": {…}}`. The id is stable across every retry.

use crate::domain::subscription::Extension;
use crate::domain::{Invoice, Kopecks};
use crate::payments::PaymentNotice;
use crate::ports::OutboxEvent;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

fn event(kind: &str, at: DateTime<Utc>, data: Value) -> OutboxEvent {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let detail = json!({ "id": id, "type": kind, "timestamp": at.to_rfc3339(), "data": data });
    OutboxEvent {
        id,
        kind: kind.to_owned(),
        at,
        detail,
    }
}

fn invoice_data(invoice: &Invoice) -> Value {
    let mut data = json!({
        "invoice_id": invoice.id,
        "number": invoice.number.to_string(),
        "account": invoice.account,
        "plan": invoice.plan,
        "quantity": invoice.quantity,
        "total": invoice.total.0,
        "currency": invoice.currency,
        "due_date": invoice.due_date.to_string(),
        "buyer": {"name": invoice.buyer.name, "inn": invoice.buyer.inn, "email": invoice.buyer.email},
    });
    if let Some(p) = invoice.period {
        data["period_start"] = json!(p.start.to_string());
        data["period_end"] = json!(p.end.to_string());
    }
    data
}

pub fn invoice_issued(invoice: &Invoice, at: DateTime<Utc>) -> OutboxEvent {
    event("invoice.issued", at, invoice_data(invoice))
}

pub fn invoice_paid(invoice: &Invoice, payment: &PaymentNotice, at: DateTime<Utc>) -> OutboxEvent {
    let mut data = invoice_data(invoice);
    data["paid_at"] = json!(at.to_rfc3339());
    data["payment"] = json!({"provider": payment.provider, "id": payment.payment_id});
    event("invoice.paid", at, data)
}

/// A bank transfer paid part of it: `amount_paid` so far, `balance_due` left.
pub fn invoice_partially_paid(
    invoice: &Invoice,
    payment: &PaymentNotice,
    paid: Kopecks,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let mut data = invoice_data(invoice);
    data["amount_paid"] = json!(paid.0);
    data["balance_due"] = json!(invoice.balance_after(paid).0);
    data["payment"] = json!({"provider": payment.provider, "id": payment.payment_id, "amount": payment.amount.0});
    event("invoice.partially_paid", at, data)
}

pub fn invoice_needs_review(invoice: &Invoice, payment: &PaymentNotice, at: DateTime<Utc>) -> OutboxEvent {
    let mut data = invoice_data(invoice);
    data["payment"] = json!({
        "provider": payment.provider, "id": payment.payment_id,
        "amount": payment.amount.0, "currency": payment.currency,
    });
    event("invoice.needs_review", at, data)
}

pub fn subscription_activated(invoice: &Invoice, extension: &Extension, at: DateTime<Utc>) -> OutboxEvent {
    event(
        "subscription.activated",
        at,
        json!({
            "account": invoice.account,
            "plan": invoice.plan,
            "period_start": extension.after.start.to_string(),
            "period_end": extension.after.end.to_string(),
            "invoice_id": invoice.id,
            "number": invoice.number.to_string(),
        }),
    )
}

/// An unpaid subscription closed after its grace period: the vendor closes access.
pub fn subscription_expired(
    subscription: &crate::ports::SubscriptionRecord,
    expired_on: chrono::NaiveDate,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let renewal = subscription.current_renewal();
    event(
        "subscription.expired",
        at,
        json!({
            "account": subscription.account,
            "plan": subscription.plan,
            "period_start": subscription.period.start.to_string(),
            "period_end": subscription.period.end.to_string(),
            "expired_on": expired_on.to_string(),
            "renewal_invoice_id": renewal.map(|r| r.invoice_id.clone()),
        }),
    )
}

/// An operator voided the invoice, or refused its mismatched payment (`refund_needed`, with the
/// payment to return when it is on file).
pub fn invoice_voided(
    invoice: &Invoice,
    actor: &str,
    reason: &str,
    refund_needed: bool,
    payment: Option<&PaymentNotice>,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let mut data = invoice_data(invoice);
    data["voided_at"] = json!(at.to_rfc3339());
    data["voided_by"] = json!(actor);
    data["reason"] = json!(reason);
    data["refund_needed"] = json!(refund_needed);
    if let Some(p) = payment {
        data["payment"] = json!({
            "provider": p.provider, "id": p.payment_id, "amount": p.amount.0, "currency": p.currency,
        });
    }
    event("invoice.voided", at, data)
}

/// Paid by an operator's decision (money seen outside a provider, or a reviewed payment
/// accepted): the same `invoice.paid` as after a callback, saying who decided.
pub fn invoice_marked_paid(
    invoice: &Invoice,
    payment: &PaymentNotice,
    actor: &str,
    reference: Option<&str>,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let mut paid = invoice_paid(invoice, payment, at);
    paid.detail["data"]["marked_by"] = json!(actor);
    if let Some(r) = reference {
        paid.detail["data"]["payment"]["reference"] = json!(r);
    }
    paid
}

/// An operator e-mailed the invoice's documents again.
pub fn invoice_documents_resent(
    invoice: &Invoice,
    to: &str,
    mail: &str,
    message_id: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let mut data = invoice_data(invoice);
    data["to"] = json!(to);
    data["mail"] = json!(mail);
    data["message_id"] = json!(message_id);
    data["sent_by"] = json!(actor);
    event("invoice.documents_resent", at, data)
}
