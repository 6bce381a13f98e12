//! Writes the sample three-line invoice PDF, to look at the layout:
//! `cargo run -p autobill --example sample_invoice -- /tmp/invoice.pdf`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "invoice.pdf".into());
    let pdf = autobill::render::render_invoice(&autobill::samples::invoice_3_lines())?;
    std::fs::write(&path, &pdf)?;
    println!("{path}: {} bytes", pdf.len());
    Ok(())
}
