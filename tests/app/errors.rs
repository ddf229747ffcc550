//! Bad input gets a clear page and the right status, never a 500; panics are contained.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::routing::get;
use ordo::auth::{Permission, Role};
use ordo::router::RouteSpec;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, test_config};

#[sqlx::test]
async fn unknown_route_is_a_404_page_in_the_layout_and_json_under_api(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let r = app.get("/non-esiste").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.texts("h1"), vec!["Pagina non trovata"]);
    assert!(r.has("header.it-header-wrapper") && r.has("footer#footer"));
    let r = app.get("/api/v1/non-esiste").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["status"], 404);
}

#[sqlx::test]
async fn oversized_body_is_413(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.get("/login").await;
    let big = format!("email=a%40b.it&password={}", "x".repeat(13 * 1024 * 1024));
    let req = app
        .build(Method::POST, "/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len().to_string())
        .body(Body::from(big))
        .unwrap();
    let r = app.request(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.texts("h1"), vec!["Dati troppo grandi"]);
}

#[sqlx::test]
async fn malformed_forms_get_clear_pages(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.get("/login").await;
    let token = app.csrf.clone().unwrap();
    // Wrong content type.
    let req = app
        .build(Method::POST, "/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .header("x-csrf-token", token.as_str())
        .body(Body::from("email=x"))
        .unwrap();
    let r = app.request(req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.texts("h1"), vec!["Formato non supportato"]);
    // Missing fields and garbage.
    let r = app.post("/login", &[("qualcosa", "%%%")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger")[0].contains("e-mail"));
    let req = app
        .build(Method::POST, "/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={token}&email=%ZZ&password=\u{0}")))
        .unwrap();
    let r = app.request(req).await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

#[sqlx::test]
async fn missing_or_wrong_csrf_token_is_403_with_a_message(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("mario@example.org", &[Role::Member], false).await;
    app.get("/login").await;
    let r = app
        .post_raw(
            "/login",
            &[("email", "mario@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.texts(".alert-danger")[0].contains("Ricarica la pagina"));
    let r = app
        .post_raw(
            "/login",
            &[
                ("email", "mario@example.org"),
                ("password", PASSWORD),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cross-site form post (another Origin) is refused even with the token.
    let token = app.csrf.clone().unwrap();
    let body = format!("email=mario%40example.org&password=x&csrf_token={token}");
    let req = app
        .build(Method::POST, "/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.request(req).await.status, StatusCode::FORBIDDEN);
    // A fresh browser with no session at all.
    let mut other = app.fresh_browser();
    let r = other.post_raw("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn boom() -> &'static str {
    panic!("segreto interno: stack e dettagli")
}

#[sqlx::test]
async fn a_panic_answers_a_generic_500_and_the_app_keeps_serving(pool: PgPool) {
    let spec = RouteSpec {
        method: "get",
        path: "/test/panic",
        permission: Permission::Public,
    };
    let mut app = TestApp::with(
        pool,
        test_config(&[]),
        std::sync::Arc::new(ordo::mail::LogMailer),
        |b| b.route(spec, get(boom)),
    )
    .await;
    let r = app.get("/test/panic").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.texts("h1"), vec!["Errore interno"]);
    assert!(
        !r.body.contains("segreto interno") && !r.body.contains("panic"),
        "no internals on the page"
    );
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/test/panic").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

/// Everything the app logs in this test process, through a global subscriber installed once (a
/// thread-local one misses events logged while other tests run on other threads).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> &'static Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber of the tests");
        captured
    })
}

#[sqlx::test]
async fn cr_lf_in_input_cannot_forge_a_log_line(pool: PgPool) {
    let captured = captured_logs();
    let marker = format!("m{}", uuid::Uuid::new_v4().simple());
    let mut app = TestApp::new(pool).await;
    app.get("/login").await;
    let evil = format!("{marker}@example.org\r\n2026-11-22T00:00:00Z  INFO FORGED: admin logged in\n");
    let r = app
        .post("/login", &[("email", &evil), ("password", "qualsiasi cosa")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    app.get(&format!("/login?next={}", "%0d%0aFORGED")).await;
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    let ours: Vec<&str> = logs.lines().filter(|l| l.contains(&marker)).collect();
    assert!(
        ours.iter().any(|l| l.contains("login failed")),
        "the attempt is logged: {logs}"
    );
    assert!(
        ours.iter().all(|l| l.contains("\\r\\n")),
        "CR/LF escaped in the log: {ours:?}"
    );
    assert!(
        logs.lines()
            .all(|l| !l.trim_start().starts_with("2026-11-22T00:00:00Z") && !l.starts_with("FORGED")),
        "forged line: {logs}"
    );
}
