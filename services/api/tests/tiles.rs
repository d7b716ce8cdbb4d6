//! Tile answers, in process: the same bytes and headers whether misses are drawn on the
//! render threads or on the async workers, hit or miss, plain path or percent-encoded.
#![allow(clippy::unwrap_used)]

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use diaba_api::{AppState, Config, RenderTilesOn, app};
use diaba_tiles::TileCoord;
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

async fn router(store: Arc<diaba_store::Store>, render_tiles_on: RenderTilesOn) -> axum::Router {
    let config = Config { render_tiles_on, ..Config::default() };
    let state = AppState::start(store, &config).await.unwrap();
    app(state, &config)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers.get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
    }

    /// Every header but the request id, which differs from one request to the next.
    fn headers_but_the_id(&self) -> Vec<(String, Vec<u8>)> {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(name, _)| name.as_str() != "x-request-id")
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect();
        headers.sort();
        headers
    }
}

async fn get(router: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer { status: parts.status, headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
}

#[tokio::test]
async fn both_places_of_drawing_serve_the_same_tiles_with_the_same_headers() {
    let db = diaba_test_harness::demo_database().await;
    let store = Arc::new(db.store().await);
    let blocking = router(store.clone(), RenderTilesOn::Blocking).await;
    let workers = router(store, RenderTilesOn::Workers).await;
    // Ninh Kiều and its neighbours: ward outlines and roads in `all`, demo lots in `parcels`;
    // the last tile is in the sea, empty.
    let mut paths = Vec::new();
    for z in [12u8, 14, 16] {
        let centre = TileCoord::containing(105.775, 10.03, z);
        for layer in ["all", "parcels"] {
            paths.push(format!("/tiles/{layer}/{z}/{}/{}.mvt", centre.x(), centre.y()));
        }
    }
    paths.push("/tiles/parcels/18/0/0.mvt".to_owned());
    let mut full = 0;
    for path in &paths {
        for round in ["miss", "hit"] {
            let a = get(&blocking, path, &[]).await;
            let b = get(&workers, path, &[]).await;
            assert_eq!(a.status, b.status, "{path}");
            assert_eq!(a.body, b.body, "{path}: the same bytes");
            assert_eq!(a.headers_but_the_id(), b.headers_but_the_id(), "{path}");
            assert_eq!(a.header("x-tile-cache"), [round], "{path}");
            assert_eq!(a.header("vary")[0], "accept-encoding", "{path}");
            assert_eq!(a.header("cache-control"), ["public, max-age=60"], "{path}");
            assert_eq!(a.header("access-control-allow-origin"), ["*"], "{path}");
            assert_eq!(a.header("x-content-type-options"), ["nosniff"], "{path}");
            assert_eq!(a.header("x-request-id").len(), 1, "{path}");
            assert!(a.header("etag")[0].starts_with("W/\""), "{path}");
            if a.status == StatusCode::NO_CONTENT {
                assert!(a.body.is_empty() && a.headers.get(header::CONTENT_TYPE).is_none(), "{path}");
                continue;
            }
            assert_eq!(a.status, StatusCode::OK, "{path}");
            assert_eq!(a.header("content-type"), ["application/vnd.mapbox-vector-tile"], "{path}");
            assert!(a.headers.get(header::CONTENT_ENCODING).is_none(), "{path}");
            full += 1;
            // Gzip, and a revalidation with the tag: the same on both.
            let etag = a.header("etag")[0].to_owned();
            for asked in [&[("accept-encoding", "gzip, deflate, br")][..], &[("if-none-match", etag.as_str())][..]] {
                let a = get(&blocking, path, asked).await;
                let b = get(&workers, path, asked).await;
                assert_eq!((a.status, &a.body), (b.status, &b.body), "{path} {asked:?}");
                assert_eq!(a.headers_but_the_id(), b.headers_but_the_id(), "{path} {asked:?}");
            }
            let zipped = get(&blocking, path, &[("accept-encoding", "gzip")]).await;
            assert_eq!(zipped.header("content-encoding"), ["gzip"], "{path}");
            assert_eq!(&zipped.body[..2], [0x1f, 0x8b], "{path}: a gzip stream");
            let unchanged = get(&blocking, path, &[("if-none-match", etag.as_str())]).await;
            assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(unchanged.body.is_empty(), "{path}");
            assert_eq!(unchanged.header("etag"), [etag.as_str()], "{path}");
        }
    }
    assert!(full >= 6, "the tiles around Ninh Kiều hold features ({full} answers with a body)");
}

#[tokio::test]
async fn a_percent_encoded_tile_address_is_the_same_tile_and_bad_ones_are_problems() {
    let db = diaba_test_harness::demo_database().await;
    let router = router(Arc::new(db.store().await), RenderTilesOn::default()).await;
    let centre = TileCoord::containing(105.775, 10.03, 14);
    let (x, y) = (centre.x(), centre.y());
    let plain = get(&router, &format!("/tiles/all/14/{x}/{y}.mvt"), &[]).await;
    // %61 is 'a', %31 is '1', %2E is '.': decoded as axum decodes every path.
    let encoded = get(&router, &format!("/tiles/%61ll/%31%34/{x}/{y}%2Emvt"), &[]).await;
    assert_eq!((plain.status, &plain.body), (encoded.status, &encoded.body));
    assert_eq!(encoded.header("x-tile-cache"), ["hit"]);
    for (path, status) in [
        ("/tiles/nowhere/14/1/1.mvt", StatusCode::NOT_FOUND),
        ("/tiles/all/14/1/1.png", StatusCode::NOT_FOUND),
        ("/tiles/all/99/1/1.mvt", StatusCode::NOT_FOUND),
        ("/tiles/all/z/1/1.mvt", StatusCode::BAD_REQUEST),
        ("/tiles/all/14/1/1.mvt?at=someday", StatusCode::BAD_REQUEST),
        ("/tiles/all/%FF/1/1.mvt", StatusCode::BAD_REQUEST),
    ] {
        let answer = get(&router, path, &[]).await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.header("content-type"), ["application/problem+json"], "{path}");
    }
}

