//! The land service "register a change of the certificate holder's information": dossiers
//! received (at the counter for now; online with citizen sign-in next), moved through their
//! states by the office with If-Match, due dates in Vietnamese working days, the population
//! register checked for the holder, and approval applying the change to the register.
//! Dossiers hold personal data: only registrars of their ward (and admins) see them; anyone
//! with the code sees the state and dates.

use crate::Register;
use crate::error::{Error, Result};
use crate::parcels::expected_version;
use diaba_core::application::{By, DossierCode, State, Step};
use diaba_core::auth::{Action, Caller};
use diaba_core::workdays::{due_date, working_days_between};
use diaba_core::{CertificateSerial, PersonalId, today_in_vietnam};
use diaba_store::applications::{
    ApplicationRecord, EventRecord, HolderChange, Move, MoveRefused, NewApplication, WardFigures,
};
use serde::{Deserialize, Serialize};

/// Working days allowed for a holder change (Decree 151/2025).
pub const LIMIT_DAYS: i32 = 4;
/// The same in difficult communes (`Limits::difficult_wards`).
pub const DIFFICULT_LIMIT_DAYS: i32 = 14;
/// The fee of the procedure when the city's table has none (VND; set per procedure later).
pub const FEE_VND: i64 = 0;
/// Most dossiers one list answers.
const MAX_LIST: i64 = 200;

/// A dossier as submitted at the counter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// The certificate whose holder's details change.
    pub certificate: String,
    /// The holder (a party on that certificate).
    pub party_id: i64,
    /// Who applies (the holder or their representative).
    pub applicant_name: String,
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

/// A step's body: why, or what papers are missing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The reason (refusal, suspension) or the missing papers (requisition).
    pub note: Option<String>,
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
    /// The holder against the population register, as checked on receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<serde_json::Value>,
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

fn registrar_of(caller: Option<&Caller>, ward: &str) -> Result<Caller> {
    let caller = caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
    caller.check(Action::WriteParcels, ward)?;
    Ok(caller.clone())
}

fn parse_code(code: &str) -> Result<DossierCode> {
    DossierCode::parse(code).map_err(|e| Error::invalid("code", e.to_string()))
}

fn state_of(record: &ApplicationRecord) -> Result<State> {
    serde_json::from_value(serde_json::Value::String(record.state.clone()))
        .map_err(|e| Error::Internal { detail: format!("dossier {} has state {:?}: {e}", record.code, record.state) })
}

impl Register {
    /// Records a dossier received at the counter (registrars of the parcel's ward).
    pub async fn submit_application(
        &self,
        input: ApplicationInput,
        caller: Option<&Caller>,
    ) -> Result<ApplicationView> {
        let serial =
            CertificateSerial::parse(&input.certificate).map_err(|e| Error::invalid("certificate", e.to_string()))?;
        let certificate = self
            .store
            .certificate(serial.as_str())
            .await?
            .ok_or_else(|| Error::unprocessable("certificate", format!("no certificate {serial}")))?;
        let ward = certificate.parcels.first().map(|p| p.ward_code.clone()).unwrap_or_default();
        let caller = registrar_of(caller, &ward)?;
        let holders = self.store.certificate_holders(certificate.id).await?;
        if !holders.iter().any(|r| r.party_id == input.party_id) {
            return Err(Error::unprocessable(
                "party_id",
                format!("party {} holds no right attested by certificate {serial}", input.party_id),
            ));
        }
        check_changes(&input.changes)?;
        for (field, text, max) in [("applicant_name", &input.applicant_name, 200), ("reason", &input.reason, 2000)] {
            if text.trim().is_empty() || text.chars().count() > max {
                return Err(Error::unprocessable(field, format!("{field}: 1 to {max} characters")));
            }
        }
        let limit_days = if self.limits.difficult_wards.contains(&ward) { DIFFICULT_LIMIT_DAYS } else { LIMIT_DAYS };
        let new = NewApplication {
            channel: "counter",
            ward_code: ward,
            certificate_id: certificate.id,
            party_id: input.party_id,
            applicant_name: input.applicant_name.trim().to_owned(),
            changes: serde_json::to_value(&input.changes).map_err(|e| Error::Internal { detail: e.to_string() })?,
            reason: input.reason.trim().to_owned(),
            limit_days,
            fee_vnd: FEE_VND,
            year: chrono::Datelike::year(&today_in_vietnam()),
        };
        let record = self.store.create_application(new, &caller).await?;
        self.application_view(record).await
    }

