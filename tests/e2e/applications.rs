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

/// A live parcel of Ninh Kiều (31135), its first holder, the holder's party id and the
/// certificate serial (synthetic demo data).
async fn holder_in_ninh_kieu(r: &Registry) -> (Value, Value, i64, String) {
    let parcel = r.some_parcel("31135").await;
    let holder = parcel["owners"][0].clone();
    let (party, serial) = (holder["party_id"].as_i64().unwrap(), holder["certificate"].as_str().unwrap().to_owned());
    (parcel, holder, party, serial)
}

/// The webhook's calls once there are `n` (or after 20 s, whatever came).
pub(crate) async fn calls_once(calls: &std::sync::Mutex<Vec<Value>>, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while calls.lock().unwrap().len() < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    calls.lock().unwrap().clone()
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
    let (parcel, holder, party, serial) = holder_in_ninh_kieu(&r).await;
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
    let (_, _, party, serial) = holder_in_ninh_kieu(&r).await;
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
    let (_, _, party, serial) = holder_in_ninh_kieu(&r).await;
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
    let (_, holder, _, _) = holder_in_ninh_kieu(&r).await;
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

/// A webhook receiver on loopback: the bodies it was sent.
pub(crate) async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move { kept.lock().unwrap().push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn documents_are_checked_by_content_the_fee_is_paid_and_a_new_certificate_replaces_the_old() {
    let r = Registry::start().await;
    let (parcel, holder, _, _) = holder_in_ninh_kieu(&r).await;
    let old_serial = holder["certificate"].as_str().unwrap().to_owned();
    let documents = tempfile::tempdir().unwrap();
    let (hook, calls) = webhook_receiver().await;
    let node = crate::server::Server::start(&[
        "--database-url",
        &r.db.url,
        "--documents-dir",
        documents.path().to_str().unwrap(),
        "--max-document-mb",
        "1",
        "--fee",
        "holder_change=50000",
        "--notify-webhook",
        &hook,
    ]);
    let client = reqwest::Client::new();
    let post = |path: String, body: Value, version: Option<i64>| {
        let mut request = client.post(node.url(&path)).bearer_auth(&r.registrar).json(&body);
        if let Some(v) = version {
            request = request.header("If-Match", format!("\"{v}\""));
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let dossier = json!({ "certificate": old_serial, "party_id": holder["party_id"], "applicant_name": "Người nộp (synthetic)",
                          "changes": { "name": "Tên Cấp Đổi (synthetic)" }, "reason": "Cấp đổi giấy chứng nhận (synthetic)" });
    let (status, created) = post("/v1/applications".into(), dossier, None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["fee_vnd"], 50_000);
    let code = created["code"].as_str().unwrap().to_owned();

    // Documents: the content decides, not the name or the Content-Type.
    let upload = |name: &str, media: &str, bytes: Vec<u8>| {
        let url = node.url(&format!("/v1/applications/{code}/documents?kind=certificate&name={name}"));
        let request = client.post(url).bearer_auth(&r.registrar).header("Content-Type", media).body(bytes);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let media = response.headers()["content-type"].to_str().unwrap().to_owned();
            (status, media, response.json::<Value>().await.unwrap())
        }
    };
    let (status, media, problem) = upload("scan.pdf", "application/pdf", b"MZ\x90\0 not a pdf at all".to_vec()).await;
    assert_eq!((status.as_u16(), media.as_str()), (422, "application/problem+json"), "{problem}");
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(1024 * 1024 + 100, b' ');
    big.extend_from_slice(b"\n%%EOF\n");
    let (status, _, problem) = upload("big.pdf", "application/pdf", big).await;
    assert_eq!(status, 413, "{problem}");
    let pdf = b"%PDF-1.4\n% giay chung nhan (synthetic)\n%%EOF\n".to_vec();
    let (status, _, document) = upload("gcn.pdf", "application/octet-stream", pdf.clone()).await;
    assert_eq!(status, 201, "{document}");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pdf));
    assert_eq!(document["sha256"], sha.as_str());
    assert_eq!(document["media_type"], "application/pdf");
    assert_eq!(std::fs::read(documents.path().join(&sha[..2]).join(&sha)).unwrap(), pdf);
    let stored = documents.path().read_dir().unwrap().count();
    assert_eq!(stored, 1, "the refused files left nothing behind");
    let back = client
        .get(node.url(&format!("/v1/applications/{code}/documents/{}", document["id"])))
        .bearer_auth(&r.registrar)
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["content-type"], "application/pdf");
    assert_eq!(back.bytes().await.unwrap().as_ref(), pdf.as_slice());
    let (status, _) = r.get(&format!("/v1/applications/{code}/documents"), Some(&r.other_registrar)).await;
    assert_eq!(status, 403, "another ward's registrar sees no documents");

    // No approval before the fee is paid; paid at the counter with its receipt.
    for (i, name) in ["receive", "review"].into_iter().enumerate() {
        let (status, body) = post(format!("/v1/applications/{code}/{name}"), json!({}), Some(i as i64 + 1)).await;
        assert_eq!(status, 200, "{body}");
    }
    let new_serial = "DZ 00000001";
    let approval = json!({ "outcome": "new_certificate", "new_certificate": new_serial });
    let (status, problem) = post(format!("/v1/applications/{code}/approve"), approval.clone(), Some(3)).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("50000 VND"), "{problem}");
    let receipt = json!({ "provider": "counter", "amount_vnd": 50_000, "reference": "BL-0001 (synthetic)" });
    let (status, paid) = post(format!("/v1/applications/{code}/payments"), receipt.clone(), None).await;
    assert_eq!((status.as_u16(), paid["paid_vnd"].as_i64()), (200, Some(50_000)), "{paid}");
    let (status, _) = post(format!("/v1/applications/{code}/payments"), receipt, None).await;
    assert_eq!(status, 422, "nothing more is due");

    // Approval issues the new certificate; the old one is replaced, the rights go on under it.
    let (status, approved) = post(format!("/v1/applications/{code}/approve"), approval, Some(3)).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(
        (approved["outcome"].as_str(), approved["new_certificate"].as_str()),
        (Some("new_certificate"), Some(new_serial))
    );
    let (_, old) = r.get(&format!("/v1/certificates/{old_serial}"), Some(&r.registrar)).await;
    assert_eq!((old["status"].as_str(), old["replaced_by"].as_str()), (Some("replaced"), Some(new_serial)), "{old}");
    let (_, rights) = r.get(&format!("/v1/parcels/{}/rights", parcel["id"]), Some(&r.registrar)).await;
    let attested: Vec<&str> =
        rights["rights"].as_array().unwrap().iter().filter_map(|r| r["certificate"].as_str()).collect();
    assert_eq!(attested, [new_serial], "{rights}");

    // The parcel's history shows the change and its dossier; what it says, only to the ward.
    let history = format!("/v1/parcels/{}/history", parcel["id"]);
    let (_, seen) = r.get(&history, Some(&r.registrar)).await;
    let issued =
        seen["register_changes"].as_array().unwrap().iter().find(|c| c["kind"] == "certificate_issued").cloned();
    let issued = issued.unwrap_or_else(|| panic!("no issued certificate in {}", seen["register_changes"]));
    assert_eq!(issued["certificate"], new_serial);
    assert_eq!(issued["source"], format!("application {code}"));
    assert!(issued["text"].as_str().unwrap().contains(&old_serial));
    let (_, public) = r.get(&history, None).await;
    assert!(public["register_changes"].as_array().unwrap().iter().all(|c| c["text"].is_null()), "{public}");

    // Every step reached the webhook, with nothing personal in it.
    let calls = calls_once(&calls, 3).await;
    let states: Vec<&str> = calls.iter().filter_map(|c| c["state"].as_str()).collect();
    assert_eq!(states, ["received", "in_review", "approved"], "{calls:?}");
    let text = serde_json::to_string(&calls).unwrap();
    for personal in ["Người nộp", "Tên Cấp Đổi", "Cấp đổi giấy", holder["name"].as_str().unwrap()] {
        assert!(!text.contains(personal), "{personal} in a webhook call: {text}");
    }
}

