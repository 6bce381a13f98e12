//! The ГОСТ Р 56042-2014 payment QR code that banking apps scan to fill in a transfer.

use super::canvas::Canvas;
use super::pdf::RenderError;
use crate::domain::Invoice;
use qrcode::canvas::{Canvas as QrCanvas, MaskPattern};
use qrcode::types::QrError;
use qrcode::{Color, EcLevel};

/// Builds `ST00012|Name=…|PersonalAcc=…|…`: format version 0001, UTF-8 (charset 2).
/// Values lose '|' (the separator) and control characters and are cut to the standard's maximum
/// lengths; KPP is left out when the seller has none, Sum when the total is not positive.
pub fn gost_qr_payload(invoice: &Invoice) -> String {
    let s = &invoice.seller;
    let purpose = invoice.payment_purpose();
    let sum = invoice.total.0.to_string();
    let fields = [
        ("Name", Some(s.name.as_str()), 160),
        ("PersonalAcc", Some(s.account.as_str()), 20),
        ("BankName", Some(s.bank.as_str()), 45),
        ("BIC", Some(s.bic.as_str()), 9),
        ("CorrespAcc", Some(s.corr_account.as_str()), 20),
        ("PayeeINN", Some(s.inn.as_str()), 12),
        ("KPP", s.kpp.as_deref(), 9),
        ("Sum", (invoice.total.0 > 0).then_some(sum.as_str()), 18),
        ("Purpose", Some(purpose.as_str()), 210),
    ];
    let mut payload = String::from("ST00012");
    for (key, value, max_chars) in fields {
        if let Some(value) = value {
            payload.push('|');
            payload.push_str(key);
            payload.push('=');
            payload.extend(
                value
                    .trim()
                    .chars()
                    .filter(|c| *c != '|' && !c.is_control())
                    .take(max_chars),
            );
        }
    }
    payload
}

/// Draws the invoice's payment QR code as a `size` × `size` square with its top-left at (x, y).
pub(super) fn draw(canvas: &mut Canvas, invoice: &Invoice, x: f32, y: f32, size: f32) -> Result<(), RenderError> {
    let (width, dark) = modules(gost_qr_payload(invoice).as_bytes())?;
    // One rectangle per horizontal run of dark modules.
    let runs = dark
        .chunks(width)
        .zip(0u16..)
        .flat_map(|(row, y)| dark_runs(row).map(move |(x, len)| [x, y, len, 1]));
    canvas.fill_cells(x, y, size / width as f32, runs);
    Ok(())
}

/// The symbol's width and its modules row by row, `true` for dark; error correction level M.
///
/// This is `QrCode::with_error_correction_level` with its mask choice replaced: the crate scores
/// the eight masks allocating a closure per module (2 ms of a 3 ms render); `penalty` below scores
/// them by the same rules in about 0.15 ms.
fn modules(payload: &[u8]) -> Result<(usize, Vec<bool>), QrError> {
    let bits = qrcode::bits::encode_auto(payload, EcLevel::M)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)?;
    let mut unmasked = QrCanvas::new(version, EcLevel::M);
    unmasked.draw_all_functional_patterns();
    unmasked.draw_data(&data, &ec);
    let width = usize::try_from(version.width()).map_err(|_| QrError::InvalidVersion)?;
    let masked = MASKS.map(|mask| {
        let mut canvas = unmasked.clone();
        canvas.apply_mask(mask);
        canvas
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect::<Vec<_>>()
    });
    let best = masked
        .into_iter()
        .min_by_key(|dark| penalty(dark, width))
        .unwrap_or_default();
    Ok((width, best))
}

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// ISO/IEC 18004 §7.8.3 mask penalty: runs (N1), 2×2 blocks (N2), finder look-alikes (N3) and the
/// dark/light balance (N4). The lowest score gives the easiest symbol to read.
fn penalty(dark: &[bool], width: usize) -> usize {
    let mut score = 0;
    let mut column = vec![false; width];
    for i in 0..width {
        for (y, module) in column.iter_mut().enumerate() {
            *module = dark[y * width + i];
        }
        score += line_penalty(&dark[i * width..][..width]) + line_penalty(&column);
    }
    for y in 1..width {
        let (upper, lower) = (&dark[(y - 1) * width..][..width], &dark[y * width..][..width]);
        for x in 1..width {
            let c = upper[x];
            score += 3 * usize::from((upper[x - 1] == c) & (lower[x - 1] == c) & (lower[x] == c));
        }
    }
    let dark_percent = dark.iter().filter(|d| **d).count() * 100 / dark.len().max(1);
    score + 10 * (dark_percent.abs_diff(50) / 5)
}

