//! Plain server-rendered HTML for people: the hosted invoice page and form errors.

use super::error::{ApiError, field_label, field_message};
use super::view::InvoiceView;
use crate::domain::{Invoice, Kopecks, Status, VatRate};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}}
dt{{color:#666;font-size:.9rem}}dd{{margin:0 0 .8rem}}.status{{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;background:#eee}}
.status.paid{{background:#d4f5d4}}.status.issued{{background:#fff1c7}}a.button{{display:inline-block;padding:.6rem 1rem;background:#1d4ed8;color:#fff;border-radius:.3rem;text-decoration:none}}
.errors{{color:#b91c1c}}</style></head><body>{body}</body></html>"#,
        title = escape(title),
    )
}

fn money(k: Kopecks) -> String {
    format!("{} ₽", k.display_ru())
}

/// The hosted invoice page; `sandbox_pay` is the local stack's pay button target, if any.
pub fn invoice_page(invoice: &Invoice, view: &InvoiceView, sandbox_pay: Option<&str>) -> String {
    let pay = match sandbox_pay {
        Some(action) if matches!(invoice.status, Status::Issued | Status::Overdue) => format!(
            r#"<form method="post" action="{}"><button type="submit" data-action="sandbox-pay">Оплатить (sandbox)</button></form>"#,
            escape(action)
        ),
        _ => String::new(),
    };
    // Per rate, as on the PDF: 0% is a rate, «Без налога» is an exemption.
    let vat = invoice
        .vat_breakdown()
        .into_iter()
        .map(|(rate, amount)| match rate {
            VatRate::Exempt => "Без налога (НДС)".to_owned(),
            VatRate::Percent(p) => format!("в т.ч. НДС {p}% {}", money(amount)),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!(
        r#"<h1>Счёт № {number} от {issued}</h1>
<p><span class="status {status}" data-status="{status}">{label}</span></p>
<dl>
<dt>Сумма к оплате</dt><dd><strong>{total}</strong> ({vat})</dd>
<dt>Сумма прописью</dt><dd>{words}</dd>
<dt>Оплатить до</dt><dd>{due}</dd>
<dt>Покупатель</dt><dd>{buyer}, ИНН {inn}</dd>
<dt>Поставщик</dt><dd>{seller}, ИНН {seller_inn}</dd>
<dt>Назначение платежа</dt><dd>{purpose}</dd>
</dl>
<p><a class="button" href="{pdf}">Скачать счёт (PDF)</a>{act}</p>
{pay}"#,
        number = escape(&view.number),
        issued = invoice.issue_date.format("%d.%m.%Y"),
        status = view.status,
        label = escape(&view.status_label),
        total = money(invoice.total),
        vat = escape(&vat),
        words = escape(&view.amount_in_words),
        due = invoice.due_date.format("%d.%m.%Y"),
        buyer = escape(&invoice.buyer.name),
        inn = escape(&invoice.buyer.inn),
        seller = escape(&invoice.seller.name),
        seller_inn = escape(&invoice.seller.inn),
        purpose = escape(&invoice.payment_purpose()),
        pdf = escape(&view.pdf_url),
        act = view
            .act_url
            .as_deref()
            .map(|u| format!(
                r#" <a class="button" href="{}" data-link="act">Скачать акт (PDF)</a>"#,
                escape(u)
            ))
            .unwrap_or_default(),
    );
    layout(&format!("Счёт № {}", view.number), &body)
}

pub fn error_page(err: &ApiError) -> String {
    let items: String = err
        .fields
        .iter()
        .map(|(f, c)| {
            format!(
                "<li data-field=\"{}\" data-code=\"{c}\">{}: {}</li>",
                escape(f),
                escape(field_label(f)),
                field_message(c)
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Счёт не выставлен</h1><p class="errors" data-error="{code}">{message}</p><ul class="errors">{items}</ul>
<p><a href="javascript:history.back()">Вернуться к форме</a></p>"#,
        code = err.code,
        message = escape(&err.message),
    );
    layout("Ошибка", &body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
