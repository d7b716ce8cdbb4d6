//! A dossier (hồ sơ) of the online land service, as SOLA models an application: its code
//! and the states it moves through, each move made by the citizen or by the office.
//!
//! ```text
//! submitted ─receive─► received ─review─► in_review ─approve─► approved ─issue─► result_issued ─close─► closed
//!                                            │  ▲
//!                                 requisition│  │resubmit (the citizen)
//!                                            ▼  │
//!                                        requisitioned
//! refuse: from received, in_review or requisitioned (with a reason)
//! withdraw (the citizen): any state before approved
//! suspend (a dispute notice): received, in_review or requisitioned → suspended; resume → where it was
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a dossier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Sent by the citizen, not yet looked at.
    Submitted,
    /// Accepted as complete: the clock runs from the next working day.
    Received,
    /// Being checked (population register, certificate, parcel).
    InReview,
    /// Papers missing: the citizen is asked for them; the clock stops.
    Requisitioned,
    /// The change is approved and applied to the register.
    Approved,
    /// The endorsement or the new certificate is ready.
    ResultIssued,
    /// Handed over.
    Closed,
    /// Refused, with the reason.
    Refused,
    /// Withdrawn by the citizen.
    Withdrawn,
    /// Stopped while a dispute notice stands.
    Suspended,
}

/// What moves a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The office accepts the dossier as complete (receipt, appointment date).
    Receive,
    /// The office starts checking it.
    Review,
    /// The office asks for missing papers.
    Requisition,
    /// The citizen sends them.
    Resubmit,
    /// The office approves: the change is applied.
    Approve,
    /// The result is ready.
    Issue,
    /// The result is handed over.
    Close,
    /// The office refuses.
    Refuse,
    /// The citizen withdraws.
    Withdraw,
    /// A dispute notice arrived.
    Suspend,
    /// It was lifted.
    Resume,
}

/// Who takes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// The applicant.
    Citizen,
    /// A registrar of the dossier's ward (or an admin).
    Office,
}

impl Step {
    /// Every step, for parsing and documentation.
    pub const ALL: [Step; 11] = [
        Step::Receive,
        Step::Review,
        Step::Requisition,
        Step::Resubmit,
        Step::Approve,
        Step::Issue,
        Step::Close,
        Step::Refuse,
        Step::Withdraw,
        Step::Suspend,
        Step::Resume,
    ];

    /// The step's name in URLs (`POST /v1/applications/{code}/{step}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Receive => "receive",
            Step::Review => "review",
            Step::Requisition => "requisition",
            Step::Resubmit => "resubmit",
            Step::Approve => "approve",
            Step::Issue => "issue",
            Step::Close => "close",
            Step::Refuse => "refuse",
            Step::Withdraw => "withdraw",
            Step::Suspend => "suspend",
            Step::Resume => "resume",
        }
    }

    /// A step by its name.
    pub fn parse(text: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Who may take it.
    pub fn by(self) -> By {
        match self {
            Step::Resubmit | Step::Withdraw => By::Citizen,
            _ => By::Office,
        }
    }

    /// Whether the step must say why (a refusal, a requisition's missing papers, a
    /// suspension's notice).
    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Refuse | Step::Requisition | Step::Suspend)
    }
}

