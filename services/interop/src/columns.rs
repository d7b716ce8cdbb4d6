//! Which column of a file holds each attribute diaba needs, resolved once per file from
//! the names offices use (or `--map`), then read by index for every feature. Attributes a
//! file does not carry at all (a DGN sheet has no ward column) can be given for the whole
//! file (`--set ward=31135`).

use crate::Error;
use crate::encoding::TextEncoding;
use gdal::vector::{Defn, Feature, FieldValue};
use std::collections::HashMap;

/// An attribute and the field names it may come under, first match wins.
pub type FieldNames = (&'static str, &'static [&'static str]);

/// The resolved columns of one layer.
#[derive(Debug)]
pub(crate) struct Columns {
    found: HashMap<&'static str, (i32, String)>,
    candidates: HashMap<&'static str, Vec<String>>,
    fixed: HashMap<String, String>,
    text: TextEncoding,
}

/// How to read a file's features: `--map attribute=FIELD`, `--set attribute=VALUE`, and
/// for a DGN drawing the level its parcel outlines are drawn on.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// attribute → the file's field name
    pub fields: HashMap<String, String>,
    /// attribute → one value for every feature (used where the file has no such field)
    pub values: HashMap<String, String>,
    /// DGN: the level of the parcel outlines (all levels when `None`).
    pub dgn_level: Option<i64>,
}

impl Columns {
    /// Resolves `fields` against the layer's schema (case-insensitive, as GDAL matches).
    /// A `--map` naming a field the file does not have is an error listing the fields it has.
    pub(crate) fn resolve(
        defn: &Defn,
        fields: &[FieldNames],
        mapping: &ReadOptions,
        text: TextEncoding,
        path: &str,
    ) -> Result<Self, Error> {
        let fixed = mapping.values.clone();
        let mapping = &mapping.fields;
        let present: Vec<String> = defn.fields().map(|f| f.name()).collect();
        let index_of = |name: &str| present.iter().position(|p| p.eq_ignore_ascii_case(name));
        let mut columns = Self { found: HashMap::new(), candidates: HashMap::new(), fixed, text };
        for (attribute, names) in fields {
            let names: Vec<String> = match mapping.get(*attribute) {
                Some(field) => {
                    if index_of(field).is_none() {
                        return Err(Error::Crs {
                            path: path.to_owned(),
                            reason: format!(
                                "--map {attribute}={field}: the file has no field {field}; it has {present:?}"
                            ),
                        });
                    }
                    vec![field.clone()]
                }
                None => names.iter().map(std::string::ToString::to_string).collect(),
            };
            if let Some((index, name)) = names.iter().find_map(|n| index_of(n).map(|i| (i, present[i].clone()))) {
                columns.found.insert(attribute, (index as i32, name));
            }
            columns.candidates.insert(attribute, names);
        }
        for attribute in mapping.keys().chain(columns.fixed.keys()) {
            if !fields.iter().any(|(a, _)| a == attribute) {
                let known: Vec<&str> = fields.iter().map(|(a, _)| *a).collect();
                return Err(Error::Crs {
                    path: path.to_owned(),
                    reason: format!("{attribute}: the attributes of this layer are {known:?}"),
                });
            }
        }
        Ok(columns)
    }

    /// Where each attribute comes from, for the report: `sheet ← SoHieuToBa`, or
    /// `ward = 31135 (--set)`.
    pub(crate) fn sources(&self) -> Vec<String> {
        let mut lines: Vec<String> =
            self.found.iter().map(|(attribute, (_, field))| format!("{attribute} ← {field}")).collect();
        lines.extend(self.fixed.iter().map(|(attribute, value)| format!("{attribute} = {value} (--set)")));
        lines.sort();
        lines
    }

    /// Whether the file has a column for `attribute`, or a value was set for it.
    pub(crate) fn has(&self, attribute: &str) -> bool {
        self.found.contains_key(attribute) || self.fixed.contains_key(attribute)
    }

    /// The names looked for, for messages ("no ward code (fields [\"MaXa\", …])").
    pub(crate) fn names(&self, attribute: &str) -> &[String] {
        self.candidates.get(attribute).map(Vec::as_slice).unwrap_or_default()
    }

    /// The attribute as trimmed text; `None` when absent or blank.
    pub(crate) fn text(&self, feature: &Feature<'_>, attribute: &str) -> Option<String> {
        let value = match self.found.get(attribute) {
            Some((index, _)) => self.text.decode(feature.field_as_string(*index).ok().flatten()?),
            None => self.fixed.get(attribute)?.clone(),
        };
        // NUL cannot be stored in PostgreSQL text; it is never meaningful in a field.
        let value = value.replace('\0', "");
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The attribute as a double when the column is a real number (text would round it
    /// to 15 significant digits).
    pub(crate) fn real(&self, feature: &Feature<'_>, attribute: &str) -> Option<f64> {
        let (_, name) = self.found.get(attribute)?;
        match feature.field(name).ok().flatten()? {
            FieldValue::RealValue(value) => Some(value),
            _ => None,
        }
    }
}
