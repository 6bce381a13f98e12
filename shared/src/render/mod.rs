//! Documents: the invoice PDF and the act that closes it.

mod act;
mod canvas;
mod font;
mod invoice;
mod layout;
pub mod pdf;
mod qr;

pub use act::ActDetails;
pub use pdf::{RenderError, render_act, render_invoice};
pub use qr::gost_qr_payload;
