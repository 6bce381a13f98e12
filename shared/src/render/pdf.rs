//! The documents as one-page PDFs: the invoice drawn by `invoice`, the act by `act`, fonts
//! embedded as subsets.

use super::act::{self, ActDetails};
use super::canvas::{Canvas, PAGE_HEIGHT, PAGE_WIDTH};
use super::font::Style;
use super::invoice;
use crate::domain::Invoice;
use chrono::{Datelike, Timelike};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::{Date, Filter, Finish, Pdf, Rect, Ref, TextStr};
use std::io::Write;

/// zlib level for every stream. Measured on the 3-line invoice (benches/render.rs, 2 cores):
/// level 1 0.79 ms / 43.7 KB, level 3 1.18 ms / 35.2 KB, level 6 1.42 ms / 34.3 KB. Only level 1
/// (zlib-rs "quick": static Huffman codes) keeps a render under 1 ms; the size stays under 50 KB.
const COMPRESSION_LEVEL: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the document does not fit on one page")]
    DoesNotFit,
    #[error("the invoice amounts are too large to add up")]
    AmountOverflow,
    #[error("font subsetting failed: {0}")]
    Font(#[from] subsetter::Error),
    #[error("payment QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("compression failed: {0}")]
    Compress(#[from] std::io::Error),
}

/// Renders «Счёт на оплату» as a one-page A4 PDF.
pub fn render_invoice(inv: &Invoice) -> Result<Vec<u8>, RenderError> {
    check_amounts(inv)?;
    let mut canvas = Canvas::new();
    invoice::draw(&mut canvas, inv)?;
    let at = inv.created_at;
    let created = pdf_date(at)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0);
    write_document(canvas, &format!("Счёт на оплату № {}", inv.number), created)
}

/// Renders «Акт оказанных услуг» for the services of `inv` as a one-page A4 PDF.
pub fn render_act(inv: &Invoice, act: &ActDetails) -> Result<Vec<u8>, RenderError> {
    check_amounts(inv)?;
    let mut canvas = Canvas::new();
    act::draw(&mut canvas, inv, act)?;
    // The act is dated, not timed: its date is the whole creation date.
    write_document(canvas, &act.title().join(" "), pdf_date(act.date))
}

/// The day of `d` as a PDF date; years a PDF cannot hold become 0000.
fn pdf_date(d: impl Datelike) -> Date {
    Date::new(u16::try_from(d.year()).unwrap_or(0))
        .month(d.month() as u8)
        .day(d.day() as u8)
}

/// The domain adds amounts without overflow checks: refuse sums that do not fit in i64 (no subset
/// of the lines can overflow then), so that nothing below panics.
fn check_amounts(invoice: &Invoice) -> Result<(), RenderError> {
    let sum_of_magnitudes = invoice
        .lines
        .iter()
        .try_fold(0i64, |sum, line| sum.checked_add(line.amount.0.checked_abs()?));
    match sum_of_magnitudes {
        Some(_) => Ok(()),
        None => Err(RenderError::AmountOverflow),
    }
}

/// Hands out object ids in order.
pub(super) struct Refs(i32);

impl Refs {
    pub(super) fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// The page and its fonts, with `title` and `created` in the document information: taken from
/// the document, so that the same document always gives the same bytes.
fn write_document(canvas: Canvas, title: &str, created: Date) -> Result<Vec<u8>, RenderError> {
    let (content, subsets) = canvas.finish();
    let mut refs = Refs(0);
    let [catalog, pages, page, contents, info] = [(); 5].map(|_| refs.next());
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages).lang(TextStr("ru"));
    pdf.pages(pages).kids([page]).count(1);
    pdf.stream(contents, &deflate(&content)?).filter(Filter::FlateDecode);
    let fonts = subsets
        .iter()
        .map(|s| s.write(&mut pdf, &mut refs))
        .collect::<Result<Vec<_>, _>>()?;

    let mut p = pdf.page(page);
    p.parent(pages)
        .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
        .contents(contents);
    let mut resources = p.resources();
    let mut font_dict = resources.fonts();
    for (style, id) in Style::ALL.into_iter().zip(fonts) {
        font_dict.pair(style.resource(), id);
    }
    font_dict.finish();
    resources.finish();
    p.finish();

    pdf.document_info(info)
        .title(TextStr(title))
        .creator(TextStr("autobill"))
        .creation_date(created);
    Ok(pdf.finish())
}

