//! The wards' outlines in EPSG:5897, against which parcels are measured, are the pinned
//! official transformation of their lon/lat outlines (the PROJ string in migration 0005 is
//! the one in diaba_core::crs).
#![allow(clippy::unwrap_used)]

use diaba_core::crs::Tm3Zone;

#[tokio::test]
async fn ward_outlines_in_vn2000_are_the_pinned_transformation_of_their_lon_lat_outlines() {
    let db = diaba_test_harness::fresh_database().await;
    let mut conn = db.connect().await;
    let (wards, worst): (i64, f64) = sqlx::query_as(
        "SELECT count(*), max(ST_HausdorffDistance(geom_vn2000, ST_SetSRID(ST_Transform(geom, $1), 5897))) \
         FROM admin_unit WHERE level = 'ward' AND valid_to IS NULL AND in_service_area",
    )
    .bind(Tm3Zone::CAN_THO.proj_string())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(wards, 12);
    assert!(worst < 0.001, "{worst} m between the stored and the pinned transformation");
}
