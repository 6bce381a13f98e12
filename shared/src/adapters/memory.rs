//! In-memory implementations of the ports with the same conditional semantics as the AWS
//! adapters: the test double for services and routers, and a way to count what was written.

use crate::domain::Invoice;
use crate::ports::{DocumentStore, IdempotencyClaim, InsertError, InvoiceIssuer, InvoiceReader, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default, Debug)]
struct State {
    invoices: HashMap<String, Invoice>,
    counters: HashMap<(String, i32), u64>,
    claims: HashMap<String, IdempotencyClaim>,
    documents: HashMap<String, Vec<u8>>,
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

    async fn insert_issued(&self, invoice: &Invoice, claim: Option<&IdempotencyClaim>) -> Result<(), InsertError> {
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

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, StoreError> {
        Ok(format!("memory://{key}?expires={}", ttl.as_secs()))
    }
}
