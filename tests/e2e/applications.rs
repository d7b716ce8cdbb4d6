//! The holder-change service over HTTP, as the office runs it for a dossier received at the
//! counter: due dates in working days, requisition and resubmission, a public status with
//! nothing personal, one outcome when two steps race, and approval changing the register.
//! Every name here is synthetic.

use crate::parcels::Registry;
use diaba_core::workdays::due_date;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn step(r: &Registry, code: &str, step: &str, version: i64, note: Option<&str>) -> (StatusCode, Value) {
    let body = note.map_or_else(|| json!({}), |n| json!({ "note": n }));
    let etag = format!("\"{version}\"");
    let path = format!("/v1/applications/{code}/{step}");
    let (status, body, _) = r.call(Method::POST, &path, Some(&r.registrar), Some(body), Some(&etag)).await;
    (status, body)
}

async fn submit(r: &Registry, serial: &str, party: i64, new_name: &str) -> Value {
    let dossier = json!({ "certificate": serial, "party_id": party, "applicant_name": "Người nộp hồ sơ (synthetic)",
                          "changes": { "name": new_name, "address": "Phường Cái Khế (synthetic)" },
                          "reason": "Đổi tên theo quyết định (synthetic)" });
    let (status, created, headers) =
        r.call(Method::POST, "/v1/applications", Some(&r.registrar), Some(dossier), None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["etag"], "\"1\"");
    created
}

