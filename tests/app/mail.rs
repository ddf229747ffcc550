//! Password reset by e-mail, through a real SMTP server (aiosmtpd, started by scripts/test).

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use ordo::auth::Role;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, test_config};

pub fn smtp() -> (String, PathBuf) {
    let port = std::env::var("ORDO_TEST_SMTP_PORT")
        .expect("ORDO_TEST_SMTP_PORT: run the tests with scripts/test, which starts an SMTP receiver");
    let dir = std::env::var("ORDO_TEST_MAILDIR").expect("ORDO_TEST_MAILDIR: run the tests with scripts/test");
    (port, PathBuf::from(dir))
}

/// The body of a message to `to` in the Maildir, decoded.
pub async fn wait_for_mail(maildir: &std::path::Path, to: &str) -> String {
    wait_for_mail_containing(maildir, to, "").await
}

/// The body of a message to `to` whose text contains `needle`, decoded.
pub async fn wait_for_mail_containing(maildir: &std::path::Path, to: &str, needle: &str) -> String {
    for _ in 0..100 {
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
                for e in entries.flatten() {
                    let raw = std::fs::read(e.path()).unwrap_or_default();
                    if let Some(msg) = mail_parser::MessageParser::default().parse(&raw) {
                        let to_matches = msg
                            .to()
                            .and_then(|a| a.first())
                            .and_then(|a| a.address())
                            .is_some_and(|a| a.eq_ignore_ascii_case(to));
                        let body = msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
                        if to_matches && body.contains(needle) {
                            return body;
                        }
                    }
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail to {to} arrived in {}", maildir.display());
}

#[sqlx::test]
async fn password_reset_by_email_link_sets_a_new_password_once(pool: PgPool) {
    let (port, maildir) = smtp();
    let config = test_config(&[
        ("ORDO_SMTP_HOST", "127.0.0.1"),
        ("ORDO_SMTP_PORT", &port),
        ("ORDO_SMTP_TLS", "none"),
    ]);
    let mailer = ordo::mail::from_config(&config.smtp).unwrap();
    let mut app = TestApp::with(pool, config, mailer, |b| b).await;
    // A unique address per run: the Maildir is shared by all tests.
    let email = format!("reset-{}@example.org", uuid::Uuid::new_v4().simple());
    app.create_user(&email, &[Role::Member], false).await;
    let mut old_session = app.fresh_browser();
    old_session.login(&email, PASSWORD, None).await;

    app.get("/password/dimenticata").await;
    let r = app.post("/password/dimenticata", &[("email", &email)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let answer_known = r.texts(".alert-success");
    // Same answer for an unknown address.
    let r = app
        .post("/password/dimenticata", &[("email", "sconosciuto@example.org")])
        .await;
    assert_eq!(r.texts(".alert-success"), answer_known);

    let body = wait_for_mail(&maildir, &email).await;
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/password/reimposta?token="))
        .unwrap_or_else(|| panic!("no link in: {body}"));
    let path = link.trim_start_matches("http://127.0.0.1:8080");
    let r = app.get(path).await;
    assert!(r.has("#reset-form"));
    let token = path.split("token=").nth(1).unwrap();
    let r = app
        .post(
            "/password/reimposta",
            &[
                ("token", token),
                ("new_password", "corta"),
                ("password_confirm", "corta"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/password/reimposta",
            &[
                ("token", token),
                ("new_password", "una nuova password"),
                ("password_confirm", "una nuova password"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/login?ok=reset"));
    // The link works once; old sessions ended; the new password works.
    let r = app.get(path).await;
    assert!(!r.has("#reset-form"));
    assert_eq!(old_session.get("/portale").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.fresh_browser()
            .login(&email, "una nuova password", None)
            .await
            .location(),
        Some("/portale")
    );
    let _ = Arc::new(());
}
