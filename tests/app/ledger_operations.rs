//! The ledger after the budget, through its services on PostgreSQL: variations, revenue and the
//! expenditure after the impegno, pagoPA payments booked once, the incasso receipt, petty cash, the
//! year's closing.

use ordo::audit::Actor;
use ordo::auth::Role;
use ordo::error::AppError;
use ordo::ledger::rules::Authorisation;
use ordo::ledger::service;
use rust_decimal::Decimal;
use time::macros::date;

use crate::helpers::TestApp;
use crate::ledger::{approved_2026, commitment, d, person};

/// A 500 € annual fee assessed on `revenue` in March 2026, 300 collected; returns the accertamento.
async fn fee_half_collected(app: &TestApp, treasurer: &ordo::auth::CurrentUser, revenue: i64) -> i64 {
    use ordo::ledger::operations::{self, NewAssessment};
    let s = &app.state;
    let assessed = operations::assess(
        s,
        treasurer,
        NewAssessment {
            chapter_id: revenue,
            amount: d("500"),
            date: date!(2026 - 03 - 01),
            debtor: "Rossi Mario".into(),
            debtor_code: String::new(),
            due_date: date!(2026 - 03 - 31),
            legal_title: "Quota annuale 2026".into(),
            fund_id: None,
        },
    )
    .await
    .unwrap();
    operations::collect(s, treasurer, assessed, d("300"), date!(2026 - 03 - 10))
        .await
        .unwrap();
    assessed
}

#[sqlx::test]
async fn variations_revenue_and_the_expenditure_after_the_impegno(pool: sqlx::PgPool) {
    use ordo::ledger::operations::{self, NewAssessment};
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    let (revenue, ids) = approved_2026(
        &app,
        "20000",
        &[(1, "11.1.010", "10000"), (2, "21.1.010", "5000")],
    )
    .await;
    let (running, capital) = (ids[0], ids[1]);
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    let member = person(&app, "iscritto@example.org", Role::Member).await;

    // Variations: current → capital yes, capital → current no, December only when exceptional.
    let act = "delibera n. 20 del 01/06/2026";
    operations::transfer(
        s,
        &treasurer,
        running,
        capital,
        d("1000"),
        date!(2026 - 06 - 01),
        act,
        "nuovi computer",
        None,
    )
    .await
    .unwrap();
    let r = operations::transfer(
        s,
        &treasurer,
        capital,
        running,
        d("10"),
        date!(2026 - 06 - 01),
        act,
        "x",
        None,
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("conto capitale")),
        "{r:?}"
    );
    let r = operations::transfer(
        s,
        &treasurer,
        running,
        capital,
        d("10"),
        date!(2026 - 12 - 15),
        act,
        "x",
        None,
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("dicembre")),
        "{r:?}"
    );
    operations::transfer(
        s,
        &treasurer,
        running,
        capital,
        d("10"),
        date!(2026 - 12 - 15),
        act,
        "x",
        Some("scadenza del contratto"),
    )
    .await
    .unwrap();
    let r = operations::transfer(
        s,
        &treasurer,
        running,
        capital,
        d("9000"),
        date!(2026 - 06 - 02),
        act,
        "x",
        None,
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("Disponibilità insufficiente")),
        "{r:?}"
    );
    assert!(matches!(
        operations::transfer(
            s,
            &member,
            running,
            capital,
            d("1"),
            date!(2026 - 06 - 02),
            act,
            "x",
            None
        )
        .await,
        Err(AppError::Forbidden)
    ));

    // Revenue: accertamento → riscossioni, never beyond what was assessed.
    let assessed = operations::assess(
        s,
        &treasurer,
        NewAssessment {
            chapter_id: revenue,
            amount: d("500"),
            date: date!(2026 - 03 - 01),
            debtor: "Rossi Mario".into(),
            debtor_code: "RSSMRA80D12L424R".into(),
            due_date: date!(2026 - 03 - 31),
            legal_title: "Quota annuale 2026".into(),
            fund_id: None,
        },
    )
    .await
    .unwrap();
    operations::collect(s, &treasurer, assessed, d("300"), date!(2026 - 03 - 10))
        .await
        .unwrap();
    let r = operations::collect(s, &treasurer, assessed, d("200.01"), date!(2026 - 03 - 11)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("200,00 €")),
        "{r:?}"
    );
    operations::collect(s, &treasurer, assessed, d("200"), date!(2026 - 03 - 11))
        .await
        .unwrap();

    // Expenditure: impegno 1,000 → liquidazione 700 (the last: 300 economy) → pagamento 700.
    let mut c = commitment(running, "1000", Authorisation::Treasurer);
    c.cup = "J91H26000010006".into();
    let impegno = service::commit_expense(s, &treasurer, c).await.unwrap();
    let r = operations::pay(s, &treasurer, impegno, d("1"), date!(2026 - 07 - 01)).await;
    assert!(
        matches!(r, Err(AppError::Validation(_))),
        "a payment follows a liquidazione, not an impegno"
    );
    let liq = operations::liquidate(
        s,
        &treasurer,
        impegno,
        d("700"),
        date!(2026 - 07 - 01),
        "fattura n. 12/2026",
        true,
    )
    .await
    .unwrap();
    let r = operations::liquidate(
        s,
        &treasurer,
        impegno,
        d("0.01"),
        date!(2026 - 07 - 02),
        "",
        false,
    )
    .await;
    assert!(r.is_err(), "nothing left of the impegno after its economy");
    operations::pay(s, &treasurer, liq, d("700"), date!(2026 - 07 - 05))
        .await
        .unwrap();
    assert!(
        operations::pay(s, &treasurer, liq, d("0.01"), date!(2026 - 07 - 06))
            .await
            .is_err()
    );
    let (economy, paid_cig, paid_cup): (Decimal, String, String) = sqlx::query_as(
        "SELECT (SELECT amount FROM ledger_entries WHERE kind = 'economia'), cig, cup FROM ledger_entries WHERE kind = 'pagamento'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (economy, paid_cig.as_str(), paid_cup.as_str()),
        (d("300"), "Z1A2B3C4D5", "J91H26000010006"),
        "traceability on the payment"
    );
    // The economy returns to the chapter: 10,000 − 1,010 varied − 700 spent = 8,290 available.
    let r = service::commit_expense(
        s,
        &treasurer,
        commitment(running, "2499.99", Authorisation::Treasurer),
    )
    .await;
    assert!(r.is_ok(), "{r:?}");
    let council = Authorisation::Council {
        resolution: "delibera n. 30".into(),
    };
    let mut big = commitment(running, "5790.02", council);
    big.supplier = "Impresa di pulizie".into();
    let r = service::commit_expense(s, &treasurer, big).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("5.790,01 €")),
        "{r:?}"
    );
}

