//! The ledger's first part through its services, on a real database: the budget's equilibrium before
//! approval, who may authorise an impegno at the thresholds (with the person's role), availability,
//! two impegni racing for a chapter's last euros, the provisional budget's twelfths, closed years and
//! the append-only journal.

use std::sync::Arc;

use ordo::audit::Actor;
use ordo::auth::{CurrentUser, Role};
use ordo::error::AppError;
use ordo::ledger::rules::Authorisation;
use ordo::ledger::service::{self, NewChapter, NewCommitment};
use rust_decimal::Decimal;
use time::macros::date;

use crate::helpers::TestApp;

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub async fn person(app: &TestApp, email: &str, role: Role) -> CurrentUser {
    app.create_user(email, &[role], true).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    CurrentUser {
        id,
        email: email.into(),
        display_name: email.into(),
        roles: vec![role],
        second_factor: true,
        epoch: 0,
        auth_at: 0,
    }
}

pub fn chapter(year: i32, revenue: bool, title: i16, code: &str, name: &str) -> NewChapter {
    NewChapter {
        year,
        revenue,
        title,
        category: code[..code.rfind('.').unwrap()].into(),
        code: code.into(),
        name: name.into(),
        reserve_fund: false,
    }
}

pub fn commitment(chapter_id: i64, amount: &str, auth: Authorisation) -> NewCommitment {
    NewCommitment {
        chapter_id,
        amount: d(amount),
        date: date!(2026 - 06 - 15),
        supplier: "Cartoleria Giuliana S.r.l.".into(),
        supplier_code: "01234567897".into(),
        iban: "IT60 X054 2811 1010 0000 0123 456".into(),
        cig: "Z1A2B3C4D5".into(),
        cup: String::new(),
        reason: "Cancelleria per la segreteria".into(),
        authorisation: auth,
        booking: None,
        fund_id: None,
    }
}

/// Opens 2026 (presumed result 0) with a revenue chapter of `revenue` and these expenditure chapters
/// (title, code, allocation), approves its budget; returns the expenditure chapters' ids.
pub async fn approved_2026(app: &TestApp, revenue: &str, chapters: &[(i16, &str, &str)]) -> (i64, Vec<i64>) {
    let admin = Actor::system("test");
    let s = &app.state;
    service::open_year(s, &admin, 2026, d("0")).await.unwrap();
    let rev = service::add_chapter(s, &admin, chapter(2026, true, 1, "1.1.010", "Contributi"))
        .await
        .unwrap();
    service::allocate(s, &admin, rev, d(revenue), d(revenue))
        .await
        .unwrap();
    let mut ids = vec![];
    for (title, code, amount) in chapters {
        let id = service::add_chapter(s, &admin, chapter(2026, false, *title, code, "Spese"))
            .await
            .unwrap();
        service::allocate(s, &admin, id, d(amount), d(amount))
            .await
            .unwrap();
        ids.push(id);
    }
    service::approve_budget(s, &admin, 2026, "delibera n. 40 del 28/11/2025")
        .await
        .unwrap();
    (rev, ids)
}

