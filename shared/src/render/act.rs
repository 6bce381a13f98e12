//! The page «Акт оказанных услуг», the primary document that closes a paid invoice. It carries
//! what 402-ФЗ art. 9 requires: the document's name and date, who drew it up, what was done and
//! when, the amounts in roubles, and the signers' positions, signatures and names.

use super::canvas::Canvas;
use super::layout::{self, BODY, BODY_BOLD, LEFT, MARGIN, RIGHT, SMALL, THICK, date, signature_line};
use super::pdf::RenderError;
use crate::domain::Invoice;
use chrono::NaiveDate;

/// What the act says beyond its invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActDetails {
    /// «Акт № …»: the invoice number (acts are numbered after their invoice).
    pub number: String,
    /// The act's date (the payment date, in the seller's time zone).
    pub date: NaiveDate,
    /// The service period covered: first day and the day the period ends.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

impl ActDetails {
    /// «Акт оказанных услуг № N» and «от DD.MM.YYYY»: apart, so that a long number cannot push the
    /// date off the page.
    pub(super) fn title(&self) -> [String; 2] {
        [
            format!("Акт оказанных услуг № {}", self.number),
            format!("от {}", date(self.date)),
        ]
    }
}

/// The customer's acceptance, as every Russian act words it.
const ACCEPTANCE: &str = "Вышеперечисленные услуги выполнены полностью и в срок. \
                          Заказчик претензий по объему, качеству и срокам оказания услуг не имеет.";

/// Room left above the signature lines to sign in.
const SIGNING_SPACE: f32 = 22.0;

pub(super) fn draw(c: &mut Canvas, inv: &Invoice, act: &ActDetails) -> Result<(), RenderError> {
    let [text, dated] = act.title();
    let mut y = layout::title(c, MARGIN, RIGHT, [&text, &dated]);
    y = layout::parties(c, inv, y + 8.0, ["Исполнитель:", "Заказчик:"], &basis(inv));
    let period = format!("за период с {} по {}", date(act.period_start), date(act.period_end));
    y = layout::lines_table(c, inv, y + 10.0, "Наименование работ, услуг", &period);
    y = layout::totals(c, inv, y + 4.0, None);
    y = layout::amount_summary(c, inv, y + 6.0, "Всего оказано услуг");
    y = acceptance(c, y + 8.0);
    y = signatures(c, inv, y + 14.0);
    layout::check_fits(y)
}

/// The contract or offer, and the invoice the act closes.
fn basis(inv: &Invoice) -> String {
    let invoice = |word| format!("{word} № {} от {}", inv.number, date(inv.issue_date));
    match inv.basis.trim_matches(|c: char| c.is_whitespace() || c.is_control()) {
        "" => invoice("Счёт"),
        basis => format!("{basis}, {}", invoice("счёт")),
    }
}

/// The acceptance sentence and a thick rule under it.
fn acceptance(c: &mut Canvas, top: f32) -> f32 {
    let y = top + c.paragraph(LEFT, RIGHT, top, BODY, ACCEPTANCE, 3) + 6.0;
    c.hline(LEFT, RIGHT, y, THICK);
    y
}

/// Both parties side by side, each under its role in capitals with its name:
///
/// ```text
/// ИСПОЛНИТЕЛЬ                          ЗАКАЗЧИК
/// ООО «Автобилл»                       ООО «Ромашка»
///
/// Руководитель ________ Иванов И. И.   ________ / ________
///                подпись                подпись   расшифровка подписи
/// ```
fn signatures(c: &mut Canvas, inv: &Invoice, top: f32) -> f32 {
    let half = (RIGHT - LEFT) / 2.0;
    let parties = [("ИСПОЛНИТЕЛЬ", &inv.seller.name), ("ЗАКАЗЧИК", &inv.buyer.name)];
    let mut names_bottom = top;
    for (i, (role, name)) in parties.into_iter().enumerate() {
        let left = LEFT + i as f32 * half;
        c.text(left, top + BODY_BOLD.ascent(), BODY_BOLD, role);
        let y = top + BODY_BOLD.leading() + 2.0;
        names_bottom = names_bottom.max(y + c.paragraph(left, left + half - 12.0, y, BODY, name, 2));
    }

    let y = names_bottom + SIGNING_SPACE;
    let seller = (LEFT, LEFT + half - 12.0);
    layout::signature(c, seller, y, "Руководитель", &inv.seller.director, Some("подпись"));
    let baseline = y + BODY.ascent();
    let slash = signature_line(c, LEFT + half, baseline, Some("подпись")) + 4.0;
    c.text(slash, baseline, BODY, "/");
    signature_line(c, slash + BODY.width("/") + 4.0, baseline, Some("расшифровка подписи"));
    y + BODY_BOLD.leading() + SMALL.leading()
}
