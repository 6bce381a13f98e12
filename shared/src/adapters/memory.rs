//! In-memory implementations of the ports with the same conditional semantics as the AWS
//! adapters: the test double for services and routers, and a way to count what was written.

use crate::domain::{Invoice, Status};
use crate::payments::PaymentNotice;
use crate::ports::{
    DocumentStore, EventBus, IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader, OutboxEvent, OutboxStore,
    PaymentStore, Recorded, StoreError,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default, Debug)]
struct State {
    invoices: HashMap<String, Invoice>,
    counters: HashMap<(String, i32), u64>,
    claims: HashMap<String, IdempotencyClaim>,
    documents: HashMap<String, Vec<u8>>,
    numbers: HashMap<String, String>,
    /// (provider, payment id) → outcome
    payments: HashMap<(String, String), &'static str>,
    /// event, sent?
    outbox: Vec<(OutboxEvent, bool)>,
    published: Vec<OutboxEvent>,
}

/// One shared state behind both ports; clones see the same data.
#[derive(Clone, Default, Debug)]
pub struct MemoryStore(Arc<Mutex<State>>);

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn invoice_count(&self) -> usize {
        self.with(|s| s.invoices.len())
    }

    pub fn document_count(&self) -> usize {
        self.with(|s| s.documents.len())
    }

    pub fn counter(&self, prefix: &str, year: i32) -> u64 {
        self.with(|s| s.counters.get(&(prefix.to_owned(), year)).copied().unwrap_or(0))
    }

    pub fn document(&self, key: &str) -> Option<Vec<u8>> {
        self.with(|s| s.documents.get(key).cloned())
    }

    pub fn payments(&self) -> Vec<((String, String), &'static str)> {
        self.with(|s| s.payments.iter().map(|(k, v)| (k.clone(), *v)).collect())
    }

    pub fn outbox(&self) -> Vec<(OutboxEvent, bool)> {
        self.with(|s| s.outbox.clone())
    }

    /// What the in-memory event bus received.
    pub fn published(&self) -> Vec<OutboxEvent> {
        self.with(|s| s.published.clone())
    }

    fn record(&self, payment: &PaymentNotice, outcome: &'static str) -> bool {
        let key = (payment.provider.to_owned(), payment.payment_id.clone());
        self.with(|s| match s.payments.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(outcome);
                true
            }
        })
    }

    pub fn remove_document(&self, key: &str) {
        self.with(|s| s.documents.remove(key));
    }
}

impl InvoiceReader for MemoryStore {
    async fn get_invoice(&self, id: &str) -> Result<Option<Invoice>, StoreError> {
        Ok(self.with(|s| s.invoices.get(id).cloned()))
    }
}

impl InvoiceIssuer for MemoryStore {
    async fn last_seq(&self, prefix: &str, year: i32) -> Result<u64, StoreError> {
        Ok(self.counter(prefix, year))
    }

    async fn insert_issued(
        &self,
        invoice: &Invoice,
        event: &OutboxEvent,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<(), InsertError> {
        self.with(|s| {
            let n = &invoice.number;
            let key = (n.prefix.clone(), n.year);
            if s.counters.get(&key).copied().unwrap_or(0) + 1 != n.seq {
                return Err(InsertError::NumberTaken);
            }
            let now = invoice.created_at.timestamp();
            if let Some(c) = claim
                && s.claims.get(&c.key).is_some_and(|old| old.expires_at >= now)
            {
                return Err(InsertError::KeyClaimed);
            }
            if s.invoices.contains_key(&invoice.id) {
                return Err(InsertError::Store(StoreError("duplicate invoice id".into())));
            }
            s.counters.insert(key, n.seq);
            s.numbers.insert(n.to_string(), invoice.id.clone());
            s.outbox.push((event.clone(), false));
            s.invoices.insert(invoice.id.clone(), invoice.clone());
            if let Some(c) = claim {
                s.claims.insert(c.key.clone(), c.clone());
            }
            Ok(())
        })
    }

    async fn get_claim(&self, key: &str) -> Result<Option<IdempotencyClaim>, StoreError> {
        Ok(self.with(|s| s.claims.get(key).cloned()))
    }
}

impl DocumentStore for MemoryStore {
    async fn put_pdf(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
        self.with(|s| s.documents.insert(key.to_owned(), pdf));
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.documents.contains_key(key)))
    }

    async fn get_pdf(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.with(|s| s.documents.get(key).cloned()))
    }

    async fn put_file(&self, key: &str, body: Vec<u8>, _: &'static str) -> Result<(), StoreError> {
        self.with(|s| s.documents.insert(key.to_owned(), body));
        Ok(())
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, StoreError> {
        Ok(format!("memory://{key}?expires={}", ttl.as_secs()))
    }
}

impl PaymentStore for MemoryStore {
    async fn invoice_id_by_number(&self, number: &str) -> Result<Option<String>, StoreError> {
        Ok(self.with(|s| s.numbers.get(number).cloned()))
    }