/// zlib-compresses a stream for `FlateDecode`.
pub(super) fn deflate(data: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 2), Compression::new(COMPRESSION_LEVEL));
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::issue;
    use crate::domain::{Buyer, Kopecks, Status, VatRate};
    use crate::render::gost_qr_payload;
    use crate::samples::{act, company, invoice, invoice_3_lines, order, profile, push_line};

    fn render(inv: &Invoice) -> Vec<u8> {
        render_invoice(inv).unwrap_or_else(|e| panic!("{e}"))
    }

    fn render_act_of(inv: &Invoice) -> Vec<u8> {
        render_act(inv, &act(inv)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn assert_pdf(pdf: &[u8]) {
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
        let text = String::from_utf8_lossy(pdf);
        for needle in [
            "/Identity-H",
            "/CIDFontType2",
            "/FontFile2",
            "/ToUnicode",
            "+DejaVuSans-Bold",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn three_lines_render_small_and_deterministic() {
        let inv = invoice_3_lines();
        assert_eq!(inv.total, Kopecks(3_195_000));
        let pdf = render(&inv);
        assert_pdf(&pdf);
        assert!(pdf.len() < 50_000, "{} bytes", pdf.len());
        assert_eq!(render(&inv), pdf);
    }

    /// A sole trader (12-digit ИНН, no КПП) buys from a seller without КПП; one line is exempt.
    fn sole_trader() -> Invoice {
        let buyer = Buyer {
            name: "ИП Ёлкин Пётр Семёнович".into(),
            inn: "500100732259".into(),
            kpp: None,
            ..company()
        };
        let at = "2026-11-27T09:00:00Z".parse().unwrap();
        let mut inv = issue(&order(buyer), &profile(), "inv-43".into(), 43, at).unwrap();
        push_line(&mut inv, "Консультация (без НДС)", 2, "ч", 300_000, VatRate::Exempt);
        inv.seller.kpp = None;
        inv
    }

    #[test]
    fn sole_trader_buyer_and_exempt_line() {
        let inv = sole_trader();
        assert!(!gost_qr_payload(&inv).contains("KPP="));
        assert_pdf(&render(&inv));
    }

    /// 1,000-character words, an emoji, a character DejaVu lacks, control characters, huge numbers.
    fn pathological() -> Invoice {
        let mut inv = invoice_3_lines();
        let long = "Щ".repeat(1_000);
        inv.buyer.name = format!("{long}😀中\u{7}");
        inv.buyer.address = "ул. ".repeat(300);
        inv.seller.name = long.clone();
        inv.seller.bank = long.clone();
        inv.seller.director = long.clone();
        inv.seller.address = "Ы".repeat(100_000);
        inv.basis = "\u{0}\t\n".into();
        inv.number.prefix = "Ж".repeat(16);
        inv.status = Status::Void;
        for line in &mut inv.lines {
            line.title = format!("{long}😀\u{1b}[31m");
            line.unit = long.clone();
            line.quantity = u32::MAX;
            line.price = Kopecks(i64::MAX / 4);
        }
        inv
    }

    #[test]
    fn pathological_text_renders() {
        assert_pdf(&render(&pathological()));
    }

    #[test]
    fn overflowing_content_and_amounts_are_errors() {
        let mut inv = invoice();
        for _ in 0..60 {
            push_line(&mut inv, "Строка", 1, "шт.", 100, VatRate::Percent(22));
        }
        assert!(matches!(render_invoice(&inv), Err(RenderError::DoesNotFit)));

        let mut inv = invoice();
        inv.lines[0].amount = Kopecks(i64::MAX);
        inv.lines.push(inv.lines[0].clone());
        assert!(matches!(render_invoice(&inv), Err(RenderError::AmountOverflow)));
    }

    #[test]
    fn act_for_three_lines_renders_small_and_deterministic() {
        let inv = invoice_3_lines();
        let pdf = render_act_of(&inv);
        assert_pdf(&pdf);
        assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
        assert_eq!(render_act_of(&inv), pdf);
        assert_ne!(render_invoice(&inv).ok(), Some(pdf));
    }

    #[test]
    fn act_for_sole_trader_buyer_and_exempt_line() {
        assert_pdf(&render_act_of(&sole_trader()));
    }

    #[test]
    fn act_for_pathological_text_and_dates_renders() {
        let inv = pathological();
        let act = ActDetails {
            number: format!("{}😀\u{7}", "Ж".repeat(1_000)),
            date: chrono::NaiveDate::MAX,
            period_start: chrono::NaiveDate::MIN,
            period_end: chrono::NaiveDate::MAX,
        };
        assert_pdf(&render_act(&inv, &act).unwrap_or_else(|e| panic!("{e}")));
        let mut inv = invoice_3_lines();
        inv.lines.clear();
        inv.total = Kopecks::ZERO;
        assert_pdf(&render_act_of(&inv));
    }

    #[test]
    fn act_overflowing_content_and_amounts_are_errors() {
        let mut inv = invoice();
        for _ in 0..60 {
            push_line(&mut inv, "Строка", 1, "шт.", 100, VatRate::Percent(22));
        }
        assert!(matches!(render_act(&inv, &act(&inv)), Err(RenderError::DoesNotFit)));

        let mut inv = invoice();
        inv.lines[0].amount = Kopecks(i64::MAX);
        inv.lines.push(inv.lines[0].clone());
        assert!(matches!(render_act(&inv, &act(&inv)), Err(RenderError::AmountOverflow)));
    }
}
