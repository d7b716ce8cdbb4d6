//! The extract read back by poppler (pdftotext, pdftoppm), as a reader would see it. The
//! parcel and names are synthetic.
#![allow(clippy::unwrap_used)]

use diaba_extract::{DEBIAN_FONT_DIR, Extract, Fonts, Neighbour, render, vertices, vn_centimetres, vn_number};
use std::process::Command;

fn lot(e: f64, n: f64, w: f64, h: f64) -> Vec<Vec<[f64; 2]>> {
    vec![vec![[e, n], [e + w, n], [e + w, n + h], [e, n + h], [e, n]]]
}

fn sample(vertex_count: usize) -> Extract {
    // A lot with many short edges along its front (long outlines continue on page 2).
    let mut ring: Vec<[f64; 2]> = (0..vertex_count - 2).map(|i| [585_000.0 + i as f64 * 0.5, 1_102_000.0]).collect();
    let last = ring[ring.len() - 1][0];
    ring.extend([[last, 1_102_030.0], [585_000.0, 1_102_030.0], [585_000.0, 1_102_000.0]]);
    Extract {
        ward: "Phường Ninh Kiều (31135)".into(),
        sheet: 12,
        number: 125,
        national_id: "w3gvk1td7q2m".into(),
        legal_area_m2: 180.456,
        land_uses: vec!["ODT 180,5 m² (lâu dài)".into()],
        primary_use: "ODT".into(),
        address: Some("Số 12/3A, Đường Nguyễn Trãi (synthetic)".into()),
        certificate: Some("BD 614696".into()),
        holders: Some(vec!["Lê Thị Hoa (synthetic), 2/3".into()]),
        outline: vec![ring],
        label_at: [585_003.0, 1_102_015.0],
        neighbours: vec![Neighbour {
            sheet: 12,
            number: 126,
            outline: lot(585_020.0, 1_102_000.0, 10.0, 30.0),
            label_at: [585_025.0, 1_102_015.0],
        }],
        issued_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        synthetic: true,
    }
}

fn text_of(pdf: &[u8], mode: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extract.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext").arg(mode).arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_vertex_and_the_vietnamese_text_read_back_from_the_pdf() {
    let fonts = Fonts::dejavu(std::path::Path::new(DEBIAN_FONT_DIR)).unwrap();
    let extract = sample(40);
    let pdf = render(&extract, &fonts).unwrap();
    if let Ok(dir) = std::env::var("DIABA_EXTRACT_SAMPLE") {
        std::fs::write(std::path::Path::new(&dir).join("sample.pdf"), &pdf).unwrap();
    }
    let text = text_of(&pdf, "-layout");
    for needle in [
        "TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH",
        "Thửa đất số: 125",
        "180,5 m²",
        "BD 614696",
        "Lê Thị Hoa",
        "Dữ liệu tổng hợp",
        "Tỷ lệ 1:",
    ] {
        assert!(text.contains(needle), "{needle} not in:\n{text}");
    }
    // The diagonal watermark reads back a letter a line.
    let raw: String = text_of(&pdf, "-raw").split_whitespace().collect();
    assert!(raw.contains("DỮLIỆUTỔNGHỢP"), "{raw}");
    let rows = vertices(&extract.outline);
    assert_eq!(rows.len(), 40);
    for row in &rows {
        let line = format!(
            "{}\\s+{}\\s+{}\\s+{}",
            row.number,
            vn_number(row.x, 2),
            vn_number(row.y, 2),
            vn_centimetres(row.edge_cm)
        );
        let found = text.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.windows(4).any(|w| {
                w == [row.number.to_string(), vn_number(row.x, 2), vn_number(row.y, 2), vn_centimetres(row.edge_cm)]
            })
        });
        assert!(found, "vertex row {line} not in:\n{text}");
    }
}

#[test]
fn the_public_variant_names_no_holder() {
    let fonts = Fonts::dejavu(std::path::Path::new(DEBIAN_FONT_DIR)).unwrap();
    let mut extract = sample(6);
    extract.holders = None;
    extract.synthetic = false;
    let pdf = render(&extract, &fonts).unwrap();
    let text = text_of(&pdf, "-layout");
    assert!(!text.contains("Lê Thị Hoa"), "{text}");
    assert!(text.contains("Lê Thị Hoa") || text.contains("cán bộ địa chính"), "says where holders are: {text}");
    let raw: String = text_of(&pdf, "-raw").split_whitespace().collect();
    assert!(
        !raw.contains("DỮLIỆUTỔNGHỢP") && !text.contains("Dữ liệu tổng hợp"),
        "only synthetic parcels are watermarked"
    );
}
