//! Parcels: reads at any date, and writes that never destroy a version.
//!
//! Every write runs in one transaction that also appends to the change feed and the audit
//! log. Concurrency is optimistic: the caller names the version it edited (ETag), the
//! parcel row is locked, and a different live version means 412, so no update is lost.

mod drawing;
mod lineage;
mod read;
mod write;

pub use drawing::{MAX_NEIGHBOURS, NEIGHBOUR_DISTANCE_M, NeighbourDrawing, ParcelDrawing};

pub(crate) use write::lock_ward;

use chrono::{DateTime, NaiveDate, Utc};
use diaba_core::parcel::{LandUse, ParcelGeometry};
use serde::Serialize;
use serde_json::Value;

pub use diaba_core::parcel::OVERLAP_TOLERANCE_M2;
/// How far the parts of a split may differ from their parent, in m².
pub const SPLIT_TOLERANCE_M2: f64 = 0.5;

/// One version of a parcel as stored. `owners` is personal data: callers strip it for
/// everyone but registrars.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ParcelRecord {
    /// Stable numeric id (also the vector-tile feature id).
    pub id: i64,
    /// National parcel id (12-character GeoHash).
    pub national_id: String,
    /// Version number (the ETag).
    pub version: i32,
    /// Ward of the survey.
    pub ward_code: String,
    /// Era of that ward code (codes were reused in 2025).
    pub ward_valid_from: NaiveDate,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// GeoJSON geometry, WGS84.
    #[sqlx(json)]
    pub geometry: geojson::Geometry,
    /// Legal area, m², EPSG:5897.
    pub legal_area_m2: f64,
    /// Land uses (a row whose land uses do not read is an error, never an empty list).
    #[sqlx(json)]
    pub land_uses: Vec<LandUse>,
    /// Certificate serial, verbatim.
    pub certificate_serial: Option<String>,
    /// Registry number, verbatim.
    pub registry_number: Option<String>,
    /// Address text.
    pub address_text: Option<String>,
    /// Owners (personal data): answers carry them only through a view that decided who
    /// may see them (absent here once taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Value>,
    /// Where the record comes from ("synthetic-demo…" for demo data).
    pub source: String,
    /// When this version took effect.
    pub valid_from: DateTime<Utc>,
    /// When it was superseded; `None` for the live version.
    pub valid_to: Option<DateTime<Utc>>,
    /// Who made it (a staff identity: shown only where personal data may be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Why, as the registrar wrote it (free text: shown only where personal data may be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the parcel stopped existing (split, merged or retired), as seen at the
    /// instant asked about: a question about a date before the split gets `None`.
    pub retired_at: Option<DateTime<Utc>>,
}

impl ParcelRecord {
    /// Forgets a retirement that had not happened yet at `at`.
    fn seen_at(mut self, at: Option<DateTime<Utc>>) -> Self {
        if let (Some(at), Some(retired)) = (at, self.retired_at)
            && retired > at
        {
            self.retired_at = None;
        }
        self
    }
}

/// A parcel's relative through splits and merges.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LineageEntry {
    /// The relative.
    pub id: i64,
    /// Its national id.
    pub national_id: String,
    /// "ancestor" or "descendant".
    pub relation: String,
    /// Generations away (1 = parent or child).
    pub depth: i32,
    /// "split" or "merge".
    pub event: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new parcel, validated.
#[derive(Debug, Clone)]
pub struct NewParcel {
    /// Current ward code.
    pub ward: String,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// Outline in both systems.
    pub geometry: ParcelGeometry,
    /// Land uses.
    pub land_uses: Vec<LandUse>,
    /// Certificate serial.
    pub certificate_serial: Option<String>,
    /// Registry number.
    pub registry_number: Option<String>,
    /// Address.
    pub address_text: Option<String>,
    /// Owners.
    pub owners: Option<Value>,
}

/// Changes to a parcel; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ParcelPatch {
    /// New outline.
    pub geometry: Option<ParcelGeometry>,
    /// New land uses (replace all).
    pub land_uses: Option<Vec<LandUse>>,
    /// New certificate serial.
    pub certificate_serial: Option<Option<String>>,
    /// New registry number.
    pub registry_number: Option<Option<String>>,
    /// New address.
    pub address_text: Option<Option<String>>,
    /// New owners.
    pub owners: Option<Option<Value>>,
}

/// One part of a split.
#[derive(Debug, Clone)]
pub struct SplitPart {
    /// Outline.
    pub geometry: ParcelGeometry,
    /// Land uses; inherited from the parent (with the part's area) when empty.
    pub land_uses: Vec<LandUse>,
}

/// Why a write was refused: each maps to a 4xx with this text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteRefused {
    /// No live parcel with this id.
    #[error("parcel {id} does not exist or is retired")]
    NotFound {
        /// parcel id
        id: i64,
    },
    /// The caller edited an older version.
    #[error("parcel {id} is at version {current}, not {expected}: reload it and apply your change again")]
    Stale {
        /// parcel id
        id: i64,
        /// the version the caller named
        expected: i32,
        /// the live version
        current: i32,
    },
    /// Outside the caller's wards.
    #[error("ward {ward} is not among your wards")]
    OutOfScope {
        /// ward code
        ward: String,
    },
    /// A rule about the data is broken (422).
    #[error("{detail}")]
    Invalid {
        /// field at fault
        field: &'static str,
        /// explanation
        detail: String,
        /// parcels involved (e.g. overlapped ones)
        parcels: Vec<i64>,
    },
    /// The key is taken by a live parcel (409).
    #[error("ward {ward} sheet {sheet} number {number} is already a live parcel ({id})")]
    KeyTaken {
        /// ward
        ward: String,
        /// sheet
        sheet: i32,
        /// number
        number: i32,
        /// the parcel holding it
        id: i64,
    },
}

/// The outcome of a write.
pub type WriteResult<T> = std::result::Result<T, WriteRefused>;

/// Parcel versions without their holders: reads fetch those (personal data) only for
/// callers who may see them, with [`Store::holders`](crate::Store::holders).
pub(crate) fn select(where_clause: &str) -> String {
    let sql = include_str!("sql/parcel_select.sql").replace("{owners}", "NULL::jsonb");
    format!("{sql}\nWHERE {where_clause}")
}

/// Parcel versions with their holders, as they stood at the end of each version's life
/// (writes: the registrar's own record, audit entries, merge checks).
pub(crate) fn select_with_holders(where_clause: &str) -> String {
    let sql = include_str!("sql/parcel_select.sql").replace("{owners}", "parcel_holders(p.id, v.valid_to)");
    format!("{sql}\nWHERE {where_clause}")
}

/// `$n` as of an instant, or the live version when it is NULL.
pub(crate) fn as_of(n: usize) -> String {
    format!(
        "((${n}::timestamptz IS NULL AND v.valid_to IS NULL) OR \
          (v.valid_from < ${n}::timestamptz AND (v.valid_to IS NULL OR v.valid_to >= ${n}::timestamptz)))"
    )
}
