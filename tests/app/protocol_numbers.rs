//! The register's numbers as the database enforces them (migration 0018): the registering functions
//! number from the locked counter, and whoever inserts, a statement's numbers must continue the counter
//! exactly; a group spanning New Year's Eve numbers each year on its own; two first registrations of a
//! year wait for each other.

use std::time::Duration;

use sqlx::PgPool;
use time::macros::datetime;

use crate::helpers::TestApp;
use crate::protocol::{item, submission};

async fn counters(pool: &PgPool) -> Vec<(i32, i32)> {
    sqlx::query_as("SELECT year, last_number FROM protocol_counters ORDER BY year")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A registration written in SQL, as a script or a careless administrator would.
fn direct_insert(numbers: &[i32]) -> String {
    let rows: Vec<String> = numbers
        .iter()
        .map(|n| {
            format!(
                "('oring_ts', 'PROT', 0, {n}, '2026-03-02 10:00:00+00', 'in', 'A mano', 'Inserita in SQL', '7.1', 'sql')"
            )
        })
        .collect();
    format!(
        "INSERT INTO protocol_registrations (aoo, register, year, number, registered_at, direction,
             correspondent_name, subject, classification, source) VALUES {}",
        rows.join(", ")
    )
}

#[sqlx::test]
async fn numbers_that_skip_or_repeat_are_refused_whoever_inserts(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let registrar = &app.state.registrar;
    let at = datetime!(2026-03-02 09:00:00 UTC);
    registrar
        .register_group(&[submission(item("Uno"), at), submission(item("Due"), at)])
        .await
        .unwrap();
    assert_eq!(counters(&pool).await, [(2026, 2)]);

    for (numbers, refusal) in [
        (&[4][..], "does not continue the register"),
        (&[3, 5], "are not consecutive"),
        (&[2], "duplicate key"),
        (&[0], "does not continue the register"),
    ] {
        let err = sqlx::query(&direct_insert(numbers))
            .execute(&pool)
            .await
            .expect_err("a number off the counter");
        assert!(err.to_string().contains(refusal), "{numbers:?}: {err}");
    }
    // Nothing of the refused statements is left, and the counter has not moved.
    assert_eq!(counters(&pool).await, [(2026, 2)]);

    // The next numbers, in one statement, continue the register and move the counter.
    sqlx::query(&direct_insert(&[3, 4])).execute(&pool).await.unwrap();
    assert_eq!(counters(&pool).await, [(2026, 4)]);
    let next = registrar
        .register_group(&[submission(item("Cinque"), at)])
        .await
        .unwrap();
    assert_eq!(next[0].number, 5);

    // A year's first number is 1: a new year cannot start further on.
    let err = sqlx::query(&direct_insert(&[7]).replace("2026-03-02", "2029-03-02"))
        .execute(&pool)
        .await
        .expect_err("a year starting at 7");
    assert!(
        err.to_string().contains("does not continue the register"),
        "{err}"
    );
    assert_eq!(counters(&pool).await, [(2026, 5)]);
}

/// A group's items are numbered in the order given, each in the year of its own time (Europe/Rome).
#[sqlx::test]
async fn a_group_spanning_new_years_eve_numbers_each_year(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    // 1 January 00:00:00 in Rome is 23:00:00 UTC of 31 December.
    let new_year = datetime!(2026-12-31 23:00:00 UTC);
    let old_year = datetime!(2026-12-31 22:59:59 UTC);
    let group = app
        .state
        .registrar
        .register_group(&[
            submission(item("Prima del 2027"), new_year),
            submission(item("Ultima del 2026"), old_year),
            submission(item("Seconda del 2027"), new_year + time::Duration::seconds(1)),
        ])
        .await
        .unwrap();
    let got: Vec<(i32, i32)> = group.iter().map(|i| (i.year, i.number)).collect();
    assert_eq!(got, [(2027, 1), (2026, 1), (2027, 2)]);
    assert_eq!(counters(&pool).await, [(2026, 1), (2027, 2)]);
}

/// protocol_register without its audit entry, in the caller's transaction, at `at`.
async fn register_in(tx: &mut sqlx::PgConnection, at: time::OffsetDateTime) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "SELECT number FROM protocol_register('oring_ts', 'PROT', $1, 'in', 'Comune di Udine', '', '',
             'Oggetto', '', '7.1', NULL, NULL, 'sql', NULL, '{}', '{}', '{}', '{}', '{}', '{}',
             false, NULL, '', '')",
    )
    .bind(at)
    .fetch_one(tx)
    .await
}

/// Two first registrations of a year: no counter row to lock yet, so the second waits for the first
/// (an advisory lock on the year) and takes number 2 when it commits.
#[sqlx::test]
async fn two_first_registrations_of_a_year_wait_for_each_other(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await; // the titolario
    let at = datetime!(2028-01-01 08:00:00 UTC);
    let mut first = pool.begin().await.unwrap();
    assert_eq!(register_in(&mut first, at).await.unwrap(), 1);

    let second = tokio::spawn({
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let n = register_in(&mut tx, at).await.unwrap();
            tx.commit().await.unwrap();
            n
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second must wait for the first");
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), 2);
    assert_eq!(counters(&pool).await, [(2028, 2)]);

    // Had the first rolled back, the second would have taken number 1: nothing is consumed.
    let mut rolled_back = pool.begin().await.unwrap();
    assert_eq!(
        register_in(&mut rolled_back, datetime!(2029-01-01 08:00:00 UTC))
            .await
            .unwrap(),
        1
    );
    rolled_back.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(
        register_in(&mut tx, datetime!(2029-01-01 09:00:00 UTC))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
}
