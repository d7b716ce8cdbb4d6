//! The population register link: look a personal ID up to verify a party or pre-fill its
//! details. Behind a trait because the national database has no public interface: the
//! built-in provider reads the table an office loads (`diaba population import`), and a
//! future connection to the national database is another implementation. A mismatch is
//! shown to the registrar, never corrected silently.

use crate::Register;
use crate::error::{Error, Result};
use diaba_core::PersonalId;
use diaba_core::auth::Caller;
use diaba_store::Store;
use diaba_store::population::Resident;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future, so the trait can be used as `dyn`.
pub type Lookup<'a> = Pin<Box<dyn Future<Output = Result<Option<Resident>>> + Send + 'a>>;

/// Where residents are looked up.
pub trait PopulationRegister: Send + Sync + std::fmt::Debug {
    /// The resident with this personal ID, if the register knows them; `caller` and
    /// `purpose` are for the register's own access log.
    fn look_up<'a>(&'a self, id: &'a PersonalId, caller: &'a Caller, purpose: &'a str) -> Lookup<'a>;
}

/// The office's loaded copy, in PostGIS.
#[derive(Debug)]
pub struct OfficeCopy {
    store: Arc<Store>,
}

impl OfficeCopy {
    /// Over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}

impl PopulationRegister for OfficeCopy {
    fn look_up<'a>(&'a self, id: &'a PersonalId, caller: &'a Caller, purpose: &'a str) -> Lookup<'a> {
        Box::pin(async move { Ok(self.store.resident(id.as_str(), caller, purpose).await?) })
    }
}

/// A party checked against the population register.
#[derive(Debug, Serialize)]
pub struct Verification {
    /// The party.
    pub party_id: i64,
    /// The personal ID looked up.
    pub personal_id: String,
    /// Whether the register knows it.
    pub found: bool,
    /// What the register holds (to pre-fill or correct by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<Resident>,
    /// Fields that differ: `[{field, party, register}]`; empty when all agree.
    pub mismatches: Vec<Mismatch>,
}

/// One field that differs.
#[derive(Debug, Serialize)]
pub struct Mismatch {
    /// full_name, date_of_birth, permanent_address or card_status.
    pub field: &'static str,
    /// As the land register has it.
    pub party: Option<String>,
    /// As the population register has it.
    pub register: Option<String>,
}

/// Names compared as written, spaces normalised: a diacritic is part of a legal name.
fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

fn registrar(caller: Option<&Caller>) -> Result<&Caller> {
    let caller = caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
    if !caller.is_registrar() {
        return Err(Error::Forbidden {
            detail: format!("a {} cannot look up the population register", caller.role.as_str()),
        });
    }
    Ok(caller)
}

impl Register {
    /// A resident by personal ID, to pre-fill a party of `ward` (registrars of that ward and
    /// admins; every lookup logged with the ward it was for).
    pub async fn resident(&self, personal_id: &str, ward: Option<&str>, caller: Option<&Caller>) -> Result<Resident> {
        let caller = registrar(caller)?;
        let ward = ward.ok_or_else(|| Error::invalid("ward", "name the ward the lookup is for (ward=31135)"))?;
        caller.check(diaba_core::auth::Action::SeePersonalData, ward)?;
        let id = PersonalId::parse(personal_id).map_err(|e| Error::invalid("personal_id", e.to_string()))?;
        self.population
            .look_up(&id, caller, &format!("pre-fill a party of ward {ward}"))
            .await?
            .ok_or_else(|| Error::not_found(format!("the population register has no {id}")))
    }

