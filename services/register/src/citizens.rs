//! Citizens' sessions and what a signed-in citizen may see of the register: their own
//! parties (found by the personal ID the provider vouches for) and those parties' rights,
//! to pre-fill form Mẫu 18.

use crate::Register;
use crate::error::{Error, Result};
use diaba_core::auth::Citizen;
use diaba_store::parties::{PartyRecord, RightRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a citizen stays signed in.
pub const SESSION_HOURS: i32 = 8;

/// A signed-in citizen and their holdings.
#[derive(Debug, Serialize)]
pub struct Me {
    /// Who the provider says they are.
    pub citizen: Citizen,
    /// Their parties (persons with their personal ID) and those parties' live rights.
    pub parties: Vec<Holding>,
}

/// One of the citizen's parties.
#[derive(Debug, Serialize)]
pub struct Holding {
    /// The party.
    pub party: PartyRecord,
    /// Its live rights (parcel, share, certificate).
    pub rights: Vec<RightRecord>,
}

impl Register {
    /// Opens a session for `citizen` vouched for by `issuer`; the token for their cookie.
    pub async fn open_citizen_session(&self, issuer: &str, citizen: &Citizen) -> Result<String> {
        let token = diaba_store::Token::random()?;
        self.store.open_citizen_session(&Sha256::digest(token.reveal()), issuer, citizen, SESSION_HOURS).await?;
        Ok(token.reveal().to_owned())
    }

    /// The citizen of a session token (`None`: unknown or expired).
    pub async fn citizen_for_session(&self, token: &str) -> Result<Option<Citizen>> {
        Ok(self.store.citizen_session(&Sha256::digest(token)).await?)
    }

    /// Ends a session.
    pub async fn close_citizen_session(&self, token: &str) -> Result<()> {
        Ok(self.store.close_citizen_session(&Sha256::digest(token)).await?)
    }

    /// The signed-in citizen and their parties' rights.
    pub async fn me(&self, citizen: Option<&Citizen>) -> Result<Me> {
        let citizen = citizen.ok_or_else(|| Error::Unauthenticated { detail: "sign in first (/auth/login)".into() })?;
        let mut parties = Vec::new();
        if let Some(id) = &citizen.personal_id {
            for party in self.store.find_parties(Some(id), None, None, 20).await? {
                if party.personal_id.as_deref() != Some(id.as_str()) {
                    continue;
                }
                let rights =
                    self.store.party_rights(party.id).await?.into_iter().filter(|r| r.valid_to.is_none()).collect();
                parties.push(Holding { party, rights });
            }
        }
        Ok(Me { citizen: citizen.clone(), parties })
    }
}

impl Register {
    /// Remembers a sign-in sent to the provider.
    pub async fn begin_sign_in(&self, state: &str, pending: &diaba_store::citizens::PendingSignIn) -> Result<()> {
        Ok(self.store.begin_sign_in(state, pending).await?)
    }

    /// The sign-in sent under `state`, once.
    pub async fn take_sign_in(&self, state: &str) -> Result<Option<diaba_store::citizens::PendingSignIn>> {
        Ok(self.store.take_sign_in(state).await?)
    }
}
