//! The video-access registry (issue 9): the append-only access register, grants in the audit log, the
//! seed's camera table through the CLI and the import screen, retention alerts, reports and the public
//! notice; and the helpers of `video_requests.rs` (the footage requests).

use axum::http::StatusCode;
use ordo::auth::Role;
use sqlx::PgPool;

use crate::cli::{database_url, ordo};
use crate::helpers::{PASSWORD, TestApp, TestResponse};

pub const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const CAMERAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/video/cameras.csv");

pub struct World {
    pub app: TestApp,
    pub officer: TestApp,
    pub manager: TestApp,
    pub officer_id: i64,
}

pub async fn user_id(pool: &PgPool, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn browser(app: &TestApp, email: &str, role: Role) -> TestApp {
    let secret = app.create_user(email, &[role], true).await;
    let mut b = app.fresh_browser();
    let r = b.login(email, PASSWORD, secret.as_deref()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b
}

/// The demo cameras loaded, an officer and a manager logged in.
pub async fn world(pool: PgPool) -> World {
    let app = TestApp::new(pool.clone()).await;
    let summary = ordo::video::demo::seed(&app.state).await.unwrap();
    assert_eq!(summary.new, 27);
    let officer = browser(&app, "incaricato@example.org", Role::VideoOfficer).await;
    let manager = browser(&app, "responsabile@example.org", Role::VideoManager).await;
    let officer_id = user_id(&pool, "incaricato@example.org").await;
    World {
        app,
        officer,
        manager,
        officer_id,
    }
}

pub async fn system_id(pool: &PgPool, number: i32) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM video_systems WHERE number = $1")
        .bind(number)
        .fetch_one(pool)
        .await
        .unwrap();
    id.to_string()
}

pub async fn grant(w: &mut World, numbers: &[i32], level: &str) -> TestResponse {
    let mut fields = vec![
        ("user_id".to_string(), w.officer_id.to_string()),
        ("level".into(), level.into()),
        ("effective_on".into(), "2026-11-20".into()),
        ("reason".into(), "Nomina a incaricato, atto n. 12/2026".into()),
    ];
    for n in numbers {
        fields.push(("systems".into(), system_id(&w.app.state.pool, *n).await));
    }
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    w.manager
        .get("/backoffice/videosorveglianza/autorizzazioni")
        .await;
    w.manager
        .post("/backoffice/videosorveglianza/autorizzazioni", &refs)
        .await
}

pub async fn submit(w: &mut World, purpose: &str, people: &[(&str, &str)]) -> TestResponse {
    let s3 = system_id(&w.app.state.pool, 3).await;
    let s4 = system_id(&w.app.state.pool, 4).await;
    let mut fields = vec![
        ("purpose", purpose),
        ("requester_name", "Mar. Paolo Gialli"),
        ("requester_org", "Stazione Carabinieri di Cogolo"),
        ("requester_email", "stcogolo@carabinieri.example"),
        ("motivation", "Furto di una bicicletta nel cortile della scuola"),
        ("footage_from", "2026-11-19T08:00"),
        ("footage_to", "2026-11-19T09:00"),
        ("systems", s3.as_str()),
        ("systems", s4.as_str()),
    ];
    for (n, r) in people {
        fields.push(("person_name", n));
        fields.push(("person_role", r));
    }
    w.officer.get("/backoffice/videosorveglianza/richieste").await;
    w.officer
        .multipart(
            "/backoffice/videosorveglianza/richieste",
            &fields,
            &[(
                "files",
                "richiesta.pdf",
                b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec(),
            )],
        )
        .await
}

pub fn request_id(r: &TestResponse) -> i64 {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let l = r.location().unwrap();
    l.trim_start_matches("/backoffice/videosorveglianza/richieste/")
        .trim_end_matches("?ok=1")
        .parse()
        .unwrap()
}

pub async fn act(b: &mut TestApp, id: i64, fields: &[(&str, &str)]) -> TestResponse {
    b.get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
        .await;
    b.post(
        &format!("/backoffice/videosorveglianza/richieste/{id}/azione"),
        fields,
    )
    .await
}

pub async fn decide(b: &mut TestApp, id: i64, fields: &[(&str, &str)]) -> TestResponse {
    b.get(&format!("/backoffice/videosorveglianza/richieste/{id}"))
        .await;
    b.post(
        &format!("/backoffice/videosorveglianza/richieste/{id}/decisione"),
        fields,
    )
    .await
}

pub fn extraction<'a>(kind: &'a str, masked: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("step", "extract"),
        ("extraction_kind", kind),
        ("masked", masked),
        ("files", "3"),
        (
            "encryption_method",
            "Archivio 7z AES-256, password comunicata a parte",
        ),
        ("sha256", SHA),
        ("note", "Estratti dalle 08:10 alle 08:25"),
    ]
}

