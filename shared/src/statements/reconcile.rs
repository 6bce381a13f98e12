//! Applying a statement. Every incoming transfer to our account is matched to the invoices its
//! purpose names and applied once, through payment records like the callbacks' (provider
//! `bank`), so fulfilment, webhooks and the rest follow as after a card payment. What cannot be
//! applied safely goes to an operator with the reason. Each statement gets a CSV report.

use super::matching::{allocate, invoice_numbers};
use super::parse::{Document, ParseError, parse};
use crate::domain::{Invoice, Kopecks, Status};
use crate::payments::{InvoiceRef, PaymentNotice};
use crate::ports::{
    AdminStore, AuditEntry, Clock, DocumentStore, Recorded, StoreError, Transfer, TransferShare, TransferStore,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The payment provider name of bank transfers.
pub const BANK: &str = "bank";
/// Times a transfer is planned again when its invoices moved meanwhile (another transfer).
const ATTEMPTS: u32 = 4;
/// More invoices than this in one purpose are for an operator: one transaction takes a transfer
/// with its shares (1 + 3 each of DynamoDB's 100 actions), and a list that long is unusual.
pub const MAX_INVOICES_PER_TRANSFER: usize = 30;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("malformed statement: {0}")]
    Malformed(ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Paid into its invoices now.
    Applied,
    /// Applied or queued from an earlier statement: nothing done twice.
    AlreadyApplied,
    /// Queued for an operator, with the reason.
    Review,
    /// Not an incoming transfer to our account.
    Skipped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyApplied => "already_applied",
            Outcome::Review => "review",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One invoice's share of a transfer, and where it left the invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocated {
    pub invoice_id: String,
    pub number: String,
    pub amount: Kopecks,
    pub status: Status,
    pub balance_due: Kopecks,
}

