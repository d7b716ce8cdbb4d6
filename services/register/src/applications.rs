//! The land service "register a change of the certificate holder's information": dossiers
//! sent online by signed-in citizens or received at the counter, moved through their states
//! with If-Match, due dates in Vietnamese working days, the population register checked for
//! the holder, the fee paid, and approval applying the change to the register (an
//! endorsement, or a new certificate in place of the old). Dossiers hold personal data:
//! only registrars of their ward (and admins) and the citizen who applied see them; anyone
//! with the code sees the state and dates. Every step owes notifications (outbox).

use crate::Register;
use crate::error::{Error, Result};
use crate::parcels::expected_version;
use diaba_core::application::{By, DossierCode, State, Step};
use diaba_core::auth::{Action, Actor, Caller, Citizen};
use diaba_core::workdays::{due_date, working_days_between};
use diaba_core::{CertificateSerial, PersonalId, today_in_vietnam};
use diaba_store::applications::{
    ApplicationRecord, EventRecord, HolderChange, Move, MoveRefused, NewApplication, NewCertificate, WardFigures,
};
use diaba_store::documents::DocumentRecord;
use serde::{Deserialize, Serialize};

/// Working days allowed for a holder change (Decree 151/2025).
pub const LIMIT_DAYS: i32 = 4;
/// The same in difficult communes (`Limits::difficult_wards`).
pub const DIFFICULT_LIMIT_DAYS: i32 = 14;
/// The procedure's name in fees and dossiers.
pub const PROCEDURE: &str = "holder_change";
/// Who issues new certificates (the city's land registration office).
pub const ISSUER: &str = "Văn phòng đăng ký đất đai thành phố Cần Thơ";
/// Most dossiers one list answers.
const MAX_LIST: i64 = 200;

/// A dossier (form Mẫu 18), sent online by the holder or received at the counter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// The certificate whose holder's details change.
    pub certificate: String,
    /// The holder (a party on that certificate); online, the party whose personal ID is the
    /// signed-in citizen's when absent.
    pub party_id: Option<i64>,
    /// Who applies (the holder or their representative); online, the signed-in citizen.
    pub applicant_name: Option<String>,
    /// Where notifications go (the provider's address when absent).
    pub contact_email: Option<String>,
    /// The holder's new details.
    pub changes: Changes,
    /// Why, e.g. "đổi Căn cước".
    pub reason: String,
}

/// The holder's new details; at least one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// New full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New 12-digit personal ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_id: Option<String>,
    /// New permanent address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A step's body: why, or what papers are missing; on approval, the outcome.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The reason (refusal, suspension) or the missing papers (requisition).
    pub note: Option<String>,
    /// On approval: `endorsement` (the default) or `new_certificate`.
    pub outcome: Option<String>,
    /// On approval with a new certificate: its serial.
    pub new_certificate: Option<String>,
}

/// Who asks about a dossier: a staff member (bearer token), a signed-in citizen, or the
/// public (neither).
#[derive(Debug, Clone, Copy, Default)]
pub struct Asker<'a> {
    /// A registrar or admin.
    pub staff: Option<&'a Caller>,
    /// A citizen signed in through OpenID Connect.
    pub citizen: Option<&'a Citizen>,
}

impl<'a> Asker<'a> {
    /// Who may see and act on `record`: a registrar of its ward, or the citizen who applied.
    fn entitled(self, record: &ApplicationRecord) -> Result<Actor<'a>> {
        if let Some(staff) = self.staff {
            staff.check(Action::WriteParcels, &record.ward_code)?;
            return Ok(Actor::Staff(staff));
        }
        match self.citizen {
            Some(citizen) if record.applicant_subject.as_deref() == Some(citizen.subject.as_str()) => {
                Ok(Actor::Citizen(citizen))
            }
            Some(_) => Err(Error::Forbidden { detail: format!("dossier {} is not one of yours", record.code) }),
            None => Err(signed_out()),
        }
    }
}

fn signed_out() -> Error {
    Error::Unauthenticated { detail: "sign in (citizens) or send a bearer token (staff)".into() }
}

