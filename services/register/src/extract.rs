//! The parcel extract (trích lục thửa đất): a parcel's particulars and drawing from the
//! register, set as a PDF by `diaba-extract`. Holders go only into the variant for
//! registrars of the parcel's ward (and admins); everyone else gets the public variant.

use crate::Register;
use crate::error::{Error, Result};
use crate::parcels::parse_parcel_id;
use diaba_core::auth::{Action, Caller};
use diaba_extract::{Extract, Fonts, Neighbour};
use diaba_store::Store;
use diaba_store::parcels::ParcelRecord;

/// An extract made.
#[derive(Debug)]
pub struct ExtractPdf {
    /// The PDF.
    pub bytes: Vec<u8>,
    /// A file name for it, e.g. `trich-luc-31135-12-125.pdf`.
    pub file_name: String,
    /// Whether it names holders (personal data: not to be cached by shared caches).
    pub with_holders: bool,
}

/// Who may read the holders: the public variant for everyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Holders when the caller may see them.
    AsEntitled,
    /// Never holders (what the CLI's `--public` asks for).
    Public,
    /// With holders: the office's own copy, made on its machine (`diaba extract`).
    Office,
}

fn holder_line(holder: &serde_json::Value) -> Option<String> {
    let name = holder["name"].as_str()?;
    let mut line = name.to_owned();
    if let Some(id) = holder["id_number"].as_str() {
        line.push_str(&format!(", số định danh {id}"));
    }
    if let Some(org) = holder["org_number"].as_str() {
        line.push_str(&format!(", mã số {org}"));
    }
    if let Some(share) = holder["share"].as_str().filter(|s| *s != "1/1") {
        line.push_str(&format!(", phần {share}"));
    }
    if let Some(members) = holder["members"].as_array() {
        let names: Vec<String> =
            members.iter().filter_map(|m| Some(format!("{} {}", m["name"].as_str()?, m["share"].as_str()?))).collect();
        line.push_str(&format!(" (thành viên: {})", names.join(", ")));
    }
    if let Some(address) = holder["address"].as_str() {
        line.push_str(&format!("; thường trú: {address}"));
    }
    Some(line)
}

impl Register {
    /// The extract of parcel `id` as it stands (a retired parcel: its last state).
    pub async fn parcel_extract(&self, id: &str, variant: Variant, caller: Option<&Caller>) -> Result<ExtractPdf> {
        let _turn = self.read_turn().await?;
        parcel_extract(&self.store, id, variant, caller).await
    }
}

/// The extract of parcel `id` from `store` (the CLI's `diaba extract` calls this directly:
/// the office's own machine, no index needed).
pub async fn parcel_extract(store: &Store, id: &str, variant: Variant, caller: Option<&Caller>) -> Result<ExtractPdf> {
    let id = parse_parcel_id(id)?;
    let record = match store.parcel(id, None).await? {
        Some(live) => live,
        None => store.parcel_latest(id).await?.ok_or_else(|| Error::not_found(format!("no parcel {id}")))?,
    };
    let drawing =
        store.parcel_drawing(id, record.version).await?.ok_or_else(|| Error::not_found(format!("no parcel {id}")))?;
    let with_holders = match variant {
        Variant::Public => false,
        Variant::AsEntitled => diaba_core::auth::may(caller, Action::SeePersonalData, &record.ward_code),
        Variant::Office => true,
    };
    // Reads come without holders (personal data): fetched only for the registrars' variant.
    let mut record = record;
    if with_holders {
        record.owners = store.holders(&[(record.id, record.valid_to)]).await?.pop().flatten();
    }
    let certificate = store.parcel_certificates(id).await?.into_iter().next().map(|c| c.serial);
    let ward = match store.ward_name(&record.ward_code, record.ward_valid_from).await? {
        Some(name) => format!("{name} ({})", record.ward_code),
        None => record.ward_code.clone(),
    };
    let file_name = format!("trich-luc-{}-{}-{}.pdf", record.ward_code, record.sheet, record.number);
    let extract = extract_of(&record, ward, drawing, certificate, with_holders);
    let bytes = tokio::task::spawn_blocking(move || {
        let fonts = Fonts::dejavu(std::path::Path::new(diaba_extract::DEBIAN_FONT_DIR))?;
        diaba_extract::render(&extract, &fonts)
    })
    .await
    .map_err(|e| Error::Internal { detail: format!("the extract was not drawn: {e}") })?
    .map_err(|e| Error::Internal { detail: format!("the extract was not drawn: {e}") })?;
    Ok(ExtractPdf { bytes, file_name, with_holders })
}

fn extract_of(
    record: &ParcelRecord,
    ward: String,
    drawing: diaba_store::parcels::ParcelDrawing,
    certificate: Option<String>,
    with_holders: bool,
) -> Extract {
    let land_uses = record
        .land_uses
        .iter()
        .map(|u| {
            let area = u.area_m2.map(|a| format!(" {} m²", diaba_extract::vn_number(a, 1))).unwrap_or_default();
            let term = u.term.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
            format!("{}{area}{term}", u.code)
        })
        .collect();
    let primary_use = record
        .land_uses
        .iter()
        .max_by(|a, b| a.area_m2.unwrap_or(0.0).total_cmp(&b.area_m2.unwrap_or(0.0)))
        .map(|u| u.code.clone())
        .unwrap_or_default();
    let holders = with_holders.then(|| {
        record.owners.as_ref().and_then(|o| o.as_array()).map(|list| list.iter().filter_map(holder_line).collect())
    });
    Extract {
        ward,
        sheet: record.sheet,
        number: record.number,
        national_id: record.national_id.clone(),
        legal_area_m2: record.legal_area_m2,
        land_uses,
        primary_use,
        address: record.address_text.clone(),
        certificate: certificate.or_else(|| record.certificate_serial.clone()),
        holders: holders.map(Option::unwrap_or_default),
        outline: drawing.rings,
        label_at: drawing.label_at,
        neighbours: drawing
            .neighbours
            .into_iter()
            .map(|n| Neighbour { sheet: n.sheet, number: n.number, outline: n.rings, label_at: n.label_at })
            .collect(),
        issued_on: diaba_core::today_in_vietnam(),
        synthetic: record.source.starts_with("synthetic"),
    }
}
