//! Drawing on one A4 page in points, measured from the top-left corner (PDF's y axis points up),
//! and measuring and wrapping text with the fonts' own glyph widths.

use super::font::{Style, Subset};
use pdf_writer::{Content, Str};

pub(super) const PAGE_WIDTH: f32 = 595.28;
pub(super) const PAGE_HEIGHT: f32 = 841.89;

/// A face at a size.
#[derive(Clone, Copy, Debug)]
pub(super) struct Font {
    pub style: Style,
    pub size: f32,
}

impl Font {
    pub const fn regular(size: f32) -> Font {
        Font {
            style: Style::Regular,
            size,
        }
    }

    pub const fn bold(size: f32) -> Font {
        Font {
            style: Style::Bold,
            size,
        }
    }

    pub fn width(self, text: &str) -> f32 {
        let face = self.style.face();
        text.chars().map(|c| face.char_width(c)).sum::<f32>() * self.size / 1000.0
    }

    /// Distance between baselines.
    pub const fn leading(self) -> f32 {
        self.size * 1.25
    }

    /// From the top of a line box to its baseline: room for capitals and accents above,
    /// descenders below.
    pub const fn ascent(self) -> f32 {
        self.size * 0.95
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// One page being drawn, and the glyphs it has used so far.
pub(super) struct Canvas {
    content: Content,
    subsets: [Subset; 2],
    /// The font and line width last set in the content stream, to avoid repeating them.
    font: Option<(Style, f32)>,
    line_width: Option<f32>,
    scratch: Vec<u8>,
}

impl Canvas {
    pub fn new() -> Canvas {
        Canvas {
            content: Content::new(),
            subsets: Style::ALL.map(Subset::new),
            font: None,
            line_width: None,
            scratch: Vec::new(),
        }
    }

    /// Draws one line of text with its left edge at `x` and its baseline at `baseline`.
    pub fn text(&mut self, x: f32, baseline: f32, font: Font, text: &str) {
        self.scratch.clear();
        self.subsets[font.style as usize].encode(text, &mut self.scratch);
        if self.font != Some((font.style, font.size)) {
            self.content.set_font(font.style.resource(), font.size);
            self.font = Some((font.style, font.size));
        }
        self.content
            .begin_text()
            .next_line(round(x), flip(baseline))
            .show(Str(&self.scratch))
            .end_text();
    }

    /// Draws one line of text aligned within `[left, right]`.
    pub fn text_aligned(&mut self, left: f32, right: f32, baseline: f32, font: Font, text: &str, align: Align) {
        let x = match align {
            Align::Left => left,
            Align::Center => (left + right - font.width(text)) / 2.0,
            Align::Right => right - font.width(text),
        };
        self.text(x, baseline, font, text);
    }

    /// Draws wrapped lines starting at `top`; returns the height they took.
    pub fn lines(&mut self, left: f32, right: f32, top: f32, font: Font, lines: &[String], align: Align) -> f32 {
        for (i, line) in lines.iter().enumerate() {
            let baseline = top + font.ascent() + i as f32 * font.leading();
            self.text_aligned(left, right, baseline, font, line, align);
        }
        lines.len() as f32 * font.leading()
    }

    /// Wraps `text` to the width of `[left, right]` and draws it; returns the height it took.
    pub fn paragraph(&mut self, left: f32, right: f32, top: f32, font: Font, text: &str, max_lines: usize) -> f32 {
        let lines = wrap(text, font, right - left, max_lines);
        self.lines(left, right, top, font, &lines, Align::Left)
    }

    pub fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), width: f32) {
        self.set_line_width(width);
        self.content
            .move_to(round(x1), flip(y1))
            .line_to(round(x2), flip(y2))
            .stroke();
    }

    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.line((x1, y), (x2, y), width);
    }

    pub fn vline(&mut self, x: f32, y1: f32, y2: f32, width: f32) {
        self.line((x, y1), (x, y2), width);
    }

    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        self.set_line_width(width);
        self.content.rect(round(x), flip(y + h), round(w), round(h)).stroke();
    }

    fn set_line_width(&mut self, width: f32) {
        if self.line_width != Some(width) {
            self.content.set_line_width(width);
            self.line_width = Some(width);
        }
    }

    /// Fills a grid of `cells` (x, y, width, height in `unit`-sized cells) as one path, with
    /// the grid's top-left corner at (`x`, `y`): small integers keep the content stream short.
    pub fn fill_cells(&mut self, x: f32, y: f32, unit: f32, cells: impl IntoIterator<Item = [u16; 4]>) {
        self.content
            .save_state()
            .transform([unit, 0.0, 0.0, -unit, round(x), flip(y)]);
        for [cx, cy, w, h] in cells {
            self.content
                .rect(f32::from(cx), f32::from(cy), f32::from(w), f32::from(h));
        }
        self.content.fill_nonzero().restore_state();
    }

    /// The content stream and the glyphs it uses (regular, bold).
    pub fn finish(self) -> (Vec<u8>, [Subset; 2]) {
        (self.content.finish().into_vec(), self.subsets)
    }
}

