//! The 8-bit encodings older Vietnamese cadastral files were written in, decoded to NFC:
//!
//! - **CP1258** (Windows Vietnamese): base letters and combining tones, via `encoding_rs`.
//! - **TCVN3** (the "ABC" fonts, .VnTime): TCVN 5712:1993. ABC fonts use its VN3 subset,
//!   whose toned capitals do not exist (a capital font, .VnTimeH, drew lowercase codes as
//!   capitals, so such text arrives lowercase); the full VN1 table is decoded here, so the
//!   capitals VN1 adds come out right too.
//! - **VNI** (VNI Windows fonts): a base letter followed by one byte for its marks, drawn
//!   over the letter by the font (`aù` is á); decoded to combining marks, then composed.
//!
//! Which one a file uses is rarely written down, so [`guess`] reads the text each way and
//! keeps the reading whose words are Vietnamese syllables.

use unicode_normalization::UnicodeNormalization;

/// A legacy Vietnamese text encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Windows Vietnamese (code page 1258).
    Cp1258,
    /// TCVN 5712:1993 (TCVN3, "ABC").
    Tcvn3,
    /// VNI Windows.
    Vni,
}

impl Charset {
    /// All of them, in the order a tie is settled (CP1258 first: the system code page).
    pub const ALL: [Charset; 3] = [Charset::Cp1258, Charset::Tcvn3, Charset::Vni];

    /// The charset `name` (as given to `--encoding` or in a .cpg) stands for.
    pub fn named(name: &str) -> Option<Self> {
        let name = name.to_ascii_uppercase().replace(['-', '_', ' '], "");
        match name.as_str() {
            "CP1258" | "WINDOWS1258" | "1258" | "ANSI1258" => Some(Self::Cp1258),
            "TCVN3" | "TCVN" | "TCVN5712" | "TCVN57121" | "ABC" | "VN3" => Some(Self::Tcvn3),
            "VNI" | "VNIWINDOWS" | "VNIWIN" => Some(Self::Vni),
            _ => None,
        }
    }

    /// The name reports use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Cp1258 => "CP1258 (Windows Vietnamese)",
            Self::Tcvn3 => "TCVN3 (TCVN 5712:1993, ABC fonts)",
            Self::Vni => "VNI Windows",
        }
    }

    /// `bytes` as text, composed (NFC).
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Self::Cp1258 => encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes).0.nfc().collect(),
            Self::Tcvn3 => bytes.iter().map(|&b| tcvn3(b)).nfc().collect(),
            Self::Vni => {
                let mut text = String::with_capacity(bytes.len() * 2);
                for &b in bytes {
                    push_vni(b, &mut text);
                }
                text.nfc().collect()
            }
        }
    }
}

impl Charset {
    /// `text` in this charset: each character by the shortest byte sequence that decodes to
    /// it (so writing and reading agree by construction); `None` when a character has none.
    /// For test files and round trips: diaba itself writes only UTF-8.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        let codes = self.codes();
        let mut out = Vec::with_capacity(text.len());
        for c in text.nfc() {
            match c {
                _ if c.is_ascii() => out.push(c as u8),
                _ => out.extend(codes.get(&c)?),
            }
        }
        Some(out)
    }

    /// Every letter's code: one byte where there is one, else a letter and a mark byte.
    fn codes(self) -> &'static std::collections::HashMap<char, Vec<u8>> {
        use std::sync::OnceLock;
        static CODES: [OnceLock<std::collections::HashMap<char, Vec<u8>>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        CODES[self as usize].get_or_init(|| {
            let mut codes = std::collections::HashMap::new();
            let singles = (0x01..=0xFFu8).map(|b| vec![b]);
            let pairs = (0x20..=0xFFu8).flat_map(|a| (0xC0..=0xFFu8).map(move |b| vec![a, b]));
            for bytes in singles.chain(pairs) {
                let decoded = self.decode(&bytes);
                let mut chars = decoded.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    codes.entry(c).or_insert(bytes);
                }
            }
            codes
        })
    }
}

