//! SQL of the footage requests and of the retention alerts. Functions take `&mut PgConnection`.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub purpose: String,
    pub requester_name: String,
    pub requester_org: String,
    pub requester_email: String,
    pub motivation: String,
    pub footage_from: OffsetDateTime,
    pub footage_to: OffsetDateTime,
    pub system_ids: Vec<i64>,
    pub held_for: String,
    pub state: String,
    pub request_protocol: String,
    pub extraction_kind: Option<String>,
    pub third_parties_masked: Option<bool>,
    pub extracted_files: Option<i32>,
    pub extraction_note: String,
    pub encryption_method: String,
    pub handed_sha256: Option<Vec<u8>>,
    pub extracted_at: Option<OffsetDateTime>,
    pub verbale_protocol: Option<String>,
    pub has_verbale: bool,
    pub outcome: String,
    pub files_deleted_on: Option<Date>,
    pub created_at: OffsetDateTime,
}

pub struct NewRequest<'a> {
    pub id: i64,
    pub purpose: &'a str,
    pub requester_name: &'a str,
    pub requester_org: &'a str,
    pub requester_email: &'a str,
    pub motivation: &'a str,
    pub footage_from: OffsetDateTime,
    pub footage_to: OffsetDateTime,
    pub system_ids: &'a [i64],
    pub protocol_id: i64,
    pub protocol_key: &'a str,
    pub created_by: i64,
    pub created_at: OffsetDateTime,
}

pub async fn insert(conn: &mut PgConnection, r: &NewRequest<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO video_requests (id, purpose, requester_name, requester_org, requester_email, motivation,
             footage_from, footage_to, system_ids, state, request_protocol_id, request_protocol, created_by,
             created_at)
         OVERRIDING SYSTEM VALUE
         VALUES ($13, $1, $2, $3, $4, $5, $6, $7, $8, 'received', $9, $10, $11, $12) RETURNING id",
        r.purpose,
        r.requester_name,
        r.requester_org,
        r.requester_email,
        r.motivation,
        r.footage_from,
        r.footage_to,
        r.system_ids,
        r.protocol_id,
        r.protocol_key,
        r.created_by,
        r.created_at,
        r.id
    )
    .fetch_one(&mut *conn)
    .await
}

/// The next id the requests table will give (its protocol registration comes first).
pub async fn next_id(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('video_requests', 'id')) AS "id!""#)
        .fetch_one(&mut *conn)
        .await
}