/// The middle of a lot of Ninh Kiều, where the demo's lots are dense.
fn a_lot_of_ninh_kieu(state: &AppState) -> geo::Coord<f64> {
    let parcels = state.tiles.index().parcels.all();
    let lot = parcels.iter().filter(|p| &*p.ward_code == "31135").nth(500).expect("a lot of Ninh Kiều");
    lot.outline.bounding_rect().unwrap().center()
}

#[tokio::test]
async fn misses_beyond_the_render_threads_wait_their_turn_and_all_answer() {
    let db = diaba_test_harness::demo_database().await;
    let store = Arc::new(db.store().await);
    let config = Config { render_tiles_on: RenderTilesOn::Blocking, ..Config::default() };
    let state = AppState::start(store.clone(), &config).await.unwrap();
    let threads = state.renderer.current_num_threads();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    assert_eq!(threads, 2 * cores, "two render threads per core");
    let on_threads = app(state.clone(), &config);
    let workers = router(store, RenderTilesOn::Workers).await;
    // Three times as many different z17 tiles as there are threads, at once.
    let at = a_lot_of_ninh_kieu(&state);
    let centre = TileCoord::containing(at.x - 0.003, at.y, 17);
    let paths: Vec<String> = (0..3 * threads as u32)
        .map(|i| format!("/tiles/parcels/17/{}/{}.mvt", centre.x() + i % 8, centre.y() + i / 8))
        .collect();
    let mut asked = tokio::task::JoinSet::new();
    for (i, path) in paths.iter().enumerate() {
        let (router, path) = (on_threads.clone(), path.clone());
        asked.spawn(async move { (i, get(&router, &path, &[]).await) });
    }
    // A queue that lost a tile would leave its request waiting for ever: fail, not hang.
    let answers = tokio::time::timeout(std::time::Duration::from_secs(60), asked.join_all()).await;
    let answers = answers.expect("every tile answered within a minute");
    let drawn = answers.iter().filter(|(_, a)| a.status == StatusCode::OK).count();
    assert!(
        drawn > 0,
        "lots drawn, not only empty tiles: {at:?} {:?}",
        answers.iter().map(|(_, a)| a.status).collect::<Vec<_>>()
    );
    for (i, a) in answers {
        assert_eq!(a.header("x-tile-cache"), ["miss"], "{}", paths[i]);
        let b = get(&workers, &paths[i], &[]).await;
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{}: the same tile", paths[i]);
    }
}

#[tokio::test]
async fn a_tile_whose_request_was_dropped_while_it_waited_is_not_drawn() {
    let db = diaba_test_harness::demo_database().await;
    let store = Arc::new(db.store().await);
    let config = Config { render_tiles_on: RenderTilesOn::Blocking, ..Config::default() };
    let state = AppState::start(store, &config).await.unwrap();
    let router = app(state.clone(), &config);
    let at = a_lot_of_ninh_kieu(&state);
    let (waiting, dropped) = (TileCoord::containing(at.x, at.y, 18), TileCoord::containing(at.x, at.y, 17));
    // Every render thread held until released, so the tiles asked next wait in the queue.
    let threads = state.renderer.current_num_threads();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    let (busy, all_busy) = std::sync::mpsc::channel();
    for _ in 0..threads {
        let (held, busy) = (held.clone(), busy.clone());
        state.renderer.spawn(move || {
            busy.send(()).unwrap();
            let _ = held.lock().unwrap().recv();
        });
    }
    for _ in 0..threads {
        all_busy.recv_timeout(std::time::Duration::from_secs(10)).expect("every render thread held");
    }
    // One request given up while its tile waits (as a client panning away cancels it), one kept.
    let given_up = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        get(&router, &format!("/tiles/parcels/{dropped}.mvt"), &[]),
    )
    .await;
    assert!(given_up.is_err(), "the tile waited behind the held threads");
    let kept = tokio::spawn({
        let router = router.clone();
        async move { get(&router, &format!("/tiles/parcels/{waiting}.mvt"), &[]).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(release);
    let kept = tokio::time::timeout(std::time::Duration::from_secs(60), kept).await.expect("answered").unwrap();
    assert_eq!(kept.status, StatusCode::OK, "the tile still asked for is drawn once threads are free");
    let parcel_tiles = diaba_tiles::Source::of(diaba_core::Layer::Parcels).unwrap();
    assert!(state.tiles.cached(parcel_tiles, waiting, None).is_some());
    // Queued before the kept one, so its turn has come and gone: never drawn, never cached.
    assert!(state.tiles.cached(parcel_tiles, dropped, None).is_none(), "the tile nobody waits for any more was drawn");
}
