//! The e-mails autobill sends, each as one Raw MIME message (what SES sends as is) with a Russian
//! subject and body (plain text and HTML): the closing documents (invoice and act attached) and
//! the renewal reminder (the renewal invoice attached, with its pay link).

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

/// A letter from the seller to the buyer of `invoice`, with the invoice's PDF attached.
fn letter<'x>(
    invoice: &'x Invoice,
    from: &'x str,
    subject: String,
    text: &str,
    invoice_pdf: &'x [u8],
) -> MessageBuilder<'x> {
    MessageBuilder::new()
        .from((invoice.seller.name.as_str(), from))
        .to((invoice.buyer.name.as_str(), invoice.buyer.email.as_str()))
        .subject(subject)
        .text_body(text.to_owned())
        .html_body(html(text))
        .attachment("application/pdf", format!("Счёт {}.pdf", invoice.number), invoice_pdf)
}

/// The HTML part: the text's paragraphs, escaped, with links kept clickable.
fn html(text: &str) -> String {
    let paragraphs: String = text
        .split("\n\n")
        .map(|p| {
            let lines: Vec<String> = p
                .split('\n')
                .map(|line| match line.find("https://").or_else(|| line.find("http://")) {
                    Some(i) => {
                        let url = escape(&line[i..]);
                        format!("{}<a href=\"{url}\">{url}</a>", escape(&line[..i]))
                    }
                    None => escape(line),
                })
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect();
    format!("<!doctype html><html lang=\"ru\"><body>{paragraphs}</body></html>")
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

    pub fn to_mime(&self) -> std::io::Result<Vec<u8>> {
        let n = &self.invoice.number;
        letter(self.invoice, self.from, self.subject(), &self.text(), self.invoice_pdf)
            .attachment("application/pdf", format!("Акт {n}.pdf"), self.act_pdf)
            .write_to_vec()
    }
}

/// The body of a letter that brings an unpaid invoice, `lead` (a line, or nothing) first.
fn unpaid_text(i: &Invoice, lead: &str, url: &str) -> String {
    let period = match i.period {
        Some(p) => format!(
            " за период с {} по {}",
            date(p.start),
            date(p.end.pred_opt().unwrap_or(p.end))
        ),
        None => String::new(),
    };
    format!(
        "Здравствуйте!\n\n\
         {lead}\
         Во вложении счёт № {number} от {issued}{period} на сумму {total} руб. \
         Оплатить до {due}.\n\n\
         Счёт онлайн:\n{url}\n\n\
         Если счёт уже оплачен, просто не обращайте внимания на это письмо.\n\n\
         С уважением,\n{seller}\n",
        number = i.number,
        issued = date(i.issue_date),
        total = i.total.display_ru(),
        due = date(i.due_date),
        seller = i.seller.name,
    )
}

/// The renewal reminder: the renewal invoice attached, its page linked.
pub struct ReminderMail<'a> {
    pub invoice: &'a Invoice,
    /// The subscription's current end (exclusive), which the invoice renews from.
    pub access_until: chrono::NaiveDate,
    /// The invoice's page: status and download.
    pub invoice_url: &'a str,
    pub from: &'a str,
    pub invoice_pdf: &'a [u8],
}

impl ReminderMail<'_> {
    pub fn subject(&self) -> String {
        let i = self.invoice;
        match i.period {
            Some(p) if p.start <= i.issue_date => format!("Счёт № {} за период с {}", i.number, date(p.start)),
            _ => format!(
                "Продление подписки: счёт № {} — доступ оплачен до {}",
                i.number,
                date(self.last_day())
            ),
        }
    }

    fn last_day(&self) -> chrono::NaiveDate {
        self.access_until.pred_opt().unwrap_or(self.access_until)
    }

    fn text(&self) -> String {
        let i = self.invoice;
        let when = if self.access_until > i.issue_date {
            format!(
                "Оплаченный период подписки на тариф «{}» заканчивается {}.",
                i.plan,
                date(self.last_day())
            )
        } else {
            format!("Начался новый период подписки на тариф «{}».", i.plan)
        };
        unpaid_text(i, &format!("{when}\n"), self.invoice_url)
    }

    pub fn to_mime(&self) -> std::io::Result<Vec<u8>> {
        letter(self.invoice, self.from, self.subject(), &self.text(), self.invoice_pdf).write_to_vec()
    }
}

/// An unpaid invoice sent (again) by an operator: the PDF attached, its page linked.
pub struct InvoiceMail<'a> {
    pub invoice: &'a Invoice,
    pub invoice_url: &'a str,
    pub from: &'a str,
    pub invoice_pdf: &'a [u8],
}

impl InvoiceMail<'_> {
    pub fn subject(&self) -> String {
        let i = self.invoice;
        format!("Счёт № {} от {} на оплату", i.number, date(i.issue_date))
    }

    fn text(&self) -> String {
        unpaid_text(self.invoice, "", self.invoice_url)
    }

    pub fn to_mime(&self) -> std::io::Result<Vec<u8>> {
        letter(self.invoice, self.from, self.subject(), &self.text(), self.invoice_pdf).write_to_vec()
    }
}
