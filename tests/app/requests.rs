//! Pratiche: a member's data-change and PEC requests, the staff inbox and decisions, notifications.

use axum::http::StatusCode;
use ordo::auth::Role;
use ordo::members::cf::Sex;
use ordo::members::service::Entry;
use sqlx::PgPool;
use time::macros::date;

use crate::helpers::{PASSWORD, TestApp, test_config};
use crate::members::{add, data};

const REGISTERED: Entry = Entry::Registered {
    date: date!(2015 - 03 - 10),
    resolution_number: "7/2015",
};

/// A member with an account, logged in; returns (member browser, member id).
pub async fn member(app: &TestApp, email: &str) -> (TestApp, i64) {
    let id = add(
        app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    (app.member_browser(id, email).await, id)
}

pub async fn staff(app: &TestApp) -> TestApp {
    let secret = app
        .create_user("segreteria@example.org", &[Role::Secretariat], true)
        .await;
    let mut b = app.fresh_browser();
    b.login("segreteria@example.org", PASSWORD, secret.as_deref())
        .await;
    b
}

async fn email_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT email FROM members WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_data_change_is_applied_only_on_approval(pool: PgPool) {
    let (port, maildir) = crate::mail::smtp();
    let config = test_config(&[("ORDO_SMTP_HOST", "127.0.0.1"), ("ORDO_SMTP_PORT", &port)]);
    let mailer = ordo::mail::from_config(&config.smtp).unwrap();
    let app = TestApp::with(pool.clone(), config, mailer, |b| b).await;
    let account = format!("m-{}@example.org", uuid::Uuid::new_v4().simple());
    let (mut m, id) = member(&app, &account).await;
    let before = email_of(&pool, id).await;

    let page = m.get("/portale/richieste").await;
    assert!(page.has("#data-change-form"));
    // Nothing changed: refused with a message.
    let r = m.post("/portale/richieste/dati", &[("email", &before)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li")[0].contains("Non hai modificato"));
    let r = m
        .post("/portale/richieste/dati", &[("email", "non-valida")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = m
        .post(
            "/portale/richieste/dati",
            &[
                ("email", "mario.nuovo@esempio.it"),
                ("residence_address", "Via Nuova 5"),
                ("phone", "+39 333 1234567"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let request_id: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    assert_eq!(email_of(&pool, id).await, before, "not applied before approval");
    let r = m
        .post("/portale/richieste/dati", &[("email", "altra@esempio.it")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "one open data change at a time");
    crate::mail::wait_for_mail(&maildir, &account).await;

    let mut s = staff(&app).await;
    let inbox = s.get("/backoffice/pratiche").await;
    assert_eq!(
        inbox.texts("#requests-table tbody td:first-child"),
        vec![request_id.to_string()]
    );
    let detail = s.get(&format!("/backoffice/pratiche/{request_id}")).await;
    let diff = detail.texts("#request-diff tbody tr");
    assert_eq!(
        diff.len(),
        2,
        "only the changed fields (the phone was unchanged): {diff:?}"
    );
    assert!(detail.texts("#request-diff tbody td").contains(&before));
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "review")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "cannot close an undecided request"
    );
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "approve"), ("note", "Verificato")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(email_of(&pool, id).await, "mario.nuovo@esempio.it");
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let mine = m.get("/portale/richieste").await;
    assert_eq!(mine.texts(".request-state"), vec!["Chiusa"]);
    let history = mine.texts(&format!("#request-{request_id} ul.small.mb-0 li"));
    assert_eq!(history.len(), 4, "{history:?}");
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'request.%' OR action = 'member.contact_change' ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        actions,
        vec![
            "request.submit",
            "request.transition",
            "member.contact_change",
            "request.transition",
            "request.transition"
        ]
    );
}

#[sqlx::test]
async fn a_rejection_needs_a_reason_and_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, id) = member(&app, "mario@example.org").await;
    let before = email_of(&pool, id).await;
    m.get("/portale/richieste").await;
    let r = m
        .post("/portale/richieste/dati", &[("email", "x@esempio.it")])
        .await;
    let request_id: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    let mut s = staff(&app).await;
    s.get(&format!("/backoffice/pratiche/{request_id}")).await;
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "reject")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li")[0].contains("motivo"));
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "reject"), ("note", "Indirizzo non verificabile")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(email_of(&pool, id).await, before);
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "boh")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The history cannot be rewritten behind the workflow's back.
    for sql in [
        "UPDATE request_events SET note = 'x'",
        "DELETE FROM request_events",
        "UPDATE requests SET state = 'approved'",
        "UPDATE requests SET payload = '{}'",
    ] {
        assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
    }
}

