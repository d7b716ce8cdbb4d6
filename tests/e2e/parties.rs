//! Parties, rights and certificates over HTTP: holders come from rights (never from the old
//! owners lists), personal fields reach registrars of the parcel's ward only, endorsements
//! are versioned writes. Demo data and every name written here are synthetic.

use crate::parcels::{Registry, halves, ring};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A structurally valid personal ID of a synthetic person born in 1985 in Cần Thơ (092),
/// male (century digit 0).
const SYNTHETIC_ID: &str = "092085004711";

async fn patch_owners(r: &Registry, id: i64, version: i64, owners: Value) -> (StatusCode, Value) {
    let etag = format!("\"{version}\"");
    let (status, body, _) = r
        .call(
            Method::PATCH,
            &format!("/v1/parcels/{id}"),
            Some(&r.registrar),
            Some(json!({ "owners": owners })),
            Some(&etag),
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn holders_are_read_from_rights_with_shares_and_keep_their_history() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let before: Vec<String> =
        parcel["owners"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect();
    assert!(!before.is_empty(), "a demo lot has holders: {parcel}");
    assert!(parcel["owners"][0]["party_id"].is_i64(), "holders come from parties: {parcel}");

    // Two holders with shares; one with a personal ID.
    let owners = json!([
        { "name": "Lê Thị Hoa (synthetic)", "id_number": SYNTHETIC_ID, "date_of_birth": "1985-04-02", "share": "2/3" },
        { "name": "Lê Văn Nam (synthetic)", "share": "1/3" },
    ]);
    let (status, after) = patch_owners(&r, id, parcel["version"].as_i64().unwrap(), owners).await;
    assert_eq!(status, 200, "{after}");
    let holders = after["owners"].as_array().unwrap();
    assert_eq!(holders.len(), 2, "{after}");
    assert_eq!(holders[0]["share"], "2/3");
    assert_eq!(holders[0]["id_number"], SYNTHETIC_ID);
    assert_eq!(holders[1]["share"], "1/3");

    // The old list on the version is history only: changing it changes no answer.
    let mut conn = r.db.connect().await;
    sqlx::query("UPDATE parcel_version SET owners = '[{\"name\": \"ONLY IN THE OLD COLUMN\"}]' WHERE parcel_id = $1")
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    let (_, now) = r.get(&format!("/v1/parcels/{id}"), Some(&r.registrar)).await;
    let (_, history) = r.get(&format!("/v1/parcels/{id}/history"), Some(&r.registrar)).await;
    let (_, ogc) = r.get(&format!("/ogc/collections/parcels/items/{id}"), Some(&r.registrar)).await;
    for answer in [&now, &history, &ogc] {
        assert!(!answer.to_string().contains("ONLY IN THE OLD COLUMN"), "{answer}");
    }
    assert_eq!(now["owners"][0]["name"], "Lê Thị Hoa (synthetic)");
    assert_eq!(ogc["properties"]["owners"][1]["name"], "Lê Văn Nam (synthetic)");
    // Version 1 shows who held it then, version 2 who holds it now.
    let versions = history["versions"].as_array().unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["owners"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&versions[versions.len() - 2]), before, "{history}");
    assert_eq!(names(&versions[versions.len() - 1]), ["Lê Thị Hoa (synthetic)", "Lê Văn Nam (synthetic)"]);

    // The rights endpoint: holders for the ward's registrar, and at= before the change.
    let (status, rights) = r.get(&format!("/v1/parcels/{id}/rights"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{rights}");
    assert_eq!(rights["rights"].as_array().unwrap().len(), 2, "{rights}");
    let then = versions[versions.len() - 2]["valid_from"].as_str().unwrap();
    let (_, earlier) = r.get(&format!("/v1/parcels/{id}/rights?at={then}"), Some(&r.registrar)).await;
    let earlier_names: Vec<&str> =
        earlier["rights"].as_array().unwrap().iter().map(|r| r["party_name"].as_str().unwrap()).collect();
    assert_eq!(earlier_names, before.iter().map(String::as_str).collect::<Vec<_>>(), "{earlier}");

    // Found by personal ID and by a name typed without diacritics.
    let (status, found) = r.get(&format!("/v1/parties?personal_id={SYNTHETIC_ID}"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found[0]["name"], "Lê Thị Hoa (synthetic)");
    let party = found[0]["id"].as_i64().unwrap();
    let (_, by_name) = r.get("/v1/parties?name=le%20thi%20hoa", Some(&r.registrar)).await;
    assert!(by_name.as_array().unwrap().iter().any(|p| p["id"] == party), "{by_name}");
    let (status, one) = r.get(&format!("/v1/parties/{party}"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["rights"][0]["parcel_id"], id);
    assert_eq!(one["rights"][0]["share"], "2/3");
}

#[tokio::test]
async fn personal_fields_of_parties_rights_and_certificates_reach_the_wards_registrars_only() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let holder = parcel["owners"][0].clone();
    let (name, personal_id) = (holder["name"].as_str().unwrap(), holder["id_number"].as_str().unwrap());
    let party = holder["party_id"].as_i64().unwrap();
    let serial = holder["certificate"].as_str().expect("a demo lot's holders have its certificate").to_owned();

    // The ward's registrar sees every personal field.
    for path in
        [format!("/v1/parcels/{id}/rights"), format!("/v1/certificates/{serial}"), format!("/v1/parties/{party}")]
    {
        let (status, body) = r.get(&path, Some(&r.registrar)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.to_string().contains(name), "{path}: {body}");
    }
    // The public and a registrar of another ward: certified, never by whom.
    for token in [None, Some(r.other_registrar.as_str())] {
        let (status, rights) = r.get(&format!("/v1/parcels/{id}/rights"), token).await;
        assert_eq!(status, 200, "{rights}");
        assert_eq!(rights["certified"], true, "{rights}");
        assert_eq!(rights["certificates"][0]["serial"], serial.as_str());
        assert!(rights.get("rights").is_none(), "{rights}");
        let (status, certificate) = r.get(&format!("/v1/certificates/{serial}"), token).await;
        assert_eq!(status, 200, "{certificate}");
        assert_eq!(certificate["parcels"][0]["id"], id);
        assert!(certificate.get("holders").is_none() && certificate.get("endorsements").is_none(), "{certificate}");
        for body in [&rights, &certificate] {
            let text = body.to_string();
            assert!(!text.contains(name) && !text.contains(personal_id), "{text}");
        }
    }
    let (status, problem) = r.get(&format!("/v1/parties/{party}"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403, "{problem}");
    assert!(!problem.to_string().contains(name), "{problem}");
    let (status, _) = r.get(&format!("/v1/parties/{party}"), None).await;
    assert_eq!(status, 401);
    let (status, found) = r.get(&format!("/v1/parties?personal_id={personal_id}"), Some(&r.other_registrar)).await;
    assert_eq!(status, 200);
    assert_eq!(found, json!([]), "another ward's registrar finds no one there");
    let (status, problem) = r.get("/v1/parties?name=nguyen&ward=31135", Some(&r.other_registrar)).await;
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = r.get("/v1/parties?personal_id=123", Some(&r.registrar)).await;
    assert_eq!(status, 400, "{problem}");
}

#[tokio::test]
async fn an_endorsement_is_a_versioned_audited_write_and_bad_owners_write_nothing() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let serial = parcel["owners"][0]["certificate"].as_str().unwrap().to_owned();
    let path = format!("/v1/certificates/{serial}/endorsements");
    let text = "Đổi tên người sử dụng đất theo Căn cước (synthetic)";
    let body = json!({ "text": text, "source": { "kind": "application", "number": "000.00.35.H13-261130-0001" } });

    let (status, problem, _) = r.call(Method::POST, &path, Some(&r.registrar), Some(body.clone()), None).await;
    assert_eq!(status, 428, "{problem}");
    let (status, problem, _) =
        r.call(Method::POST, &path, Some(&r.other_registrar), Some(body.clone()), Some("\"1\"")).await;
    assert_eq!(status, 403, "{problem}");
    let (status, endorsed, headers) =
        r.call(Method::POST, &path, Some(&r.registrar), Some(body.clone()), Some("\"1\"")).await;
    assert_eq!(status, 201, "{endorsed}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(endorsed["status"], "endorsed");
    assert_eq!(endorsed["endorsements"][0]["text"], text);
    assert!(endorsed["endorsements"][0]["source"].as_str().unwrap().contains("H13-261130-0001"), "{endorsed}");
    let (status, problem, _) = r.call(Method::POST, &path, Some(&r.registrar), Some(body), Some("\"1\"")).await;
    assert_eq!(status, 412, "a stale version: {problem}");
    let (_, public) = r.get(&format!("/v1/certificates/{serial}"), None).await;
    assert_eq!(public["status"], "endorsed");
    assert!(!public.to_string().contains(text), "endorsement text is for the ward's registrars: {public}");
    let mut conn = r.db.connect().await;
    let (audited, fed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_log WHERE action = 'certificate.endorse'), \
                (SELECT count(*) FROM change WHERE layer = 'certificates')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((audited, fed), (1, 1));

    // An owners list with a personal ID that is not one: a 422 naming it, nothing written.
    let before = r.fingerprint().await;
    let bad = json!([{ "name": "Người Sai Số (synthetic)", "id_number": "999185000001" }]);
    let (status, problem) = patch_owners(&r, id, parcel["version"].as_i64().unwrap(), bad).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "owners");
    assert!(problem["detail"].as_str().unwrap().contains("province"), "{problem}");
    let uneven = json!([{ "name": "A (synthetic)", "share": "1/2" }, { "name": "B (synthetic)", "share": "1/3" }]);
    let (status, problem) = patch_owners(&r, id, parcel["version"].as_i64().unwrap(), uneven).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(r.fingerprint().await, before);
}

#[tokio::test]
async fn the_parts_of_a_split_are_held_by_the_parents_holders_and_the_parents_rights_end() {
    let r = Registry::start().await;
    let parent = r.some_parcel("31135").await;
    let parent_id = parent["id"].as_i64().unwrap();
    let parties: Vec<i64> =
        parent["owners"].as_array().unwrap().iter().map(|o| o["party_id"].as_i64().unwrap()).collect();
    let (left, right) = halves(&ring(&parent));
    let (status, split, _) = r
        .call(
            Method::POST,
            &format!("/v1/parcels/{parent_id}/split"),
            Some(&r.registrar),
            Some(json!({ "parts": [{ "geometry": left }, { "geometry": right }] })),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 201, "{split}");
    for child in split["children"].as_array().unwrap() {
        let held: Vec<i64> =
            child["owners"].as_array().unwrap().iter().map(|o| o["party_id"].as_i64().unwrap()).collect();
        assert_eq!(held, parties, "{child}");
    }
    let (_, rights) = r.get(&format!("/v1/parcels/{parent_id}/rights"), Some(&r.registrar)).await;
    assert_eq!(rights["rights"], json!([]), "a retired parcel holds no rights now: {rights}");
}

fn diaba(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap()
}

#[tokio::test]
async fn parties_are_checked_against_the_offices_population_register_and_mismatches_shown_not_fixed() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let holder = parcel["owners"][0].clone();
    let (name, personal_id, born) = (
        holder["name"].as_str().unwrap().to_owned(),
        holder["id_number"].as_str().unwrap().to_owned(),
        holder["date_of_birth"].as_str().unwrap().to_owned(),
    );
    // A synthetic register extract: the demo holder as the land register has them, and a
    // second person whose name the register spells with all its diacritics.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dan-cu.csv");
    std::fs::write(
        &file,
        format!(
            "so_dinh_danh,ho_ten,ngay_sinh,thuong_tru,trang_thai\n\
             {personal_id},{name},{born},\"Ninh Kiều, Cần Thơ (synthetic)\",còn hạn\n\
             {SYNTHETIC_ID},Lê Thị Hoa (synthetic),02/04/1985,\"Cái Răng, Cần Thơ (synthetic)\",hết hạn\n"
        ),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap().to_owned();
    let out = diaba(&["population", "import", &file_arg, "--synthetic", "--database-url", &r.db.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A bad extract: every problem reported, nothing replaced.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "personal_id,full_name\n999085004711,A (synthetic)\n092085004799,\n").unwrap();
    let out = diaba(&["population", "import", bad.to_str().unwrap(), "--database-url", &r.db.url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("line 2") && stderr.contains("line 3"), "{stderr}");
    let mut conn = r.db.connect().await;
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM population_record").fetch_one(&mut conn).await.unwrap();
    assert_eq!(kept, 2, "the earlier extract is still loaded");

    // The demo holder agrees with the register.
    let party = holder["party_id"].as_i64().unwrap();
    let (status, checked) = r.get(&format!("/v1/parties/{party}/verification"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["found"], true);
    assert_eq!(checked["mismatches"], json!([]), "{checked}");

    // A holder entered without one diacritic: shown as a mismatch, the party left as entered.
    let owners =
        json!([{ "name": "Lê Thi Hoa (synthetic)", "id_number": SYNTHETIC_ID, "date_of_birth": "1985-04-02" }]);
    let (status, patched) = patch_owners(&r, id, parcel["version"].as_i64().unwrap(), owners).await;
    assert_eq!(status, 200, "{patched}");
    let other = patched["owners"][0]["party_id"].as_i64().unwrap();
    let (status, checked) = r.get(&format!("/v1/parties/{other}/verification"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{checked}");
    let fields: Vec<&str> =
        checked["mismatches"].as_array().unwrap().iter().map(|m| m["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["full_name", "card_status"], "{checked}");
    assert_eq!(checked["mismatches"][0]["register"], "Lê Thị Hoa (synthetic)");
    let (_, party_now) = r.get(&format!("/v1/parties/{other}"), Some(&r.registrar)).await;
    assert_eq!(party_now["name"], "Lê Thi Hoa (synthetic)", "never corrected silently");
    let (status, _) = r.get(&format!("/v1/parties/{other}/verification"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403);

    // Pre-filling: the register's record, for a ward of the caller's; every lookup logged.
    let (status, resident) = r.get(&format!("/v1/population/{SYNTHETIC_ID}?ward=31135"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{resident}");
    assert_eq!(resident["full_name"], "Lê Thị Hoa (synthetic)");
    assert_eq!(resident["card_status"], "expired");
    let (status, _) = r.get(&format!("/v1/population/{SYNTHETIC_ID}?ward=31135"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403);
    let (status, _) = r.get("/v1/population/092085004799?ward=31135", Some(&r.registrar)).await;
    assert_eq!(status, 404);
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'population.lookup'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, 4, "two verifications and two lookups that reached the register");
}

#[tokio::test]
async fn a_household_holds_a_parcel_with_its_members_shares_and_its_members_see_it_as_theirs() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    let owners = json!([{ "name": "Hộ ông Phạm Văn Lâm (synthetic)", "kind": "household", "members": [
        { "name": "Phạm Văn Lâm (synthetic)", "id_number": "092080001234", "share": "1/2" },
        { "name": "Phạm Thị Mai (synthetic)", "id_number": "092185005678", "share": "1/2" }] }]);
    let (status, patched) = patch_owners(&r, id, parcel["version"].as_i64().unwrap(), owners).await;
    assert_eq!(status, 200, "{patched}");
    let holder = &patched["owners"][0];
    assert_eq!(holder["kind"], "household", "{patched}");
    let members: Vec<&str> =
        holder["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(members, ["Phạm Văn Lâm (synthetic)", "Phạm Thị Mai (synthetic)"]);
    assert_eq!(holder["members"][1]["share"], "1/2");

    let household = holder["party_id"].as_i64().unwrap();
    let (status, party) = r.get(&format!("/v1/parties/{household}"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{party}");
    assert_eq!(party["members"].as_array().unwrap().len(), 2, "{party}");
    // A member finds the household's parcel among their rights, by personal ID.
    let (_, found) = r.get("/v1/parties?personal_id=092185005678", Some(&r.registrar)).await;
    let member = found[0]["id"].as_i64().unwrap();
    let (status, theirs) = r.get(&format!("/v1/parties/{member}"), Some(&r.registrar)).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["rights"][0]["parcel_id"], id, "{theirs}");
    let (status, _) = r.get(&format!("/v1/parties/{member}"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403);
    // A household without members is refused.
    let empty = json!([{ "name": "Hộ trống (synthetic)", "kind": "household" }]);
    let (status, problem) = patch_owners(&r, id, patched["version"].as_i64().unwrap(), empty).await;
    assert_eq!(status, 422, "{problem}");
    // An organisation keeps its tax number.
    let company =
        json!([{ "name": "Công ty TNHH Sông Hậu (synthetic)", "kind": "organisation", "org_number": "1801234567" }]);
    let (status, sold) = patch_owners(&r, id, patched["version"].as_i64().unwrap(), company).await;
    assert_eq!(status, 200, "{sold}");
    assert_eq!(
        (sold["owners"][0]["kind"].as_str(), sold["owners"][0]["org_number"].as_str()),
        (Some("organisation"), Some("1801234567"))
    );
}
