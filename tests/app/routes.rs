//! Every registered route, walked with every role and anonymously, against the permission table.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get;
use ordo::auth::{Decision, Principal, Role};
use ordo::router::{ROUTES, RouteSpec};
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, TestResponse};

/// A concrete path for a route pattern.
fn sample_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            "{*path}" => "x/y.css".to_string(),
            s if s.starts_with('{') => "1".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(app: &mut TestApp, spec: &RouteSpec) -> TestResponse {
    let path = sample_path(spec.path);
    if spec.method == "get" {
        app.get(&path).await
    } else {
        let token = app.csrf.clone().unwrap_or_default();
        let req = app
            .build(
                Method::from_bytes(spec.method.to_uppercase().as_bytes()).unwrap(),
                &path,
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf_token={token}")))
            .unwrap();
        app.request(req).await
    }
}

/// How the guard says no: anonymous → login (303 to /login?next=… for pages, 401 for the API);
/// logged in → 403; staff without second factor → enrolment.
fn denied(r: &TestResponse) -> bool {
    r.status == StatusCode::FORBIDDEN
        || r.status == StatusCode::UNAUTHORIZED && r.body.contains("\"status\":401")
        || r.status == StatusCode::SEE_OTHER
            && r.location()
                .is_some_and(|l| l.starts_with("/login?next=") || l == "/account/totp")
}

#[sqlx::test]
async fn every_route_with_every_role_matches_the_permission_table(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // Principals: anonymous, then one account per role (staff with TOTP active).
    let mut principals: Vec<(String, Principal, TestApp)> =
        vec![("anonymous".into(), Principal::anonymous(), app.fresh_browser())];
    for role in Role::ALL {
        let email = format!("{}@walk.example", role.as_str());
        let secret = app.create_user(&email, &[role], role.is_staff()).await;
        let mut browser = app.fresh_browser();
        let r = browser.login(&email, PASSWORD, secret.as_deref()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{role:?} login: {}", r.body);
        browser.get("/account").await; // a page with a CSRF token
        let principal = Principal {
            roles: vec![role],
            second_factor: role.is_staff(),
            authenticated: true,
        };
        principals.push((role.as_str().into(), principal, browser));
    }
    // Logout last: it ends the session.
    let mut specs: Vec<&RouteSpec> = ROUTES.iter().collect();
    specs.sort_by_key(|s| s.path == "/logout");
    let mut checked = 0;
    for spec in specs {
        for (name, principal, browser) in principals.iter_mut() {
            let expected_allow = principal.decide(spec.permission) == Decision::Allow;
            let r = call(browser, spec).await;
            assert!(
                r.status != StatusCode::INTERNAL_SERVER_ERROR,
                "{} {} as {name}: 500",
                spec.method,
                spec.path
            );
            assert_eq!(
                !denied(&r),
                expected_allow,
                "{} {} as {name}: expected {}, got {} {:?}",
                spec.method,
                spec.path,
                if expected_allow { "allow" } else { "deny" },
                r.status,
                r.location()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * (Role::ALL.len() + 1));
}

#[sqlx::test]
async fn a_route_outside_the_table_is_refused_for_everyone(pool: PgPool) {
    let unchecked = axum::Router::new().route("/segreto", get(|| async { "contenuto riservato" }));
    let mut app = TestApp::with(
        pool,
        crate::helpers::test_config(&[]),
        std::sync::Arc::new(ordo::mail::LogMailer),
        |b| b.unchecked(unchecked),
    )
    .await;
    let secret = app.create_user("admin@walk.example", &[Role::Admin], true).await;
    let r = app.get("/segreto").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.login("admin@walk.example", PASSWORD, secret.as_deref()).await;
    let r = app.get("/segreto").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("contenuto riservato"));
}

/// Routes must be added through the `routes!` table in src/router.rs. This fails when someone mounts
/// a route anywhere else (where it would escape the permission table and this walk).
#[test]
fn no_route_is_mounted_outside_the_router_table() {
    let mut offenders = vec![];
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("router.rs")
                || path.ends_with("lib.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                ".route(",
                ".route_service(",
                ".nest(",
                ".nest_service(",
                ".fallback_service(",
                "Router::new(",
            ] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes mounted outside src/router.rs: {offenders:?}"
    );
    // And lib.rs only adds the test hooks and the 404 fallback.
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    assert_eq!(lib.matches(".route(").count(), 0, "lib.rs must not mount routes");
}

#[test]
fn the_table_has_no_duplicates_and_covers_the_contract_paths() {
    let mut seen = std::collections::HashSet::new();
    for s in ROUTES {
        assert!(
            seen.insert((s.method, s.path)),
            "duplicate route {} {}",
            s.method,
            s.path
        );
    }
    for (m, p) in [
        ("get", "/login"),
        ("post", "/logout"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/portale"),
        ("get", "/backoffice"),
        ("get", "/api/v1"),
    ] {
        assert!(
            ROUTES.iter().any(|s| s.method == m && s.path == p),
            "{m} {p} missing"
        );
    }
}

#[sqlx::test]
async fn anonymous_api_gets_json_401_and_pages_redirect_to_login(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let r = app.get("/api/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"]["status"], 401);
    let r = app.get("/backoffice/audit").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login?next=%2Fbackoffice%2Faudit"));
    let _ = Request::<Body>::default();
}
