//! Parsing 1C bank statements: the `1CClientBankExchange` text format, versions 1.02 and 1.03.
//!
//! A statement is `Key=Value` lines (CRLF, LF accepted) in the encoding its own `Кодировка=`
//! line declares: a header, account summaries between `СекцияРасчСчет` and `КонецРасчСчет`,
//! documents between `СекцияДокумент=<kind>` and `КонецДокумента`, and `КонецФайла`.
//!
//! Strict about structure (every violation is an error naming its line), tolerant about
//! content: keys in any order, unknown keys ignored, values trimmed, empty optional values
//! treated as absent. Account numbers and INNs are kept as given; checking them is not this
//! module's job.

use crate::domain::Kopecks;
use chrono::NaiveDate;
use std::borrow::Cow;
use std::collections::HashMap;

/// Larger files are refused before decoding. A busy account's year is a few MB.
pub const MAX_STATEMENT_BYTES: usize = 20 * 1024 * 1024;

const HEADER: &str = "1CClientBankExchange";
const ENCODING_KEY: &str = "Кодировка";
const VERSION_KEY: &str = "ВерсияФормата";
const ACCOUNT_KEY: &str = "РасчСчет";
const DOCUMENT_START: &str = "СекцияДокумент";
const DOCUMENT_END: &str = "КонецДокумента";
const ACCOUNT_START: &str = "СекцияРасчСчет";
const ACCOUNT_END: &str = "КонецРасчСчет";
const FILE_END: &str = "КонецФайла";
/// Markers that stand alone on their line (no `=`).
const BARE_MARKERS: [&str; 4] = [ACCOUNT_START, ACCOUNT_END, DOCUMENT_END, FILE_END];
/// Header keys that may repeat: one `РасчСчет=` per account, one `Документ=` per kind.
const REPEATABLE_HEADER_KEYS: [&str; 2] = [ACCOUNT_KEY, "Документ"];
/// Old exports split a long purpose over `НазначениеПлатежа1` … `НазначениеПлатежа6`.
const PURPOSE_KEYS: [&str; 7] = [
    "НазначениеПлатежа",
    "НазначениеПлатежа1",
    "НазначениеПлатежа2",
    "НазначениеПлатежа3",
    "НазначениеПлатежа4",
    "НазначениеПлатежа5",
    "НазначениеПлатежа6",
];

/// The text encodings a statement may declare in `Кодировка=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `Кодировка=Windows`: cp1251.
    Windows1251,
    /// `Кодировка=DOS`: cp866.
    Dos866,
    /// `Кодировка=UTF-8` (or `UTF8`), any letter case.
    Utf8,
}

impl Encoding {
    /// The encoding a `Кодировка=` value names, if it is one we read.
    fn declared(value: &str) -> Option<Encoding> {
        let v = value.trim();
        if v.eq_ignore_ascii_case("Windows") {
            Some(Encoding::Windows1251)
        } else if v.eq_ignore_ascii_case("DOS") {
            Some(Encoding::Dos866)
        } else if v.eq_ignore_ascii_case("UTF-8") || v.eq_ignore_ascii_case("UTF8") {
            Some(Encoding::Utf8)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Encoding::Windows1251 => "windows-1251",
            Encoding::Dos866 => "cp866",
            Encoding::Utf8 => "UTF-8",
        }
    }
}

/// A parsed statement: its header and its documents, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// `ВерсияФормата`: "1.02" or "1.03".
    pub version: String,
    pub encoding: Encoding,
    /// The header's `РасчСчет=` lines and the account sections' `РасчСчет=`, deduplicated, in
    /// order of appearance.
    pub accounts: Vec<String>,
    /// The header's `ДатаНачала`.
    pub date_from: Option<NaiveDate>,
    /// The header's `ДатаКонца`.
    pub date_to: Option<NaiveDate>,
    pub documents: Vec<Document>,
}

/// One `СекцияДокумент`: a payment in or out of one of the statement's accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The 1-based line of its `СекцияДокумент=`.
    pub line: usize,
    /// The section's kind, e.g. `Платежное поручение`; any kind is accepted.
    pub kind: String,
    /// `Номер`, non-empty.
    pub number: String,
    /// `Дата`.
    pub date: NaiveDate,
    /// `Сумма`, greater than zero.
    pub amount: Kopecks,
    pub payer_account: Option<String>,
    pub payer_inn: Option<String>,
    /// `Плательщик1`, else `Плательщик` without a leading `ИНН <digits>` (and `КПП <digits>`).
    pub payer_name: Option<String>,
    pub payee_account: Option<String>,
    pub payee_inn: Option<String>,
    /// `Получатель1`, else `Получатель` without a leading `ИНН <digits>` (and `КПП <digits>`).
    pub payee_name: Option<String>,
    /// `НазначениеПлатежа` and its continuations `НазначениеПлатежа1`…`6`, joined by spaces.
    pub purpose: String,
    /// `ДатаПоступило`.
    pub received_on: Option<NaiveDate>,
    /// `ДатаСписано`.
    pub written_off_on: Option<NaiveDate>,
}

/// Why a statement was refused, and where: `line` is 1-based (file-wide problems say line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

fn fail<T>(line: usize, reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        reason: reason.into(),
    })
}

/// Parses a statement file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Statement, ParseError> {
    if bytes.len() > MAX_STATEMENT_BYTES {
        return fail(
            1,
            format!(
                "the file is {} bytes, over the limit of {MAX_STATEMENT_BYTES} bytes",
                bytes.len()
            ),
        );
    }
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    // The header line is ASCII in every supported encoding: check it first, so that a file of
    // some other kind is refused for what it is rather than for its encoding.
    check_header_line(body)?;
    let (encoding, text) = decode(body, bom)?;
    Parser::new(encoding).run(&text)
}

/// The first non-blank line must be exactly `1CClientBankExchange` (surrounding spaces aside).
fn check_header_line(body: &[u8]) -> Result<(), ParseError> {
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line == HEADER.as_bytes() {
            return Ok(());
        }
        let found = snippet(&String::from_utf8_lossy(line));
        return fail(i + 1, format!("the first line must be {HEADER}, found {found:?}"));
    }
    fail(1, "the file is empty")
}