/// The certificate a dossier is about, as its applicant may see it.
#[derive(Debug, Serialize)]
pub struct CertificateSummary {
    /// Serial.
    pub serial: String,
    /// valid, endorsed, replaced or revoked.
    pub status: String,
    /// The certificate that replaced it.
    pub replaced_by: Option<String>,
    /// The parcels it covers (ward, sheet, number).
    pub parcels: Vec<diaba_store::parties::CoveredParcel>,
    /// What was endorsed on it, oldest first (date and text; the office's staff are not named).
    pub endorsements: Vec<EndorsementLine>,
}

/// One endorsement.
#[derive(Debug, Serialize)]
pub struct EndorsementLine {
    /// Its date.
    pub endorsed_on: chrono::NaiveDate,
    /// Its text.
    pub text: String,
}

/// `GET /v1/applications` as asked.
#[derive(Debug, Default, Deserialize)]
pub struct ApplicationSearch {
    /// Ward (one of the caller's).
    pub ward: Option<String>,
    /// State.
    pub status: Option<String>,
    /// `true`: only open dossiers past their due date.
    pub overdue: Option<String>,
}

/// A dossier for the office: everything, its steps, and the population register's answer
/// about the holder.
#[derive(Debug, Serialize)]
pub struct ApplicationView {
    /// The dossier.
    #[serde(flatten)]
    pub record: ApplicationRecord,
    /// Its steps.
    pub events: Vec<EventRecord>,
    /// Working days left before it falls due (negative: late), while the clock runs.
    pub working_days_left: Option<i64>,
    /// The holder against the population register, as checked on receipt (office only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<serde_json::Value>,
    /// The documents attached.
    pub documents: Vec<DocumentRecord>,
    /// The certificate concerned (and, once issued, the one that replaced it).
    pub certificates: Vec<CertificateSummary>,
}

impl ApplicationView {
    /// The version (ETag).
    pub fn version(&self) -> i32 {
        self.record.version
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.record.code
    }
}

/// What anyone with the code may know: state and dates, nothing personal.
#[derive(Debug, Serialize)]
pub struct PublicStatus {
    /// The code.
    pub code: String,
    /// The state.
    pub state: String,
    /// The procedure.
    pub procedure: String,
    /// Submitted.
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    /// Received complete.
    pub received_on: Option<chrono::NaiveDate>,
    /// Due.
    pub due_on: Option<chrono::NaiveDate>,
    /// The states it went through, with when.
    pub timeline: Vec<TimelineEntry>,
}

/// One state reached.
#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The state reached.
    pub state: String,
}

pub(crate) fn parse_code(code: &str) -> Result<DossierCode> {
    DossierCode::parse(code).map_err(|e| Error::invalid("code", e.to_string()))
}

pub(crate) fn state_of(record: &ApplicationRecord) -> Result<State> {
    serde_json::from_value(serde_json::Value::String(record.state.clone()))
        .map_err(|e| Error::Internal { detail: format!("dossier {} has state {:?}: {e}", record.code, record.state) })
}

fn text_field(field: &str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(Error::unprocessable(field, format!("{field}: 1 to {max} characters")));
    }
    Ok(text.to_owned())
}

fn email_field(email: Option<&str>) -> Result<Option<String>> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let plausible = email.len() <= 254
        && email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';');
    if !plausible {
        return Err(Error::unprocessable("contact_email", format!("{email:?} is not an e-mail address")));
    }
    Ok(Some(email.to_owned()))
}

