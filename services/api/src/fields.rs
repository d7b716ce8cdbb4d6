//! The field names a query type accepts, read from its serde derive: the OpenAPI document
//! is checked against them, so a documented parameter no handler reads (or a parameter a
//! handler reads and nobody documented) fails a test.

use serde::de::{self, DeserializeOwned, Visitor};
use std::cell::Cell;

/// Field names of the struct `T` deserializes from (its `#[derive(Deserialize)]`).
pub fn serde_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let seen = Cell::new(None);
    let _ = T::deserialize(FieldsOf(&seen));
    seen.get().unwrap_or(&[])
}

/// A deserializer that only notes the fields a struct asks for, then gives up.
struct FieldsOf<'a>(&'a Cell<Option<&'static [&'static str]>>);

#[derive(Debug)]
struct Noted;

impl std::fmt::Display for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fields noted")
    }
}

impl std::error::Error for Noted {}

impl de::Error for Noted {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Noted
    }
}

impl<'de> de::Deserializer<'de> for FieldsOf<'_> {
    type Error = Noted;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Noted> {
        Err(Noted)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Noted> {
        self.0.set(Some(fields));
        Err(Noted)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        lat: Option<String>,
        #[serde(rename = "radius_m")]
        radius: Option<String>,
    }

    #[test]
    fn the_fields_are_the_names_the_query_string_uses() {
        assert_eq!(serde_fields::<Sample>(), &["lat", "radius_m"]);
    }
}
