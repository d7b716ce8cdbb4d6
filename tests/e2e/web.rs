//! The web pages as HTTP: served from --web-dir with a strict CSP and no framing; a
//! missing build is explained, not a blank page. (The pages themselves are tested in
//! Chromium by services/web/test.)

use crate::server::Server;
use diaba_test_harness::fresh_database;

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_every_answer_nosniff() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    for page in ["index.html", "field.html", "review.html", "sw.js", "manifest.webmanifest"] {
        std::fs::write(dir.path().join(page), format!("<!-- {page} (test stand-in) -->")).unwrap();
    }
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/map.js"), "export {};").unwrap();
    let server = Server::start(&["--database-url", &db.url, "--web-dir", dir.path().to_str().unwrap()]);

    for (path, body) in [("/", "index.html"), ("/field", "field.html"), ("/review", "review.html"), ("/sw.js", "sw.js")]
    {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let csp = header("content-security-policy").expect("a CSP");
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert!(response.text().await.unwrap().contains(body), "{path} serves {body}");
    }
    let script = reqwest::get(server.url("/assets/map.js")).await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(reqwest::get(server.url("/assets/missing.js")).await.unwrap().status(), 404);

    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff", "the API too");
    assert!(health.headers().get("content-security-policy").is_none(), "JSON needs no CSP");
}

#[tokio::test]
async fn without_built_pages_the_map_url_explains_how_to_build_them() {
    let db = fresh_database().await;
    let empty = tempfile::tempdir().unwrap();
    // Run from a directory with no services/web/dist so the default finds nothing there.
    let server = Server::start(&["--database-url", &db.url, "--web-dir", empty.path().join("none").to_str().unwrap()]);
    let response = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("npm run build"), "{problem}");
}