/// Decodes the bytes in the one encoding that declares itself consistently: decoded in it, the
/// header's `Кодировка=` names that same encoding. A UTF-8 byte order mark allows UTF-8 only.
fn decode(bytes: &[u8], bom: bool) -> Result<(Encoding, Cow<'_, str>), ParseError> {
    // The first declaration readable in any decoding, for the error if none is consistent.
    let mut seen: Option<(usize, String, Encoding)> = None;
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            if let Some((line, value)) = find_declaration(text) {
                if Encoding::declared(value) == Some(Encoding::Utf8) {
                    return Ok((Encoding::Utf8, Cow::Borrowed(text)));
                }
                seen = Some((line, value.to_owned(), Encoding::Utf8));
            }
        }
        Err(e) => {
            // Readable as UTF-8 apart from some bytes: if it says UTF-8, point at the bad bytes.
            let lossy = String::from_utf8_lossy(bytes);
            if let Some((line, value)) = find_declaration(&lossy) {
                if Encoding::declared(value) == Some(Encoding::Utf8) {
                    let bad = line_at(bytes, e.valid_up_to());
                    return fail(
                        bad,
                        format!("bytes that are not valid UTF-8, though line {line} declares Кодировка={value}"),
                    );
                }
                seen = Some((line, value.to_owned(), Encoding::Utf8));
            }
        }
    }
    if !bom {
        for encoding in [Encoding::Windows1251, Encoding::Dos866] {
            let codec = match encoding {
                Encoding::Windows1251 => encoding_rs::WINDOWS_1251,
                _ => encoding_rs::IBM866,
            };
            // Both are single-byte encodings that map every byte: decoding cannot fail, and a
            // byte with no letter (cp1251's 0x98) becomes a control character, refused later.
            let (text, _) = codec.decode_without_bom_handling(bytes);
            let found = find_declaration(&text).map(|(line, value)| (line, value.to_owned()));
            if let Some((line, value)) = found {
                if Encoding::declared(&value) == Some(encoding) {
                    return Ok((encoding, text));
                }
                if seen.is_none() {
                    seen = Some((line, value, encoding));
                }
            }
        }
    }
    match seen {
        Some((line, value, _)) if Encoding::declared(&value).is_none() => fail(
            line,
            format!(
                "unsupported Кодировка={} (expected Windows, DOS or UTF-8)",
                snippet(&value)
            ),
        ),
        Some((line, value, read_as)) => fail(
            line,
            format!(
                "Кодировка={value} does not match the file's bytes (they read as {})",
                read_as.label()
            ),
        ),
        None if bom => fail(
            1,
            "no Кодировка= line readable as UTF-8 (the file starts with a UTF-8 byte order mark)",
        ),
        None => fail(1, "no Кодировка= line"),
    }
}

/// The header's `Кодировка=` line (its number and value), looked for before the first section.
fn find_declaration(text: &str) -> Option<(usize, &str)> {
    for (i, line) in text.split('\n').enumerate() {
        let line = line.trim();
        if line.starts_with("Секция") {
            break;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == ENCODING_KEY
        {
            return Some((i + 1, value.trim()));
        }
    }
    None
}

/// The 1-based line holding byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    let before = bytes.get(..offset).unwrap_or(bytes);
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// At most 40 characters of `s`, for quoting input in error messages.
fn snippet(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A section's (or the header's) fields: key → (line, value), values already trimmed.
type Fields<'a> = HashMap<&'a str, (usize, &'a str)>;

/// Adds a field, refusing a repeated key.
fn insert<'a>(
    fields: &mut Fields<'a>,
    line: usize,
    key: &'a str,
    value: &'a str,
    place: &str,
) -> Result<(), ParseError> {
    if let Some((first, _)) = fields.get(key) {
        return fail(line, format!("duplicate {key}= in {place} (first at line {first})"));
    }
    fields.insert(key, (line, value));
    Ok(())
}

/// Where the parser is.
enum State<'a> {
    /// Before the first section: header keys.
    Header,
    /// After a section closed: only another section or `КонецФайла` may follow.
    BetweenSections,
    Account {
        opened: usize,
        fields: Fields<'a>,
    },
    Document {
        opened: usize,
        kind: &'a str,
        fields: Fields<'a>,
    },
    /// After `КонецФайла`: only blank lines.
    Ended,
}

/// One non-blank line, classified.
enum Line<'a> {
    Marker(&'a str),
    DocumentStart(&'a str),
    Field(&'a str, &'a str),
}

/// Classifies a line; `None` for a blank one.
fn classify(number: usize, raw: &str) -> Result<Option<Line<'_>>, ParseError> {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    if let Some(c) = raw.chars().find(|&c| c.is_control() && c != '\t') {
        return fail(number, format!("control character U+{:04X}", u32::from(c)));
    }
    let line = raw.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if BARE_MARKERS.contains(&line) {
        return Ok(Some(Line::Marker(line)));
    }
    let Some((key, value)) = line.split_once('=') else {
        if line == DOCUMENT_START {
            return fail(
                number,
                format!("{DOCUMENT_START} without a kind (expected {DOCUMENT_START}=<kind>)"),
            );
        }
        return fail(number, format!("a line without '=': {:?}", snippet(line)));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return fail(number, "a line with nothing before '='");
    }
    if key == DOCUMENT_START {
        if value.is_empty() {
            return fail(number, format!("{DOCUMENT_START}= without a kind"));
        }
        return Ok(Some(Line::DocumentStart(value)));
    }
    if BARE_MARKERS.contains(&key) {
        return fail(number, format!("{key} must stand alone on its line, without '='"));
    }
    Ok(Some(Line::Field(key, value)))
}

struct Parser<'a> {
    encoding: Encoding,
    header: Fields<'a>,
    accounts: Vec<String>,
    documents: Vec<Document>,
    date_from: Option<NaiveDate>,
    date_to: Option<NaiveDate>,
    version: String,
}

impl<'a> Parser<'a> {
    fn new(encoding: Encoding) -> Self {
        Parser {
            encoding,
            header: HashMap::new(),
            accounts: Vec::new(),
            documents: Vec::new(),
            date_from: None,
            date_to: None,
            version: String::new(),
        }
    }

    fn run(mut self, text: &'a str) -> Result<Statement, ParseError> {
        // Old DOS tools end a file with Ctrl-Z (0x1A): allowed at the very end only.
        let text = text.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{1A}');
        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        // check_header_line saw the header line: skip to it (it is ASCII in every encoding).
        // `last` is the last non-blank line, named when the file ends early.
        let mut last = 1;
        for (number, raw) in lines.by_ref() {
            if !raw.trim().is_empty() {
                last = number;
                break;
            }
        }
        let mut state = State::Header;
        for (number, raw) in lines {
            if matches!(state, State::Ended) && !raw.trim().is_empty() {
                return fail(number, format!("content after {FILE_END}"));
            }
            let Some(line) = classify(number, raw)? else {
                continue;
            };
            last = number;
            state = self.step(state, number, line)?;
        }
        match state {
            State::Ended => Ok(Statement {
                version: self.version,
                encoding: self.encoding,
                accounts: self.accounts,
                date_from: self.date_from,
                date_to: self.date_to,
                documents: self.documents,
            }),
            State::Document { opened, .. } => fail(
                last,
                format!("the file ends inside the document opened at line {opened}, without {FILE_END}"),
            ),
            State::Account { opened, .. } => fail(
                last,
                format!("the file ends inside the account section opened at line {opened}, without {FILE_END}"),
            ),
            State::Header | State::BetweenSections => fail(last, format!("the file ends without {FILE_END}")),
        }
    }

