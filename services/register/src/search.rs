//! The text an address is found by: its house number, street or hamlet, and the names of
//! its ward now and of the units it was formed from, folded (no diacritics, đ → d, lower
//! case, abbreviations spelled out), so "An Hòa" still finds addresses now in Cái Khế.

use diaba_core::fold;

/// The folded search text of an address in a ward known by `ward_names` (its own name
/// first, then its predecessors').
///
/// ```
/// use diaba_register::search_text;
/// let names = vec!["Phường Ninh Kiều".to_owned(), "Phường Tân An".to_owned()];
/// assert_eq!(search_text("12/3A", Some("Đường 3/2"), None, Some(&names)), "12/3a duong 3/2 phuong ninh kieu phuong tan an");
/// ```
pub fn search_text(
    house_number: &str,
    street: Option<&str>,
    hamlet: Option<&str>,
    ward_names: Option<&Vec<String>>,
) -> String {
    let names = ward_names.map(|n| n.join(" ")).unwrap_or_default();
    fold(&format!("{house_number} {} {} {names}", street.unwrap_or(""), hamlet.unwrap_or("")))
}
