//! The closing-documents e-mail: Russian subject and body (plain text and HTML), the invoice and
//! the act attached as PDFs, as one Raw MIME message (what SES sends as is).

use crate::domain::Invoice;
use crate::domain::subscription::Period;
use crate::http::pages::escape;
use mail_builder::MessageBuilder;

pub struct ClosingMail<'a> {
    pub invoice: &'a Invoice,
    pub period: Period,
    pub from: &'a str,
    pub invoice_pdf: &'a [u8],
    pub act_pdf: &'a [u8],
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

impl ClosingMail<'_> {
    pub fn subject(&self) -> String {
        format!(
            "Оплата получена: счёт № {} — закрывающие документы",
            self.invoice.number
        )
    }

    fn text(&self) -> String {
        let i = self.invoice;
        let last_day = self.period.end.pred_opt().unwrap_or(self.period.end);
        format!(
            "Здравствуйте!\n\n\
             Мы получили оплату по счёту № {number} от {issued} на сумму {total} руб.\n\
             Подписка на тариф «{plan}» продлена: период с {start} по {end}.\n\n\
             Во вложении счёт и акт оказанных услуг № {number}.\n\n\
             С уважением,\n{seller}\n",
            number = i.number,
            issued = date(i.issue_date),
            total = i.total.display_ru(),
            plan = i.plan,
            start = date(self.period.start),
            end = date(last_day),
            seller = i.seller.name,
        )
    }

    fn html(&self) -> String {
        let paragraphs: String = self
            .text()
            .split("\n\n")
            .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
            .collect();
        format!("<!doctype html><html lang=\"ru\"><body>{paragraphs}</body></html>")
    }

    pub fn to_mime(&self) -> std::io::Result<Vec<u8>> {
        let n = &self.invoice.number;
        MessageBuilder::new()
            .from((self.invoice.seller.name.as_str(), self.from))
            .to((self.invoice.buyer.name.as_str(), self.invoice.buyer.email.as_str()))
            .subject(self.subject())
            .text_body(self.text())
            .html_body(self.html())
            .attachment("application/pdf", format!("Счёт {n}.pdf"), self.invoice_pdf)
            .attachment("application/pdf", format!("Акт {n}.pdf"), self.act_pdf)
            .write_to_vec()
    }
}
