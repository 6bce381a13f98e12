//! The pure domain: no I/O, no AWS types. Everything here is deterministic and unit-tested.

pub mod invoice;
pub mod money;
pub mod order;
pub mod plan;
pub mod renewal;
pub mod requisites;
pub mod subscription;
pub mod vat;
pub mod words;

pub use invoice::{Invoice, InvoiceNumber, Line, Status, TransitionError};
pub use money::Kopecks;
pub use order::{FieldErrors, Order, OrderInput};
pub use plan::{Catalogue, Plan};
pub use requisites::{Buyer, Seller};
pub use vat::{VatCategory, VatRate, VatTable};