    /// Applies one non-blank line to the state.
    fn step(&mut self, state: State<'a>, number: usize, line: Line<'a>) -> Result<State<'a>, ParseError> {
        match (state, line) {
            (State::Ended, _) => fail(number, format!("content after {FILE_END}")),

            (State::Header, Line::Field(key, value)) => {
                if key == ACCOUNT_KEY {
                    self.add_account(value);
                } else if !REPEATABLE_HEADER_KEYS.contains(&key) {
                    insert(&mut self.header, number, key, value, "the header")?;
                }
                Ok(State::Header)
            }
            (State::BetweenSections, Line::Field(key, _)) => fail(
                number,
                format!("{key}= outside a section (header keys come before the first section)"),
            ),
            (State::Account { opened, mut fields }, Line::Field(key, value)) => {
                insert(&mut fields, number, key, value, "the account section")?;
                Ok(State::Account { opened, fields })
            }
            (
                State::Document {
                    opened,
                    kind,
                    mut fields,
                },
                Line::Field(key, value),
            ) => {
                insert(&mut fields, number, key, value, "the document")?;
                Ok(State::Document { opened, kind, fields })
            }

            (state @ (State::Header | State::BetweenSections), Line::DocumentStart(kind)) => {
                self.finish_header_if(&state)?;
                Ok(State::Document {
                    opened: number,
                    kind,
                    fields: HashMap::new(),
                })
            }
            (state @ (State::Header | State::BetweenSections), Line::Marker(ACCOUNT_START)) => {
                self.finish_header_if(&state)?;
                Ok(State::Account {
                    opened: number,
                    fields: HashMap::new(),
                })
            }
            (state @ (State::Header | State::BetweenSections), Line::Marker(FILE_END)) => {
                self.finish_header_if(&state)?;
                Ok(State::Ended)
            }
            (State::Header | State::BetweenSections, Line::Marker(marker)) => {
                let opener = if marker == DOCUMENT_END {
                    DOCUMENT_START
                } else {
                    ACCOUNT_START
                };
                fail(number, format!("{marker} without a {opener} before it"))
            }

            (State::Document { opened, kind, fields }, Line::Marker(DOCUMENT_END)) => {
                self.documents.push(document(opened, kind, &fields)?);
                Ok(State::BetweenSections)
            }
            (State::Document { opened, .. }, Line::Marker(marker)) => fail(
                number,
                format!("{marker} inside the document opened at line {opened} (no {DOCUMENT_END})"),
            ),
            (State::Document { opened, .. }, Line::DocumentStart(_)) => fail(
                number,
                format!("{DOCUMENT_START} inside the document opened at line {opened} (no {DOCUMENT_END})"),
            ),

            (State::Account { fields, .. }, Line::Marker(ACCOUNT_END)) => {
                if let Some((_, account)) = fields.get(ACCOUNT_KEY) {
                    self.add_account(account);
                }
                Ok(State::BetweenSections)
            }
            (State::Account { opened, .. }, Line::Marker(marker)) => fail(
                number,
                format!("{marker} inside the account section opened at line {opened} (no {ACCOUNT_END})"),
            ),
            (State::Account { opened, .. }, Line::DocumentStart(_)) => fail(
                number,
                format!("{DOCUMENT_START} inside the account section opened at line {opened} (no {ACCOUNT_END})"),
            ),
        }
    }

    fn add_account(&mut self, account: &str) {
        if !account.is_empty() && !self.accounts.iter().any(|a| a == account) {
            self.accounts.push(account.to_owned());
        }
    }

    /// Checks the header once, when the first section (or `КонецФайла`) ends it.
    fn finish_header_if(&mut self, state: &State<'a>) -> Result<(), ParseError> {
        if !matches!(state, State::Header) {
            return Ok(());
        }
        let Some(&(line, version)) = self.header.get(VERSION_KEY) else {
            return fail(1, format!("the header has no {VERSION_KEY}="));
        };
        if version != "1.02" && version != "1.03" {
            return fail(
                line,
                format!("unsupported {VERSION_KEY}={} (expected 1.02 or 1.03)", snippet(version)),
            );
        }
        self.version = version.to_owned();
        // decode() found the declaration; it must also be in the header proper.
        if !self.header.contains_key(ENCODING_KEY) {
            return fail(1, format!("the header has no {ENCODING_KEY}="));
        }
        self.date_from = optional_date(&self.header, "ДатаНачала")?;
        self.date_to = optional_date(&self.header, "ДатаКонца")?;
        if let (Some(from), Some(to)) = (self.date_from, self.date_to)
            && from > to
        {
            let line = self.header.get("ДатаКонца").map_or(1, |&(line, _)| line);
            return fail(
                line,
                format!(
                    "ДатаКонца={} is before ДатаНачала={}",
                    to.format("%d.%m.%Y"),
                    from.format("%d.%m.%Y")
                ),
            );
        }
        Ok(())
    }
}

/// Builds a document from its fields, checking the required ones.
fn document(opened: usize, kind: &str, f: &Fields<'_>) -> Result<Document, ParseError> {
    let (_, number) = required(f, "Номер", opened)?;
    let (line, raw) = required(f, "Дата", opened)?;
    let Some(date) = parse_date(raw) else {
        return fail(
            line,
            format!("Дата={} is not a date (expected DD.MM.YYYY)", snippet(raw)),
        );
    };
    let (line, raw) = required(f, "Сумма", opened)?;
    let amount = parse_amount(raw).map_err(|reason| ParseError { line, reason })?;
    let purpose = PURPOSE_KEYS
        .iter()
        .filter_map(|key| text(f, key))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Document {
        line: opened,
        kind: kind.to_owned(),
        number: number.to_owned(),
        date,
        amount,
        payer_account: text(f, "ПлательщикСчет").map(str::to_owned),
        payer_inn: text(f, "ПлательщикИНН").map(str::to_owned),
        payer_name: party_name(f, "Плательщик1", "Плательщик"),
        payee_account: text(f, "ПолучательСчет").map(str::to_owned),
        payee_inn: text(f, "ПолучательИНН").map(str::to_owned),
        payee_name: party_name(f, "Получатель1", "Получатель"),
        purpose,
        received_on: optional_date(f, "ДатаПоступило")?,
        written_off_on: optional_date(f, "ДатаСписано")?,
    })
}

/// A required field: its line and non-empty value.
fn required<'a>(f: &Fields<'a>, key: &str, opened: usize) -> Result<(usize, &'a str), ParseError> {
    match f.get(key) {
        None => fail(opened, format!("the document has no {key}=")),
        Some(&(line, "")) => fail(line, format!("{key}= is empty")),
        Some(&field) => Ok(field),
    }
}