    /// A dossier, for registrars of its ward.
    pub async fn application(&self, code: &str, caller: Option<&Caller>) -> Result<ApplicationView> {
        let code = parse_code(code)?;
        let record = self.found(&code).await?;
        registrar_of(caller, &record.ward_code)?;
        self.application_view(record).await
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

    /// Dossiers of the caller's wards, by state, or overdue.
    pub async fn applications(&self, q: ApplicationSearch, caller: Option<&Caller>) -> Result<Vec<ApplicationRecord>> {
        let caller =
            caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
        let wards = caller.listing_wards(Action::WriteParcels, q.ward.as_deref())?;
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
        let caller =
            caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
        let wards = caller.listing_wards(Action::WriteParcels, ward)?;
        let today = today_in_vietnam();
        let mut next = today.succ_opt().unwrap_or(today);
        while !diaba_core::workdays::is_working_day(next) {
            next = next.succ_opt().unwrap_or(next);
        }
        Ok(self.store.application_figures(wards.as_deref(), today, next).await?)
    }

    /// Takes `step` on dossier `code` at the version the caller saw (If-Match).
    pub async fn application_step(
        &self,
        code: &str,
        step: &str,
        if_match: Option<&str>,
        input: StepInput,
        caller: Option<&Caller>,
    ) -> Result<ApplicationView> {
        let code = parse_code(code)?;
        let step = Step::parse(step).ok_or_else(|| {
            let known: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
            Error::NotFound { detail: format!("no step {step:?}; steps are {}", known.join(", ")) }
        })?;
        let record = self.found(&code).await?;
        // At the counter the office records the citizen's own steps (resubmission, withdrawal).
        let caller = registrar_of(caller, &record.ward_code)?;
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
        let note = input.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
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
        };
        match step {
            // The clock starts again from a complete dossier, and the office checks the
            // population register itself (once per receipt, not on every reading).
            Step::Receive | Step::Resubmit => {
                change.clock = Some((today, due_date(today, limit)));
                let verified = self.verify_party(&record.party_id.to_string(), Some(&caller)).await.ok();
                change.population_check = verified.and_then(|v| serde_json::to_value(v).ok());
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
            Step::Approve => change.apply = Some(self.holder_change(&record, today).await?),
            _ => {}
        }
        match self.store.move_application(code.as_str(), expected, change, &caller).await? {
            Ok(after) => self.application_view(after).await,
            Err(MoveRefused::NotFound) => Err(Error::not_found(format!("no dossier {code}"))),
            Err(MoveRefused::Stale { current, state }) => Err(Error::Stale {
                detail: format!("dossier {code} is at version {current} ({state}), not {expected}: reload it"),
            }),
        }
    }

    async fn found(&self, code: &DossierCode) -> Result<ApplicationRecord> {
        self.store.application(code.as_str()).await?.ok_or_else(|| Error::not_found(format!("no dossier {code}")))
    }

    /// What approval writes: the holder's new details and the endorsement's text.
    async fn holder_change(&self, record: &ApplicationRecord, today: chrono::NaiveDate) -> Result<HolderChange> {
        let changes: Changes = serde_json::from_value(record.changes.clone())
            .map_err(|e| Error::Internal { detail: format!("dossier {} changes: {e}", record.code) })?;
        let party = self.store.party(record.party_id).await?.ok_or_else(|| Error::not_found("the holder is gone"))?;
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
        })
    }

    async fn application_view(&self, record: ApplicationRecord) -> Result<ApplicationView> {
        let events = self.store.application_events(record.id).await?;
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
        let population = record.population_check.clone();
        Ok(ApplicationView { record, events, working_days_left, population })
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
