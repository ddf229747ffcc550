//! Footage requests of the video-access registry (issue 9): the whole workflow for each purpose
//! (a)-(e), and the refusals: extraction without a grant, whole footage for (d)/(e), closing before the
//! extracted files are deleted.

use axum::http::StatusCode;
use sqlx::PgPool;

use crate::video::{SHA, act, decide, extraction, grant, request_id, state_of, submit, world};

#[sqlx::test]
async fn every_purpose_goes_from_the_written_request_to_the_deleted_files(pool: PgPool) {
    let mut w = world(pool.clone()).await;
    assert_eq!(
        grant(&mut w, &[3, 4], "extract").await.status,
        StatusCode::SEE_OTHER
    );
    for purpose in ["a", "b", "c", "d", "e"] {
        let police = matches!(purpose, "a" | "c");
        let people: &[(&str, &str)] = if police {
            &[("App. Luca Neri", "Agente di polizia giudiziaria")]
        } else {
            &[]
        };
        let id = request_id(&submit(&mut w, purpose, people).await);
        let page = w
            .officer
            .get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
            .await;
        let protocol = page.texts("#request-protocol")[0].clone();
        assert!(protocol.starts_with("2026/"), "{purpose}: {protocol}");
        if police {
            assert!(page.texts("#request-people")[0].contains("Agente di polizia giudiziaria"));
        }
        assert_eq!(state_of(&pool, id).await, "received");

        let r = decide(
            &mut w.manager,
            id,
            &[("decision", "authorise"), ("note", "Richiesta fondata")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{purpose}: {}", r.body);
        let frames = matches!(purpose, "d" | "e");
        let r = act(
            &mut w.officer,
            id,
            &extraction(
                if frames { "frames" } else { "footage" },
                if frames { "1" } else { "" },
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{purpose}: {}", r.body);
        let page = w
            .officer
            .get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
            .await;
        assert!(page.texts("#request-transfer")[0].contains(SHA));
        if frames {
            assert!(page.texts("#request-extraction")[0].contains("Singoli fotogrammi"));
            assert!(page.texts("#request-extraction")[0].contains("terzi oscurati"));
        }

        let r = act(&mut w.officer, id, &[("step", "verbale")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{purpose}: {}", r.body);
        let page = w
            .officer
            .get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
            .await;
        let verbale_protocol = page.texts("#verbale-protocol")[0].clone();
        let pdf = w
            .officer
            .get(&format!(
                "/backoffice/videosorveglianza/richieste/{id}/verbale.pdf"
            ))
            .await;
        assert_eq!(pdf.status, StatusCode::OK);
        let text = crate::pdf_text(&pdf.bytes);
        let number = verbale_protocol.rsplit('/').next().unwrap();
        assert!(text.contains(&format!("Prot.N. {number}")), "{purpose}: {text}");
        assert!(
            text.contains(&protocol),
            "the request's protocol number is on the verbale"
        );
        if frames {
            assert!(text.contains("singoli fotogrammi"), "{text}");
        }
        // Both the request and the verbale are in the protocol register, classified 7.2.
        let registered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM protocol_registrations WHERE classification = '7.2' AND subject LIKE '%n. ' || $1 || '%'",
        )
        .bind(id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(registered, 2, "{purpose}");

        let r = act(
            &mut w.officer,
            id,
            &[("step", "outcome"), ("outcome", "Consegnato al richiedente")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // Closing before the files are deleted is refused.
        let r = act(&mut w.officer, id, &[("step", "close")]).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.texts("#video-errors")[0].contains("i file estratti non risultano ancora cancellati"));
        assert_eq!(state_of(&pool, id).await, "delivered");
        let r = act(
            &mut w.officer,
            id,
            &[("step", "delete_files"), ("deleted_on", "2026-11-20")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = act(&mut w.officer, id, &[("step", "close")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = w
            .officer
            .get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
            .await;
        assert_eq!(page.texts("#request-state")[0], "Chiusa");
        assert_eq!(page.texts("#request-deleted")[0], "20/11/2026");
        assert_eq!(page.texts("#request-history li").len(), 7);
    }
    // Every extraction is in the access register.
    let extractions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM video_access_log WHERE extracted AND request_id IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(extractions, 5);
    // The report of requests by purpose and outcome.
    let csv = w
        .manager
        .get("/backoffice/videosorveglianza/report/richieste.csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .contains("e) Accesso ai propri dati (art. 15 GDPR);Chiusa;1"),
        "{}",
        csv.body
    );
    let pdf = w
        .manager
        .get("/backoffice/videosorveglianza/report/richieste.pdf")
        .await;
    assert!(crate::pdf_text(&pdf.bytes).contains("Chiusa"));
}

#[sqlx::test]
async fn extraction_needs_a_grant_and_d_e_never_release_whole_footage(pool: PgPool) {
    let mut w = world(pool.clone()).await;
    // A police request must name the people it authorises.
    let r = submit(&mut w, "a", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("nominativi e le qualifiche"));
    // An officer cannot authorise.
    let id = request_id(&submit(&mut w, "d", &[]).await);
    let r = decide(&mut w.officer, id, &[("decision", "authorise")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // No extraction before the authorisation.
    let r = act(&mut w.officer, id, &extraction("frames", "1")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    decide(&mut w.manager, id, &[("decision", "authorise")]).await;

    // Without any grant, then with a view-only grant: refused, nothing recorded.
    let r = act(&mut w.officer, id, &extraction("frames", "1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.texts("#video-errors")[0].contains("Non sei autorizzato all'estrazione"),
        "{:?}",
        r.texts("#video-errors")
    );
    grant(&mut w, &[3, 4], "view").await;
    let r = act(&mut w.officer, id, &extraction("frames", "1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts("#video-errors")[0].contains("n. 3, n. 4"));
    assert_eq!(state_of(&pool, id).await, "authorised");

    // With the extract grant, (d) whole footage is refused, and frames need third parties masked.
    grant(&mut w, &[3, 4], "extract").await;
    let r = act(&mut w.officer, id, &extraction("footage", "1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts("#video-errors")[0].contains("non si rilasciano filmati integrali"));
    let r = act(&mut w.officer, id, &extraction("frames", "")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts("#video-errors")[0].contains("devono essere oscurati"));
    assert_eq!(state_of(&pool, id).await, "authorised");
    // The database refuses it too.
    let e = sqlx::query("UPDATE video_requests SET extraction_kind = 'footage', encryption_method = 'x', handed_sha256 = sha256('x') WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("video_requests_frames_only"), "{e}");
    // (e) the same.
    let e_id = request_id(&submit(&mut w, "e", &[]).await);
    decide(&mut w.manager, e_id, &[("decision", "authorise")]).await;
    let r = act(&mut w.officer, e_id, &extraction("footage", "1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A transfer without encryption method or checksum is refused.
    let mut fields = extraction("frames", "1");
    fields.retain(|(k, _)| *k != "sha256" && *k != "encryption_method");
    let r = act(&mut w.officer, e_id, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("metodo di cifratura") && r.body.contains("SHA-256"));

    // A refused request closes without files.
    let b_id = request_id(&submit(&mut w, "b", &[]).await);
    let r = decide(&mut w.manager, b_id, &[("decision", "refuse")]).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refusal needs its reason"
    );
    decide(
        &mut w.manager,
        b_id,
        &[("decision", "refuse"), ("note", "Riprese non pertinenti")],
    )
    .await;
    assert_eq!(state_of(&pool, b_id).await, "refused");
    act(&mut w.officer, b_id, &[("step", "close")]).await;
    assert_eq!(state_of(&pool, b_id).await, "closed");
}