#[tokio::test]
async fn a_counter_dossier_is_received_requisitioned_and_approved_and_the_register_changes() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let holder = parcel["owners"][0].clone();
    let (party, serial) = (holder["party_id"].as_i64().unwrap(), holder["certificate"].as_str().unwrap().to_owned());
    let old_name = holder["name"].as_str().unwrap().to_owned();

    let created = submit(&r, &serial, party, "Tên Mới Một (synthetic)").await;
    let code = created["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("CT-20") && code.len() == 14, "{code}");
    assert_eq!(created["state"], "submitted");

    // Anyone with the code sees the state and dates; nothing personal.
    let (status, public) = r.get(&format!("/v1/applications/{code}/status"), None).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["state"], "submitted");
    let text = public.to_string();
    for private in [old_name.as_str(), "Người nộp hồ sơ", "Tên Mới Một", "Cái Khế", "Đổi tên", "party"]
    {
        assert!(!text.contains(private), "{private} in the public status: {text}");
    }
    // Only the ward's registrars see the dossier.
    let (status, _) = r.get(&format!("/v1/applications/{code}"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403);
    let (status, _) = r.get("/v1/applications?ward=31135", Some(&r.other_registrar)).await;
    assert_eq!(status, 403);

    // Received today: due in 4 working days, the population register consulted.
    let (status, received) = step(&r, &code, "receive", 1, None).await;
    assert_eq!(status, 200, "{received}");
    let today: chrono::NaiveDate = received["received_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(received["due_on"].as_str().unwrap(), due_date(today, 4).to_string());
    assert_eq!(received["working_days_left"], 4);
    assert!(received["population"].is_object(), "{received}");
    let (status, problem) = step(&r, &code, "requisition", 2, None).await;
    assert_eq!(status, 422, "a requisition lists the missing papers: {problem}");
    let (status, problem) = step(&r, &code, "close", 2, None).await;
    assert_eq!(status, 409, "nothing is closed before approval: {problem}");
    let (status, problem) = step(&r, &code, "teleport", 2, None).await;
    assert_eq!(status, 404, "{problem}");
    let (status, asked) = step(&r, &code, "requisition", 2, Some("Bản sao Căn cước (synthetic)")).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!((asked["state"].as_str(), asked["working_days_left"].as_i64()), (Some("requisitioned"), None));
    let (status, back) = step(&r, &code, "resubmit", 3, None).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["state"], "in_review");
    assert_eq!(back["events"].as_array().unwrap().len(), 4, "submit, receive, requisition, resubmit: {back}");

    // Two registrars at once, one approving and one refusing the same version: one outcome.
    let approve = step(&r, &code, "approve", 4, None);
    let refuse = step(&r, &code, "refuse", 4, Some("Không đủ điều kiện (synthetic)"));
    let ((a, approved), (b, refused)) = tokio::join!(approve, refuse);
    let mut outcomes = [a.as_u16(), b.as_u16()];
    outcomes.sort_unstable();
    assert_eq!(outcomes, [200, 412], "{approved} {refused}");
    let (_, now) = r.get(&format!("/v1/applications/{code}"), Some(&r.registrar)).await;
    let approved_code = if a == StatusCode::OK {
        assert_eq!(now["state"], "approved");
        code.clone()
    } else {
        assert_eq!(now["state"], "refused");
        // The refusal changed nothing: approve a second dossier to see the change applied.
        let second = submit(&r, &serial, party, "Tên Mới Một (synthetic)").await;
        let second = second["code"].as_str().unwrap().to_owned();
        for (i, name) in ["receive", "review", "approve"].into_iter().enumerate() {
            let (status, body) = step(&r, &second, name, i as i64 + 1, None).await;
            assert_eq!(status, 200, "{body}");
        }
        second
    };

    // The register changed: the holder's next version, the endorsement naming the dossier.
    let (_, holder_now) = r.get(&format!("/v1/parties/{party}"), Some(&r.registrar)).await;
    assert_eq!(holder_now["name"], "Tên Mới Một (synthetic)");
    assert_eq!(holder_now["version"], 2);
    let (_, certificate) = r.get(&format!("/v1/certificates/{serial}"), Some(&r.registrar)).await;
    assert_eq!(certificate["status"], "endorsed");
    let endorsement = certificate["endorsements"].as_array().unwrap().last().unwrap().clone();
    assert!(endorsement["text"].as_str().unwrap().contains(&approved_code), "{endorsement}");
    assert!(endorsement["text"].as_str().unwrap().contains(&old_name), "{endorsement}");
    assert!(endorsement["source"].as_str().unwrap().contains(&approved_code), "{endorsement}");
    let (_, parcel_now) = r.get(&format!("/v1/parcels/{}", parcel["id"]), Some(&r.registrar)).await;
    assert_eq!(parcel_now["owners"][0]["name"], "Tên Mới Một (synthetic)");
    // The name before the dossier is still the register's answer for the day before it.
    let mut conn = r.db.connect().await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM party_version WHERE party_id = $1 ORDER BY version")
        .bind(party)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(names, [old_name.as_str(), "Tên Mới Một (synthetic)"]);
    let (status, listed) = r.get("/v1/applications?ward=31135&status=approved", Some(&r.registrar)).await;
    assert_eq!(status, 200);
    assert!(listed.as_array().unwrap().iter().any(|d| d["code"] == approved_code.as_str()), "{listed}");
}