impl Register {
    /// Records a dossier: sent online by a signed-in holder of the certificate, or received
    /// at the counter by a registrar of the parcel's ward.
    pub async fn submit_application(&self, input: ApplicationInput, asker: Asker<'_>) -> Result<ApplicationView> {
        let serial =
            CertificateSerial::parse(&input.certificate).map_err(|e| Error::invalid("certificate", e.to_string()))?;
        let certificate = self
            .store
            .certificate(serial.as_str())
            .await?
            .ok_or_else(|| Error::unprocessable("certificate", format!("no certificate {serial}")))?;
        if certificate.status == "replaced" || certificate.status == "revoked" {
            return Err(Error::unprocessable(
                "certificate",
                format!("certificate {serial} is {}: apply with the certificate in force", certificate.status),
            ));
        }
        let ward = certificate.parcels.first().map(|p| p.ward_code.clone()).unwrap_or_default();
        let holders = self.store.certificate_holders(certificate.id).await?;
        check_changes(&input.changes)?;
        let reason = text_field("reason", &input.reason, 2000)?;
        let (actor, party_id, applicant_name, channel) = match (asker.staff, asker.citizen) {
            (Some(staff), _) => {
                staff.check(Action::WriteParcels, &ward)?;
                let party = input.party_id.ok_or_else(|| Error::unprocessable("party_id", "which holder changes"))?;
                let name = text_field("applicant_name", input.applicant_name.as_deref().unwrap_or(""), 200)?;
                (Actor::Staff(staff), party, name, "counter")
            }
            (None, Some(citizen)) => {
                let party = self.citizens_party(citizen, &holders, input.party_id, &serial).await?;
                (Actor::Citizen(citizen), party, citizen.name.clone(), "online")
            }
            (None, None) => return Err(signed_out()),
        };
        if !holders.iter().any(|r| r.party_id == party_id) {
            return Err(Error::unprocessable(
                "party_id",
                format!("party {party_id} holds no right attested by certificate {serial}"),
            ));
        }
        let contact_email =
            email_field(input.contact_email.as_deref().or(asker.citizen.and_then(|c| c.email.as_deref())))?;
        let limit_days = if self.limits.difficult_wards.contains(&ward) { DIFFICULT_LIMIT_DAYS } else { LIMIT_DAYS };
        let mut new = NewApplication {
            channel,
            ward_code: ward,
            certificate_id: certificate.id,
            party_id,
            applicant_name,
            changes: serde_json::to_value(&input.changes).map_err(|e| Error::Internal { detail: e.to_string() })?,
            reason,
            limit_days,
            fee_vnd: self.service.fee(PROCEDURE),
            year: chrono::Datelike::year(&today_in_vietnam()),
            applicant_subject: asker.citizen.filter(|_| asker.staff.is_none()).map(|c| c.subject.clone()),
            contact_email,
            notices: Vec::new(),
        };
        new.notices = self.service.notices_of_submission(&new);
        let record = self.store.create_application(new, actor).await?;
        self.application_view(record, actor).await
    }

    /// The holder a signed-in citizen applies as: the party on the certificate whose
    /// personal ID is the one the provider vouches for.
    async fn citizens_party(
        &self,
        citizen: &Citizen,
        holders: &[diaba_store::parties::RightRecord],
        asked: Option<i64>,
        serial: &CertificateSerial,
    ) -> Result<i64> {
        let id = citizen.personal_id.as_deref().ok_or_else(|| Error::Forbidden {
            detail: "your sign-in carries no personal ID: apply at the counter".into(),
        })?;
        let parties = self.store.find_parties(Some(id), None, None, 20).await?;
        // Only the current number links: an earlier one may since belong to no one else,
        // but the provider vouches for the current one.
        let mine: Vec<i64> = parties
            .iter()
            .filter(|p| p.personal_id.as_deref() == Some(id) && holders.iter().any(|r| r.party_id == p.id))
            .map(|p| p.id)
            .collect();
        match (asked, mine.as_slice()) {
            (Some(party), _) if mine.contains(&party) => Ok(party),
            (None, [party]) => Ok(*party),
            _ => Err(Error::Forbidden {
                detail: format!("certificate {serial} names no holder with your personal ID: apply at the counter"),
            }),
        }
    }

    /// A dossier, for registrars of its ward and the citizen who applied.
    pub async fn application(&self, code: &str, asker: Asker<'_>) -> Result<ApplicationView> {
        let code = parse_code(code)?;
        let record = self.found(&code).await?;
        let actor = asker.entitled(&record)?;
        self.application_view(record, actor).await
    }

