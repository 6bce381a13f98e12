//! Time and size of one invoice PDF: `cargo bench -p autobill --bench render`.

use autobill::domain::{Buyer, Invoice, InvoiceNumber, Kopecks, Line, Seller, Status, VatRate};
use autobill::render::render_invoice;
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn line(title: &str, quantity: u32, unit: &str, price: i64) -> Line {
    let price = Kopecks(price);
    Line {
        title: title.into(),
        quantity,
        unit: unit.into(),
        price,
        amount: price * i64::from(quantity),
        vat: VatRate::Percent(22),
    }
}

/// The same three-line invoice the render tests draw.
fn invoice() -> Invoice {
    let lines = vec![
        line(
            "Подписка на сервис, тариф «Pro», период 1 месяц",
            1,
            "усл.",
            1_200_000,
        ),
        line(
            "Дополнительные рабочие места — тариф «Pro», ёмкость хранилища 100 ГБ на каждое место, период 1 месяц",
            5,
            "шт.",
            99_000,
        ),
        line(
            "Настройка интеграции с 1С:Бухгалтерией",
            1,
            "усл.",
            1_500_000,
        ),
    ];
    let date = NaiveDate::from_ymd_opt(2026, 11, 27).expect("valid date");
    Invoice {
        id: "inv-42".into(),
        number: InvoiceNumber {
            prefix: String::new(),
            year: 2026,
            seq: 42,
        },
        status: Status::Issued,
        account: "7736207543".into(),
        plan: "pro".into(),
        quantity: 1,
        seller: Seller {
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
        buyer: Buyer {
            name: "ООО «Ромашка»".into(),
            inn: "7736207543".into(),
            kpp: Some("770401001".into()),
            address: "119021, г. Москва, ул. Льва Толстого, д. 16".into(),
            email: "buh@romashka.ru".into(),
        },
        basis: "Договор-оферта".into(),
        total: lines.iter().map(|l| l.amount).sum(),
        lines,
        currency: "RUB".into(),
        issue_date: date,
        due_date: date + chrono::Days::new(5),
        created_at: "2026-11-27T09:00:00Z".parse().expect("valid instant"),
    }
}

fn render(c: &mut Criterion) {
    let invoice = invoice();
    let pdf = render_invoice(&invoice).expect("renders");
    eprintln!(
        "invoice_3_lines: {} bytes ({:.1} KB)",
        pdf.len(),
        pdf.len() as f64 / 1024.0
    );

    let mut group = c.benchmark_group("render");
    group.bench_function("invoice_3_lines", |b| {
        b.iter(|| render_invoice(black_box(&invoice)))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
