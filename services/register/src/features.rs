//! Features for OGC API – Features and exports: a collection's GeoJSON, paged, with owners
//! only for those who may see them.

use crate::Register;
use crate::error::Result;
use diaba_core::auth::{Action, Caller, Role};
use diaba_store::ogc::{Collection, FeaturePage, FeatureQuery, OwnersShown};

/// Whose owners `caller` may see in a page of features.
pub fn owners_shown(caller: Option<&Caller>) -> OwnersShown {
    match caller {
        Some(c) if c.role == Role::Admin => OwnersShown::Everyone,
        // Decided per record by its ward, in the query: the same rule as Caller::may.
        Some(c) if Action::SeePersonalData.roles().contains(&c.role) => OwnersShown::InWards(c.wards.clone()),
        _ => OwnersShown::Nobody,
    }
}

impl Register {
    /// A page of `collection`'s features as `caller` may see them.
    pub async fn features(
        &self,
        collection: Collection,
        mut query: FeatureQuery,
        caller: Option<&Caller>,
    ) -> Result<FeaturePage> {
        let _turn = self.read_turn().await?;
        query.owners = owners_shown(caller);
        Ok(self.store.ogc_features(collection, &query).await?)
    }
}
