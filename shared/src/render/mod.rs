//! Documents: the invoice PDF.
