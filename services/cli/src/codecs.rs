//! `vpostcode`, `crs` and `parcel-id`: the pure codecs, without a database.

use crate::args::{CrsCommand, OutputArgs, ParcelIdArgs, VpostcodeCommand, ZoneArgs};
use anyhow::{Context, bail};
use diaba_core::crs::{Tm3Zone, Vn2000, Vn2000Point, Vn2000Polygon};
use diaba_core::{LonLat, NationalParcelId, Vpostcode};
use serde_json::json;

pub fn vpostcode(command: VpostcodeCommand) -> anyhow::Result<()> {
    let table = diaba_geodata::postcode_table()?;
    match command {
        VpostcodeCommand::Encode { lat, lon, output } => {
            let point = LonLat::parse(Some(&lat), Some(&lon))?;
            let code = table.encode(point)?;
            let area = table.area_containing(point).expect("encoded, so an area contains it");
            print(
                output,
                &code.to_string(),
                json!({ "code": code.to_string(), "compact": code.compact(), "postcode": code.postcode(),
                        "unit": { "code": area.unit_code(), "name": area.unit_name() } }),
            );
        }
        VpostcodeCommand::Decode { code, output } => {
            let code = Vpostcode::parse(&code)?;
            let decoded = table.decode(&code)?;
            let cell = decoded.cell;
            let era = if decoded.area.is_current() { "" } else { " (pre-2025 postcode)" };
            print(
                output,
                &format!(
                    "{code}: lat {:.7}, lon {:.7} (cell {:.7}–{:.7} N, {:.7}–{:.7} E) in {}{era}",
                    cell.center_lat(),
                    cell.center_lng(),
                    cell.lat_lo,
                    cell.lat_hi,
                    cell.lng_lo,
                    cell.lng_hi,
                    decoded.area.unit_name()
                ),
                json!({ "code": code.to_string(), "lat": cell.center_lat(), "lon": cell.center_lng(),
                        "cell": { "lat_lo": cell.lat_lo, "lng_lo": cell.lng_lo, "lat_hi": cell.lat_hi, "lng_hi": cell.lng_hi },
                        "unit": { "code": decoded.area.unit_code(), "name": decoded.area.unit_name(), "current": decoded.area.is_current() } }),
            );
        }
    }
    Ok(())
}

pub fn crs(command: CrsCommand) -> anyhow::Result<()> {
    match command {
        CrsCommand::ToVn2000 { lat, lon, zone, output } => {
            let (vn2000, epsg) = transformer(&zone)?;
            let point = vn2000.to_vn2000(LonLat::parse(Some(&lat), Some(&lon))?)?;
            print(
                output,
                &format!("easting (Y) {:.3}  northing (X) {:.3}  [{epsg}]", point.easting(), point.northing()),
                json!({ "easting": point.easting(), "northing": point.northing(), "crs": epsg }),
            );
        }
        CrsCommand::ToWgs84 { easting, northing, zone, output } => {
            let (vn2000, _) = transformer(&zone)?;
            let point = vn2000.to_wgs84(Vn2000Point::new(easting, northing)?)?;
            print(
                output,
                &format!("lat {:.9}  lon {:.9}  [EPSG:4326]", point.lat(), point.lon()),
                json!({ "lat": point.lat(), "lon": point.lon(), "crs": "EPSG:4326" }),
            );
        }
    }
    Ok(())
}

pub fn parcel_id(args: ParcelIdArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let geojson: geojson::GeoJson = text.parse().with_context(|| format!("{} is not GeoJSON", args.file.display()))?;
    let geometry = match geojson {
        geojson::GeoJson::Geometry(g) => g,
        geojson::GeoJson::Feature(f) => f.geometry.context("the feature has no geometry")?,
        geojson::GeoJson::FeatureCollection(c) => c
            .features
            .into_iter()
            .next()
            .and_then(|f| f.geometry)
            .context("the collection has no feature with a geometry")?,
    };
    let polygon = match geo::Geometry::<f64>::try_from(geometry)? {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        _ => bail!("a parcel is a Polygon or MultiPolygon"),
    };
    let (lonlat, area) = match args.crs.to_ascii_uppercase().as_str() {
        "EPSG:4326" | "CRS84" | "OGC:CRS84" => {
            let area = Vn2000::can_tho()?.area_m2(&polygon)?;
            (polygon, area)
        }
        other => {
            let code: u32 = other.trim_start_matches("EPSG:").parse().context("--crs must be EPSG:<code>")?;
            let zone = Tm3Zone::from_epsg(code)
                .with_context(|| format!("unknown CRS {other}; use EPSG:4326, EPSG:5897 or EPSG:9209"))?;
            let grid = Vn2000Polygon::from_metres(polygon);
            (Vn2000::new(zone)?.unproject(&grid)?, grid.area_m2())
        }
    };
    let id = NationalParcelId::for_parcel(&lonlat)?;
    let point = id.point();
    print(
        args.output,
        &format!("{id}  (point lat {:.8}, lon {:.8}; area {:.2} m² in VN-2000)", point.lat(), point.lon(), area),
        json!({ "national_id": id, "point": { "lat": point.lat(), "lon": point.lon() }, "area_m2": area }),
    );
    Ok(())
}

fn transformer(zone: &ZoneArgs) -> anyhow::Result<(Vn2000, String)> {
    let zone = Tm3Zone::with_meridian(zone.meridian)?;
    let name = match zone.epsg() {
        Some(code) => format!("EPSG:{code}"),
        None => format!("VN-2000 / TM-3 {}°", zone.central_meridian()),
    };
    Ok((Vn2000::new(zone)?, name))
}

fn print(output: OutputArgs, text: &str, json: serde_json::Value) {
    if output.json {
        println!("{json}");
    } else {
        println!("{text}");
    }
}
