//! The protocol register: gapless numbering under concurrency and failures, the year rollover,
//! immutability and annulment, automatic protocolling of pratiche, the daily register, the CLI.

use std::process::Command;

use axum::http::StatusCode;
use ordo::audit::Actor;
use ordo::auth::Role;
use ordo::protocol::{self, Correspondent, Direction, Document, Dossier, NewRegistration};
use sqlx::PgPool;
use time::macros::datetime;

use crate::helpers::{PASSWORD, TestApp};
use crate::requests::{member, staff};

pub(crate) fn item(subject: &str) -> NewRegistration {
    NewRegistration {
        direction: Direction::In,
        correspondent: Correspondent {
            name: "Comune di Trieste".into(),
            fiscal_code: "00210240321".into(),
            email: "protocollo@pec.comune.trieste.it".into(),
        },
        subject: subject.into(),
        attachments_description: String::new(),
        classification: "7.1".into(),
        dossier: Dossier::None,
        request_id: None,
        source: "manual",
        documents: vec![Document::from_bytes(
            "nota.pdf",
            "application/pdf",
            b"%PDF-1.4 nota".to_vec(),
        )],
    }
}

/// The audit chain verifies and the register has no gap and no altered document.
async fn assert_intact(app: &TestApp) {
    assert!(matches!(
        ordo::audit::verify(&app.state.pool).await.unwrap(),
        ordo::audit::Verification::Intact { .. }
    ));
    let (_, _, problems) = protocol::verify::verify(&app.state.pool, &app.state.config.protocol)
        .await
        .unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

async fn numbers(pool: &PgPool) -> Vec<(i32, i32)> {
    sqlx::query_as("SELECT year, number FROM protocol_registrations ORDER BY year, number")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn concurrent_registrations_are_numbered_without_gaps_and_failures_consume_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = Actor::system("test");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let state = app.state.clone();
            let actor = actor.clone();
            tokio::spawn(async move {
                protocol::service::register_alone(&state, &actor, item(&format!("Nota {i}"))).await
            })
        })
        .collect();
    let mut got = vec![];
    for t in tasks {
        got.push(t.await.unwrap().unwrap().segnatura.number);
    }
    got.sort();
    assert_eq!(got, (1..=200).collect::<Vec<_>>());
    // They arrived together, so the registrar wrote them in groups (each committed whole).
    let (groups, grouped) = app.state.registrar.stats();
    assert_eq!(grouped, 200);
    assert!(groups < 200, "200 registrations at once went in {groups} groups");

    // A transaction that registers and then fails leaves no trace and no hole.
    let mut tx = pool.begin().await.unwrap();
    let r = protocol::register(
        &mut tx,
        &app.state.config.protocol,
        app.clock_now(),
        &actor,
        item("Annullata dal rollback"),
    )
    .await
    .unwrap();
    assert_eq!(r.segnatura.number, 201);
    tx.rollback().await.unwrap();
    // A registration failing after its number was taken (a document pointing nowhere) neither.
    assert!(
        protocol::service::register_alone(&app.state, &actor, broken("Documento inesistente"))
            .await
            .is_err()
    );
    // Bad input is refused before anything is written, naming the field.
    let mut bad = item("");
    bad.classification = "99".into();
    match protocol::service::register_alone(&app.state, &actor, bad).await {
        Err(ordo::error::AppError::Validation(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
            assert_eq!(fields, ["subject", "classification"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let next = protocol::service::register_alone(&app.state, &actor, item("Dopo gli errori"))
        .await
        .unwrap();
    assert_eq!(
        next.segnatura.number, 201,
        "failed registrations consumed no number"
    );
    let all = numbers(&pool).await;
    assert_eq!(all.len(), 201);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, (y, n))| *y == 2026 && *n == i as i32 + 1)
    );
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'protocol.register'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audit, 201, "one audit entry per committed registration");
    // The entries were written by the database (protocol_register) and chain like any other.
    let (entity_id, details): (Option<String>, String) = sqlx::query_as(
        "SELECT entity_id, details FROM audit_log
         WHERE action = 'protocol.register' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(entity_id.as_deref(), Some("2026/0000201"));
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["registration_id"], next.id);
    assert_eq!(details["subject"], "Dopo gli errori");
    assert_eq!(details["documents"][0]["name"], "nota.pdf");
    assert_intact(&app).await;
}

