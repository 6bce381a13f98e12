//! Amounts in Russian words, in the accounting style used on invoices and acts:
//! roubles spelled out, kopecks as two digits — «Двенадцать тысяч рублей 00 копеек».

use super::money::Kopecks;

const UNITS_M: [&str; 10] = [
    "",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const UNITS_F: [&str; 10] = [
    "",
    "одна",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];

/// (one, few, many, feminine)
const SCALES: [(&str, &str, &str, bool); 4] = [
    ("тысяча", "тысячи", "тысяч", true),
    ("миллион", "миллиона", "миллионов", false),
    ("миллиард", "миллиарда", "миллиардов", false),
    ("триллион", "триллиона", "триллионов", false),
];

/// Picks the Russian plural form for `n`: 1 → one, 2–4 → few, otherwise many (11–14 → many).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (last_two, last) = (n % 100, n % 10);
    if (11..=14).contains(&last_two) {
        many
    } else if last == 1 {
        one
    } else if (2..=4).contains(&last) {
        few
    } else {
        many
    }
}

fn triple(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    let (h, rest) = ((n / 100) as usize, n % 100);
    if h > 0 {
        out.push(HUNDREDS[h]);
    }
    if (10..20).contains(&rest) {
        out.push(TEENS[(rest - 10) as usize]);
        return;
    }
    let (t, u) = ((rest / 10) as usize, (rest % 10) as usize);
    if t > 0 {
        out.push(TENS[t]);
    }
    if u > 0 {
        out.push(if feminine { UNITS_F[u] } else { UNITS_M[u] });
    }
}

/// A whole number in words, masculine gender ("один", "два"), lower case.
pub fn number_in_words(n: u64) -> String {
    if n == 0 {
        return "ноль".to_owned();
    }
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<&'static str> = Vec::new();
    for (i, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            continue;
        }
        if i == 0 {
            triple(g, false, &mut words);
        } else {
            // Beyond 10^15 (not an invoice amount) the largest scale repeats; never panics.
            let (one, few, many, fem) = SCALES[(i - 1).min(SCALES.len() - 1)];
            triple(g, fem, &mut words);
            words.push(plural(g, one, few, many));
        }
    }
    words.join(" ")
}

/// «Двенадцать тысяч рублей 00 копеек». Negative amounts are spelled with «минус».
pub fn amount_in_words(amount: Kopecks) -> String {
    let abs = amount.0.unsigned_abs();
    let (roubles, kopecks) = (abs / 100, abs % 100);
    let mut text = String::new();
    if amount.0 < 0 {
        text.push_str("минус ");
    }
    text.push_str(&number_in_words(roubles));
    text.push(' ');
    text.push_str(plural(roubles, "рубль", "рубля", "рублей"));
    text.push_str(&format!(" {kopecks:02} "));
    text.push_str(plural(kopecks, "копейка", "копейки", "копеек"));
    capitalize(&text)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(r: i64) -> Kopecks {
        Kopecks(r * 100)
    }

    #[test]
    fn roubles_in_words() {
        assert_eq!(amount_in_words(rub(0)), "Ноль рублей 00 копеек");
        assert_eq!(amount_in_words(rub(1)), "Один рубль 00 копеек");
        assert_eq!(amount_in_words(rub(2)), "Два рубля 00 копеек");
        assert_eq!(amount_in_words(rub(5)), "Пять рублей 00 копеек");
        assert_eq!(amount_in_words(rub(11)), "Одиннадцать рублей 00 копеек");
        assert_eq!(amount_in_words(rub(21)), "Двадцать один рубль 00 копеек");
        assert_eq!(amount_in_words(rub(101)), "Сто один рубль 00 копеек");
        assert_eq!(amount_in_words(rub(1_000)), "Одна тысяча рублей 00 копеек");
        assert_eq!(amount_in_words(rub(1_000_000)), "Один миллион рублей 00 копеек");
        assert_eq!(amount_in_words(rub(12_000)), "Двенадцать тысяч рублей 00 копеек");
    }

    #[test]
    fn kopecks_agree_with_their_number() {
        assert_eq!(amount_in_words(Kopecks(1)), "Ноль рублей 01 копейка");
        assert_eq!(amount_in_words(Kopecks(21)), "Ноль рублей 21 копейка");
        assert_eq!(amount_in_words(Kopecks(99)), "Ноль рублей 99 копеек");
        assert_eq!(amount_in_words(Kopecks(12)), "Ноль рублей 12 копеек");
        assert_eq!(
            amount_in_words(Kopecks(1_200_003)),
            "Двенадцать тысяч рублей 03 копейки"
        );
    }

    #[test]
    fn genders_and_scales() {
        assert_eq!(number_in_words(2_000), "две тысячи");
        assert_eq!(number_in_words(21_000), "двадцать одна тысяча");
        assert_eq!(number_in_words(11_000), "одиннадцать тысяч");
        assert_eq!(number_in_words(2_002_002), "два миллиона две тысячи два");
        assert_eq!(number_in_words(1_000_000_000), "один миллиард");
        assert_eq!(
            number_in_words(999_999),
            "девятьсот девяносто девять тысяч девятьсот девяносто девять"
        );
        assert_eq!(number_in_words(114), "сто четырнадцать");
        assert!(!number_in_words(u64::MAX).is_empty());
    }

    #[test]
    fn plurals() {
        for (n, want) in [
            (1, "a"),
            (2, "b"),
            (4, "b"),
            (5, "c"),
            (11, "c"),
            (14, "c"),
            (21, "a"),
            (22, "b"),
            (111, "c"),
            (101, "a"),
        ] {
            assert_eq!(plural(n, "a", "b", "c"), want, "{n}");
        }
    }

    #[test]
    fn negative() {
        assert_eq!(amount_in_words(Kopecks(-150)), "Минус один рубль 50 копеек");
    }
}
