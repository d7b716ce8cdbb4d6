//! Vietnamese text folding for search: "Nguyễn Văn Cừ" and "nguyen van cu" fold alike.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Abbreviations used in addresses, and what they stand for (already folded).
const ABBREVIATIONS: [(&str, &str); 6] = [
    ("p", "phuong"),     // P. = Phường
    ("q", "quan"),       // Q. = Quận
    ("tp", "thanh pho"), // TP = Thành phố
    ("kv", "khu vuc"),   // KV = khu vực
    ("tt", "thi tran"),  // TT = Thị trấn
    ("tx", "thi xa"),    // TX = Thị xã
];

/// Folds text for matching: diacritics removed, đ/Đ → d, lower case, punctuation between
/// words and repeated spaces collapsed, abbreviations spelled out.
///
/// ```
/// use diaba_core::fold;
/// assert_eq!(fold("Nguyễn Văn Cừ"), "nguyen van cu");
/// assert_eq!(fold("  ĐƯỜNG  3/2,  P.An Hòa "), "duong 3/2 phuong an hoa");
/// assert_eq!(fold("KV Thới Thạnh, TP. Cần Thơ"), "khu vuc thoi thanh thanh pho can tho");
/// assert_eq!(fold("Hẻm 12/3A"), "hem 12/3a");
/// ```
pub fn fold(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    for c in text.nfd() {
        match c {
            'đ' | 'Đ' => plain.push('d'),
            c if is_combining_mark(c) => {}
            c if c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"') => plain.push(' '),
            c => plain.extend(c.to_lowercase()),
        }
    }
    let mut words: Vec<&str> = Vec::new();
    for token in plain.split_whitespace() {
        let (head, rest) = match token.split_once('.') {
            Some((head, rest)) => (head, rest),
            None => (token, ""),
        };
        match ABBREVIATIONS.iter().find(|(short, _)| *short == head) {
            Some((_, long)) => {
                words.extend(long.split(' '));
                if !rest.is_empty() {
                    words.push(rest);
                }
            }
            None => words.push(token),
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vietnamese_vowel_with_every_tone_folds_to_its_base() {
        for (accented, base) in [
            ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
            ("èéẻẽẹêềếểễệ", 'e'),
            ("ìíỉĩị", 'i'),
            ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
            ("ùúủũụưừứửữự", 'u'),
            ("ỳýỷỹỵ", 'y'),
        ] {
            assert!(fold(accented).chars().all(|c| c == base), "{accented} → {}", fold(accented));
            assert!(fold(&accented.to_uppercase()).chars().all(|c| c == base));
        }
    }

    #[test]
    fn composed_and_decomposed_input_fold_alike() {
        let composed = "Bình Thủy";
        let decomposed: String = composed.nfd().collect();
        assert_eq!(fold(composed), fold(&decomposed));
    }

    #[test]
    fn words_that_merely_start_like_an_abbreviation_stay() {
        assert_eq!(fold("Phong Điền"), "phong dien");
        assert_eq!(fold("Quang Trung"), "quang trung");
        assert_eq!(fold("Q.Ninh Kiều"), "quan ninh kieu");
    }

    #[test]
    fn empty_and_odd_input_is_harmless() {
        assert_eq!(fold(""), "");
        assert_eq!(fold("   ,,, "), "");
        assert_eq!(fold("🙂 x"), "🙂 x");
    }
}