/// N1 and N3 for one row or column; outside the symbol is light (the quiet zone).
/// Branch-free: modules are noise to a branch predictor, and this runs for every row and column of
/// all eight masks.
fn line_penalty(line: &[bool]) -> usize {
    // The last 11 modules seen, newest in bit 0: 1011101 with four light modules before or after.
    const LIGHT_THEN_FINDER: u16 = 0b000_0101_1101;
    const FINDER_THEN_LIGHT: u16 = 0b101_1101_0000;
    let (mut score, mut run, mut window, mut previous) = (0, 0usize, 0u16, false);
    for &dark in line {
        let same = dark == previous;
        score += usize::from(!same & (run >= 5)) * run.saturating_sub(2);
        run = run * usize::from(same) + 1;
        previous = dark;
        window = ((window << 1) | u16::from(dark)) & 0x7ff;
        score += 40 * usize::from((window == LIGHT_THEN_FINDER) | (window == FINDER_THEN_LIGHT));
    }
    score += usize::from(run >= 5) * run.saturating_sub(2);
    for _ in 0..4 {
        window = (window << 1) & 0x7ff;
        score += 40 * usize::from(window == FINDER_THEN_LIGHT);
    }
    score
}

/// (start, length) of each run of dark modules in a row.
fn dark_runs(row: &[bool]) -> impl Iterator<Item = (u16, u16)> + '_ {
    let mut x = 0;
    std::iter::from_fn(move || {
        let start = x + row[x..].iter().position(|d| *d)?;
        let len = row[start..].iter().take_while(|d| **d).count();
        x = start + len;
        Some((start as u16, len as u16))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::invoice;

    #[test]
    fn payload_known_answer() {
        assert_eq!(
            gost_qr_payload(&invoice()),
            "ST00012|Name=ООО «Автобилл»|PersonalAcc=40702810238000001234|BankName=ПАО Сбербанк\
             |BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7707083893|KPP=773601001\
             |Sum=1200000|Purpose=Оплата по счёту № 2026-000042 от 27.11.2026, в т.ч. НДС 22% 2 163,93 руб."
        );
    }

    #[test]
    fn payload_strips_separators_and_omits_missing_kpp() {
        let mut inv = invoice();
        inv.seller.kpp = None;
        inv.seller.name = "ИП Иванов | \"Ромашка\"\n".into();
        inv.seller.bank = "Б".repeat(100);
        let payload = gost_qr_payload(&inv);
        assert!(
            payload.starts_with("ST00012|Name=ИП Иванов  \"Ромашка\"|PersonalAcc="),
            "{payload}"
        );
        assert!(!payload.contains("KPP="));
        assert!(payload.contains(&format!("|BankName={}|", "Б".repeat(45))));
        assert_eq!(payload.matches('|').count(), 8);
    }

    #[test]
    fn dark_runs_in_a_row() {
        let (d, l) = (true, false);
        assert_eq!(
            dark_runs(&[d, d, l, d, l, l, d, d, d]).collect::<Vec<_>>(),
            [(0, 2), (3, 1), (6, 3)]
        );
        assert_eq!(dark_runs(&[l, l]).count(), 0);
    }

    #[test]
    fn line_penalty_counts_runs_and_finder_lookalikes() {
        let (d, l) = (true, false);
        assert_eq!(line_penalty(&[d, l, d, l, d, l]), 0);
        assert_eq!(line_penalty(&[d, d, d, d, d, l, d, d, d, d, d, d]), 3 + 4);
        // A finder look-alike with light modules outside the symbol on both sides: counted twice.
        assert_eq!(line_penalty(&[d, l, d, d, d, l, d]), 80);
    }

    #[test]
    fn same_symbol_size_as_the_crate_builds() {
        let payload = gost_qr_payload(&invoice());
        let (width, dark) = modules(payload.as_bytes()).unwrap();
        let reference = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).unwrap();
        assert_eq!(width, reference.width());
        assert_eq!(dark.len(), width * width);
    }
}