#[sqlx::test]
async fn a_reconciled_pagopa_payment_is_booked_once_in_the_ledger(pool: sqlx::PgPool) {
    use crate::payments::{positions_of, reconciliation};
    let app = TestApp::new(pool.clone()).await;
    // The budget has the annual fee's chapter (1.1.010) but not the stamp duty's (5.1.010).
    approved_2026(&app, "100000", &[(1, "11.1.010", "1000")]).await;
    let (mut m, member_id) = crate::requests::member(&app, "quota@example.org").await;
    let mut s = crate::requests::staff(&app).await;
    s.get("/backoffice/pagamenti").await;
    s.post("/backoffice/pagamenti/quote-annuali", &[("year", "2026")])
        .await;
    m.get("/portale/documenti").await;
    m.post("/portale/richieste/certificato", &[("stamp", "pagopa")])
        .await;
    let positions = positions_of(&app, member_id).await;
    assert_eq!(positions.len(), 2);
    let rows: Vec<(&str, &str, &str)> = vec![
        (&positions[0].1, "180,00", "IUR-Q"),
        (&positions[1].1, "16,00", "IUR-B"),
    ];
    let file = reconciliation(&rows);
    s.get("/backoffice/pagamenti").await;
    let r = s
        .multipart(
            "/backoffice/pagamenti/riconciliazione",
            &[],
            &[("file", "r.csv", file.clone())],
        )
        .await;
    let notice = r.texts("#payments-notice").join(" ");
    assert!(
        notice.contains("2 pagamenti registrati") && notice.contains("1 contabilizzati"),
        "{notice}"
    );
    let booked = || async {
        sqlx::query_as::<_, (String, Decimal, String)>(
            "SELECT e.kind, e.amount, c.code FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
             WHERE e.payment_receipt_id IS NOT NULL ORDER BY e.id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let first = booked().await;
    assert_eq!(
        first,
        vec![
            ("accertamento".into(), d("180.00"), "1.1.010".into()),
            ("riscossione".into(), d("180.00"), "1.1.010".into())
        ]
    );
    // The same file again: nothing new, in the payments or in the ledger.
    s.get("/backoffice/pagamenti").await;
    s.multipart(
        "/backoffice/pagamenti/riconciliazione",
        &[],
        &[("file", "r.csv", file)],
    )
    .await;
    assert_eq!(booked().await, first);
    // And the database would refuse a second booking of the same payment.
    let again = sqlx::query(
        "INSERT INTO ledger_entries (chapter_id, kind, amount, entry_date, reason, recorded_at, payment_receipt_id)
         SELECT chapter_id, kind, amount, entry_date, reason, now(), payment_receipt_id FROM ledger_entries
         WHERE kind = 'accertamento' AND payment_receipt_id IS NOT NULL",
    )
    .execute(&pool)
    .await;
    assert!(again.is_err());
}

#[sqlx::test]
async fn an_incasso_receipt_writes_the_amount_in_words(pool: sqlx::PgPool) {
    use ordo::ledger::operations::{self, NewAssessment};
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    let (revenue, _) = approved_2026(&app, "100000", &[(1, "11.1.010", "1000")]).await;
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    let assessed = operations::assess(
        s,
        &treasurer,
        NewAssessment {
            chapter_id: revenue,
            amount: d("1001"),
            date: date!(2026 - 05 - 02),
            debtor: "Studio Tecnico Bianchi".into(),
            debtor_code: "01234567897".into(),
            due_date: date!(2026 - 05 - 31),
            legal_title: "Rimborso spese di segreteria".into(),
            fund_id: None,
        },
    )
    .await
    .unwrap();
    let collected = operations::collect(s, &treasurer, assessed, d("1001"), date!(2026 - 05 - 20))
        .await
        .unwrap();
    let (pdf, _) = ordo::ledger::receipts::receipt_pdf(s, collected).await.unwrap();
    let text = crate::pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("RICEVUTA DI INCASSO"), "{text}");
    assert!(
        text.contains("1.001,00 €") && text.contains("euro milleuno/00"),
        "{text}"
    );
    assert!(
        text.contains("Studio Tecnico Bianchi") && text.contains("20/05/2026") && text.contains("competenza"),
        "{text}"
    );
    // Issued once: the same document again.
    let (again, _) = ordo::ledger::receipts::receipt_pdf(s, collected).await.unwrap();
    assert_eq!(again, pdf);
    assert!(
        ordo::ledger::receipts::receipt_pdf(s, assessed).await.is_err(),
        "not for an accertamento"
    );
}

#[sqlx::test]
async fn petty_cash_within_its_limits_and_its_six_monthly_report(pool: sqlx::PgPool) {
    use ordo::ledger::petty_cash;
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    approved_2026(&app, "100000", &[(1, "11.1.010", "1000")]).await;
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    petty_cash::spend(
        s,
        &treasurer,
        date!(2026 - 02 - 03),
        d("200.00"),
        "Poste Italiane",
        "Raccomandate",
    )
    .await
    .unwrap();
    let r = petty_cash::spend(
        s,
        &treasurer,
        date!(2026 - 02 - 04),
        d("200.01"),
        "Cartoleria",
        "Toner",
    )
    .await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("200,01 €")),
        "{r:?}"
    );
    for i in 0..13 {
        petty_cash::spend(
            s,
            &treasurer,
            date!(2026 - 08 - 01),
            d("200"),
            "Cartoleria",
            &format!("Cancelleria {i}"),
        )
        .await
        .unwrap();
    }
    // 2,800 spent: 200 left in the 3,000 fund; 200.01 would overrun it.
    let r = petty_cash::spend(
        s,
        &treasurer,
        date!(2026 - 09 - 01),
        d("200.00"),
        "Bar",
        "Caffè per il Consiglio",
    )
    .await;
    assert!(r.is_ok(), "{r:?}");
    let r = petty_cash::spend(s, &treasurer, date!(2026 - 09 - 02), d("0.01"), "Bar", "Acqua").await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("3.000,00 €")),
        "{r:?}"
    );
    let first = petty_cash::report(s, 2026, 1).await.unwrap();
    assert_eq!(
        (first.expenses.len(), first.total, first.fund_left),
        (1, d("200"), d("2800"))
    );
    let second = petty_cash::report(s, 2026, 2).await.unwrap();
    assert_eq!(
        (second.expenses.len(), second.total, second.fund_left),
        (14, d("2800"), d("0"))
    );
    let member = person(&app, "iscritto@example.org", Role::Member).await;
    assert!(matches!(
        petty_cash::spend(s, &member, date!(2026 - 09 - 03), d("1"), "x", "y").await,
        Err(AppError::Forbidden)
    ));
    assert!(
        sqlx::query("DELETE FROM ledger_petty_cash")
            .execute(&pool)
            .await
            .is_err(),
        "append-only"
    );
}