#[tokio::test]
async fn the_office_is_told_once_of_a_dossier_due_on_the_next_working_day() {
    let r = Registry::start().await;
    let (_, holder, _, _) = holder_in_ninh_kieu(&r).await;
    let created = submit(
        &r,
        holder["certificate"].as_str().unwrap(),
        holder["party_id"].as_i64().unwrap(),
        "Tên Hẹn (synthetic)",
    )
    .await;
    let code = created["code"].as_str().unwrap().to_owned();
    let (status, _) = step(&r, &code, "receive", 1, None).await;
    assert_eq!(status, 200);
    // Received long ago: it falls due on the next working day.
    let tomorrow = diaba_core::workdays::working_day_after(diaba_core::today_in_vietnam());
    let mut conn = r.db.connect().await;
    sqlx::query("UPDATE application SET due_on = $2 WHERE code = $1")
        .bind(&code)
        .bind(tomorrow)
        .execute(&mut conn)
        .await
        .unwrap();
    let (hook, calls) = webhook_receiver().await;
    // Two nodes look for it at once; the office hears of it once.
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            crate::server::Server::start(&[
                "--database-url",
                &r.db.url,
                "--notify-webhook",
                &hook,
                "--office-email",
                "vpdk@example.test",
            ])
        })
        .collect();
    calls_once(&calls, 1).await;
    // A second node's notice would come within its next round: give it two.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let calls = calls.lock().unwrap().clone();
    let due: Vec<&Value> = calls.iter().filter(|c| c["step"] == "due_soon" && c["code"] == code.as_str()).collect();
    assert_eq!(due.len(), 1, "{calls:?}");
    assert_eq!(due[0]["due_on"], tomorrow.to_string());
    // The office's e-mail waits in the outbox (no SMTP server here), addressed to the office.
    let queued: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.recipient, n.subject FROM notification n JOIN application a ON a.id = n.application_id \
         WHERE a.code = $1 AND n.channel = 'email'",
    )
    .bind(&code)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, "vpdk@example.test");
    assert!(queued[0].1.contains(&code), "{queued:?}");
    drop(nodes);
}

