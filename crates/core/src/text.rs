//! How people find and match names. French users type without accents (`zoe` for "Zoé",
//! `lefevre` for "Lefèvre"), files spell a company `ÉCOLE SUPÉRIEURE` one day and `École
//! Supérieure` the next, and neither database folds case beyond ASCII the same way (SQLite's
//! `lower()` leaves `É` alone, PostgreSQL's depends on its locale). So the folding is done here,
//! once, in Rust: stored texts keep the spelling people typed, and a *key* beside them is what
//! searches and matches compare.
//!
//! A key is the text decomposed (NFKD), stripped of combining marks (accents, cedillas), with the
//! usual ligatures and letters that do not decompose spelled out (`œ` → `oe`, `ß` → `ss`,
//! `ø` → `o`, `ł` → `l`), lower-cased for all of Unicode, with runs of white space made one
//! space and the ends trimmed.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The folded form of `text` that searches and matches compare.
///
/// ```
/// use leadgate_core::text::fold;
/// assert_eq!(fold("  Zoé   LEFÈVRE "), "zoe lefevre");
/// assert_eq!(fold("Bâtiment Œuvre"), "batiment oeuvre");
/// assert_eq!(fold("ÉCOLE SUPÉRIEURE"), fold("école supérieure"));
/// assert_eq!(fold("Straße"), "strasse");
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'Œ' | 'œ' => out.push_str("oe"),
            'Æ' | 'æ' => out.push_str("ae"),
            'ß' | 'ẞ' => out.push_str("ss"),
            'Ø' | 'ø' => out.push('o'),
            'Ł' | 'ł' => out.push('l'),
            'Đ' | 'đ' => out.push('d'),
            'Þ' | 'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            // Typographic apostrophes and dashes as people type them on a keyboard.
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => out.push('\''),
            '\u{2010}'..='\u{2015}' => out.push('-'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The text a free-text search looks into: each part folded, joined by one space.
///
/// ```
/// use leadgate_core::text::search_text;
/// assert_eq!(search_text([Some("Zoé"), None, Some("Zoe@Example.com")]), "zoe zoe@example.com");
/// ```
pub fn search_text<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let folded: Vec<String> = parts.into_iter().flatten().map(fold).filter(|p| !p.is_empty()).collect();
    folded.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_case_and_spaces_do_not_matter() {
        for (a, b) in [
            ("École Supérieure", "ECOLE SUPERIEURE"),
            ("Bâtiment Œuvre", "batiment  oeuvre"),
            ("Zoé Lefèvre", "zoe lefevre"),
            ("Ærø Łódź", "aero lodz"),
            ("Ｆｕｌｌ ｗｉｄｔｈ", "full width"),
            ("l’Oréal", "l'oreal"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} / {b}");
        }
        assert_ne!(fold("Lefèvre"), fold("Lefebvre"));
    }

    proptest! {
        /// Folding twice changes nothing, and a folded key has no white space at its ends:
        /// keys can be stored and compared as they are.
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert_eq!(once.trim(), once.as_str());
        }
    }
}
