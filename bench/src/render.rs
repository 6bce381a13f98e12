//! Our side of the document comparison: the sample invoice and act, rendered in this process.

use autobill::render::{render_act, render_invoice};
use autobill::samples::{act, invoice_3_lines};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Instant;

/// Median time and size of each document over `runs` renders, after a warm-up.
pub fn medians(runs: usize) -> Result<Vec<Value>, autobill::render::RenderError> {
    let invoice = invoice_3_lines();
    let details = act(&invoice);
    let mut out = Vec::new();
    for name in ["invoice", "act"] {
        let once = || match name {
            "invoice" => render_invoice(black_box(&invoice)),
            _ => render_act(black_box(&invoice), black_box(&details)),
        };
        let bytes = once()?.len();
        for _ in 0..runs.min(10) {
            once()?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            black_box(once()?);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        out.push(
            json!({"name": name, "median_ms": crate::stats::Summary::of(&times).median, "bytes": bytes, "runs": runs}),
        );
    }
    Ok(out)
}

/// One invoice, as a process that starts, renders and exits would (for `hyperfine`).
pub fn once(path: &std::path::Path) -> Result<Value, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let pdf = render_invoice(&invoice_3_lines())?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    std::fs::write(path, &pdf)?;
    Ok(json!({"name": "invoice", "median_ms": ms, "bytes": pdf.len(), "runs": 1}))
}