/// An optional field's value; empty counts as absent.
fn text<'a>(f: &Fields<'a>, key: &str) -> Option<&'a str> {
    f.get(key).map(|&(_, value)| value).filter(|v| !v.is_empty())
}

/// An optional date field: absent or empty is `None`; anything else must be DD.MM.YYYY.
fn optional_date(f: &Fields<'_>, key: &str) -> Result<Option<NaiveDate>, ParseError> {
    match f.get(key) {
        None | Some((_, "")) => Ok(None),
        Some(&(line, raw)) => match parse_date(raw) {
            Some(date) => Ok(Some(date)),
            None => fail(
                line,
                format!("{key}={} is not a date (expected DD.MM.YYYY)", snippet(raw)),
            ),
        },
    }
}

/// The name from `<key1>` (e.g. `Плательщик1`), else from `<key>` with a leading
/// `ИНН <digits>` / `КПП <digits>` removed (some banks write `ИНН 7707083893 ООО «Ромашка»`).
fn party_name(f: &Fields<'_>, key1: &str, key: &str) -> Option<String> {
    if let Some(name) = text(f, key1) {
        return Some(name.to_owned());
    }
    let mut name = text(f, key)?;
    for label in ["ИНН", "КПП"] {
        name = strip_labelled_number(name, label).unwrap_or(name);
    }
    Some(name.to_owned()).filter(|n| !n.is_empty())
}

/// `"ИНН 123 rest"` → `Some("rest")` for label `ИНН` (any letter case); `None` if the text does
/// not start that way.
fn strip_labelled_number<'s>(s: &'s str, label: &str) -> Option<&'s str> {
    let mut chars = s.char_indices();
    for expected in label.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(expected.to_lowercase()) {
            return None;
        }
    }
    let rest = chars.as_str();
    let digits = rest.trim_start();
    if digits.len() == rest.len() {
        return None; // no space after the label: a word like "ИННОВАЦИЯ", not a label
    }
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let after = digits.get(end..)?;
    if end == 0 || !(after.is_empty() || after.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(after.trim_start())
}

