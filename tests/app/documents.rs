//! Documents and procedures: certificate (exemption, pagoPA stamp duty), self-certification, the
//! enrolment from application to card, transfer in, cancellation; every PDF read back with pdftotext
//! and its QR code decoded with zbar, and `/verifica/<code>` before and after a status change.

use axum::http::StatusCode;
use ordo::auth::Role;

use crate::helpers::{PASSWORD, TestApp};
use crate::payments::{positions_of, reconciliation};
use crate::requests::{member, staff};
use crate::{pdf_qr_codes, pdf_text};

/// The verification code in a PDF's QR code.
fn verification_code(pdf: &[u8]) -> String {
    let codes = pdf_qr_codes(pdf);
    let url = codes
        .iter()
        .find(|c| c.contains("/verifica/"))
        .unwrap_or_else(|| panic!("no QR code: {codes:?}"));
    url.rsplit('/').next().unwrap().to_string()
}

async fn verdict(app: &TestApp, code: &str) -> String {
    let page = app.fresh_browser().get(&format!("/verifica/{code}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.texts("#verify-result").join(" ")
}

/// The secretariat acts on a pratica from its page (fresh CSRF token); `resolution` is the council's
/// (number, date), if any.
async fn decide(s: &mut TestApp, id: i64, resolution: Option<(&str, &str)>) -> crate::helpers::TestResponse {
    s.get(&format!("/backoffice/pratiche/{id}")).await;
    let mut fields = vec![("action", "approve")];
    if let Some((number, date)) = resolution {
        fields.extend([("resolution_number", number), ("resolution_date", date)]);
    }
    s.post(&format!("/backoffice/pratiche/{id}/azione"), &fields)
        .await
}

fn request_id(location: Option<&str>) -> i64 {
    location.unwrap().rsplit('=').next().unwrap().parse().unwrap()
}

#[sqlx::test]
async fn a_certificate_with_a_declared_exemption_is_protocolled_and_verifiable(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, member_id) = member(&app, "cert@example.org").await;
    m.get("/portale/documenti").await;
    // An exemption must be one of the list.
    let r = m
        .post(
            "/portale/richieste/certificato",
            &[("stamp", "exempt"), ("exemption", "perché sì")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Scegli dall"), "{}", r.body);
    let exemption = app.state.config.payments.stamp_exemptions[0].clone();
    let r = m
        .post(
            "/portale/richieste/certificato",
            &[("stamp", "exempt"), ("exemption", &exemption)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = request_id(r.location());
    assert!(
        positions_of(&app, member_id).await.is_empty(),
        "no stamp duty to pay"
    );

    let mut s = staff(&app).await;
    let r = decide(&mut s, id, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The certificate is the outgoing registration's document and carries its segnatura.
    let (doc_id, registration): (i64, Option<i64>) = sqlx::query_as(
        "SELECT id, protocol_registration_id FROM issued_documents WHERE member_id = $1 AND kind = 'certificate'",
    )
    .bind(member_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let registration = registration.expect("protocolled");
    let (direction, number, documents): (String, i32, i64) = sqlx::query_as(
        "SELECT r.direction, r.number, (SELECT count(*) FROM protocol_documents d WHERE d.registration_id = r.id
                                         AND d.content_type = 'application/pdf')
         FROM protocol_registrations r WHERE r.id = $1",
    )
    .bind(registration)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((direction.as_str(), documents), ("out", 1));
    let pdf = m.get(&format!("/portale/documenti/{doc_id}")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let text = pdf_text(&pdf.bytes)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("CERTIFICATO DI ISCRIZIONE ALL’ALBO"), "{text}");
    assert!(
        text.contains("Mario Rossi") && text.contains(&exemption[..20]),
        "{text}"
    );
    assert!(
        text.contains(&format!("Prot.N. {number:07}")),
        "segnatura on the certificate:\n{text}"
    );
    let code = verification_code(&pdf.bytes);
    assert!(text.contains(&code));
    assert!(verdict(&app, &code).await.contains("autentico e valido"));
    // The self-certification, at once, from the portal.
    m.get("/portale/documenti").await;
    let self_cert = m.post("/portale/autocertificazione", &[]).await;
    // Without the CSRF token the form is refused.
    let forged = app
        .fresh_browser()
        .post_raw("/portale/autocertificazione", &[])
        .await;
    assert_ne!(forged.status, StatusCode::OK);
    let text = pdf_text(&self_cert.bytes);
    assert!(
        text.contains("DICHIARAZIONE SOSTITUTIVA DI CERTIFICAZIONE") && text.contains("art. 46"),
        "{text}"
    );
    let self_code = verification_code(&self_cert.bytes);

    // Suspension by the council: both stop being valid, and say why.
    s.get(&format!("/backoffice/iscritti/{member_id}")).await;
    let r = s
        .post(
            &format!("/backoffice/iscritti/{member_id}/stato"),
            &[
                ("kind", "suspension"),
                ("effective_date", "20/11/2026"),
                ("reason", "morosità"),
                ("resolution_number", "12/2026"),
                ("resolution_date", "19/11/2026"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for c in [&code, &self_code] {
        let v = verdict(&app, c).await;
        assert!(v.contains("non più valido") && v.contains("sospeso"), "{v}");
    }
    // Unknown and malformed codes: a page that says so, 404.
    let r = app.fresh_browser().get("/verifica/AAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.texts("#verify-result")[0].contains("Nessun documento"));
    assert_eq!(
        app.fresh_browser().get("/verifica/%3Cscript%3E").await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test]
async fn a_certificate_paid_with_pagopa_waits_for_the_payment(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, member_id) = member(&app, "paga@example.org").await;
    m.get("/portale/documenti").await;
    let r = m
        .post("/portale/richieste/certificato", &[("stamp", "pagopa")])
        .await;
    let id = request_id(r.location());
    let mut s = staff(&app).await;
    let r = decide(&mut s, id, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("non risultano pagati"), "{}", r.body);
    let (_, notice, _, _) = positions_of(&app, member_id).await.remove(0);
    s.get("/backoffice/pagamenti").await;
    s.multipart(
        "/backoffice/pagamenti/riconciliazione",
        &[],
        &[("file", "r.csv", reconciliation(&[(&notice, "16.00", "IUR-9")]))],
    )
    .await;
    let r = decide(&mut s, id, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let pdf: Vec<u8> =
        sqlx::query_scalar("SELECT pdf FROM issued_documents WHERE member_id = $1 AND kind = 'certificate'")
            .bind(member_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(pdf_text(&pdf).contains("assolta tramite pagoPA (16,00 €)"));
}

/// Fills the enrolment form as an applicant would.
fn enrolment_fields<'a>(cf: &'a str, mode: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("mode", mode),
        ("surname", "Bianchi"),
        ("name", "Giulia"),
        ("fiscal_code", cf),
        ("sex", "F"),
        ("birth_date", "1996-05-14"),
        ("birth_place", "Trieste"),
        ("birth_province", "TS"),
        ("residence_address", "Via Roma 1"),
        ("residence_cap", "34100"),
        ("residence_municipality", "Trieste"),
        ("residence_province", "TS"),
        ("email", "giulia.bianchi@example.org"),
        ("degree_class", "LM-23"),
        ("degree_university", "Università di Trieste"),
        ("degree_year", "2021"),
        ("state_exam_year", "2022"),
        ("state_exam_seat", "Trieste"),
        ("section", "A"),
        ("sectors", "civile_ambientale"),
    ]
}

async fn applicant(app: &TestApp, email: &str) -> TestApp {
    app.create_user(email, &[Role::Applicant], false).await;
    let mut b = app.fresh_browser();
    b.login(email, PASSWORD, None).await;
    b
}

fn giulia_cf() -> String {
    ordo::members::cf::compute(
        "Bianchi",
        "Giulia",
        time::macros::date!(1996 - 05 - 14),
        ordo::members::cf::Sex::F,
        "L424",
    )
    .unwrap()
    .as_str()
    .to_string()
}

#[sqlx::test]
async fn an_enrolment_from_application_to_card_and_cancellation(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let mut a = applicant(&app, "giulia@example.org").await;
    let cf = giulia_cf();
    a.get("/portale/iscrizione").await;
    // Without the identity document: refused, what was typed is kept.
    let r = a
        .multipart("/portale/iscrizione", &enrolment_fields(&cf, "new"), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("documento di identità") && r.body.contains("value=\"Bianchi\""));
    let id_doc = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    a.get("/portale/iscrizione").await;
    let r = a
        .multipart(
            "/portale/iscrizione",
            &enrolment_fields(&cf, "new"),
            &[("attachments", "identita.pdf", id_doc)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = request_id(r.location());
    let (member_id, status): (i64, String) =
        sqlx::query_as("SELECT id, status FROM members WHERE fiscal_code = $1")
            .bind(&cf)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "applicant");
    let positions = positions_of(&app, member_id).await;
    let amounts: Vec<&str> = positions.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(
        amounts,
        vec!["16.00", "168.00"],
        "stamp duty and registration fee"
    );
    // The applicant sees the notices on the pratica.
    let page = a.get("/portale/richieste").await;
    assert_eq!(page.texts(".request-payments li").len(), 2);

    // The council cannot decide before the fees are paid, nor without its resolution.
    let mut s = staff(&app).await;
    let r = decide(&mut s, id, Some(("40/2026", "2026-11-19"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    s.get("/backoffice/pagamenti").await;
    let rows: Vec<(&str, &str, &str)> = vec![
        (&positions[0].1, "16,00", "IUR-S"),
        (&positions[1].1, "168,00", "IUR-R"),
    ];
    s.multipart(
        "/backoffice/pagamenti/riconciliazione",
        &[],
        &[("file", "r.csv", reconciliation(&rows))],
    )
    .await;
    let r = decide(&mut s, id, None).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a council decision needs its resolution"
    );
    let r = decide(&mut s, id, Some(("40/2026", "2026-11-19"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (status, number): (String, Option<i32>) =
        sqlx::query_as("SELECT status, registration_number FROM members WHERE id = $1")
            .bind(member_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "active");
    let number = number.expect("registration number");

    // The card: on the phone page and as PDF, the same verification code, valid.
    let page = a.get("/portale/tesserino").await;
    assert_eq!(page.texts("#card-number")[0], number.to_string());
    let code = page.texts("#card-code")[0].clone();
    let pdf = a.get("/portale/tesserino.pdf").await;
    let text = pdf_text(&pdf.bytes);
    assert!(
        text.contains("Giulia Bianchi") && text.contains(&number.to_string()),
        "{text}"
    );
    assert_eq!(verification_code(&pdf.bytes), code);
    assert!(verdict(&app, &code).await.contains("autentico e valido"));
    // Asking again gives the same card while nothing it shows changed.
    assert_eq!(a.get("/portale/tesserino").await.texts("#card-code")[0], code);

    // Cancellation asked by the member, decided by the council: the card is no longer valid.
    a.get("/portale/documenti").await;
    let r = a
        .post(
            "/portale/richieste/cancellazione",
            &[("reason", "cessata attività")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cancel = request_id(r.location());
    let r = decide(&mut s, cancel, Some(("55/2026", "2026-11-20"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = verdict(&app, &code).await;
    assert!(v.contains("non più valido") && v.contains("cancellato"), "{v}");
}

#[sqlx::test]
async fn a_transfer_in_gives_a_new_registration_number(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (_, existing) = member(&app, "primo@example.org").await;
    let mut a = applicant(&app, "trasferita@example.org").await;
    let cf = giulia_cf();
    a.get("/portale/iscrizione").await;
    let mut fields = enrolment_fields(&cf, "transfer");
    let r = a
        .multipart(
            "/portale/iscrizione",
            &fields,
            &[("attachments", "id.pdf", b"%PDF-1.4\n%%EOF\n".to_vec())],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the order of origin is required"
    );
    fields.extend([
        ("from_order", "Ordine degli Ingegneri di Udine"),
        ("from_number", "1234"),
        ("from_date", "2022-03-01"),
    ]);
    a.get("/portale/iscrizione").await;
    let r = a
        .multipart(
            "/portale/iscrizione",
            &fields,
            &[("attachments", "id.pdf", b"%PDF-1.4\n%%EOF\n".to_vec())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = request_id(r.location());
    let member_id: i64 = sqlx::query_scalar("SELECT id FROM members WHERE fiscal_code = $1")
        .bind(&cf)
        .fetch_one(&pool)
        .await
        .unwrap();
    let positions = positions_of(&app, member_id).await;
    assert_eq!(
        positions.iter().map(|p| p.2.as_str()).collect::<Vec<_>>(),
        vec!["16.00"],
        "stamp duty only"
    );
    let mut s = staff(&app).await;
    s.get("/backoffice/pagamenti").await;
    s.multipart(
        "/backoffice/pagamenti/riconciliazione",
        &[],
        &[(
            "file",
            "r.csv",
            reconciliation(&[(&positions[0].1, "16", "IUR-T")]),
        )],
    )
    .await;
    let r = decide(&mut s, id, Some(("41/2026", "2026-11-19"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let numbers: Vec<(i64, Option<i32>, String)> = sqlx::query_as(
        "SELECT id, registration_number, status FROM members WHERE id IN ($1, $2) ORDER BY id",
    )
    .bind(existing)
    .bind(member_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(numbers[1].2, "active");
    assert!(
        numbers[1].1.unwrap() > numbers[0].1.unwrap(),
        "a new number after the existing ones: {numbers:?}"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM member_status_events WHERE member_id = $1 ORDER BY id")
            .bind(member_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, vec!["application", "transfer_in"]);
}

#[sqlx::test]
async fn the_card_is_reissued_when_the_photo_changes(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, _) = member(&app, "foto@example.org").await;
    let first = m.get("/portale/tesserino").await.texts("#card-code")[0].clone();
    m.get("/portale/richieste").await;
    let r = m
        .multipart(
            "/portale/foto",
            &[],
            &[("photo", "foto.png", crate::requests::png(900, 1200))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Not approved yet: the card does not change.
    assert_eq!(m.get("/portale/tesserino").await.texts("#card-code")[0], first);
    let id = request_id(r.location());
    let mut s = staff(&app).await;
    let r = decide(&mut s, id, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = m.get("/portale/tesserino").await;
    let second = page.texts("#card-code")[0].clone();
    assert_ne!(second, first, "a new card with the new photo");
    assert!(page.has(".ordo-card-photo"));
    let pdf = m.get("/portale/tesserino.pdf").await;
    assert_eq!(verification_code(&pdf.bytes), second);
    let old = verdict(&app, &first).await;
    assert!(
        old.contains("non più valido") && old.contains("Sostituita"),
        "{old}"
    );
    assert!(verdict(&app, &second).await.contains("autentico e valido"));
}