#[sqlx::test]
async fn impegni_follow_the_regulation(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let admin = Actor::system("test");
    let s = &app.state;
    service::open_year(s, &admin, 2026, d("5000")).await.unwrap();
    let revenue = service::add_chapter(
        s,
        &admin,
        chapter(2026, true, 1, "1.1.010", "Contributi degli iscritti"),
    )
    .await
    .unwrap();
    let running = service::add_chapter(
        s,
        &admin,
        chapter(2026, false, 1, "11.1.010", "Spese di funzionamento"),
    )
    .await
    .unwrap();
    service::allocate(s, &admin, revenue, d("100000"), d("100000"))
        .await
        .unwrap();
    service::allocate(s, &admin, running, d("120000"), d("120000"))
        .await
        .unwrap();
    match service::approve_budget(s, &admin, 2026, "delibera n. 40 del 28/11/2025").await {
        Err(AppError::Validation(errors)) => {
            assert!(errors[0].message.contains("parte corrente"), "{errors:?}")
        }
        other => panic!("equilibrium not checked: {other:?}"),
    }
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    // Not approved, not provisional: no impegni.
    let r = service::commit_expense(s, &treasurer, commitment(running, "10", Authorisation::Treasurer)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("non è approvato")),
        "{r:?}"
    );
    // A second expenditure chapter and revenue to balance: 100,000 + 30,000 ≥ 120,000 + 10,000.
    let more = service::add_chapter(
        s,
        &admin,
        chapter(2026, true, 2, "1.2.010", "Diritti di segreteria"),
    )
    .await
    .unwrap();
    service::allocate(s, &admin, more, d("30000"), d("30000"))
        .await
        .unwrap();
    let services = service::add_chapter(
        s,
        &admin,
        chapter(2026, false, 1, "11.1.020", "Spese per servizi"),
    )
    .await
    .unwrap();
    service::allocate(s, &admin, services, d("10000"), d("10000"))
        .await
        .unwrap();
    service::approve_budget(s, &admin, 2026, "delibera n. 40 del 28/11/2025")
        .await
        .unwrap();
    assert!(
        matches!(
            service::allocate(s, &admin, services, d("1"), d("1")).await,
            Err(AppError::Conflict(_))
        ),
        "approved: only variations"
    );

    // Thresholds, with the role of who acts.
    let president = person(&app, "presidente@example.org", Role::President).await;
    let secretariat = person(&app, "segreteria@example.org", Role::Secretariat).await;
    let ok = |r: Result<i64, AppError>| r.unwrap_or_else(|e| panic!("refused: {e:?}"));
    ok(service::commit_expense(
        s,
        &treasurer,
        commitment(running, "2499.99", Authorisation::Treasurer),
    )
    .await);
    let r = service::commit_expense(
        s,
        &treasurer,
        commitment(running, "2500.00", Authorisation::Treasurer),
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("il Presidente")),
        "{r:?}"
    );
    ok(service::commit_expense(
        s,
        &president,
        commitment(running, "2500.00", Authorisation::President),
    )
    .await);
    ok(service::commit_expense(
        s,
        &president,
        commitment(running, "4999.99", Authorisation::President),
    )
    .await);
    let r = service::commit_expense(
        s,
        &president,
        commitment(running, "5000.00", Authorisation::President),
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("Consiglio")),
        "{r:?}"
    );
    let council = Authorisation::Council {
        resolution: "delibera n. 7 del 10/06/2026".into(),
    };
    ok(service::commit_expense(s, &secretariat, commitment(running, "5000.00", council.clone())).await);
    let urgent = Authorisation::PresidentUrgent {
        reason: "infiltrazioni dal tetto della sede".into(),
    };
    ok(service::commit_expense(s, &president, commitment(running, "7000", urgent)).await);
    // Claiming an authority one does not hold.
    let r = service::commit_expense(
        s,
        &secretariat,
        commitment(running, "10", Authorisation::Treasurer),
    )
    .await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    // Only the treasurer's own commitments are countersigned at once.
    let countersigned: Vec<bool> = sqlx::query_scalar(
        "SELECT countersigned_by IS NOT NULL FROM ledger_entries WHERE kind = 'impegno' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(countersigned, vec![true, false, false, false, false]);

    // Availability of the services chapter (10,000): 9,999.99 then 0.02 refused, 0.01 allowed.
    let council_big = Authorisation::Council {
        resolution: "delibera n. 8 del 11/06/2026".into(),
    };
    ok(service::commit_expense(s, &secretariat, commitment(services, "9999.99", council_big)).await);
    let r = service::commit_expense(
        s,
        &treasurer,
        commitment(services, "0.02", Authorisation::Treasurer),
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("Disponibilità insufficiente") && m.contains("0,01 €")),
        "{r:?}"
    );
    ok(service::commit_expense(
        s,
        &treasurer,
        commitment(services, "0.01", Authorisation::Treasurer),
    )
    .await);
    // On a revenue chapter, or dated in another year: refused.
    assert!(
        service::commit_expense(s, &treasurer, commitment(revenue, "1", Authorisation::Treasurer))
            .await
            .is_err()
    );
    let mut other_year = commitment(running, "1", Authorisation::Treasurer);
    other_year.date = date!(2027 - 01 - 10);
    assert!(matches!(
        service::commit_expense(s, &treasurer, other_year).await,
        Err(AppError::Validation(_))
    ));

    // The journal is append-only.
    assert!(
        sqlx::query("UPDATE ledger_entries SET amount = 1")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM ledger_entries")
            .execute(&pool)
            .await
            .is_err()
    );

    // A closed year takes nothing more, also from SQL that bypasses the services.
    sqlx::query("INSERT INTO ledger_year_events (year, kind, at) VALUES (2026, 'closed', now())")
        .execute(&pool)
        .await
        .unwrap();
    let r = service::commit_expense(s, &treasurer, commitment(running, "1", Authorisation::Treasurer)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("chiuso")),
        "{r:?}"
    );
    let raw = sqlx::query(
        "INSERT INTO ledger_entries (chapter_id, kind, amount, entry_date, reason, recorded_at) VALUES ($1, 'impegno', 1, '2026-12-31', 'x', now())",
    )
    .bind(running)
    .execute(&pool)
    .await;
    assert!(raw.is_err(), "the database refuses a charge to a closed year");
}

