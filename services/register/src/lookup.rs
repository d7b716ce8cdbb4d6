//! Everything about a point in one call, answered from the in-memory index: units, the
//! parcel, the Vpostcode, the nearest household and the flood zones.

use crate::Register;
use crate::error::{Error, Result};
use diaba_core::spatial::{AddressFeature, FloodFeature, ParcelFeature, UnitFeature};
use diaba_core::{AsOf, LonLat, UnitLevel, Vpostcode};
use diaba_index::Reader;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value};
use std::ops::Range;

/// Radius for "the nearest verified household".
const ADDRESS_RADIUS_M: f64 = 30.0;

/// The answer about one point: the index's own features, by reference, written out as
/// JSON straight from them (no copies of their strings, no intermediate JSON tree); units
/// and flood zones, in nearly every answer, copied from JSON they wrote once.
#[derive(Debug)]
struct PointAnswer<'a> {
    point: LonLat,
    at: AsOf,
    ward: Option<&'a UnitFeature>,
    district: Option<&'a UnitFeature>,
    parcel: Option<&'a ParcelFeature>,
    vpostcode: Option<Vpostcode>,
    address: Option<(&'a AddressFeature, f64)>,
    zones: Vec<&'a FloodFeature>,
}

impl Serialize for PointAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Out {
            point: PointOut { lat: self.point.lat(), lon: self.point.lon() },
            at: self.at,
            ward: self.ward.map(unit_json),
            district: self.district.map(unit_json),
            parcel: self.parcel.map(ParcelOut::of),
            vpostcode: self.vpostcode.as_ref().map(Collected),
            address: self.address.as_ref().map(|(a, distance)| AddressOut::of(a, *distance)),
            flood: FloodOut {
                zones: Listed(&self.zones),
                max_risk_level: self.zones.iter().map(|z| z.risk_level).max(),
            },
        }
        .serialize(serializer)
    }
}

#[derive(Serialize)]
struct Out<'a> {
    point: PointOut,
    at: AsOf,
    ward: Option<&'a RawValue>,
    district: Option<&'a RawValue>,
    parcel: Option<ParcelOut<'a>>,
    vpostcode: Option<Collected<'a, Vpostcode>>,
    address: Option<AddressOut<'a>>,
    flood: FloodOut<'a>,
}

#[derive(Serialize)]
struct PointOut {
    lat: f64,
    lon: f64,
}

/// A `Display` value written as a JSON string without an intermediate `String`.
struct Collected<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Collected<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

#[derive(Serialize)]
struct UnitOut<'a> {
    code: &'a str,
    name: &'a str,
    level: UnitLevel,
    postcode: Option<&'a str>,
    valid_from: Option<chrono::NaiveDate>,
    valid_to: Option<chrono::NaiveDate>,
    in_service_area: bool,
}

/// The unit's JSON, written once per unit and copied into every answer after.
fn unit_json(unit: &UnitFeature) -> &RawValue {
    unit.answer_json.get_or_init(|| to_raw_value(&UnitOut::of(unit)).expect("a unit serialises"))
}

impl<'a> UnitOut<'a> {
    fn of(unit: &'a UnitFeature) -> Self {
        Self {
            code: &unit.code,
            name: &unit.name,
            level: unit.level,
            postcode: unit.postcode.as_deref(),
            valid_from: unit.valid_from,
            valid_to: unit.valid_to,
            in_service_area: unit.in_service_area,
        }
    }
}

#[derive(Serialize)]
struct ParcelOut<'a> {
    id: i64,
    national_id: &'a str,
    ward_code: &'a str,
    sheet: i32,
    number: i32,
    version: i32,
    land_uses: &'a [Box<str>],
    legal_area_m2: f64,
}

impl<'a> ParcelOut<'a> {
    fn of(f: &'a ParcelFeature) -> Self {
        Self {
            id: f.id,
            national_id: &f.national_id,
            ward_code: &f.ward_code,
            sheet: f.sheet,
            number: f.number,
            version: f.version,
            land_uses: &f.land_uses,
            legal_area_m2: f.legal_area_m2,
        }
    }
}

