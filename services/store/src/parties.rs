//! Parties, their rights on parcels, and certificates (LADM LA_Party, LA_Right and the
//! Giấy chứng nhận with its endorsements). Reads return every field; the register decides
//! who sees which. Writes append (an endorsement never replaces one), are audited and go
//! into the change feed.

use crate::audit;
use crate::error::{QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use diaba_core::Layer;
use diaba_core::auth::Caller;
use serde::Serialize;

/// A party as it stands now (its live version).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PartyRecord {
    /// Party id.
    pub id: i64,
    /// person, organisation, household or group.
    pub kind: String,
    /// Invented by the demo generator.
    pub synthetic: bool,
    /// Version of the party's details.
    pub version: i32,
    /// Full name, or an organisation's name.
    pub name: String,
    /// Date of birth (persons).
    pub date_of_birth: Option<NaiveDate>,
    /// 12-digit personal ID number (persons).
    pub personal_id: Option<String>,
    /// Older identity numbers (9-digit cards), as given.
    pub other_ids: Vec<String>,
    /// Legal-entity or tax number (organisations).
    pub org_number: Option<String>,
    /// Permanent address.
    pub address: Option<String>,
    /// Since when these details hold.
    pub valid_from: DateTime<Utc>,
    /// Wards of the live parcels the party holds rights on, itself or through a household
    /// or group it belongs to (who may see it).
    pub wards: Vec<String>,
    /// Members of a household or group: `[{party_id, name, share}]`.
    #[sqlx(json)]
    pub members: Vec<serde_json::Value>,
}

/// A party's right on a parcel.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RightRecord {
    /// Right id.
    pub id: i64,
    /// The parcel.
    pub parcel_id: i64,
    /// The parcel's ward (who may see the holder).
    pub ward_code: String,
    /// The parcel's sheet.
    pub sheet: i32,
    /// The parcel's number.
    pub number: i32,
    /// The holder.
    pub party_id: i64,
    /// The holder's kind.
    pub party_kind: String,
    /// The holder's name.
    pub party_name: String,
    /// land_use or asset_ownership.
    pub right_type: String,
    /// Share as "n/d".
    pub share: String,
    /// Term as written (lâu dài, 50 năm …).
    pub term: Option<String>,
    /// When the right ends, if it does.
    pub expires_on: Option<NaiveDate>,
    /// allocated, leased, recognised, transferred, inherited, donated, other.
    pub origin: String,
    /// The certificate attesting it.
    pub certificate: Option<String>,
    /// In force from.
    pub valid_from: DateTime<Utc>,
    /// In force until (`None`: still).
    pub valid_to: Option<DateTime<Utc>>,
}

/// A certificate with what it covers.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CertificateRecord {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// Serial, e.g. `BD 614696`.
    pub serial: String,
    /// Issue date (unknown for certificates migrated from the owners lists).
    pub issued_on: Option<NaiveDate>,
    /// Issuing authority.
    pub issuer: Option<String>,
    /// valid, endorsed, replaced or revoked.
    pub status: String,
    /// The certificate that replaced it.
    pub replaced_by: Option<String>,
    /// Version (the ETag): each endorsement adds one.
    pub version: i32,
    /// Invented by the demo generator.
    pub synthetic: bool,
    /// Parcels it covers: `[{id, ward_code, sheet, number}]`.
    #[sqlx(json)]
    pub parcels: Vec<CoveredParcel>,
}

/// A parcel on a certificate.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CoveredParcel {
    /// Parcel id.
    pub id: i64,
    /// Ward code.
    pub ward_code: String,
    /// Sheet.
    pub sheet: i32,
    /// Number.
    pub number: i32,
}

/// An endorsement (ghi chú biến động) on a certificate.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EndorsementRecord {
    /// Endorsement id.
    pub id: i64,
    /// Date written on the certificate.
    pub endorsed_on: NaiveDate,
    /// The text endorsed (may name holders: personal data).
    pub text: String,
    /// The document behind it, e.g. "decision 12/QĐ-VPĐK of 2026-11-02".
    pub source: Option<String>,
    /// Who wrote it (a staff identity).
    pub author: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A document behind a change (LADM LA_AdministrativeSource).
#[derive(Debug, Clone, Default)]
pub struct NewSource {
    /// decision, contract, application …
    pub kind: String,
    /// Its number.
    pub number: Option<String>,
    /// Its date.
    pub issued_on: Option<NaiveDate>,
    /// Who issued it.
    pub issuer: Option<String>,
    /// Where the scanned file is kept.
    pub file_ref: Option<String>,
}

