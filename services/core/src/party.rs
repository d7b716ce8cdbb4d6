//! Land users (người sử dụng đất) and what identifies them: LADM's parties.
//!
//! - [`PersonalId`]: the 12-digit personal identification number (số định danh cá nhân,
//!   printed on the căn cước card), checked by its structure (Luật Căn cước 2023 Art 12;
//!   Circular 59/2021/TT-BCA): 3 digits of the province where the birth was registered, 1
//!   of century and sex, 2 of the birth year, 6 random.
//! - [`Share`]: a fraction of a parcel's right or of a household's.
//! - [`CertificateSerial`]: the serial of a land-use right certificate (Giấy chứng nhận).

use crate::{Error, Result};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Province codes of birth registration (GSO province codes before the 2025 reform, as the
/// personal ID uses them; Circular 59/2021/TT-BCA appendix).
const PROVINCES: &[(&str, &str)] = &[
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// Sex as the personal ID's fourth digit encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Even digits.
    Male,
    /// Odd digits.
    Female,
}

/// A 12-digit personal identification number, structurally valid: a known province code, a
/// century digit and birth year that are not in the future (and agree with a date of birth
/// when one is known).
///
/// ```
/// use diaba_core::PersonalId;
/// let id = PersonalId::parse("092185012345").unwrap();
/// assert_eq!((id.province(), id.birth_year()), ("Cần Thơ", 1985));
/// assert!(PersonalId::parse("092985012345").is_err(), "born in 2185");
/// assert!(PersonalId::parse("003185012345").is_err(), "no province 003");
/// assert!(PersonalId::parse("09218501234").is_err(), "11 digits");
/// assert!(PersonalId::parse("092 185 012 345").is_ok(), "spaces as printed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PersonalId(String);

impl PersonalId {
    /// Reads a personal ID (spaces and dots as printed are ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '.')).collect();
        let malformed = |expected: &'static str| Error::Malformed {
            field: "personal_id",
            expected,
            got: text.chars().take(32).collect(),
        };
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("12 digits (a 9-digit number is an old identity card, kept as history)"));
        }
        if !PROVINCES.iter().any(|(code, _)| *code == &digits[..3]) {
            return Err(malformed("a personal ID whose first 3 digits are a province code (001 Hà Nội … 096 Cà Mau)"));
        }
        let id = Self(digits);
        if id.birth_year() > crate::today_in_vietnam().year() {
            return Err(malformed("a personal ID whose 4th to 6th digits give a birth year not in the future"));
        }
        Ok(id)
    }

    /// Reads a personal ID and checks it agrees with a known date of birth.
    pub fn parse_for(text: &str, date_of_birth: NaiveDate) -> Result<Self> {
        let id = Self::parse(text)?;
        if id.birth_year() != date_of_birth.year() {
            return Err(Error::Malformed {
                field: "personal_id",
                expected: "a personal ID whose birth year agrees with the date of birth",
                got: format!("{} for a person born in {}", id.0, date_of_birth.year()),
            });
        }
        Ok(id)
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Province where the birth was registered.
    pub fn province(&self) -> &'static str {
        PROVINCES.iter().find(|(code, _)| *code == &self.0[..3]).map_or("", |(_, name)| name)
    }

    /// Year of birth, from the century digit and the two year digits.
    pub fn birth_year(&self) -> i32 {
        let century_digit = i32::from(self.0.as_bytes()[3] - b'0');
        let year = i32::from(self.0.as_bytes()[4] - b'0') * 10 + i32::from(self.0.as_bytes()[5] - b'0');
        1900 + 100 * (century_digit / 2) + year
    }

    /// Sex, from the century digit.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[3] - b'0').is_multiple_of(2) { Sex::Male } else { Sex::Female }
    }

    /// A structurally valid ID for a synthetic person born on `date_of_birth` in Cần Thơ,
    /// its last six digits from `serial` (for demo data only).
    pub fn synthetic(date_of_birth: NaiveDate, sex: Sex, serial: u32) -> Self {
        let year = date_of_birth.year();
        let century = (year - 1900) / 100 * 2 + i32::from(sex == Sex::Female);
        Self(format!("092{century}{:02}{:06}", year % 100, serial % 1_000_000))
    }
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A share of a right, or of a household: a fraction in lowest terms, above 0 and at most 1.
///
/// ```
/// use diaba_core::Share;
/// let half = Share::new(2, 4).unwrap();
/// assert_eq!((half.numerator(), half.denominator()), (1, 2));
/// assert!(Share::new(3, 2).is_err());
/// assert!(Share::sums_to_one(&[Share::new(1, 3).unwrap(), Share::new(2, 3).unwrap()]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShareText", into = "ShareText")]
pub struct Share {
    numerator: u32,
    denominator: u32,
}

