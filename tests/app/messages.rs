//! Contact with the secretariat: conversations with attachments, checked by content, visible only to
//! their member and to staff, answered by e-mail notice, closed (not decided) by staff.

use axum::http::StatusCode;
use ordo::auth::Role;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, test_config};
use crate::requests::{member, staff};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8, y as u8, 120]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn id_from(location: Option<&str>) -> i64 {
    let loc = location.expect("redirect");
    loc.trim_start_matches("/portale/messaggi/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_conversation_with_attachments_is_answered_and_closed(pool: PgPool) {
    let (port, maildir) = crate::mail::smtp();
    let config = test_config(&[("ORDO_SMTP_HOST", "127.0.0.1"), ("ORDO_SMTP_PORT", &port)]);
    let mailer = ordo::mail::from_config(&config.smtp).unwrap();
    let app = TestApp::with(pool.clone(), config, mailer, |b| b).await;
    let account = format!("msg-{}@example.org", uuid::Uuid::new_v4().simple());
    let (mut m, _) = member(&app, &account).await;

    let page = m.get("/portale/messaggi").await;
    assert!(page.has("#message-form"));
    let subject = "<script>alert(1)</script> Certificato per concorso";
    let r = m
        .multipart(
            "/portale/messaggi",
            &[
                ("subject", subject),
                ("body", "Buongiorno,\nallego la domanda e un documento."),
            ],
            &[
                ("files", "domanda.pdf", PDF.to_vec()),
                ("files", "documento.png", png()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = id_from(r.location());

    // The script in the subject is shown as text, never run.
    let thread = m.get(&format!("/portale/messaggi/{id}")).await;
    assert_eq!(thread.status, StatusCode::OK);
    assert!(
        !thread.body.contains("<script>alert(1)"),
        "script must be escaped"
    );
    let h1 = thread
        .body
        .lines()
        .find(|l| l.contains("<h1>"))
        .unwrap_or_default()
        .to_string();
    assert!(h1.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{h1}");
    assert_eq!(thread.texts("h1")[0], format!("Pratica n. {id}: {subject}"));
    assert_eq!(
        thread.texts(".message-body"),
        vec!["Buongiorno,\nallego la domanda e un documento."]
    );
    let links: Vec<String> = thread
        .doc()
        .select(&scraper::Selector::parse(".message-attachments a").unwrap())
        .map(|a| a.value().attr("href").unwrap().to_string())
        .collect();
    assert_eq!(links.len(), 2);
    let file = m.get(&links[0]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "application/pdf");
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("domanda.pdf")
    );
    assert_eq!(file.bytes, PDF);

    // Another member cannot see the conversation or its files.
    app.create_user("altro@example.org", &[Role::Member], false).await;
    let mut other = app.fresh_browser();
    other.login("altro@example.org", PASSWORD, None).await;
    assert_eq!(other.get(&links[0]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.get(&format!("/portale/messaggi/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Staff: in the inbox, with the files; a reply with an attachment takes it in charge and mails.
    let mut s = staff(&app).await;
    let inbox = s.get("/backoffice/pratiche").await;
    assert!(inbox.body.contains(&format!("/backoffice/pratiche/{id}")));
    let detail = s.get(&format!("/backoffice/pratiche/{id}")).await;
    assert_eq!(detail.texts(".message-attachments li").len(), 2);
    let staff_link = links[1].replace("/portale/allegati/", "/backoffice/allegati/");
    let img = s.get(&staff_link).await;
    assert_eq!(img.headers["content-type"], "image/png");
    assert_eq!(img.bytes, png());
    let r = s
        .post(
            &format!("/backoffice/pratiche/{id}/azione"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a conversation is not approved");
    s.get(&format!("/backoffice/pratiche/{id}")).await;
    let r = s
        .multipart(
            &format!("/backoffice/pratiche/{id}/messaggio"),
            &[("body", "Gentile collega, trova allegato il modulo.")],
            &[("files", "modulo.pdf", PDF.to_vec())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mail = crate::mail::wait_for_mail_containing(&maildir, &account, "ha risposto").await;
    assert!(mail.contains(&format!("/portale/messaggi/{id}")), "{mail}");
    assert!(
        !mail.contains("trova allegato il modulo"),
        "the text stays in the portal"
    );

    let thread = m.get(&format!("/portale/messaggi/{id}")).await;
    assert_eq!(thread.texts("#request-state"), vec!["In istruttoria"]);
    assert_eq!(
        thread.texts(".ordo-message-staff .message-body"),
        vec!["Gentile collega, trova allegato il modulo."]
    );
    let r = m
        .multipart(
            &format!("/portale/messaggi/{id}"),
            &[("body", "Grazie, ricevuto.")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    s.get(&format!("/backoffice/pratiche/{id}")).await;
    let r = s
        .post(
            &format!("/backoffice/pratiche/{id}/azione"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    m.get(&format!("/portale/messaggi/{id}")).await;
    let r = m
        .multipart(
            &format!("/portale/messaggi/{id}"),
            &[("body", "Un'altra cosa")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.texts(".alert-danger li")[0].contains("nuova comunicazione"));

    assert_eq!(count(&pool, "request_messages").await, 3);
    assert_eq!(count(&pool, "request_attachments").await, 3);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'request.%' ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "request.submit",
            "request.message",
            "request.message",
            "request.message",
            "request.transition"
        ]
    );
    let sha: String = sqlx::query_scalar(
        "SELECT details::jsonb->'attachments'->0->>'sha256' FROM audit_log WHERE action = 'request.message' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sha.len(), 64);
    // Messages and files are append-only.
    let err = sqlx::query("UPDATE request_messages SET body = 'riscritto'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("append-only") || err.to_string().contains("refus"),
        "{err}"
    );
    assert!(
        sqlx::query("DELETE FROM request_attachments")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[sqlx::test]
async fn bad_messages_and_files_are_refused_with_a_message_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, _) = member(&app, "mario@example.org").await;
    m.get("/portale/messaggi").await;
    let send = |subject: &'static str,
                body: &'static str,
                files: Vec<(&'static str, &'static str, Vec<u8>)>| { (subject, body, files) };
    let mut big_pdf = PDF.to_vec();
    big_pdf.resize(11 * 1024 * 1024, b' ');
    let cases = [
        (send("", "testo", vec![]), "Scrivi l'oggetto"),
        (send("Oggetto", "   ", vec![]), "Scrivi il testo del messaggio"),
        (
            send("Oggetto\u{7}", "testo", vec![]),
            "L'oggetto contiene caratteri non ammessi",
        ),
        (
            send("Oggetto", "testo", vec![("files", "foto.jpg", PDF.to_vec())]),
            "ha l'estensione di un JPEG ma il contenuto è un PDF",
        ),
        (
            send("Oggetto", "testo", vec![("files", "grande.pdf", big_pdf)]),
            "«grande.pdf» è troppo grande (11,0 MB): il massimo è 10 MB",
        ),
        (
            send(
                "Oggetto",
                "testo",
                vec![("files", "setup.exe", b"MZ\x90\x00\x03\x00\x00\x00".to_vec())],
            ),
            "non è un PDF, un JPEG o un PNG",
        ),
    ];
    for ((subject, body, files), expected) in cases {
        let r = m
            .multipart(
                "/portale/messaggi",
                &[("subject", subject), ("body", body)],
                &files,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{expected}");
        let errors = r.texts(".alert-danger li");
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected}: {errors:?}"
        );
        // What the member typed is kept in the form.
        assert_eq!(
            r.doc()
                .select(&scraper::Selector::parse("#subject").unwrap())
                .next()
                .unwrap()
                .value()
                .attr("value"),
            Some(subject)
        );
    }
    // A body over the limit: 413 with the error page, never a 500.
    let r = m
        .multipart(
            "/portale/messaggi",
            &[("subject", "x"), ("body", "y")],
            &[("files", "enorme.pdf", vec![b'%'; 20 * 1024 * 1024])],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without the CSRF token: refused.
    m.csrf = None;
    let r = m
        .multipart("/portale/messaggi", &[("subject", "x"), ("body", "y")], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&pool, "requests").await, 0);
    assert_eq!(count(&pool, "request_messages").await, 0);
    // A staff account without a member position has nothing to write from.
    let mut s = staff(&app).await;
    assert_eq!(s.get("/portale/messaggi").await.status, StatusCode::FORBIDDEN);
}
