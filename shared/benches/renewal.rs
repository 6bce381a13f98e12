//! Compute per renewal, without I/O: the renewal order from a subscription, the numbered invoice,
//! its PDF and the reminder e-mail (MIME with the PDF attached):
//! `cargo bench -p autobill --bench renewal`. Target: under 2 ms.

use autobill::domain::order::issue;
use autobill::domain::renewal::next_period;
use autobill::mail::ReminderMail;
use autobill::render::render_invoice;
use autobill::samples::{company, order, profile};
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn renewal(c: &mut Criterion) {
    let seller = profile();
    let end = NaiveDate::from_ymd_opt(2026, 12, 24).expect("a date");
    let now = Utc
        .with_ymd_and_hms(2026, 12, 17, 6, 0, 0)
        .single()
        .expect("an instant");
    let one = || {
        let mut renewal = order(company());
        renewal.service_period = Some(next_period(end, renewal.plan.period_months));
        let invoice = issue(&renewal, &seller, "0193a1b2-renewal".into(), 123, now).expect("issues");
        let pdf = render_invoice(&invoice).expect("renders");
        let mail = ReminderMail {
            invoice: &invoice,
            access_until: end,
            invoice_url: "https://billing.example.com/invoices/0193a1b2-renewal?token=00112233445566778899aabbccddeeff",
            from: "billing@example.com",
            invoice_pdf: &pdf,
        };
        mail.to_mime().expect("builds")
    };
    eprintln!("renewal e-mail: {} bytes", one().len());
    let mut group = c.benchmark_group("renewal");
    group.bench_function("order_invoice_pdf_email", |b| b.iter(|| black_box(one())));
    group.finish();
}

criterion_group!(benches, renewal);
criterion_main!(benches);
