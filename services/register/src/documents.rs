//! Documents attached to a dossier (PDF, JPEG, PNG) and the fees paid for it.
//!
//! A document's type is read from its content, never from its name or the client's
//! Content-Type: a PDF starts with `%PDF-` and ends with `%%EOF`, a PNG starts with its
//! 8-byte signature and an IHDR chunk, a JPEG starts with SOI (FF D8 FF) and ends with EOI
//! (FF D9). Three fixed signatures are checked here rather than with a sniffing crate,
//! which would look at the first bytes only. Files are kept under the data directory,
//! named by their SHA-256 (written to a temporary name, then renamed, so a half-written
//! file is never seen), and recorded in the database only once written.

use crate::Register;
use crate::applications::{Asker, parse_code, state_of};
use crate::error::{Error, Result};
use diaba_core::application::State;
use diaba_core::auth::Actor;
use diaba_store::documents::{DocumentRecord, NewDocument, NewPayment};
use sha2::{Digest, Sha256};

/// What a document may be.
pub const KINDS: [&str; 5] = ["application_form", "id_card", "certificate", "civil_status", "other"];

/// The type of `bytes`, read from their content.
pub fn media_type_of(bytes: &[u8]) -> Option<&'static str> {
    let ends_with =
        |tail: &[u8], within: usize| bytes[bytes.len().saturating_sub(within)..].windows(tail.len()).any(|w| w == tail);
    if bytes.starts_with(b"%PDF-") && ends_with(b"%%EOF", 1024) {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && ends_with(&[0xFF, 0xD9], 64) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// A payment provider: the built-in one is money paid at the counter, which a registrar
/// records; an online provider would confirm the transaction with its own service.
pub trait PaymentProvider: Send + Sync {
    /// Its name in payment records.
    fn name(&self) -> &'static str;
    /// Whether `actor` may record a payment with this provider.
    fn may_record(&self, actor: Actor<'_>) -> bool;
}

/// Paid in cash or by card at the office's counter, recorded by a registrar with the
/// receipt number (biên lai).
#[derive(Debug, Clone, Copy)]
pub struct AtCounter;

impl PaymentProvider for AtCounter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn may_record(&self, actor: Actor<'_>) -> bool {
        matches!(actor, Actor::Staff(_))
    }
}

/// A payment as recorded (`POST /v1/applications/{code}/payments`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// The provider (`counter`).
    pub provider: String,
    /// VND.
    pub amount_vnd: i64,
    /// The receipt or transaction reference.
    pub reference: String,
}

impl Register {
    /// Attaches a document to dossier `code`: its applicant while it is submitted or
    /// requisitioned, or a registrar of its ward at any open state.
    pub async fn add_document(
        &self,
        code: &str,
        kind: &str,
        file_name: &str,
        bytes: &[u8],
        asker: Asker<'_>,
    ) -> Result<DocumentRecord> {
        let (record, actor) = self.entitled_dossier(code, asker).await?;
        let state = state_of(&record)?;
        let open_to_citizen = matches!(state, State::Submitted | State::Requisitioned);
        if state.is_final() || (matches!(actor, Actor::Citizen(_)) && !open_to_citizen) {
            return Err(Error::Conflict {
                detail: format!(
                    "dossier {} is {}: documents are added while it is submitted or requisitioned",
                    record.code, record.state
                ),
            });
        }
        if !KINDS.contains(&kind) {
            return Err(Error::invalid("kind", format!("{kind:?}: one of {}", KINDS.join(", "))));
        }
        let file_name = file_name.trim();
        if file_name.is_empty() || file_name.chars().count() > 200 || file_name.chars().any(char::is_control) {
            return Err(Error::invalid("name", "the file's name: 1 to 200 printable characters"));
        }
        if bytes.len() > self.service.max_document_bytes {
            return Err(Error::TooLarge {
                detail: format!("{} bytes; a document may have {}", bytes.len(), self.service.max_document_bytes),
            });
        }
        let media_type = media_type_of(bytes).ok_or_else(|| {
            Error::unprocessable("body", "not a complete PDF, JPEG or PNG file (its content was read, not its name)")
        })?;
        let dir = self
            .service
            .documents_dir
            .as_ref()
            .ok_or_else(|| Error::Busy { detail: "this node keeps no documents (no --documents-dir)".into() })?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        keep(dir, &sha256, bytes).await?;
        let new = NewDocument {
            kind: kind.to_owned(),
            file_name: file_name.to_owned(),
            media_type,
            bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            sha256,
        };
        Ok(self.store.add_document(record.id, &new, actor).await?)
    }