#[derive(Serialize)]
struct AddressOut<'a> {
    id: i64,
    vpostcode: &'a str,
    house_number: Option<&'a str>,
    street: Option<&'a str>,
    hamlet: Option<&'a str>,
    ward_code: &'a str,
    distance_m: f64,
}

impl<'a> AddressOut<'a> {
    fn of(a: &'a AddressFeature, distance: f64) -> Self {
        Self {
            id: a.id,
            vpostcode: &a.vpostcode,
            house_number: a.house_number.as_deref(),
            street: a.street.as_deref(),
            hamlet: a.hamlet.as_deref(),
            ward_code: &a.ward_code,
            distance_m: (distance * 10.0).round() / 10.0,
        }
    }
}

#[derive(Serialize)]
struct FloodOut<'a> {
    zones: Listed<'a>,
    max_risk_level: Option<i16>,
}

/// The zones as a JSON array, each zone's JSON written once and copied after.
struct Listed<'a>(&'a [&'a FloodFeature]);

impl Serialize for Listed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|zone| {
            zone.answer_json.get_or_init(|| {
                let out = ZoneOut {
                    zone_id: zone.id,
                    name: &zone.name,
                    risk_level: zone.risk_level,
                    scenario: &zone.scenario,
                    source: &zone.source,
                };
                to_raw_value(&out).expect("a zone serialises")
            })
        }))
    }
}

#[derive(Serialize)]
struct ZoneOut<'a> {
    zone_id: i64,
    name: &'a str,
    risk_level: i16,
    scenario: &'a str,
    source: &'a str,
}

/// One point of a batch: its answer, or why there is none.
#[derive(Serialize)]
#[serde(untagged)]
enum BatchAnswer<'a> {
    Found(PointAnswer<'a>),
    Failed { error: String },
}

/// Positions of `points` sorted along a Z-order (Morton) curve of their coordinates,
/// invalid points first.
fn z_order(points: &[Result<LonLat>]) -> Vec<usize> {
    // ~1 cm steps over the globe: far finer than lots, so the curve follows the points.
    fn step(value: f64, span: f64) -> u64 {
        spread((((value + span) / (2.0 * span)).clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32)
    }
    // The bits of `v` moved to the even positions of a u64.
    fn spread(v: u32) -> u64 {
        let mut x = u64::from(v);
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    }
    let key = |p: &Result<LonLat>| p.as_ref().map_or(0, |p| step(p.lon(), 180.0) | (step(p.lat(), 90.0) << 1));
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_cached_key(|&i| key(&points[i]));
    order
}

/// Points of a batch written per chunk of neighbours on the curve, each chunk into one
/// buffer: a few allocations per chunk instead of a growing buffer per point.
const CHUNK: usize = 256;

impl Register {
    /// Everything about the point `lat`, `lon` on a day (`at`, today by default), as JSON.
    pub fn lookup(&self, lat: Option<&str>, lon: Option<&str>, at: Option<&str>) -> Result<Vec<u8>> {
        let point = LonLat::parse(lat, lon)?;
        let asked = Asked::new(at.map(AsOf::parse).transpose()?);
        let reader = self.index.reader();
        let answer = answer(&reader, point, asked)?;
        Ok(serde_json::to_vec(&answer).expect("an answer serialises"))
    }

    /// The same for many points (at most [`crate::Limits::max_batch`]), as the JSON
    /// document `{"results": [...]}`: each point answered in order, an error object in the
    /// place of a point that fails. Any day is answered from memory, so a batch reads
    /// nothing from the database and answers while it is down.
    ///
    /// Synchronous where it counts: it keeps every core busy for milliseconds per thousand
    /// points, so call it from a blocking thread.
    pub async fn lookup_many(&self, points: &[(f64, f64)], at: Option<&str>) -> Result<Vec<u8>> {
        if points.len() > self.limits.max_batch {
            return Err(Error::TooLarge {
                detail: format!("{} points in one request; send at most {}", points.len(), self.limits.max_batch),
            });
        }
        let asked = Asked::new(at.map(AsOf::parse).transpose()?);
        // One batch at a time per node: it takes the cores for milliseconds per thousand
        // points, and the writes queue behind no more than one.
        let _heavy = self.heavy_turn().await?;
        let checked: Vec<Result<LonLat>> =
            points.iter().map(|&(lat, lon)| LonLat::new(lon, lat).map_err(Error::from)).collect();
        let reader = self.index.reader();
        let write_one = |i: usize, out: &mut Vec<u8>| {
            let answer = checked[i]
                .as_ref()
                .map_err(Error::to_string)
                .and_then(|&point| answer(&reader, point, asked).map_err(|e| e.to_string()));
            let answer = match answer {
                Ok(found) => BatchAnswer::Found(found),
                Err(error) => BatchAnswer::Failed { error },
            };
            serde_json::to_writer(out, &answer).expect("an answer serialises");
        };
        // Answered and written along a Z-order curve, on every core: neighbouring points
        // read the same tree nodes and lots while they are still in cache. Then put back
        // in the order asked.
        let order = z_order(&checked);
        let chunks: Vec<(Vec<u8>, Vec<Range<usize>>)> = order
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut out = Vec::with_capacity(chunk.len() * 1024);
                let spans = chunk
                    .iter()
                    .map(|&i| {
                        let start = out.len();
                        write_one(i, &mut out);
                        start..out.len()
                    })
                    .collect();
                (out, spans)
            })
            .collect();
        let mut placed: Vec<&[u8]> = vec![&[]; checked.len()];
        for ((out, spans), indices) in chunks.iter().zip(order.chunks(CHUNK)) {
            for (span, &i) in spans.iter().zip(indices) {
                placed[i] = &out[span.clone()];
            }
        }
        let size = chunks.iter().map(|(out, _)| out.len()).sum::<usize>() + checked.len() + 16;
        let mut json = Vec::with_capacity(size);
        json.extend_from_slice(br#"{"results":["#);
        for (n, answer) in placed.iter().enumerate() {
            if n > 0 {
                json.push(b',');
            }
            json.extend_from_slice(answer);
        }
        json.extend_from_slice(b"]}");
        Ok(json)
    }
}

