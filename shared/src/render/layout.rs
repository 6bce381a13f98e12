//! The page «Счёт на оплату» in the familiar 1C arrangement, section by section from the top.
//! Every section takes its top edge and returns its bottom edge.

use super::canvas::{Align, Canvas, Font, PAGE_HEIGHT, PAGE_WIDTH, wrap};
use super::pdf::RenderError;
use super::qr;
use crate::domain::{Invoice, Kopecks, Status, VatRate, words};
use chrono::NaiveDate;

const MARGIN: f32 = 36.0;
const LEFT: f32 = MARGIN;
const RIGHT: f32 = PAGE_WIDTH - MARGIN;
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN;

const SMALL: Font = Font::regular(7.0);
const BODY: Font = Font::regular(9.0);
const BODY_BOLD: Font = Font::bold(9.0);
const TABLE: Font = Font::regular(8.5);
const TABLE_BOLD: Font = Font::bold(8.5);
const TITLE: Font = Font::bold(14.0);
const STAMP: Font = Font::bold(11.0);

const THIN: f32 = 0.5;
const THICK: f32 = 1.5;
/// Inner padding of a table cell.
const PAD: f32 = 3.0;
/// Height of a one-line cell.
const ROW: f32 = 2.0 * PAD + BODY.leading();

const QR_SIZE: f32 = 86.0;
const QR_GAP: f32 = 14.0;
/// Bank grid columns right of the names: «БИК» / «Сч. №», then the 20-digit accounts.
const GRID_LABEL_WIDTH: f32 = 42.0;
const GRID_VALUE_WIDTH: f32 = 130.0;

/// How a cell sets its text.
#[derive(Clone, Copy)]
struct CellText {
    font: Font,
    align: Align,
    max_lines: usize,
}

const GRID_LINE: CellText = CellText {
    font: BODY,
    align: Align::Left,
    max_lines: 1,
};
const GRID_NAME: CellText = CellText {
    max_lines: 3,
    ..GRID_LINE
};

type Section = fn(&mut Canvas, &Invoice, f32) -> f32;

/// Sections below the bank block, each with the gap above it.
const SECTIONS: [(f32, Section); 7] = [
    (14.0, title),
    (8.0, parties),
    (10.0, lines_table),
    (4.0, totals),
    (6.0, amount_summary),
    (6.0, payment_terms),
    (24.0, signatures),
];