    /// The documents of dossier `code`.
    pub async fn documents(&self, code: &str, asker: Asker<'_>) -> Result<Vec<DocumentRecord>> {
        let (record, _) = self.entitled_dossier(code, asker).await?;
        Ok(self.store.documents(record.id).await?)
    }

    /// Document `id` of dossier `code`, with its bytes (checked against its SHA-256).
    pub async fn document(&self, code: &str, id: i64, asker: Asker<'_>) -> Result<(DocumentRecord, Vec<u8>)> {
        let (record, _) = self.entitled_dossier(code, asker).await?;
        let document = self
            .store
            .document(record.id, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("dossier {} has no document {id}", record.code)))?;
        let dir = self
            .service
            .documents_dir
            .as_ref()
            .ok_or_else(|| Error::Busy { detail: "this node keeps no documents (no --documents-dir)".into() })?;
        let path = dir.join(&document.sha256[..2]).join(&document.sha256);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| Error::Internal { detail: format!("document {id} at {}: {e}", path.display()) })?;
        if hex::encode(Sha256::digest(&bytes)) != document.sha256 {
            return Err(Error::Internal {
                detail: format!("document {id} at {} does not match its SHA-256", path.display()),
            });
        }
        Ok((document, bytes))
    }

    /// Records a payment of dossier `code`'s fee.
    pub async fn record_payment(
        &self,
        code: &str,
        input: PaymentInput,
        asker: Asker<'_>,
    ) -> Result<crate::applications::ApplicationView> {
        let (record, actor) = self.entitled_dossier(code, asker).await?;
        let provider: &dyn PaymentProvider = match input.provider.as_str() {
            "counter" => &AtCounter,
            other => return Err(Error::invalid("provider", format!("{other:?}: the providers are counter"))),
        };
        if !provider.may_record(actor) {
            return Err(Error::Forbidden {
                detail: format!("payments at the {} are recorded by the office", provider.name()),
            });
        }
        if input.amount_vnd <= 0 || input.amount_vnd > record.fee_vnd - record.paid_vnd {
            return Err(Error::unprocessable(
                "amount_vnd",
                format!(
                    "{} VND is due ({} of {} paid)",
                    record.fee_vnd - record.paid_vnd,
                    record.paid_vnd,
                    record.fee_vnd
                ),
            ));
        }
        let reference = input.reference.trim();
        if reference.is_empty() || reference.chars().count() > 100 {
            return Err(Error::unprocessable("reference", "the receipt number: 1 to 100 characters"));
        }
        let payment =
            NewPayment { provider: provider.name(), amount_vnd: input.amount_vnd, reference: reference.to_owned() };
        self.store.add_payment(record.id, &payment, actor.user_id()).await?;
        let after = self.found(&parse_code(code)?).await?;
        self.application_view(after, actor).await
    }
}

/// Writes `bytes` as `dir/ab/abcdef…` unless a file of that content is already there.
async fn keep(dir: &std::path::Path, sha256: &str, bytes: &[u8]) -> Result<()> {
    let folder = dir.join(&sha256[..2]);
    let path = folder.join(sha256);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(());
    }
    let io = |e: std::io::Error| Error::Internal { detail: format!("keeping a document in {}: {e}", folder.display()) };
    tokio::fs::create_dir_all(&folder).await.map_err(io)?;
    let partial = folder.join(format!(".{sha256}.{}", std::process::id()));
    tokio::fs::write(&partial, bytes).await.map_err(io)?;
    tokio::fs::rename(&partial, &path).await.map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::media_type_of;

    #[test]
    fn types_are_read_from_content() {
        assert_eq!(media_type_of(b"%PDF-1.4\n1 0 obj\n%%EOF\n"), Some("application/pdf"));
        assert_eq!(media_type_of(b"%PDF-1.4\n1 0 obj\n"), None, "a PDF cut short");
        assert_eq!(media_type_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0"), Some("image/png"));
        assert_eq!(media_type_of(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0xFF, 0xD9]), Some("image/jpeg"));
        assert_eq!(media_type_of(b"MZ\x90\0 an executable called scan.pdf"), None);
        assert_eq!(media_type_of(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(media_type_of(b""), None);
    }
}
