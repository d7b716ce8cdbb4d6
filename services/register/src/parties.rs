//! Land users, their rights and certificates (LADM parties, rights, sources), with the rule
//! that decides every answer: who holds a parcel, their ID numbers and the endorsements
//! written about them go only to registrars of the parcel's ward and to admins. The public
//! learns that a parcel is certified (serial, status) and its land uses, never by whom.

use crate::Register;
use crate::at::parse_at;
use crate::error::{Error, Result};
use crate::parcels::{expected_version, parse_parcel_id};
use diaba_core::auth::{Action, Caller};
use diaba_core::{CertificateSerial, PersonalId};
use diaba_store::parties::{CertificateRecord, EndorseRefused, EndorsementRecord, NewSource, PartyRecord, RightRecord};
use serde::{Deserialize, Serialize};

/// Most parties one search answers.
const MAX_PARTIES: i64 = 50;
/// Longest endorsement text, in characters (a certificate's page has room for less).
const MAX_ENDORSEMENT_CHARS: usize = 2_000;

/// A party with its rights, for those entitled to see it.
#[derive(Debug, Serialize)]
pub struct PartyView {
    /// The party.
    #[serde(flatten)]
    pub party: PartyRecord,
    /// Its rights, live first (those on parcels of wards the caller may see).
    pub rights: Vec<RightRecord>,
}

/// `GET /v1/parties` as asked.
#[derive(Debug, Default, Deserialize)]
pub struct PartySearch {
    /// A 12-digit personal ID, or an older identity number.
    pub personal_id: Option<String>,
    /// Part of a name, with or without diacritics.
    pub name: Option<String>,
    /// Only land users of this ward (one of the caller's).
    pub ward: Option<String>,
}

/// The rights on a parcel as a caller may see them.
#[derive(Debug, Serialize)]
pub struct ParcelRights {
    /// The parcel.
    pub parcel_id: i64,
    /// Whether a valid (or endorsed) certificate covers it: what the public may know.
    pub certified: bool,
    /// Certificates covering it (serial, issue and status are public).
    pub certificates: Vec<CertificateSummary>,
    /// The rights and their holders; absent for callers who may not see who holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<Vec<RightRecord>>,
}

/// What anyone may know of a certificate.
#[derive(Debug, Serialize)]
pub struct CertificateSummary {
    /// Serial.
    pub serial: String,
    /// Issue date.
    pub issued_on: Option<chrono::NaiveDate>,
    /// Status.
    pub status: String,
}

/// A certificate as a caller may see it.
#[derive(Debug, Serialize)]
pub struct CertificateView {
    /// The certificate (serial, issue, status, parcels: public).
    #[serde(flatten)]
    pub certificate: CertificateRecord,
    /// Holders and endorsements: only for registrars of a covered parcel's ward and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holders: Option<Vec<RightRecord>>,
    /// The endorsements written on it (their text names holders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endorsements: Option<Vec<EndorsementRecord>>,
}

impl CertificateView {
    /// The version (ETag).
    pub fn version(&self) -> i32 {
        self.certificate.version
    }
}

/// An endorsement as submitted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorsementInput {
    /// The date written on the certificate (today in Vietnam when absent).
    pub endorsed_on: Option<chrono::NaiveDate>,
    /// What is endorsed, e.g. "Đổi tên người sử dụng đất từ … thành … theo …".
    pub text: String,
    /// The document behind it.
    pub source: Option<SourceInput>,
}

/// A document behind a change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// decision, contract, application …
    pub kind: String,
    /// Its number.
    pub number: Option<String>,
    /// Its date.
    pub issued_on: Option<chrono::NaiveDate>,
    /// Who issued it.
    pub issuer: Option<String>,
    /// Where the file is kept.
    pub file_ref: Option<String>,
}