#[tokio::test]
async fn a_suspension_gives_the_days_back_and_the_office_sees_what_is_overdue() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let holder = parcel["owners"][0].clone();
    let (party, serial) = (holder["party_id"].as_i64().unwrap(), holder["certificate"].as_str().unwrap().to_owned());
    let code = submit(&r, &serial, party, "Tên Khác (synthetic)").await["code"].as_str().unwrap().to_owned();
    let (_, received) = step(&r, &code, "receive", 1, None).await;
    let due = received["due_on"].clone();
    let (status, problem) = step(&r, &code, "suspend", 2, None).await;
    assert_eq!(status, 422, "a suspension names the dispute notice: {problem}");
    let (status, suspended) = step(&r, &code, "suspend", 2, Some("Thông báo tranh chấp số 12 (synthetic)")).await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!((suspended["state"].as_str(), suspended["working_days_left"].as_i64()), (Some("suspended"), None));
    let (status, problem) = step(&r, &code, "approve", 3, None).await;
    assert_eq!(status, 409, "nothing is approved while suspended: {problem}");
    let (status, resumed) = step(&r, &code, "resume", 3, None).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["state"], "received", "back where it stopped");
    assert_eq!(resumed["due_on"], due, "suspended and resumed the same day: the same due date");

    // Time passes (the test moves the due date back): the dossier is overdue.
    let mut conn = r.db.connect().await;
    sqlx::query("UPDATE application SET due_on = DATE '2026-01-05' WHERE code = $1")
        .bind(&code)
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, overdue) = r.get("/v1/applications?ward=31135&overdue=true", Some(&r.registrar)).await;
    assert_eq!(status, 200, "{overdue}");
    let codes: Vec<&str> = overdue.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, [code.as_str()]);
    let (status, figures) = r.get("/v1/applications/figures?ward=31135", Some(&r.registrar)).await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!((figures[0]["received"].as_i64(), figures[0]["overdue"].as_i64()), (Some(1), Some(1)), "{figures}");
    let (status, _) = r.get("/v1/applications/figures?ward=31135", Some(&r.other_registrar)).await;
    assert_eq!(status, 403);

    // Withdrawn at the citizen's request: final, and no longer overdue.
    let (status, withdrawn) = step(&r, &code, "withdraw", 4, None).await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["events"].as_array().unwrap().last().unwrap()["by"], "citizen");
    let (_, overdue) = r.get("/v1/applications?ward=31135&overdue=true", Some(&r.registrar)).await;
    assert_eq!(overdue, json!([]));
}

#[tokio::test]
async fn the_qr_code_of_a_dossier_reads_back_as_its_status_address() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let holder = parcel["owners"][0].clone();
    let (party, serial) = (holder["party_id"].as_i64().unwrap(), holder["certificate"].as_str().unwrap().to_owned());
    let code = submit(&r, &serial, party, "Tên QR (synthetic)").await["code"].as_str().unwrap().to_owned();
    let response = reqwest::get(r.server.url(&format!("/v1/applications/{code}/qr.svg"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let dir = tempfile::tempdir().unwrap();
    let (svg, png) = (dir.path().join("qr.svg"), dir.path().join("qr.png"));
    std::fs::write(&svg, response.bytes().await.unwrap()).unwrap();
    // Rasterised by librsvg and read by zbar, as a phone's camera would.
    let status =
        std::process::Command::new("rsvg-convert").arg("-o").arg(&png).arg(&svg).status().expect("rsvg-convert");
    assert!(status.success());
    let out = std::process::Command::new("zbarimg").args(["--raw", "-q"]).arg(&png).output().expect("zbarimg");
    let read = String::from_utf8(out.stdout).unwrap();
    let expected = r.server.url(&format!("/v1/applications/{code}/status"));
    assert_eq!(read.trim(), expected);
    let (status, _) = r.get("/v1/applications/CT-2026-999999/qr.svg", None).await;
    assert_eq!(status, 404, "no QR for a dossier that does not exist");
}

#[tokio::test]
async fn a_difficult_communes_dossier_gets_fourteen_working_days() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let holder = parcel["owners"][0].clone();
    // The same register served by a node that counts Ninh Kiều among difficult communes.
    let node = crate::server::Server::start(&["--database-url", &r.db.url, "--difficult-wards", "31299,31135"]);
    let client = reqwest::Client::new();
    let dossier = json!({ "certificate": holder["certificate"], "party_id": holder["party_id"],
                          "applicant_name": "Người nộp (synthetic)", "changes": { "address": "Ấp Nhơn Lộc (synthetic)" },
                          "reason": "Đổi địa chỉ (synthetic)" });
    let created: Value = client
        .post(node.url("/v1/applications"))
        .bearer_auth(&r.registrar)
        .json(&dossier)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["limit_days"], 14, "{created}");
    let code = created["code"].as_str().unwrap();
    let received: Value = client
        .post(node.url(&format!("/v1/applications/{code}/receive")))
        .bearer_auth(&r.registrar)
        .header("If-Match", "\"1\"")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let today: chrono::NaiveDate = received["received_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(received["due_on"].as_str().unwrap(), due_date(today, 14).to_string(), "{received}");
}
