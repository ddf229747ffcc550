//! SQL of the audit log. Functions take `&mut PgConnection` so they run in the caller's transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;

pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
}

/// Locks the chain head for the rest of the transaction.
pub async fn lock_head(conn: &mut PgConnection) -> sqlx::Result<Head> {
    let row = sqlx::query!("SELECT seq, hash FROM audit_chain_head WHERE id FOR UPDATE")
        .fetch_one(&mut *conn)
        .await?;
    Ok(Head {
        seq: row.seq,
        hash: row.hash,
    })
}

pub struct NewEntry<'a> {
    pub seq: i64,
    pub recorded_at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub details: &'a str,
    pub prev_hash: &'a [u8],
    pub hash: &'a [u8],
}

pub async fn insert(conn: &mut PgConnection, e: &NewEntry<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO audit_log (seq, recorded_at, actor_id, actor_label, action, entity, entity_id, details,
                                prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        e.seq,
        e.recorded_at,
        e.actor_id,
        e.actor_label,
        e.action,
        e.entity,
        e.entity_id,
        e.details,
        e.prev_hash,
        e.hash
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: i64,
    pub recorded_at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// A page of entries in chain order, starting after `after_seq`.
pub async fn page_after(
    conn: &mut PgConnection,
    after_seq: i64,
    limit: i64,
) -> sqlx::Result<Vec<StoredEntry>> {
    sqlx::query_as!(
        StoredEntry,
        "SELECT seq, recorded_at, actor_id, actor_label, action, entity, entity_id, details, prev_hash, hash
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        after_seq,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

/// The newest entries first, for the back-office page.
pub async fn latest(
    conn: &mut PgConnection,
    limit: i64,
    before_seq: Option<i64>,
) -> sqlx::Result<Vec<StoredEntry>> {
    sqlx::query_as!(
        StoredEntry,
        "SELECT seq, recorded_at, actor_id, actor_label, action, entity, entity_id, details, prev_hash, hash
         FROM audit_log WHERE ($2::BIGINT IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $1",
        limit,
        before_seq
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn head(conn: &mut PgConnection) -> sqlx::Result<Head> {
    let row = sqlx::query!("SELECT seq, hash FROM audit_chain_head WHERE id")
        .fetch_one(&mut *conn)
        .await?;
    Ok(Head {
        seq: row.seq,
        hash: row.hash,
    })
}
