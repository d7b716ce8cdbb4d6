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
}

impl Role {
    /// The database/JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Registrar => "registrar",
            Role::Admin => "admin",
        }
    }

    /// Reads the database/JSON name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "collector" => Some(Role::Collector),
            "registrar" => Some(Role::Registrar),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
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

    /// True for registrars and admins: who may see owners and write parcels.
    pub fn is_registrar(&self) -> bool {
        matches!(self.role, Role::Registrar | Role::Admin)
    }
}