impl Share {
    /// The whole.
    pub const WHOLE: Share = Share { numerator: 1, denominator: 1 };

    /// `numerator / denominator`, reduced.
    pub fn new(numerator: u32, denominator: u32) -> Result<Self> {
        if numerator == 0 || denominator == 0 || numerator > denominator {
            return Err(Error::Malformed {
                field: "share",
                expected: "a fraction above 0 and at most 1, e.g. 1/2",
                got: format!("{numerator}/{denominator}"),
            });
        }
        let g = gcd(numerator, denominator);
        Ok(Self { numerator: numerator / g, denominator: denominator / g })
    }

    /// Numerator.
    pub fn numerator(self) -> u32 {
        self.numerator
    }

    /// Denominator.
    pub fn denominator(self) -> u32 {
        self.denominator
    }

    /// True when the shares add up to exactly one (exact, in integers).
    pub fn sums_to_one(shares: &[Share]) -> bool {
        let (mut num, mut den) = (0u128, 1u128);
        for s in shares {
            num = num * u128::from(s.denominator) + u128::from(s.numerator) * den;
            den *= u128::from(s.denominator);
            let g = gcd_u128(num, den);
            (num, den) = (num / g, den / g);
        }
        num == den
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn gcd_u128(a: u128, b: u128) -> u128 {
    if b == 0 { a.max(1) } else { gcd_u128(b, a % b) }
}

/// A share as written: "1/2" (or "1").
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct ShareText(String);

impl TryFrom<ShareText> for Share {
    type Error = Error;
    fn try_from(text: ShareText) -> Result<Self> {
        let malformed = || Error::Malformed { field: "share", expected: "a fraction such as 1/2", got: text.0.clone() };
        match text.0.trim().split_once('/') {
            Some((n, d)) => {
                Share::new(n.trim().parse().map_err(|_| malformed())?, d.trim().parse().map_err(|_| malformed())?)
            }
            None if text.0.trim() == "1" => Ok(Share::WHOLE),
            None => Err(malformed()),
        }
    }
}

impl From<Share> for ShareText {
    fn from(share: Share) -> Self {
        ShareText(share.to_string())
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// The serial of a certificate: two capital letters and 6 or 8 digits (e.g. `BD 614696`),
/// kept as printed with one space.
///
/// ```
/// use diaba_core::CertificateSerial;
/// assert_eq!(CertificateSerial::parse("bd614696").unwrap().as_str(), "BD 614696");
/// assert_eq!(CertificateSerial::parse("CS 01234567").unwrap().as_str(), "CS 01234567");
/// assert!(CertificateSerial::parse("B 614696").is_err());
/// assert!(CertificateSerial::parse("€614696").is_err());
/// assert!(CertificateSerial::parse("BD 6146961").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CertificateSerial(String);

impl CertificateSerial {
    /// Reads a serial, with or without the space, in any case.
    pub fn parse(text: &str) -> Result<Self> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        // Not split_at: a first letter outside ASCII would not end on byte 2.
        let (letters, digits) = (compact.get(..2).unwrap_or(""), compact.get(2..).unwrap_or(""));
        let ok = letters.len() == 2
            && letters.bytes().all(|b| b.is_ascii_uppercase())
            && matches!(digits.len(), 6 | 8)
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Error::Malformed {
                field: "serial",
                expected: "two letters and 6 or 8 digits, e.g. BD 614696",
                got: text.chars().take(32).collect(),
            });
        }
        Ok(Self(format!("{letters} {digits}")))
    }

    /// The serial as printed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an owners list as submitted with a parcel (`[{name, kind?, id_number?,
/// date_of_birth?, org_number?, share?, members?}]`) before it becomes parties and rights: a name for
/// each; a personal ID structurally valid and agreeing with the date of birth (a 9-digit
/// number is an old identity card, kept as history); shares, when given, for every holder
/// and summing to one. A household or group (`kind`) lists its `members` the same way,
/// their shares being of the household's.
pub fn check_owners(owners: &serde_json::Value) -> std::result::Result<(), String> {
    match owners {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::Array(list) => check_holders(list, "holder"),
        _ => Err("owners is a list of holders: [{\"name\": …, \"id_number\": …, \"share\": \"1/2\"}]".into()),
    }
}

fn check_holders(list: &[serde_json::Value], what: &str) -> std::result::Result<(), String> {
    let mut shares = Vec::new();
    for (i, holder) in list.iter().enumerate() {
        let name = holder.get("name").and_then(|n| n.as_str()).map(str::trim).unwrap_or_default();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(format!("{what} {i}: a name of 1 to 200 characters"));
        }
        let kind = holder.get("kind").map_or(Some("person"), serde_json::Value::as_str);
        let group = match (what, kind) {
            ("holder", Some("person" | "organisation")) | ("member", Some("person")) => false,
            ("holder", Some("household" | "group")) => true,
            _ => {
                let allowed = if what == "holder" { "person, organisation, household or group" } else { "person" };
                return Err(format!("{what} {i}: kind is {allowed}, got {}", holder["kind"]));
            }
        };
        check_identity(holder, i, name, what)?;
        if group {
            let members = holder.get("members").and_then(|m| m.as_array()).filter(|m| !m.is_empty());
            let members =
                members.ok_or_else(|| format!("{what} {i} ({name}): a {} lists its members", kind.unwrap_or("")))?;
            check_holders(members, "member").map_err(|e| format!("{what} {i} ({name}): {e}"))?;
        }
        if let Some(share) = holder.get("share") {
            let share: Share = serde_json::from_value(share.clone())
                .map_err(|e| format!("{what} {i}: share is a fraction like \"1/2\": {e}"))?;
            shares.push(share);
        }
    }
    if !shares.is_empty() && (shares.len() != list.len() || !Share::sums_to_one(&shares)) {
        return Err(format!(
            "the {what}s' shares must be given for all {} and sum to 1, got {}",
            list.len(),
            shares.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ")
        ));
    }
    Ok(())
}

/// A holder's date of birth and personal ID, when given.
fn check_identity(holder: &serde_json::Value, i: usize, name: &str, what: &str) -> std::result::Result<(), String> {
    let born = match holder.get("date_of_birth") {
        None | Some(serde_json::Value::Null) => None,
        Some(date) => Some(
            date.as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| format!("{what} {i}: date_of_birth is YYYY-MM-DD, got {date}"))?,
        ),
    };
    if let Some(id) = holder.get("id_number") {
        let id = id.as_str().ok_or_else(|| format!("{what} {i}: id_number is text"))?;
        let old_card = id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit());
        if !old_card {
            let parsed = match born {
                Some(born) => PersonalId::parse_for(id, born),
                None => PersonalId::parse(id),
            };
            parsed.map_err(|e| format!("{what} {i} ({name}): {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_century_digit_gives_century_and_sex() {
        for (id, year, sex) in [
            ("092085000001", 1985, Sex::Male),
            ("092185000001", 1985, Sex::Female),
            ("092205000001", 2005, Sex::Male),
            ("092305000001", 2005, Sex::Female),
        ] {
            let id = PersonalId::parse(id).unwrap();
            assert_eq!((id.birth_year(), id.sex()), (year, sex), "{id}");
        }
    }

    #[test]
    fn an_id_must_agree_with_the_date_of_birth() {
        let born = NaiveDate::from_ymd_opt(1985, 3, 2).unwrap();
        assert!(PersonalId::parse_for("092085000001", born).is_ok());
        assert!(PersonalId::parse_for("092086000001", born).is_err());
    }

    #[test]
    fn synthetic_ids_are_structurally_valid_and_carry_their_birth() {
        for (y, sex) in [(1950, Sex::Male), (1999, Sex::Female), (2004, Sex::Male), (2010, Sex::Female)] {
            let born = NaiveDate::from_ymd_opt(y, 6, 15).unwrap();
            let id = PersonalId::synthetic(born, sex, 123_456);
            let parsed = PersonalId::parse_for(id.as_str(), born).unwrap();
            assert_eq!((parsed.birth_year(), parsed.sex(), parsed.province()), (y, sex, "Cần Thơ"));
        }
    }

    #[test]
    fn shares_are_reduced_and_summed_exactly() {
        let third = Share::new(1, 3).unwrap();
        assert!(Share::sums_to_one(&[third, third, third]));
        assert!(!Share::sums_to_one(&[third, third]));
        assert!(!Share::sums_to_one(&[Share::WHOLE, third]));
        assert_eq!(serde_json::to_string(&Share::new(2, 4).unwrap()).unwrap(), "\"1/2\"");
        assert_eq!(serde_json::from_str::<Share>("\"3/6\"").unwrap(), Share::new(1, 2).unwrap());
        assert!(serde_json::from_str::<Share>("\"0/1\"").is_err());
    }

    #[test]
    fn owners_lists_are_checked_before_they_become_rights() {
        assert!(check_owners(&serde_json::json!(null)).is_ok());
        assert!(check_owners(&serde_json::json!([{ "name": "Nguyễn Văn A (synthetic)" }])).is_ok());
        assert!(
            check_owners(
                &serde_json::json!([{ "name": "A", "id_number": "092085000123", "date_of_birth": "1985-03-01" }])
            )
            .is_ok()
        );
        assert!(
            check_owners(&serde_json::json!([{ "name": "A", "id_number": "361234567" }])).is_ok(),
            "an old 9-digit card"
        );
        assert!(
            check_owners(&serde_json::json!([{ "name": "A", "share": "1/3" }, { "name": "B", "share": "2/3" }]))
                .is_ok()
        );
        let household = serde_json::json!([{ "name": "Hộ ông Phạm Văn Lâm (synthetic)", "kind": "household", "members": [
            { "name": "Phạm Văn Lâm (synthetic)", "id_number": "092080001234", "share": "1/2" },
            { "name": "Phạm Thị Mai (synthetic)", "share": "1/2" }] }]);
        assert!(check_owners(&household).is_ok());
        for bad in [
            serde_json::json!({ "name": "A" }),
            serde_json::json!([{ "name": "" }]),
            serde_json::json!([{ "name": "A", "id_number": "999085000123" }]),
            serde_json::json!([{ "name": "A", "id_number": "092085000123", "date_of_birth": "1990-01-01" }]),
            serde_json::json!([{ "name": "A", "share": "1/2" }, { "name": "B", "share": "1/3" }]),
            serde_json::json!([{ "name": "A", "share": "1/2" }, { "name": "B" }]),
            serde_json::json!([{ "name": "A", "kind": "alien" }]),
            serde_json::json!([{ "name": "Hộ A", "kind": "household" }]),
            serde_json::json!([{ "name": "Hộ A", "kind": "household", "members": [{ "name": "B", "id_number": "999085000123" }] }]),
            serde_json::json!([{ "name": "Hộ A", "kind": "household", "members": [{ "name": "B", "share": "1/2" }, { "name": "C", "share": "1/3" }] }]),
        ] {
            assert!(check_owners(&bad).is_err(), "{bad}");
        }
    }
}
