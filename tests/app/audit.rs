//! The audit log: written with the change, append-only in the database, hash chain verified.

use ordo::audit::{self, Actor, Verification};
use ordo::auth::Role;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp};

#[sqlx::test]
async fn logins_and_account_changes_are_chained_and_verified(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    app.create_user("mario@example.org", &[Role::Member], false).await;
    app.login("mario@example.org", PASSWORD, None).await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(actions, vec!["user.create", "auth.login"]);
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { entries: 2 }
    );
}

#[sqlx::test]
async fn the_database_refuses_update_delete_truncate_and_forks(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    audit::record(
        &mut tx,
        crate::helpers::start_time(),
        audit::Event {
            actor: &Actor::system("test"),
            action: "test.event",
            entity: "test",
            entity_id: None,
            details: serde_json::json!({"a": 1}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for sql in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "DELETE FROM audit_chain_head",
        // An entry that does not continue the chain.
        "INSERT INTO audit_log (seq, recorded_at, actor_label, action, entity, details, prev_hash, hash)
         VALUES (5, now(), 'x', 'x', 'x', '{}', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))",
        // The next number, but not after the head's hash.
        "INSERT INTO audit_log (seq, recorded_at, actor_label, action, entity, details, prev_hash, hash)
         VALUES (2, now(), 'x', 'x', 'x', '{}', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))",
    ] {
        let e = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(e.to_string().contains("audit"), "{sql}: {e}");
    }
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { entries: 1 }
    );
}

#[sqlx::test]
async fn tampering_behind_the_triggers_is_detected_and_named(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for i in 0..4 {
        app.create_user(&format!("u{i}@example.org"), &[Role::Member], false)
            .await;
    }
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { entries: 4 }
    );
    // A superuser disables the triggers for the session and rewrites entry 3.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET details = replace(details, 'u2@', 'someone-else@') WHERE seq = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    match audit::verify(&pool).await.unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not detected: {other:?}"),
    }
}

/// A registration writes its audit entry in SQL (`audit_entry_hash`, migration 0016): the database's
/// hash must be the Rust rule's, byte for byte, or `ordo audit verify` would call the chain broken.
#[sqlx::test]
async fn the_databases_hash_is_the_rust_rule_byte_for_byte(pool: PgPool) {
    use ordo::audit::model::{EntryData, entry_hash};
    use time::macros::datetime;
    let prev: Vec<u8> = (0u8..32).collect();
    let cases = [
        (
            7i64,
            datetime!(2026-11-22 19:30:00.123456 UTC),
            Some(42i64),
            "mario@example.org",
            Some("2026/0000012"),
            r#"{"a":1}"#,
        ),
        (
            1,
            datetime!(1999-12-31 23:59:59 UTC),
            None,
            "sistema: giornale",
            None,
            "{}",
        ),
        (
            123_456_789,
            datetime!(2027-01-01 00:00:00.000001 +01:00),
            Some(-1),
            "Àlfa · ȘȚ ✓",
            Some(""),
            "{\"subject\":\"Perché\"}",
        ),
    ];
    for (seq, at, actor_id, label, entity_id, details) in cases {
        let expected = entry_hash(
            &prev,
            &EntryData {
                seq,
                recorded_at: at,
                actor_id,
                actor_label: label,
                action: "protocol.register",
                entity: "protocol",
                entity_id,
                details,
            },
        );
        let computed: Vec<u8> = sqlx::query_scalar(
            "SELECT audit_entry_hash($1, $2, $3, $4, $5, 'protocol.register', 'protocol', $6, $7)",
        )
        .bind(&prev)
        .bind(seq)
        .bind(at)
        .bind(actor_id)
        .bind(label)
        .bind(entity_id)
        .bind(details)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(computed, expected.to_vec(), "seq {seq}, entity_id {entity_id:?}");
    }
}

/// Two entries written in one statement: the first has `first_seq` and follows the head's hash; the
/// second has `seq` and follows `prev` (SQL over `h`, the head, and `a`, the first entry).
fn two_entries(first_seq: &str, prev: &str, seq: &str) -> String {
    format!(
        "WITH h AS (SELECT seq, hash FROM audit_chain_head),
              a AS (SELECT {first_seq} AS seq, h.hash AS prev,
                           audit_entry_hash(h.hash, {first_seq}, '2026-03-02 10:00:00+00', NULL, 'sql',
                                            'test.a', 'test', NULL, '{{}}') AS hash FROM h),
              b AS (SELECT {seq} AS seq, {prev} AS prev,
                           audit_entry_hash({prev}, {seq}, '2026-03-02 10:00:00+00', NULL, 'sql',
                                            'test.b', 'test', NULL, '{{}}') AS hash FROM a, h)
         INSERT INTO audit_log (seq, recorded_at, actor_label, action, entity, details, prev_hash, hash)
         SELECT seq, timestamptz '2026-03-02 10:00:00+00', 'sql', 'test.a', 'test', '{{}}', prev, hash FROM a
         UNION ALL
         SELECT seq, timestamptz '2026-03-02 10:00:00+00', 'sql', 'test.b', 'test', '{{}}', prev, hash FROM b"
    )
}

/// Several entries written in one statement (as a group of registrations writes them) must continue
/// the head and each other, or the whole statement is refused.
#[sqlx::test]
async fn entries_written_together_must_chain_as_a_whole(pool: PgPool) {
    // The second entry forks from the head instead of following the first; or skips a number.
    // When the first breaks it too, the refusal names the first.
    for (first, prev, seq, refused) in [
        (
            "h.seq + 1",
            "h.hash",
            "a.seq + 1",
            "entry 2 does not continue the chain",
        ),
        (
            "h.seq + 1",
            "a.hash",
            "a.seq + 2",
            "entry 3 does not continue the chain",
        ),
        (
            "h.seq + 2",
            "a.hash",
            "a.seq + 2",
            "entry 2 does not continue the chain",
        ),
    ] {
        let err = sqlx::query(&two_entries(first, prev, seq))
            .execute(&pool)
            .await
            .expect_err(prev);
        assert!(err.to_string().contains(refused), "{prev}, {seq}: {err}");
    }
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { entries: 0 }
    );
    sqlx::query(&two_entries("h.seq + 1", "a.hash", "a.seq + 1"))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { entries: 2 }
    );
    let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_chain_head")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(head, 2);
}
