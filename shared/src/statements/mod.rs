//! Bank transfers from 1C bank statements (1CClientBankExchange): parsing the file, finding
//! the invoices each incoming transfer names, and splitting its amount over them.

pub mod matching;
pub mod parse;
pub mod reconcile;