/// The charset whose reading of `bytes` has the most Vietnamese words; `None` when no
/// word has a letter outside ASCII (nothing to tell them apart, nothing to decode).
pub fn guess(bytes: &[u8]) -> Option<Charset> {
    let mut best: Option<(Charset, f64)> = None;
    for charset in Charset::ALL {
        let score = vietnamese_share(&charset.decode(bytes))?;
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((charset, score));
        }
    }
    best.map(|(charset, _)| charset)
}

/// TCVN 5712:1993 VN1, bytes 0x80–0xFF (from the standard's table as glibc's
/// `TCVN5712-1` charmap holds it; a test checks every byte against iconv).
const TCVN3_HIGH: [char; 128] = [
    '\u{C0}', '\u{1EA2}', '\u{C3}', '\u{C1}', '\u{1EA0}', '\u{1EB6}', '\u{1EAC}', '\u{C8}', // 80
    '\u{1EBA}', '\u{1EBC}', '\u{C9}', '\u{1EB8}', '\u{1EC6}', '\u{CC}', '\u{1EC8}', '\u{128}', // 88
    '\u{CD}', '\u{1ECA}', '\u{D2}', '\u{1ECE}', '\u{D5}', '\u{D3}', '\u{1ECC}', '\u{1ED8}', // 90
    '\u{1EDC}', '\u{1EDE}', '\u{1EE0}', '\u{1EDA}', '\u{1EE2}', '\u{D9}', '\u{1EE6}', '\u{168}', // 98
    '\u{A0}', '\u{102}', '\u{C2}', '\u{CA}', '\u{D4}', '\u{1A0}', '\u{1AF}', '\u{110}', // A0
    '\u{103}', '\u{E2}', '\u{EA}', '\u{F4}', '\u{1A1}', '\u{1B0}', '\u{111}', '\u{1EB0}', // A8
    '\u{300}', '\u{309}', '\u{303}', '\u{301}', '\u{323}', '\u{E0}', '\u{1EA3}', '\u{E3}', // B0
    '\u{E1}', '\u{1EA1}', '\u{1EB2}', '\u{1EB1}', '\u{1EB3}', '\u{1EB5}', '\u{1EAF}', '\u{1EB4}', // B8
    '\u{1EAE}', '\u{1EA6}', '\u{1EA8}', '\u{1EAA}', '\u{1EA4}', '\u{1EC0}', '\u{1EB7}', '\u{1EA7}', // C0
    '\u{1EA9}', '\u{1EAB}', '\u{1EA5}', '\u{1EAD}', '\u{E8}', '\u{1EC2}', '\u{1EBB}', '\u{1EBD}', // C8
    '\u{E9}', '\u{1EB9}', '\u{1EC1}', '\u{1EC3}', '\u{1EC5}', '\u{1EBF}', '\u{1EC7}', '\u{EC}', // D0
    '\u{1EC9}', '\u{1EC4}', '\u{1EBE}', '\u{1ED2}', '\u{129}', '\u{ED}', '\u{1ECB}', '\u{F2}', // D8
    '\u{1ED4}', '\u{1ECF}', '\u{F5}', '\u{F3}', '\u{1ECD}', '\u{1ED3}', '\u{1ED5}', '\u{1ED7}', // E0
    '\u{1ED1}', '\u{1ED9}', '\u{1EDD}', '\u{1EDF}', '\u{1EE1}', '\u{1EDB}', '\u{1EE3}', '\u{F9}', // E8
    '\u{1ED6}', '\u{1EE7}', '\u{169}', '\u{FA}', '\u{1EE5}', '\u{1EEB}', '\u{1EED}', '\u{1EEF}', // F0
    '\u{1EE9}', '\u{1EF1}', '\u{1EF3}', '\u{1EF7}', '\u{1EF9}', '\u{FD}', '\u{1EF5}', '\u{1ED0}', // F8
];