/// Why an endorsement was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndorseRefused {
    /// No such certificate.
    NotFound,
    /// Replaced or revoked: nothing more is written on it.
    Closed(String),
    /// The caller endorsed an older version.
    Stale {
        /// the live version
        current: i32,
    },
}

/// The party and the households or groups it is a live member of: whose rights are its.
const HOLDING_AS: &str =
    "(SELECT p.id UNION SELECT group_id FROM party_member WHERE member_id = p.id AND valid_to IS NULL)";

const PARTY_SELECT: &str = "SELECT p.id, p.kind, p.synthetic, v.version, v.name, v.date_of_birth, v.personal_id, \
     v.other_ids, v.org_number, v.address, v.valid_from, \
     ARRAY(SELECT DISTINCT pv.ward_code FROM land_right r JOIN parcel_version pv ON pv.parcel_id = r.parcel_id \
           AND pv.valid_to IS NULL WHERE r.party_id IN HOLDING_AS AND r.valid_to IS NULL ORDER BY 1) AS wards, \
     coalesce((SELECT jsonb_agg(jsonb_build_object('party_id', m.member_id, 'name', mv.name, \
               'share', m.share_num || '/' || m.share_den) ORDER BY m.member_id) \
               FROM party_member m JOIN party_version mv ON mv.party_id = m.member_id AND mv.valid_to IS NULL \
               WHERE m.group_id = p.id AND m.valid_to IS NULL), '[]') AS members \
     FROM party p JOIN party_version v ON v.party_id = p.id AND v.valid_to IS NULL";

fn party_select(condition: &str) -> String {
    format!("{} WHERE {condition}", PARTY_SELECT.replace("HOLDING_AS", HOLDING_AS))
}

const RIGHT_SELECT: &str = "SELECT r.id, r.parcel_id, v.ward_code, v.sheet, v.number, r.party_id, p.kind AS party_kind, \
     pv.name AS party_name, r.right_type, r.share_num || '/' || r.share_den AS share, r.term, r.expires_on, r.origin, \
     c.serial AS certificate, r.valid_from, r.valid_to \
     FROM land_right r JOIN party p ON p.id = r.party_id \
     JOIN party_version pv ON pv.party_id = r.party_id AND pv.valid_to IS NULL \
     JOIN LATERAL (SELECT ward_code, sheet, number FROM parcel_version WHERE parcel_id = r.parcel_id \
                   ORDER BY valid_to DESC NULLS FIRST LIMIT 1) v ON true \
     LEFT JOIN certificate c ON c.id = r.certificate_id";

const CERTIFICATE_SELECT: &str = "SELECT c.id, c.serial, c.issued_on, c.issuer, c.status, n.serial AS replaced_by, \
     c.version, c.synthetic, \
     coalesce((SELECT jsonb_agg(jsonb_build_object('id', cp.parcel_id, 'ward_code', v.ward_code, 'sheet', v.sheet, \
               'number', v.number) ORDER BY cp.parcel_id) \
               FROM certificate_parcel cp JOIN LATERAL (SELECT ward_code, sheet, number FROM parcel_version \
               WHERE parcel_id = cp.parcel_id ORDER BY valid_to DESC NULLS FIRST LIMIT 1) v ON true \
               WHERE cp.certificate_id = c.id), '[]') AS parcels \
     FROM certificate c LEFT JOIN certificate n ON n.id = c.replaced_by";

impl Store {
    /// A party by id.
    pub async fn party(&self, id: i64) -> Result<Option<PartyRecord>> {
        sqlx::query_as(&party_select("p.id = $1")).bind(id).fetch_optional(self.pool()).await.query("party")
    }

