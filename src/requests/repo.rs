//! SQL of the pratiche. Functions take `&mut PgConnection` to run inside the caller's transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;

pub async fn insert(
    conn: &mut PgConnection,
    kind: &str,
    member_id: i64,
    requested_by: i64,
    subject: &str,
    payload: &serde_json::Value,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO requests (kind, member_id, requested_by, subject, payload, submitted_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        kind,
        member_id,
        requested_by,
        subject,
        payload,
        now
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_event(
    conn: &mut PgConnection,
    request_id: i64,
    from: Option<&str>,
    to: &str,
    at: OffsetDateTime,
    by: Option<i64>,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO request_events (request_id, from_state, to_state, at, by_user, note) VALUES ($1, $2, $3, $4, $5, $6)",
        request_id,
        from,
        to,
        at,
        by,
        note
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub kind: String,
    pub member_id: i64,
    pub member_name: String,
    pub requested_by: i64,
    pub requester_email: String,
    pub state: String,
    pub subject: String,
    pub payload: serde_json::Value,
    pub submitted_at: OffsetDateTime,
}

pub async fn by_id_for_update(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"SELECT r.id, r.kind, r.member_id, m.surname || ' ' || m.name AS "member_name!", r.requested_by,
                  u.email AS requester_email, r.state, r.subject, r.payload, r.submitted_at
           FROM requests r JOIN members m ON m.id = r.member_id JOIN users u ON u.id = r.requested_by
           WHERE r.id = $1 FOR UPDATE OF r"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Open requests first, oldest first (the staff inbox), then the most recent closed ones.
pub async fn inbox(conn: &mut PgConnection, open_only: bool, limit: i64) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"SELECT r.id, r.kind, r.member_id, m.surname || ' ' || m.name AS "member_name!", r.requested_by,
                  u.email AS requester_email, r.state, r.subject, r.payload, r.submitted_at
           FROM requests r JOIN members m ON m.id = r.member_id JOIN users u ON u.id = r.requested_by
           WHERE NOT $1 OR r.state IN ('submitted', 'in_review')
           ORDER BY (r.state IN ('submitted', 'in_review')) DESC,
                    CASE WHEN r.state IN ('submitted', 'in_review') THEN r.submitted_at END ASC,
                    r.submitted_at DESC
           LIMIT $2"#,
        open_only,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn of_member(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        r#"SELECT r.id, r.kind, r.member_id, m.surname || ' ' || m.name AS "member_name!", r.requested_by,
                  u.email AS requester_email, r.state, r.subject, r.payload, r.submitted_at
           FROM requests r JOIN members m ON m.id = r.member_id JOIN users u ON u.id = r.requested_by
           WHERE r.member_id = $1 ORDER BY r.id DESC"#,
        member_id
    )
    .fetch_all(&mut *conn)
    .await
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: OffsetDateTime,
    pub by_email: Option<String>,
    pub note: String,
}

pub async fn events(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.from_state, e.to_state, e.at, u.email AS "by_email?", e.note
           FROM request_events e LEFT JOIN users u ON u.id = e.by_user
           WHERE e.request_id = $1 ORDER BY e.id"#,
        request_id
    )
    .fetch_all(&mut *conn)
    .await
}

/// Whether the member already has an open request of this kind.
pub async fn has_open(conn: &mut PgConnection, member_id: i64, kind: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS(SELECT 1 FROM requests WHERE member_id = $1 AND kind = $2
                         AND state IN ('submitted', 'in_review')) AS "e!""#,
        member_id,
        kind
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_message(
    conn: &mut PgConnection,
    request_id: i64,
    author_id: i64,
    from_staff: bool,
    body: &str,
    at: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO request_messages (request_id, author_id, from_staff, body, at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        request_id,
        author_id,
        from_staff,
        body,
        at
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn insert_attachment(
    conn: &mut PgConnection,
    message_id: i64,
    file: &super::attachments::Checked,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO request_attachments (message_id, file_name, content_type, size_bytes, sha256, content)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        message_id,
        file.file_name,
        file.file_type.mime(),
        file.bytes.len() as i32,
        &file.sha256[..],
        file.bytes
    )
    .fetch_one(&mut *conn)
    .await
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub from_staff: bool,
    pub author_name: String,
    pub body: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub sha256: Vec<u8>,
}

pub async fn messages(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.from_staff, u.display_name AS author_name, m.body, m.at
           FROM request_messages m JOIN users u ON u.id = m.author_id
           WHERE m.request_id = $1 ORDER BY m.id"#,
        request_id
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn attachments(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<AttachmentRow>> {
    sqlx::query_as!(
        AttachmentRow,
        r#"SELECT a.id, a.message_id, a.file_name, a.content_type, a.size_bytes, a.sha256
           FROM request_attachments a JOIN request_messages m ON m.id = a.message_id
           WHERE m.request_id = $1 ORDER BY a.id"#,
        request_id
    )
    .fetch_all(&mut *conn)
    .await
}

pub struct AttachmentFile {
    pub file_name: String,
    pub content_type: String,
    pub content: Vec<u8>,
    /// The member whose pratica the file belongs to.
    pub member_id: i64,
}

pub async fn attachment_file(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<AttachmentFile>> {
    sqlx::query_as!(
        AttachmentFile,
        r#"SELECT a.file_name, a.content_type, a.content, r.member_id
           FROM request_attachments a JOIN request_messages m ON m.id = a.message_id
           JOIN requests r ON r.id = m.request_id
           WHERE a.id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await
}

/// The codice fiscale an account proved (SPID, CIE, card), if any.
pub async fn user_fiscal_code(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT fiscal_code FROM users WHERE id = $1", user_id)
        .fetch_one(conn)
        .await
}
