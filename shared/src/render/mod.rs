//! Documents: the invoice PDF.

mod canvas;
mod font;
mod layout;
pub mod pdf;
mod qr;

pub use pdf::{RenderError, render_invoice};
pub use qr::gost_qr_payload;