fn broken(subject: &str) -> NewRegistration {
    let mut r = item(subject);
    r.documents.push(Document {
        file_name: "fantasma.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1,
        sha256: [0; 32],
        content: protocol::Content::Attachment(999_999),
        stamp: false,
    });
    r
}

pub(crate) fn submission(r: NewRegistration, at: time::OffsetDateTime) -> protocol::registrar::Submission {
    let details = format!(r#"{{"subject":"{}"}}"#, r.subject);
    protocol::registrar::Submission {
        at,
        registration: r,
        dossier_id: None,
        by: None,
        audit: Some((None, "test".into(), details)),
    }
}

/// A group of registrations commits whole or not at all, numbered in the order given, each with its
/// audit entry chained after the one before; and a bad registration among concurrent ones fails alone.
#[sqlx::test]
async fn a_group_commits_whole_and_a_bad_registration_fails_alone(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let registrar = &app.state.registrar;
    let at = datetime!(2026-03-02 09:00:00 UTC);

    // One bad registration (a document pointing nowhere) and the whole group is refused: no number.
    let refused = registrar
        .register_group(&[
            submission(item("Prima"), at),
            submission(broken("Guasta"), at),
            submission(item("Terza"), at),
        ])
        .await;
    assert!(refused.is_err());
    assert!(
        numbers(&pool).await.is_empty(),
        "a refused group consumes no number"
    );

    let group = registrar
        .register_group(&[
            submission(item("Uno"), at),
            submission(item("Due"), at + time::Duration::seconds(1)),
            submission(item("Tre"), at + time::Duration::seconds(2)),
        ])
        .await
        .unwrap();
    let got: Vec<(i32, i32)> = group.iter().map(|i| (i.year, i.number)).collect();
    assert_eq!(got, [(2026, 1), (2026, 2), (2026, 3)]);
    let entries: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT entity_id, details FROM audit_log WHERE action = 'protocol.register' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(entries.len(), 3);
    for (i, ((key, details), subject)) in entries.iter().zip(["Uno", "Due", "Tre"]).enumerate() {
        assert_eq!(key.as_deref(), Some(format!("2026/000000{}", i + 1).as_str()));
        let details: serde_json::Value = serde_json::from_str(details).unwrap();
        assert_eq!(details["subject"], subject);
        assert_eq!(details["registration_id"], group[i].id);
    }
    let documents: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM protocol_documents d JOIN protocol_registrations r ON r.id = d.registration_id
         WHERE d.position = 1 AND d.file_name = 'nota.pdf'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(documents, 3, "each registration has its own document");

    // Concurrent registrations, one of them bad: it fails alone and the others number on without a gap.
    let actor = Actor::system("test");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let state = app.state.clone();
            let actor = actor.clone();
            let r = if i == 17 {
                broken("Guasta")
            } else {
                item(&format!("Nota {i}"))
            };
            tokio::spawn(async move { protocol::service::register_alone(&state, &actor, r).await })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        if t.await.unwrap().is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(
        numbers(&pool).await,
        (1..=42).map(|n| (2026, n)).collect::<Vec<_>>()
    );
    assert_intact(&app).await;
}

/// Every transaction that audits and registers takes the audit chain's head before the protocol
/// counter. A pratica audits its submission and then protocols it while the back office registers an
/// item: taken in opposite orders the two would deadlock and one of them would fail.
#[sqlx::test]
async fn auditing_then_registering_never_deadlocks_with_a_registration(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = Actor::system("test");
    let mut pratica = pool.begin().await.unwrap();
    ordo::audit::record(
        &mut pratica,
        app.clock_now(),
        ordo::audit::Event {
            actor: &actor,
            action: "request.submit",
            entity: "request",
            entity_id: None,
            details: serde_json::json!({}),
        },
    )
    .await
    .unwrap();
    let (state, desk_actor) = (app.state.clone(), actor.clone());
    let desk = tokio::spawn(async move {
        protocol::service::register_alone(&state, &desk_actor, item("Dallo sportello")).await
    });
    // The back office's registration starts and waits for the chain's head, holding nothing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let from_pratica = protocol::register(
        &mut pratica,
        &app.state.config.protocol,
        app.clock_now(),
        &actor,
        item("Dalla pratica"),
    )
    .await
    .unwrap();
    pratica.commit().await.unwrap();
    let from_desk = desk.await.unwrap().unwrap();
    assert_eq!(from_pratica.segnatura.number, 1);
    assert_eq!(from_desk.segnatura.number, 2);
}

