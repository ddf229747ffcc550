//! The audit log (registro delle operazioni): append-only, hash-chained, written in the same
//! transaction as the change it records. `ordo audit verify` walks the chain.

pub mod handlers;
pub mod model;
mod repo;
mod views;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

pub use repo::StoredEntry;

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    pub label: String,
}

impl Actor {
    pub fn user(id: i64, email: &str) -> Actor {
        Actor {
            id: Some(id),
            label: email.to_string(),
        }
    }

    pub fn system(what: &str) -> Actor {
        Actor {
            id: None,
            label: format!("system:{what}"),
        }
    }
}

/// One auditable event. `details` holds before/after values and anything else worth keeping.
pub struct Event<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub details: Value,
}

/// Appends an entry inside the caller's transaction. Serialised with other writers by the lock on
/// the chain head, so the numbering follows commit order.
pub async fn record(conn: &mut PgConnection, now: OffsetDateTime, event: Event<'_>) -> sqlx::Result<i64> {
    let head = repo::lock_head(conn).await?;
    let seq = head.seq + 1;
    // serde_json's Map is a BTreeMap here: keys sorted, so the text is canonical.
    let details = event.details.to_string();
    let data = model::EntryData {
        seq,
        recorded_at: now,
        actor_id: event.actor.id,
        actor_label: &event.actor.label,
        action: event.action,
        entity: event.entity,
        entity_id: event.entity_id.as_deref(),
        details: &details,
    };
    let hash = model::entry_hash(&head.hash, &data);
    repo::insert(
        conn,
        &repo::NewEntry {
            seq,
            recorded_at: now,
            actor_id: event.actor.id,
            actor_label: &event.actor.label,
            action: event.action,
            entity: event.entity,
            entity_id: event.entity_id.as_deref(),
            details: &details,
            prev_hash: &head.hash,
            hash: &hash,
        },
    )
    .await?;
    Ok(seq)
}

/// Locks the chain's head until the transaction ends, as [`record`] does. For a transaction that will
/// also lock the protocol counter: the head is always taken first (see `protocol_register`), so that
/// two such transactions never wait for each other's rows in opposite orders.
pub async fn lock_chain(conn: &mut PgConnection) -> sqlx::Result<()> {
    repo::lock_head(conn).await.map(|_| ())
}

/// Appends an entry in a transaction of its own: for events that change nothing else (a login, a
/// view, an export).
pub async fn record_alone(pool: &PgPool, now: OffsetDateTime, event: Event<'_>) -> sqlx::Result<i64> {
    let mut tx = pool.begin().await?;
    let seq = record(&mut tx, now, event).await?;
    tx.commit().await?;
    Ok(seq)
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact { entries: i64 },
    Broken { seq: i64, reason: String },
}

/// Recomputes every hash from the first entry and checks links, numbering and the head.
pub async fn verify(pool: &PgPool) -> sqlx::Result<Verification> {
    let mut conn = pool.acquire().await?;
    let mut prev_hash = vec![0u8; 32];
    let mut expected_seq = 1i64;
    loop {
        let page = repo::page_after(&mut conn, expected_seq - 1, 1000).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.seq != expected_seq {
                return Ok(Verification::Broken {
                    seq: expected_seq,
                    reason: format!("entry {expected_seq} is missing (next found: {})", e.seq),
                });
            }
            if e.prev_hash != prev_hash {
                return Ok(Verification::Broken {
                    seq: e.seq,
                    reason: "its previous-hash does not match the entry before it".into(),
                });
            }
            let computed = model::entry_hash(
                &prev_hash,
                &model::EntryData {
                    seq: e.seq,
                    recorded_at: e.recorded_at,
                    actor_id: e.actor_id,
                    actor_label: &e.actor_label,
                    action: &e.action,
                    entity: &e.entity,
                    entity_id: e.entity_id.as_deref(),
                    details: &e.details,
                },
            );
            if computed.as_slice() != e.hash.as_slice() {
                return Ok(Verification::Broken {
                    seq: e.seq,
                    reason: "its content does not match its hash (altered after it was written)".into(),
                });
            }
            prev_hash = e.hash.clone();
            expected_seq += 1;
        }
    }
    let head = repo::head(&mut conn).await?;
    let last = expected_seq - 1;
    if head.seq != last || head.hash != prev_hash {
        return Ok(Verification::Broken {
            seq: head.seq.max(last),
            reason: format!(
                "the chain head (entry {}) does not match the last entry ({last})",
                head.seq
            ),
        });
    }
    Ok(Verification::Intact { entries: last })
}

/// Newest entries first, for the back office.
pub async fn latest(pool: &PgPool, limit: i64, before_seq: Option<i64>) -> sqlx::Result<Vec<StoredEntry>> {
    let mut conn = pool.acquire().await?;
    repo::latest(&mut conn, limit, before_seq).await
}
