//! The bundled DejaVu Sans faces: glyph lookup and widths for layout, and per-document subsets
//! embedded as Type0 / CIDFontType2 fonts (Identity-H, CID = subset glyph id) with a ToUnicode map.

use super::pdf::{Refs, RenderError, deflate};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use std::sync::LazyLock;
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// Drawn instead of a character the font lacks (CJK, most emoji, control characters…).
const FALLBACK: char = '?';

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Regular,
    Bold,
}

impl Style {
    pub(super) const ALL: [Style; 2] = [Style::Regular, Style::Bold];

    pub(super) fn face(self) -> &'static FontFace {
        // Subset to the scripts invoices are written in (Latin, Greek, Cyrillic and their
        // extensions, punctuation, currency and letterlike symbols such as № and ₽, arrows, math,
        // enclosed numbers, shapes) and stored zlib-compressed: 0.3 MB instead of 1.5 MB in
        // every binary that renders. Inflated once per process, on first use. Anything else is
        // drawn as the fallback, as before.
        static REGULAR: LazyLock<FontFace> = LazyLock::new(|| {
            FontFace::load(
                inflate(include_bytes!("../../assets/fonts/DejaVuSans.ttf.zlib")),
                "DejaVuSans",
            )
        });
        static BOLD: LazyLock<FontFace> = LazyLock::new(|| {
            FontFace::load(
                inflate(include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf.zlib")),
                "DejaVuSans-Bold",
            )
        });
        match self {
            Style::Regular => &REGULAR,
            Style::Bold => &BOLD,
        }
    }

    /// The page resource name the content stream selects this font by.
    pub(super) fn resource(self) -> Name<'static> {
        match self {
            Style::Regular => Name(b"F1"),
            Style::Bold => Name(b"F2"),
        }
    }
}

/// A bundled font, inflated for the life of the process (a compile-time asset, not input: a
/// test loads both faces).
fn inflate(compressed: &'static [u8]) -> &'static [u8] {
    use std::io::Read;
    let mut data = Vec::with_capacity(compressed.len() * 2);
    flate2::read::ZlibDecoder::new(compressed)
        .read_to_end(&mut data)
        .expect("bundled font inflates");
    Box::leak(data.into_boxed_slice())
}

/// One parsed face; parsed once per process.
pub(super) struct FontFace {
    data: &'static [u8],
    face: Face<'static>,
    name: &'static str,
    /// Font units → thousandths of an em (PDF glyph space).
    scale: f32,
    fallback: GlyphId,
}

impl FontFace {
    fn load(data: &'static [u8], name: &'static str) -> FontFace {
        // The font is a compile-time asset, not input: a test parses both faces.
        let face = Face::parse(data, 0).expect("bundled font parses");
        let scale = 1000.0 / f32::from(face.units_per_em());
        let fallback = face.glyph_index(FALLBACK).unwrap_or(GlyphId(0));
        FontFace {
            data,
            face,
            name,
            scale,
            fallback,
        }
    }

    /// The glyph drawn for `c` and the character it really shows.
    fn glyph(&self, c: char) -> (GlyphId, char) {
        match self.face.glyph_index(c) {
            Some(gid) if gid.0 != 0 => (gid, c),
            _ => (self.fallback, FALLBACK),
        }
    }

    /// Advance width in whole thousandths of an em: exactly what the PDF's widths array says, so
    /// that measured (right-aligned) text ends where a viewer draws it.
    fn advance(&self, gid: GlyphId) -> f32 {
        (f32::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) * self.scale).round()
    }

    /// Advance width of `c` as drawn, in thousandths of an em.
    pub(super) fn char_width(&self, c: char) -> f32 {
        self.advance(self.glyph(c).0)
    }

    fn metric(&self, units: i16) -> f32 {
        (f32::from(units) * self.scale).round()
    }

    fn write_descriptor(&self, pdf: &mut Pdf, id: Ref, base_font: Name, file: Ref) {
        let f = &self.face;
        let b = f.global_bounding_box();
        // The usual estimate of the vertical stem width from the weight class.
        let stem_v = 10.0 + 0.244 * (f32::from(f.weight().to_number()) - 50.0);
        pdf.font_descriptor(id)
            .name(base_font)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                self.metric(b.x_min),
                self.metric(b.y_min),
                self.metric(b.x_max),
                self.metric(b.y_max),
            ))
            .italic_angle(f.italic_angle())
            .ascent(self.metric(f.ascender()))
            .descent(self.metric(f.descender()))
            .cap_height(self.metric(f.capital_height().unwrap_or(f.ascender())))
            .stem_v(stem_v.round())
            .font_file2(file);
    }
}