#[sqlx::test]
async fn closing_the_year_carries_the_residui_apart_and_locks_it(pool: sqlx::PgPool) {
    use ordo::ledger::closing::{Closed, close_year};
    use ordo::ledger::operations;
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    let (revenue, ids) = approved_2026(&app, "20000", &[(1, "11.1.010", "10000")]).await;
    let running = ids[0];
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    // A fee assessed for 500, 300 collected: 200 residuo attivo.
    let assessed = fee_half_collected(&app, &treasurer, revenue).await;
    // An impegno of 1,000: 700 liquidated, 400 paid: 600 residuo passivo.
    let big = service::commit_expense(
        s,
        &treasurer,
        commitment(running, "1000", Authorisation::Treasurer),
    )
    .await
    .unwrap();
    let liq = operations::liquidate(
        s,
        &treasurer,
        big,
        d("700"),
        date!(2026 - 09 - 01),
        "fattura 1",
        false,
    )
    .await
    .unwrap();
    operations::pay(s, &treasurer, liq, d("400"), date!(2026 - 09 - 10))
        .await
        .unwrap();
    // An impegno of 300 closed by its last liquidazione of 200, paid: the 100 economy carries nothing.
    let small = service::commit_expense(
        s,
        &treasurer,
        commitment(running, "300", Authorisation::Treasurer),
    )
    .await
    .unwrap();
    let liq2 = operations::liquidate(
        s,
        &treasurer,
        small,
        d("200"),
        date!(2026 - 10 - 01),
        "fattura 2",
        true,
    )
    .await
    .unwrap();
    operations::pay(s, &treasurer, liq2, d("200"), date!(2026 - 10 - 05))
        .await
        .unwrap();

    let president = person(&app, "presidente@example.org", Role::President).await;
    assert!(
        matches!(
            close_year(s, &president, 2026, "").await,
            Err(AppError::Forbidden)
        ),
        "the treasurer closes"
    );
    let r = close_year(s, &treasurer, 2026, "").await;
    assert!(
        matches!(&r, Err(AppError::Validation(e)) if e[0].message.contains("2027")),
        "{r:?}"
    );
    service::open_year(s, &Actor::system("test"), 2027, d("0"))
        .await
        .unwrap();
    let closed = close_year(s, &treasurer, 2026, "").await.unwrap();
    assert_eq!(
        closed,
        Closed {
            residui_attivi: d("200"),
            residui_passivi: d("600"),
            carried: 2
        }
    );
    assert!(matches!(
        close_year(s, &treasurer, 2026, "").await,
        Err(AppError::Conflict(_))
    ));

    // The residui sit on 2027's chapters, apart from its competence.
    let residui: Vec<(String, String, Decimal, bool)> = sqlx::query_as(
        "SELECT c.code, e.kind, e.amount, e.residui FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
         WHERE c.year = 2027 ORDER BY c.code",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        residui,
        vec![
            ("1.1.010".into(), "accertamento".into(), d("200"), true),
            ("11.1.010".into(), "impegno".into(), d("600"), true)
        ]
    );
    // Collected in 2027 as residuo; nothing more on 2026.
    let carried: i64 =
        sqlx::query_scalar("SELECT id FROM ledger_entries WHERE residui AND kind = 'accertamento'")
            .fetch_one(&pool)
            .await
            .unwrap();
    operations::collect(s, &treasurer, carried, d("200"), date!(2027 - 01 - 20))
        .await
        .unwrap();
    let r = operations::collect(s, &treasurer, assessed, d("1"), date!(2026 - 12 - 31)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("chiuso")),
        "{r:?}"
    );
    let r = service::commit_expense(s, &treasurer, commitment(running, "1", Authorisation::Treasurer)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(m)) if m.contains("chiuso")),
        "{r:?}"
    );
}

