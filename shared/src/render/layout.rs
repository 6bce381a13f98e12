//! What the invoice and the act pages share, in the familiar 1C look: margins, type, the title,
//! the parties, the lines table, the totals and the amount in words. Every section takes its top
//! edge and returns its bottom edge.

use super::canvas::{Align, Canvas, Font, PAGE_HEIGHT, PAGE_WIDTH, wrap, wrap_with_tail};
use super::pdf::RenderError;
use crate::domain::{Invoice, Kopecks, VatRate, words};
use chrono::NaiveDate;

pub(super) const MARGIN: f32 = 36.0;
pub(super) const LEFT: f32 = MARGIN;
pub(super) const RIGHT: f32 = PAGE_WIDTH - MARGIN;
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN;

pub(super) const SMALL: Font = Font::regular(7.0);
pub(super) const BODY: Font = Font::regular(9.0);
pub(super) const BODY_BOLD: Font = Font::bold(9.0);
const TABLE: Font = Font::regular(8.5);
const TABLE_BOLD: Font = Font::bold(8.5);
pub(super) const TITLE: Font = Font::bold(14.0);

pub(super) const THIN: f32 = 0.5;
pub(super) const THICK: f32 = 1.5;
/// Inner padding of a table cell.
pub(super) const PAD: f32 = 3.0;
/// Height of a one-line cell.
pub(super) const ROW: f32 = 2.0 * PAD + BODY.leading();

/// How a cell sets its text.
#[derive(Clone, Copy)]
pub(super) struct CellText {
    pub font: Font,
    pub align: Align,
    pub max_lines: usize,
}

/// The page is full when its content reaches past the bottom margin.
pub(super) fn check_fits(bottom: f32) -> Result<(), RenderError> {
    if bottom > BOTTOM {
        Err(RenderError::DoesNotFit)
    } else {
        Ok(())
    }
}

pub(super) fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// Draws text inside a table cell, padded and wrapped; returns the cell height it needs.
pub(super) fn cell(c: &mut Canvas, left: f32, right: f32, top: f32, text: &str, style: CellText) -> f32 {
    let lines = wrap(text, style.font, right - left - 2.0 * PAD, style.max_lines);
    cell_lines(c, left, right, top, &lines, style)
}

/// Draws already wrapped lines inside a table cell, padded; returns the cell height they need.
fn cell_lines(c: &mut Canvas, left: f32, right: f32, top: f32, lines: &[String], style: CellText) -> f32 {
    2.0 * PAD + c.lines(left + PAD, right - PAD, top + PAD, style.font, lines, style.align)
}

/// The document's title in large bold type, wrapped within `[LEFT, right]`, and a thick rule under
/// it across the page. The title is `text` and then `tail` («от DD.MM.YYYY»), which stays whole.
pub(super) fn title(c: &mut Canvas, top: f32, right: f32, [text, tail]: [&str; 2]) -> f32 {
    let lines = wrap_with_tail(text, tail, TITLE, right - LEFT, 3);
    let bottom = top + c.lines(LEFT, right, top, TITLE, &lines, Align::Left) + 2.0;
    c.hline(LEFT, RIGHT, bottom, THICK);
    bottom
}