impl State {
    /// Whether nothing more happens to the dossier.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::Refused | State::Withdrawn)
    }

    /// Whether the processing clock runs (received and not stopped).
    pub fn clock_runs(self) -> bool {
        matches!(self, State::Received | State::InReview | State::Approved)
    }

    /// The state after `step`, given where a suspended dossier was (`before_suspension`);
    /// an error naming the dossier's state when the step does not apply.
    pub fn after(self, step: Step, before_suspension: Option<State>) -> Result<State> {
        use State as S;
        use Step as T;
        let next = match (self, step) {
            (S::Submitted, T::Receive) => Some(S::Received),
            (S::Received, T::Review) => Some(S::InReview),
            (S::Received | S::InReview, T::Requisition) => Some(S::Requisitioned),
            (S::Requisitioned, T::Resubmit) => Some(S::InReview),
            (S::InReview, T::Approve) => Some(S::Approved),
            (S::Approved, T::Issue) => Some(S::ResultIssued),
            (S::ResultIssued, T::Close) => Some(S::Closed),
            (S::Received | S::InReview | S::Requisitioned, T::Refuse) => Some(S::Refused),
            (S::Submitted | S::Received | S::InReview | S::Requisitioned | S::Suspended, T::Withdraw) => {
                Some(S::Withdrawn)
            }
            (S::Received | S::InReview | S::Requisitioned, T::Suspend) => Some(S::Suspended),
            (S::Suspended, T::Resume) => before_suspension,
            _ => None,
        };
        next.ok_or(Error::Malformed {
            field: "step",
            expected: "a step that applies to the dossier's state",
            got: format!("{} when the dossier is {}", step.as_str(), self),
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            State::Submitted => "submitted",
            State::Received => "received",
            State::InReview => "in_review",
            State::Requisitioned => "requisitioned",
            State::Approved => "approved",
            State::ResultIssued => "result_issued",
            State::Closed => "closed",
            State::Refused => "refused",
            State::Withdrawn => "withdrawn",
            State::Suspended => "suspended",
        };
        f.write_str(name)
    }
}

/// A dossier's human code, `CT-2026-000123`: Cần Thơ, the year submitted, a number.
///
/// ```
/// use diaba_core::application::DossierCode;
/// let code = DossierCode::new(2026, 123);
/// assert_eq!(code.as_str(), "CT-2026-000123");
/// assert_eq!(DossierCode::parse("ct-2026-000123").unwrap(), code);
/// assert!(DossierCode::parse("CT-26-123").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DossierCode(String);

impl DossierCode {
    /// The code of dossier `number` of `year`.
    pub fn new(year: i32, number: u32) -> Self {
        Self(format!("CT-{year:04}-{number:06}"))
    }

    /// Reads a code in any case.
    pub fn parse(text: &str) -> Result<Self> {
        let upper = text.trim().to_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        let ok = matches!(parts.as_slice(), ["CT", year, number]
            if year.len() == 4 && number.len() == 6
                && year.bytes().chain(number.bytes()).all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Self(upper))
        } else {
            Err(Error::Malformed {
                field: "code",
                expected: "a dossier code such as CT-2026-000123",
                got: text.chars().take(32).collect(),
            })
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DossierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_and_a_requisition_round() {
        let mut state = State::Submitted;
        for step in
            [Step::Receive, Step::Review, Step::Requisition, Step::Resubmit, Step::Approve, Step::Issue, Step::Close]
        {
            state = state.after(step, None).unwrap();
        }
        assert_eq!(state, State::Closed);
        assert!(state.is_final());
    }

    #[test]
    fn steps_that_do_not_apply_are_refused_with_the_state() {
        let error = State::Approved.after(Step::Withdraw, None).unwrap_err().to_string();
        assert!(error.contains("withdraw when the dossier is approved"), "{error}");
        assert!(State::Closed.after(Step::Refuse, None).is_err());
        assert!(State::Submitted.after(Step::Approve, None).is_err(), "nothing is approved unreceived");
    }

    #[test]
    fn a_suspension_resumes_where_it_stopped_and_stops_the_clock() {
        let suspended = State::InReview.after(Step::Suspend, None).unwrap();
        assert!(!suspended.clock_runs());
        assert_eq!(suspended.after(Step::Resume, Some(State::InReview)).unwrap(), State::InReview);
        assert!(suspended.after(Step::Approve, None).is_err());
        assert_eq!(suspended.after(Step::Withdraw, None).unwrap(), State::Withdrawn);
    }

    #[test]
    fn the_citizen_resubmits_and_withdraws_the_office_does_the_rest() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
            let citizen = matches!(step, Step::Resubmit | Step::Withdraw);
            assert_eq!(step.by() == By::Citizen, citizen, "{step:?}");
        }
        assert!(Step::Refuse.needs_reason() && !Step::Approve.needs_reason());
    }
}
