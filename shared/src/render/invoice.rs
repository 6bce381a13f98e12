//! The page «Счёт на оплату» in the familiar 1C arrangement, section by section from the top.
//! Every section takes its top edge and returns its bottom edge.

use super::canvas::{Align, Canvas, Font};
use super::layout::{
    self, BODY, BODY_BOLD, CellText, LEFT, MARGIN, PAD, RIGHT, ROW, SMALL, THICK, THIN, TITLE, cell, date,
};
use super::pdf::RenderError;
use super::qr;
use crate::domain::{Invoice, Status};

const STAMP: Font = Font::bold(11.0);

const QR_SIZE: f32 = 86.0;
const QR_GAP: f32 = 14.0;
/// Bank grid columns right of the names: «БИК» / «Сч. №», then the 20-digit accounts.
const GRID_LABEL_WIDTH: f32 = 42.0;
const GRID_VALUE_WIDTH: f32 = 130.0;

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
    layout::check_fits(y)
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
    let text = format!("Счёт на оплату № {}", inv.number);
    layout::title(c, top, right, [&text, &format!("от {}", date(inv.issue_date))])
}

fn parties(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    layout::parties(c, inv, top, ["Поставщик:", "Покупатель:"], &inv.basis)
}

fn lines_table(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    layout::lines_table(c, inv, top, "Наименование", "")
}

fn totals(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    layout::totals(c, inv, top, Some("Всего к оплате:"))
}

fn amount_summary(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    layout::amount_summary(c, inv, top, "Всего наименований")
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
    let half = (RIGHT - LEFT) / 2.0;
    let signers = [
        ("Руководитель", &inv.seller.director),
        ("Бухгалтер", &inv.seller.accountant),
    ];
    for (i, (role, name)) in signers.into_iter().enumerate() {
        let left = LEFT + i as f32 * half;
        layout::signature(c, (left, left + half - 6.0), top, role, name, None);
    }
    top + BODY_BOLD.leading()
}
