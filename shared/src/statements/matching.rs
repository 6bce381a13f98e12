//! Which invoices a bank transfer's purpose (НазначениеПлатежа) names, and how its amount is
//! split over them.
//!
//! The purpose is free text typed by the payer's accountant, so recognition is a small
//! hand-written scanner over normalised characters (lower case, `ё` = `е`, whitespace runs
//! collapsed to one space): one forward pass with bounded look-ahead, linear in the length of
//! the text, and no panics on any input.

use crate::domain::{InvoiceNumber, Kopecks};
use std::collections::HashSet;

/// The invoices a payment purpose names, in order of first appearance, without repeats.
///
/// Recognised: the full number with the seller's `prefix` anywhere in the text
/// (`2026-000123`, `AB-2026-123`), and, after an invoice word (`счет`, `счёту`, `сч.`,
/// `счетам`, `счет-оферта`, …) and an optional `№`/`N`/`#`/`номер`, a list of full numbers
/// (prefix optional there) or bare sequence numbers. A bare number belongs to `default_year`
/// unless an `от DD.MM.YYYY` date follows it. Contract, act, payment-order and VAT-invoice
/// numbers, dates, amounts and account numbers are not invoices. The returned numbers carry
/// `prefix` as configured.
pub fn invoice_numbers(purpose: &str, prefix: &str, default_year: i32) -> Vec<InvoiceNumber> {
    let text = normalize(purpose);
    let mut norm_prefix = normalize(prefix);
    while norm_prefix.last() == Some(&' ') {
        norm_prefix.pop();
    }
    while norm_prefix.first() == Some(&' ') {
        norm_prefix.remove(0);
    }
    let scanner = Scanner {
        s: &text,
        prefix: &norm_prefix,
        default_year,
    };
    let mut seen = HashSet::new();
    scanner
        .scan()
        .into_iter()
        .filter(|key| seen.insert(*key))
        .map(|(year, seq)| InvoiceNumber {
            prefix: prefix.to_owned(),
            year,
            seq,
        })
        .collect()
}

/// One invoice's share of a payment: `index` into the `dues` given to [`allocate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub index: usize,
    pub amount: Kopecks,
}

/// A payment split over invoices, and what is left over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub allocations: Vec<Allocation>,
    pub excess: Kopecks,
}

/// Splits `amount` over balances due in order: each invoice gets up to its balance; what is left
/// after the last is `excess` (an overpayment). Invoices with nothing due get no allocation.
///
/// A zero or negative `amount` allocates nothing and leaves no excess; a zero or negative due
/// counts as nothing due. Allocations never exceed what is left, so nothing can overflow.
pub fn allocate(amount: Kopecks, dues: &[Kopecks]) -> Split {
    let mut left = amount.0.max(0);
    let mut allocations = Vec::new();
    for (index, due) in dues.iter().enumerate() {
        if left == 0 {
            break;
        }
        if due.0 <= 0 {
            continue;
        }
        let take = left.min(due.0);
        allocations.push(Allocation {
            index,
            amount: Kopecks(take),
        });
        left -= take;
    }
    Split {
        allocations,
        excess: Kopecks(left),
    }
}

/// Lower case, `ё` → `е`, any whitespace or control run → one space, invisible characters
/// (soft hyphen, zero-width spaces, BOM) after a letter dropped, hyphen look-alikes → `-`.
fn normalize(text: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // Inside a word only: digits are never joined, so a number is always as typed.
            '\u{AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
                if out.last().is_some_and(|c| c.is_alphabetic()) => {}
            '\u{2010}' | '\u{2011}' | '\u{2212}' => out.push('-'),
            c if c.is_whitespace() || c.is_control() => {
                if out.last() != Some(&' ') {
                    out.push(' ');
                }
            }
            c => out.extend(c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l })),
        }
    }
    out
}

/// Latin letters typed in place of their Cyrillic twins (`cчет`, `No` with a Cyrillic `о`).
/// Used only when comparing words with the fixed vocabulary below.
fn fold(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        c => c,
    }
}

fn word_is(word: &[char], lit: &str) -> bool {
    word.len() == lit.chars().count() && word.iter().zip(lit.chars()).all(|(&a, b)| fold(a) == fold(b))
}

fn word_starts(word: &[char], lit: &str) -> bool {
    word.len() >= lit.chars().count() && word.iter().zip(lit.chars()).all(|(&a, b)| fold(a) == fold(b))
}

/// Endings of `счет` that make an invoice word: `счет`, `счета`, `счету`, `счетам`, ….
const INVOICE_ENDINGS: [&str; 9] = ["", "а", "у", "ам", "ов", "е", "ом", "ами", "ах"];

/// Words before `счет` that make it a bank or personal account, not an invoice.
const ACCOUNT_QUALIFIERS: [&str; 10] = [
    "лицев",
    "расчетн",
    "расч",
    "корр",
    "кор",
    "банковск",
    "текущ",
    "депозит",
    "валютн",
    "ссудн",
];

/// `№`, `N`, `No`, `номер` and the like between an invoice word and its number.
const NUMBER_WORDS: [&str; 5] = ["n", "no", "nr", "н", "ном"];

