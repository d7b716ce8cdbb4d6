//! The synthetic demo dataset loaded into a register (DESIGN §12): generated inside the
//! real wards, deterministic from a seed, labelled synthetic in every record.

use crate::error::{Error, Result};
use diaba_demo::Profile;
use diaba_store::Store;

/// Where a seeding stands, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedStep {
    /// Generating lots, ward by ward.
    Generating,
    /// Loading parcels into PostGIS.
    Loading,
}

/// What a seeding loaded; `None` when a demo profile was already there (nothing done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// Parcels.
    pub parcels: u64,
    /// Households.
    pub households: u64,
}

/// Generates and loads the `name`d demo profile unless one is already loaded.
pub async fn seed_demo(
    store: &Store,
    profile: Profile,
    name: &str,
    seed: u64,
    progress: impl Fn(SeedStep, u64, u64) + Send + Sync + Clone + 'static,
) -> Result<Option<Seeded>> {
    if store.demo_profile().await?.is_some() {
        return Ok(None);
    }
    let failed = |e: &dyn std::fmt::Display| Error::Internal { detail: format!("demo data: {e}") };
    let wards = diaba_geodata::service_wards().map_err(|e| failed(&e))?;
    let total = wards.len() as u64;
    let generate = progress.clone();
    let parcels = tokio::task::spawn_blocking(move || {
        let vn2000 = diaba_core::crs::Vn2000::can_tho().map_err(|e| failed(&e))?;
        diaba_demo::parcels(profile, seed, &wards, &vn2000, |done| generate(SeedStep::Generating, done as u64, total))
            .map_err(|e| failed(&e))
    })
    .await
    .expect("the generator does not panic")?;
    let count = parcels.len() as u64;
    let loaded =
        store.seed_parcels(name, seed, &parcels, |done, _| progress(SeedStep::Loading, done as u64, count)).await?;
    let zones = {
        let wards = diaba_geodata::service_wards().map_err(|e| failed(&e))?;
        let vn2000 = diaba_core::crs::Vn2000::can_tho().map_err(|e| failed(&e))?;
        diaba_demo::flood_zones(&wards, &vn2000).map_err(|e| failed(&e))?
    };
    store.seed_flood_zones(&zones).await?;
    let households = tokio::task::spawn_blocking(move || diaba_demo::households(&parcels, profile, seed))
        .await
        .expect("the generator does not panic")
        .map_err(|e| failed(&e))?;
    let households = store.seed_households(name, seed, &households).await?;
    Ok(Some(Seeded { parcels: loaded, households }))
}