    /// Parties with this personal ID (or older identity number), or whose name contains
    /// `name` ignoring diacritics and case; among holders of rights in `wards` (all
    /// parties when `None`), at most `limit`.
    pub async fn find_parties(
        &self,
        personal_id: Option<&str>,
        name: Option<&str>,
        wards: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<PartyRecord>> {
        let condition = format!(
            "($1::text IS NULL OR v.personal_id = $1 OR $1 = ANY(v.other_ids)) \
             AND ($2::text IS NULL OR v.name_folded LIKE '%' || lower(unaccent($2)) || '%') \
             AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM land_right r JOIN parcel_version pv \
                  ON pv.parcel_id = r.parcel_id AND pv.valid_to IS NULL \
                  WHERE r.party_id IN {HOLDING_AS} AND r.valid_to IS NULL AND pv.ward_code = ANY($3))) \
             ORDER BY v.name, p.id LIMIT $4"
        );
        sqlx::query_as(&party_select(&condition))
            .bind(personal_id)
            .bind(name)
            .bind(wards)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .query("find parties")
    }

    /// The rights of a party, live ones first.
    pub async fn party_rights(&self, party: i64) -> Result<Vec<RightRecord>> {
        sqlx::query_as(&format!(
            "{RIGHT_SELECT} WHERE r.party_id = $1 OR r.party_id IN (SELECT group_id FROM party_member \
             WHERE member_id = $1 AND valid_to IS NULL) ORDER BY r.valid_to DESC NULLS FIRST, r.parcel_id, r.id"
        ))
        .bind(party)
        .fetch_all(self.pool())
        .await
        .query("party rights")
    }

    /// The rights on a parcel in force at `at` (now when `None`).
    pub async fn parcel_rights(&self, parcel: i64, at: Option<DateTime<Utc>>) -> Result<Vec<RightRecord>> {
        sqlx::query_as(&format!(
            "{RIGHT_SELECT} WHERE r.parcel_id = $1 AND r.valid_from <= coalesce($2, now()) \
             AND (r.valid_to IS NULL OR r.valid_to > coalesce($2, now())) ORDER BY r.id"
        ))
        .bind(parcel)
        .bind(at)
        .fetch_all(self.pool())
        .await
        .query("parcel rights")
    }

    /// The certificates covering a parcel, newest first.
    pub async fn parcel_certificates(&self, parcel: i64) -> Result<Vec<CertificateRecord>> {
        sqlx::query_as(&format!(
            "{CERTIFICATE_SELECT} WHERE c.id IN (SELECT certificate_id FROM certificate_parcel WHERE parcel_id = $1) \
             ORDER BY c.issued_on DESC NULLS LAST, c.id DESC"
        ))
        .bind(parcel)
        .fetch_all(self.pool())
        .await
        .query("parcel certificates")
    }

    /// A certificate by serial (as normalised by `diaba_core::CertificateSerial`).
    pub async fn certificate(&self, serial: &str) -> Result<Option<CertificateRecord>> {
        sqlx::query_as(&format!("{CERTIFICATE_SELECT} WHERE c.serial = $1"))
            .bind(serial)
            .fetch_optional(self.pool())
            .await
            .query("certificate")
    }

    /// A certificate's holders (live rights attested by it, or on the parcels it covers).
    pub async fn certificate_holders(&self, certificate: i64) -> Result<Vec<RightRecord>> {
        sqlx::query_as(&format!(
            "{RIGHT_SELECT} WHERE r.valid_to IS NULL AND (r.certificate_id = $1 OR r.parcel_id IN \
             (SELECT parcel_id FROM certificate_parcel WHERE certificate_id = $1)) ORDER BY r.id"
        ))
        .bind(certificate)
        .fetch_all(self.pool())
        .await
        .query("certificate holders")
    }

    /// A certificate's endorsements, oldest first.
    pub async fn endorsements(&self, certificate: i64) -> Result<Vec<EndorsementRecord>> {
        sqlx::query_as(
            "SELECT e.id, e.endorsed_on, e.text, \
             nullif(concat_ws(' ', s.kind, s.number, 'of ' || s.issued_on, s.issuer), '') AS source, \
             u.name AS author, e.created_at \
             FROM certificate_endorsement e LEFT JOIN admin_source s ON s.id = e.source_id \
             LEFT JOIN app_user u ON u.id = e.author_id WHERE e.certificate_id = $1 ORDER BY e.id",
        )
        .bind(certificate)
        .fetch_all(self.pool())
        .await
        .query("endorsements")
    }

    /// Writes an endorsement on certificate `serial` at version `expected`: the certificate
    /// becomes "endorsed" at the next version. One transaction with its source document,
    /// the audit entry and the change feed.
    pub async fn endorse(
        &self,
        serial: &str,
        expected: i32,
        endorsed_on: NaiveDate,
        text: &str,
        source: Option<NewSource>,
        actor: &Caller,
    ) -> Result<std::result::Result<CertificateRecord, EndorseRefused>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let current: Option<(i64, i32, String)> =
            sqlx::query_as("SELECT id, version, status FROM certificate WHERE serial = $1 FOR UPDATE")
                .bind(serial)
                .fetch_optional(&mut *tx)
                .await
                .query("lock certificate")?;
        let Some((id, version, status)) = current else {
            return Ok(Err(EndorseRefused::NotFound));
        };
        if status == "replaced" || status == "revoked" {
            return Ok(Err(EndorseRefused::Closed(status)));
        }
        if version != expected {
            return Ok(Err(EndorseRefused::Stale { current: version }));
        }
        let source_id: Option<i64> = match source {
            Some(s) => Some(
                sqlx::query_scalar(
                    "INSERT INTO admin_source (kind, number, issued_on, issuer, file_ref) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&s.kind)
                .bind(&s.number)
                .bind(s.issued_on)
                .bind(&s.issuer)
                .bind(&s.file_ref)
                .fetch_one(&mut *tx)
                .await
                .query("insert source")?,
            ),
            None => None,
        };
        let endorsement = write_endorsement(&mut tx, id, endorsed_on, text, source_id, actor).await?;
        let entry = audit::Entry {
            actor: Some(actor),
            action: "certificate.endorse",
            entity: "certificate",
            id: Some(id),
            before: Some(serde_json::json!({ "status": status, "version": version })),
            after: Some(
                serde_json::json!({ "status": "endorsed", "version": version + 1, "endorsement": endorsement }),
            ),
        };
        audit::record(&mut tx, entry).await?;
        append(&mut tx, Layer::Certificates, Some(id), ChangeOp::Upsert).await?;
        let after = sqlx::query_as(&format!("{CERTIFICATE_SELECT} WHERE c.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .query("certificate after")?;
        tx.commit().await.query("commit endorsement")?;
        Ok(Ok(after))
    }
}

/// Writes an endorsement on certificate `id` and marks the certificate endorsed at its next
/// version (an office's endorsement, or an approved dossier's); the endorsement's id.
pub(crate) async fn write_endorsement(
    conn: &mut sqlx::PgConnection,
    id: i64,
    endorsed_on: NaiveDate,
    text: &str,
    source_id: Option<i64>,
    actor: &Caller,
) -> Result<i64> {
    let endorsement: i64 = sqlx::query_scalar(
        "INSERT INTO certificate_endorsement (certificate_id, endorsed_on, text, source_id, author_id) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(id)
    .bind(endorsed_on)
    .bind(text)
    .bind(source_id)
    .bind(actor.user_id)
    .fetch_one(&mut *conn)
    .await
    .query("insert endorsement")?;
    sqlx::query("UPDATE certificate SET status = 'endorsed', version = version + 1, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .query("certificate endorsed")?;
    Ok(endorsement)
}

/// A change to a parcel's rights or certificates recorded in the register: an endorsement
/// on a certificate covering it, or a certificate issued for it, with its source document.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RegisterChange {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The date it bears.
    pub dated: Option<NaiveDate>,
    /// endorsement or certificate_issued.
    pub kind: String,
    /// The certificate.
    pub certificate: String,
    /// Its source: the document's kind and number (a dossier: `application CT-2026-000123`).
    pub source: Option<String>,
    /// What was written (personal data: names, personal IDs).
    pub text: Option<String>,
}

impl Store {
    /// The endorsements and issued certificates of parcel `parcel`, oldest first.
    pub async fn parcel_register_changes(&self, parcel: i64) -> Result<Vec<RegisterChange>> {
        sqlx::query_as(
            "SELECT e.created_at AS at, e.endorsed_on AS dated, 'endorsement' AS kind, c.serial AS certificate, \
                    nullif(concat_ws(' ', s.kind, s.number), '') AS source, e.text \
             FROM certificate_endorsement e JOIN certificate c ON c.id = e.certificate_id \
             LEFT JOIN admin_source s ON s.id = e.source_id \
             WHERE e.certificate_id IN (SELECT certificate_id FROM certificate_parcel WHERE parcel_id = $1) \
             UNION ALL \
             SELECT c.updated_at, c.issued_on, 'certificate_issued', c.serial, nullif(concat_ws(' ', s.kind, s.number), ''), \
                    'Cấp giấy chứng nhận ' || c.serial || coalesce(' thay cho ' || o.serial, '') \
             FROM certificate c JOIN admin_source s ON s.id = c.source_id \
             LEFT JOIN certificate o ON o.replaced_by = c.id \
             WHERE c.id IN (SELECT certificate_id FROM certificate_parcel WHERE parcel_id = $1) \
             ORDER BY 1",
        )
        .bind(parcel)
        .fetch_all(self.pool())
        .await
        .query("parcel register changes")
    }
}
