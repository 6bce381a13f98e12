//! Bank statements. A 1CClientBankExchange file put under `statements/` in the documents bucket
//! (S3 `ObjectCreated`, bounded retries, then a DLQ) is parsed, its incoming transfers matched
//! to invoices and applied as `bank` payments; the reconciliation report goes to
//! `reports/statements/{statement_id}.csv` and unmatched lines wait for an operator's review.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autobill::app::serve_statement_import().await
}