pub(super) fn draw(c: &mut Canvas, inv: &Invoice) -> Result<(), RenderError> {
    let top = MARGIN;
    let mut y = bank_block(c, inv, top).max(payment_qr(c, inv, top)?);
    for (gap, section) in SECTIONS {
        y = section(c, inv, y + gap);
    }
    if y > BOTTOM {
        Err(RenderError::DoesNotFit)
    } else {
        Ok(())
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// Draws text inside a table cell, padded and wrapped; returns the cell height it needs.
fn cell(c: &mut Canvas, left: f32, right: f32, top: f32, text: &str, style: CellText) -> f32 {
    let lines = wrap(text, style.font, right - left - 2.0 * PAD, style.max_lines);
    2.0 * PAD + c.lines(left + PAD, right - PAD, top + PAD, style.font, &lines, style.align)
}

/// A small caption at the bottom of a grid cell, like «Банк получателя».
fn caption(c: &mut Canvas, left: f32, bottom: f32, text: &str) {
    c.text(left + PAD, bottom - PAD - SMALL.leading() + SMALL.ascent(), SMALL, text);
}

/// The payee's bank details in the 1C grid:
///
/// ```text
/// | bank name        | БИК   | bic          |
/// | Банк получателя  | Сч. № | corr account |
/// | ИНН …  | КПП …   | Сч. № | account      |
/// | seller name      |       |              |
/// | Получатель       |       |              |
/// ```
fn bank_block(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let s = &inv.seller;
    let right = RIGHT - QR_SIZE - QR_GAP;
    let values = right - GRID_VALUE_WIDTH;
    let labels = values - GRID_LABEL_WIDTH;
    let middle = (LEFT + labels) / 2.0;
    let captioned = |h: f32| (h + SMALL.leading()).max(2.0 * ROW);

    let bank_h = captioned(cell(c, LEFT, labels, top, &s.bank, GRID_NAME));
    let row2 = top + bank_h;
    let row3 = row2 + ROW;
    let payee_h = captioned(cell(c, LEFT, labels, row3, &s.name, GRID_NAME));
    let bottom = row3 + payee_h;
    caption(c, LEFT, row2, "Банк получателя");
    caption(c, LEFT, bottom, "Получатель");

    let kpp = s.kpp.as_deref().unwrap_or("");
    for (left, right, text) in [
        (LEFT, middle, format!("ИНН {}", s.inn)),
        (middle, labels, format!("КПП {kpp}")),
    ] {
        cell(c, left, right, row2, &text, GRID_LINE);
    }
    for (y, label, value) in [
        (top, "БИК", &s.bic),
        (top + ROW, "Сч. №", &s.corr_account),
        (row2, "Сч. №", &s.account),
    ] {
        cell(c, labels, values, y, label, GRID_LINE);
        cell(c, values, right, y, value, GRID_LINE);
    }

    c.frame(LEFT, top, right - LEFT, bottom - top, THIN);
    c.vline(labels, top, bottom, THIN);
    c.vline(values, top, bottom, THIN);
    c.hline(labels, right, top + ROW, THIN);
    c.hline(LEFT, right, row2, THIN);
    c.hline(LEFT, labels, row3, THIN);
    c.vline(middle, row2, row3, THIN);
    bottom
}

/// The payment QR code to the right of the bank block, with its caption.
fn payment_qr(c: &mut Canvas, inv: &Invoice, top: f32) -> Result<f32, RenderError> {
    let left = RIGHT - QR_SIZE;
    qr::draw(c, inv, left, top, QR_SIZE)?;
    let caption_top = top + QR_SIZE + 3.0;
    let baseline = caption_top + SMALL.ascent();
    c.text_aligned(left, RIGHT, baseline, SMALL, "Оплата по QR-коду", Align::Center);
    Ok(caption_top + SMALL.leading())
}

/// What is printed over the title for invoices that must not be paid (again).
fn status_stamp(status: Status) -> Option<&'static str> {
    matches!(status, Status::Paid | Status::Void).then(|| status.label_ru())
}

fn title(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let mut right = RIGHT;
    if let Some(stamp) = status_stamp(inv.status) {
        let stamp = stamp.to_uppercase();
        c.text_aligned(LEFT, RIGHT, top + TITLE.ascent(), STAMP, &stamp, Align::Right);
        right -= STAMP.width(&stamp) + 12.0;
    }
    let text = format!("Счёт на оплату № {} от {}", inv.number, date(inv.issue_date));
    let bottom = top + c.paragraph(LEFT, right, top, TITLE, &text, 3) + 2.0;
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

fn parties(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
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
        ("Поставщик:", seller, 4),
        ("Покупатель:", buyer, 6),
        ("Основание:", inv.basis.clone(), 2),
    ];
    let (label_width, gap) = (72.0, 5.0);
    let mut y = top - gap;
    for (label, text, max_lines) in rows {
        y += gap;
        c.text(LEFT, y + BODY.ascent(), BODY, label);
        y += c
            .paragraph(LEFT + label_width, RIGHT, y, BODY_BOLD, &text, max_lines)
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

const COLUMNS: [Column; 6] = [
    column("№", 24.0, Align::Center, 1),
    column("Наименование", 0.0, Align::Left, 4),
    column("Кол-во", 44.0, Align::Right, 2),
    column("Ед.", 38.0, Align::Center, 2),
    column("Цена", 78.0, Align::Right, 2),
    column("Сумма", 84.0, Align::Right, 2),
];

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

/// One table row with its bottom border and column separators; returns its bottom.
fn table_row(c: &mut Canvas, top: f32, texts: [&str; 6], header: bool) -> f32 {
    let edges = column_edges();
    let mut height: f32 = 0.0;
    for (i, (col, text)) in COLUMNS.iter().zip(texts).enumerate() {
        let style = if header { HEADER } else { col.text };
        height = height.max(cell(c, edges[i], edges[i + 1], top, text, style));
    }
    let bottom = top + height;
    for &x in &edges[1..6] {
        c.vline(x, top, bottom, THIN);
    }
    c.hline(LEFT, RIGHT, bottom, THIN);
    bottom
}

fn lines_table(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let mut y = table_row(c, top, COLUMNS.map(|col| col.title), true);
    for (n, line) in (1..).zip(&inv.lines) {
        let texts = [
            n.to_string(),
            line.title.clone(),
            line.quantity.to_string(),
            line.unit.clone(),
            line.price.display_ru(),
            line.amount.display_ru(),
        ];
        y = table_row(c, y, texts.each_ref().map(String::as_str), false);
    }
    c.frame(LEFT, top, RIGHT - LEFT, y - top, 1.0);
    y
}

/// «Итого», VAT per rate, «Всего к оплате»: labels right-aligned against the amounts column.
fn totals(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let total = inv.total.display_ru();
    let mut rows = vec![("Итого:".to_owned(), total.clone())];
    rows.extend(inv.vat_breakdown().into_iter().map(vat_row));
    rows.push(("Всего к оплате:".to_owned(), total));

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

/// «Всего наименований N, на сумму X руб.» and the amount in words.
fn amount_summary(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let count = format!(
        "Всего наименований {}, на сумму {} руб.",
        inv.lines.len(),
        inv.total.display_ru()
    );
    let mut y = top + c.paragraph(LEFT, RIGHT, top, BODY, &count, 2);
    y += c.paragraph(LEFT, RIGHT, y, BODY_BOLD, &words::amount_in_words(inv.total), 3);
    y
}

fn payment_terms(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let due = format!("Оплатить не позднее {}", date(inv.due_date));
    let mut y = top + c.paragraph(LEFT, RIGHT, top, BODY_BOLD, &due, 1);
    let purpose = format!("Назначение платежа: {}", inv.payment_purpose());
    y += c.paragraph(LEFT, RIGHT, y + 2.0, BODY, &purpose, 4) + 6.0;
    c.hline(LEFT, RIGHT, y, THICK);
    y
}

/// «Руководитель ______ name» and «Бухгалтер ______ name», side by side.
fn signatures(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let baseline = top + BODY_BOLD.ascent();
    let half = (RIGHT - LEFT) / 2.0;
    let signers = [
        ("Руководитель", &inv.seller.director),
        ("Бухгалтер", &inv.seller.accountant),
    ];
    for (i, (role, name)) in signers.into_iter().enumerate() {
        let left = LEFT + i as f32 * half;
        c.text(left, baseline, BODY_BOLD, role);
        let line_start = left + BODY_BOLD.width(role) + 6.0;
        let line_end = line_start + 90.0;
        c.hline(line_start, line_end, baseline + 2.0, THIN);
        c.paragraph(line_end + 6.0, left + half - 6.0, top, BODY, name, 1);
    }
    top + BODY_BOLD.leading()
}