#[sqlx::test]
async fn the_numbering_restarts_at_midnight_of_new_years_day_in_rome(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = Actor::system("test");
    // 31 December 23:59:59 in Rome is 22:59:59 UTC (winter time).
    app.clock.set(datetime!(2026-12-31 22:59:58 UTC));
    protocol::service::register_alone(&app.state, &actor, item("Penultima del 2026"))
        .await
        .unwrap();
    app.clock.set(datetime!(2026-12-31 22:59:59 UTC));
    let last = protocol::service::register_alone(&app.state, &actor, item("Ultima del 2026"))
        .await
        .unwrap();
    assert_eq!(last.segnatura.key(), "2026/0000002");
    assert!(
        last.segnatura.stamp().ends_with("Prot.N. 0000002 del 31/12/2026"),
        "{}",
        last.segnatura.stamp()
    );
    app.clock.set(datetime!(2026-12-31 23:00:00 UTC));
    let first = protocol::service::register_alone(&app.state, &actor, item("Prima del 2027"))
        .await
        .unwrap();
    assert_eq!(first.segnatura.key(), "2027/0000001");
    assert!(
        first
            .segnatura
            .stamp()
            .ends_with("Prot.N. 0000001 del 01/01/2027")
    );
    assert_eq!(numbers(&pool).await, vec![(2026, 1), (2026, 2), (2027, 1)]);
}

