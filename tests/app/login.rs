//! Login with password and TOTP, replay refusal, recovery codes, throttling, enrolment.

use axum::http::StatusCode;
use ordo::auth::Role;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp};

#[sqlx::test]
async fn member_without_totp_logs_in_with_password_and_reaches_the_portal_only(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("mario@example.org", &[Role::Member], false).await;
    let r = app.login("Mario@Example.org ", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/portale"));
    assert_eq!(app.get("/portale").await.status, StatusCode::OK);
    assert_eq!(app.get("/backoffice").await.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn staff_login_needs_the_totp_code_and_a_code_works_once(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let secret = app
        .create_user("laura@example.org", &[Role::Secretariat], true)
        .await
        .unwrap();
    app.get("/login").await;
    let r = app
        .post(
            "/login",
            &[("email", "laura@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.location(), Some("/login/otp"));
    // Not logged in yet: the back office still sends to the login page.
    assert_eq!(app.get("/backoffice").await.status, StatusCode::SEE_OTHER);
    app.get("/login/otp").await;
    let code = app.totp_code(&secret);
    let r = app.post("/login/otp", &[("code", &code)]).await;
    assert_eq!(r.location(), Some("/backoffice"));
    let r = app.get("/backoffice").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("h1")[0].contains("Back office"));

    // Same code, new login in another browser within the same time step: refused (replay).
    let mut other = app.fresh_browser();
    other.get("/login").await;
    other
        .post(
            "/login",
            &[("email", "laura@example.org"), ("password", PASSWORD)],
        )
        .await;
    other.get("/login/otp").await;
    let r = other.post("/login/otp", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.has(".alert-danger"));
    assert_eq!(other.get("/backoffice").await.status, StatusCode::SEE_OTHER);

    // The next time step's code works.
    app.next_totp_step();
    let code = other.totp_code(&secret);
    let r = other.post("/login/otp", &[("code", &code)]).await;
    assert_eq!(r.location(), Some("/backoffice"));
}

#[sqlx::test]
async fn a_recovery_code_replaces_the_totp_code_once(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("anna@example.org", &[Role::President], false)
        .await;
    // Enrol TOTP through the pages to get the recovery codes.
    let r = app.login("anna@example.org", PASSWORD, None).await;
    assert_eq!(
        r.location(),
        Some("/account/totp"),
        "staff without TOTP go to enrolment"
    );
    let page = app.get("/account/totp").await;
    let secret = page.texts("#totp-secret")[0].clone();
    assert!(page.has("img#totp-qr[src^='data:image/png;base64,']"));
    // A wrong code is refused with a message.
    let r = app.post("/account/totp", &[("code", "000000")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.has(".alert-danger"));
    let code = app.totp_code(&secret);
    let r = app.post("/account/totp", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let codes = r.texts("#recovery-codes li");
    assert_eq!(codes.len(), 10);

    let mut b = app.fresh_browser();
    b.get("/login").await;
    b.post("/login", &[("email", "anna@example.org"), ("password", PASSWORD)])
        .await;
    b.get("/login/otp").await;
    let r = b.post("/login/otp", &[("code", &codes[3].to_uppercase())]).await;
    assert_eq!(r.location(), Some("/backoffice"));

    let mut c = app.fresh_browser();
    c.get("/login").await;
    c.post("/login", &[("email", "anna@example.org"), ("password", PASSWORD)])
        .await;
    c.get("/login/otp").await;
    let r = c.post("/login/otp", &[("code", &codes[3])]).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a recovery code is single-use"
    );
}

#[sqlx::test]
async fn staff_without_totp_cannot_reach_the_back_office(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("paolo@example.org", &[Role::Treasurer], false)
        .await;
    app.login("paolo@example.org", PASSWORD, None).await;
    let r = app.get("/backoffice").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/account/totp"));
    assert_eq!(app.get("/account").await.status, StatusCode::OK);
}

#[sqlx::test]
async fn wrong_password_twenty_times_is_throttled_with_429(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("luca@example.org", &[Role::Member], false).await;
    app.get("/login").await;
    let mut statuses = vec![];
    for _ in 0..20 {
        let r = app
            .post(
                "/login",
                &[("email", "luca@example.org"), ("password", "sbagliata-123")],
            )
            .await;
        assert!(r.has("#login-form"), "the login form stays on the page");
        statuses.push(r.status);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(throttled >= 10, "back-off visible in the status: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // While locked even the right password is refused; Retry-After says how long.
    let r = app
        .post("/login", &[("email", "luca@example.org"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(r.texts(".alert-danger")[0].contains("Troppi tentativi"));
    // After the wait, the right password works and resets the counter.
    app.clock.advance(time::Duration::seconds(retry + 1));
    let r = app
        .post("/login", &[("email", "luca@example.org"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.location(), Some("/portale"));
}

#[sqlx::test]
async fn login_does_not_reveal_whether_an_account_exists(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    app.create_user("sara@example.org", &[Role::Member], false).await;
    app.get("/login").await;
    let mut timings = [vec![], vec![]];
    let mut bodies = vec![];
    for round in 0..3 {
        for (i, email) in ["sara@example.org", "nessuno@example.org"].iter().enumerate() {
            let started = std::time::Instant::now();
            let r = app
                .post("/login", &[("email", email), ("password", "password-errata")])
                .await;
            timings[i].push(started.elapsed());
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "round {round} {email}");
            bodies.push(r.texts(".alert-danger"));
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "same message: {bodies:?}"
    );
    // Both paths run the password hash: the unknown account is not answered much faster
    // (without the dummy check it would be ~100× faster; the bound leaves room for noise).
    timings[0].sort();
    timings[1].sort();
    let (known, unknown) = (timings[0][1], timings[1][1]);
    assert!(unknown * 4 > known, "known {known:?} vs unknown {unknown:?}");
}

#[sqlx::test]
async fn passwords_from_8_to_256_characters_with_no_composition_rules(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (i, pw) in [
        "abcdefgh".to_string(),
        "a".repeat(64),
        "è ü ß 🙂 ".repeat(20),
        " ".repeat(8),
    ]
    .iter()
    .enumerate()
    {
        let email = format!("p{i}@example.org");
        let mut tx = app.state.pool.begin().await.unwrap();
        ordo::auth::service::create_account(
            &mut tx,
            app.clock_now(),
            &ordo::audit::Actor::system("t"),
            ordo::auth::service::NewAccount {
                email: &email,
                display_name: "X",
                password: pw,
                roles: &[Role::Member],
                totp_secret: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("password of {} chars refused: {e:?}", pw.chars().count()));
        tx.commit().await.unwrap();
        let mut b = app.fresh_browser();
        let r = b.login(&email, pw, None).await;
        assert_eq!(
            r.location(),
            Some("/portale"),
            "login with a {}-char password",
            pw.chars().count()
        );
    }
    let mut tx = app.state.pool.begin().await.unwrap();
    let short = ordo::auth::service::create_account(
        &mut tx,
        app.clock_now(),
        &ordo::audit::Actor::system("t"),
        ordo::auth::service::NewAccount {
            email: "short@example.org",
            display_name: "X",
            password: "1234567",
            roles: &[Role::Member],
            totp_secret: None,
        },
    )
    .await;
    assert!(matches!(short, Err(ordo::error::AppError::Validation(_))));
}

#[sqlx::test]
async fn demo_accounts_log_in_and_reach_only_what_their_role_allows(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let accounts = ordo::demo::seed(&app.state).await.unwrap();
    assert_eq!(accounts.len(), Role::ALL.len());
    // Idempotent: a second run creates nothing.
    let again = ordo::demo::seed(&app.state).await.unwrap();
    assert!(again.iter().all(|a| !a.created));
    for a in &accounts {
        assert_eq!(a.totp_secret.is_some(), a.role.is_staff(), "{:?}", a.role);
        let mut b = app.fresh_browser();
        let r = b.login(&a.email, &a.password, a.totp_secret.as_deref()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", a.email);
        let backoffice = b.get("/backoffice").await.status;
        let portal = b.get("/portale").await.status;
        let audit = b.get("/backoffice/audit").await.status;
        let users = b.get("/backoffice/utenti").await.status;
        let staff = a.role.is_staff();
        assert_eq!(
            backoffice == StatusCode::OK,
            staff,
            "{:?} back office {backoffice}",
            a.role
        );
        assert_eq!(portal == StatusCode::OK, !staff, "{:?} portal {portal}", a.role);
        assert_eq!(
            audit == StatusCode::OK,
            matches!(a.role, Role::Admin | Role::Auditor),
            "{:?} audit",
            a.role
        );
        assert_eq!(
            users == StatusCode::OK,
            a.role == Role::Admin,
            "{:?} users",
            a.role
        );
    }
}