/// The day a request asks about, settled once for the whole request: a batch running
/// across midnight answers every point for the same day.
#[derive(Debug, Clone, Copy)]
struct Asked {
    day: AsOf,
    today: AsOf,
    /// For another day than today, its end (Unix seconds): the parcels in force then, as
    /// the store's as-of queries decide. A whole second, so the index's seconds decide
    /// exactly as PostgreSQL's microseconds.
    instant: Option<i64>,
}

impl Asked {
    fn new(at: Option<AsOf>) -> Self {
        let today = AsOf::today();
        let day = at.unwrap_or(today);
        let instant = (day != today).then(|| diaba_core::end_of_day(day.date()).timestamp());
        Self { day, today, instant }
    }
}

/// Everything about `point` on the day asked, from the index: a past day's parcel too,
/// from the closed versions it keeps.
fn answer<'a>(reader: &'a Reader<'_>, point: LonLat, asked: Asked) -> Result<PointAnswer<'a>> {
    let p = [point.lon(), point.lat()];
    let Asked { day, today, instant } = asked;
    let units = reader.units_at(p, day);
    let ward = units.iter().copied().find(|u| u.level == UnitLevel::Ward);
    let district = units.iter().copied().find(|u| u.level == UnitLevel::District);
    if ward.is_none() && district.is_none() {
        return Err(Error::not_found(format!(
            "lat {}, lon {} is outside the units of Cần Thơ diaba knows on {day}",
            point.lat(),
            point.lon()
        )));
    }
    let parcel = match instant {
        None => reader.parcel_at(p),
        Some(instant) => reader.parcel_in_force_at(p, instant),
    };
    // Codes are issued with the postcode of the unit valid today (DESIGN §5).
    let current_ward =
        if day == today { ward } else { reader.units_at(p, today).into_iter().find(|u| u.level == UnitLevel::Ward) };
    let vpostcode =
        current_ward.and_then(|w| w.postcode_area.as_ref()).and_then(|area| Vpostcode::encode(point, area).ok());
    Ok(PointAnswer {
        point,
        at: day,
        ward,
        district,
        parcel,
        vpostcode,
        address: reader.nearest_address(p, ADDRESS_RADIUS_M),
        zones: reader.zones_covering(p),
    })
}