pub async fn insert_person(
    conn: &mut PgConnection,
    request_id: i64,
    position: i32,
    name: &str,
    role: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO video_request_people (request_id, position, name, role) VALUES ($1, $2, $3, $4)",
        request_id,
        position,
        name,
        role
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_attachment(
    conn: &mut PgConnection,
    request_id: i64,
    file_name: &str,
    content_type: &str,
    sha256: &[u8],
    content: &[u8],
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO video_request_attachments (request_id, file_name, content_type, sha256, content)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        request_id,
        file_name,
        content_type,
        sha256,
        content
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_event(
    conn: &mut PgConnection,
    request_id: i64,
    state: &str,
    note: &str,
    actor_id: i64,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO video_request_events (request_id, state, note, actor_id, at) VALUES ($1, $2, $3, $4, $5)",
        request_id,
        state,
        note,
        actor_id,
        at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One request, locked for the rest of the transaction when `lock`.
pub async fn by_id(conn: &mut PgConnection, id: i64, lock: bool) -> sqlx::Result<Option<RequestRow>> {
    if lock {
        sqlx::query!("SELECT id FROM video_requests WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(list(conn, Some(id)).await?.into_iter().next())
}

/// Requests, newest first (one when `id` is given).
pub async fn list(conn: &mut PgConnection, id: Option<i64>) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"SELECT id, purpose, requester_name, requester_org, requester_email, motivation, footage_from,
                  footage_to, system_ids, held_for, state, request_protocol, extraction_kind,
                  third_parties_masked, extracted_files, extraction_note, encryption_method, handed_sha256,
                  extracted_at, verbale_protocol, verbale_pdf IS NOT NULL AS "has_verbale!", outcome,
                  files_deleted_on, created_at
           FROM video_requests WHERE $1::BIGINT IS NULL OR id = $1
           ORDER BY id DESC LIMIT 500"#,
        id
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn set_state(conn: &mut PgConnection, id: i64, state: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE video_requests SET state = $2 WHERE id = $1", id, state)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_held_for(conn: &mut PgConnection, id: i64, held_for: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE video_requests SET held_for = $2 WHERE id = $1",
        id,
        held_for
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct Extraction<'a> {
    pub kind: &'a str,
    pub masked: bool,
    pub files: i32,
    pub note: &'a str,
    pub encryption_method: &'a str,
    pub sha256: &'a [u8],
    pub by: i64,
    pub at: OffsetDateTime,
}

pub async fn set_extraction(conn: &mut PgConnection, id: i64, e: &Extraction<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE video_requests SET state = 'extracted', extraction_kind = $2, third_parties_masked = $3,
             extracted_files = $4, extraction_note = $5, encryption_method = $6, handed_sha256 = $7,
             extracted_by = $8, extracted_at = $9
         WHERE id = $1",
        id,
        e.kind,
        e.masked,
        e.files,
        e.note,
        e.encryption_method,
        e.sha256,
        e.by,
        e.at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_verbale(
    conn: &mut PgConnection,
    id: i64,
    protocol_id: i64,
    protocol_key: &str,
    pdf: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE video_requests SET state = 'reported', verbale_protocol_id = $2, verbale_protocol = $3,
             verbale_pdf = $4
         WHERE id = $1",
        id,
        protocol_id,
        protocol_key,
        pdf
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_outcome(conn: &mut PgConnection, id: i64, outcome: &str, state: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE video_requests SET outcome = $2, state = $3 WHERE id = $1",
        id,
        outcome,
        state
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_files_deleted(conn: &mut PgConnection, id: i64, on: Date) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE video_requests SET files_deleted_on = $2, state = 'files_deleted' WHERE id = $1",
        id,
        on
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn verbale_pdf(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar!("SELECT verbale_pdf FROM video_requests WHERE id = $1", id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

pub async fn people(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        "SELECT name, role FROM video_request_people WHERE request_id = $1 ORDER BY position",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.role)).collect())
}

pub struct AttachmentRow {
    pub id: i64,
    pub request_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub sha256: Vec<u8>,
    pub size: i32,
}

pub async fn attachments(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<AttachmentRow>> {
    sqlx::query_as!(
        AttachmentRow,
        r#"SELECT id, request_id, file_name, content_type, sha256, octet_length(content) AS "size!"
           FROM video_request_attachments WHERE request_id = $1 ORDER BY id"#,
        id
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn attachment(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(String, String, Vec<u8>)>> {
    let row = sqlx::query!(
        "SELECT file_name, content_type, content FROM video_request_attachments WHERE id = $1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.file_name, r.content_type, r.content)))
}

pub struct EventRow {
    pub state: String,
    pub note: String,
    pub actor_name: String,
    pub at: OffsetDateTime,
}

pub async fn events(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        "SELECT e.state, e.note, u.display_name AS actor_name, e.at
         FROM video_request_events e JOIN users u ON u.id = e.actor_id
         WHERE e.request_id = $1 ORDER BY e.id",
        id
    )
    .fetch_all(&mut *conn)
    .await
}

/// Requests by purpose and state (the outcome), with how many.
pub async fn totals(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT purpose, state, count(*) AS "n!" FROM video_requests
           WHERE created_at >= $1 AND created_at < $2
           GROUP BY purpose, state ORDER BY purpose, state"#,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.purpose, r.state, r.n)).collect())
}

// --- retention --------------------------------------------------------------------------------

pub struct AlertRow {
    pub request_id: i64,
    pub kind: String,
    pub purpose: String,
    pub requester_name: String,
    pub state: String,
    pub due: OffsetDateTime,
    pub raised_at: Option<OffsetDateTime>,
}

/// Requests past retention and not held for an authority: footage still to be extracted past its
/// retention (`footage_pending`), or extracted files kept past it (`files_kept`). The retention is the
/// shortest of the request's systems.
pub async fn retention_alerts(conn: &mut PgConnection, now: OffsetDateTime) -> sqlx::Result<Vec<AlertRow>> {
    sqlx::query_as!(
        AlertRow,
        r#"WITH r AS (
               SELECT q.*, (SELECT COALESCE(min(s.retention_days), 7) FROM video_systems s
                            WHERE s.id = ANY(q.system_ids)) AS days
               FROM video_requests q WHERE q.held_for = '')
           SELECT r.id AS "request_id!", k.kind AS "kind!", r.purpose AS "purpose!",
                  r.requester_name AS "requester_name!", r.state AS "state!", k.due AS "due!",
                  a.raised_at AS "raised_at?"
           FROM r
           CROSS JOIN LATERAL (
               SELECT 'footage_pending' AS kind, r.footage_to + make_interval(days => r.days) AS due
               WHERE r.state IN ('received', 'authorised')
               UNION ALL
               SELECT 'files_kept', r.extracted_at + make_interval(days => r.days)
               WHERE r.state IN ('extracted', 'reported', 'delivered')) k
           LEFT JOIN video_retention_alerts a ON a.request_id = r.id AND a.kind = k.kind
           WHERE k.due < $1
           ORDER BY k.due, r.id"#,
        now
    )
    .fetch_all(&mut *conn)
    .await
}

/// Records that the alerts were seen (the first time only); returns how many are new.
pub async fn record_alerts(
    conn: &mut PgConnection,
    ids: &[i64],
    kinds: &[String],
    now: OffsetDateTime,
) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "INSERT INTO video_retention_alerts (request_id, kind, raised_at)
         SELECT *, $3::TIMESTAMPTZ FROM UNNEST($1::BIGINT[], $2::TEXT[]) ON CONFLICT DO NOTHING",
        ids,
        kinds,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
