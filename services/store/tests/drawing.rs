//! The neighbours an extract draws are the live parcels within reach in VN-2000 metres, as
//! PostGIS measures them with no index: the WGS 84 box that finds them first loses none.
//! Demo data: synthetic.
#![allow(clippy::unwrap_used)]

use diaba_store::parcels::{MAX_NEIGHBOURS, NEIGHBOUR_DISTANCE_M};

#[tokio::test]
async fn an_extract_draws_every_live_neighbour_within_reach_and_no_other() {
    let db = diaba_test_harness::demo_database().await;
    let store = db.store().await;
    let mut conn = db.connect().await;
    // Every 40th live parcel, with its neighbours by a plain scan in EPSG:5897.
    let parcels: Vec<(i64, i32, Vec<i32>, Vec<i32>)> = sqlx::query_as(
        "SELECT v.parcel_id, v.version, \
                coalesce(array_agg(n.sheet ORDER BY n.sheet, n.number) FILTER (WHERE n.id IS NOT NULL), '{}'), \
                coalesce(array_agg(n.number ORDER BY n.sheet, n.number) FILTER (WHERE n.id IS NOT NULL), '{}') \
         FROM parcel_version v LEFT JOIN parcel_version n ON n.valid_to IS NULL AND n.parcel_id <> v.parcel_id \
           AND ST_DWithin(n.geom_vn2000, v.geom_vn2000, $1) \
         WHERE v.valid_to IS NULL AND v.parcel_id % 40 = 0 GROUP BY v.parcel_id, v.version",
    )
    .bind(NEIGHBOUR_DISTANCE_M)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut checked = 0;
    let mut neighbours_seen = 0;
    for (id, version, sheets, numbers) in parcels {
        // Past the cap the nearest are kept, and ties at the cap could go either way.
        if sheets.len() as i64 >= MAX_NEIGHBOURS {
            continue;
        }
        let drawing = store.parcel_drawing(id, version).await.unwrap().unwrap();
        let mut drawn: Vec<(i32, i32)> = drawing.neighbours.iter().map(|n| (n.sheet, n.number)).collect();
        drawn.sort();
        let expected: Vec<(i32, i32)> = sheets.into_iter().zip(numbers).collect();
        assert_eq!(drawn, expected, "neighbours of parcel {id}");
        checked += 1;
        neighbours_seen += drawn.len();
    }
    assert!(checked >= 50, "only {checked} parcels checked");
    assert!(neighbours_seen >= 3 * checked, "{neighbours_seen} neighbours for {checked} parcels");
}