#[sqlx::test]
async fn pec_requests_register_or_assign_an_address(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, id) = member(&app, "mario@example.org").await;
    m.get("/portale/richieste").await;
    let r = m
        .post(
            "/portale/richieste/pec",
            &[("mode", "register"), ("pec", "non una pec")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = m.post("/portale/richieste/pec", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = m
        .post(
            "/portale/richieste/pec",
            &[("mode", "register"), ("pec", "Mario.Rossi@PEC.example.org")],
        )
        .await;
    let first: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    let mut s = staff(&app).await;
    s.get(&format!("/backoffice/pratiche/{first}")).await;
    assert_eq!(
        s.post(
            &format!("/backoffice/pratiche/{first}/azione"),
            &[("action", "approve")]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let pec: String = sqlx::query_scalar("SELECT pec FROM members WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pec, "mario.rossi@pec.example.org");

    let r = m.post("/portale/richieste/pec", &[("mode", "request")]).await;
    let second: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    let page = s.get(&format!("/backoffice/pratiche/{second}")).await;
    assert!(page.has("#assigned-pec"));
    let r = s
        .post(
            &format!("/backoffice/pratiche/{second}/azione"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the assigned address is required"
    );
    let r = s
        .post(
            &format!("/backoffice/pratiche/{second}/azione"),
            &[("action", "approve"), ("pec", "m.rossi@ingpec.eu")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let pec: String = sqlx::query_scalar("SELECT pec FROM members WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pec, "m.rossi@ingpec.eu");
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(b: &mut TestApp, bytes: Vec<u8>, filename: &str) -> crate::helpers::TestResponse {
    b.multipart("/portale/foto", &[], &[("photo", filename, bytes)])
        .await
}

#[sqlx::test]
async fn a_photo_is_checked_reencoded_and_shown_only_after_approval_and_consent(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, _id) = member(&app, "mario@example.org").await;
    m.get("/portale/richieste").await;
    // A PDF renamed .jpg and a photo over 5 MB are refused with a message; a 20 MB body gets 413.
    let r = upload(&mut m, b"%PDF-1.7\n1 0 obj << >> endobj\n".to_vec(), "foto.jpg").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li")[0].contains("JPEG o PNG"));
    let r = upload(&mut m, vec![0xFF; 6 * 1024 * 1024], "grande.jpg").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li")[0].contains("5 MB"));
    let r = upload(&mut m, vec![0xFF; 20 * 1024 * 1024], "enorme.jpg").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without the CSRF token: refused.
    let token = m.csrf.take();
    assert_eq!(
        upload(&mut m, png(400, 500), "foto.png").await.status,
        StatusCode::FORBIDDEN
    );
    m.csrf = token;

    let r = upload(&mut m, png(900, 1200), "foto.png").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let request_id: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    let (photo_id, stored): (i64, Vec<u8>) = sqlx::query_as("SELECT id, image FROM member_photos")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        image::guess_format(&stored).unwrap(),
        image::ImageFormat::Jpeg,
        "re-encoded as JPEG"
    );
    assert_eq!(
        image::load_from_memory(&stored).unwrap().height(),
        800,
        "scaled to passport size"
    );
    // The member consents to the photo, but it is not approved yet: nothing public.
    let token = m.csrf.clone().unwrap();
    m.post_raw(
        "/portale/consensi",
        &[("csrf_token", &token), ("consent", "photo")],
    )
    .await;
    let mut visitor = app.fresh_browser();
    assert_eq!(visitor.get("/albo/1/foto").await.status, StatusCode::NOT_FOUND);
    assert!(!visitor.get("/albo/1").await.has("#field-photo"));
    assert_eq!(
        m.get(&format!("/portale/foto/{photo_id}")).await.status,
        StatusCode::OK,
        "the member sees it"
    );

    let mut s = staff(&app).await;
    let page = s.get(&format!("/backoffice/pratiche/{request_id}")).await;
    assert!(page.has("#request-photo"));
    assert_eq!(
        s.get(&format!("/backoffice/foto/{photo_id}")).await.status,
        StatusCode::OK
    );
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "{:?}",
        r.texts(".alert-danger li")
    );
    let r = visitor.get("/albo/1/foto").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/jpeg");
    assert!(
        visitor
            .get("/albo/1")
            .await
            .has("img#field-photo[src='/albo/1/foto']")
    );
    // Another account cannot read this member's photos through the portal.
    let (mut other, _) = {
        app.create_user("altro@example.org", &[Role::Member], false).await;
        let mut b = app.fresh_browser();
        b.login("altro@example.org", PASSWORD, None).await;
        (b, 0)
    };
    assert_eq!(
        other.get(&format!("/portale/foto/{photo_id}")).await.status,
        StatusCode::NOT_FOUND
    );
}
