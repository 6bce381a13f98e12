//! The invoice as the public API shows it: the same keys from `POST /invoices` and
//! `GET <invoice_url>`.

use crate::domain::Invoice;
use crate::domain::words::amount_in_words;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct InvoiceView {
    pub id: String,
    pub number: String,
    pub status: &'static str,
    pub status_label: String,
    /// Kopecks, VAT included.
    pub total: i64,
    pub vat_total: i64,
    /// Kopecks bank transfers paid so far (more than `total` if overpaid).
    pub amount_paid: i64,
    /// Kopecks left to pay: 0 once paid.
    pub balance_due: i64,
    pub currency: String,
    pub amount_in_words: String,
    pub plan: String,
    pub quantity: u32,
    pub account: String,
    pub issue_date: String,
    pub due_date: String,
    /// A presigned download link, valid for `AUTOBILL_PDF_LINK_TTL_SECONDS`.
    pub pdf_url: String,
    pub invoice_url: String,
    /// The act («Акт оказанных услуг») once the invoice is paid and fulfilled, else null.
    pub act_url: Option<String>,
}

impl InvoiceView {
    pub fn new(invoice: &Invoice, pdf_url: String, invoice_url: String) -> Self {
        InvoiceView {
            id: invoice.id.clone(),
            number: invoice.number.to_string(),
            status: invoice.status.as_str(),
            status_label: invoice.status.label_ru().to_owned(),
            total: invoice.total.0,
            vat_total: invoice.vat_total().0,
            amount_paid: invoice.amount_paid.0,
            balance_due: invoice.balance_due().0,
            currency: invoice.currency.clone(),
            amount_in_words: amount_in_words(invoice.total),
            plan: invoice.plan.clone(),
            quantity: invoice.quantity,
            account: invoice.account.clone(),
            issue_date: invoice.issue_date.to_string(),
            due_date: invoice.due_date.to_string(),
            pdf_url,
            invoice_url,
            act_url: None,
        }
    }
}
