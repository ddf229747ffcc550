//! The controls around the impegno: prenotazioni, the treasurer's countersignature before any
//! liquidazione, the council's ratification of urgent impegni, earmarked funds, supplier codes and IBANs.

use ordo::auth::Role;
use ordo::error::AppError;
use ordo::ledger::controls::{self, NewBooking, NewFund};
use ordo::ledger::operations::{self, NewAssessment};
use ordo::ledger::rules::Authorisation;
use ordo::ledger::service;
use time::macros::date;

use crate::helpers::TestApp;
use crate::ledger::{approved_2026, commitment, d, person};

fn conflict(r: Result<impl std::fmt::Debug, AppError>, words: &str) {
    match r {
        Err(AppError::Conflict(m)) => assert!(m.contains(words), "{m}"),
        other => panic!("expected a conflict about «{words}», got {other:?}"),
    }
}

fn invalid(r: Result<impl std::fmt::Debug, AppError>, field: &str) {
    match r {
        Err(AppError::Validation(errors)) => assert!(errors.iter().any(|e| e.field == field), "{errors:?}"),
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

#[sqlx::test]
async fn no_liquidazione_before_the_treasurers_countersignature(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "10000")]).await;
    let president = person(&app, "presidente@example.it", Role::President).await;
    let treasurer = person(&app, "tesoriere@example.it", Role::Treasurer).await;
    let impegno = service::commit_expense(
        s,
        &president,
        commitment(ids[0], "3000", Authorisation::President),
    )
    .await
    .unwrap();
    let pending = controls::pending(s, 2026).await.unwrap();
    assert_eq!(
        pending.countersign.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![impegno]
    );
    conflict(
        operations::liquidate(
            s,
            &treasurer,
            impegno,
            d("3000"),
            date!(2026 - 07 - 01),
            "fattura 1",
            true,
        )
        .await,
        "non è ancora vistato",
    );
    assert!(matches!(
        controls::countersign(s, &president, impegno).await,
        Err(AppError::Forbidden)
    ));
    controls::countersign(s, &treasurer, impegno).await.unwrap();
    conflict(controls::countersign(s, &treasurer, impegno).await, "già vistato");
    assert!(controls::pending(s, 2026).await.unwrap().countersign.is_empty());
    operations::liquidate(
        s,
        &treasurer,
        impegno,
        d("3000"),
        date!(2026 - 07 - 01),
        "fattura 1",
        true,
    )
    .await
    .unwrap();
    // The treasurer's own impegni are countersigned as they are recorded.
    let own = service::commit_expense(s, &treasurer, commitment(ids[0], "100", Authorisation::Treasurer))
        .await
        .unwrap();
    conflict(controls::countersign(s, &treasurer, own).await, "già vistato");
}

#[sqlx::test]
async fn urgent_impegni_stay_pending_until_the_council_ratifies(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "10000")]).await;
    let president = person(&app, "presidente@example.it", Role::President).await;
    let treasurer = person(&app, "tesoriere@example.it", Role::Treasurer).await;
    let secretary = person(&app, "segreteria@example.it", Role::Secretariat).await;
    let urgent = Authorisation::PresidentUrgent {
        reason: "Guasto all'impianto di riscaldamento".into(),
    };
    let impegno = service::commit_expense(s, &president, commitment(ids[0], "6000", urgent))
        .await
        .unwrap();
    let ordinary = service::commit_expense(
        s,
        &president,
        commitment(ids[0], "3000", Authorisation::President),
    )
    .await
    .unwrap();
    let pending = controls::pending(s, 2026).await.unwrap();
    assert_eq!(
        pending.ratification.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![impegno]
    );
    assert!(matches!(
        controls::ratify(s, &treasurer, impegno, "delibera n. 7", date!(2026 - 07 - 10)).await,
        Err(AppError::Forbidden)
    ));
    invalid(
        controls::ratify(s, &secretary, impegno, "  ", date!(2026 - 07 - 10)).await,
        "resolution",
    );
    invalid(
        controls::ratify(s, &secretary, ordinary, "delibera n. 7", date!(2026 - 07 - 10)).await,
        "entry",
    );
    controls::ratify(
        s,
        &secretary,
        impegno,
        "delibera n. 7 del 10/07/2026",
        date!(2026 - 07 - 10),
    )
    .await
    .unwrap();
    conflict(
        controls::ratify(s, &secretary, impegno, "delibera n. 8", date!(2026 - 07 - 11)).await,
        "già ratificato",
    );
    assert!(controls::pending(s, 2026).await.unwrap().ratification.is_empty());
}

