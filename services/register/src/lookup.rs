//! Everything about a point in one call, answered from the in-memory index: units, the
//! parcel, the Vpostcode, the nearest household and the flood zones.

use crate::Register;
use crate::error::{Error, Result};
use crate::json_out;
use diaba_core::spatial::{AddressFeature, FloodFeature, ParcelFeature, UnitFeature};
use diaba_core::{AsOf, LonLat, UnitLevel, Vpostcode};
use diaba_index::Reader;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value};
use std::io::Write;
use std::ops::Range;

/// Radius for "the nearest verified household".
const ADDRESS_RADIUS_M: f64 = 30.0;

/// The answer about one point: the index's own features, by reference, written out as
/// JSON straight from them (no copies of their strings, no intermediate JSON tree); units
/// and flood zones, in nearly every answer, copied from JSON they wrote once.
#[derive(Debug)]
struct PointAnswer<'a> {
    point: LonLat,
    ward: Option<&'a UnitFeature>,
    district: Option<&'a UnitFeature>,
    parcel: Option<&'a ParcelFeature>,
    vpostcode: Option<Vpostcode>,
    address: Option<(&'a AddressFeature, f64)>,
    zones: Vec<&'a FloodFeature>,
}

impl PointAnswer<'_> {
    /// The answer as JSON; `day` is the day asked, as JSON, written once per request.
    fn write_json(&self, out: &mut Vec<u8>, day: &[u8]) {
        out.extend_from_slice(br#"{"point":{"lat":"#);
        json_out::number(out, self.point.lat());
        out.extend_from_slice(br#","lon":"#);
        json_out::number(out, self.point.lon());
        out.extend_from_slice(br#"},"at":"#);
        out.extend_from_slice(day);
        out.extend_from_slice(br#","ward":"#);
        json_out::nullable(out, self.ward, write_unit);
        out.extend_from_slice(br#","district":"#);
        json_out::nullable(out, self.district, write_unit);
        out.extend_from_slice(br#","parcel":"#);
        json_out::nullable(out, self.parcel, write_parcel);
        out.extend_from_slice(br#","vpostcode":"#);
        // Digits, a space, the Open Location Code alphabet and '+': nothing to escape.
        json_out::nullable(out, self.vpostcode.as_ref(), |out, code| {
            write!(out, "\"{code}\"").expect("writing to a buffer cannot fail");
        });
        out.extend_from_slice(br#","address":"#);
        json_out::nullable(out, self.address, |out, (address, distance)| write_address(out, address, distance));
        out.extend_from_slice(br#","flood":{"zones":"#);
        json_out::array(out, &self.zones, |out, zone| out.extend_from_slice(zone_json(zone).get().as_bytes()));
        out.extend_from_slice(br#","max_risk_level":"#);
        json_out::nullable(out, self.zones.iter().map(|z| z.risk_level).max(), json_out::integer);
        out.extend_from_slice(b"}}");
    }
}

/// A unit's JSON, written once per unit (see [`unit_json`]).
fn write_unit(out: &mut Vec<u8>, unit: &UnitFeature) {
    out.extend_from_slice(unit_json(unit).get().as_bytes());
}

fn write_parcel(out: &mut Vec<u8>, parcel: &ParcelFeature) {
    out.extend_from_slice(br#"{"id":"#);
    json_out::integer(out, parcel.id);
    out.extend_from_slice(br#","national_id":"#);
    json_out::string(out, &parcel.national_id);
    out.extend_from_slice(br#","ward_code":"#);
    json_out::string(out, &parcel.ward_code);
    out.extend_from_slice(br#","sheet":"#);
    json_out::integer(out, parcel.sheet);
    out.extend_from_slice(br#","number":"#);
    json_out::integer(out, parcel.number);
    out.extend_from_slice(br#","version":"#);
    json_out::integer(out, parcel.version);
    out.extend_from_slice(br#","land_uses":"#);
    json_out::array(out, parcel.land_uses.iter(), |out, code| json_out::string(out, code));
    out.extend_from_slice(br#","legal_area_m2":"#);
    json_out::number(out, parcel.legal_area_m2);
    out.push(b'}');
}

fn write_address(out: &mut Vec<u8>, address: &AddressFeature, distance_m: f64) {
    out.extend_from_slice(br#"{"id":"#);
    json_out::integer(out, address.id);
    out.extend_from_slice(br#","vpostcode":"#);
    json_out::string(out, &address.vpostcode);
    out.extend_from_slice(br#","house_number":"#);
    json_out::nullable(out, address.house_number.as_deref(), json_out::string);
    out.extend_from_slice(br#","street":"#);
    json_out::nullable(out, address.street.as_deref(), json_out::string);
    out.extend_from_slice(br#","hamlet":"#);
    json_out::nullable(out, address.hamlet.as_deref(), json_out::string);
    out.extend_from_slice(br#","ward_code":"#);
    json_out::string(out, &address.ward_code);
    out.extend_from_slice(br#","distance_m":"#);
    json_out::number(out, (distance_m * 10.0).round() / 10.0);
    out.push(b'}');
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

/// The zone's JSON, written once per zone and copied into every answer after.
fn zone_json(zone: &FloodFeature) -> &RawValue {
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
}

#[derive(Serialize)]
struct ZoneOut<'a> {
    zone_id: i64,
    name: &'a str,
    risk_level: i16,
    scenario: &'a str,
    source: &'a str,
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
        let mut out = Vec::with_capacity(1024);
        answer.write_json(&mut out, &asked.day_json());
        Ok(out)
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
        let day = asked.day_json();
        // Each point's answer, or an object naming why there is none.
        let write_one = |i: usize, out: &mut Vec<u8>| {
            let answer = checked[i]
                .as_ref()
                .map_err(Error::to_string)
                .and_then(|&point| answer(&reader, point, asked).map_err(|e| e.to_string()));
            match answer {
                Ok(found) => found.write_json(out, &day),
                Err(error) => {
                    out.extend_from_slice(br#"{"error":"#);
                    json_out::string(out, &error);
                    out.push(b'}');
                }
            }
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

    /// The day asked, as JSON: the same in every answer of a request.
    fn day_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        json_out::value(&mut out, &self.day);
        out
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
        ward,
        district,
        parcel,
        vpostcode,
        address: reader.nearest_address(p, ADDRESS_RADIUS_M),
        zones: reader.zones_covering(p),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diaba_core::covers::BandedArea;
    use geo::{MultiPolygon, polygon};
    use serde_json::json;

    /// A synthetic 10 m square around (105.78, 10.03).
    fn square() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: 105.78, y: 10.03), (x: 105.7801, y: 10.03), (x: 105.7801, y: 10.0301), (x: 105.78, y: 10.0301)
        ]])
    }

    #[test]
    fn an_answer_is_written_as_the_documented_json_strings_escaped() {
        let shape = square();
        let ward = UnitFeature {
            id: 1,
            code: "31147".into(),
            level: UnitLevel::Ward,
            name: "Phường \"Tân\" An".into(),
            postcode: Some("94120".into()),
            valid_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1),
            valid_to: None,
            in_service_area: true,
            area: BandedArea::new(&shape),
            shape: shape.clone(),
            postcode_area: None,
            answer_json: Default::default(),
        };
        let zone = |id, risk_level| FloodFeature {
            id,
            name: format!("vùng {id}\ttab"),
            risk_level,
            scenario: "tidal-peak".into(),
            source: "synthetic-demo".into(),
            area: BandedArea::new(&shape),
            shape: shape.clone(),
            answer_json: Default::default(),
        };
        let (low, high) = (zone(7, 2), zone(9, 5));
        let parcel = ParcelFeature {
            id: 94801,
            national_id: diaba_core::PackedParcelId::new("w3g1n95ybzkx").expect("12 ASCII characters"),
            ward_code: "31147".into(),
            sheet: 33,
            number: 754,
            version: 2,
            land_uses: ["ODT", "CLN"].into_iter().collect(),
            legal_area_m2: 400.0000000030264,
            valid_from: 0,
            name: None,
            outline: diaba_core::outline::Outline::from(&shape),
        };
        let address = AddressFeature {
            id: 67418,
            vpostcode: "94120 2QG5+HV3".into(),
            house_number: Some("14/7\\B".into()),
            street: Some("Kiệt 7 \"Đường\" Mậu Thân\n".into()),
            hamlet: None,
            ward_code: "31147".into(),
            lon: 105.78,
            lat: 10.03,
        };
        let point = LonLat::new(105.780_05, 10.030_05).expect("a point in range");
        let answer = PointAnswer {
            point,
            ward: Some(&ward),
            district: None,
            parcel: Some(&parcel),
            vpostcode: None,
            address: Some((&address, 6.149)),
            zones: vec![&low, &high],
        };
        let mut out = Vec::new();
        answer.write_json(&mut out, br#""2026-12-01""#);
        let written: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(
            written,
            json!({
                "point": {"lat": 10.030_05, "lon": 105.780_05},
                "at": "2026-12-01",
                "ward": {
                    "code": "31147", "name": "Phường \"Tân\" An", "level": "ward", "postcode": "94120",
                    "valid_from": "2025-07-01", "valid_to": null, "in_service_area": true
                },
                "district": null,
                "parcel": {
                    "id": 94801, "national_id": "w3g1n95ybzkx", "ward_code": "31147", "sheet": 33,
                    "number": 754, "version": 2, "land_uses": ["ODT", "CLN"], "legal_area_m2": 400.0000000030264
                },
                "vpostcode": null,
                "address": {
                    "id": 67418, "vpostcode": "94120 2QG5+HV3", "house_number": "14/7\\B",
                    "street": "Kiệt 7 \"Đường\" Mậu Thân\n", "hamlet": null, "ward_code": "31147", "distance_m": 6.1
                },
                "flood": {
                    "zones": [
                        {"zone_id": 7, "name": "vùng 7\ttab", "risk_level": 2, "scenario": "tidal-peak", "source": "synthetic-demo"},
                        {"zone_id": 9, "name": "vùng 9\ttab", "risk_level": 5, "scenario": "tidal-peak", "source": "synthetic-demo"}
                    ],
                    "max_risk_level": 5
                }
            })
        );

        let bare = PointAnswer {
            point,
            ward: None,
            district: None,
            parcel: None,
            vpostcode: None,
            address: None,
            zones: vec![],
        };
        let mut out = Vec::new();
        bare.write_json(&mut out, br#""2026-12-01""#);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).expect("valid JSON"),
            json!({
                "point": {"lat": 10.030_05, "lon": 105.780_05}, "at": "2026-12-01", "ward": null, "district": null,
                "parcel": null, "vpostcode": null, "address": null, "flood": {"zones": [], "max_risk_level": null}
            })
        );
    }
}