/// To 1/100 pt: finer than any printer, and short numbers in the content stream.
fn round(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

/// From our top-down y to PDF's bottom-up y.
fn flip(y: f32) -> f32 {
    round(PAGE_HEIGHT - y)
}

/// Breaks `text` into lines no wider than `width`. Whitespace other than the no-break space, and
/// control characters, separate words; a word longer than a line is split between characters.
/// Past `max_lines` the text is cut and the last line ends with «…».
pub(super) fn wrap(text: &str, font: Font, width: f32, max_lines: usize) -> Vec<String> {
    let max_lines = max_lines.max(1);
    let mut w = Wrapper {
        font,
        width,
        max_lines,
        space: font.width(" "),
        lines: Vec::new(),
        line: String::new(),
        line_width: 0.0,
    };
    let breaks = |c: char| (c.is_whitespace() && c != '\u{a0}') || c.is_control();
    for word in text.split(breaks).filter(|w| !w.is_empty()) {
        if w.is_full() {
            break;
        }
        w.push_word(word);
    }
    w.break_line();
    let mut lines = w.lines;
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            ellipsize(last, font, width);
        }
    }
    lines
}

/// Like [`wrap`] of `text` followed by `tail`, but when the whole does not fit in `max_lines`, it
/// is `text` that gets cut, and `tail` (a service period, a date) follows whole on lines of its
/// own. Only a single allowed line may cut the tail too.
pub(super) fn wrap_with_tail(text: &str, tail: &str, font: Font, width: f32, max_lines: usize) -> Vec<String> {
    if tail.trim().is_empty() {
        return wrap(text, font, width, max_lines);
    }
    let whole = format!("{text} {tail}");
    // One line more than allowed tells whether the whole would be cut.
    let lines = wrap(&whole, font, width, max_lines.saturating_add(1));
    if lines.len() <= max_lines || max_lines <= 1 {
        return wrap(&whole, font, width, max_lines);
    }
    // Wrapped together they never take more lines than apart, so `text` is the one being cut.
    let tail = wrap(tail, font, width, max_lines - 1);
    let mut lines = wrap(text, font, width, max_lines - tail.len());
    lines.extend(tail);
    lines
}

struct Wrapper {
    font: Font,
    width: f32,
    max_lines: usize,
    space: f32,
    lines: Vec<String>,
    line: String,
    line_width: f32,
}

impl Wrapper {
    fn push_word(&mut self, word: &str) {
        let word_width = self.font.width(word);
        let gap = if self.line.is_empty() { 0.0 } else { self.space };
        if self.line_width + gap + word_width <= self.width {
            if !self.line.is_empty() {
                self.line.push(' ');
            }
            self.line.push_str(word);
            self.line_width += gap + word_width;
        } else if word_width <= self.width {
            self.break_line();
            self.line.push_str(word);
            self.line_width = word_width;
        } else {
            self.break_line();
            self.push_chars(word);
        }
    }

    /// A word wider than a line: as many characters per line as fit (at least one).
    fn push_chars(&mut self, word: &str) {
        let face = self.font.style.face();
        for c in word.chars() {
            let w = face.char_width(c) * self.font.size / 1000.0;
            if self.line_width + w > self.width && !self.line.is_empty() {
                self.break_line();
                if self.is_full() {
                    return;
                }
            }
            self.line.push(c);
            self.line_width += w;
        }
    }

    /// Past the last line allowed: the text will be cut, so the rest need not be measured.
    fn is_full(&self) -> bool {
        self.lines.len() > self.max_lines
    }

    fn break_line(&mut self) {
        if !self.line.is_empty() {
            self.lines.push(std::mem::take(&mut self.line));
            self.line_width = 0.0;
        }
    }
}

/// Shortens `line` until it fits `width` with a trailing «…».
fn ellipsize(line: &mut String, font: Font, width: f32) {
    while !line.is_empty() && font.width(line) + font.width("…") > width {
        line.pop();
    }
    line.truncate(line.trim_end().len());
    line.push('…');
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Font = Font::regular(10.0);

    #[test]
    fn wraps_at_spaces_within_the_width() {
        let text = "Подписка на сервис, тариф «Pro», период 1 месяц";
        let width = F.width("Подписка на сервис,") + 1.0;
        let lines = wrap(text, F, width, 10);
        assert_eq!(lines[0], "Подписка на сервис,");
        assert!(lines.iter().all(|l| F.width(l) <= width), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        let nbsp = "ул. Ленина, г.\u{a0}Москва";
        assert_eq!(
            wrap(nbsp, F, F.width("ул. Ленина, г. Мо"), 5),
            ["ул. Ленина,", "г.\u{a0}Москва"]
        );
    }

    #[test]
    fn long_words_break_and_long_text_is_cut() {
        let word = "Ё".repeat(1_000);
        let lines = wrap(&word, F, 100.0, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| F.width(l) <= 100.0), "{lines:?}");
        assert!(lines[2].ends_with('…'));
        assert_eq!(wrap("", F, 100.0, 3), Vec::<String>::new());
        // Narrower than one character: one character per line, never an endless loop.
        assert_eq!(wrap("абв", F, 1.0, 5), ["а", "б", "в"]);
    }

    #[test]
    fn the_tail_survives_cutting() {
        let tail = "за период с 01.12.2026 по 31.12.2026";
        let width = F.width(tail) + 1.0;
        let lines = wrap_with_tail("Подписка", tail, F, width, 4);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines.join(" "), format!("Подписка {tail}"));
        let lines = wrap_with_tail(&"Ё".repeat(1_000), tail, F, width, 4);
        assert_eq!(lines.len(), 4);
        assert!(lines[2].ends_with('…'), "{lines:?}");
        assert_eq!(lines[3], tail);
        assert_eq!(wrap_with_tail("Ё", tail, F, 1.0, 1).len(), 1);
    }

    #[test]
    fn digits_have_equal_widths_for_right_alignment() {
        assert!(F.width("1") > 0.0);
        assert_eq!(F.width("1 111,11"), F.width("9 999,99"));
    }
}