    /// State and dates of a dossier, for anyone with its code.
    pub async fn application_status(&self, code: &str) -> Result<PublicStatus> {
        let code = parse_code(code)?;
        let record = self.found(&code).await?;
        let timeline = self
            .store
            .application_events(record.id)
            .await?
            .into_iter()
            .map(|e| TimelineEntry { at: e.at, state: e.to_state })
            .collect();
        Ok(PublicStatus {
            code: record.code,
            state: record.state,
            procedure: record.procedure,
            submitted_at: record.submitted_at,
            received_on: record.received_on,
            due_on: record.due_on,
            timeline,
        })
    }

    /// Dossiers of the caller's wards, by state, or overdue; a citizen's own dossiers.
    pub async fn applications(&self, q: ApplicationSearch, asker: Asker<'_>) -> Result<Vec<ApplicationRecord>> {
        let caller = match (asker.staff, asker.citizen) {
            (Some(staff), _) => staff,
            (None, Some(citizen)) => return Ok(self.store.applications_of_citizen(&citizen.subject, MAX_LIST).await?),
            (None, None) => return Err(signed_out()),
        };
        let wards = caller.listing_wards(Action::WriteParcels, crate::ward_filter(q.ward.as_deref())?)?;
        if let Some(status) = q.status.as_deref() {
            serde_json::from_value::<State>(serde_json::Value::String(status.to_owned()))
                .map_err(|_| Error::invalid("status", format!("{status:?} is not a dossier state")))?;
        }
        let overdue = match q.overdue.as_deref() {
            None | Some("false") => None,
            Some("true") => Some(today_in_vietnam()),
            Some(other) => return Err(Error::invalid("overdue", format!("true or false, got {other:?}"))),
        };
        Ok(self.store.applications(wards.as_deref(), q.status.as_deref(), overdue, MAX_LIST).await?)
    }

    /// The office's figures per ward of the caller's: received, decided on time or late,
    /// overdue today, and due on the next working day (those whose applicants the office
    /// must notify a working day ahead).
    pub async fn application_figures(&self, ward: Option<&str>, caller: Option<&Caller>) -> Result<Vec<WardFigures>> {
        let caller = caller.ok_or_else(signed_out)?;
        let wards = caller.listing_wards(Action::WriteParcels, crate::ward_filter(ward)?)?;
        let today = today_in_vietnam();
        Ok(self
            .store
            .application_figures(wards.as_deref(), today, diaba_core::workdays::working_day_after(today))
            .await?)
    }

