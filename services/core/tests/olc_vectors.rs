//! Every row of the official Open Location Code test vectors (tests/data/olc/SOURCE.md),
//! run as data, the way geo's jts-test-runner runs JTS's suite.
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_core::olc;
use std::path::PathBuf;

fn rows(file: &str) -> Vec<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/olc").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    assert!(rows.len() > 10, "{file} has too few rows to be the official suite");
    rows
}

fn number(text: &str) -> f64 {
    text.parse().unwrap_or_else(|_| panic!("bad number {text:?}"))
}

#[test]
fn encoding_vectors_give_the_same_integers_and_codes() {
    for row in rows("encoding.csv") {
        let (lat, lng) = (number(&row[0]), number(&row[1]));
        let want_integers = (row[2].parse::<i64>().unwrap(), row[3].parse::<i64>().unwrap());
        let length: usize = row[4].parse().unwrap();
        assert_eq!(olc::location_to_integers(lat, lng), want_integers, "integers of {row:?}");
        assert_eq!(olc::encode_integers(want_integers.0, want_integers.1, length).unwrap(), row[5], "{row:?}");
        assert_eq!(olc::encode(lat, lng, length).unwrap(), row[5], "{row:?}");
    }
}

#[test]
fn decoding_vectors_give_the_same_cells() {
    for row in rows("decoding.csv") {
        let area = olc::decode(&row[0]).unwrap_or_else(|e| panic!("{row:?}: {e}"));
        assert_eq!(area.code_length, row[1].parse::<usize>().unwrap(), "{row:?}");
        // The file rounds to 10–11 decimals.
        for (got, want) in
            [(area.lat_lo, &row[2]), (area.lng_lo, &row[3]), (area.lat_hi, &row[4]), (area.lng_hi, &row[5])]
        {
            assert!((got - number(want)).abs() < 1e-10, "{row:?}: got {got}, want {want}");
        }
    }
}

#[test]
fn short_code_vectors_shorten_and_recover() {
    for row in rows("shortCodeTests.csv") {
        let (full, lat, lng, short, kind) = (&row[0], number(&row[1]), number(&row[2]), &row[3], row[4].as_str());
        if kind == "B" || kind == "S" {
            assert_eq!(&olc::shorten(full, lat, lng).unwrap(), short, "shorten {row:?}");
        }
        if kind == "B" || kind == "R" {
            assert_eq!(&olc::recover_nearest(short, lat, lng).unwrap(), full, "recover {row:?}");
        }
    }
}

#[test]
fn validity_vectors_classify_every_code() {
    for row in rows("validityTests.csv") {
        let code = &row[0];
        assert_eq!(olc::is_valid(code), row[1] == "true", "is_valid {row:?}");
        assert_eq!(olc::is_short(code), row[2] == "true", "is_short {row:?}");
        assert_eq!(olc::is_full(code), row[3] == "true", "is_full {row:?}");
    }
}
