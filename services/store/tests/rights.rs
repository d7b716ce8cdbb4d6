//! The owners lists become parties, rights and certificates (migration 0006 and the demo
//! seeding run the same function).
#![allow(clippy::unwrap_used)]

use diaba_core::{PersonalId, Share};

#[tokio::test]
async fn every_owned_parcel_has_rights_summing_to_one_held_by_parties_with_valid_ids() {
    let db = diaba_test_harness::demo_database().await;
    let mut conn = db.connect().await;
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parcel_version WHERE valid_to IS NULL AND jsonb_array_length(owners) > 0",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(owned > 5_000, "{owned} owned demo parcels");
    let shares: Vec<(i64, Vec<i32>, Vec<i32>)> = sqlx::query_as(
        "SELECT parcel_id, array_agg(share_num), array_agg(share_den) FROM land_right WHERE valid_to IS NULL GROUP BY parcel_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(shares.len() as i64, owned, "one set of rights per owned parcel");
    for (parcel, nums, dens) in &shares {
        let shares: Vec<Share> =
            nums.iter().zip(dens).map(|(n, d)| Share::new(*n as u32, *d as u32).unwrap()).collect();
        assert!(Share::sums_to_one(&shares), "parcel {parcel}: {shares:?}");
    }
    let ids: Vec<(String, chrono::NaiveDate)> = sqlx::query_as(
        "SELECT personal_id, date_of_birth FROM party_version WHERE valid_to IS NULL AND personal_id IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(ids.len() > 5_000, "synthetic persons with IDs: {}", ids.len());
    for (id, born) in &ids {
        PersonalId::parse_for(id, *born).unwrap_or_else(|e| panic!("{id} born {born}: {e}"));
    }
    let (synthetic, persons): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE synthetic), count(*) FROM party")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(synthetic, persons, "every demo party is flagged synthetic");
    let (certified, certificates): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT parcel_id) FROM certificate_parcel), (SELECT count(*) FROM certificate WHERE status = 'valid')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(certified > 4_000 && certificates == certified, "{certified} parcels, {certificates} certificates");
    // Public land (roads, canals) is held by one organisation, not one per parcel.
    let organisations: i64 = sqlx::query_scalar("SELECT count(*) FROM party WHERE kind = 'organisation'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(organisations, 1);
}