/// «ООО «Ромашка», ИНН …, КПП …, address»: the parts that are present, comma-separated.
fn requisites(parts: impl IntoIterator<Item = Option<String>>) -> String {
    parts
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The seller, the buyer and the basis, each after its label: `labels` name the seller's and the
/// buyer's roles («Поставщик:», «Покупатель:»).
pub(super) fn parties(c: &mut Canvas, inv: &Invoice, top: f32, labels: [&str; 2], basis: &str) -> f32 {
    let (s, b) = (&inv.seller, &inv.buyer);
    let seller = requisites([
        Some(s.name.clone()),
        Some(format!("ИНН {}", s.inn)),
        s.kpp.as_ref().map(|k| format!("КПП {k}")),
        s.ogrn.as_ref().map(|o| format!("ОГРН {o}")),
        Some(s.address.clone()),
    ]);
    let buyer = requisites([
        Some(b.name.clone()),
        Some(format!("ИНН {}", b.inn)),
        b.kpp.as_ref().map(|k| format!("КПП {k}")),
        Some(b.address.clone()),
    ]);
    let rows = [
        (labels[0], seller.as_str(), 4),
        (labels[1], buyer.as_str(), 6),
        ("Основание:", basis, 2),
    ];
    let (label_width, gap) = (72.0, 5.0);
    let mut y = top - gap;
    for (label, text, max_lines) in rows {
        y += gap;
        c.text(LEFT, y + BODY.ascent(), BODY, label);
        y += c
            .paragraph(LEFT + label_width, RIGHT, y, BODY_BOLD, text, max_lines)
            .max(BODY.leading());
    }
    y
}

struct Column {
    title: &'static str,
    /// Zero for the one column that takes the remaining width.
    width: f32,
    text: CellText,
}

const fn column(title: &'static str, width: f32, align: Align, max_lines: usize) -> Column {
    Column {
        title,
        width,
        text: CellText {
            font: TABLE,
            align,
            max_lines,
        },
    }
}

/// The name column's title is the document's own; see [`lines_table`].
const COLUMNS: [Column; 6] = [
    column("№", 24.0, Align::Center, 1),
    column("", 0.0, Align::Left, 4),
    column("Кол-во", 44.0, Align::Right, 2),
    column("Ед.", 38.0, Align::Center, 2),
    column("Цена", 78.0, Align::Right, 2),
    column("Сумма", 84.0, Align::Right, 2),
];
const NAME: usize = 1;

const HEADER: CellText = CellText {
    font: TABLE_BOLD,
    align: Align::Center,
    max_lines: 2,
};

/// The x of every column edge, from the left edge of the table to its right edge.
fn column_edges() -> [f32; 7] {
    let fixed: f32 = COLUMNS.iter().map(|c| c.width).sum();
    let mut edges = [LEFT; 7];
    for (i, col) in COLUMNS.iter().enumerate() {
        let width = if col.width == 0.0 {
            RIGHT - LEFT - fixed
        } else {
            col.width
        };
        edges[i + 1] = edges[i] + width;
    }
    edges
}

/// One table row of wrapped cells with its bottom border and column separators; returns its bottom.
fn table_row(c: &mut Canvas, top: f32, cells: [Vec<String>; 6], header: bool) -> f32 {
    let edges = column_edges();
    let mut height: f32 = 0.0;
    for (i, (col, lines)) in COLUMNS.iter().zip(cells).enumerate() {
        let style = if header { HEADER } else { col.text };
        height = height.max(cell_lines(c, edges[i], edges[i + 1], top, &lines, style));
    }
    let bottom = top + height;
    for &x in &edges[1..6] {
        c.vline(x, top, bottom, THIN);
    }
    c.hline(LEFT, RIGHT, bottom, THIN);
    bottom
}

/// The lines table: №, `name_title`, Кол-во, Ед., Цена, Сумма. Every line's name is its title
/// followed by `name_tail` (empty for none), which stays whole when a long title is cut.
pub(super) fn lines_table(c: &mut Canvas, inv: &Invoice, top: f32, name_title: &str, name_tail: &str) -> f32 {
    let edges = column_edges();
    let inner = |i: usize| edges[i + 1] - edges[i] - 2.0 * PAD;
    let wrap_row = |texts: [&str; 6], header: bool| -> [Vec<String>; 6] {
        std::array::from_fn(|i| {
            let style = if header { HEADER } else { COLUMNS[i].text };
            wrap(texts[i], style.font, inner(i), style.max_lines)
        })
    };

    let mut header = COLUMNS.map(|col| col.title);
    header[NAME] = name_title;
    let mut y = table_row(c, top, wrap_row(header, true), true);
    for (n, line) in (1..).zip(&inv.lines) {
        let texts = [
            n.to_string(),
            String::new(),
            line.quantity.to_string(),
            line.unit.clone(),
            line.price.display_ru(),
            line.amount.display_ru(),
        ];
        let mut cells = wrap_row(texts.each_ref().map(String::as_str), false);
        let style = COLUMNS[NAME].text;
        cells[NAME] = wrap_with_tail(&line.title, name_tail, style.font, inner(NAME), style.max_lines);
        y = table_row(c, y, cells, false);
    }
    c.frame(LEFT, top, RIGHT - LEFT, y - top, 1.0);
    y
}

/// «Итого», VAT per rate and `closing` (like «Всего к оплате:»), if any, with the total again:
/// labels right-aligned against the amounts column.
pub(super) fn totals(c: &mut Canvas, inv: &Invoice, top: f32, closing: Option<&str>) -> f32 {
    let total = inv.total.display_ru();
    let mut rows = vec![("Итого:".to_owned(), total.clone())];
    rows.extend(inv.vat_breakdown().into_iter().map(vat_row));
    rows.extend(closing.map(|label| (label.to_owned(), total)));

    let widest = rows.iter().map(|(_, v)| BODY_BOLD.width(v)).fold(0.0, f32::max);
    let values = RIGHT - (widest + 2.0 * PAD).max(COLUMNS[5].width);
    for (i, (label, value)) in rows.iter().enumerate() {
        let baseline = top + BODY_BOLD.ascent() + i as f32 * BODY_BOLD.leading();
        c.text_aligned(LEFT, values - PAD, baseline, BODY_BOLD, label, Align::Right);
        c.text_aligned(values, RIGHT - PAD, baseline, BODY_BOLD, value, Align::Right);
    }
    top + rows.len() as f32 * BODY_BOLD.leading()
}

fn vat_row((rate, vat): (VatRate, Kopecks)) -> (String, String) {
    match rate {
        VatRate::Exempt => ("Без налога (НДС)".to_owned(), "—".to_owned()),
        VatRate::Percent(p) => (format!("В том числе НДС {p}%:"), vat.display_ru()),
    }
}

/// «{lead} N, на сумму X руб.» (`lead` like «Всего наименований») and the amount in words.
pub(super) fn amount_summary(c: &mut Canvas, inv: &Invoice, top: f32, lead: &str) -> f32 {
    let count = format!("{lead} {}, на сумму {} руб.", inv.lines.len(), inv.total.display_ru());
    let mut y = top + c.paragraph(LEFT, RIGHT, top, BODY, &count, 2);
    y += c.paragraph(LEFT, RIGHT, y, BODY_BOLD, &words::amount_in_words(inv.total), 3);
    y
}

/// A signature line of `LINE` points from `left`, just under the baseline, with a small `caption`
/// (like «подпись») centred under it, if any; returns the line's right end.
pub(super) fn signature_line(c: &mut Canvas, left: f32, baseline: f32, caption: Option<&str>) -> f32 {
    const LINE: f32 = 90.0;
    let (right, y) = (left + LINE, baseline + 2.0);
    c.hline(left, right, y, THIN);
    if let Some(caption) = caption {
        c.text_aligned(left, right, y + 1.0 + SMALL.ascent(), SMALL, caption, Align::Center);
    }
    right
}

/// «Руководитель ______ name» within `[left, right]`, the role in bold, on the line at `top`;
/// `caption` goes under the signature line.
pub(super) fn signature(
    c: &mut Canvas,
    (left, right): (f32, f32),
    top: f32,
    role: &str,
    name: &str,
    caption: Option<&str>,
) {
    let baseline = top + BODY_BOLD.ascent();
    c.text(left, baseline, BODY_BOLD, role);
    let line_end = signature_line(c, left + BODY_BOLD.width(role) + 6.0, baseline, caption);
    c.paragraph(line_end + 6.0, right, top, BODY, name, 1);
}
