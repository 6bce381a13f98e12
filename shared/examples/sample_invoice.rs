//! Writes the sample three-line invoice and its act as PDFs, to look at the layout:
//! `cargo run -p autobill --example sample_invoice -- /tmp/sample` → /tmp/sample-invoice.pdf, /tmp/sample-act.pdf

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = std::env::args().nth(1).unwrap_or_else(|| "sample".into());
    let invoice = autobill::samples::invoice_3_lines();
    for (kind, pdf) in [
        ("invoice", autobill::render::render_invoice(&invoice)?),
        (
            "act",
            autobill::render::render_act(&invoice, &autobill::samples::act(&invoice))?,
        ),
    ] {
        let path = format!("{prefix}-{kind}.pdf");
        std::fs::write(&path, &pdf)?;
        println!("{path}: {} bytes", pdf.len());
    }
    Ok(())
}