fn tcvn3(byte: u8) -> char {
    match byte {
        // VN1 puts the capitals that do not fit above in control positions.
        0x01 => 'Ú',
        0x02 => 'Ụ',
        0x04 => 'Ừ',
        0x05 => 'Ử',
        0x06 => 'Ữ',
        0x11 => 'Ứ',
        0x12 => 'Ự',
        0x13 => 'Ỳ',
        0x14 => 'Ỷ',
        0x15 => 'Ỹ',
        0x16 => 'Ý',
        0x17 => 'Ỵ',
        0x80.. => TCVN3_HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Appends what VNI's `byte` stands for: a letter's marks (as combining marks), one of its
/// one-byte letters, or else the Latin-1 character. Capitals' bytes are the small letters'
/// minus 0x20, as in Latin-1; bytes below 0xC0 stay below 0xE0 once 0x20 is set, so they
/// never match.
fn push_vni(byte: u8, text: &mut String) {
    let marks = match byte | 0x20 {
        0xF9 => "\u{301}",
        0xF8 => "\u{300}",
        0xFB => "\u{309}",
        0xF5 => "\u{303}",
        0xEF => "\u{323}",
        0xE2 => "\u{302}",
        0xE1 => "\u{302}\u{301}",
        0xE0 => "\u{302}\u{300}",
        0xE5 => "\u{302}\u{309}",
        0xE3 => "\u{302}\u{303}",
        0xE4 => "\u{302}\u{323}",
        0xEA => "\u{306}",
        0xE9 => "\u{306}\u{301}",
        0xE8 => "\u{306}\u{300}",
        0xFA => "\u{306}\u{309}",
        0xFC => "\u{306}\u{303}",
        0xEB => "\u{306}\u{323}",
        _ => "",
    };
    if !marks.is_empty() {
        text.push_str(marks);
        return;
    }
    // One-byte letters: ơ ư đ, and i and y with their tones.
    let small = match byte | 0x20 {
        0xF4 => 'ơ',
        0xF6 => 'ư',
        0xF1 => 'đ',
        0xED => 'í',
        0xEC => 'ì',
        0xE6 => 'ỉ',
        0xF3 => 'ĩ',
        0xF2 => 'ị',
        0xEE => 'ỵ',
        _ => return text.push(char::from(byte)),
    };
    if byte & 0x20 == 0 {
        text.extend(small.to_uppercase());
    } else {
        text.push(small);
    }
}

/// Of the words holding a letter outside ASCII, the share that are Vietnamese syllables;
/// `None` when there is no such word.
fn vietnamese_share(text: &str) -> Option<f64> {
    let (mut words, mut syllables) = (0usize, 0usize);
    for word in text.split(|c: char| c.is_ascii_whitespace() || c.is_ascii_punctuation() || c.is_ascii_digit()) {
        if word.is_ascii() {
            continue;
        }
        words += 1;
        if is_syllable(word) {
            syllables += 1;
        }
    }
    (words > 0).then(|| syllables as f64 / words as f64)
}

/// Tone marks (the five besides level): grave, acute, tilde, hook above, dot below.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// Whether `word` is one Vietnamese syllable: an initial, a vowel nucleus, a final, at
/// most one tone, only Vietnamese letters.
fn is_syllable(word: &str) -> bool {
    let decomposed: Vec<char> = word.to_lowercase().nfd().collect();
    if decomposed.iter().filter(|c| TONES.contains(c)).count() > 1 {
        return false;
    }
    let toneless: String = decomposed.into_iter().filter(|c| !TONES.contains(c)).nfc().collect();
    if !toneless.chars().all(|c| c.is_ascii_lowercase() || "ăâêôơưđ".contains(c)) {
        return false;
    }
    let is_vowel = |c: char| "aăâeêioôơuưy".contains(c);
    let start = toneless.find(is_vowel).unwrap_or(toneless.len());
    let end = toneless.rfind(is_vowel).map_or(start, |i| i + toneless[i..].chars().next().map_or(0, char::len_utf8));
    let (mut initial, mut nucleus, last) = (&toneless[..start], &toneless[start..end], &toneless[end..]);
    // "qu" and "gi" take the vowel after the consonant into the initial.
    for cluster in ["qu", "gi"] {
        if toneless.starts_with(cluster) && nucleus.len() > 1 && initial.len() + 1 == cluster.len() {
            let split = nucleus.chars().next().map_or(0, char::len_utf8);
            initial = &toneless[..cluster.len()];
            nucleus = &nucleus[split..];
        }
    }
    const INITIALS: &[&str] = &[
        "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph",
        "qu", "r", "s", "t", "th", "tr", "v", "x",
    ];
    const NUCLEI: &[&str] = &[
        "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu",
        "ia", "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "oo", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa",
        "ưi", "ươ", "ưu", "yê", "iêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "uya", "uyê", "uyu", "ươi", "ươu",
        "yêu",
    ];
    const FINALS: &[&str] = &["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];
    INITIALS.contains(&initial) && NUCLEI.contains(&nucleus) && FINALS.contains(&last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Vietnamese vowel with every tone, both cases, and đ: the letters the tables
    /// must cover.
    fn letters() -> Vec<String> {
        let mut all = Vec::new();
        for base in ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"] {
            for tone in ["", "\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"] {
                let small: String = format!("{base}{tone}").nfc().collect();
                all.push(small.to_uppercase());
                all.push(small);
            }
        }
        all.extend(["đ".to_owned(), "Đ".to_owned()]);
        all
    }

    /// glibc's iconv, the reference TCVN 5712:1993 table (a trailing space flushes the
    /// last letter, which iconv holds back waiting for a combining mark).
    fn iconv_tcvn(bytes: &[u8]) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("iconv")
            .args(["-f", "TCVN5712-1", "-t", "UTF-8"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("iconv (glibc)");
        let mut input = bytes.to_vec();
        input.push(b' ');
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().strip_suffix(' ').unwrap().nfc().collect()
    }

    #[test]
    fn tcvn3_matches_the_published_table_byte_for_byte() {
        for byte in (0x01..=0x17).chain(0x80..=0xFF) {
            assert_eq!(Charset::Tcvn3.decode(&[byte]), iconv_tcvn(&[byte]), "byte {byte:#04x}");
        }
    }

    #[test]
    fn every_letter_has_a_tcvn3_code_that_decodes_back() {
        // The reference encodes each letter (iconv decomposes what VN1 lacks into a base and
        // a combining mark, which must compose back).
        for letter in letters() {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf '%s' '{letter}' | iconv -f UTF-8 -t TCVN5712-1")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{letter} has no TCVN 5712 code");
            assert_eq!(Charset::Tcvn3.decode(&out.stdout), letter, "{letter} from {:x?}", out.stdout);
        }
    }

    /// A published VNI Windows table (xvnkb's, checked against the npm package
    /// `vietnamese-conversion`; see the file's header), one letter per line: the letter,
    /// then VNI's bytes in hex.
    const VNI_REFERENCE: &str = include_str!("../../../tests/data/legacy-encodings/vni-windows.tsv");

    #[test]
    fn vni_matches_the_published_table_for_every_letter() {
        let mut checked = std::collections::HashSet::new();
        for line in VNI_REFERENCE.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let (letter, hex) = line.split_once('\t').unwrap();
            let bytes: Vec<u8> = hex.split(' ').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
            assert_eq!(Charset::Vni.decode(&bytes), letter, "{letter} from {hex}");
            checked.insert(letter.to_owned());
        }
        for letter in letters() {
            assert!(checked.contains(&letter), "{letter} is not in the reference table");
        }
    }

    #[test]
    fn every_letter_round_trips_in_every_charset() {
        for charset in Charset::ALL {
            for letter in letters() {
                let bytes = charset.encode(&letter).unwrap_or_else(|| panic!("{letter} in {charset:?}"));
                assert_eq!(charset.decode(&bytes), letter, "{charset:?} {bytes:x?}");
            }
        }
    }

    #[test]
    fn names_given_to_encoding() {
        assert_eq!(Charset::named("tcvn3"), Some(Charset::Tcvn3));
        assert_eq!(Charset::named("VNI-Windows"), Some(Charset::Vni));
        assert_eq!(Charset::named("windows-1258"), Some(Charset::Cp1258));
        assert_eq!(Charset::named("UTF-8"), None);
    }

    #[test]
    fn the_charset_is_guessed_from_the_words() {
        let names = "Phường Ninh Kiều; Đường Nguyễn Văn Cừ; Xã Mỹ Khánh; Huyện Phong Điền; đất ở tại đô thị";
        for charset in Charset::ALL {
            let bytes = charset.encode(names).unwrap();
            assert_eq!(charset.decode(&bytes), names, "{charset:?} round trip");
            assert_eq!(guess(&bytes), Some(charset), "{charset:?} guessed");
        }
        assert_eq!(guess(b"ODT 125 DGT"), None, "nothing outside ASCII, nothing to tell");
    }
}
