//! The register: status lifecycle through the back office, public Albo and privacy, exports, portal.

use axum::http::StatusCode;
use ordo::audit::Actor;
use ordo::auth::Role;
use ordo::members::MemberData;
use ordo::members::cf::{Sex, compute};
use ordo::members::service::{Entry, create_member};
use sqlx::PgPool;
use time::macros::date;

use crate::helpers::{PASSWORD, TestApp};

pub fn data(surname: &str, name: &str, birth: time::Date, sex: Sex) -> MemberData {
    let cf = compute(surname, name, birth, sex, "L424").expect("cf");
    MemberData {
        fiscal_code: cf.as_str().to_string(),
        surname: surname.into(),
        name: name.into(),
        sex: match sex {
            Sex::M => "M".into(),
            Sex::F => "F".into(),
        },
        birth_date: Some(birth),
        birth_place: "Trieste".into(),
        birth_province: "TS".into(),
        residence_address: "Via dei Giardini 7".into(),
        residence_cap: "34100".into(),
        residence_municipality: "Trieste".into(),
        residence_province: "TS".into(),
        domicile_address: "Piazza Unità 1".into(),
        domicile_cap: "34121".into(),
        domicile_municipality: "Trieste".into(),
        domicile_province: "TS".into(),
        email: format!(
            "{}.{}@esempio.it",
            ordo::members::model::search_key(name),
            ordo::members::model::search_key(surname).replace(' ', "")
        ),
        pec: format!(
            "{}@ingpec.eu",
            ordo::members::model::search_key(surname).replace(' ', "")
        ),
        phone: "+39 333 1234567".into(),
        section: "A".into(),
        sectors: vec!["civile_ambientale".into()],
        specialisations: "Strutture in zona sismica".into(),
        ..Default::default()
    }
}