    /// A party's details against the population register (registrars of a ward where it
    /// holds a parcel, and admins).
    pub async fn verify_party(&self, id: &str, caller: Option<&Caller>) -> Result<Verification> {
        let caller = registrar(caller)?;
        let view = self.party(id, Some(caller)).await?;
        let party = view.party;
        let personal_id = party.personal_id.clone().ok_or_else(|| {
            Error::unprocessable("personal_id", format!("party {} has no 12-digit personal ID to look up", party.id))
        })?;
        let parsed = PersonalId::parse(&personal_id).map_err(|e| Error::Internal { detail: e.to_string() })?;
        let found = self.population.look_up(&parsed, caller, "verify party").await?;
        let mut mismatches = Vec::new();
        if let Some(r) = &found {
            if !same_text(&party.name, &r.full_name) {
                mismatches.push(Mismatch {
                    field: "full_name",
                    party: Some(party.name.clone()),
                    register: Some(r.full_name.clone()),
                });
            }
            if party.date_of_birth != r.date_of_birth {
                let show = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
                mismatches.push(Mismatch {
                    field: "date_of_birth",
                    party: show(party.date_of_birth),
                    register: show(r.date_of_birth),
                });
            }
            if let (Some(ours), Some(theirs)) = (&party.address, &r.permanent_address)
                && !same_text(ours, theirs)
            {
                mismatches.push(Mismatch {
                    field: "permanent_address",
                    party: Some(ours.clone()),
                    register: Some(theirs.clone()),
                });
            }
            if r.card_status != "valid" {
                mismatches.push(Mismatch {
                    field: "card_status",
                    party: Some("valid".into()),
                    register: Some(r.card_status.clone()),
                });
            }
        }
        Ok(Verification { party_id: party.id, personal_id, found: found.is_some(), register: found, mismatches })
    }
}

/// What a population import did.
#[derive(Debug, Serialize)]
pub struct PopulationImport {
    /// Records loaded.
    pub loaded: usize,
    /// The batch id.
    pub batch: String,
}

/// Loads an office's population-register extract (CSV, UTF-8, a header row) in place of the
/// previous one: all rows or none. Columns, by English or Vietnamese name: `personal_id` /
/// `so_dinh_danh`, `full_name` / `ho_ten`, `date_of_birth` / `ngay_sinh` (YYYY-MM-DD or
/// dd/mm/yyyy), `permanent_address` / `thuong_tru`, `card_status` / `trang_thai`
/// (valid, expired, revoked, lost; or còn hạn, hết hạn, thu hồi, mất). Every problem of
/// every row is reported at once; `synthetic` labels a test or demo register.
pub async fn import_population(store: &Store, csv: &[u8], synthetic: bool) -> Result<PopulationImport> {
    let residents = read_population_csv(csv, synthetic)?;
    let batch = store.replace_population(&residents).await?;
    Ok(PopulationImport { loaded: residents.len(), batch })
}

fn read_population_csv(csv: &[u8], synthetic: bool) -> Result<Vec<Resident>> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(csv);
    let headers = reader.headers().map_err(|e| Error::invalid("file", e.to_string()))?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.to_lowercase().as_str()));
    let (Some(id_col), Some(name_col)) =
        (column(&["personal_id", "so_dinh_danh", "cccd"]), column(&["full_name", "ho_ten"]))
    else {
        return Err(Error::invalid(
            "file",
            format!("need personal_id and full_name columns; the file has {headers:?}"),
        ));
    };
    let (birth_col, address_col, status_col) = (
        column(&["date_of_birth", "ngay_sinh"]),
        column(&["permanent_address", "thuong_tru", "dia_chi"]),
        column(&["card_status", "trang_thai"]),
    );
    let mut residents = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).filter(|v| !v.is_empty()).map(str::to_owned);
        let date_of_birth = match cell(birth_col) {
            None => None,
            Some(text) => match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .or_else(|_| chrono::NaiveDate::parse_from_str(&text, "%d/%m/%Y"))
            {
                Ok(date) => Some(date),
                Err(_) => {
                    problems.push(format!("line {line}: date of birth {text:?} is not YYYY-MM-DD or dd/mm/yyyy"));
                    None
                }
            },
        };
        let id_text = cell(Some(id_col)).unwrap_or_default();
        let parsed = match date_of_birth {
            Some(born) => PersonalId::parse_for(&id_text, born),
            None => PersonalId::parse(&id_text),
        };
        let personal_id = match parsed {
            Ok(id) => id.as_str().to_owned(),
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if !seen.insert(personal_id.clone()) {
            problems.push(format!("line {line}: personal ID {personal_id} appears twice"));
        }
        let Some(full_name) = cell(Some(name_col)) else {
            problems.push(format!("line {line}: no full name"));
            continue;
        };
        let card_status = match cell(status_col).as_deref().map(str::to_lowercase).as_deref() {
            None | Some("valid" | "còn hạn" | "còn hiệu lực") => "valid",
            Some("expired" | "hết hạn") => "expired",
            Some("revoked" | "thu hồi" | "bị thu hồi") => "revoked",
            Some("lost" | "mất" | "báo mất") => "lost",
            Some(other) => {
                problems.push(format!("line {line}: card status {other:?} is not valid, expired, revoked or lost"));
                continue;
            }
        };
        residents.push(Resident {
            personal_id,
            full_name,
            date_of_birth,
            permanent_address: cell(address_col),
            card_status: card_status.to_owned(),
            synthetic,
            loaded_at: None,
        });
    }
    if !problems.is_empty() {
        return Err(Error::unprocessable(
            "file",
            format!("{} problems, nothing loaded:\n{}", problems.len(), problems.join("\n")),
        ));
    }
    Ok(residents)
}

impl Register {
    /// Uses `population` instead of the office's loaded copy.
    pub fn with_population(mut self, population: Arc<dyn PopulationRegister>) -> Self {
        self.population = population;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::read_population_csv;

    #[test]
    fn every_problem_of_a_population_extract_is_reported_at_once() {
        let good = "so_dinh_danh,ho_ten,ngay_sinh,thuong_tru,trang_thai\n\
                    092085004711,Lê Thị Hoa (synthetic),02/04/1985,\"Ninh Kiều, Cần Thơ\",còn hạn\n";
        let rows = read_population_csv(good.as_bytes(), true).unwrap();
        assert_eq!(rows[0].full_name, "Lê Thị Hoa (synthetic)");
        assert_eq!(rows[0].card_status, "valid");
        let bad = "personal_id,full_name,date_of_birth\n\
                   999085004711,A (synthetic),1985-04-02\n\
                   092085004711,B (synthetic),1990-01-01\n\
                   092085004712,,1985-01-01\n";
        let error = read_population_csv(bad.as_bytes(), true).unwrap_err().to_string();
        for line in ["line 2", "line 3", "line 4"] {
            assert!(error.contains(line), "{error}");
        }
    }
}