#[sqlx::test]
async fn two_impegni_racing_for_the_last_euros_never_both_pass(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    let codes: Vec<String> = (0..10).map(|i| format!("11.1.{i:03}")).collect();
    let lines: Vec<(i16, &str, &str)> = codes.iter().map(|c| (1, c.as_str(), "1000")).collect();
    let (_, chapters) = approved_2026(&app, "100000", &lines).await;
    let treasurer = Arc::new(person(&app, "tesoriere@example.org", Role::Treasurer).await);
    for chapter_id in chapters {
        // Each chapter has 1,000: two commitments of 600 race; exactly one may pass.
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let (state, user) = (s.clone(), treasurer.clone());
                tokio::spawn(async move {
                    service::commit_expense(
                        &state,
                        &user,
                        commitment(chapter_id, "600", Authorisation::Treasurer),
                    )
                    .await
                })
            })
            .collect();
        let mut passed = 0;
        for run in runs {
            match run.await.unwrap() {
                Ok(_) => passed += 1,
                Err(AppError::Conflict(m)) => assert!(m.contains("Disponibilità insufficiente"), "{m}"),
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(
            passed, 1,
            "chapter {chapter_id}: exactly one of the two racing impegni"
        );
        let total: Decimal = sqlx::query_scalar(
            "SELECT SUM(amount) FROM ledger_entries WHERE chapter_id = $1 AND kind = 'impegno'",
        )
        .bind(chapter_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(total, d("600"));
    }
}

#[sqlx::test]
async fn the_provisional_budget_spends_a_twelfth_a_month_for_three_months(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let admin = Actor::system("test");
    let s = &app.state;
    // 2026 approved with 12,000 on the chapter; 2027 in provisional budget.
    service::open_year(s, &admin, 2026, d("0")).await.unwrap();
    let r26 = service::add_chapter(s, &admin, chapter(2026, true, 1, "1.1.010", "Contributi"))
        .await
        .unwrap();
    let c26 = service::add_chapter(
        s,
        &admin,
        chapter(2026, false, 1, "11.1.010", "Spese di funzionamento"),
    )
    .await
    .unwrap();
    service::allocate(s, &admin, r26, d("12000"), d("12000"))
        .await
        .unwrap();
    service::allocate(s, &admin, c26, d("12000"), d("12000"))
        .await
        .unwrap();
    service::approve_budget(s, &admin, 2026, "delibera n. 40 del 28/11/2025")
        .await
        .unwrap();
    service::open_year(s, &admin, 2027, d("0")).await.unwrap();
    let c27 = service::add_chapter(
        s,
        &admin,
        chapter(2027, false, 1, "11.1.010", "Spese di funzionamento"),
    )
    .await
    .unwrap();
    service::start_provisional(s, &admin, 2027, "delibera n. 45 del 20/12/2026")
        .await
        .unwrap();
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    let on = |day: time::Date, amount: &str| {
        let mut c = commitment(c27, amount, Authorisation::Treasurer);
        c.date = day;
        c
    };
    service::commit_expense(s, &treasurer, on(date!(2027 - 02 - 03), "600"))
        .await
        .unwrap();
    service::commit_expense(s, &treasurer, on(date!(2027 - 02 - 20), "400"))
        .await
        .unwrap();
    let r = service::commit_expense(s, &treasurer, on(date!(2027 - 02 - 21), "0.01")).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("dodicesimo")),
        "{r:?}"
    );
    service::commit_expense(s, &treasurer, on(date!(2027 - 03 - 01), "1000"))
        .await
        .unwrap();
    let r = service::commit_expense(s, &treasurer, on(date!(2027 - 04 - 01), "1")).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("3 mesi")),
        "{r:?}"
    );
}