    async fn record_payment(
        &self,
        invoice: &Invoice,
        payment: &PaymentNotice,
        event: &OutboxEvent,
    ) -> Result<Recorded, StoreError> {
        let key = (payment.provider.to_owned(), payment.payment_id.clone());
        Ok(self.with(|s| {
            if s.payments.contains_key(&key) {
                return Recorded::Duplicate;
            }
            let payable = s.invoices.get(&invoice.id).is_some_and(|i| {
                matches!(i.status, Status::Issued | Status::Overdue)
                    && i.total == payment.amount
                    && i.currency == payment.currency
            });
            if !payable {
                s.payments.insert(key, "unapplied");
                return Recorded::Unapplied;
            }
            s.payments.insert(key, "paid");
            if let Some(i) = s.invoices.get_mut(&invoice.id) {
                i.status = Status::Paid;
            }
            s.outbox.push((event.clone(), false));
            Recorded::Applied
        }))
    }

    async fn record_mismatch(
        &self,
        invoice: &Invoice,
        payment: &PaymentNotice,
        event: &OutboxEvent,
    ) -> Result<Recorded, StoreError> {
        if !self.record(payment, "mismatch") {
            return Ok(Recorded::Duplicate);
        }
        Ok(self.with(|s| match s.invoices.get_mut(&invoice.id) {
            Some(i) if matches!(i.status, Status::Issued | Status::Overdue) => {
                i.status = Status::NeedsReview;
                s.outbox.push((event.clone(), false));
                Recorded::Applied
            }
            _ => Recorded::Unapplied,
        }))
    }

    async fn record_unapplied(
        &self,
        payment: &PaymentNotice,
        _invoice_id: &str,
        _at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        Ok(if self.record(payment, "unapplied") {
            Recorded::Unapplied
        } else {
            Recorded::Duplicate
        })
    }
}

impl OutboxStore for MemoryStore {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        Ok(self.with(|s| {
            s.outbox
                .iter()
                .filter(|(_, sent)| !sent)
                .take(limit)
                .map(|(e, _)| e.clone())
                .collect()
        }))
    }

    async fn mark_sent(&self, event_id: &str, _at: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|s| {
            s.outbox
                .iter_mut()
                .filter(|(e, _)| e.id == event_id)
                .for_each(|(_, sent)| *sent = true)
        });
        Ok(())
    }
}

impl EventBus for MemoryStore {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<bool>, StoreError> {
        self.with(|s| s.published.extend(events.iter().cloned()));
        Ok(vec![true; events.len()])
    }
}

/// Webhook endpoints and the delivery log, in memory.
#[derive(Clone, Default, Debug)]
pub struct MemoryWebhooks(Arc<Mutex<(Vec<crate::ports::EndpointRecord>, Vec<crate::ports::AttemptLog>)>>);

impl MemoryWebhooks {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut (Vec<crate::ports::EndpointRecord>, Vec<crate::ports::AttemptLog>)) -> T,
    ) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn log(&self) -> Vec<crate::ports::AttemptLog> {
        self.with(|s| s.1.clone())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut crate::ports::EndpointRecord)) -> Result<(), StoreError> {
        self.with(|s| match s.0.iter_mut().find(|r| r.endpoint.id == id) {
            Some(r) => {
                f(r);
                Ok(())
            }
            None => Err(StoreError(format!("no endpoint {id}"))),
        })
    }
}

impl crate::ports::WebhookStore for MemoryWebhooks {
    async fn endpoints(&self) -> Result<Vec<crate::ports::EndpointRecord>, StoreError> {
        Ok(self.with(|s| s.0.clone()))
    }

    async fn endpoint(&self, id: &str) -> Result<Option<crate::ports::EndpointRecord>, StoreError> {
        Ok(self.with(|s| s.0.iter().find(|r| r.endpoint.id == id).cloned()))
    }

    async fn seed_endpoint(&self, endpoint: &crate::webhooks::Endpoint) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            if s.0.iter().any(|r| r.endpoint.id == endpoint.id) {
                return false;
            }
            s.0.push(crate::ports::EndpointRecord::new(endpoint.clone()));
            true
        }))
    }

    async fn log_attempt(&self, entry: &crate::ports::AttemptLog) -> Result<(), StoreError> {
        self.with(|s| s.1.push(entry.clone()));
        Ok(())
    }

    async fn endpoint_failed(&self, id: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        let mut since = at;
        self.update(id, |r| since = *r.failing_since.get_or_insert(at))?;
        Ok(since)
    }

    async fn endpoint_succeeded(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, |r| r.failing_since = None)
    }

    async fn disable_endpoint(&self, id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(id, |r| {
            r.endpoint.enabled = false;
            r.failing_since = None;
            r.disabled_reason = Some(reason.to_owned());
            r.disabled_at = Some(at);
        })
    }
}