    /// Takes `step` on dossier `code` at the version the asker saw (If-Match): the office
    /// its steps, the citizen who applied theirs (resubmit, withdraw).
    pub async fn application_step(
        &self,
        code: &str,
        step: &str,
        if_match: Option<&str>,
        input: StepInput,
        asker: Asker<'_>,
    ) -> Result<ApplicationView> {
        let code = parse_code(code)?;
        let step = Step::parse(step).ok_or_else(|| {
            let known: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
            Error::NotFound { detail: format!("no step {step:?}; steps are {}", known.join(", ")) }
        })?;
        let record = self.found(&code).await?;
        // At the counter the office records the citizen's own steps (resubmission, withdrawal).
        let actor = asker.entitled(&record)?;
        if matches!(actor, Actor::Citizen(_)) && step.by() != By::Citizen {
            return Err(Error::Forbidden { detail: format!("the office takes the step {}", step.as_str()) });
        }
        let expected = expected_version(if_match)?;
        // The version first: a step taken since the caller looked is what they need to know
        // (the store checks again under the row lock).
        if record.version != expected {
            return Err(Error::Stale {
                detail: format!(
                    "dossier {code} is at version {} ({}), not {expected}: reload it",
                    record.version, record.state
                ),
            });
        }
        let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if step.needs_reason() && note.is_none() {
            return Err(Error::unprocessable(
                "note",
                format!("{} needs a note saying why (or what is missing)", step.as_str()),
            ));
        }
        let state = state_of(&record)?;
        let before = record.state_before_suspension.as_deref().and_then(|s| serde_json::from_value(s.into()).ok());
        let next = state.after(step, before).map_err(|e| Error::Conflict { detail: e.to_string() })?;
        let today = today_in_vietnam();
        let limit = u32::try_from(record.limit_days).unwrap_or(0);
        let mut change = Move {
            step: step.as_str(),
            by: if step.by() == By::Citizen { "citizen" } else { "office" },
            from_state: record.state.clone(),
            to_state: next.to_string(),
            note,
            clock: None,
            suspended_on: None,
            before_suspension: None,
            apply: None,
            decides: matches!(step, Step::Approve | Step::Refuse),
            population_check: None,
            notices: Vec::new(),
        };
        match step {
            // The clock starts again from a complete dossier, and the office checks the
            // population register itself (once per receipt, not on every reading).
            Step::Receive | Step::Resubmit => {
                change.clock = Some((today, due_date(today, limit)));
                // A citizen's resubmission keeps the office's last check; the office's next
                // receipt or resubmission at the counter checks again.
                if let Some(office) = asker.staff {
                    let verified = self.verify_party(&record.party_id.to_string(), Some(office)).await.ok();
                    change.population_check = verified.and_then(|v| serde_json::to_value(v).ok());
                }
            }
            Step::Suspend => {
                change.suspended_on = Some(Some(today));
                change.before_suspension = Some(Some(record.state.clone()));
            }
            // The days left when it stopped are given back from today.
            Step::Resume => {
                let left = match (record.suspended_on, record.due_on) {
                    (Some(stopped), Some(due)) => working_days_between(stopped, due),
                    _ => limit,
                };
                change.clock = Some((record.received_on.unwrap_or(today), due_date(today, left)));
                change.suspended_on = Some(None);
                change.before_suspension = Some(None);
            }
            Step::Approve => {
                if record.paid_vnd < record.fee_vnd {
                    return Err(Error::Conflict {
                        detail: format!(
                            "dossier {code}: the fee of {} VND is not paid ({} VND so far)",
                            record.fee_vnd, record.paid_vnd
                        ),
                    });
                }
                change.apply = Some(self.holder_change(&record, today, &input).await?);
            }
            _ => {}
        }
        change.notices = self.service.notices_of_step(&record, &change);
        match self.store.move_application(code.as_str(), expected, change, actor).await? {
            Ok(after) => self.application_view(after, actor).await,
            Err(MoveRefused::NotFound) => Err(Error::not_found(format!("no dossier {code}"))),
            Err(MoveRefused::Stale { current, state }) => Err(Error::Stale {
                detail: format!("dossier {code} is at version {current} ({state}), not {expected}: reload it"),
            }),
            Err(MoveRefused::OfficeOnly) => Err(Error::Forbidden { detail: "only the office approves".into() }),
        }
    }

    pub(crate) async fn found(&self, code: &DossierCode) -> Result<ApplicationRecord> {
        self.store.application(code.as_str()).await?.ok_or_else(|| Error::not_found(format!("no dossier {code}")))
    }