/// The caller, who must be a registrar or admin to read parties at all.
fn staff(caller: Option<&Caller>) -> Result<&Caller> {
    let caller =
        caller.ok_or_else(|| Error::Unauthenticated { detail: "parties are personal data: sign in".into() })?;
    if !caller.is_registrar() {
        return Err(Error::Forbidden { detail: format!("a {} cannot see personal data", caller.role.as_str()) });
    }
    Ok(caller)
}

fn sees(caller: Option<&Caller>, ward: &str) -> bool {
    diaba_core::auth::may(caller, Action::SeePersonalData, ward)
}

fn parse_serial(text: &str) -> Result<CertificateSerial> {
    CertificateSerial::parse(text).map_err(|e| Error::invalid("serial", e.to_string()))
}

impl Register {
    /// A party, with its rights, for registrars of a ward where it holds a parcel (and
    /// admins); other registrars are refused without learning anything about it.
    pub async fn party(&self, id: &str, caller: Option<&Caller>) -> Result<PartyView> {
        let caller = staff(caller)?;
        let _turn = self.read_turn().await?;
        let id = id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Error::invalid("id", format!("party id must be a positive integer, got {id:?}")))?;
        let party = self.store.party(id).await?.ok_or_else(|| Error::not_found(format!("no party {id}")))?;
        let entitled =
            caller.role == diaba_core::auth::Role::Admin || party.wards.iter().any(|w| sees(Some(caller), w));
        if !entitled {
            return Err(Error::Forbidden { detail: format!("party {id} holds no parcel in your wards") });
        }
        let rights =
            self.store.party_rights(id).await?.into_iter().filter(|r| sees(Some(caller), &r.ward_code)).collect();
        Ok(PartyView { party, rights })
    }

    /// Parties by personal ID or name, among the land users of the caller's wards.
    pub async fn find_parties(&self, q: PartySearch, caller: Option<&Caller>) -> Result<Vec<PartyRecord>> {
        let caller = staff(caller)?;
        let personal_id = q.personal_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let name = q.name.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if personal_id.is_none() && name.is_none() {
            return Err(Error::invalid("personal_id", "give personal_id or name"));
        }
        if let Some(id) = personal_id
            && !(id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()))
        {
            // A 9-digit number is an older identity card, kept as given; a 12-digit one must
            // be a structurally valid personal ID.
            PersonalId::parse(id).map_err(|e| Error::invalid("personal_id", e.to_string()))?;
        }
        if name.is_some_and(|n| n.chars().count() < 2) {
            return Err(Error::invalid("name", "give at least two letters of the name"));
        }
        let wards = caller.listing_wards(Action::SeePersonalData, crate::ward_filter(q.ward.as_deref())?)?;
        let _turn = self.read_turn().await?;
        Ok(self.store.find_parties(personal_id, name, wards.as_deref(), MAX_PARTIES).await?)
    }

    /// The rights on a parcel now or as of `at`: holders for whom may see them; for
    /// everyone, whether it is certified.
    pub async fn parcel_rights(&self, id: &str, at: Option<&str>, caller: Option<&Caller>) -> Result<ParcelRights> {
        let _turn = self.read_turn().await?;
        let id = parse_parcel_id(id)?;
        let at = parse_at(at)?;
        let parcel = match self.store.parcel(id, at).await? {
            Some(record) => record,
            None => self.store.parcel_latest(id).await?.ok_or_else(|| Error::not_found(format!("no parcel {id}")))?,
        };
        let certificates: Vec<CertificateSummary> = self
            .store
            .parcel_certificates(id)
            .await?
            .into_iter()
            .map(|c| CertificateSummary { serial: c.serial, issued_on: c.issued_on, status: c.status })
            .collect();
        let certified = certificates.iter().any(|c| c.status == "valid" || c.status == "endorsed");
        let rights = if sees(caller, &parcel.ward_code) { Some(self.store.parcel_rights(id, at).await?) } else { None };
        Ok(ParcelRights { parcel_id: id, certified, certificates, rights })
    }

    /// A certificate: public facts for all, holders and endorsements for whom may see them.
    pub async fn certificate(&self, serial: &str, caller: Option<&Caller>) -> Result<CertificateView> {
        let serial = parse_serial(serial)?;
        let _turn = self.read_turn().await?;
        let certificate = self
            .store
            .certificate(serial.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("no certificate {serial}")))?;
        self.certificate_view(certificate, caller).await
    }

    async fn certificate_view(
        &self,
        certificate: CertificateRecord,
        caller: Option<&Caller>,
    ) -> Result<CertificateView> {
        let entitled = certificate.parcels.iter().any(|p| sees(caller, &p.ward_code));
        let (holders, endorsements) = if entitled {
            (
                Some(self.store.certificate_holders(certificate.id).await?),
                Some(self.store.endorsements(certificate.id).await?),
            )
        } else {
            (None, None)
        };
        Ok(CertificateView { certificate, holders, endorsements })
    }

    /// Writes an endorsement on a certificate: registrars of a covered parcel's ward (and
    /// admins), naming the version they read (If-Match).
    pub async fn endorse(
        &self,
        serial: &str,
        if_match: Option<&str>,
        input: EndorsementInput,
        caller: Option<&Caller>,
    ) -> Result<CertificateView> {
        let caller =
            caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
        let serial = parse_serial(serial)?;
        let certificate = self
            .store
            .certificate(serial.as_str())
            .await?
            .ok_or_else(|| Error::not_found(format!("no certificate {serial}")))?;
        let ward = certificate.parcels.first().map(|p| p.ward_code.clone()).unwrap_or_default();
        if !certificate.parcels.iter().any(|p| caller.may(Action::WriteParcels, &p.ward_code)) {
            let denied = caller.check(Action::WriteParcels, &ward).err().map(|d| d.detail);
            return Err(Error::Forbidden { detail: denied.unwrap_or_else(|| "not among your wards".into()) });
        }
        let expected = expected_version(if_match)?;
        let text = input.text.trim();
        if text.is_empty() || text.chars().count() > MAX_ENDORSEMENT_CHARS {
            return Err(Error::unprocessable(
                "text",
                format!("an endorsement has between 1 and {MAX_ENDORSEMENT_CHARS} characters of text"),
            ));
        }
        let today = diaba_core::today_in_vietnam();
        let endorsed_on = input.endorsed_on.unwrap_or(today);
        if endorsed_on > today {
            return Err(Error::unprocessable("endorsed_on", format!("{endorsed_on} is after today ({today})")));
        }
        if let Some(issued) = certificate.issued_on
            && endorsed_on < issued
        {
            return Err(Error::unprocessable(
                "endorsed_on",
                format!("{endorsed_on} is before the certificate was issued ({issued})"),
            ));
        }
        let source = input.source.map(|s| NewSource {
            kind: s.kind,
            number: s.number,
            issued_on: s.issued_on,
            issuer: s.issuer,
            file_ref: s.file_ref,
        });
        if source.as_ref().is_some_and(|s| s.kind.trim().is_empty()) {
            return Err(Error::unprocessable("source", "a source document has a kind (decision, contract …)"));
        }
        let written = self.store.endorse(serial.as_str(), expected, endorsed_on, text, source, caller).await?;
        match written {
            Ok(after) => self.certificate_view(after, Some(caller)).await,
            Err(EndorseRefused::NotFound) => Err(Error::not_found(format!("no certificate {serial}"))),
            Err(EndorseRefused::Closed(status)) => Err(Error::Conflict {
                detail: format!("certificate {serial} is {status}: nothing more is endorsed on it"),
            }),
            Err(EndorseRefused::Stale { current }) => Err(Error::Stale {
                detail: format!("certificate {serial} is at version {current}, not {expected}: reload it"),
            }),
        }
    }
}