/// Words right after a bare number that make it an amount, a quantity or a year.
const UNIT_PREFIXES: [&str; 7] = ["руб", "коп", "тыс", "млн", "год", "шт", "rub"];
const UNIT_WORDS: [&str; 3] = ["р", "г", "гг"];

/// Month names as stems, in order (`мар` before `ма` so that `марта` is March).
const MONTHS: [(&str, u32); 12] = [
    ("янв", 1),
    ("фев", 2),
    ("мар", 3),
    ("апр", 4),
    ("ма", 5),
    ("июн", 6),
    ("июл", 7),
    ("авг", 8),
    ("сен", 9),
    ("окт", 10),
    ("ноя", 11),
    ("дек", 12),
];

enum Word {
    /// An invoice word; its number list follows.
    Marker,
    /// A word whose number is not an invoice's (contract, act, payment order, account);
    /// the position after the whole phrase.
    Blocker(usize),
    Other,
}

/// A number found after an invoice word: a full number has its own year.
#[derive(Clone, Copy)]
enum Item {
    Full(i32, u64),
    Bare(u64),
}

struct Scanner<'a> {
    s: &'a [char],
    prefix: &'a [char],
    default_year: i32,
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn is_digit(&self, i: usize) -> bool {
        self.at(i).is_some_and(|c| c.is_ascii_digit())
    }

    fn is_alpha(&self, i: usize) -> bool {
        self.at(i).is_some_and(char::is_alphabetic)
    }

    fn word_end(&self, mut i: usize) -> usize {
        while self.is_alpha(i) {
            i += 1;
        }
        i
    }

    fn digits_end(&self, mut i: usize) -> usize {
        while self.is_digit(i) {
            i += 1;
        }
        i
    }

    fn skip_space(&self, i: usize) -> usize {
        if self.at(i) == Some(' ') { i + 1 } else { i }
    }

    /// The word starting at `i` (empty if `i` is not a letter).
    fn word(&self, i: usize) -> &[char] {
        let i = i.min(self.s.len());
        &self.s[i..self.word_end(i)]
    }

    /// An ASCII digit run of 1..=`max` digits at `i`: its value and length. A longer run is
    /// `None` (read no further than `max + 1` characters).
    fn num(&self, i: usize, max: usize) -> Option<(u64, usize)> {
        let mut value: u64 = 0;
        let mut len = 0;
        while let Some(d) = self
            .at(i + len)
            .filter(char::is_ascii_digit)
            .and_then(|c| c.to_digit(10))
        {
            if len == max {
                return None;
            }
            value = value * 10 + u64::from(d);
            len += 1;
        }
        (len > 0).then_some((value, len))
    }

    fn has_prefix_at(&self, i: usize) -> bool {
        self.s.get(i..).is_some_and(|rest| rest.starts_with(self.prefix))
    }

    fn scan(&self) -> Vec<(i32, u64)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.s.len() {
            if let Some((year, seq, end)) = self.anywhere(i) {
                out.push((year, seq));
                i = end;
                continue;
            }
            let c = self.s[i];
            if c.is_alphabetic() {
                let end = self.word_end(i);
                let word_start = i == 0 || !self.s[i - 1].is_alphabetic();
                i = if !word_start {
                    end
                } else {
                    match self.classify(i, end) {
                        Word::Marker => self.marker_run(end, &mut out),
                        Word::Blocker(after) => self.skip_blocked(after),
                        Word::Other => end,
                    }
                };
            } else if c.is_ascii_digit() {
                i = self.digits_end(i);
            } else {
                i += 1;
            }
        }
        out
    }

    /// Rule 1: `{prefix}YYYY-N+` anywhere, not glued to surrounding letters or digits.
    /// Without a prefix to vouch for it, `N+` must have at least 3 digits and must not look
    /// like a year, so that periods (`2026-11`) and year ranges (`2025-2026`) are not invoices.
    fn anywhere(&self, i: usize) -> Option<(i32, u64, usize)> {
        if i > 0 {
            let before = self.s[i - 1];
            let glued = before.is_alphanumeric()
                || (matches!(before, '-' | '/' | '–' | '—') && i >= 2 && self.s[i - 2].is_alphanumeric())
                || (before == '.' && i >= 2 && self.s[i - 2].is_ascii_digit());
            if glued {
                return None;
            }
        }
        let (year, seq, digits, end) = self.full(i, true, false)?;
        if self.prefix.is_empty() && (digits < 3 || (digits == 4 && (1900..=2100).contains(&seq))) {
            return None;
        }
        Some((year, seq, end))
    }

    /// `[prefix]YYYY<sep>N+` at `i`: year, seq, digits in seq, end. `with_prefix` requires the
    /// configured prefix first; `loose` also accepts `/`, `–` and `—` as the separator.
    fn full(&self, i: usize, with_prefix: bool, loose: bool) -> Option<(i32, u64, usize, usize)> {
        let mut j = i;
        if with_prefix {
            if !self.has_prefix_at(j) {
                return None;
            }
            j += self.prefix.len();
        }
        let (year, len) = self.num(j, 4)?;
        if len != 4 || !(2000..=2099).contains(&year) {
            return None;
        }
        j += 4;
        match self.at(j) {
            Some('-') => {}
            Some('/' | '–' | '—') if loose => {}
            _ => return None,
        }
        j += 1;
        let (seq, digits) = self.num(j, 9)?;
        if seq == 0 {
            return None;
        }
        let end = j + digits;
        let glued = self.at(end).is_some_and(|after| {
            after.is_alphanumeric() || (matches!(after, '-' | '/' | '.' | '–' | '—') && self.is_digit(end + 1))
        });
        (!glued).then_some((year as i32, seq, digits, end))
    }

    fn classify(&self, i: usize, end: usize) -> Word {
        let w = &self.s[i..end];
        let invoice_word = word_is(w, "сч")
            || (word_starts(w, "счет") && INVOICE_ENDINGS.iter().any(|e| word_is(&w[4..], e)))
            || word_is(w, "invoice")
            || word_is(w, "invoices");
        if invoice_word {
            return if self.account_word_before(i) {
                Word::Blocker(end)
            } else {
                Word::Marker
            };
        }
        let blocker = word_starts(w, "договор")
            || word_is(w, "дог")
            || word_starts(w, "контракт")
            || ["акт", "акта", "акту", "актом", "акты", "актам", "актов", "акте"]
                .iter()
                .any(|a| word_is(w, a))
            || word_is(w, "упд")
            || word_is(w, "пп")
            || word_is(w, "сф")
            || word_starts(w, "накладн")
            || word_starts(w, "поручени")
            || word_starts(w, "платежк");
        if blocker {
            return Word::Blocker(end);
        }
        // `п/п`, `n/n`, `с/ф`: two one-letter words around a slash.
        if self.at(end) == Some('/') && self.is_alpha(end + 1) {
            let second = self.word(end + 1);
            let pair_end = end + 1 + second.len();
            let pp = (word_is(w, "п") || word_is(w, "n")) && (word_is(second, "п") || word_is(second, "n"));
            let sf = word_is(w, "с") && word_is(second, "ф");
            if pp || sf {
                return Word::Blocker(pair_end);
            }
        }
        Word::Other
    }

    /// `р/сч`, `лицевой счет`, `расч. счет`: the invoice word at `i` names an account.
    fn account_word_before(&self, i: usize) -> bool {
        if i == 0 {
            return false;
        }
        if self.s[i - 1] == '/' {
            return i >= 2 && self.s[i - 2].is_alphabetic();
        }
        let mut end = i;
        while end > 0 && i - end < 2 && matches!(self.s[end - 1], ' ' | '.') {
            end -= 1;
        }
        if end == i {
            return false;
        }
        let mut start = end;
        while start > 0 && end - start < 24 && self.s[start - 1].is_alphabetic() {
            start -= 1;
        }
        if start == end || (start > 0 && self.s[start - 1].is_alphabetic()) {
            return false;
        }
        let w = &self.s[start..end];
        ACCOUNT_QUALIFIERS.iter().any(|q| word_starts(w, q))
    }

    /// After an invoice word ending at `j`: its trailers, an optional leading date, then a
    /// list of numbers. Returns the position after the last thing consumed (at least `j`).
    fn marker_run(&self, mut j: usize, out: &mut Vec<(i32, u64)>) -> usize {
        if let Some(after) = self.vat_invoice_after(j) {
            return self.skip_blocked(after);
        }
        if self.at(j) == Some('.') {
            j += 1;
        } else if self.at(j) == Some('-') && self.is_alpha(j + 1) {
            // счет-оферта, счету-оферте, счет-договор
            let w = self.word(j + 1);
            if word_starts(w, "оферт") || word_starts(w, "договор") {
                j = j + 1 + w.len();
            }
        }
        // "счет на оплату"
        let k = self.skip_space(j);
        if word_is(self.word(k), "на") {
            let k2 = self.skip_space(k + 2);
            let w = self.word(k2);
            if word_starts(w, "оплат") {
                j = k2 + w.len();
            }
        }
        // "счет от 27.11.2026 № 123"
        let mut leading_year = None;
        if let Some((year, end)) = self.ot_date(self.skip_space(j)) {
            leading_year = Some(year);
            j = end;
        }

        let mut items: Vec<(Option<i32>, u64)> = Vec::new();
        let mut undated_from = 0;
        let mut cursor = j;
        loop {
            let k = self.number_sign(cursor);
            let Some((item, mut end)) = self.item(k) else {
                break;
            };
            items.push(match item {
                Item::Full(year, seq) => (Some(year), seq),
                Item::Bare(seq) => (None, seq),
            });
            // "№ 12 от 01.02.2025": the date's year goes to this and earlier undated numbers.
            let mut k = self.skip_space(end);
            if self.at(k) == Some(',') {
                k = self.skip_space(k + 1);
            }
            if let Some((year, date_end)) = self.ot_date(k) {
                for it in &mut items[undated_from..] {
                    it.0.get_or_insert(year);
                }
                undated_from = items.len();
                end = date_end;
            }
            j = end;
            match self.separator(end) {
                Some(next) => cursor = next,
                None => break,
            }
        }
        let year = leading_year.unwrap_or(self.default_year);
        out.extend(items.into_iter().map(|(y, seq)| (y.unwrap_or(year), seq)));
        j
    }

    /// `сч/ф`, `счет-фактура`, `сч. ф.`: the invoice word ending at `j` is a VAT invoice's.
    fn vat_invoice_after(&self, j: usize) -> Option<usize> {
        let mut k = j;
        if matches!(self.at(k), Some('/' | '.' | '-')) {
            k += 1;
        }
        k = self.skip_space(k);
        let w = self.word(k);
        if word_is(w, "ф") || word_starts(w, "фактур") {
            let end = k + w.len();
            Some(if self.at(end) == Some('.') { end + 1 } else { end })
        } else {
            None
        }
    }

    /// Skips `№`, `N`, `No`, `#`, `номер`, `:`, opening quotes and brackets before a number.
    fn number_sign(&self, mut j: usize) -> usize {
        for _ in 0..8 {
            let k = self.skip_space(j);
            if matches!(
                self.at(k),
                Some('№' | '#' | ':' | '"' | '\'' | '«' | '„' | '“' | '(' | '[')
            ) {
                j = k + 1;
                continue;
            }
            let w = self.word(k);
            if !w.is_empty() && (NUMBER_WORDS.iter().any(|n| word_is(w, n)) || word_starts(w, "номер")) {
                j = k + w.len();
                if self.at(j) == Some('.') {
                    j += 1;
                }
                continue;
            }
            return k;
        }
        self.skip_space(j)
    }

    /// `,` `;` `+` or `и` between the numbers of a list: the position after it.
    fn separator(&self, j: usize) -> Option<usize> {
        let mut k = self.skip_space(j);
        for _ in 0..3 {
            if matches!(self.at(k), Some(')' | ']' | '»' | '"' | '“' | '\'')) {
                k = self.skip_space(k + 1);
            }
        }
        match self.at(k) {
            Some(',' | ';' | '+') => Some(k + 1),
            _ if word_is(self.word(k), "и") => Some(k + 1),
            _ => None,
        }
    }

    /// A number after an invoice word: full (with or without the prefix) or bare.
    fn item(&self, k: usize) -> Option<(Item, usize)> {
        let with_prefix = (!self.prefix.is_empty()).then(|| self.full(k, true, true)).flatten();
        if let Some((year, seq, _, end)) = with_prefix.or_else(|| self.full(k, false, true)) {
            return Some((Item::Full(year, seq), end));
        }
        self.bare(k).map(|(seq, end)| (Item::Bare(seq), end))
    }

    /// A bare sequence number: 1–9 digits, not zero, and not part of a date, a decimal, a
    /// grouped amount (`12 000,00`), an amount with its unit, or a year.
    fn bare(&self, k: usize) -> Option<(u64, usize)> {
        let (seq, len) = self.num(k, 9)?;
        if seq == 0 {
            return None;
        }
        let end = k + len;
        match self.at(end) {
            // Glued letters: only `от` may follow (`7от31.12.2025`).
            Some(c) if c.is_alphabetic() && !word_is(self.word(end), "от") => return None,
            Some(c) if c.is_alphabetic() => {}
            Some(c) if c.is_alphanumeric() => return None,
            Some('-' | '–' | '—' | '/' | '.' | ',') if self.is_digit(end + 1) => return None,
            Some('%' | '₽' | '$' | '€') => return None,
            _ => {}
        }
        if self.at(end) == Some(' ') {
            let k2 = end + 1;
            if matches!(self.at(k2), Some('%' | '₽')) {
                return None;
            }
            if self.num(k2, 3).is_some_and(|(_, l)| l == 3) && !self.is_digit(k2 + 3) {
                return None;
            }
            let w = self.word(k2);
            if UNIT_WORDS.iter().any(|u| word_is(w, u)) || UNIT_PREFIXES.iter().any(|u| word_starts(w, u)) {
                return None;
            }
        }
        Some((seq, end))
    }

    /// `от` and a date at `j`: the date's year and the position after it (and after a
    /// following `г.`/`года`).
    fn ot_date(&self, j: usize) -> Option<(i32, usize)> {
        let w = self.word(j);
        if !word_is(w, "от") {
            return None;
        }
        let (year, mut end) = self.date(self.skip_space(j + w.len()))?;
        let k = self.skip_space(end);
        let w = self.word(k);
        if word_is(w, "г") || word_starts(w, "год") {
            end = k + w.len();
            if self.at(end) == Some('.') {
                end += 1;
            }
        }
        Some((year, end))
    }

    /// `DD.MM.YYYY`, `DD.MM.YY` (also with `/` or `-`), `DD месяца YYYY`, `YYYY-MM-DD`.
    fn date(&self, k: usize) -> Option<(i32, usize)> {
        let (first, first_len) = self.num(k, 4)?;
        let mut j = k + first_len;
        let year = if first_len == 4 {
            let sep = self.at(j).filter(|c| matches!(c, '-' | '.'))?;
            let (month, month_len) = self.num(j + 1, 2)?;
            j += 1 + month_len;
            if self.at(j) != Some(sep) || !(1..=12).contains(&month) {
                return None;
            }
            let (day, day_len) = self.num(j + 1, 2)?;
            if !(1..=31).contains(&day) {
                return None;
            }
            j += 1 + day_len;
            first
        } else if first_len <= 2 {
            if !(1..=31).contains(&first) {
                return None;
            }
            match self.at(j) {
                Some(sep @ ('.' | '/' | '-')) => {
                    let (month, month_len) = self.num(j + 1, 2)?;
                    j += 1 + month_len;
                    if self.at(j) != Some(sep) || !(1..=12).contains(&month) {
                        return None;
                    }
                    j += 1;
                }
                Some(' ') => {
                    let w = self.word(j + 1);
                    MONTHS.iter().find(|(stem, _)| word_starts(w, stem))?;
                    j = self.skip_space(j + 1 + w.len());
                }
                _ => return None,
            }
            let (year, year_len) = self.num(j, 4)?;
            if year_len != 2 && year_len != 4 {
                return None;
            }
            j += year_len;
            if year_len == 2 { 2000 + year } else { year }
        } else {
            return None;
        };
        if !(2000..=2099).contains(&year) || self.is_digit(j) {
            return None;
        }
        Some((year as i32, j))
    }

    /// After a word whose number is not an invoice's (ending at `j`): skips `№`, the number
    /// (`15`, `15/2`, `2026-000015`) and its date, so rule 1 does not pick it up.
    fn skip_blocked(&self, j: usize) -> usize {
        let mut k = j;
        if self.at(k) == Some('.') {
            k += 1;
        }
        if self.at(k) == Some('-') && self.is_alpha(k + 1) {
            k = self.word_end(k + 1); // договор-оферта
        }
        let mut e = self.number_sign(k);
        if self.has_prefix_at(e) && !self.prefix.is_empty() && self.is_digit(e + self.prefix.len()) {
            e += self.prefix.len();
        }
        if !self.is_digit(e) {
            return j;
        }
        loop {
            e = self.digits_end(e);
            if matches!(self.at(e), Some('-' | '/' | '.' | '–' | '—')) && self.is_digit(e + 1) {
                e += 1;
            } else {
                break;
            }
        }
        let mut k = self.skip_space(e);
        if self.at(k) == Some(',') {
            k = self.skip_space(k + 1);
        }
        self.ot_date(k).map_or(e, |(_, end)| end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn found(purpose: &str) -> Vec<String> {
        found_with(purpose, "", 2026)
    }

    fn found_with(purpose: &str, prefix: &str, default_year: i32) -> Vec<String> {
        invoice_numbers(purpose, prefix, default_year)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    // The examples of the brief.

    #[test]
    fn full_number_after_marker_with_date_and_vat() {
        assert_eq!(
            found(
                "Оплата по счету № 2026-000123 от 27.11.2026 за подписку. \
                 В т.ч. НДС 22% - 2163.93 руб."
            ),
            ["2026-000123"]
        );
    }

    #[test]
    fn bare_number_after_sch_dot_with_date() {
        assert_eq!(found("Оплата сч. 123 от 27.11.2026"), ["2026-000123"]);
    }

    #[test]
    fn bare_number_takes_two_digit_year_of_its_date() {
        assert_eq!(found("оплата счета N 45 от 01.02.25"), ["2025-000045"]);
    }

    #[test]
    fn short_full_number_glued_to_number_sign() {
        assert_eq!(found("Оплата по счёту №2026-7, НДС не облагается"), ["2026-000007"]);
    }

    #[test]
    fn two_markers_separated_by_semicolon() {
        assert_eq!(
            found("Счет 2026-000001; счет 2026-000002"),
            ["2026-000001", "2026-000002"]
        );
    }

    #[test]
    fn list_after_one_marker() {
        assert_eq!(
            found("по счетам № 2026-000001, 2026-000002 и 000003"),
            ["2026-000001", "2026-000002", "2026-000003"]
        );
        assert_eq!(found("сч. 12, 13"), ["2026-000012", "2026-000013"]);
    }

    #[test]
    fn full_number_without_marker() {
        assert_eq!(found("2026-000050 оплата подписки"), ["2026-000050"]);
    }

    #[test]
    fn configured_prefix() {
        assert_eq!(found_with("оплата AB-2026-000009", "AB-", 2026), ["AB-2026-000009"]);
        assert_eq!(found_with("оплата по счету 9", "AB-", 2026), ["AB-2026-000009"]);
    }

    #[test]
    fn contract_number_is_not_an_invoice() {
        assert!(found("Оплата по договору № 15 от 01.01.2026").is_empty());
    }

    #[test]
    fn payment_order_number_is_not_an_invoice() {
        assert_eq!(found("п/п № 512 от 26.11.2026 оплата по сч 77"), ["2026-000077"]);
    }

    #[test]
    fn no_invoice_named() {
        assert!(found("Оплата за услуги").is_empty());
    }

    #[test]
    fn inn_is_not_an_invoice() {
        assert_eq!(found("ИНН 7736207543 оплата по счету 12"), ["2026-000012"]);
    }

    #[test]
    fn amount_with_dash_is_not_a_number() {
        assert_eq!(found("Сумма 12000-00 оплата сч 5"), ["2026-000005"]);
    }

    // Marker words and number signs.

    #[test]
    fn marker_forms_and_number_signs() {
        for purpose in [
            "счет 5",
            "Счёт №5",
            "СЧЕТА # 5",
            "по счёту No 5",
            "по счету No. 5",
            "счету номер 5",
            "сч.№5",
            "сч 5",
            "СЧ.5",
            "счет: 5",
            "оплата по счету-оферте № 5",
            "счет-оферта 5",
            "счёт-договор № 5",
            "Счет на оплату № 5",
            "счет N5",
            "счет «5»",
            "Invoice 5",
            "cчет 5",        // Latin c
            "счет Nо 5",     // Latin N, Cyrillic о
            "сче\u{AD}ту 5", // soft hyphen
        ] {
            assert_eq!(found(purpose), ["2026-000005"], "{purpose}");
        }
    }

    #[test]
    fn whitespace_and_case_tolerance() {
        assert_eq!(
            found("ОПЛАТА\u{A0}ПО\tСЧЁТУ\u{202F}№\u{A0}\u{A0}2026-000123\r\n"),
            ["2026-000123"]
        );
        assert_eq!(found("(счет № 2026-000123)."), ["2026-000123"]);
    }

    #[test]
    fn loose_separators_only_after_a_marker() {
        assert_eq!(found("счет 2026/15"), ["2026-000015"]);
        assert_eq!(found("счет 2026–15"), ["2026-000015"]);
        assert!(found("оплата 2026/000015").is_empty());
        assert!(found("оплата 2026–000015").is_empty());
        assert_eq!(found("оплата 2026-000015"), ["2026-000015"]);
    }

    #[test]
    fn leading_zeros_optional() {
        assert_eq!(found("2026-123"), ["2026-000123"]);
        assert_eq!(found("счет 000123"), ["2026-000123"]);
        assert_eq!(found("счет 2026-0000000123"), Vec::<String>::new());
    }

    // Years.

    #[test]
    fn dates_give_the_year_of_bare_numbers() {
        assert_eq!(found("счет 7 от 31.12.2025"), ["2025-000007"]);
        assert_eq!(found("счет 7 от 31/12/2025г."), ["2025-000007"]);
        assert_eq!(found("счет № 7 от 5 декабря 2025 года"), ["2025-000007"]);
        assert_eq!(found("счет 7, от 2025-12-31"), ["2025-000007"]);
        assert_eq!(found("счет от 31.12.2025 № 7"), ["2025-000007"]);
        assert_eq!(found("счет 7от31.12.2025"), ["2025-000007"]);
        // A full number keeps its own year whatever the date.
        assert_eq!(found("счет 2025-000007 от 10.01.2026"), ["2025-000007"]);
        // Without a date: the default year.
        assert_eq!(found_with("счет 7", "", 2024), ["2024-000007"]);
    }

    #[test]
    fn a_date_after_a_list_covers_its_undated_numbers() {
        assert_eq!(found("по счетам 12 и 13 от 01.02.2025"), ["2025-000012", "2025-000013"]);
        assert_eq!(
            found("счета 12 от 01.12.2025 г., 13 от 10.01.2026, 14"),
            ["2025-000012", "2026-000013", "2026-000014"]
        );
    }

    #[test]
    fn invalid_date_does_not_change_the_year() {
        assert_eq!(found("счет 7 от 31.13.2025"), ["2026-000007"]);
        assert_eq!(found("счет 7 от 01.01.1999"), ["2026-000007"]);
    }

    // Things that are not invoice numbers.

    #[test]
    fn dates_and_amounts_after_a_marker_are_not_numbers() {
        assert!(found("оплата по счету 27.11.2026").is_empty());
        assert!(found("по счету 12000.00").is_empty());
        assert!(found("по счету 12 000,00 руб").is_empty());
        assert!(found("по счету 5000 руб.").is_empty());
        assert!(found("по счету 5000р").is_empty());
        assert!(found("по счету 20%").is_empty());
        assert!(found("по счету 2026 года").is_empty());
        assert_eq!(found("сч 12, 12 000,00 руб"), ["2026-000012"]);
        assert_eq!(found("сч 12, 27.11.2026"), ["2026-000012"]);
        // Without a space, `12,13` reads as a decimal amount.
        assert!(found("по счетам 12,13").is_empty());
        assert!(found("по счету 1500,00").is_empty());
    }

    #[test]
    fn vat_mentions_are_not_numbers() {
        assert_eq!(
            found("Оплата сч 3. НДС 20% - 2000.00, в т.ч. НДС 22 % 2163-93"),
            ["2026-000003"]
        );
    }

    #[test]
    fn long_digit_runs_are_never_sequences() {
        assert!(found("счет 1234567890").is_empty());
        assert!(found("р/сч 40702810900000012345 оплата").is_empty());
        assert!(found("КПП 773601001 БИК 044525225").is_empty());
        assert_eq!(found("счет 123456789"), ["2026-123456789"]);
    }

    #[test]
    fn not_glued_to_digits_or_letters() {
        assert!(found("12026-0001234").is_empty());
        assert!(found("x2026-000123").is_empty());
        assert!(found("2026-000123x").is_empty());
        assert!(found("1-2026-000123").is_empty());
        assert!(found("XY-2026-000123").is_empty());
        assert!(found("2026-11-27").is_empty());
        assert!(found("2026-000123.5").is_empty());
    }

    #[test]
    fn periods_and_year_ranges_without_marker_are_not_invoices() {
        assert!(found("подписка за 2026-11").is_empty());
        assert!(found("подписка на 2025-2026 гг").is_empty());
        assert_eq!(found("счет 2026-11"), ["2026-000011"]);
    }

    #[test]
    fn other_documents_numbers() {
        assert!(found("по договору № 15").is_empty());
        assert!(found("дог. 15").is_empty());
        assert!(found("по контракту № 2026-000015").is_empty());
        assert!(found("Оплата по договору-оферте № 2026-000015 от 01.01.2026").is_empty());
        assert!(found("акт № 7").is_empty());
        assert!(found("п/п № 512").is_empty());
        assert!(found("платежное поручение № 512").is_empty());
        assert!(found("с/ф 12").is_empty());
        assert!(found("сч/ф 12").is_empty());
        assert!(found("по счету-фактуре № 12").is_empty());
        assert!(found("счет фактура 12").is_empty());
        assert!(found("УПД № 12").is_empty());
        assert!(found("по лицевому счету 12345").is_empty());
        assert!(found("на расч. счет 12345").is_empty());
        assert_eq!(
            found("Оплата по сч 9 по договору № 15 от 01.01.2026, акт 3"),
            ["2026-000009"]
        );
        assert_eq!(found("счет 9 и договор 15"), ["2026-000009"]);
    }

    #[test]
    fn lists_stop_at_the_first_non_number() {
        assert_eq!(
            found("сч 1, 2; 3 + 4 и 5, НДС 6"),
            [
                "2026-000001",
                "2026-000002",
                "2026-000003",
                "2026-000004",
                "2026-000005"
            ]
        );
        assert_eq!(found("счет 1 2"), ["2026-000001"]);
        assert_eq!(found("счет №1, №2"), ["2026-000001", "2026-000002"]);
    }

    #[test]
    fn zero_is_not_a_sequence() {
        assert!(found("счет 0").is_empty());
        assert!(found("2026-000000").is_empty());
    }

    // Prefix.

    #[test]
    fn prefix_is_case_insensitive_and_optional_after_marker() {
        assert_eq!(found_with("оплата ab-2026-9", "AB-", 2026), ["AB-2026-000009"]);
        assert_eq!(
            found_with("счет 2026-000009 и AB-2026-000010", "AB-", 2026),
            ["AB-2026-000009", "AB-2026-000010"]
        );
        // Without a marker the prefix is required.
        assert!(found_with("оплата 2026-000009", "AB-", 2026).is_empty());
        // Glued to a letter: someone else's code.
        assert!(found_with("XAB-2026-000009", "AB-", 2026).is_empty());
        // With a prefix, short sequences are fine without a marker.
        assert_eq!(found_with("AB-2026-11", "AB-", 2026), ["AB-2026-000011"]);
    }

    #[test]
    fn prefix_that_looks_like_a_marker() {
        assert_eq!(found_with("оплата СЧ-2026-000001", "СЧ-", 2026), ["СЧ-2026-000001"]);
        assert_eq!(found_with("оплата СЧ2026-000001", "СЧ", 2026), ["СЧ2026-000001"]);
        assert_eq!(found_with("оплата A1-2026-000001", "A1-", 2026), ["A1-2026-000001"]);
    }

    // Deduplication and order.

    #[test]
    fn deduplicated_in_first_appearance_order() {
        assert_eq!(
            found("2026-000002, счет 1, счет 2026-000002, сч 000001, 2026-2"),
            ["2026-000002", "2026-000001"]
        );
        let numbers = invoice_numbers("счет 2026-000123", "", 2026);
        assert_eq!(
            numbers,
            [InvoiceNumber {
                prefix: String::new(),
                year: 2026,
                seq: 123
            }]
        );
    }

    // Adversarial input.

    #[test]
    fn lone_markers_and_odd_endings() {
        for purpose in [
            "",
            " ",
            "счет",
            "оплата по счету",
            "счет №",
            "сч.",
            "счет от",
            "счет от 12.",
            "счет 5 от",
            "счет 5,",
            "№",
            "2026-",
            "2026",
            "AB-",
            "п/",
            "с/",
            "счет-",
            "сч/",
            "счет на",
            "-",
            "счет 5 и",
            "дог",
            "договор №",
        ] {
            let _ = found(purpose);
            let _ = found_with(purpose, "AB-", 2026);
        }
        assert_eq!(found("счет 5,"), ["2026-000005"]);
        assert_eq!(found("счет 5 и"), ["2026-000005"]);
    }

    #[test]
    fn non_ascii_and_emoji() {
        assert_eq!(found("💳 Оплата 🧾 по счёту № 2026-000042 👍"), ["2026-000042"]);
        assert_eq!(found("счет ٣"), Vec::<String>::new()); // Arabic-Indic digit
        assert_eq!(found("İİİ счет 7 ß"), ["2026-000007"]);
        let _ = found("счет 7\u{301}"); // a combining mark after the number
        // Invisible characters join letters, never digits.
        assert_eq!(found("сч\u{200B}ет 1\u{AD}2"), ["2026-000001"]);
        let _ = found_with("🙂🙂", "🙂", 2026);
        let _ = found_with("оплата", "   ", 2026);
    }

    #[test]
    fn random_fragments_never_panic() {
        const FRAGMENTS: [&str; 34] = [
            "счет",
            "сч.",
            "счетам",
            "№",
            "N",
            " ",
            "\u{A0}",
            ",",
            ";",
            " и ",
            "от",
            "01.02.25",
            "27.11.2026",
            "2026",
            "-",
            "–",
            "/",
            "000123",
            "7",
            "1234567890",
            "договор",
            "п/п",
            "ф",
            "AB-",
            "ab",
            "руб",
            "%",
            ".",
            "🙂",
            "ё",
            "\u{AD}",
            "г.",
            "12 000,00",
            "оферте",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(FRAGMENTS[(state % FRAGMENTS.len() as u64) as usize]);
            }
            for prefix in ["", "AB-"] {
                let found = invoice_numbers(&text, prefix, 2026);
                let mut keys: Vec<_> = found.iter().map(|n| (n.year, n.seq)).collect();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), found.len(), "{text:?}");
                for n in &found {
                    assert!(text.contains(&n.seq.to_string()), "{n} in {text:?}");
                    assert!((2000..=2099).contains(&n.year) && n.seq > 0, "{n} in {text:?}");
                    assert_eq!(n.prefix, prefix);
                }
            }
        }
    }

    #[test]
    fn long_purposes_are_linear() {
        let inputs = [
            "1".repeat(200_000),
            "2026-".repeat(40_000),
            "счет ".repeat(40_000),
            "№".repeat(200_000),
            "счет №".repeat(30_000),
            "сч 1, ".repeat(30_000),
            "по счету 2026-000001 от 01.01.2026, ".repeat(5_000),
            " ".repeat(200_000) + "счет 5",
            "от ".repeat(60_000),
            "счет ".to_owned() + &"9".repeat(200_000),
            "a".repeat(200_000),
            "🙂".repeat(100_000),
            "AB-".repeat(60_000),
        ];
        let start = Instant::now();
        for input in &inputs {
            let _ = invoice_numbers(input, "", 2026);
            let _ = invoice_numbers(input, "AB-", 2026);
        }
        // Linear work is milliseconds; a quadratic scan would take hours.
        assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());

        let many = "сч 1, ".repeat(2_000);
        assert_eq!(invoice_numbers(&many, "", 2026).len(), 1);
        let distinct: String = (1..=1_500).map(|n| format!("2026-{n:06} ")).collect();
        assert!(distinct.chars().count() > 10_000);
        assert_eq!(invoice_numbers(&distinct, "", 2026).len(), 1_500);
    }

    // allocate.

    fn k(n: i64) -> Kopecks {
        Kopecks(n)
    }

    fn a(index: usize, amount: i64) -> Allocation {
        Allocation {
            index,
            amount: Kopecks(amount),
        }
    }

    #[test]
    fn allocate_exact_single() {
        assert_eq!(
            allocate(k(1000), &[k(1000)]),
            Split {
                allocations: vec![a(0, 1000)],
                excess: k(0)
            }
        );
    }

    #[test]
    fn allocate_partial_single() {
        assert_eq!(
            allocate(k(400), &[k(1000)]),
            Split {
                allocations: vec![a(0, 400)],
                excess: k(0)
            }
        );
    }

    #[test]
    fn allocate_over_single() {
        assert_eq!(
            allocate(k(1500), &[k(1000)]),
            Split {
                allocations: vec![a(0, 1000)],
                excess: k(500)
            }
        );
    }

    #[test]
    fn allocate_two_exact() {
        assert_eq!(
            allocate(k(3000), &[k(1000), k(2000)]),
            Split {
                allocations: vec![a(0, 1000), a(1, 2000)],
                excess: k(0)
            }
        );
    }

    #[test]
    fn allocate_second_partial() {
        assert_eq!(
            allocate(k(2500), &[k(1000), k(2000)]),
            Split {
                allocations: vec![a(0, 1000), a(1, 1500)],
                excess: k(0)
            }
        );
    }

    #[test]
    fn allocate_first_uses_everything() {
        assert_eq!(
            allocate(k(1000), &[k(1000), k(2000)]),
            Split {
                allocations: vec![a(0, 1000)],
                excess: k(0)
            }
        );
    }

    #[test]
    fn allocate_skips_nothing_due() {
        assert_eq!(
            allocate(k(3500), &[k(1000), k(0), k(-5), k(2000)]),
            Split {
                allocations: vec![a(0, 1000), a(3, 2000)],
                excess: k(500)
            }
        );
    }

    #[test]
    fn allocate_empty_dues_is_all_excess() {
        assert_eq!(
            allocate(k(700), &[]),
            Split {
                allocations: vec![],
                excess: k(700)
            }
        );
    }

    #[test]
    fn allocate_nothing_from_zero_or_negative() {
        let none = Split {
            allocations: vec![],
            excess: k(0),
        };
        assert_eq!(allocate(k(0), &[k(1000)]), none);
        assert_eq!(allocate(k(-100), &[k(1000)]), none);
        assert_eq!(allocate(k(i64::MIN), &[k(i64::MAX)]), none);
    }

    #[test]
    fn allocate_extremes_do_not_overflow() {
        assert_eq!(
            allocate(k(i64::MAX), &[k(i64::MAX), k(i64::MAX)]),
            Split {
                allocations: vec![a(0, i64::MAX)],
                excess: k(0)
            }
        );
        assert_eq!(
            allocate(k(i64::MAX), &[k(1), k(i64::MIN), k(1)]),
            Split {
                allocations: vec![a(0, 1), a(2, 1)],
                excess: k(i64::MAX - 2)
            }
        );
    }
}
