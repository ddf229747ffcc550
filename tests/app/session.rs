//! Session cookies and lifetimes, and changes that ask for the password again.

use axum::http::StatusCode;
use ordo::auth::Role;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, test_config};

#[sqlx::test]
async fn https_cookie_is_host_prefixed_secure_httponly_lax(pool: PgPool) {
    let mut app = TestApp::with(
        pool,
        test_config(&[("ORDO_BASE_URL", "https://albo.example.org")]),
        std::sync::Arc::new(ordo::mail::LogMailer),
        |b| b,
    )
    .await;
    let r = app.get("/login").await;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-ordo_session="))
        .expect("session cookie");
    let lower = cookie.to_ascii_lowercase();
    for attr in ["; secure", "; httponly", "; samesite=lax", "; path=/"] {
        assert!(lower.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !lower.contains("domain="),
        "__Host- cookies have no Domain: {cookie}"
    );
    assert!(r.headers.get("strict-transport-security").is_some());
}

#[sqlx::test]
async fn plain_http_dev_mode_drops_prefix_and_secure(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let r = app.get("/login").await;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("ordo_session="))
        .expect("session cookie");
    let lower = cookie.to_ascii_lowercase();
    assert!(!lower.contains("; secure"));
    assert!(lower.contains("; httponly") && lower.contains("; samesite=lax"));
    assert!(r.headers.get("strict-transport-security").is_none());
}

#[sqlx::test]
async fn login_renews_the_session_id_and_logout_kills_the_old_cookie(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("mario@example.org", &[Role::Member], false).await;
    app.get("/login").await;
    let before = app
        .session_cookie()
        .expect("anonymous session for the CSRF token");
    app.post(
        "/login",
        &[("email", "mario@example.org"), ("password", PASSWORD)],
    )
    .await;
    let after = app.session_cookie().expect("session after login");
    assert_ne!(before, after, "the session id changes at login");
    // The pre-login id is worthless.
    let mut attacker = app.fresh_browser();
    attacker.cookies.insert("ordo_session".into(), before);
    assert_eq!(attacker.get("/portale").await.status, StatusCode::SEE_OTHER);

    assert_eq!(app.get("/portale").await.status, StatusCode::OK);
    let r = app.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Replaying the old cookie after logout: the server no longer knows it.
    let mut replay = app.fresh_browser();
    replay.cookies.insert("ordo_session".into(), after);
    let r = replay.get("/portale").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with("/login"));
}

#[sqlx::test]
async fn idle_timeout_and_absolute_lifetime_end_the_session_server_side(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    app.create_user("mario@example.org", &[Role::Member], false).await;
    app.login("mario@example.org", PASSWORD, None).await;
    assert_eq!(app.get("/portale").await.status, StatusCode::OK);
    // Idle timeout: the stored expiry passes (as 30 idle minutes would make it).
    sqlx::query("UPDATE tower_sessions.session SET expiry_date = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(app.get("/portale").await.status, StatusCode::SEE_OTHER);

    // Absolute lifetime: 12 h after login, even when active all the time.
    let mut b = app.fresh_browser();
    b.login("mario@example.org", PASSWORD, None).await;
    app.clock
        .advance(time::Duration::hours(11) + time::Duration::minutes(59));
    assert_eq!(b.get("/portale").await.status, StatusCode::OK);
    app.clock.advance(time::Duration::minutes(2));
    assert_eq!(b.get("/portale").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn changing_the_password_asks_for_it_and_ends_other_sessions(pool: PgPool) {
    let mut a = TestApp::new(pool).await;
    a.create_user("mario@example.org", &[Role::Member], false).await;
    a.login("mario@example.org", PASSWORD, None).await;
    let mut b = a.fresh_browser();
    b.login("mario@example.org", PASSWORD, None).await;

    a.get("/account").await;
    let r = a
        .post(
            "/account/password",
            &[
                ("current_password", "non è questa"),
                ("new_password", "nuova password 1"),
                ("password_confirm", "nuova password 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.texts(".alert-danger li")
            .iter()
            .any(|t| t.contains("password attuale"))
    );

    let r = a
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "nuova password 1"),
                ("password_confirm", "nuova password 1"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/account?ok=password"));
    assert_eq!(
        a.get("/portale").await.status,
        StatusCode::OK,
        "this session continues"
    );
    assert_eq!(
        b.get("/portale").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    let mut c = a.fresh_browser();
    assert_eq!(
        c.login("mario@example.org", PASSWORD, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.login("mario@example.org", "nuova password 1", None)
            .await
            .location(),
        Some("/portale")
    );
}

#[sqlx::test]
async fn changing_email_or_totp_asks_for_the_password(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    let secret = app
        .create_user("laura@example.org", &[Role::Secretariat], true)
        .await;
    app.login("laura@example.org", PASSWORD, secret.as_deref()).await;
    app.get("/account").await;

    let r = app
        .post(
            "/account/email",
            &[
                ("new_email", "laura.verdi@example.org"),
                ("current_password", "sbagliata!"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/account/email",
            &[("new_email", "non-un-indirizzo"), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li").iter().any(|t| t.contains("e-mail")));
    let r = app
        .post(
            "/account/email",
            &[
                ("new_email", "Laura.Verdi@example.org"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/account?ok=email"));
    assert_eq!(
        app.get("/account").await.texts("#account-email"),
        vec!["laura.verdi@example.org"]
    );
    let details: String =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'auth.email_changed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        details.contains("\"before\":{\"email\":\"laura@example.org\"}"),
        "{details}"
    );
    assert!(
        details.contains("\"after\":{\"email\":\"laura.verdi@example.org\"}"),
        "{details}"
    );

    let r = app
        .post("/account/totp/reset", &[("current_password", "sbagliata!")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get("/backoffice").await.status,
        StatusCode::OK,
        "TOTP still active"
    );
    let r = app
        .post("/account/totp/reset", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(r.location(), Some("/account/totp"));
    assert_eq!(
        app.get("/backoffice").await.location(),
        Some("/account/totp"),
        "must enrol again"
    );
}