#[sqlx::test]
async fn a_prenotazione_holds_the_sum_until_its_impegno_takes_it_over(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "1000")]).await;
    let treasurer = person(&app, "tesoriere@example.it", Role::Treasurer).await;
    let booking = NewBooking {
        chapter_id: ids[0],
        amount: d("800"),
        date: date!(2026 - 03 - 01),
        reason: "Procedura per il nuovo sito web".into(),
    };
    let booked = controls::book(s, &treasurer, booking).await.unwrap();
    conflict(
        service::commit_expense(s, &treasurer, commitment(ids[0], "300", Authorisation::Treasurer)).await,
        "Disponibilità insufficiente",
    );
    let mut takes_over = commitment(ids[0], "900", Authorisation::Treasurer);
    takes_over.booking = Some(booked);
    service::commit_expense(s, &treasurer, takes_over).await.unwrap();
    let mut again = commitment(ids[0], "50", Authorisation::Treasurer);
    again.booking = Some(booked);
    invalid(service::commit_expense(s, &treasurer, again).await, "booking");
    // 1000 allocated, 900 committed: 100 left, the prenotazione released.
    service::commit_expense(s, &treasurer, commitment(ids[0], "100", Authorisation::Treasurer))
        .await
        .unwrap();
    conflict(
        service::commit_expense(
            s,
            &treasurer,
            commitment(ids[0], "0.01", Authorisation::Treasurer),
        )
        .await,
        "Disponibilità insufficiente",
    );
}

#[sqlx::test]
async fn an_earmarked_fund_is_spent_within_what_is_assessed(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (revenue, ids) = approved_2026(&app, "200000", &[(2, "2.1.010", "150000")]).await;
    let treasurer = person(&app, "tesoriere@example.it", Role::Treasurer).await;
    let fund = NewFund {
        cup: "j31b22000120006".into(),
        name: "PNRR – digitalizzazione dei servizi agli iscritti".into(),
        grantor: "Dipartimento per la trasformazione digitale".into(),
        purpose: "Piattaforma online dell'Ordine".into(),
        amount: d("100000"),
    };
    let fund_id = controls::create_fund(s, &treasurer, fund).await.unwrap();
    let assessment = |amount: &str| NewAssessment {
        chapter_id: revenue,
        amount: d(amount),
        date: date!(2026 - 02 - 01),
        debtor: "Dipartimento per la trasformazione digitale".into(),
        debtor_code: "80188230587".into(),
        due_date: date!(2026 - 12 - 31),
        legal_title: "Decreto di finanziamento PNRR".into(),
        fund_id: Some(fund_id),
    };
    operations::assess(s, &treasurer, assessment("60000"))
        .await
        .unwrap();
    conflict(
        operations::assess(s, &treasurer, assessment("40000.01")).await,
        "non se ne possono accertare",
    );
    let on_fund = |amount: &str| {
        let mut c = commitment(
            ids[0],
            amount,
            Authorisation::Council {
                resolution: "delibera n. 3".into(),
            },
        );
        c.fund_id = Some(fund_id);
        c
    };
    conflict(
        service::commit_expense(s, &treasurer, on_fund("60000.01")).await,
        "supera le somme accertate",
    );
    let first = service::commit_expense(s, &treasurer, on_fund("50000"))
        .await
        .unwrap();
    let cup: String = sqlx::query_scalar("SELECT cup FROM ledger_entries WHERE id = $1")
        .bind(first)
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(cup, "J31B22000120006");
    // An impegno carrying the fund's CUP is the fund's, even without choosing it.
    let mut by_cup = commitment(
        ids[0],
        "10000.01",
        Authorisation::Council {
            resolution: "delibera n. 4".into(),
        },
    );
    by_cup.cup = "J31B22000120006".into();
    conflict(
        service::commit_expense(s, &treasurer, by_cup).await,
        "supera le somme accertate",
    );
    let report = controls::funds(s).await.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(
        (report[0].assessed, report[0].committed),
        (d("60000"), d("50000"))
    );
}

#[sqlx::test]
async fn suppliers_codes_and_ibans_are_checked(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "10000")]).await;
    let treasurer = person(&app, "tesoriere@example.it", Role::Treasurer).await;
    let mut bad_vat = commitment(ids[0], "10", Authorisation::Treasurer);
    bad_vat.supplier_code = "01234567890".into();
    invalid(
        service::commit_expense(s, &treasurer, bad_vat).await,
        "supplier_code",
    );
    let mut bad_iban = commitment(ids[0], "10", Authorisation::Treasurer);
    bad_iban.iban = "IT60 X054 2811 1010 0000 0123 457".into();
    invalid(service::commit_expense(s, &treasurer, bad_iban).await, "iban");
    let mut cf = commitment(ids[0], "10", Authorisation::Treasurer);
    cf.supplier_code = "RSSMRA85T10A562S".into();
    service::commit_expense(s, &treasurer, cf).await.unwrap();
}
