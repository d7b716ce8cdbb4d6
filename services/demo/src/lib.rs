//! The synthetic demo parcel fabric (DESIGN §12): deterministic from a seed, inside the
//! real 2025 wards, and labelled synthetic in every record.
//!
//! Each ward gets a street grid, turned by its own angle, in VN-2000 metres (so lot sizes
//! are real metres and legal areas are exact). Every grid cell is a block plus the road
//! (DGT) or canal (SON) strips on its south and west sides, kept only when the whole cell
//! lies inside the ward. Blocks are then cut without gaps or overlaps:
//! - Ninh Kiều (urban core): two back-to-back rows of narrow deep lots (4.5–7.5 m × 25 m);
//! - Bình Thủy, Cái Răng, An Bình (mixed): wider lots on some blocks, fields on others;
//! - Phong Điền (rural): long strips (15–35 m × 250 m) running back from a canal.
//!
//! Sheets (tờ bản đồ) are a north-up grid per ward, numbered from the north-west; parcels
//! (thửa) are numbered within their sheet the same way, as a survey would.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use chrono::NaiveDate;
use diaba_core::crs::Vn2000;
use diaba_core::{PersonalId, Sex};
use geo::{Area, BoundingRect, Contains, Coord, InteriorPoint, MultiPolygon, Polygon, coord};
use std::collections::BTreeMap;

/// Written into the `source` of every generated record.
pub const SYNTHETIC_SOURCE: &str = "synthetic-demo";

/// How much demo data to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// ≈5 000 parcels: a neighbourhood in each of the 12 wards.
    Small,
    /// ≈250 000 parcels over the whole service area.
    Full,
}

/// One land use of a parcel.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LandUse {
    /// TT 25/2014 code, e.g. ODT.
    pub code: &'static str,
    /// Area in m² (the parts add up to the parcel's legal area).
    pub area_m2: f64,
    /// "lâu dài" (permanent) or a term in years.
    pub term: &'static str,
}

/// A generated parcel.
#[derive(Debug, Clone)]
pub struct DemoParcel {
    /// 2025 ward code.
    pub ward_code: String,
    /// Map sheet number within the ward.
    pub sheet: i32,
    /// Parcel number within the sheet.
    pub number: i32,
    /// Legal geometry, VN-2000 / TM-3 105° metres.
    pub vn2000: MultiPolygon<f64>,
    /// The same in WGS84 lon/lat (pinned transformation).
    pub lonlat: MultiPolygon<f64>,
    /// Planar area in EPSG:5897.
    pub area_m2: f64,
    /// Land uses with their areas.
    pub land_uses: Vec<LandUse>,
    /// Certificate serial (2 letters + 6 or 8 digits), none for roads and canals.
    pub certificate_serial: Option<String>,
    /// Registry number (số vào sổ).
    pub registry_number: Option<String>,
    /// Address text.
    pub address_text: String,
    /// Owners (synthetic people), JSON.
    pub owners: serde_json::Value,
    /// Street the lot fronts (urban and mixed wards).
    pub street: Option<&'static str>,
    /// Hamlet (ấp) of the lot (rural communes).
    pub hamlet: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Urban,
    Mixed,
    Rural,
}

struct Layout {
    block_w: f64,
    block_h: f64,
    street: f64,
    sheet_size: f64,
    small_radius: f64,
}

impl Class {
    fn of(ward: &str) -> Class {
        match ward {
            "31120" | "31135" | "31147" => Class::Urban,
            "31299" | "31309" | "31315" => Class::Rural,
            _ => Class::Mixed,
        }
    }

    fn layout(self) -> Layout {
        match self {
            Class::Urban => {
                Layout { block_w: 60.0, block_h: 50.0, street: 8.0, sheet_size: 400.0, small_radius: 190.0 }
            }
            Class::Mixed => {
                Layout { block_w: 120.0, block_h: 80.0, street: 8.0, sheet_size: 800.0, small_radius: 330.0 }
            }
            Class::Rural => {
                Layout { block_w: 200.0, block_h: 250.0, street: 10.0, sheet_size: 1500.0, small_radius: 900.0 }
            }
        }
    }
}

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// Picks by weight from (item, weight) pairs.
    fn weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, weight) in items {
            if x < *weight {
                return *item;
            }
            x -= weight;
        }
        items[items.len() - 1].0
    }
}

