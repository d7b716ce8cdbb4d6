//! Roles and their scopes (DESIGN §10).

use serde::Serialize;

/// What a token holder may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Community digital team: submits household addresses in assigned wards.
    Collector,
    /// Land office: parcels, owners, verifies addresses, in assigned wards.
    Registrar,
    /// Users and tokens; everything, everywhere.
    Admin,
    /// A gauge or its gateway: writes observations to its datastreams, nothing else.
    Sensor,
}

impl Role {
    /// The database/JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Registrar => "registrar",
            Role::Admin => "admin",
            Role::Sensor => "sensor",
        }
    }

    /// Reads the database/JSON name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "collector" => Some(Role::Collector),
            "registrar" => Some(Role::Registrar),
            "admin" => Some(Role::Admin),
            "sensor" => Some(Role::Sensor),
            _ => None,
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("unknown role {text:?}"))
    }
}

/// Something a caller may or may not do in a ward: every authorization decision of the
/// register is one [`Caller::may`] over one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See personal data (owners, household heads, personal ID numbers) of a record.
    SeePersonalData,
    /// Register, correct, split or merge parcels.
    WriteParcels,
    /// Submit household addresses found in the field.
    SubmitAddresses,
    /// List, verify and reject household submissions.
    ReviewAddresses,
}

impl Action {
    /// The roles that may do it at all (in their wards; admins everywhere).
    pub fn roles(self) -> &'static [Role] {
        match self {
            Action::SeePersonalData | Action::WriteParcels | Action::ReviewAddresses => &[Role::Registrar, Role::Admin],
            Action::SubmitAddresses => &[Role::Collector, Role::Admin],
        }
    }

    /// What is refused, for the 403 sentence ("a collector cannot change parcels").
    fn refused(self) -> &'static str {
        match self {
            Action::SeePersonalData => "see personal data",
            Action::WriteParcels => "change parcels",
            Action::SubmitAddresses => "submit households (a registrar reviews them)",
            Action::ReviewAddresses => "review submissions",
        }
    }

    /// Whether the ward of the record matters, or the role alone decides.
    fn ward_scoped(self) -> bool {
        match self {
            // Personal data goes only to registrars of the record's ward (and admins).
            Action::SeePersonalData | Action::WriteParcels | Action::SubmitAddresses | Action::ReviewAddresses => true,
        }
    }
}

/// Why a caller may not do something, in a sentence for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Denied {
    /// The sentence.
    pub detail: String,
}

/// An authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// User id.
    pub user_id: i64,
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Ward codes (current, 2025) the caller may act in; admins act everywhere.
    pub wards: Vec<String>,
}

impl Caller {
    /// True when the caller's scope includes `ward`.
    pub fn covers_ward(&self, ward: &str) -> bool {
        self.role == Role::Admin || self.wards.iter().any(|w| w == ward)
    }

    /// True for registrars and admins.
    pub fn is_registrar(&self) -> bool {
        matches!(self.role, Role::Registrar | Role::Admin)
    }

    /// Whether the caller may do `action` on a record of `ward`.
    ///
    /// ```
    /// use diaba_core::auth::{Action, Caller, Role};
    /// let registrar = Caller { user_id: 1, name: "r".into(), role: Role::Registrar, wards: vec!["31135".into()] };
    /// assert!(registrar.may(Action::WriteParcels, "31135"));
    /// assert!(!registrar.may(Action::WriteParcels, "31120"));
    /// assert!(!registrar.may(Action::SubmitAddresses, "31135"));
    /// ```
    pub fn may(&self, action: Action, ward: &str) -> bool {
        self.check(action, ward).is_ok()
    }

    /// As [`Caller::may`], with the reason when not.
    pub fn check(&self, action: Action, ward: &str) -> Result<(), Denied> {
        if !action.roles().contains(&self.role) {
            return Err(Denied { detail: format!("a {} cannot {}", self.role.as_str(), action.refused()) });
        }
        if action.ward_scoped() && !self.covers_ward(ward) {
            return Err(Denied { detail: format!("ward {ward} is not among your wards") });
        }
        Ok(())
    }
}

impl Caller {
    /// The wards a listing for `action` covers: `ward` when asked for (and the caller may
    /// act there), else all of the caller's; `None` stands for every ward (admins).
    pub fn listing_wards(&self, action: Action, ward: Option<&str>) -> Result<Option<Vec<String>>, Denied> {
        match ward {
            Some(ward) => {
                self.check(action, ward)?;
                Ok(Some(vec![ward.to_owned()]))
            }
            None => Ok((self.role != Role::Admin).then(|| self.wards.clone())),
        }
    }
}

/// Whether a caller (or the public, `None`) may do `action` on a record of `ward`.
pub fn may(caller: Option<&Caller>, action: Action, ward: &str) -> bool {
    caller.is_some_and(|c| c.may(action, ward))
}

/// A citizen signed in through OpenID Connect (the national e-ID in production): who the
/// provider says they are. They see and act on their own dossiers only.
#[derive(Debug, Clone, Serialize)]
pub struct Citizen {
    /// The provider's subject (`sub`): stable for this person at this provider.
    pub subject: String,
    /// Their name, as the provider gives it.
    pub name: String,
    /// Their 12-digit personal ID, from the provider's claim (links them to parties).
    pub personal_id: Option<String>,
    /// Their e-mail address, when the provider gives one.
    pub email: Option<String>,
}

/// Who takes an action on a dossier: a staff member with a bearer token, or a citizen.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A registrar or admin.
    Staff(&'a Caller),
    /// A signed-in citizen.
    Citizen(&'a Citizen),
}

impl Actor<'_> {
    /// The staff member's user id (`None` for a citizen).
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::Staff(c) => Some(c.user_id),
            Actor::Citizen(_) => None,
        }
    }

    /// The citizen's subject (`None` for staff).
    pub fn subject(&self) -> Option<&str> {
        match self {
            Actor::Staff(_) => None,
            Actor::Citizen(c) => Some(&c.subject),
        }
    }

    /// The staff member, for records that only staff write.
    pub fn staff(&self) -> Option<&Caller> {
        match self {
            Actor::Staff(c) => Some(c),
            Actor::Citizen(_) => None,
        }
    }
}