/// What happened to one document of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub line: usize,
    pub date: NaiveDate,
    pub number: String,
    pub payer_inn: Option<String>,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
    pub amount: Kopecks,
    pub purpose: String,
    pub outcome: Outcome,
    pub allocations: Vec<Allocated>,
    /// Paid beyond the invoices' balances (recorded on the last one as `overpaid`).
    pub excess: Kopecks,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub documents: usize,
    pub applied: usize,
    pub already_applied: usize,
    pub review: usize,
    pub skipped: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The reconciliation of one statement (also written as CSV to `report_key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub statement_id: String,
    pub source_key: String,
    pub report_key: String,
    pub account: Option<String>,
    pub period: Period,
    pub summary: Summary,
    pub lines: Vec<Line>,
}

/// One CSV field: quoted when it must be, and a text a spreadsheet would run as a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a CR: a payer wrote the purpose) made inert with `'`.
fn csv_field(value: &str) -> String {
    let value = match value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{value}"),
        false => value.to_owned(),
    };
    // `;` and tabs too: spreadsheets in Russian locales split on `;`.
    if value.contains([',', ';', '\t', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

impl Report {
    /// One row per invoice share; a document without shares gets one row. Amounts as `1234.56`.
    pub fn to_csv(&self) -> String {
        // A BOM, so that spreadsheets read the Cyrillic as UTF-8.
        let mut out = String::from(
            "\u{feff}line,date,number,payer_inn,payer_name,payer_account,amount,purpose,outcome,invoice,allocated,status_after,balance_due,excess,reason\r\n",
        );
        for l in &self.lines {
            let head = [
                l.line.to_string(),
                l.date.to_string(),
                l.number.clone(),
                l.payer_inn.clone().unwrap_or_default(),
                l.payer_name.clone().unwrap_or_default(),
                l.payer_account.clone().unwrap_or_default(),
                l.amount.decimal(),
                l.purpose.clone(),
                l.outcome.as_str().to_owned(),
            ];
            let tail = |excess: Kopecks| [excess.decimal(), l.reason.clone().unwrap_or_default()];
            let rows: Vec<[String; 5]> = match l.allocations.as_slice() {
                [] => vec![[
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]],
                shares => shares
                    .iter()
                    .map(|a| {
                        [
                            a.number.clone(),
                            a.amount.decimal(),
                            a.status.as_str().to_owned(),
                            a.balance_due.decimal(),
                            String::new(),
                        ]
                    })
                    .collect(),
            };
            for (i, row) in rows.iter().enumerate() {
                // The excess once, on the share that took it (the last).
                let excess = if i + 1 == rows.len() { l.excess } else { Kopecks::ZERO };
                let fields: Vec<String> = head.iter().chain(&row[..4]).cloned().chain(tail(excess)).collect();
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
        }
        out
    }
}

/// A malformed statement's report: the one reason it was refused.
pub fn rejected_csv(error: &ParseError) -> String {
    format!(
        "\u{feff}line,outcome,reason\r\n{},rejected,{}\r\n",
        error.line,
        csv_field(&error.reason)
    )
}

/// `sha256` of the file, shortened: the same file is the same statement.
pub fn statement_id(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..12])
}

/// The same transfer in overlapping statements: its date, then a digest of its number, payer
/// (ИНН and account) and amount, so that no two transfers share an id by a character dropped.
fn transfer_id(doc: &Document) -> String {
    let fields = [
        doc.number.as_str(),
        doc.payer_inn.as_deref().unwrap_or(""),
        doc.payer_account.as_deref().unwrap_or(""),
        &doc.amount.0.to_string(),
    ];
    let digest = Sha256::digest(fields.join("\u{1f}").as_bytes());
    format!("{}-{}", doc.date.format("%Y%m%d"), hex::encode(&digest[..10]))
}

/// Where a statement's report goes: one per import, so a second import does not hide the first.
fn report_key(statement_id: &str, at: DateTime<Utc>) -> String {
    format!("reports/statements/{statement_id}-{}.csv", at.format("%Y%m%dT%H%M%SZ"))
}

enum Plan {
    Review(String),
    Apply(Vec<Invoice>),
}

pub struct Reconciler<S, D> {
    pub store: S,
    pub documents: D,
    pub clock: Arc<dyn Clock>,
    /// The seller's settlement account: only transfers to it are ours.
    pub account: String,
    pub number_prefix: String,
}

impl<S: TransferStore + AdminStore, D: DocumentStore> Reconciler<S, D> {
    /// An operator's upload: kept under `uploads/statements/`, applied, and audited under the
    /// operator's name.
    pub async fn import_upload(&self, bytes: &[u8], actor: &str) -> Result<Report, ImportError> {
        let statement = parse(bytes).map_err(ImportError::Malformed)?;
        let id = statement_id(bytes);
        let key = format!("uploads/statements/{}/{id}.txt", self.clock.now().format("%Y/%m"));
        self.documents.put_file(&key, bytes.to_vec(), "text/plain").await?;
        let report = self.apply(statement, id, key).await?;
        let details = serde_json::json!({"report_key": report.report_key, "summary": report.summary});
        let entry = AuditEntry::new(
            self.clock.now(),
            actor,
            "statement.import",
            format!("statement:{}", report.statement_id),
            None,
            details,
        );
        self.store.record_action(&entry, None).await?;
        Ok(report)
    }

    /// A file put under `statements/` (the S3 trigger). A malformed one gets a report that says
    /// why, and nothing is applied.
    pub async fn import_object(&self, key: &str) -> Result<Option<Report>, ImportError> {
        let Some(bytes) = self.documents.get_pdf(key).await? else {
            return Ok(None);
        };
        let id = statement_id(&bytes);
        match parse(&bytes) {
            Ok(statement) => Ok(Some(self.apply(statement, id, key.to_owned()).await?)),
            Err(e) => {
                tracing::error!(key, line = e.line, reason = %e.reason, "statement refused: nothing applied");
                crate::metrics::count("StatementsRejected", BANK);
                let report = report_key(&id, self.clock.now());
                self.documents
                    .put_file(&report, rejected_csv(&e).into_bytes(), "text/csv; charset=utf-8")
                    .await?;
                Err(ImportError::Malformed(e))
            }
        }
    }

    async fn apply(
        &self,
        statement: super::parse::Statement,
        statement_id: String,
        source_key: String,
    ) -> Result<Report, ImportError> {
        let mut lines = Vec::with_capacity(statement.documents.len());
        for doc in &statement.documents {
            lines.push(self.apply_document(doc, &statement_id).await?);
        }
        let count = |o: Outcome| lines.iter().filter(|l| l.outcome == o).count();
        let summary = Summary {
            documents: lines.len(),
            applied: count(Outcome::Applied),
            already_applied: count(Outcome::AlreadyApplied),
            review: count(Outcome::Review),
            skipped: count(Outcome::Skipped),
        };
        crate::metrics::count_n("BankTransfersApplied", BANK, summary.applied);
        crate::metrics::count_n("BankTransfersForReview", BANK, summary.review);
        let report = Report {
            report_key: report_key(&statement_id, self.clock.now()),
            statement_id,
            source_key,
            account: statement.accounts.first().cloned(),
            period: Period {
                from: statement.date_from,
                to: statement.date_to,
            },
            summary,
            lines,
        };
        self.documents
            .put_file(
                &report.report_key,
                report.to_csv().into_bytes(),
                "text/csv; charset=utf-8",
            )
            .await?;
        tracing::info!(
            statement = %report.statement_id, source = %report.source_key, applied = report.summary.applied,
            already_applied = report.summary.already_applied, review = report.summary.review,
            skipped = report.summary.skipped, "statement reconciled"
        );
        Ok(report)
    }

    async fn apply_document(&self, doc: &Document, statement_id: &str) -> Result<Line, StoreError> {
        let mut line = Line {
            line: doc.line,
            date: doc.date,
            number: doc.number.clone(),
            payer_inn: doc.payer_inn.clone(),
            payer_name: doc.payer_name.clone(),
            payer_account: doc.payer_account.clone(),
            amount: doc.amount,
            purpose: doc.purpose.clone(),
            outcome: Outcome::Skipped,
            allocations: vec![],
            excess: Kopecks::ZERO,
            reason: None,
        };
        if doc.payee_account.as_deref() != Some(self.account.as_str()) {
            line.reason = Some(match doc.payer_account.as_deref() == Some(self.account.as_str()) {
                true => "outgoing: paid from our account".into(),
                false => "not to our account".into(),
            });
            return Ok(line);
        }
        let transfer = Transfer {
            id: transfer_id(doc),
            date: doc.date,
            number: doc.number.clone(),
            payer_inn: doc.payer_inn.clone(),
            payer_name: doc.payer_name.clone(),
            payer_account: doc.payer_account.clone(),
            amount: doc.amount,
            purpose: doc.purpose.clone(),
            statement_id: statement_id.to_owned(),
            line: doc.line,
        };
        if self.store.transfer_seen(&transfer.id).await? {
            line.outcome = Outcome::AlreadyApplied;
            line.reason = Some("in an earlier statement".into());
            return Ok(line);
        }
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let invoices = match self.plan(doc).await? {
                Plan::Review(reason) => return self.review(line, &transfer, reason).await,
                Plan::Apply(invoices) => invoices,
            };
            let now = self.clock.now();
            let dues: Vec<Kopecks> = invoices.iter().map(Invoice::balance_due).collect();
            let split = allocate(doc.amount, &dues);
            let last = split.allocations.len().saturating_sub(1);
            let shares: Vec<TransferShare<'_>> = split
                .allocations
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let invoice = &invoices[a.index];
                    // An overpayment stays with the last invoice the transfer paid into.
                    let amount = if i == last { a.amount + split.excess } else { a.amount };
                    share(invoice, &transfer, amount, now)
                })
                .collect();
            match self
                .store
                .record_transfer(&transfer, &shares, split.excess, now)
                .await?
            {
                Recorded::Applied => {
                    for s in &shares {
                        let paid = s.invoice.status_after(s.paid_after) == Status::Paid;
                        tracing::info!(
                            transfer = %transfer.id, invoice = %s.invoice.id, number = %s.invoice.number,
                            amount = s.payment.amount.0, paid, "bank transfer applied"
                        );
                        if paid {
                            crate::metrics::count("PaymentsRecorded", BANK);
                        }
                    }
                    line.outcome = Outcome::Applied;
                    line.excess = split.excess;
                    line.allocations = shares.iter().map(allocated).collect();
                    return Ok(line);
                }
                Recorded::Duplicate => {
                    line.outcome = Outcome::AlreadyApplied;
                    line.reason = Some("in an earlier statement".into());
                    return Ok(line);
                }
                // An invoice moved meanwhile (another transfer, a card payment): plan again.
                Recorded::Unapplied => continue,
            }
        }
        // Not a question for an operator: the import fails, and is tried again (Lambda's retries,
        // or the operator's), when nothing is racing for these invoices.
        Err(StoreError(format!(
            "transfer {} (line {}): its invoices kept changing while it was applied",
            transfer.id, doc.line
        )))
    }

    async fn review(&self, mut line: Line, transfer: &Transfer, reason: String) -> Result<Line, StoreError> {
        let queued = self
            .store
            .queue_transfer_review(transfer, &reason, self.clock.now())
            .await?;
        tracing::warn!(transfer = %transfer.id, line = transfer.line, %reason, queued, "bank transfer for an operator");
        line.outcome = if queued {
            Outcome::Review
        } else {
            Outcome::AlreadyApplied
        };
        line.reason = Some(reason);
        Ok(line)
    }

    /// The invoices a transfer pays, or why an operator must decide.
    async fn plan(&self, doc: &Document) -> Result<Plan, StoreError> {
        let numbers = invoice_numbers(&doc.purpose, &self.number_prefix, doc.date.year());
        if numbers.is_empty() {
            return Ok(Plan::Review("no invoice number in the payment purpose".into()));
        }
        if numbers.len() > MAX_INVOICES_PER_TRANSFER {
            return Ok(Plan::Review(format!(
                "names {} invoices; at most {MAX_INVOICES_PER_TRANSFER} are applied automatically",
                numbers.len()
            )));
        }
        let mut invoices = Vec::with_capacity(numbers.len());
        for number in numbers {
            let number = number.to_string();
            let found = match self.store.invoice_id_by_number(&number).await? {
                Some(id) => self.store.get_invoice(&id).await?,
                None => None,
            };
            let Some(invoice) = found else {
                return Ok(Plan::Review(format!("invoice {number} not found")));
            };
            if doc.payer_inn.as_deref() != Some(invoice.buyer.inn.as_str()) {
                return Ok(Plan::Review(match &doc.payer_inn {
                    Some(inn) => format!(
                        "payer ИНН {inn} is not the buyer's of invoice {number} ({})",
                        invoice.buyer.inn
                    ),
                    None => format!("no payer ИНН to check against invoice {number}"),
                }));
            }
            if invoice.currency != "RUB" {
                return Ok(Plan::Review(format!("invoice {number} is in {}", invoice.currency)));
            }
            if matches!(invoice.status, Status::Void | Status::NeedsReview) {
                return Ok(Plan::Review(format!(
                    "invoice {number} is {} ({})",
                    invoice.status,
                    invoice.status.label_ru()
                )));
            }
            invoices.push(invoice);
        }
        // Money meant for an invoice already paid is a double payment, not the next one's.
        let paid: Vec<String> = invoices
            .iter()
            .filter(|i| i.balance_due().is_zero())
            .map(|i| i.number.to_string())
            .collect();
        if !paid.is_empty() {
            return Ok(Plan::Review(format!(
                "already paid: {} (a double payment to refund or apply elsewhere)",
                paid.join(", ")
            )));
        }
        Ok(Plan::Apply(invoices))
    }
}

