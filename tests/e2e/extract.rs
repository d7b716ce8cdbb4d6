//! The parcel extract (trích lục) over HTTP and from the CLI, read back by poppler: the
//! parcel number, area and every vertex; the table against `diaba crs to-vn2000` of the
//! stored geometry; the edges against PostGIS's perimeter in EPSG:5897; holders only for
//! the ward's registrars; a rendered page kept in target/test-results. Demo data: synthetic.

use crate::parcels::Registry;
use reqwest::header::CONTENT_TYPE;
use std::process::Command;

fn diaba(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap();
    assert!(out.status.success(), "diaba {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Vertex rows `(number, X, Y, edge)` as printed: four cells in a row, X a northing.
fn table_rows(text: &str) -> Vec<(usize, String, String, String)> {
    let cm =
        |s: &str| s.split_once(',').is_some_and(|(m, c)| c.len() == 2 && (m.to_owned() + c).parse::<u64>().is_ok());
    let mut rows = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        for w in cells.windows(4) {
            if let Ok(n) = w[0].parse::<usize>()
                && cm(w[1])
                && cm(w[2])
                && cm(w[3])
                && w[1].len() >= 10
            {
                rows.push((n, w[1].to_owned(), w[2].to_owned(), w[3].to_owned()));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    rows
}

fn metres(cell: &str) -> f64 {
    cell.replace(',', ".").parse().unwrap()
}

#[tokio::test]
async fn the_extract_shows_every_vertex_in_vn2000_and_holders_only_to_the_wards_registrars() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let holder = parcel["owners"][0]["name"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let fetch = |token: Option<String>, name: &'static str| {
        let url = r.server.url(&format!("/v1/parcels/{id}/extract.pdf"));
        let path = dir.path().join(name);
        async move {
            let mut request = reqwest::Client::new().get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/pdf");
            std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
            pdftotext(&path)
        }
    };
    let text = fetch(Some(r.registrar.clone()), "registrar.pdf").await;
    let area = format!("{:.1}", parcel["legal_area_m2"].as_f64().unwrap()).replace('.', ",");
    for needle in [format!("Thửa đất số: {}", parcel["number"]), format!("{area} m²"), holder.clone()] {
        assert!(text.contains(&needle), "{needle} not in:\n{text}");
    }
    for (token, name) in [(None, "public.pdf"), (Some(r.other_registrar.clone()), "other-ward.pdf")] {
        let public = fetch(token, name).await;
        assert!(public.contains(&format!("{area} m²")), "{public}");
        assert!(!public.contains(&holder), "{name} names the holder:\n{public}");
    }

    // Every vertex of the stored geometry, as `diaba crs to-vn2000` converts it, in order.
    let rows = table_rows(&text);
    let ring = parcel["geometry"]["coordinates"][0][0].as_array().unwrap();
    let corners = &ring[..ring.len() - 1];
    assert_eq!(rows.len(), corners.len(), "one row per vertex:\n{text}");
    let mut conn = r.db.connect().await;
    let (legal, perimeter): (Vec<f64>, f64) = sqlx::query_as(
        "SELECT array_agg(c ORDER BY path, c_i), min(perimeter) FROM ( \
           SELECT (d).path AS path, unnest(ARRAY[ST_X((d).geom), ST_Y((d).geom)]) AS c, \
                  generate_series(1, 2) AS c_i, ST_Perimeter(geom_vn2000) AS perimeter \
           FROM (SELECT ST_DumpPoints(geom_vn2000) d, geom_vn2000 FROM parcel_version \
                 WHERE parcel_id = $1 AND valid_to IS NULL) s) p",
    )
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    for (i, (corner, row)) in corners.iter().zip(&rows).enumerate() {
        let (lon, lat) = (corner[0].as_f64().unwrap(), corner[1].as_f64().unwrap());
        let grid: serde_json::Value =
            serde_json::from_str(&diaba(&["crs", "to-vn2000", &lat.to_string(), &lon.to_string(), "--json"])).unwrap();
        let (easting, northing) = (grid["easting"].as_f64().unwrap(), grid["northing"].as_f64().unwrap());
        // The legal (VN-2000) geometry the table prints is the CLI's conversion to 1 mm …
        let (legal_e, legal_n) = (legal[2 * i], legal[2 * i + 1]);
        assert!((legal_e - easting).abs() < 0.001 && (legal_n - northing).abs() < 0.001, "vertex {}", i + 1);
        // … and the table prints it to the centimetre: X the northing, Y the easting.
        assert_eq!(row.0, i + 1);
        assert_eq!(row.1, format!("{legal_n:.2}").replace('.', ","), "X of vertex {}", i + 1);
        assert_eq!(row.2, format!("{legal_e:.2}").replace('.', ","), "Y of vertex {}", i + 1);
        assert!((metres(&row.1) - northing).abs() <= 0.005 + 0.001 && (metres(&row.2) - easting).abs() <= 0.006);
    }
    let edges: f64 = rows.iter().map(|r| metres(&r.3)).sum();
    assert!((edges - perimeter).abs() <= 0.01, "edges {edges} against the EPSG:5897 perimeter {perimeter}");

    // A page as a reader sees it, kept for people to look at.
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-results");
    std::fs::create_dir_all(&results).unwrap();
    let png = results.join(format!("extract-{id}"));
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-singlefile"])
        .arg(dir.path().join("registrar.pdf"))
        .arg(&png)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(status.success());
    let bytes = std::fs::read(png.with_extension("png")).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "a rendered page, {} bytes", bytes.len());

    // The office's copy from the CLI names the holder; --public does not.
    for (flag, named) in [(None, true), (Some("--public"), false)] {
        let out = dir.path().join("cli.pdf");
        let (id_text, out_text) = (id.to_string(), out.to_str().unwrap().to_owned());
        let mut args = vec!["extract", &id_text, &out_text, "--database-url", &r.db.url];
        args.extend(flag);
        diaba(&args);
        assert_eq!(pdftotext(&out).contains(&holder), named, "{flag:?}");
    }
}