/// The glyphs one document uses from one face, numbered in order of first use.
pub(super) struct Subset {
    style: Style,
    remapper: GlyphRemapper,
    /// Per subset glyph id: the character it shows (none for `.notdef`) and its width.
    glyphs: Vec<(Option<char>, f32)>,
}

impl Subset {
    pub(super) fn new(style: Style) -> Subset {
        // The remapper always gives `.notdef` id 0; mirror that here.
        let notdef = style.face().advance(GlyphId(0));
        Subset {
            style,
            remapper: GlyphRemapper::new(),
            glyphs: vec![(None, notdef)],
        }
    }

    /// Appends the two-byte CIDs (= subset glyph ids) of `text` to `out`.
    pub(super) fn encode(&mut self, text: &str, out: &mut Vec<u8>) {
        let face = self.style.face();
        for c in text.chars() {
            let (gid, shown) = face.glyph(c);
            let cid = self.remapper.remap(gid.0);
            if usize::from(cid) == self.glyphs.len() {
                self.glyphs.push((Some(shown), face.advance(gid)));
            }
            out.extend_from_slice(&cid.to_be_bytes());
        }
    }

    /// Writes the Type0 font and everything it needs; returns the font's id.
    pub(super) fn write(&self, pdf: &mut Pdf, refs: &mut Refs) -> Result<Ref, RenderError> {
        let face = self.style.face();
        let [type0, cid_font, descriptor, file, cmap] = [(); 5].map(|_| refs.next());
        let base_name = format!("{}+{}", self.tag(), face.name);
        let base_font = Name(base_name.as_bytes());

        pdf.type0_font(type0)
            .base_font(base_font)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_font)
            .to_unicode(cmap);
        self.write_cid_font(pdf, cid_font, base_font, descriptor);
        face.write_descriptor(pdf, descriptor, base_font, file);

        let program = subsetter::subset(face.data, 0, &self.remapper)?;
        pdf.stream(file, &deflate(&program)?)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), i32::try_from(program.len()).unwrap_or(i32::MAX));
        pdf.stream(cmap, &deflate(&self.to_unicode())?)
            .filter(Filter::FlateDecode);
        Ok(type0)
    }

    fn write_cid_font(&self, pdf: &mut Pdf, id: Ref, base_font: Name, descriptor: Ref) {
        let mut font = pdf.cid_font(id);
        font.subtype(CidFontType::Type2)
            .base_font(base_font)
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            })
            .font_descriptor(descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        font.widths().consecutive(0, self.glyphs.iter().map(|&(_, w)| w));
        font.finish();
    }

    /// CID → text, keyed by subset glyph id; `.notdef` (id 0) maps to nothing.
    fn to_unicode(&self) -> Vec<u8> {
        let mut cmap = UnicodeCmap::new(
            Name(b"Custom"),
            SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"UCS"),
                supplement: 0,
            },
        );
        for (cid, &(c, _)) in (0u16..).zip(&self.glyphs) {
            if let Some(c) = c {
                cmap.pair(cid, c);
            }
        }
        cmap.finish().into_vec()
    }

    /// Six capital letters that name this subset (PDF 32000 §9.6.4), derived from its glyphs so
    /// that the same invoice always renders to the same bytes.
    fn tag(&self) -> String {
        let mut hash = self.remapper.remapped_gids().fold(0xcbf2_9ce4_8422_2325_u64, |h, gid| {
            (h ^ u64::from(gid)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        (0..6)
            .map(|_| {
                let letter = char::from(b'A' + (hash % 26) as u8);
                hash /= 26;
                letter
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_faces_parse_and_cover_russian_text() {
        for style in Style::ALL {
            let face = style.face();
            for c in "АаЁёЯя№«»—0123456789".chars() {
                assert_eq!(face.glyph(c).1, c, "{c} in {}", face.name);
            }
            assert_eq!(face.glyph('中').1, FALLBACK);
            assert_eq!(face.glyph('\u{7}').1, FALLBACK);
        }
    }

    #[test]
    fn cids_follow_first_use_and_notdef_keeps_zero() {
        let mut subset = Subset::new(Style::Regular);
        let mut out = Vec::new();
        subset.encode("аба", &mut out);
        assert_eq!(out, [0, 1, 0, 2, 0, 1]);
        assert_eq!(subset.glyphs.len(), 3);
        assert_eq!(subset.glyphs[0].0, None);
        assert_eq!(subset.glyphs[1].0, Some('а'));
        let cmap = String::from_utf8(subset.to_unicode()).unwrap();
        assert!(
            cmap.contains("<0001> <0430>") && cmap.contains("<0002> <0431>"),
            "{cmap}"
        );
        assert!(
            cmap.contains("2 beginbfchar"),
            "only the two letters, not .notdef: {cmap}"
        );
        assert_eq!(subset.tag().len(), 6);
    }
}