#[tokio::test]
async fn a_concurrent_approval_and_withdrawal_end_in_exactly_one_outcome() {
    let r = Registry::start().await;
    let (_, _, party, serial) = holder_in_ninh_kieu(&r).await;
    let created = submit(&r, &serial, party, "Tên Đua (synthetic)").await;
    let code = created["code"].as_str().unwrap().to_owned();
    for (i, name) in ["receive", "review"].into_iter().enumerate() {
        let (status, body) = step(&r, &code, name, i as i64 + 1, None).await;
        assert_eq!(status, 200, "{body}");
    }
    // The citizen's withdrawal (recorded at the counter) and the approval, on version 3.
    let ((a, approved), (w, withdrawn)) =
        tokio::join!(step(&r, &code, "approve", 3, None), step(&r, &code, "withdraw", 3, None));
    let mut outcomes = [a.as_u16(), w.as_u16()];
    outcomes.sort_unstable();
    assert_eq!(outcomes, [200, 412], "{approved} {withdrawn}");
    let (_, now) = r.get(&format!("/v1/applications/{code}"), Some(&r.registrar)).await;
    let mut conn = r.db.connect().await;
    let endorsed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM certificate_endorsement e JOIN admin_source s ON s.id = e.source_id WHERE s.number = $1",
    )
    .bind(&code)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    if a == StatusCode::OK {
        assert_eq!((now["state"].as_str(), endorsed), (Some("approved"), 1), "{now}");
    } else {
        assert_eq!((now["state"].as_str(), endorsed), (Some("withdrawn"), 0), "the withdrawal changed nothing: {now}");
    }
    assert_eq!(now["events"].as_array().unwrap().len(), 4, "one step recorded, not two: {now}");
}
