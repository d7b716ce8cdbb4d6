//! The change feed as nodes read it: typed entries, each with the box its change touched,
//! and entries of a newer build passed over rather than stalling the feed.
#![allow(clippy::unwrap_used)]

use diaba_core::Layer;
use diaba_core::auth::Role;
use diaba_core::crs::Vn2000;
use diaba_core::parcel::{LandUse, SubmittedCrs, validate_geometry};
use diaba_store::parcels::{NewParcel, ParcelPatch};
use diaba_store::{ChangeOp, FeedEntry};
use serde_json::json;

/// A 20 m square lot near Ninh Kiều market, moved `shift` degrees east (synthetic).
fn lot(shift: f64) -> serde_json::Value {
    let (x, y, d) = (105.7840 + shift, 10.0330, 0.00018);
    json!({ "type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]] })
}

#[tokio::test]
async fn a_parcel_write_appends_one_typed_change_with_the_box_of_its_old_and_new_outlines() {
    let db = diaba_test_harness::fresh_database().await;
    let store = db.store().await;
    let (registrar, _) = store.add_user("feed-registrar", Role::Registrar, &["31135".into()], None).await.unwrap();
    let vn2000 = Vn2000::can_tho().unwrap();
    let geometry = |shift| validate_geometry(&lot(shift), SubmittedCrs::Wgs84, 100, &vn2000).unwrap();
    let land_uses = vec![LandUse { code: "ODT".into(), code_list: "TT25/2014".into(), area_m2: None, term: None }];
    let new = NewParcel {
        ward: "31135".into(),
        sheet: 900,
        number: 1,
        geometry: geometry(0.0),
        land_uses,
        certificate_serial: None,
        registry_number: None,
        address_text: None,
        owners: None,
    };
    let before = store.last_change().await.unwrap();
    let created = store.create_parcel(new, &registrar, "test").await.unwrap().unwrap();
    let patch = ParcelPatch { geometry: Some(geometry(0.001)), ..ParcelPatch::default() };
    store.update_parcel(created.id, 1, patch, &registrar, "moved").await.unwrap().unwrap();

    let entries = store.changes_after(before, 10).await.unwrap();
    let changes: Vec<_> = entries
        .iter()
        .map(|e| match e {
            FeedEntry::Change(change) => change.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().all(|c| c.layer == Layer::Parcels && c.op == ChangeOp::Upsert && c.id == Some(created.id)));
    let [w, _, e, _] = changes[1].bbox.expect("a parcel change carries its box");
    assert!(w <= 105.7840 + 1e-9, "the old outline's west edge is in the box: {w}");
    assert!(e >= 105.7840 + 0.001 + 0.00018 - 1e-9, "the new outline's east edge is in the box: {e}");
}

#[tokio::test]
async fn an_entry_of_a_newer_build_is_passed_over_not_stalling_the_feed() {
    let db = diaba_test_harness::fresh_database().await;
    let store = db.store().await;
    let before = store.last_change().await.unwrap();
    let mut conn = db.connect().await;
    // "applications" (the online service's dossiers) is a layer this build does not know yet.
    sqlx::query(
        "INSERT INTO change (layer, entity_id, op) VALUES ('applications', 7, 'upsert'), ('units', NULL, 'reload')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let entries = store.changes_after(before, 10).await.unwrap();
    assert!(matches!(&entries[0], FeedEntry::Unknown { what, .. } if what.contains("applications")), "{entries:?}");
    assert!(matches!(&entries[1], FeedEntry::Change(c) if c.layer == Layer::Units && c.op == ChangeOp::Reload));
    assert!(entries[0].seq() < entries[1].seq());
}