#[sqlx::test]
async fn the_rendiconto_from_the_command_line(pool: sqlx::PgPool) {
    use ordo::ledger::operations;
    let app = TestApp::new(pool.clone()).await;
    let s = &app.state;
    let (revenue, ids) = approved_2026(
        &app,
        "20000",
        &[(1, "11.1.010", "10000"), (2, "21.1.010", "5000")],
    )
    .await;
    let treasurer = person(&app, "tesoriere@example.org", Role::Treasurer).await;
    fee_half_collected(&app, &treasurer, revenue).await;
    let act = "delibera n. 20 del 01/06/2026";
    operations::transfer(
        s,
        &treasurer,
        ids[0],
        ids[1],
        d("1000"),
        date!(2026 - 06 - 01),
        act,
        "computer",
        None,
    )
    .await
    .unwrap();
    let imp = service::commit_expense(
        s,
        &treasurer,
        commitment(ids[0], "1000", Authorisation::Treasurer),
    )
    .await
    .unwrap();
    let liq = operations::liquidate(
        s,
        &treasurer,
        imp,
        d("700"),
        date!(2026 - 09 - 01),
        "fattura 1",
        true,
    )
    .await
    .unwrap();
    operations::pay(s, &treasurer, liq, d("400"), date!(2026 - 09 - 10))
        .await
        .unwrap();

    let db = crate::cli::database_url(&pool).await;
    let out = crate::cli::ordo(
        &db,
        &[
            "ledger",
            "report",
            "rendiconto",
            "--year",
            "2026",
            "--format",
            "csv",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<String>> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(';').map(str::to_string).collect())
        .collect();
    assert_eq!(lines[0][5], "Stanziamento definitivo");
    let row = |code: &str| {
        lines
            .iter()
            .find(|l| l[3] == code)
            .unwrap_or_else(|| panic!("{code}: {text}"))
            .clone()
    };
    // allocated, assessed/committed, cashed/paid, residui start, residui cashed, residui left
    assert_eq!(
        row("1.1.010")[5..],
        ["20000.00", "500.00", "300.00", "0.00", "0.00", "0.00"]
    );
    assert_eq!(
        row("11.1.010")[5..],
        ["9000.00", "700.00", "400.00", "0.00", "0.00", "0.00"],
        "economy of 300 netted"
    );
    assert_eq!(
        row("21.1.010")[5..],
        ["6000.00", "0.00", "0.00", "0.00", "0.00", "0.00"]
    );
    let totals: Vec<&Vec<String>> = lines.iter().filter(|l| l[4].starts_with("Totale")).collect();
    let names: Vec<&str> = totals.iter().map(|l| l[4].as_str()).collect();
    assert_eq!(
        names,
        [
            "Totale titolo I",
            "Totale entrate",
            "Totale titolo I",
            "Totale titolo II",
            "Totale uscite"
        ]
    );
    assert_eq!(totals[4][5..8], ["15000.00", "700.00", "400.00"]);

    let out = crate::cli::ordo(
        &db,
        &[
            "ledger",
            "report",
            "rendiconto",
            "--year",
            "2026",
            "--format",
            "pdf",
        ],
    );
    assert!(out.status.success());
    let pdf = crate::pdf_text(&out.stdout);
    assert!(
        pdf.contains("Rendiconto finanziario 2026") && pdf.contains("Spese"),
        "{pdf}"
    );
    let out = crate::cli::ordo(&db, &["ledger", "report", "rendiconto", "--year", "2031"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2031"));
}
