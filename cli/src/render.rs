//! Text for people: aligned tables, key/value blocks, money and timestamps.

use chrono::{DateTime, SecondsFormat, Utc};

/// `12 000,00 ₽` from kopecks (integer arithmetic only); other currencies keep their code.
pub fn money(kopecks: i64, currency: &str) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let units = (kopecks / 100).unsigned_abs().to_string();
    let cents = (kopecks % 100).unsigned_abs();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    let symbol = match currency {
        "RUB" => "₽",
        other => other,
    };
    format!("{sign}{grouped},{cents:02} {}", clean(symbol))
}

/// An RFC 3339 instant in UTC to the second (`2026-11-27 10:00:00Z`); anything else as given.
pub fn instant(s: &str) -> String {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
            .replacen('T', " ", 1),
        Err(_) => clean(s),
    }
}

/// One line of server-supplied text, safe for a terminal: control characters (newlines,
/// escape sequences) become spaces.
pub fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Like `clean`, keeping line breaks.
pub fn clean_lines(s: &str) -> String {
    let mut out: Vec<String> = s.lines().map(clean).collect();
    if s.ends_with('\n') {
        out.push(String::new());
    }
    out.join("\n")
}

/// Valid JSON text indented two spaces a level, one member or element a line, and nothing
/// else changed: key order, numbers and string escapes stay as the API wrote them.
pub fn json_text(raw: &str) -> String {
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                let close = if c == '{' { '}' } else { ']' };
                out.push(c);
                if chars.next_if_eq(&close).is_some() {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// `value`, or a dash when absent.
pub fn or_dash(value: Option<&str>) -> String {
    value.map_or_else(|| "—".to_owned(), clean)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, counted in characters (so Cyrillic lines up), two
/// spaces apart; a header row; no trailing spaces. No rows: `(none)`.
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Cells beyond the columns are dropped, missing ones are blank.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.iter().map(|c| clean(c)).collect();
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        if self.rows.is_empty() {
            return "(none)\n".to_owned();
        }
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (title, _))| {
                self.rows
                    .iter()
                    .map(|row| width(&row[i]))
                    .fold(width(title), usize::max)
            })
            .collect();
        let header = self.columns.iter().map(|(title, _)| title.to_string());
        let mut out = String::new();
        for cells in std::iter::once(header.collect::<Vec<_>>()).chain(self.rows.iter().cloned()) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - width(cell));
                match self.columns[i].1 {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `label  value` lines with the values aligned; absent values are left out.
pub fn block(pairs: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &String)> = pairs
        .iter()
        .filter_map(|(label, value)| value.as_ref().map(|v| (*label, v)))
        .collect();
    let width = present
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    present
        .iter()
        .map(|(label, value)| {
            let pad = " ".repeat(width - label.chars().count());
            format!("{label}{pad}  {}\n", clean(value))
        })
        .collect()
}

/// A titled table after a blank line.
pub fn section(title: &str, table: &Table) -> String {
    format!("\n{title}\n{}", table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_with_comma_kopecks() {
        assert_eq!(money(0, "RUB"), "0,00 ₽");
        assert_eq!(money(5, "RUB"), "0,05 ₽");
        assert_eq!(money(99, "RUB"), "0,99 ₽");
        assert_eq!(money(100, "RUB"), "1,00 ₽");
        assert_eq!(money(99_999, "RUB"), "999,99 ₽");
        assert_eq!(money(100_000, "RUB"), "1 000,00 ₽");
        assert_eq!(money(1_200_000, "RUB"), "12 000,00 ₽");
        assert_eq!(money(123_456_789, "RUB"), "1 234 567,89 ₽");
        assert_eq!(money(-5, "RUB"), "-0,05 ₽");
        assert_eq!(money(-150, "RUB"), "-1,50 ₽");
        assert_eq!(money(-1_200_001, "RUB"), "-12 000,01 ₽");
        assert_eq!(money(i64::MIN, "RUB"), "-92 233 720 368 547 758,08 ₽");
        assert_eq!(money(i64::MAX, "RUB"), "92 233 720 368 547 758,07 ₽");
        assert_eq!(money(250, "USD"), "2,50 USD");
    }

    #[test]
    fn instants_are_shown_in_utc_to_the_second() {
        assert_eq!(instant("2026-11-27T10:00:00Z"), "2026-11-27 10:00:00Z");
        assert_eq!(instant("2026-11-27T13:00:00.123+03:00"), "2026-11-27 10:00:00Z");
        assert_eq!(instant("2026-11-27"), "2026-11-27");
        assert_eq!(instant("bad\u{1b}[31m"), "bad [31m");
    }

    #[test]
    fn tables_align_cyrillic_by_characters() {
        let mut t = Table::new(&[("NUMBER", Align::Left), ("BUYER", Align::Left), ("TOTAL", Align::Right)]);
        t.row(vec![
            "2026-000001".into(),
            "ООО «Ромашка»".into(),
            money(1_200_000, "RUB"),
        ]);
        t.row(vec!["2026-000002".into(), "ИП Ёлкин".into(), money(5, "RUB")]);
        t.row(vec!["2026-000003".into(), "Acme\nLtd".into()]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "NUMBER       BUYER                TOTAL",
                "2026-000001  ООО «Ромашка»  12 000,00 ₽",
                "2026-000002  ИП Ёлкин            0,05 ₽",
                "2026-000003  Acme Ltd",
            ]
        );
        // Every column starts at the same character offset on every line.
        let start = |line: &str, needle: &str| line[..line.find(needle).unwrap()].chars().count();
        assert_eq!(start(lines[1], "ООО"), start(lines[0], "BUYER"));
        assert_eq!(start(lines[2], "ИП"), start(lines[0], "BUYER"));
        assert!(out.lines().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn blocks_align_values_and_skip_absent_ones() {
        let out = block(&[
            ("Number", Some("2026-000123".into())),
            ("Void reason", None),
            ("Покупатель", Some("ООО «Ромашка»".into())),
        ]);
        assert_eq!(out, "Number      2026-000123\nПокупатель  ООО «Ромашка»\n");
        assert_eq!(block(&[]), "");
    }

    #[test]
    fn json_is_indented_as_it_came() {
        let raw = r#" {"z": 1, "a": [1, 2.50, 12345678901234567890123], "e": {}, "l": [ ],
            "s": "a, {b}: [c] \"q\" \\", "n": {"k": null}} "#;
        let out = json_text(raw);
        assert_eq!(
            out,
            "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2.50,\n    12345678901234567890123\n  ],\n  \"e\": {},\n  \"l\": [],\n  \
             \"s\": \"a, {b}: [c] \\\"q\\\" \\\\\",\n  \"n\": {\n    \"k\": null\n  }\n}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, serde_json::from_str::<serde_json::Value>(raw).unwrap());
        assert_eq!(json_text("[]"), "[]\n");
        assert_eq!(json_text("\"x\""), "\"x\"\n");
        assert_eq!(clean_lines("a\u{1b}b\nc\n"), "a b\nc\n");
    }

    #[test]
    fn empty_sections_say_so() {
        let t = Table::new(&[("A", Align::Left)]);
        assert_eq!(section("History", &t), "\nHistory\n(none)\n");
        assert_eq!(or_dash(None), "—");
        assert_eq!(or_dash(Some("a\tb")), "a b");
    }
}
