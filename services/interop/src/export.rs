//! Files out, through GDAL: GeoPackage, Shapefile, GeoJSON, FlatGeobuf or CSV (WKT), from
//! GeoJSON features as the store builds them.

use crate::Error;
use gdal::DriverManager;
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType};
use serde_json::Value;
use std::path::Path;

/// Formats diaba writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OGC GeoPackage.
    GeoPackage,
    /// ESRI Shapefile (.shp, .shx, .dbf, .prj, .cpg).
    Shapefile,
    /// RFC 7946 GeoJSON.
    GeoJson,
    /// FlatGeobuf.
    FlatGeobuf,
    /// CSV with the geometry as WKT.
    Csv,
}

impl Format {
    fn driver(self) -> &'static str {
        match self {
            Format::GeoPackage => "GPKG",
            Format::Shapefile => "ESRI Shapefile",
            Format::GeoJson => "GeoJSON",
            Format::FlatGeobuf => "FlatGeobuf",
            Format::Csv => "CSV",
        }
    }
}

/// One attribute column: name and whether it holds integers, reals or text.
fn field_type(features: &[Value], name: &str) -> OGRFieldType::Type {
    let values = features.iter().filter_map(|f| f["properties"].get(name)).filter(|v| !v.is_null());
    let mut kind = OGRFieldType::OFTInteger64;
    for value in values {
        match value {
            Value::Number(n) if n.is_i64() => {}
            Value::Number(_) if kind != OGRFieldType::OFTString => kind = OGRFieldType::OFTReal,
            _ => return OGRFieldType::OFTString,
        }
    }
    kind
}

/// Writes `features` (GeoJSON Feature objects, all with the same properties) as layer
/// `name` of a new file at `path`, in EPSG `epsg` (4326 or 5897). Returns the count.
pub fn write_features(path: &Path, format: Format, name: &str, epsg: u32, features: &[Value]) -> Result<u64, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let driver = DriverManager::get_driver_by_name(format.driver()).map_err(gdal_error)?;
    let mut dataset = driver.create_vector_only(path).map_err(gdal_error)?;
    // GeoPackage in one transaction (layer creation included): thousands of times faster.
    if format == Format::GeoPackage {
        let mut transaction = dataset.start_transaction().map_err(gdal_error)?;
        let written = create_and_write(&mut transaction, format, name, epsg, features).map_err(gdal_error)?;
        transaction.commit().map_err(gdal_error)?;
        Ok(written)
    } else {
        create_and_write(&mut dataset, format, name, epsg, features).map_err(gdal_error)
    }
}

fn create_and_write(
    dataset: &mut gdal::Dataset,
    format: Format,
    name: &str,
    epsg: u32,
    features: &[Value],
) -> gdal::errors::Result<u64> {
    let mut srs = SpatialRef::from_epsg(epsg)?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    // Shapefiles default to ISO-8859-1 and would lose every Vietnamese letter: UTF-8 + .cpg.
    let options: &[&str] = match format {
        Format::Csv => &["GEOMETRY=AS_WKT"],
        Format::Shapefile => &["ENCODING=UTF-8"],
        _ => &[],
    };
    let mut layer = dataset.create_layer(LayerOptions {
        name,
        srs: Some(&srs),
        ty: gdal::vector::OGRwkbGeometryType::wkbUnknown,
        options: (!options.is_empty()).then_some(options),
    })?;
    let mut names: Vec<String> = Vec::new();
    for feature in features {
        for key in feature["properties"].as_object().into_iter().flat_map(|o| o.keys()) {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
    }
    let fields: Vec<(String, OGRFieldType::Type)> =
        names.iter().map(|n| (n.clone(), field_type(features, n))).collect();
    let defs: Vec<(&str, OGRFieldType::Type)> = fields.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    layer.create_defn_fields(&defs)?;
    // Formats may rename fields (Shapefile: 10 characters): write by the names they kept.
    let stored: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let columns: Vec<(String, String, OGRFieldType::Type)> =
        fields.into_iter().zip(stored).map(|((key, kind), column)| (key, column, kind)).collect();
    write_all(&mut layer, features, &columns)
}

/// Writes features; `columns` are (property key, column name in the file, type).
fn write_all<L: LayerAccess>(
    layer: &mut L,
    features: &[Value],
    columns: &[(String, String, OGRFieldType::Type)],
) -> gdal::errors::Result<u64> {
    let mut written = 0;
    for feature in features {
        let geometry = Geometry::from_geojson(&feature["geometry"].to_string())?;
        let mut out = Feature::new(layer.defn())?;
        out.set_geometry(geometry)?;
        for (key, column, kind) in columns {
            let Some(value) = feature["properties"].get(key).filter(|v| !v.is_null()) else { continue };
            let value = match (*kind, value) {
                (OGRFieldType::OFTInteger64, v) => FieldValue::Integer64Value(v.as_i64().unwrap_or_default()),
                (OGRFieldType::OFTReal, v) => FieldValue::RealValue(v.as_f64().unwrap_or_default()),
                (_, Value::String(s)) => FieldValue::StringValue(s.clone()),
                (_, v) => FieldValue::StringValue(v.to_string()),
            };
            out.set_field(column, &value)?;
        }
        out.create(layer)?;
        written += 1;
    }
    Ok(written)
}