#[sqlx::test]
async fn registrations_are_immutable_and_annulled_only_with_the_permission(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let r = protocol::service::register_alone(&app.state, &Actor::system("test"), item("Da annullare"))
        .await
        .unwrap();
    for sql in [
        "UPDATE protocol_registrations SET subject = 'cambiato'",
        "DELETE FROM protocol_registrations",
        "TRUNCATE protocol_registrations CASCADE",
        "UPDATE protocol_documents SET content = 'x'",
        "DELETE FROM protocol_documents",
        "UPDATE protocol_counters SET last_number = 1",
        "DELETE FROM protocol_counters",
        "INSERT INTO protocol_counters (aoo, register, year, last_number) VALUES ('oring_ts', 'PROT', 2030, 5)",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(
            err.to_string().contains("refused") || err.to_string().contains("only by registering"),
            "{sql}: {err}"
        );
    }

    // The secretariat registers but cannot annul; the administrator can, with reason and act.
    let mut s = staff(&app).await;
    let page = s.get(&format!("/backoffice/protocollo/{}", r.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("#annul-form"));
    let refused = s
        .post(
            &format!("/backoffice/protocollo/{}/annulla", r.id),
            &[("reason", "errore"), ("act", "n. 1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let secret = app.create_user("admin@example.org", &[Role::Admin], true).await;
    let mut a = app.fresh_browser();
    a.login("admin@example.org", PASSWORD, secret.as_deref()).await;
    let page = a.get(&format!("/backoffice/protocollo/{}", r.id)).await;
    assert!(page.has("#annul-form"));
    let missing = a
        .post(
            &format!("/backoffice/protocollo/{}/annulla", r.id),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        missing.texts(".alert-danger li").len(),
        2,
        "reason and act both required"
    );
    let ok = a
        .post(
            &format!("/backoffice/protocollo/{}/annulla", r.id),
            &[
                ("reason", "Registrato due volte"),
                ("act", "Provvedimento del Segretario n. 3/2026"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = a.get(&format!("/backoffice/protocollo/{}", r.id)).await;
    assert!(page.texts("#annulment")[0].contains("Provvedimento del Segretario n. 3/2026"));
    let list = a.get("/backoffice/protocollo").await;
    assert!(list.has("tr.ordo-annulled"), "still listed, as annulled");
    let again = a
        .post(
            &format!("/backoffice/protocollo/{}/annulla", r.id),
            &[("reason", "x"), ("act", "y")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "annulled once only");
    assert!(
        sqlx::query("DELETE FROM protocol_annulments")
            .execute(&pool)
            .await
            .is_err()
    );
    assert_eq!(numbers(&pool).await, vec![(2026, 1)]);
}

#[sqlx::test]
async fn a_pratica_is_protocolled_in_on_submission_and_out_on_decision_linked_both_ways(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, _) = member(&app, "mario@example.org").await;
    m.get("/portale/richieste").await;
    let r = m
        .post(
            "/portale/richieste/pec",
            &[("mode", "register"), ("pec", "mario.rossi@ingpec.eu")],
        )
        .await;
    let request_id: i64 = r.location().unwrap().rsplit('=').next().unwrap().parse().unwrap();
    let rows: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, direction, request_id FROM protocol_registrations ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, vec![(rows[0].0, "in".to_string(), Some(request_id))]);
    let mine = m.get("/portale/richieste").await;
    assert_eq!(mine.texts(".protocol-key"), vec!["2026/0000001"]);

    let mut s = staff(&app).await;
    s.get(&format!("/backoffice/pratiche/{request_id}")).await;
    let r = s
        .post(
            &format!("/backoffice/pratiche/{request_id}/azione"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, direction FROM protocol_registrations ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["in", "out"]
    );
    // The member sees both numbers; staff go from the pratica to the registrations and back.
    let mine = m.get("/portale/richieste").await;
    assert_eq!(mine.texts(".protocol-key"), vec!["2026/0000001", "2026/0000002"]);
    let pratica = s.get(&format!("/backoffice/pratiche/{request_id}")).await;
    for (id, _) in &rows {
        assert!(pratica.has(&format!(
            ".request-protocols a[href='/backoffice/protocollo/{id}']"
        )));
    }
    let incoming = s.get(&format!("/backoffice/protocollo/{}", rows[0].0)).await;
    assert!(incoming.has(&format!(
        "#request-link[href='/backoffice/pratiche/{request_id}']"
    )));
    assert!(incoming.has(&format!("#linked a[href='/backoffice/protocollo/{}']", rows[1].0)));
    assert!(incoming.texts("#segnatura")[0].contains("Prot.N. 0000001 del 20/11/2026"));
    // The incoming registration holds the request as submitted, with its SHA-256.
    let docs = incoming.texts("#documents tbody td.ordo-hash");
    assert_eq!(docs.len(), 1);
    let doc_link = incoming
        .doc()
        .select(&scraper::Selector::parse("#documents a").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    let doc = s.get(&doc_link).await;
    assert!(doc.body.contains("mario.rossi@ingpec.eu"));
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&doc.bytes)),
        docs[0]
    );
    // The outcome letter ordo wrote carries its own segnatura.
    let outgoing = s.get(&format!("/backoffice/protocollo/{}", rows[1].0)).await;
    let link = outgoing
        .doc()
        .select(&scraper::Selector::parse("#documents a").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_string();
    let letter = s.get(&link).await;
    assert!(letter.body.starts_with("Cod.Amministrazione: oring_ts · Cod.AOO: oring_ts · Cod.Registro: PROT · Prot.N. 0000002 del 20/11/2026\n\nPratica n."), "{}", letter.body);
    // Search by correspondent finds both.
    let found = s.get("/backoffice/protocollo?corrispondente=rossi").await;
    assert_eq!(found.texts("#protocol-table tbody tr").len(), 2);
    let bad = s.get("/backoffice/protocollo?dal=31/02/2026").await;
    assert!(bad.texts(".alert-danger li")[0].contains("Dal"));
}

#[sqlx::test]
async fn the_daily_register_is_produced_once_for_closed_days(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let actor = Actor::system("test");
    protocol::service::register_alone(
        &app.state,
        &actor,
        item("Richiesta parere sulla parcella «Citterà»"),
    )
    .await
    .unwrap();
    // The same day is not closed yet.
    let today = ordo::format::rome_day(app.clock_now());
    assert!(matches!(
        protocol::daily::produce(&app.state, Some(today)).await,
        Err(ordo::error::AppError::Conflict(_))
    ));
    app.clock.advance(time::Duration::days(2));
    let produced = protocol::daily::produce(&app.state, None).await.unwrap();
    assert_eq!(produced.len(), 2, "{produced:?}");
    assert!(produced[0].starts_with("2026-11-20: 1 registrations"));
    assert!(produced[1].starts_with("2026-11-21: 0 registrations"));
    assert!(
        protocol::daily::produce(&app.state, None)
            .await
            .unwrap()
            .is_empty(),
        "never twice"
    );
    let (csv, csv_sha, pdf, pdf_sha): (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT csv, csv_sha256, pdf, pdf_sha256 FROM protocol_daily_registers WHERE day = '2026-11-20'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    use sha2::Digest;
    assert_eq!(sha2::Sha256::digest(&csv).as_slice(), csv_sha.as_slice());
    assert_eq!(sha2::Sha256::digest(&pdf).as_slice(), pdf_sha.as_slice());
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("2026;0000001;20/11/2026 10:00;In entrata;Comune di Trieste"),
        "{csv}"
    );
    let text = crate::pdf_text(&pdf);
    assert!(text.contains("Registro giornaliero di protocollo"), "{text}");
    assert!(text.contains("0000001") && text.contains("Citterà"), "{text}");
    assert!(
        text.contains(&hex::encode(&csv_sha)),
        "the PDF names the CSV's fingerprint"
    );
    assert!(
        sqlx::query("UPDATE protocol_daily_registers SET entries = 5")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[sqlx::test]
async fn the_cli_registers_and_verify_names_a_tampered_registration(pool: PgPool) {
    let db = crate::cli::database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("esposto.pdf");
    std::fs::write(&file, b"%PDF-1.4\nesposto\n%%EOF\n").unwrap();
    let ordo = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .env("DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = ordo(&[
        "protocol",
        "register",
        "--direction",
        "in",
        "--subject",
        "Esposto",
        "--correspondent",
        "Mario Bianchi",
        "--attach",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.ends_with("/0000001"), "{key}");
    let out = ordo(&[
        "protocol",
        "register",
        "--direction",
        "sideways",
        "--subject",
        "x",
        "--correspondent",
        "y",
    ]);
    assert!(!out.status.success());
    let out = ordo(&[
        "protocol",
        "register",
        "--direction",
        "out",
        "--subject",
        " ",
        "--correspondent",
        "y",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("subject: Indica l'oggetto."));

    let out = ordo(&["protocol", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 registrations, 1 documents verified"));
    // One byte changed behind the database's back (a superuser disabling the guard).
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE protocol_documents DISABLE TRIGGER protocol_documents_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE protocol_documents SET content = overlay(content placing 'X' from 10 for 1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE protocol_documents ENABLE TRIGGER protocol_documents_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let out = ordo(&["protocol", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "registration {key}: document \"esposto.pdf\" does not match"
        )),
        "{text}"
    );
    let out = ordo(&["protocol", "daily", "--date", "2999-01-01"]);
    assert_eq!(out.status.code(), Some(1), "a day not closed yet is refused");
}
