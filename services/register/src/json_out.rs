//! JSON written straight into a byte buffer, for answers written hundreds of thousands of
//! times a second. serde_json escapes every key of a struct at run time, character by
//! character: with ~35 keys a lookup answer, that was the largest single cost of writing it.
//! Here the keys are literals already in JSON form; values still go through serde_json, so
//! string escaping and number formatting stay exactly theirs.

use serde::Serialize;

/// A string, escaped as serde_json escapes it.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    value(out, text);
}

/// A number as serde_json writes it (`null` for a non-finite one).
pub(crate) fn number(out: &mut Vec<u8>, x: f64) {
    value(out, &x);
}

/// An integer.
pub(crate) fn integer(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `null`, or what `write` writes for the value.
pub(crate) fn nullable<T>(out: &mut Vec<u8>, value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        Some(value) => write(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// `[…]`, each item written by `write`.
pub(crate) fn array<T>(out: &mut Vec<u8>, items: impl IntoIterator<Item = T>, write: impl Fn(&mut Vec<u8>, T)) {
    out.push(b'[');
    for (n, item) in items.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Any value, through serde_json: for the parts written once and copied after.
pub(crate) fn value(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("plain values serialise into a buffer");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let texts = ["", "Phường Tân An", "a \"quoted\" \\ path", "tab\there\nline\u{1}\u{7f}", "Kiệt 7 – Đường"];
        for text in texts {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        for x in [0.0, -0.0, 400.0000000030264, 10.026435280172269, 1e-9, 6.1, f64::NAN, f64::INFINITY] {
            let mut out = Vec::new();
            number(&mut out, x);
            assert_eq!(out, serde_json::to_vec(&x).unwrap(), "{x}");
        }
        for n in [0_i64, -1, 94801, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            integer(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap(), "{n}");
        }
        let mut out = Vec::new();
        nullable(&mut out, None::<i16>, integer);
        out.push(b',');
        nullable(&mut out, Some(5_i16), integer);
        assert_eq!(out, b"null,5");
        for codes in [&[][..], &["ODT"], &["ODT", "C\"LN"]] {
            let mut out = Vec::new();
            array(&mut out, codes, |out, code| string(out, code));
            assert_eq!(out, serde_json::to_vec(codes).unwrap(), "{codes:?}");
        }
    }
}