fn share<'a>(invoice: &'a Invoice, transfer: &Transfer, amount: Kopecks, now: DateTime<Utc>) -> TransferShare<'a> {
    let payment = PaymentNotice {
        provider: BANK,
        payment_id: format!("{}/{}", transfer.id, invoice.number),
        invoice: InvoiceRef::Id(invoice.id.clone()),
        amount,
        currency: invoice.currency.clone(),
        succeeded: true,
    };
    let paid_after = invoice.amount_paid + amount;
    let event = match invoice.status_after(paid_after) {
        Status::Paid => crate::events::invoice_paid(invoice, &payment, now),
        _ => crate::events::invoice_partially_paid(invoice, &payment, paid_after, now),
    };
    TransferShare {
        invoice,
        payment,
        paid_after,
        event,
    }
}

fn allocated(share: &TransferShare<'_>) -> Allocated {
    Allocated {
        invoice_id: share.invoice.id.clone(),
        number: share.invoice.number.to_string(),
        amount: share.payment.amount,
        status: share.invoice.status_after(share.paid_after),
        balance_due: share.invoice.balance_after(share.paid_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(purpose: &str, allocations: Vec<Allocated>, excess: i64) -> Line {
        Line {
            line: 12,
            date: "2026-11-27".parse().unwrap(),
            number: "512".into(),
            payer_inn: Some("7736207543".into()),
            payer_name: Some("ООО \"Ромашка\", Москва".into()),
            payer_account: None,
            amount: Kopecks(1_300_000),
            purpose: purpose.into(),
            outcome: Outcome::Applied,
            allocations,
            excess: Kopecks(excess),
            reason: None,
        }
    }

    fn share(number: &str, amount: i64, status: Status, due: i64) -> Allocated {
        Allocated {
            invoice_id: format!("id-{number}"),
            number: number.into(),
            amount: Kopecks(amount),
            status,
            balance_due: Kopecks(due),
        }
    }

    #[test]
    fn the_csv_has_a_row_per_share_quotes_what_needs_it_and_defuses_formulas() {
        let report = Report {
            statement_id: "s".into(),
            source_key: "statements/x.txt".into(),
            report_key: "reports/statements/s.csv".into(),
            account: None,
            period: Period { from: None, to: None },
            summary: Summary::default(),
            lines: vec![
                line(
                    "Оплата по счетам 2026-000001, 2026-000002",
                    vec![
                        share("2026-000001", 1_200_000, Status::Paid, 0),
                        share("2026-000002", 100_000, Status::PartiallyPaid, 1_100_000),
                    ],
                    0,
                ),
                line("=HYPERLINK(\"http://evil\")", vec![], 0),
            ],
        };
        let csv = report.to_csv();
        let rows: Vec<&str> = csv.split("\r\n").filter(|r| !r.is_empty()).collect();
        assert_eq!(rows.len(), 4, "{csv}");
        assert!(
            rows[0].starts_with("\u{feff}line,date,number,payer_inn,payer_name,"),
            "a BOM first"
        );
        assert_eq!(
            rows[1],
            "12,2026-11-27,512,7736207543,\"ООО \"\"Ромашка\"\", Москва\",,13000.00,\"Оплата по счетам 2026-000001, 2026-000002\",applied,2026-000001,12000.00,paid,0.00,0.00,"
        );
        assert!(
            rows[2].ends_with(",applied,2026-000002,1000.00,partially_paid,11000.00,0.00,"),
            "{}",
            rows[2]
        );
        assert!(
            rows[3].contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
            "{}",
            rows[3]
        );
    }
}