/// `DD.MM.YYYY`, exactly two, two and four digits.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('.');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(d, 2) || !digits(m, 2) || !digits(y, 4) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `Сумма`: roubles, optionally `.` (or `,`) and one or two kopeck digits; no sign, no
/// grouping; greater than zero.
fn parse_amount(s: &str) -> Result<Kopecks, String> {
    let bad = || {
        format!(
            "Сумма={} is not an amount (expected digits with up to two decimals, like 1234.56)",
            snippet(s)
        )
    };
    let (roubles, kopecks) = match s.split_once(['.', ',']) {
        Some((r, k)) => (r, Some(k)),
        None => (s, None),
    };
    // 15 digits of roubles keep the kopecks well inside i64.
    if roubles.is_empty() || roubles.len() > 15 || !roubles.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let kopecks = match kopecks {
        None => 0,
        Some(k) if (1..=2).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: i64 = k.parse().map_err(|_| bad())?;
            if k.len() == 1 { digits * 10 } else { digits } // "1234.5" is 50 kopecks
        }
        Some(_) => return Err(bad()),
    };
    let roubles: i64 = roubles.parse().map_err(|_| bad())?;
    let total = roubles
        .checked_mul(100)
        .and_then(|r| r.checked_add(kopecks))
        .ok_or_else(bad)?;
    if total == 0 {
        return Err(format!("Сумма={s} must be greater than zero"));
    }
    Ok(Kopecks(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Joins lines with CRLF, as banks write them.
    fn crlf(lines: &[&str]) -> String {
        let mut text = lines.join("\r\n");
        text.push_str("\r\n");
        text
    }

    fn cp1251(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
        assert!(!unmappable, "the test text fits cp1251");
        bytes.into_owned()
    }

    fn cp866(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::IBM866.encode(text);
        assert!(!unmappable, "the test text fits cp866");
        bytes.into_owned()
    }

    fn date(day: u32, month: u32, year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a valid test date")
    }

    fn error(bytes: &[u8]) -> ParseError {
        match parse(bytes) {
            Ok(statement) => panic!("expected an error, parsed {statement:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error's line and that its reason contains `fragment`.
    fn assert_error(bytes: &[u8], line: usize, fragment: &str) {
        let e = error(bytes);
        assert_eq!(e.line, line, "{e}");
        assert!(e.reason.contains(fragment), "{e:?} should mention {fragment:?}");
    }

    /// A full 1.03 statement, `ENC` standing for the `Кодировка=` value. 53 lines.
    const FULL: &[&str] = &[
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=ENC",
        "Отправитель=Бухгалтерия предприятия",
        "Получатель=",
        "ДатаСоздания=02.12.2026",
        "ВремяСоздания=10:00:00",
        "ДатаНачала=01.12.2026",
        "ДатаКонца=01.12.2026",
        "РасчСчет=40702810238000001234",
        "Документ=Платежное поручение",
        "Документ=Банковский ордер",
        "СекцияРасчСчет",
        "ДатаНачала=01.12.2026",
        "ДатаКонца=01.12.2026",
        "РасчСчет=40702810238000001234",
        "НачальныйОстаток=1000.00",
        "ВсегоПоступило=12000.00",
        "ВсегоСписано=150.00",
        "КонечныйОстаток=12850.00",
        "КонецРасчСчет",
        "СекцияДокумент=Платежное поручение",
        "Номер=347",
        "Дата=01.12.2026",
        "Сумма=12000.00",
        "ПлательщикСчет=40702810600000011111",
        "Плательщик=ИНН 7736207543 ООО \"Ромашка\"",
        "ПлательщикИНН=7736207543",
        "Плательщик1=ООО \"Ромашка\"",
        "ПлательщикКПП=770401001",
        "ПолучательСчет=40702810238000001234",
        "Получатель=ИНН 7707083893 ООО \"Автобилл\"",
        "ПолучательИНН=7707083893",
        "Получатель1=ООО \"Автобилл\"",
        "ПолучательКПП=773601001",
        "НазначениеПлатежа=Оплата по счету № 2026-000042 от 27.11.2026 за подписку. В т.ч. НДС 22% - 2163.93 руб.",
        "ДатаСписано=",
        "ДатаПоступило=01.12.2026",
        "КонецДокумента",
        "СекцияДокумент=Банковский ордер",
        "Номер=9105",
        "Дата=01.12.2026",
        "Сумма=150",
        "ПлательщикСчет=40702810238000001234",
        "Плательщик=ООО \"Автобилл\"",
        "ПлательщикИНН=7707083893",
        "ПолучательСчет=70601810738002710301",
        "Получатель1=ПАО Сбербанк",
        "НазначениеПлатежа=Комиссия за ведение счета",
        "ДатаСписано=01.12.2026",
        "ДатаПоступило=",
        "КонецДокумента",
        "КонецФайла",
    ];

    fn full(encoding: &str) -> String {
        crlf(FULL).replace("Кодировка=ENC", &format!("Кодировка={encoding}"))
    }

    fn expected(encoding: Encoding) -> Statement {
        Statement {
            version: "1.03".into(),
            encoding,
            accounts: vec!["40702810238000001234".into()],
            date_from: Some(date(1, 12, 2026)),
            date_to: Some(date(1, 12, 2026)),
            documents: vec![
                Document {
                    line: 22,
                    kind: "Платежное поручение".into(),
                    number: "347".into(),
                    date: date(1, 12, 2026),
                    amount: Kopecks(1_200_000),
                    payer_account: Some("40702810600000011111".into()),
                    payer_inn: Some("7736207543".into()),
                    payer_name: Some("ООО \"Ромашка\"".into()),
                    payee_account: Some("40702810238000001234".into()),
                    payee_inn: Some("7707083893".into()),
                    payee_name: Some("ООО \"Автобилл\"".into()),
                    purpose: "Оплата по счету № 2026-000042 от 27.11.2026 за подписку. В т.ч. НДС 22% - 2163.93 руб."
                        .into(),
                    received_on: Some(date(1, 12, 2026)),
                    written_off_on: None,
                },
                Document {
                    line: 40,
                    kind: "Банковский ордер".into(),
                    number: "9105".into(),
                    date: date(1, 12, 2026),
                    amount: Kopecks(15_000),
                    payer_account: Some("40702810238000001234".into()),
                    payer_inn: Some("7707083893".into()),
                    payer_name: Some("ООО \"Автобилл\"".into()),
                    payee_account: Some("70601810738002710301".into()),
                    payee_inn: None,
                    payee_name: Some("ПАО Сбербанк".into()),
                    purpose: "Комиссия за ведение счета".into(),
                    received_on: None,
                    written_off_on: Some(date(1, 12, 2026)),
                },
            ],
        }
    }

    /// A UTF-8 statement: header lines 1–4, `body` from line 5, then `КонецФайла`.
    fn wrap(body: &[&str]) -> Vec<u8> {
        let mut lines = vec![
            "1CClientBankExchange",
            "ВерсияФормата=1.03",
            "Кодировка=UTF-8",
            "РасчСчет=40702810238000001234",
        ];
        lines.extend_from_slice(body);
        lines.push("КонецФайла");
        crlf(&lines).into_bytes()
    }

    /// A valid document: lines 5–12 when wrapped.
    const DOC: [&str; 8] = [
        "СекцияДокумент=Платежное поручение",
        "Номер=15",
        "Дата=01.12.2026",
        "Сумма=12000.00",
        "ПлательщикИНН=7736207543",
        "НазначениеПлатежа=Оплата по счету № 2026-000042",
        "ДатаПоступило=01.12.2026",
        "КонецДокумента",
    ];

    /// DOC with the line for `key` replaced by `line` (or removed when `line` is None).
    fn doc_with(key: &str, line: Option<&'static str>) -> Vec<&'static str> {
        let prefix = format!("{key}=");
        let mut doc: Vec<&'static str> = DOC.to_vec();
        let at = doc
            .iter()
            .position(|l| l.starts_with(&prefix))
            .expect("DOC has the key");
        match line {
            Some(line) => doc[at] = line,
            None => {
                doc.remove(at);
            }
        }
        doc
    }

    fn only_document(bytes: &[u8]) -> Document {
        let statement = parse(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(statement.documents.len(), 1);
        statement.documents.into_iter().next().expect("one document")
    }

    // --- whole statements and encodings ---

    #[test]
    fn full_statement_in_every_encoding() {
        let text = full("Windows");
        assert_eq!(parse(&cp1251(&text)), Ok(expected(Encoding::Windows1251)));
        assert_eq!(parse(&cp866(&full("DOS"))), Ok(expected(Encoding::Dos866)));
        assert_eq!(parse(full("UTF-8").as_bytes()), Ok(expected(Encoding::Utf8)));
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), full("UTF-8").as_bytes()].concat();
        assert_eq!(parse(&with_bom), Ok(expected(Encoding::Utf8)));
    }

    #[test]
    fn encoding_names_are_case_insensitive() {
        assert_eq!(parse(full("utf8").as_bytes()), Ok(expected(Encoding::Utf8)));
        assert_eq!(parse(full(" Utf-8 ").as_bytes()), Ok(expected(Encoding::Utf8)));
        assert_eq!(parse(&cp1251(&full("WINDOWS"))), Ok(expected(Encoding::Windows1251)));
        assert_eq!(parse(&cp866(&full("dos"))), Ok(expected(Encoding::Dos866)));
    }

    #[test]
    fn lf_only_files_parse_the_same() {
        let lf = full("UTF-8").replace("\r\n", "\n");
        assert_eq!(parse(lf.as_bytes()), Ok(expected(Encoding::Utf8)));
        let lf = full("Windows").replace("\r\n", "\n");
        assert_eq!(parse(&cp1251(&lf)), Ok(expected(Encoding::Windows1251)));
    }

    #[test]
    fn version_1_02_is_accepted_and_others_are_not() {
        let text = full("UTF-8").replace("ВерсияФормата=1.03", "ВерсияФормата=1.02");
        let statement = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(statement.version, "1.02");
        for version in ["1.01", "2.00", "1.3", ""] {
            let text = full("UTF-8").replace("ВерсияФормата=1.03", &format!("ВерсияФормата={version}"));
            assert_error(text.as_bytes(), 2, "unsupported ВерсияФормата=");
        }
        let text = full("UTF-8").replace("ВерсияФормата=1.03\r\n", "");
        assert_error(text.as_bytes(), 1, "the header has no ВерсияФормата=");
    }

    #[test]
    fn utf8_bytes_declaring_windows_are_refused() {
        assert_error(
            full("Windows").as_bytes(),
            3,
            "Кодировка=Windows does not match the file's bytes (they read as UTF-8)",
        );
        assert_error(full("DOS").as_bytes(), 3, "Кодировка=DOS does not match");
    }

    #[test]
    fn single_byte_encodings_declaring_another_are_refused() {
        // Not mojibake: cp1251 bytes read as UTF-8 or cp866 never reach the parser.
        assert_error(
            &cp1251(&full("UTF-8")),
            3,
            "Кодировка=UTF-8 does not match the file's bytes (they read as windows-1251)",
        );
        assert_error(
            &cp1251(&full("DOS")),
            3,
            "Кодировка=DOS does not match the file's bytes (they read as windows-1251)",
        );
        assert_error(
            &cp866(&full("Windows")),
            3,
            "Кодировка=Windows does not match the file's bytes (they read as cp866)",
        );
        assert_error(
            &cp866(&full("UTF-8")),
            3,
            "Кодировка=UTF-8 does not match the file's bytes (they read as cp866)",
        );
        // A UTF-8 byte order mark in front of cp1251 text.
        let bom = [b"\xEF\xBB\xBF".as_slice(), &cp1251(&full("Windows"))].concat();
        assert_error(&bom, 1, "no Кодировка= line readable as UTF-8");
    }

    #[test]
    fn declaration_missing_or_unsupported() {
        let text = full("UTF-8").replace("Кодировка=UTF-8\r\n", "");
        assert_error(text.as_bytes(), 1, "no Кодировка= line");
        assert_error(
            full("KOI8-R").as_bytes(),
            3,
            "unsupported Кодировка=KOI8-R (expected Windows, DOS or UTF-8)",
        );
        assert_error(&cp1251(&full("Unicode")), 3, "unsupported Кодировка=Unicode");
        // Only the header declares: a Кодировка inside a document does not count.
        let text = full("UTF-8")
            .replace("Кодировка=UTF-8\r\n", "")
            .replace("Номер=347", "Кодировка=UTF-8\r\nНомер=347");
        assert_error(text.as_bytes(), 1, "no Кодировка= line");
    }

    #[test]
    fn invalid_utf8_in_a_utf8_file_names_its_line() {
        let mut bytes = full("UTF-8").into_bytes();
        let at = bytes
            .windows(5)
            .position(|w| w == b"9105\r")
            .expect("the second document's number");
        bytes[at] = 0xFF; // line 41, "Номер=9105"
        assert_error(&bytes, 41, "not valid UTF-8, though line 3 declares Кодировка=UTF-8");
    }

    #[test]
    fn a_cp1251_byte_without_a_letter_is_refused() {
        let mut bytes = cp1251(&full("Windows"));
        let at = bytes
            .windows(5)
            .position(|w| w == b"9105\r")
            .expect("the second document's number");
        bytes[at] = 0x98; // the one byte cp1251 leaves undefined
        assert_error(&bytes, 41, "control character");
    }

    // --- document content ---

    #[test]
    fn keys_in_any_order_and_unknown_keys_ignored() {
        let body = [
            "СекцияДокумент=Платежное требование",
            "ПоказательКБК=",
            "ДатаПоступило=01.12.2026",
            "Сумма=1234.5",
            "ПлательщикБИК=044525225",
            "НазначениеПлатежа=Оплата",
            "Дата=30.11.2026",
            "ВидОплаты=01",
            "Номер=77",
            "  ПлательщикИНН =  7736207543  ",
            "КонецДокумента",
        ];
        let doc = only_document(&wrap(&body));
        assert_eq!(doc.kind, "Платежное требование");
        assert_eq!(doc.number, "77");
        assert_eq!(doc.date, date(30, 11, 2026));
        assert_eq!(doc.amount, Kopecks(123_450));
        assert_eq!(doc.payer_inn.as_deref(), Some("7736207543"));
        assert_eq!(doc.purpose, "Оплата");
        assert_eq!(doc.received_on, Some(date(1, 12, 2026)));
        assert_eq!((doc.payer_account, doc.payer_name, doc.payee_inn), (None, None, None));
    }

    #[test]
    fn purpose_continuations_are_joined() {
        let mut body = doc_with(
            "НазначениеПлатежа",
            Some("НазначениеПлатежа=Оплата по счету № 2026-000042"),
        );
        body.insert(2, "НазначениеПлатежа2=В т.ч. НДС 22% - 2163.93 руб.");
        body.insert(2, "НазначениеПлатежа1=от 27.11.2026 за подписку.");
        body.insert(2, "НазначениеПлатежа3=");
        let doc = only_document(&wrap(&body));
        assert_eq!(
            doc.purpose,
            "Оплата по счету № 2026-000042 от 27.11.2026 за подписку. В т.ч. НДС 22% - 2163.93 руб."
        );
        // No purpose at all: empty.
        let doc = only_document(&wrap(&doc_with("НазначениеПлатежа", None)));
        assert_eq!(doc.purpose, "");
    }

    #[test]
    fn name_prefers_the_short_key_and_strips_a_leading_inn() {
        let name = |lines: &[&str]| {
            let mut body = DOC.to_vec();
            for line in lines {
                body.insert(1, line);
            }
            only_document(&wrap(&body)).payer_name
        };
        assert_eq!(
            name(&["Плательщик=ИНН 7736207543 ООО Ромашка", "Плательщик1=ООО «Ромашка»"]).as_deref(),
            Some("ООО «Ромашка»")
        );
        assert_eq!(
            name(&["Плательщик=ИНН 7736207543 ООО Ромашка"]).as_deref(),
            Some("ООО Ромашка")
        );
        assert_eq!(
            name(&["Плательщик=инн 7736207543  КПП 770401001 ООО Ромашка"]).as_deref(),
            Some("ООО Ромашка")
        );
        assert_eq!(name(&["Плательщик=ИННОВАЦИИ ООО"]).as_deref(), Some("ИННОВАЦИИ ООО"));
        assert_eq!(
            name(&["Плательщик=ИНН ООО Ромашка"]).as_deref(),
            Some("ИНН ООО Ромашка")
        );
        assert_eq!(name(&["Плательщик=ИНН 7736207543"]), None);
        assert_eq!(
            name(&["Плательщик=ООО Ромашка", "Плательщик1="]).as_deref(),
            Some("ООО Ромашка")
        );
        assert_eq!(name(&[]), None);
    }

    #[test]
    fn amounts() {
        for (text, kopecks) in [
            ("1234.56", 123_456),
            ("1234", 123_400),
            ("1234.5", 123_450),
            ("0.01", 1),
            ("1234,56", 123_456),
            ("007.10", 710),
            ("999999999999999.99", 99_999_999_999_999_999),
        ] {
            assert_eq!(parse_amount(text), Ok(Kopecks(kopecks)), "{text}");
        }
        for text in [
            "-5",
            "+5",
            "1 234.00",
            "12.345",
            "abc",
            "",
            ".5",
            "5.",
            "1.2.3",
            "1e3",
            "1234567890123456",
            "١٢",
        ] {
            assert!(parse_amount(text).is_err(), "{text} should be refused");
        }
        for text in ["0", "0.00", "00,0"] {
            assert_eq!(
                parse_amount(text),
                Err(format!("Сумма={text} must be greater than zero"))
            );
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("01.12.2026"), Some(date(1, 12, 2026)));
        assert_eq!(parse_date("29.02.2028"), Some(date(29, 2, 2028)));
        for text in [
            "1.12.2026",
            "01.12.26",
            "2026-12-01",
            "31.02.2026",
            "01.13.2026",
            "01.12.2026.",
            "+1.12.2026",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }

    #[test]
    fn required_fields() {
        assert_error(&wrap(&doc_with("Номер", None)), 5, "the document has no Номер=");
        assert_error(&wrap(&doc_with("Номер", Some("Номер= "))), 6, "Номер= is empty");
        assert_error(&wrap(&doc_with("Дата", None)), 5, "the document has no Дата=");
        assert_error(
            &wrap(&doc_with("Дата", Some("Дата=31.02.2026"))),
            7,
            "Дата=31.02.2026 is not a date",
        );
        assert_error(
            &wrap(&doc_with("Дата", Some("Дата=2026-12-01"))),
            7,
            "expected DD.MM.YYYY",
        );
        assert_error(&wrap(&doc_with("Сумма", None)), 5, "the document has no Сумма=");
        assert_error(
            &wrap(&doc_with("Сумма", Some("Сумма=1 234.00"))),
            8,
            "Сумма=1 234.00 is not an amount",
        );
        assert_error(
            &wrap(&doc_with("Сумма", Some("Сумма=0"))),
            8,
            "Сумма=0 must be greater than zero",
        );
        assert_error(&wrap(&doc_with("Сумма", Some("Сумма=-5"))), 8, "is not an amount");
        assert_error(
            &wrap(&doc_with("ДатаПоступило", Some("ДатаПоступило=32.12.2026"))),
            11,
            "ДатаПоступило=32.12.2026 is not a date",
        );
        let mut body = DOC.to_vec();
        body.insert(7, "ДатаСписано=вчера");
        assert_error(&wrap(&body), 12, "ДатаСписано=вчера is not a date");
    }

    #[test]
    fn duplicate_keys() {
        let mut body = DOC.to_vec();
        body.insert(4, "Номер=16");
        assert_error(&wrap(&body), 9, "duplicate Номер= in the document (first at line 6)");
        assert_error(
            &wrap(&["ВерсияФормата=1.03"]),
            5,
            "duplicate ВерсияФормата= in the header (first at line 2)",
        );
        assert_error(
            &wrap(&["СекцияРасчСчет", "РасчСчет=1", "РасчСчет=2", "КонецРасчСчет"]),
            7,
            "duplicate РасчСчет= in the account section (first at line 6)",
        );
        // Header РасчСчет and Документ repeat by design.
        let statement = parse(&wrap(&[
            "РасчСчет=40702810238000001234",
            "РасчСчет=40702810900000000001",
            "Документ=Платежное поручение",
            "Документ=Банковский ордер",
            "СекцияРасчСчет",
            "РасчСчет=40702810900000000002",
            "КонецРасчСчет",
            "СекцияРасчСчет",
            "РасчСчет=40702810900000000001",
            "КонецРасчСчет",
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            statement.accounts,
            ["40702810238000001234", "40702810900000000001", "40702810900000000002"]
        );
        assert!(statement.documents.is_empty());
    }

    // --- structure ---

    #[test]
    fn empty_and_oversized_files() {
        assert_error(b"", 1, "the file is empty");
        assert_error(b"\r\n  \r\n\t\n", 1, "the file is empty");
        assert_error(b"\xEF\xBB\xBF", 1, "the file is empty");
        let mut big = wrap(&[]);
        big.resize(MAX_STATEMENT_BYTES + 1, b'\n');
        assert_error(&big, 1, "over the limit of 20971520 bytes");
        // Exactly the limit is still read (and trailing blank lines are fine).
        big.truncate(MAX_STATEMENT_BYTES);
        assert!(parse(&big).is_ok());
    }

    #[test]
    fn first_line() {
        assert_error(
            b"Hello\r\n",
            1,
            "the first line must be 1CClientBankExchange, found \"Hello\"",
        );
        assert_error(
            b"\r\n\r\n1CClientBankExchange2\r\n",
            3,
            "the first line must be 1CClientBankExchange",
        );
        let short = "\r\n\r\n1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=UTF-8\r\n\r\n";
        assert_error(short.as_bytes(), 5, "the file ends without КонецФайла");
        assert_error(
            "ВерсияФормата=1.03\r\n1CClientBankExchange\r\n".as_bytes(),
            1,
            "the first line must be",
        );
        // Leading blank lines and surrounding spaces are fine.
        let text = format!("\r\n  {}", full("UTF-8"));
        let statement = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(statement.documents[0].line, 23);
    }

    #[test]
    fn lines_without_equals() {
        assert_error(&wrap(&["Просто строка"]), 5, "a line without '=': \"Просто строка\"");
        assert_error(&wrap(&["1CClientBankExchange"]), 5, "a line without '='");
        let mut body = DOC.to_vec();
        body.insert(3, "Оплата по счету");
        assert_error(&wrap(&body), 8, "a line without '='");
        assert_error(&wrap(&["СекцияДокумент"]), 5, "СекцияДокумент without a kind");
        assert_error(&wrap(&["СекцияДокумент=  "]), 5, "СекцияДокумент= without a kind");
        assert_error(&wrap(&["КонецФайла="]), 5, "КонецФайла must stand alone on its line");
        assert_error(&wrap(&["=1.03"]), 5, "nothing before '='");
    }

    #[test]
    fn documents_must_open_and_close() {
        assert_error(
            &wrap(&DOC[..7]),
            12,
            "КонецФайла inside the document opened at line 5 (no КонецДокумента)",
        );
        let nested = [&DOC[..4], &DOC[..]].concat();
        assert_error(&wrap(&nested), 9, "СекцияДокумент inside the document opened at line 5");
        assert_error(
            &wrap(&["КонецДокумента"]),
            5,
            "КонецДокумента without a СекцияДокумент before it",
        );
        let twice = [&DOC[..], &["КонецДокумента"]].concat();
        assert_error(&wrap(&twice), 13, "КонецДокумента without a СекцияДокумент");
        let account_inside = [&DOC[..4], &["СекцияРасчСчет"]].concat();
        assert_error(
            &wrap(&account_inside),
            9,
            "СекцияРасчСчет inside the document opened at line 5",
        );
    }

    #[test]
    fn account_sections_must_open_and_close() {
        assert_error(
            &wrap(&["СекцияРасчСчет", "РасчСчет=1"]),
            7,
            "КонецФайла inside the account section opened at line 5",
        );
        assert_error(
            &wrap(&["СекцияРасчСчет", "СекцияРасчСчет"]),
            6,
            "СекцияРасчСчет inside the account section opened at line 5",
        );
        assert_error(
            &wrap(&["КонецРасчСчет"]),
            5,
            "КонецРасчСчет without a СекцияРасчСчет before it",
        );
        assert_error(
            &wrap(&["СекцияРасчСчет", DOC[0]]),
            6,
            "СекцияДокумент inside the account section opened at line 5",
        );
        assert_error(
            &wrap(&["СекцияРасчСчет", "КонецДокумента"]),
            6,
            "КонецДокумента inside the account section",
        );
    }

    #[test]
    fn end_of_file() {
        // Missing КонецФайла: the error names the last line.
        let text = full("UTF-8").replace("КонецФайла\r\n", "\r\n\r\n");
        assert_error(text.as_bytes(), 52, "the file ends without КонецФайла");
        let text = crlf(&FULL[..45]).replace("Кодировка=ENC", "Кодировка=UTF-8");
        assert_error(
            text.as_bytes(),
            45,
            "the file ends inside the document opened at line 40",
        );
        let text = crlf(&FULL[..15]).replace("Кодировка=ENC", "Кодировка=UTF-8");
        assert_error(
            text.as_bytes(),
            15,
            "the file ends inside the account section opened at line 13",
        );
        // Content after it.
        let mut bytes = wrap(&[]);
        bytes.extend_from_slice("\r\nНомер=1\r\n".as_bytes());
        assert_error(&bytes, 7, "content after КонецФайла");
        let mut bytes = wrap(&[]);
        bytes.extend_from_slice(b"\r\nKonec\r\n");
        assert_error(&bytes, 7, "content after КонецФайла");
        let mut bytes = wrap(&[]);
        bytes.extend_from_slice(b"\x00");
        assert_error(&bytes, 6, "content after КонецФайла");
        // Blank lines and a DOS end-of-file mark after it are fine.
        let mut bytes = wrap(&DOC);
        bytes.extend_from_slice(b"\r\n \r\n\x1A");
        assert_eq!(only_document(&bytes).number, "15");
    }

    #[test]
    fn header_keys_after_a_section_are_refused() {
        let body = [&DOC[..], &["Отправитель=Банк"]].concat();
        assert_error(&wrap(&body), 13, "Отправитель= outside a section");
    }

    #[test]
    fn header_dates() {
        let text = full("UTF-8").replace("ДатаНачала=01.12.2026\r\nДатаКонца=01.12.2026\r\nРасчСчет", "РасчСчет");
        let statement = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((statement.date_from, statement.date_to), (None, None));
        let text = full("UTF-8").replacen("ДатаКонца=01.12.2026", "ДатаКонца=30.11.2026", 1);
        assert_error(
            text.as_bytes(),
            9,
            "ДатаКонца=30.11.2026 is before ДатаНачала=01.12.2026",
        );
        let text = full("UTF-8").replacen("ДатаНачала=01.12.2026", "ДатаНачала=1 декабря", 1);
        assert_error(text.as_bytes(), 8, "ДатаНачала=1 декабря is not a date");
    }

    #[test]
    fn control_characters_are_refused() {
        let mut body = DOC.to_vec();
        body[5] = "НазначениеПлатежа=Оплата\u{1}";
        assert_error(&wrap(&body), 10, "control character U+0001");
        body[5] = "НазначениеПлатежа=Оплата\u{0}";
        assert_error(&wrap(&body), 10, "control character U+0000");
        // A lone CR inside a line is a control character too; a tab is not.
        assert_error(&wrap(&["Отправитель=Банк\rX"]), 5, "control character U+000D");
        body[5] = "НазначениеПлатежа=Оплата\tпо счету";
        assert_eq!(only_document(&wrap(&body)).purpose, "Оплата\tпо счету");
    }

    // --- the sample files other tests use ---

    #[test]
    fn sample_1_03_cp1251() {
        let statement = parse(include_bytes!("../../tests/data/statements/sample-1.03-cp1251.txt"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (statement.version.as_str(), statement.encoding),
            ("1.03", Encoding::Windows1251)
        );
        assert_eq!(statement.accounts, ["40702810238000001234"]);
        assert_eq!(
            (statement.date_from, statement.date_to),
            (Some(date(1, 12, 2026)), Some(date(1, 12, 2026)))
        );
        let docs = &statement.documents;
        assert_eq!(docs.len(), 3);
        assert_eq!((docs[0].number.as_str(), docs[0].amount), ("347", Kopecks(1_200_000)));
        assert_eq!(docs[0].payer_name.as_deref(), Some("ООО \"Ромашка\""));
        assert_eq!(docs[0].payer_inn.as_deref(), Some("7736207543"));
        assert_eq!(docs[0].payee_account.as_deref(), Some("40702810238000001234"));
        assert_eq!(
            docs[0].purpose,
            "Оплата по счету № 2026-000042 от 27.11.2026 за подписку Pro. В т.ч. НДС 22% - 2163.93 руб."
        );
        assert_eq!(
            docs[1].payer_name.as_deref(),
            Some("Индивидуальный предприниматель Смирнов Алексей Петрович")
        );
        assert_eq!(
            (docs[1].payer_inn.as_deref(), docs[1].amount),
            (Some("772812345609"), Kopecks(2_400_000))
        );
        assert_eq!(
            (docs[1].date, docs[1].received_on),
            (date(30, 11, 2026), Some(date(1, 12, 2026)))
        );
        assert_eq!(docs[2].payer_account.as_deref(), Some("40702810238000001234"));
        assert_eq!((docs[2].amount, docs[2].received_on), (Kopecks(500_000), None));
        assert_eq!(docs[2].written_off_on, Some(date(1, 12, 2026)));
    }

    #[test]
    fn sample_1_02_utf8() {
        let statement =
            parse(include_bytes!("../../tests/data/statements/sample-1.02-utf8.txt")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (statement.version.as_str(), statement.encoding),
            ("1.02", Encoding::Utf8)
        );
        assert_eq!(statement.accounts, ["40702810238000001234"]);
        let docs = &statement.documents;
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0].line, docs[0].number.as_str(), docs[0].amount),
            (22, "1024", Kopecks(14_400_000))
        );
        assert_eq!(
            docs[0].purpose,
            "Оплата по счету № 2026-000003 от 01.12.2026 за подписку Pro на 12 месяцев В т.ч. НДС 22% - 25967.21 руб."
        );
        assert_eq!(
            (docs[1].kind.as_str(), docs[1].amount),
            ("Банковский ордер", Kopecks(15_000))
        );
        assert_eq!(docs[1].payee_name.as_deref(), Some("ПАО СБЕРБАНК"));
    }

    /// Any input is an answer, never a panic: every prefix, and single-byte corruptions.
    #[test]
    fn no_panics_on_damaged_input() {
        let samples: [&[u8]; 2] = [
            include_bytes!("../../tests/data/statements/sample-1.03-cp1251.txt"),
            include_bytes!("../../tests/data/statements/sample-1.02-utf8.txt"),
        ];
        for sample in samples {
            for end in 0..sample.len() {
                let _ = parse(&sample[..end]);
            }
            let mut damaged = sample.to_vec();
            for at in (0..sample.len()).step_by(7) {
                for byte in [0x00, b'=', b'\n', 0xD0, 0xFF] {
                    let original = damaged[at];
                    damaged[at] = byte;
                    let _ = parse(&damaged);
                    damaged[at] = original;
                }
            }
        }
    }
}