    /// The dossier `code` and who among the askers may act on it.
    pub(crate) async fn entitled_dossier<'a>(
        &self,
        code: &str,
        asker: Asker<'a>,
    ) -> Result<(ApplicationRecord, Actor<'a>)> {
        let record = self.found(&parse_code(code)?).await?;
        let actor = asker.entitled(&record)?;
        Ok((record, actor))
    }

    /// What approval writes: the holder's new details and the endorsement's text, or the
    /// new certificate.
    async fn holder_change(
        &self,
        record: &ApplicationRecord,
        today: chrono::NaiveDate,
        input: &StepInput,
    ) -> Result<HolderChange> {
        let changes: Changes = serde_json::from_value(record.changes.clone())
            .map_err(|e| Error::Internal { detail: format!("dossier {} changes: {e}", record.code) })?;
        let party = self.store.party(record.party_id).await?.ok_or_else(|| Error::not_found("the holder is gone"))?;
        let new_certificate = match (input.outcome.as_deref(), input.new_certificate.as_deref()) {
            (None | Some("endorsement"), None) => None,
            (Some("new_certificate"), Some(serial)) => {
                let serial = CertificateSerial::parse(serial)
                    .map_err(|e| Error::unprocessable("new_certificate", e.to_string()))?;
                if self.store.certificate(serial.as_str()).await?.is_some() {
                    return Err(Error::Conflict { detail: format!("certificate {serial} already exists") });
                }
                Some(NewCertificate { serial: serial.as_str().to_owned(), issuer: ISSUER.to_owned() })
            }
            (Some("new_certificate"), None) => {
                return Err(Error::unprocessable("new_certificate", "the new certificate's serial"));
            }
            (Some("endorsement") | None, Some(_)) => {
                return Err(Error::unprocessable("outcome", "a new serial goes with outcome new_certificate"));
            }
            (Some(other), _) => {
                return Err(Error::unprocessable("outcome", format!("endorsement or new_certificate, not {other:?}")));
            }
        };
        let mut parts = Vec::new();
        if let Some(name) = &changes.name {
            parts.push(format!("tên người sử dụng đất từ {} thành {name}", party.name));
        }
        if let Some(id) = &changes.personal_id {
            parts.push(format!("số định danh cá nhân thành {id}"));
        }
        if let Some(address) = &changes.address {
            parts.push(format!("địa chỉ thường trú thành {address}"));
        }
        let endorsement = format!("Đăng ký thay đổi {} theo hồ sơ số {}.", parts.join("; "), record.code);
        Ok(HolderChange {
            name: changes.name,
            personal_id: changes.personal_id,
            address: changes.address,
            endorsement,
            endorsed_on: today,
            new_certificate,
        })
    }

    pub(crate) async fn application_view(
        &self,
        record: ApplicationRecord,
        actor: Actor<'_>,
    ) -> Result<ApplicationView> {
        let mut events = self.store.application_events(record.id).await?;
        let state = state_of(&record)?;
        let working_days_left = match (state.clock_runs(), record.due_on) {
            (true, Some(due)) => {
                let today = today_in_vietnam();
                Some(if due >= today {
                    i64::from(working_days_between(today, due))
                } else {
                    -i64::from(working_days_between(due, today))
                })
            }
            _ => None,
        };
        let documents = self.store.documents(record.id).await?;
        let mut certificates = Vec::new();
        for serial in std::iter::once(&record.certificate).chain(record.new_certificate.as_ref()) {
            if let Some(c) = self.store.certificate(serial).await? {
                let endorsements = self.store.endorsements(c.id).await?;
                certificates.push(CertificateSummary {
                    serial: c.serial,
                    status: c.status,
                    replaced_by: c.replaced_by,
                    parcels: c.parcels,
                    endorsements: endorsements
                        .into_iter()
                        .map(|e| EndorsementLine { endorsed_on: e.endorsed_on, text: e.text })
                        .collect(),
                });
            }
        }
        // Staff identities and the office's own checks stay with the office.
        let population = match actor {
            Actor::Staff(_) => record.population_check.clone(),
            Actor::Citizen(_) => {
                for event in &mut events {
                    event.actor = None;
                }
                None
            }
        };
        Ok(ApplicationView { record, events, working_days_left, population, documents, certificates })
    }
}

/// At least one change, each well-formed.
fn check_changes(changes: &Changes) -> Result<()> {
    if changes.name.is_none() && changes.personal_id.is_none() && changes.address.is_none() {
        return Err(Error::unprocessable("changes", "name, personal_id or address: at least one new detail"));
    }
    for (field, value) in [("changes.name", &changes.name), ("changes.address", &changes.address)] {
        if value.as_ref().is_some_and(|v| v.trim().is_empty() || v.chars().count() > 200) {
            return Err(Error::unprocessable(field, format!("{field}: 1 to 200 characters")));
        }
    }
    if let Some(id) = &changes.personal_id {
        PersonalId::parse(id).map_err(|e| Error::unprocessable("changes.personal_id", e.to_string()))?;
    }
    Ok(())
}
