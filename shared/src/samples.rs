//! Sample data for tests, benchmarks and examples: a demo seller, a plan, a buyer, and
//! the invoices and acts the PDF benchmark and tests draw. Never used by the functions themselves.

use crate::domain::order::{Order, SellerProfile, issue};
use crate::domain::{Buyer, Catalogue, Invoice, Kopecks, Line, Plan, Seller, VatCategory, VatRate, VatTable};
use crate::render::ActDetails;
use chrono::NaiveDate;

pub fn catalogue() -> Catalogue {
    Catalogue(vec![Plan {
        id: "pro".into(),
        title: "Pro".into(),
        price: Kopecks(1_200_000),
        period_months: 1,
        vat: VatCategory::Standard,
        billing: Default::default(),
    }])
}

pub fn profile() -> SellerProfile {
    SellerProfile {
        requisites: Seller {
            name: "ООО «Автобилл»".into(),
            inn: "7707083893".into(),
            kpp: Some("773601001".into()),
            ogrn: Some("1027700132195".into()),
            address: "117312, г. Москва, ул. Вавилова, д. 19".into(),
            bank: "ПАО Сбербанк".into(),
            bic: "044525225".into(),
            corr_account: "30101810400000000225".into(),
            account: "40702810238000001234".into(),
            director: "Иванов И. И.".into(),
            accountant: "Петрова А. А.".into(),
        },
        basis: "Договор-оферта".into(),
        time_zone: chrono_tz::Europe::Moscow,
        number_prefix: String::new(),
        payment_terms_days: 5,
        vat_rates: VatTable::default(),
    }
}

pub fn order(buyer: Buyer) -> Order {
    Order {
        plan: catalogue().0[0].clone(),
        quantity: 1,
        account: buyer.inn.clone(),
        buyer,
        idempotency_key: None,
        service_period: None,
        due_by: None,
    }
}

pub fn company() -> Buyer {
    Buyer {
        name: "ООО «Ромашка»".into(),
        inn: "7736207543".into(),
        kpp: Some("770401001".into()),
        address: "119021, г. Москва, ул. Льва Толстого, д. 16".into(),
        email: "buh@romashka.ru".into(),
    }
}

/// A one-line invoice № 2026-000042 of 27.11.2026 for 12 000,00 incl. 22% VAT.
pub fn invoice() -> Invoice {
    let at = "2026-11-27T09:00:00Z".parse().expect("valid sample");
    issue(&order(company()), &profile(), "inv-42".into(), 42, at).expect("valid sample")
}

/// Appends a line and adds its amount to the total.
pub fn push_line(inv: &mut Invoice, title: &str, quantity: u32, unit: &str, price: i64, vat: VatRate) {
    let price = Kopecks(price);
    let amount = price * i64::from(quantity);
    inv.lines.push(Line {
        title: title.into(),
        quantity,
        unit: unit.into(),
        price,
        amount,
        vat,
    });
    inv.total = inv.total + amount;
}

pub fn invoice_3_lines() -> Invoice {
    let mut inv = invoice();
    let title = "Дополнительные рабочие места — тариф «Pro», ёмкость хранилища 100 ГБ на каждое место, период 1 месяц";
    push_line(&mut inv, title, 5, "шт.", 99_000, VatRate::Percent(22));
    push_line(
        &mut inv,
        "Настройка интеграции с 1С:Бухгалтерией",
        1,
        "усл.",
        1_500_000,
        VatRate::Percent(22),
    );
    inv
}

/// The act for a sample invoice paid on 28.11.2026: a month of service from that day.
pub fn act(inv: &Invoice) -> ActDetails {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("valid sample");
    ActDetails {
        number: inv.number.to_string(),
        date: day(11, 28),
        period_start: day(11, 28),
        period_end: day(12, 27),
    }
}
