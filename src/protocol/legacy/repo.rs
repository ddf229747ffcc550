//! SQL of legacy protocol entries. Functions take `&mut PgConnection` so they run in the import's
//! transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::Entry;

/// The stored entries with the keys of a batch.
pub async fn existing(
    conn: &mut PgConnection,
    registers: &[String],
    years: &[i32],
    numbers: &[i32],
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as!(
        Entry,
        "SELECT l.register, l.year, l.number, l.registered_on, l.direction, l.correspondent, l.subject,
                l.classification, l.note
         FROM protocol_legacy_entries l
         JOIN UNNEST($1::TEXT[], $2::INT[], $3::INT[]) AS k(register, year, number)
           ON (l.register, l.year, l.number) = (k.register, k.year, k.number)",
        registers,
        years,
        numbers
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    new: &[&Entry],
    job_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let col = |f: fn(&Entry) -> String| new.iter().map(|e| f(e)).collect::<Vec<_>>();
    sqlx::query!(
        "INSERT INTO protocol_legacy_entries (register, year, number, registered_on, direction, correspondent,
             subject, classification, note, import_job_id, imported_at)
         SELECT *, $10::BIGINT, $11::TIMESTAMPTZ FROM UNNEST($1::TEXT[], $2::INT[], $3::INT[], $4::DATE[],
             $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[])",
        &col(|e| e.register.clone()),
        &new.iter().map(|e| e.year).collect::<Vec<_>>(),
        &new.iter().map(|e| e.number).collect::<Vec<_>>(),
        &new.iter().map(|e| e.registered_on).collect::<Vec<_>>(),
        &col(|e| e.direction.clone()),
        &col(|e| e.correspondent.clone()),
        &col(|e| e.subject.clone()),
        &col(|e| e.classification.clone()),
        &col(|e| e.note.clone()),
        job_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Newest first; `text` is matched literally (no wildcards of its own) in subject or correspondent.
pub async fn search(
    conn: &mut PgConnection,
    year: Option<i32>,
    number: Option<i32>,
    text: &str,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    let pattern = format!(
        "%{}%",
        text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
    );
    sqlx::query_as!(
        Entry,
        "SELECT register, year, number, registered_on, direction, correspondent, subject, classification, note
         FROM protocol_legacy_entries
         WHERE ($1::INT IS NULL OR year = $1) AND ($2::INT IS NULL OR number = $2)
           AND ($3 = '%%' OR subject ILIKE $3 OR correspondent ILIKE $3)
         ORDER BY registered_on DESC, register, number DESC LIMIT $4",
        year,
        number,
        pattern,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}