pub async fn add(app: &TestApp, d: MemberData, entry: Entry) -> i64 {
    let mut tx = app.state.pool.begin().await.unwrap();
    let today = ordo::members::service::today(app.clock_now());
    let id = create_member(
        &mut tx,
        &app.state.config.albo,
        app.clock_now(),
        today,
        &Actor::system("test"),
        d,
        entry,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

const REGISTERED: Entry = Entry::Registered {
    date: date!(2015 - 03 - 10),
    resolution_number: "7/2015",
};

async fn secretary(app: &TestApp) -> TestApp {
    let secret = app
        .create_user("segreteria@example.org", &[Role::Secretariat], true)
        .await;
    let mut b = app.fresh_browser();
    b.login("segreteria@example.org", PASSWORD, secret.as_deref())
        .await;
    b
}

#[sqlx::test]
async fn status_lifecycle_through_the_back_office(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let id = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        Entry::Application,
    )
    .await;
    let mut s = secretary(&app).await;
    let sheet = s.get(&format!("/backoffice/iscritti/{id}")).await;
    assert_eq!(sheet.texts("#member-status"), vec!["Richiedente"]);

    let post = |kind: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let mut f = vec![
            ("kind", kind),
            ("effective_date", "01/10/2026"),
            ("resolution_number", "41/2026"),
            ("resolution_date", "28/09/2026"),
        ];
        f.extend(extra);
        f
    };
    // Missing resolution: refused with the field named.
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &[("kind", "registration"), ("effective_date", "01/10/2026")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger li").iter().any(|t| t.contains("delibera")));
    // Not allowed from this status.
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post("reinstatement", vec![]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.texts(".alert-danger li")[0].contains("non è possibile"));

    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post("registration", vec![]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let n: Option<i32> = sqlx::query_scalar("SELECT registration_number FROM members WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post(
                "suspension",
                vec![("until_date", "31/12/2026"), ("reason", "Mancato aggiornamento")],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post("reinstatement", vec![]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post("cancellation", vec![("reason", "resignation")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = s
        .post(
            &format!("/backoffice/iscritti/{id}/stato"),
            &post("reinstatement", vec![]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "cancelled is final");

    let sheet = s.get(&format!("/backoffice/iscritti/{id}")).await;
    assert_eq!(sheet.texts("#member-status"), vec!["Cancellato"]);
    let rows = sheet.texts("#member-history tbody tr td:first-child");
    assert_eq!(
        rows,
        vec![
            "Domanda di iscrizione",
            "Iscrizione all'Albo",
            "Sospensione",
            "Revoca della sospensione",
            "Cancellazione"
        ]
    );
    assert!(sheet.body.contains("n. 41/2026 del 28/09/2026"));
    // The number stays with the cancelled member; the next registration gets a new one.
    let other = add(
        &app,
        data("Bianchi", "Giulia", date!(1990 - 07 - 03), Sex::F),
        REGISTERED,
    )
    .await;
    let n2: Option<i32> = sqlx::query_scalar("SELECT registration_number FROM members WHERE id = $1")
        .bind(other)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n2, Some(2));
    let audits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'member.status_change'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audits, 4);
}

#[sqlx::test]
async fn history_and_derived_status_are_protected_by_the_database(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let id = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    for sql in [
        "UPDATE member_status_events SET kind = 'cancellation'",
        "DELETE FROM member_status_events",
        "UPDATE members SET status = 'cancelled'",
        "UPDATE members SET registration_number = 99",
        "DELETE FROM members",
    ] {
        let e = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(
            e.to_string().contains("refused")
                || e.to_string().contains("cannot")
                || e.to_string().contains("follow"),
            "{sql}: {e}"
        );
    }
    let status: String = sqlx::query_scalar("SELECT status FROM members WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[sqlx::test]
async fn codice_fiscale_and_dates_are_checked_with_clear_messages(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let albo = &app.state.config.albo;
    let today = ordo::members::service::today(app.clock_now());
    let good = data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M);
    assert!(ordo::members::service::validate_new(&good, albo, today).is_ok());
    let cases: Vec<(MemberData, &str, &str)> = vec![
        (
            MemberData {
                fiscal_code: "RSSMRA80D12L424".into(),
                ..good.clone()
            },
            "fiscal_code",
            "16",
        ),
        (
            MemberData {
                fiscal_code: format!("{}A", &good.fiscal_code[..15]),
                ..good.clone()
            },
            "fiscal_code",
            "controllo",
        ),
        (
            MemberData {
                name: "Luigi".into(),
                ..good.clone()
            },
            "fiscal_code",
            "nome",
        ),
        (
            MemberData {
                birth_date: Some(date!(1981 - 04 - 12)),
                ..good.clone()
            },
            "fiscal_code",
            "data di nascita",
        ),
        (
            MemberData {
                sex: "F".into(),
                ..good.clone()
            },
            "fiscal_code",
            "sesso",
        ),
        (
            MemberData {
                birth_date: Some(date!(2030 - 01 - 01)),
                ..good.clone()
            },
            "birth_date",
            "futura",
        ),
        (
            MemberData {
                surname: "<script>".into(),
                ..good.clone()
            },
            "surname",
            "non ammessi",
        ),
        (
            MemberData {
                section: "Z".into(),
                ..good.clone()
            },
            "section",
            "sezione",
        ),
        (
            MemberData {
                pec: "non-una-pec".into(),
                ..good.clone()
            },
            "pec",
            "PEC",
        ),
    ];
    for (d, field, text) in cases {
        let errors = ordo::members::service::validate_new(&d, albo, today).expect_err(field);
        assert!(
            errors
                .iter()
                .any(|e| e.field == field && e.message.to_lowercase().contains(&text.to_lowercase())),
            "{field}/{text}: {errors:?}"
        );
    }
}

#[sqlx::test]
async fn public_albo_search_is_accent_and_case_insensitive_and_hides_non_public_members(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    add(
        &app,
        data("D'Àngelo", "Nicolò", date!(1975 - 01 - 20), Sex::M),
        REGISTERED,
    )
    .await;
    add(
        &app,
        data("Dangelo", "Anna", date!(1982 - 02 - 11), Sex::F),
        REGISTERED,
    )
    .await;
    add(
        &app,
        data("Danieli", "Paolo", date!(1970 - 03 - 05), Sex::M),
        Entry::Application,
    )
    .await;
    let r = app.get("/albo?q=DANG").await;
    assert_eq!(r.status, StatusCode::OK);
    let names = r.texts("#albo-results li a");
    assert_eq!(
        names,
        vec!["Dangelo Anna", "D'Àngelo Nicolò"],
        "ordered by the normalised name"
    );
    let r = app.get("/albo?q=nicolo%20d").await;
    assert_eq!(
        r.texts("#albo-results li a"),
        vec!["D'Àngelo Nicolò"],
        "name first works too"
    );
    let r = app.get("/albo?q=danie").await;
    assert!(r.has("#no-results"), "applicants are not in the public Albo");
    let r = app.get("/albo?numero=abc").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.texts(".alert-danger")[0].contains("cifre"));
    let r = app.get("/albo/1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.get("/albo/999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/albo/abc").await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn public_albo_paginates_surname_matches_then_name_matches(pool: PgPool) {
    let config = crate::helpers::test_config(&[("ORDO_ALBO_PAGE_SIZE", "2")]);
    let mut app = TestApp::with(pool, config, std::sync::Arc::new(ordo::mail::LogMailer), |b| b).await;
    for (i, (surname, name)) in [
        ("Rossi", "Marco"),
        ("Rossi", "Luca"),
        ("Rossini", "Paolo"),
        ("Bianchi", "Rossana"),
        ("Verdi", "Anna"),
    ]
    .iter()
    .enumerate()
    {
        let sex = if *name == "Rossana" || *name == "Anna" {
            Sex::F
        } else {
            Sex::M
        };
        add(
            &app,
            data(
                surname,
                name,
                date!(1980 - 01 - 01) + time::Duration::days(i as i64 * 40),
                sex,
            ),
            REGISTERED,
        )
        .await;
    }
    let mut pages = vec![];
    let mut link = Some("/albo?q=ross".to_string());
    while let Some(l) = link {
        let r = app.get(&l).await;
        assert_eq!(r.status, StatusCode::OK);
        pages.push(r.texts("#albo-results li a"));
        link = r
            .doc()
            .select(&scraper::Selector::parse("#next-page").unwrap())
            .next()
            .and_then(|a| a.value().attr("href").map(str::to_string));
        assert!(pages.len() < 5, "pagination does not end");
    }
    assert_eq!(
        pages,
        vec![
            vec!["Rossi Luca", "Rossi Marco"],
            vec!["Rossini Paolo", "Bianchi Rossana"]
        ]
    );
    // Deep page past the end: empty, no error.
    let r = app.get("/albo?q=ross&pagina=7").await;
    assert!(r.has("#no-results"));
}

#[sqlx::test]
async fn optional_fields_appear_in_public_only_with_consent(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    let d = data("Verdi", "Laura", date!(1985 - 06 - 15), Sex::F);
    let (email, phone, street, spec) = (
        d.email.clone(),
        d.phone.clone(),
        d.residence_address.clone(),
        d.specialisations.clone(),
    );
    let id = add(&app, d, REGISTERED).await;
    let private = [email.as_str(), phone.as_str(), street.as_str(), spec.as_str()];
    let public_pages = [
        "/albo?q=verdi",
        "/albo/1",
        "/albo?comune=Trieste",
        "/albo?numero=1",
    ];
    for path in public_pages {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        for p in private {
            assert!(!r.body.contains(p), "{path} shows {p} without consent");
        }
    }
    // The member consents to e-mail and specialisations from the portal.
    let mut member = app.member_browser(id, "laura@example.org").await;
    let portal = member.get("/portale").await;
    assert_eq!(portal.texts("#my-status"), vec!["Iscritto"]);
    let token = member.csrf.clone().unwrap();
    let r = member
        .post_raw(
            "/portale/consensi",
            &[
                ("csrf_token", &token),
                ("consent", "email"),
                ("consent", "specialisations"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/portale?ok=consensi"));
    let r = app.get("/albo/1").await;
    assert_eq!(r.texts("#field-email"), vec![email.clone()]);
    assert_eq!(r.texts("#field-specialisations"), vec![spec.clone()]);
    assert!(!r.body.contains(&phone) && !r.body.contains(&street));
    // Withdrawn: gone again, and both changes are on record with time and source.
    let r = member
        .post_raw(
            "/portale/consensi",
            &[("csrf_token", &token), ("consent", "specialisations")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!app.get("/albo/1").await.body.contains(&email));
    let log: Vec<(String, bool, String)> =
        sqlx::query_as("SELECT field, granted, source FROM member_consents WHERE member_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        log,
        vec![
            ("email".into(), true, "portale".into()),
            ("specialisations".into(), true, "portale".into()),
            ("email".into(), false, "portale".into())
        ]
    );
    let r = member
        .post_raw(
            "/portale/consensi",
            &[("csrf_token", &token), ("consent", "birth_date")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn each_staff_view_of_a_member_sheet_is_audited(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let id = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    let mut s = secretary(&app).await;
    for _ in 0..2 {
        assert_eq!(
            s.get(&format!("/backoffice/iscritti/{id}")).await.status,
            StatusCode::OK
        );
    }
    let views: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT actor_label, entity_id FROM audit_log WHERE action = 'member.view' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        views,
        vec![("segreteria@example.org".into(), Some(id.to_string())); 2]
    );
    assert_eq!(
        ordo::audit::verify(&pool).await.unwrap(),
        ordo::audit::Verification::Intact {
            entries: views.len() as i64 + 3
        }
    );
}

#[sqlx::test]
async fn back_office_filters_and_csv_export_neutralises_formulas(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    add(
        &app,
        data("@Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    add(
        &app,
        MemberData {
            pec: String::new(),
            ..data("Bianchi", "Giulia", date!(1990 - 07 - 03), Sex::F)
        },
        REGISTERED,
    )
    .await;
    add(
        &app,
        data("Neri", "Paolo", date!(1970 - 03 - 05), Sex::M),
        Entry::Application,
    )
    .await;
    let mut s = secretary(&app).await;
    let r = s.get("/backoffice/iscritti?stato=applicant").await;
    assert_eq!(
        r.texts("#members-table tbody td:nth-child(2)"),
        vec!["Neri Paolo"]
    );
    let r = s.get("/backoffice/iscritti?pec=no").await;
    assert_eq!(
        r.texts("#members-table tbody td:nth-child(2)"),
        vec!["Bianchi Giulia"]
    );
    let r = s.get("/backoffice/iscritti?dal=31/02/2020").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = s.get("/backoffice/iscritti/export.csv?stato=active").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(r.body.starts_with('\u{feff}'));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(r.body.trim_start_matches('\u{feff}').as_bytes());
    let surnames: Vec<String> = reader.records().map(|rec| rec.unwrap()[2].to_string()).collect();
    assert_eq!(surnames, vec!["Bianchi", "'@Rossi"]);
    let r = s.get("/backoffice/iscritti/export.csv?separatore=comma").await;
    assert!(r.body.lines().next().unwrap().contains("Numero,Data iscrizione"));
    // The same list as PDF: the names as text (a PDF runs no formulas), filters applied.
    let r = s.get("/backoffice/iscritti/export.pdf?stato=active").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/pdf");
    let text = crate::pdf_text(&r.bytes);
    assert!(
        text.contains("Elenco degli iscritti") && text.contains("2 iscritti (elenco filtrato)"),
        "{text}"
    );
    assert!(
        text.contains("@Rossi") && text.contains("Bianchi") && !text.contains("Neri"),
        "{text}"
    );
    let exports: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'member.export'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(exports, 3);
    // A formula as a surname is refused at input.
    let today = ordo::members::service::today(app.clock_now());
    let e = ordo::members::service::validate_new(
        &MemberData {
            surname: "=HYPERLINK(\"x\")".into(),
            ..data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M)
        },
        &app.state.config.albo,
        today,
    )
    .unwrap_err();
    assert!(e.iter().any(|e| e.field == "surname"));
}

#[sqlx::test]
async fn public_search_pages_are_reused_briefly_and_forgotten_after_a_change(pool: PgPool) {
    let config = crate::helpers::test_config(&[("ORDO_ALBO_PUBLIC_CACHE_SECONDS", "60")]);
    let app = TestApp::with(
        pool.clone(),
        config,
        std::sync::Arc::new(ordo::mail::LogMailer),
        |b| b,
    )
    .await;
    add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    let mut visitor = app.fresh_browser();
    let names = |r: &crate::helpers::TestResponse| r.texts("#albo-results a");
    assert_eq!(names(&visitor.get("/albo?q=rossi").await), vec!["Rossi Mario"]);
    // Written by another process (here: straight through the service): this process still serves the
    // page it rendered, for at most albo.public_cache_seconds.
    add(
        &app,
        data("Rossi", "Anna", date!(1985 - 02 - 01), Sex::F),
        REGISTERED,
    )
    .await;
    assert_eq!(names(&visitor.get("/albo?q=rossi").await), vec!["Rossi Mario"]);
    // A logged-in person never gets a cached page.
    let mut member = app.member_browser(1, "mario@example.org").await;
    assert_eq!(names(&member.get("/albo?q=rossi").await).len(), 2);
    // Any change made through this process empties the cache at once.
    member.get("/portale").await;
    let r = member.post("/portale/consensi", &[("consent", "email")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        names(&visitor.get("/albo?q=rossi").await),
        vec!["Rossi Anna", "Rossi Mario"]
    );
}

#[sqlx::test]
async fn the_public_albo_is_rate_limited_unless_switched_off(pool: PgPool) {
    let config = crate::helpers::test_config(&[("ORDO_ALBO_PUBLIC_REQUESTS_PER_MINUTE", "5")]);
    let mut app = TestApp::with(
        pool.clone(),
        config,
        std::sync::Arc::new(ordo::mail::LogMailer),
        |b| b,
    )
    .await;
    let statuses: Vec<u16> = {
        let mut v = vec![];
        for _ in 0..8 {
            v.push(app.get("/albo?q=rossi").await.status.as_u16());
        }
        v
    };
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let config = crate::helpers::test_config(&[
        ("ORDO_ALBO_PUBLIC_REQUESTS_PER_MINUTE", "5"),
        ("ORDO_RATE_LIMITS", "off"),
    ]);
    let mut app = TestApp::with(pool, config, std::sync::Arc::new(ordo::mail::LogMailer), |b| b).await;
    for _ in 0..8 {
        assert_eq!(app.get("/albo?q=rossi").await.status, StatusCode::OK);
    }
}

#[sqlx::test]
async fn the_member_sets_the_place_of_work(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let id = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    let mut m = app.member_browser(id, "mario@example.org").await;
    m.get("/portale").await;
    let r = m
        .post(
            "/portale/sede-lavoro",
            &[
                ("workplace_name", "Studio Rossi"),
                ("workplace_address", "Via Roma 3"),
                ("workplace_municipality", "Muggia"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/portale?ok=sede"));
    let r = m.get("/portale").await;
    assert!(
        r.texts("#my-data dd")
            .iter()
            .any(|t| t == "Studio Rossi, Via Roma 3, Muggia")
    );
    let long = "x".repeat(300);
    let r = m.post("/portale/sede-lavoro", &[("workplace_name", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test]
async fn the_sheet_verifies_personal_data_against_the_codice_fiscale(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let ok = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    let mut s = secretary(&app).await;
    let r = s.get(&format!("/backoffice/iscritti/{ok}")).await;
    assert!(r.has("#verification-ok"));
    // Data imported from an old system with a wrong birth date (bypassing the form's checks).
    let mut d = data("Bianchi", "Giulia", date!(1990 - 07 - 03), Sex::F);
    d.birth_date = Some(date!(1990 - 07 - 04));
    let cf = d.fiscal_code.clone();
    sqlx::query(
        "INSERT INTO members (fiscal_code, surname, name, sex, birth_date, birth_place, section, search_key,
            search_key_alt, created_at, updated_at) VALUES ($1, 'Bianchi', 'Giulia', 'F', '1990-07-04', 'Trieste', 'A',
            'bianchi giulia', 'giulia bianchi', now(), now())",
    )
    .bind(&cf)
    .execute(&pool)
    .await
    .unwrap();
    let bad: i64 = sqlx::query_scalar("SELECT id FROM members WHERE fiscal_code = $1")
        .bind(&cf)
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = s.get(&format!("/backoffice/iscritti/{bad}")).await;
    assert!(
        r.texts("#verification-problems li")[0].contains("data di nascita"),
        "{:?}",
        r.texts("#verification-problems li")
    );
}

#[sqlx::test]
async fn a_member_downloads_all_own_data_as_json(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let id = add(
        &app,
        data("Rossi", "Mario", date!(1980 - 04 - 12), Sex::M),
        REGISTERED,
    )
    .await;
    let mut m = app.member_browser(id, "mario@example.org").await;
    m.get("/portale/richieste").await;
    m.post("/portale/richieste/dati", &[("phone", "+39 040 000000")])
        .await;
    let r = m.get("/portale/i-miei-dati.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["account"]["email"], "mario@example.org");
    assert_eq!(v["register"]["member"]["surname"], "Rossi");
    assert_eq!(v["register"]["member"]["registration_number"], 1);
    assert_eq!(v["register"]["status_history"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["requests"][0]["content"]["changes"][0]["after"],
        "+39 040 000000"
    );
    assert_eq!(
        v["register"]["member"]["birth_date"], "1980-04-12",
        "dates as text, not tuples"
    );
    // The same data as a readable PDF.
    let r = m.get("/portale/i-miei-dati.pdf").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/pdf");
    let text = crate::pdf_text(&r.bytes);
    for expected in [
        "I miei dati personali",
        "Codice fiscale",
        "Rossi",
        "1980-04-12",
        "+39 040 000000",
        "Numero di iscrizione",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the PDF:\n{text}"
        );
    }
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'gdpr.self_export'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 2);
}
