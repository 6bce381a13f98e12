//! Plain server-rendered HTML for people: the order form, the hosted invoice page, errors.
//! Everything works without JavaScript; the form's small script only adds inline hints.
//! Accessible by construction: a label for every field, errors tied to their fields
//! (`aria-describedby`, `aria-invalid`), live regions for hints and status, visible focus,
//! contrast ≥ 4.5:1.

use super::error::{ApiError, field_label, field_message};
use super::view::InvoiceView;
use crate::domain::{Catalogue, FieldErrors, Invoice, Kopecks, OrderInput, Status, VatRate};

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

/// The page language: Russian by default, English on `?lang=en`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn from_query(query: &std::collections::HashMap<String, String>) -> Self {
        match query.get("lang").map(String::as_str) {
            Some("en") => Lang::En,
            _ => Lang::Ru,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    fn pick(self, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

fn layout(title: &str, body: &str) -> String {
    layout_in(Lang::Ru, title, body)
}

fn layout_in(lang: Lang, title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}}
dt{{color:#666;font-size:.9rem}}dd{{margin:0 0 .8rem}}.status{{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;background:#eee}}
.status.paid{{background:#d4f5d4}}.status.issued{{background:#fff1c7}}a.button{{display:inline-block;padding:.6rem 1rem;background:#1d4ed8;color:#fff;border-radius:.3rem;text-decoration:none}}
.errors,.field-error{{color:#b91c1c}}.hint{{color:#555;font-size:.9rem;min-height:1.2em;margin:.2rem 0}}
label{{display:block;margin:.8rem 0 .2rem;font-weight:600}}input,select{{width:100%;padding:.45rem;box-sizing:border-box;font:inherit;border:1px solid #767676;border-radius:.25rem}}
input[aria-invalid=true]{{border-color:#b91c1c}}button{{margin-top:1rem;padding:.6rem 1rem;font:inherit;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}}
a:focus,button:focus,input:focus,select:focus{{outline:3px solid #1d4ed8;outline-offset:2px}}.notice{{background:#fff1c7;padding:.5rem}}.lang{{float:right}}</style></head><body><main>{body}</main></body></html>"#,
        lang = lang.code(),
        title = escape(title),
    )
}

fn money(k: Kopecks) -> String {
    format!("{} ₽", k.display_ru())
}

/// The hosted invoice page in `lang`; `sandbox_pay` is the local stack's pay button target, if
/// any; `page_url` is this page's own link (for the language switch).
pub fn invoice_page(
    invoice: &Invoice,
    view: &InvoiceView,
    sandbox_pay: Option<&str>,
    lang: Lang,
    page_url: &str,
) -> String {
    let t = |ru, en| lang.pick(ru, en);
    let pay = match sandbox_pay {
        Some(action) if matches!(invoice.status, Status::Issued | Status::Overdue) => format!(
            r#"<form method="post" action="{}"><button type="submit" data-action="sandbox-pay">{}</button></form>"#,
            escape(action),
            t("Оплатить (sandbox)", "Pay (sandbox)")
        ),
        _ => String::new(),
    };
    // Per rate, as on the PDF: 0% is a rate, «Без налога» is an exemption.
    let vat = invoice
        .vat_breakdown()
        .into_iter()
        .map(|(rate, amount)| match rate {
            VatRate::Exempt => t("Без налога (НДС)", "VAT exempt").to_owned(),
            VatRate::Percent(p) => format!("{} {p}% {}", t("в т.ч. НДС", "incl. VAT"), money(amount)),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let label = match lang {
        Lang::Ru => invoice.status.label_ru(),
        Lang::En => invoice.status.label_en(),
    };
    let (other, other_label) = match lang {
        Lang::Ru => ("en", "English"),
        Lang::En => ("ru", "Русский"),
    };
    let switch = format!("{page_url}&lang={other}");
    let body = format!(
        r#"<p class="lang"><a href="{switch}" data-lang="{other}" lang="{other}">{other_label}</a></p>
<h1>{title} № {number} {from} {issued}</h1>
<p role="status" aria-live="polite"><span class="status {status}" data-status="{status}">{label}</span></p>
<dl>
<dt>{l_total}</dt><dd><strong>{total}</strong> ({vat})</dd>
{balance}<dt>{l_words}</dt><dd lang="ru">{words}</dd>
<dt>{l_due}</dt><dd>{due}</dd>
<dt>{l_buyer}</dt><dd><span lang="ru">{buyer}</span>, {inn_label} {inn}</dd>
<dt>{l_seller}</dt><dd><span lang="ru">{seller}</span>, {inn_label} {seller_inn}</dd>
<dt>{l_purpose}</dt><dd lang="ru">{purpose}</dd>
</dl>
<p><a class="button" href="{pdf}" data-link="pdf">{l_pdf}</a>{act}</p>
{pay}"#,
        title = t("Счёт", "Invoice"),
        from = t("от", "of"),
        number = escape(&view.number),
        issued = invoice.issue_date.format("%d.%m.%Y"),
        status = view.status,
        label = escape(label),
        l_total = t("Сумма к оплате", "Amount due"),
        total = money(invoice.total),
        vat = escape(&vat),
        // Part paid by bank transfer: what came in, and what is left.
        balance = match invoice.status {
            crate::domain::Status::PartiallyPaid => format!(
                "<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd><strong data-balance-due=\"{}\">{}</strong></dd>\n",
                t("Оплачено", "Paid so far"),
                money(invoice.amount_paid),
                t("Остаток к оплате", "Balance due"),
                invoice.balance_due().0,
                money(invoice.balance_due()),
            ),
            _ => String::new(),
        },
        l_words = t("Сумма прописью", "Amount in words"),
        words = escape(&view.amount_in_words),
        l_due = t("Оплатить до", "Due date"),
        due = invoice.due_date.format("%d.%m.%Y"),
        l_buyer = t("Покупатель", "Buyer"),
        buyer = escape(&invoice.buyer.name),
        inn_label = t("ИНН", "INN"),
        inn = escape(&invoice.buyer.inn),
        l_seller = t("Поставщик", "Seller"),
        seller = escape(&invoice.seller.name),
        seller_inn = escape(&invoice.seller.inn),
        l_purpose = t("Назначение платежа", "Payment reference"),
        purpose = escape(&invoice.payment_purpose()),
        pdf = escape(&view.pdf_url),
        l_pdf = t("Скачать счёт (PDF)", "Download the invoice (PDF)"),
        switch = escape(&switch),
        act = view
            .act_url
            .as_deref()
            .map(|u| format!(
                r#" <a class="button" href="{}" data-link="act">{}</a>"#,
                escape(u),
                t("Скачать акт (PDF)", "Download the act (PDF)")
            ))
            .unwrap_or_default(),
    );
    layout_in(lang, &format!("{} № {}", t("Счёт", "Invoice"), view.number), &body)
}

/// The order form's fields after the plan: (name, label, input type, autocomplete, required).
const FORM_FIELDS: [(&str, &str, &str, &str, bool); 6] = [
    ("quantity", "Количество периодов", "number", "off", false),
    ("company", "Организация или ИП", "text", "organization", true),
    ("inn", "ИНН", "text", "off", true),
    ("kpp", "КПП (для организаций)", "text", "off", false),
    ("address", "Юридический адрес", "text", "street-address", true),
    (
        "email",
        "E-mail для счёта и закрывающих документов",
        "email",
        "email",
        true,
    ),
];

/// Hints shown under a field before anything is typed (the script updates the ИНН and КПП ones).
fn default_hint(field: &str) -> &'static str {
    match field {
        "inn" => "10 цифр для организации, 12 — для ИП",
        "kpp" => "9 знаков; для ИП не указывается",
        _ => "",
    }
}

/// A fresh idempotency token for one copy of the order form.
pub fn form_token() -> String {
    format!("form-{}", uuid::Uuid::now_v7().simple())
}

/// What the order form shows besides the fields.
pub struct FormState<'a> {
    /// Where it posts: `{public base}/invoices`.
    pub action: &'a str,
    /// The idempotency token this copy of the form carries.
    pub token: &'a str,
    /// A message above the form (e.g. why it came back).
    pub notice: Option<&'a str>,
}

/// The order form: plans with prices, company requisites, e-mail; `errors` (from the server)
/// are shown next to their fields and `values` kept (the hidden `account` too). A plain form
/// post that works without JavaScript; the script adds inline hints only.
pub fn order_form(plans: &Catalogue, values: &OrderInput, errors: &FieldErrors, form: &FormState) -> String {
    let value = |name: &str| values.get(name).map(|v| escape(v)).unwrap_or_default();
    let error_of = |name: &str| {
        errors.get(name).map(|code| {
            format!(
                r#"<p class="field-error" id="{name}-error" data-code="{code}">{}</p>"#,
                field_message(code)
            )
        })
    };
    let described = |name: &str, has_hint: bool| {
        let mut ids = Vec::new();
        if has_hint {
            ids.push(format!("{name}-hint"));
        }
        if errors.contains_key(name) {
            ids.push(format!("{name}-error"));
        }
        let invalid = if errors.contains_key(name) {
            r#" aria-invalid="true""#
        } else {
            ""
        };
        if ids.is_empty() {
            invalid.to_owned()
        } else {
            format!(r#" aria-describedby="{}"{invalid}"#, ids.join(" "))
        }
    };
    let chosen = values.get("plan").map(String::as_str);
    let options: String = plans
        .0
        .iter()
        .map(|p| {
            let period = match p.period_months {
                1 => "мес.".to_owned(),
                12 => "год".to_owned(),
                n => format!("{n} мес."),
            };
            format!(
                r#"<option value="{id}"{selected}>{title} — {price} / {period}</option>"#,
                id = escape(&p.id),
                selected = if chosen == Some(p.id.as_str()) { " selected" } else { "" },
                title = escape(&p.title),
                price = money(p.price),
            )
        })
        .collect();
    let mut fields = format!(
        r#"<label for="plan">Тариф</label>
<select id="plan" name="plan"{described}>{options}</select>{error}"#,
        described = described("plan", false),
        error = error_of("plan").unwrap_or_default(),
    );
    for (name, label, kind, autocomplete, required) in FORM_FIELDS {
        let hint = default_hint(name);
        let shown = if name == "quantity" && value(name).is_empty() {
            "1".to_owned()
        } else {
            value(name)
        };
        let extra = match name {
            "quantity" => r#" min="1" max="120" inputmode="numeric""#,
            "inn" => r#" inputmode="numeric" maxlength="12" pattern="\d{10}|\d{12}""#,
            "kpp" => r#" maxlength="9""#,
            _ => "",
        };
        fields.push_str(&format!(
            r#"
<label for="{name}">{label}</label>
<input id="{name}" name="{name}" type="{kind}" autocomplete="{autocomplete}" value="{shown}"{required}{extra}{described}>"#,
            required = if required { " required" } else { "" },
            described = described(name, !hint.is_empty()),
        ));
        if !hint.is_empty() {
            fields.push_str(&format!(
                r#"<p class="hint" id="{name}-hint" aria-live="polite">{hint}</p>"#
            ));
        }
        fields.push_str(&error_of(name).unwrap_or_default());
    }
    // Errors of fields the form does not show (a vendor's hidden `account`, unknown fields) are
    // listed in the summary, so that nothing is marked wrong without saying where.
    let shown = |f: &str| f == "plan" || FORM_FIELDS.iter().any(|(name, ..)| *name == f);
    let elsewhere: String = errors
        .iter()
        .filter(|(f, _)| !shown(f))
        .map(|(f, code)| format!("<li>{}: {}</li>", escape(field_label(f)), field_message(code)))
        .collect();
    let mut summary = String::new();
    if let Some(notice) = form.notice {
        summary.push_str(&format!(r#"<p class="notice" role="alert">{}</p>"#, escape(notice)));
    }
    if !errors.is_empty() {
        summary.push_str(&format!(
            r#"<div class="errors" role="alert" data-error="validation_failed"><p>Проверьте отмеченные поля.</p>{}</div>"#,
            if elsewhere.is_empty() { String::new() } else { format!("<ul>{elsewhere}</ul>") }
        ));
    }
    let account = values
        .get("account")
        .filter(|a| !a.is_empty())
        .map(|a| format!(r#"<input type="hidden" name="account" value="{}">"#, escape(a)))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Счёт на оплату подписки</h1>
{summary}<form id="order-form" method="post" action="{action}" novalidate>
<input type="hidden" name="idempotency_key" value="{token}">{account}
{fields}
<button type="submit">Получить счёт</button>
</form>
<script>{script}</script>"#,
        action = escape(form.action),
        token = escape(form.token),
        script = FORM_SCRIPT,
    );
    let title = if errors.is_empty() {
        "Счёт на оплату"
    } else {
        "Ошибка — счёт на оплату"
    };
    layout(title, &body)
}

/// Inline hints: the ИНН's length and control digits, the КПП's shape. The server checks all of
/// it again; this only saves a round trip. The README's embeddable snippet carries the same file.
pub const FORM_SCRIPT: &str = include_str!("order-form.js");

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
    fn the_readme_snippet_carries_the_form_script_and_only_form_fields() {
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(super::FORM_SCRIPT),
            "README's snippet: paste order-form.js again"
        );
        let snippet = &readme[readme.find(r#"<form id="order-form""#).unwrap()..];
        let snippet = &snippet[..snippet.find("</form>").unwrap()];
        for name in snippet.split("name=\"").skip(1).filter_map(|s| s.split('"').next()) {
            assert!(crate::domain::order::FIELDS.contains(&name), "{name}");
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