/// A lot before numbering: its outline in metres and what it is.
struct Lot {
    outline: Polygon<f64>,
    kind: LotKind,
    street: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum LotKind {
    Road,
    Canal,
    Residential,
    Field,
    Strip,
}

/// Generates the demo fabric over `wards` (2025 code, lon/lat outline). `progress` is
/// called with the number of wards done.
pub fn parcels(
    profile: Profile,
    seed: u64,
    wards: &[(String, MultiPolygon<f64>)],
    vn2000: &Vn2000,
    mut progress: impl FnMut(usize),
) -> Result<Vec<DemoParcel>, diaba_core::crs::CrsError> {
    let mut out = Vec::new();
    for (done, (code, outline)) in wards.iter().enumerate() {
        let mut rng = Rng(seed ^ code.parse::<u64>().unwrap_or(0).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let ward_m = vn2000.project(outline)?.geometry().clone();
        let lots = ward_lots(code, &ward_m, profile, &mut rng);
        out.extend(number_and_describe(code, lots, vn2000, &mut rng)?);
        progress(done + 1);
    }
    Ok(out)
}

fn ward_lots(code: &str, ward: &MultiPolygon<f64>, profile: Profile, rng: &mut Rng) -> Vec<Lot> {
    let class = Class::of(code);
    let layout = class.layout();
    let Some(bounds) = ward.bounding_rect() else { return Vec::new() };
    let pivot = ward.interior_point().map_or_else(|| bounds.center(), |p| p.0);
    let angle = rng.range(-0.35, 0.35);
    let (sin, cos) = angle.sin_cos();
    let to_metres = |x: f64, y: f64| coord! { x: pivot.x + x * cos - y * sin, y: pivot.y + x * sin + y * cos };
    let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
        Polygon::new(
            vec![to_metres(x0, y0), to_metres(x1, y0), to_metres(x1, y1), to_metres(x0, y1), to_metres(x0, y0)].into(),
            vec![],
        )
    };
    let pitch_x = layout.block_w + layout.street;
    let pitch_y = layout.block_h + layout.street;
    let reach = bounds.width().hypot(bounds.height());
    let (nx, ny) = ((reach / pitch_x).ceil() as i64, (reach / pitch_y).ceil() as i64);
    let streets = street_names(class);
    let mut lots = Vec::new();
    for j in -ny..=ny {
        for i in -nx..=nx {
            let (x0, y0) = (i as f64 * pitch_x, j as f64 * pitch_y);
            if profile == Profile::Small && x0.hypot(y0) > layout.small_radius {
                continue;
            }
            let cell = rect(x0 - layout.street, y0 - layout.street, x0 + layout.block_w, y0 + layout.block_h);
            if !ward.contains(&cell) {
                continue;
            }
            let street = *rng.pick(streets);
            let (south_kind, west_kind) =
                if class == Class::Rural { (LotKind::Canal, LotKind::Road) } else { (LotKind::Road, LotKind::Road) };
            lots.push(Lot {
                outline: rect(x0 - layout.street, y0 - layout.street, x0 + layout.block_w, y0),
                kind: south_kind,
                street,
            });
            lots.push(Lot { outline: rect(x0 - layout.street, y0, x0, y0 + layout.block_h), kind: west_kind, street });
            let (x1, y1) = (x0 + layout.block_w, y0 + layout.block_h);
            let mid = y0 + layout.block_h / 2.0;
            match class {
                Class::Urban => {
                    for (a, b) in [(y0, mid), (mid, y1)] {
                        for (l, r) in cuts(x0, x1, 4.5, 7.5, rng) {
                            lots.push(Lot { outline: rect(l, a, r, b), kind: LotKind::Residential, street });
                        }
                    }
                }
                Class::Mixed if rng.unit() < 0.3 => {
                    for (a, b) in [(y0, mid), (mid, y1)] {
                        for (l, r) in cuts(x0, x1, 8.0, 14.0, rng) {
                            lots.push(Lot { outline: rect(l, a, r, b), kind: LotKind::Residential, street });
                        }
                    }
                }
                Class::Mixed => {
                    for (l, r) in cuts(x0, x1, 35.0, 70.0, rng) {
                        lots.push(Lot { outline: rect(l, y0, r, y1), kind: LotKind::Field, street });
                    }
                }
                Class::Rural => {
                    for (l, r) in cuts(x0, x1, 15.0, 35.0, rng) {
                        lots.push(Lot { outline: rect(l, y0, r, y1), kind: LotKind::Strip, street });
                    }
                }
            }
        }
    }
    lots
}

/// Cuts [from, to] into consecutive pieces of width in [min, max]; the last piece absorbs
/// the remainder (or joins its neighbour when it would be narrower than `min`).
fn cuts(from: f64, to: f64, min: f64, max: f64, rng: &mut Rng) -> Vec<(f64, f64)> {
    let mut pieces = Vec::new();
    let mut at = from;
    while to - at > max {
        let width = rng.range(min, max);
        pieces.push((at, at + width));
        at += width;
    }
    match pieces.last_mut() {
        Some(last) if to - at < min => last.1 = to,
        _ => pieces.push((at, to)),
    }
    pieces
}

fn number_and_describe(
    ward: &str,
    lots: Vec<Lot>,
    vn2000: &Vn2000,
    rng: &mut Rng,
) -> Result<Vec<DemoParcel>, diaba_core::crs::CrsError> {
    let class = Class::of(ward);
    let sheet_size = class.layout().sheet_size;
    let centre = |lot: &Lot| lot.outline.bounding_rect().map_or(Coord::zero(), geo::Rect::center);
    // Sheets and parcels numbered from the north-west, row by row.
    let sheet_key = |c: Coord<f64>| (-(c.y / sheet_size).floor() as i64, (c.x / sheet_size).floor() as i64);
    let mut by_sheet: BTreeMap<(i64, i64), Vec<Lot>> = BTreeMap::new();
    for lot in lots {
        by_sheet.entry(sheet_key(centre(&lot))).or_default().push(lot);
    }
    let mut out = Vec::new();
    for (sheet_index, (_, mut sheet_lots)) in by_sheet.into_iter().enumerate() {
        sheet_lots.sort_by(|a, b| {
            let (ca, cb) = (centre(a), centre(b));
            ((-ca.y / 10.0).floor(), ca.x).partial_cmp(&((-cb.y / 10.0).floor(), cb.x)).expect("finite")
        });
        for (n, lot) in sheet_lots.into_iter().enumerate() {
            let vn2000_shape = MultiPolygon(vec![lot.outline]);
            let lonlat = vn2000.unproject(&diaba_core::crs::Vn2000Polygon::from_metres(vn2000_shape.clone()))?;
            let area = vn2000_shape.unsigned_area();
            let number = n as i32 + 1;
            out.push(describe(
                ward,
                class,
                sheet_index as i32 + 1,
                number,
                lot.kind,
                lot.street,
                vn2000_shape,
                lonlat,
                area,
                rng,
            ));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn describe(
    ward: &str,
    class: Class,
    sheet: i32,
    number: i32,
    kind: LotKind,
    street: &'static str,
    vn2000: MultiPolygon<f64>,
    lonlat: MultiPolygon<f64>,
    area: f64,
    rng: &mut Rng,
) -> DemoParcel {
    let permanent = "lâu dài";
    let uses = |code: &'static str, term: &'static str| vec![LandUse { code, area_m2: area, term }];
    let residential = if class == Class::Rural { "ONT" } else { "ODT" };
    let land_uses = match kind {
        LotKind::Road => uses("DGT", permanent),
        LotKind::Canal => uses("SON", permanent),
        LotKind::Residential => {
            match rng.weighted(&[("home", 0.88), ("TMD", 0.05), ("TSC", 0.02), ("DGD", 0.02), ("mixed", 0.03)]) {
                "home" => uses(residential, permanent),
                "mixed" => {
                    let home = (area * rng.range(0.3, 0.6)).round();
                    vec![
                        LandUse { code: residential, area_m2: home, term: permanent },
                        LandUse { code: "CLN", area_m2: area - home, term: "50 năm" },
                    ]
                }
                code => uses(code, if code == "TMD" { "50 năm" } else { permanent }),
            }
        }
        LotKind::Field => uses(rng.weighted(&[("LUC", 0.4), ("CLN", 0.35), ("NTS", 0.15), ("BHK", 0.1)]), "50 năm"),
        LotKind::Strip => match rng.weighted(&[("CLN", 0.45), ("LUC", 0.3), ("home", 0.2), ("NTS", 0.05)]) {
            "home" => {
                let home = (rng.range(200.0, 400.0)).min(area / 2.0).round();
                vec![
                    LandUse { code: "ONT", area_m2: home, term: permanent },
                    LandUse { code: "CLN", area_m2: area - home, term: "50 năm" },
                ]
            }
            code => uses(code, "50 năm"),
        },
    };
    let public = matches!(kind, LotKind::Road | LotKind::Canal);
    let (certificate_serial, registry_number, owners) = if public {
        (None, None, serde_json::json!([{ "name": "UBND (đất công)", "kind": "organisation", "synthetic": true }]))
    } else {
        let letters = *rng.pick(&["BA", "BB", "BD", "BH", "BK", "CH", "CS", "CT", "CD", "DA", "DB"]);
        let serial = if letters < "CA" {
            format!("{letters} {:06}", rng.next_u64() % 1_000_000)
        } else {
            format!("{letters} {:08}", rng.next_u64() % 100_000_000)
        };
        let registry = format!("CS{:05}", rng.next_u64() % 100_000);
        (Some(serial), Some(registry), owners(rng))
    };
    let hamlet = (class == Class::Rural).then(|| *rng.pick(HAMLETS));
    let address_text = match (kind, hamlet) {
        (LotKind::Road | LotKind::Canal, _) => format!("{street}, {}", ward_label(ward)),
        (_, Some(hamlet)) => format!("Ấp {hamlet}, {}", ward_label(ward)),
        _ => format!("Số {}, {street}, {}", number, ward_label(ward)),
    };
    DemoParcel {
        ward_code: ward.to_owned(),
        sheet,
        number,
        vn2000,
        lonlat,
        area_m2: area,
        land_uses,
        certificate_serial,
        registry_number,
        address_text,
        owners,
        street: (class != Class::Rural).then_some(street),
        hamlet,
    }
}

fn owners(rng: &mut Rng) -> serde_json::Value {
    let count = if rng.unit() < 0.35 { 2 } else { 1 };
    let people: Vec<serde_json::Value> = (0..count)
        .map(|_| {
            let name = format!("{} {} {}", rng.pick(FAMILY_NAMES), rng.pick(MIDDLE_NAMES), rng.pick(GIVEN_NAMES));
            // One draw, as ever (the fabric after it must not change): a birth date from
            // 1945 to 2004, a sex and six random digits, as a structurally valid personal ID
            // of someone registered at birth in Cần Thơ.
            let draw = rng.next_u64();
            let year = 1945 + (draw % 60) as i32;
            let born = NaiveDate::from_ymd_opt(year, 1 + ((draw >> 8) % 12) as u32, 1 + ((draw >> 16) % 28) as u32)
                .expect("a day of a month");
            let sex = if (draw >> 24) & 1 == 0 { Sex::Male } else { Sex::Female };
            let id = PersonalId::synthetic(born, sex, ((draw >> 32) % 1_000_000) as u32);
            serde_json::json!({
                "name": name,
                "id_number": id.as_str(),
                "date_of_birth": born,
                "synthetic": true,
            })
        })
        .collect();
    serde_json::Value::Array(people)
}

/// A generated household (synthetic): a point on a residential lot with a Vietnamese-style
/// address, captured by a community digital team.
#[derive(Debug, Clone)]
pub struct DemoHousehold {
    /// 2025 ward code.
    pub ward_code: String,
    /// Sheet and number of the lot it stands on.
    pub sheet: i32,
    /// Parcel number of the lot.
    pub number: i32,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// House number: "45", "12/3A", "51/12/4" (sub-numbers for houses down an alley).
    pub house_number: String,
    /// Street (urban wards), alleys named "Hẻm 51 Đường 3 Tháng 2".
    pub street: Option<&'static str>,
    /// Hamlet (rural communes).
    pub hamlet: Option<String>,
    /// Head of household (invented name; personal data).
    pub head_name: String,
    /// The community digital team that captured it.
    pub team: String,
    /// GPS accuracy of the capture, metres.
    pub accuracy_m: f32,
    /// Days before the profile's reference day it was captured.
    pub days_ago: u32,
    /// submitted, verified or rejected.
    pub status: &'static str,
    /// Vpostcode, compact form (`941199QCJ2VX`).
    pub vpostcode: String,
}

/// Households for the demo: about 3 000 (small) or 150 000 (full), on residential lots
/// (ODT, ONT). Most are verified; some wait for review; a few were rejected.
pub fn households(parcels: &[DemoParcel], profile: Profile, seed: u64) -> diaba_geodata::Result<Vec<DemoHousehold>> {
    let postcodes = diaba_geodata::postcode_table()?;
    let target = match profile {
        Profile::Small => 3_000.0,
        Profile::Full => 150_000.0,
    };
    let residential: Vec<&DemoParcel> =
        parcels.iter().filter(|p| p.land_uses.iter().any(|u| matches!(u.code, "ODT" | "ONT"))).collect();
    let per_lot = target / residential.len().max(1) as f64;
    let mut rng = Rng(seed ^ 0x486F_7573_6568_6F6C);
    let mut out = Vec::new();
    for parcel in residential {
        let count = per_lot.floor() as usize + usize::from(rng.unit() < per_lot.fract());
        for k in 0..count {
            let Some((lon, lat)) = point_on(&parcel.lonlat, &mut rng) else { continue };
            let code = diaba_core::LonLat::new(lon, lat).ok().and_then(|point| {
                diaba_core::Vpostcode::encode(point, postcodes.current_area_of(&parcel.ward_code)?).ok()
            });
            let Some(code) = code else { continue };
            let base = parcel.number * 2 + 1 + i32::from(rng.unit() < 0.5);
            let house_number = match (parcel.hamlet, k, rng.unit()) {
                (Some(_), _, _) => format!("{}", base * 3 + k as i32),
                (None, 0, x) if x < 0.7 => format!("{base}"),
                (None, 0, x) if x < 0.85 => format!("{base}{}", rng.pick(&["A", "B"])),
                (None, _, x) if x < 0.8 => format!("{base}/{}{}", k + 1, if rng.unit() < 0.3 { "A" } else { "" }),
                (None, _, _) => format!("{base}/{}/{}", k + 1, 1 + rng.next_u64() % 9),
            };
            let status = rng.weighted(&[("verified", 0.86), ("submitted", 0.1), ("rejected", 0.04)]);
            out.push(DemoHousehold {
                ward_code: parcel.ward_code.clone(),
                sheet: parcel.sheet,
                number: parcel.number,
                lon,
                lat,
                house_number,
                street: parcel.street,
                hamlet: parcel.hamlet.map(|h| format!("Ấp {h}")),
                head_name: format!("{} {} {}", rng.pick(FAMILY_NAMES), rng.pick(MIDDLE_NAMES), rng.pick(GIVEN_NAMES)),
                team: format!(
                    "Tổ công nghệ số cộng đồng {} số {}",
                    ward_label(&parcel.ward_code),
                    1 + rng.next_u64() % 3
                ),
                accuracy_m: rng.range(2.0, 9.0) as f32,
                days_ago: (rng.unit() * rng.unit() * 120.0) as u32,
                status,
                vpostcode: code.compact(),
            });
        }
    }
    Ok(out)
}

/// A random point inside a lot (a few tries, then its interior point).
fn point_on(shape: &MultiPolygon<f64>, rng: &mut Rng) -> Option<(f64, f64)> {
    let bounds = shape.bounding_rect()?;
    for _ in 0..12 {
        let p = coord! { x: rng.range(bounds.min().x, bounds.max().x), y: rng.range(bounds.min().y, bounds.max().y) };
        if shape.contains(&p) {
            return Some((p.x, p.y));
        }
    }
    shape.interior_point().map(|p| (p.x(), p.y()))
}

fn ward_label(code: &str) -> &'static str {
    match code {
        "31120" => "Phường Cái Khế",
        "31135" => "Phường Ninh Kiều",
        "31147" => "Phường Tân An",
        "31150" => "Phường An Bình",
        "31168" => "Phường Bình Thủy",
        "31174" => "Phường Thới An Đông",
        "31183" => "Phường Long Tuyền",
        "31186" => "Phường Cái Răng",
        "31201" => "Phường Hưng Phú",
        "31299" => "Xã Phong Điền",
        "31309" => "Xã Trường Long",
        "31315" => "Xã Nhơn Ái",
        _ => "Cần Thơ",
    }
}

fn street_names(class: Class) -> &'static [&'static str] {
    match class {
        Class::Urban => &[
            "Đường Nguyễn Văn Cừ",
            "Đường 30 Tháng 4",
            "Đường Trần Hưng Đạo",
            "Đường Mậu Thân",
            "Đường 3 Tháng 2",
            "Đường Hòa Bình",
            "Đường Nguyễn Trãi",
            "Đường Lý Tự Trọng",
            "Đường Hai Bà Trưng",
            "Đường Trần Văn Khéo",
            "Hẻm 51 Đường 3 Tháng 2",
            "Hẻm 132 Đường 3 Tháng 2",
            "Kiệt 7 Đường Mậu Thân",
        ],
        Class::Mixed => &[
            "Đường Cách Mạng Tháng 8",
            "Đường Võ Văn Kiệt",
            "Đường Lê Hồng Phong",
            "Đường Trần Quang Diệu",
            "Đường Nguyễn Văn Linh",
            "Đường Huỳnh Thúc Kháng",
            "Đường Trần Hoàng Na",
            "Đường Võ Nguyên Giáp",
        ],
        Class::Rural => &["Kênh Ông Cò", "Rạch Cầu Nhím", "Kênh Xáng Thổi Mới", "Lộ Vòng Cung", "Đường tỉnh 923"],
    }
}

const HAMLETS: &[&str] =
    &["Nhơn Lộc 1", "Nhơn Lộc 2", "Thới Hòa", "Mỹ Ái", "Trường Phú", "Trường Thọ", "Tân Long", "Nhơn Thọ"];
const FAMILY_NAMES: &[&str] =
    &["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô", "Hồ", "Dương", "Lý"];
const MIDDLE_NAMES: &[&str] = &["Văn", "Thị", "Minh", "Ngọc", "Hoàng", "Thanh", "Hữu", "Kim"];
const GIVEN_NAMES: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hải", "Hạnh", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Phúc", "Quang", "Tâm",
    "Thảo", "Trang", "Tuấn", "Vy", "Yến",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_cover_the_span_without_gaps_or_slivers() {
        let mut rng = Rng(7);
        for _ in 0..200 {
            let pieces = cuts(0.0, 60.0, 4.0, 7.0, &mut rng);
            assert_eq!(pieces.first().unwrap().0, 0.0);
            assert_eq!(pieces.last().unwrap().1, 60.0);
            for pair in pieces.windows(2) {
                assert_eq!(pair[0].1, pair[1].0);
            }
            assert!(pieces.iter().all(|(a, b)| b - a >= 4.0 - 1e-9), "{pieces:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let (mut a, mut b) = (Rng(99), Rng(99));
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn profiles_have_their_documented_sizes() {
        let wards = diaba_geodata::service_wards().unwrap();
        let vn2000 = Vn2000::can_tho().unwrap();
        let small = parcels(Profile::Small, 1, &wards, &vn2000, |_| {}).unwrap();
        eprintln!("small: {}", small.len());
        assert!((4_000..6_500).contains(&small.len()), "small profile has {} parcels", small.len());
        let kinds: std::collections::HashSet<&str> =
            small.iter().flat_map(|p| p.land_uses.iter().map(|u| u.code)).collect();
        for code in ["ODT", "ONT", "CLN", "LUC", "DGT", "SON"] {
            assert!(kinds.contains(code), "no {code} in the small profile");
        }
    }
}

#[cfg(test)]
mod full_profile {
    use super::*;

    /// Slow in debug builds; run with `cargo test --release -p diaba-geodata -- --ignored`.
    #[test]
    #[ignore]
    fn the_full_profile_has_about_250_000_parcels() {
        let wards = diaba_geodata::service_wards().unwrap();
        let full = parcels(Profile::Full, 1, &wards, &Vn2000::can_tho().unwrap(), |_| {}).unwrap();
        eprintln!("full: {}", full.len());
        assert!((225_000..275_000).contains(&full.len()), "full profile has {} parcels", full.len());
    }
}

/// A synthetic flood-risk zone (demo data, labelled synthetic).
#[derive(Debug, Clone)]
pub struct DemoFloodZone {
    /// Name, e.g. "Phường Ninh Kiều – triều cường – mức 3 (synthetic)".
    pub name: String,
    /// 1–5 on the national disaster-risk scale (QĐ 18/2021/QĐ-TTg).
    pub risk_level: i16,
    /// Scenario key.
    pub scenario: &'static str,
    /// Return period in years, where the scenario has one.
    pub return_period_years: Option<i32>,
    /// Outline, lon/lat.
    pub lonlat: MultiPolygon<f64>,
}

/// Two scenarios of five nested risk bands around each ward's centre: invented shapes (no
/// real flood model is available here), so every zone says "synthetic" in its name and
/// source. Bands are rings with a hole, so zones of one scenario never overlap.
pub fn flood_zones(
    wards: &[(String, MultiPolygon<f64>)],
    vn2000: &Vn2000,
) -> Result<Vec<DemoFloodZone>, diaba_core::crs::CrsError> {
    let scenarios = [("tidal-peak", None, 1.0, "triều cường"), ("rain-rp100", Some(100), 1.35, "mưa 100 năm")];
    let mut out = Vec::new();
    for (code, outline) in wards {
        let ward = vn2000.project(outline)?.geometry().clone();
        let Some(centre) = ward.interior_point() else { continue };
        let radius = (ward.unsigned_area() / std::f64::consts::PI).sqrt() * 0.5;
        let phase = code.parse::<f64>().unwrap_or(0.0) % std::f64::consts::TAU;
        for (scenario, return_period, scale, label) in scenarios {
            let ring = |fraction: f64| -> geo::LineString<f64> {
                let points: Vec<Coord<f64>> = (0..=64)
                    .map(|i| {
                        let angle = std::f64::consts::TAU * f64::from(i % 64) / 64.0;
                        let r = radius * scale * fraction * (1.0 + 0.15 * (3.0 * angle + phase).sin());
                        coord! { x: centre.x() + r * angle.cos(), y: centre.y() + r * angle.sin() }
                    })
                    .collect();
                points.into()
            };
            for level in 1..=5i16 {
                // Level 5 is the innermost disc, level 1 the outermost band.
                let outer = f64::from(6 - level) / 5.0;
                let inner = f64::from(5 - level) / 5.0;
                let holes = if level == 5 { vec![] } else { vec![ring(inner)] };
                let metres = MultiPolygon(vec![Polygon::new(ring(outer), holes)]);
                let lonlat = vn2000.unproject(&diaba_core::crs::Vn2000Polygon::from_metres(metres))?;
                out.push(DemoFloodZone {
                    name: format!("{} – {label} – mức {level} (synthetic)", ward_label(code)),
                    risk_level: level,
                    scenario,
                    return_period_years: return_period,
                    lonlat,
                });
            }
        }
    }
    Ok(out)
}
