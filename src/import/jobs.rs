//! Import jobs in PostgreSQL: created by an upload or by the CLI, queued, claimed by the runner (which
//! holds the job's advisory lock for as long as its transaction lives), finished with a summary.
//! A job left 'running' whose lock nobody holds belonged to a process that died: it is marked
//! 'interrupted' (its transaction, and so its writes, went with it).

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::Mode;
use super::run::Summary;

/// Advisory lock keys of import jobs: this prefix in the high bits, the job id in the low ones.
const LOCK_NAMESPACE: i64 = 0x1D0 << 40;

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub source: &'a str,
    pub file_name: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    pub content: Option<&'a [u8]>,
    pub encoding: &'a str,
    pub delimiter: &'a str,
    pub headers: &'a [String],
    pub mapping: serde_json::Value,
    pub total_rows: i32,
    /// 'ready' (the page lets the administrator adjust and start it) or 'queued' (the CLI runs it now).
    pub state: &'a str,
    pub created_by: Option<i64>,
    pub created_at: OffsetDateTime,
}

pub async fn create(pool: &PgPool, j: &NewJob<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO import_jobs (kind, source, file_name, size_bytes, sha256, content, encoding, delimiter,
             headers, mapping, total_rows, state, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        j.kind,
        j.source,
        j.file_name,
        j.size_bytes,
        j.sha256,
        j.content,
        j.encoding,
        j.delimiter,
        j.headers,
        j.mapping,
        j.total_rows,
        j.state,
        j.created_by,
        j.created_at
    )
    .fetch_one(pool)
    .await
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub encoding: String,
    pub delimiter: String,
    pub headers: Vec<String>,
    pub mapping: serde_json::Value,
    pub total_rows: i32,
    pub state: String,
    pub mode: Option<String>,
    pub processed_rows: i32,
    pub summary: Option<serde_json::Value>,
    pub has_rejected: bool,
    pub committed: bool,
    pub created_by_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<JobRow>> {
    Ok(select(pool, Some(id), 1).await?.pop())
}

pub async fn latest(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<JobRow>> {
    select(pool, None, limit).await
}

/// One job (`id`) or the newest ones.
async fn select(pool: &PgPool, id: Option<i64>, limit: i64) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT j.id, j.kind, j.source, j.file_name, j.size_bytes, j.sha256, j.encoding, j.delimiter,
                  j.headers, j.mapping, j.total_rows, j.state, j.mode, j.processed_rows, j.summary,
                  j.rejected_csv IS NOT NULL AS "has_rejected!", j.committed,
                  u.email AS "created_by_email?", j.created_at, j.started_at, j.finished_at
           FROM import_jobs j LEFT JOIN users u ON u.id = j.created_by
           WHERE $1::BIGINT IS NULL OR j.id = $1
           ORDER BY j.id DESC LIMIT $2"#,
        id,
        limit
    )
    .fetch_all(pool)
    .await
}

pub async fn content(pool: &PgPool, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar!("SELECT content FROM import_jobs WHERE id = $1", id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

pub async fn rejected_csv(pool: &PgPool, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar!("SELECT rejected_csv FROM import_jobs WHERE id = $1", id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

/// Changes the mapping of a job that is not running and has not written yet.
pub async fn set_mapping(pool: &PgPool, id: i64, mapping: serde_json::Value) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE import_jobs SET mapping = $2
         WHERE id = $1 AND NOT committed AND state NOT IN ('queued', 'running')",
        id,
        mapping
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Puts a job in the queue for a run in `mode`, unless it is running or has already written.
pub async fn queue(pool: &PgPool, id: i64, mode: Mode, now: OffsetDateTime) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE import_jobs SET state = 'queued', mode = $2, processed_rows = 0, started_at = $3, finished_at = NULL,
             summary = NULL, rejected_csv = NULL
         WHERE id = $1 AND NOT committed AND state NOT IN ('queued', 'running')",
        id,
        mode.as_str(),
        now
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The job's advisory lock, held until the caller's transaction ends.
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", LOCK_NAMESPACE | id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Refreshes the statistics of tables an import writes, inside its transaction.
pub async fn analyze(conn: &mut PgConnection, tables: &[&'static str]) -> sqlx::Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    // Static names from the kinds, never input.
    sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// queued → running (called with the lock held). False if the job was not queued.
pub async fn claim(pool: &PgPool, id: i64, mode: Mode, now: OffsetDateTime) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE import_jobs SET state = 'running', mode = $2, processed_rows = 0, started_at = $3
         WHERE id = $1 AND state = 'queued' AND NOT committed",
        id,
        mode.as_str(),
        now
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Rows read so far (outside the run's transaction, so the page sees it move).
pub async fn progress(pool: &PgPool, id: i64, rows: u64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE import_jobs SET processed_rows = $2 WHERE id = $1 AND state = 'running'",
        id,
        rows.min(i32::MAX as u64) as i32
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The end of a run, in the run's transaction when it wrote (so a committed import is never shown
/// as interrupted). Once a run has written, the uploaded file is deleted: its personal data now live in
/// the register, its SHA-256 in the audit log, and the job cannot run again.
pub async fn finish(
    conn: &mut PgConnection,
    id: i64,
    summary: &Summary,
    rejected_csv: Option<&[u8]>,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let summary_json = serde_json::to_value(summary).unwrap_or_default();
    sqlx::query!(
        "UPDATE import_jobs SET state = $2, summary = $3, rejected_csv = $4, committed = committed OR $5,
             processed_rows = $6, finished_at = $7, content = CASE WHEN $5 THEN NULL ELSE content END
         WHERE id = $1",
        id,
        if summary.refused { "refused" } else { "done" },
        summary_json,
        rejected_csv,
        summary.written,
        summary.rows.min(i32::MAX as u64) as i32,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A run that stopped on an error: nothing was written (its transaction was rolled back).
pub async fn fail(pool: &PgPool, id: i64, message: &str, now: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE import_jobs SET state = 'failed', summary = jsonb_build_object('error', $2::text), finished_at = $3
         WHERE id = $1 AND state IN ('queued', 'running')",
        id,
        message,
        now
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks as interrupted the running jobs whose process is gone (nobody holds their lock) and the
/// queued ones nobody picked up within five minutes.
pub async fn reap(pool: &PgPool, now: OffsetDateTime) -> sqlx::Result<u64> {
    let mut reaped = 0;
    let running = sqlx::query_scalar!("SELECT id FROM import_jobs WHERE state = 'running'")
        .fetch_all(pool)
        .await?;
    for id in running {
        let mut tx = pool.begin().await?;
        let free = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock($1) AS "free!""#,
            LOCK_NAMESPACE | id
        )
        .fetch_one(&mut *tx)
        .await?;
        if free {
            reaped += sqlx::query!(
                "UPDATE import_jobs SET state = 'interrupted', finished_at = $2 WHERE id = $1 AND state = 'running'",
                id,
                now
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
    reaped += sqlx::query!(
        "UPDATE import_jobs SET state = 'interrupted', finished_at = $1
         WHERE state = 'queued' AND started_at < $2",
        now,
        now - Duration::minutes(5)
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(reaped)
}