pub async fn state_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM video_requests WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn the_access_register_is_append_only_and_grants_are_audited(pool: PgPool) {
    let mut w = world(pool.clone()).await;
    let s5 = system_id(&pool, 5).await;
    let session = [
        ("systems", s5.as_str()),
        ("session_start", "2026-11-20T09:00"),
        ("session_end", "2026-11-20T09:40"),
        ("footage_from", "2026-11-19T22:00"),
        ("footage_to", "2026-11-19T23:00"),
        ("purpose", "Verifica di un danneggiamento segnalato"),
    ];
    w.officer.get("/backoffice/videosorveglianza").await;
    let r = w
        .officer
        .post("/backoffice/videosorveglianza/accessi", &session)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no grant, no viewing");
    assert!(r.texts("#video-errors")[0].contains("alla visione"));

    assert_eq!(grant(&mut w, &[5, 6], "view").await.status, StatusCode::SEE_OTHER);
    w.officer.get("/backoffice/videosorveglianza").await;
    let r = w
        .officer
        .post("/backoffice/videosorveglianza/accessi", &session)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = w.officer.get("/backoffice/videosorveglianza").await;
    let rows = page.texts("#access-register tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].contains("Verifica di un danneggiamento") && rows[0].contains("40"),
        "{rows:?}"
    );

    // Nobody edits or deletes an entry: the database refuses.
    for sql in [
        "UPDATE video_access_log SET purpose = 'altro'",
        "DELETE FROM video_access_log",
        "TRUNCATE video_access_log CASCADE",
        "UPDATE video_grants SET reason = 'altro'",
        "DELETE FROM video_grants",
    ] {
        let e = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }

    // Revoke one system: every act is in the audit log, with the level before and the reason.
    w.manager
        .get("/backoffice/videosorveglianza/autorizzazioni")
        .await;
    let r = grant(&mut w, &[6], "revoke").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let acts: Vec<(String, String)> =
        sqlx::query_as("SELECT action, details FROM audit_log WHERE entity = 'video_grant' ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let actions: Vec<&str> = acts.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["video.grant", "video.grant", "video.revoke"]);
    assert!(
        acts[2].1.contains("\"previous\":\"view\"") && acts[2].1.contains("atto n. 12/2026"),
        "{}",
        acts[2].1
    );
    let page = w
        .manager
        .get("/backoffice/videosorveglianza/autorizzazioni")
        .await;
    assert_eq!(page.texts("#grant-history tbody tr").len(), 3);
    assert_eq!(page.texts("#current-grants tbody tr").len(), 1);
    // Revoked: no more viewing of system 6.
    let s6 = system_id(&pool, 6).await;
    let mut again = session.to_vec();
    again[0] = ("systems", s6.as_str());
    w.officer.get("/backoffice/videosorveglianza").await;
    let r = w
        .officer
        .post("/backoffice/videosorveglianza/accessi", &again)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The accesses report, by operator and system.
    let csv = w
        .manager
        .get("/backoffice/videosorveglianza/report/accessi.csv?dal=2026-11-01&al=2026-11-30")
        .await;
    assert!(
        csv.body
            .contains("Persona di Prova;5;Ingresso esterno scuola materna;1;40;0"),
        "{}",
        csv.body
    );
    let pdf = w
        .manager
        .get("/backoffice/videosorveglianza/report/accessi.pdf")
        .await;
    assert!(crate::pdf_text(&pdf.bytes).contains("Ingresso esterno scuola materna"));
}

#[sqlx::test]
async fn the_seed_camera_table_imports_through_the_cli_and_the_screen(pool: PgPool) {
    let db = database_url(&pool).await;
    let out = ordo(&db, &["migrate"]);
    assert!(out.status.success());
    let out = ordo(&db, &["import", "cameras", CAMERAS]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("27 righe: 27 nuove, 0 aggiornate, 0 invariate, 0 scartate"),
        "{text}"
    );
    let (systems, sites, cameras): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM video_systems), (SELECT count(*) FROM video_sites),
                (SELECT sum(ptz_cameras + fixed_cameras) FROM video_systems)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((systems, sites, cameras), (27, 16, 43));
    let (zoom, lat, retention): (String, String, i32) = sqlx::query_as(
        "SELECT s.optical_zoom, t.latitude::TEXT, s.retention_days FROM video_systems s JOIN video_sites t ON t.id = s.site_id WHERE s.number = 12",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((zoom.as_str(), lat.as_str(), retention), ("26X", "46.346890", 7));
    let out = ordo(&db, &["import", "cameras", CAMERAS]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 nuove, 0 aggiornate, 27 invariate"));

    // The import screen, with the same file and no change to the mapping.
    sqlx::raw_sql("DELETE FROM video_systems; DELETE FROM video_sites")
        .execute(&pool)
        .await
        .unwrap();
    let app = TestApp::new(pool.clone()).await;
    let secret = app.create_user("admin@example.org", &[Role::Admin], true).await;
    let mut b = app.fresh_browser();
    b.login("admin@example.org", PASSWORD, secret.as_deref()).await;
    b.get("/backoffice/import").await;
    let bytes = std::fs::read(CAMERAS).unwrap();
    let r = b
        .multipart(
            "/backoffice/import",
            &[("kind", "cameras")],
            &[("file", "cameras.csv", bytes)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let job_url = r.location().unwrap().to_string();
    let id: i64 = job_url.rsplit('/').next().unwrap().parse().unwrap();
    let page = b.get(&job_url).await;
    assert!(
        !page.has("#mapping-problem"),
        "{:?}",
        page.texts("#mapping-problem")
    );
    assert!(page.texts("#preview-table tbody tr")[0].contains("Parcheggio scuola zona nord/est"));
    b.post(&format!("/backoffice/import/{id}/avvia"), &[("mode", "atomic")])
        .await;
    for _ in 0..500 {
        let state: String = sqlx::query_scalar("SELECT state FROM import_jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if state == "done" {
            break;
        }
        assert!(matches!(state.as_str(), "queued" | "running"), "{state}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let systems: i64 = sqlx::query_scalar("SELECT count(*) FROM video_systems")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(systems, 27);

    // The public notice lists the 16 sites and no personal data.
    let mut anon = app.fresh_browser();
    let page = anon.get("/videosorveglianza").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("#camera-sites tbody tr").len(), 16);
    assert!(page.texts("#notice-retention")[0].contains("7 giorni"));
    assert!(!page.body.contains("@example.org"));
}

#[sqlx::test]
async fn footage_past_retention_raises_alerts_unless_held_for_an_authority(pool: PgPool) {
    let mut w = world(pool.clone()).await;
    let id = request_id(&submit(&mut w, "b", &[]).await);
    let held = request_id(&submit(&mut w, "a", &[("V.Isp. Anna Blu", "Ufficiale di p.g.")]).await);
    decide(
        &mut w.manager,
        held,
        &[
            ("decision", "authorise"),
            ("held_for", "Decreto del PM n. 45/2026"),
        ],
    )
    .await;
    assert_eq!(ordo::video::retention_check(&w.app.state).await.unwrap(), (0, 0));
    // Footage of ten days ago: past the systems' 7 days while both requests are still pending.
    sqlx::query(
        "UPDATE video_requests SET footage_from = footage_from - interval '10 days',
                                   footage_to = footage_to - interval '10 days'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(ordo::video::retention_check(&w.app.state).await.unwrap(), (1, 1));
    assert_eq!(ordo::video::retention_check(&w.app.state).await.unwrap(), (1, 0));
    let page = w.manager.get("/backoffice/videosorveglianza/conservazione").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#retention-alerts tbody tr");
    assert_eq!(rows.len(), 1, "the request held for the prosecutor raises none");
    assert!(
        rows[0].contains(&format!("n. {id}")) && rows[0].contains("ancora da evadere"),
        "{rows:?}"
    );
    let csv = w
        .manager
        .get("/backoffice/videosorveglianza/report/conservazione.csv")
        .await;
    assert!(csv.body.contains(&format!("\n{id};")), "{}", csv.body);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'video.retention_alerts'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}
