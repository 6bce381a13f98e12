//! Time and size of one invoice PDF: `cargo bench -p autobill --bench render`.

use autobill::render::render_invoice;
use autobill::samples::invoice_3_lines;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn render(c: &mut Criterion) {
    let invoice = invoice_3_lines();
    let pdf = render_invoice(&invoice).expect("renders");
    eprintln!(
        "invoice_3_lines: {} bytes ({:.1} KB)",
        pdf.len(),
        pdf.len() as f64 / 1024.0
    );

    let mut group = c.benchmark_group("render");
    group.bench_function("invoice_3_lines", |b| b.iter(|| render_invoice(black_box(&invoice))));
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
