//! Time and size of the invoice and act PDFs: `cargo bench -p autobill --bench render`.

use autobill::render::{render_act, render_invoice};
use autobill::samples::{act, invoice_3_lines};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn render(c: &mut Criterion) {
    let invoice = invoice_3_lines();
    let details = act(&invoice);
    for (name, pdf) in [
        ("invoice_3_lines", render_invoice(&invoice).expect("renders")),
        ("act_3_lines", render_act(&invoice, &details).expect("renders")),
    ] {
        eprintln!("{name}: {} bytes ({:.1} KB)", pdf.len(), pdf.len() as f64 / 1024.0);
    }

    let mut group = c.benchmark_group("render");
    group.bench_function("invoice_3_lines", |b| b.iter(|| render_invoice(black_box(&invoice))));
    group.bench_function("act_3_lines", |b| {
        b.iter(|| render_act(black_box(&invoice), black_box(&details)))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
