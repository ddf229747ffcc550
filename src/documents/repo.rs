//! SQL of the issued documents and their revocations.

use sqlx::PgConnection;
use time::OffsetDateTime;

pub struct NewRow<'a> {
    pub code: &'a str,
    pub kind: &'a str,
    pub member_id: Option<i64>,
    pub title: &'a str,
    pub facts: &'a serde_json::Value,
    pub fingerprint: &'a str,
    pub pdf: &'a [u8],
    pub pdf_sha256: &'a [u8],
    pub request_id: Option<i64>,
    pub protocol_registration_id: Option<i64>,
    pub payment_position_id: Option<i64>,
    pub ledger_entry_id: Option<i64>,
    pub issued_at: OffsetDateTime,
    pub issued_by: Option<i64>,
}

pub async fn insert(conn: &mut PgConnection, r: &NewRow<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO issued_documents (code, kind, member_id, title, facts, fingerprint, pdf, pdf_sha256,
             request_id, protocol_registration_id, payment_position_id, ledger_entry_id, issued_at, issued_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        r.code,
        r.kind,
        r.member_id,
        r.title,
        r.facts,
        r.fingerprint,
        r.pdf,
        r.pdf_sha256,
        r.request_id,
        r.protocol_registration_id,
        r.payment_position_id,
        r.ledger_entry_id,
        r.issued_at,
        r.issued_by
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub member_id: Option<i64>,
    pub title: String,
    pub facts: serde_json::Value,
    pub fingerprint: String,
    pub issued_at: OffsetDateTime,
    pub request_id: Option<i64>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoke_reason: Option<String>,
    pub member_status: Option<String>,
}

/// Documents with their revocation and the member's current status, filtered by `$where`.
macro_rules! select_documents {
    ($where:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            DocumentRow,
            r#"SELECT d.id, d.code, d.kind, d.member_id, d.title, d.facts, d.fingerprint, d.issued_at, d.request_id,
                      r.revoked_at AS "revoked_at?", r.reason AS "revoke_reason?", m.status AS "member_status?"
               FROM issued_documents d
               LEFT JOIN document_revocations r ON r.document_id = d.id
               LEFT JOIN members m ON m.id = d.member_id
               WHERE "# + $where,
            $($arg),*
        )
    };
}

pub async fn by_code(conn: &mut PgConnection, code: &str) -> sqlx::Result<Option<DocumentRow>> {
    select_documents!("d.code = $1", code).fetch_optional(conn).await
}

/// The member's documents, newest first (payment notices and receipts are on the payments page).
pub async fn of_member(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Vec<DocumentRow>> {
    select_documents!(
        "d.member_id = $1 AND d.payment_position_id IS NULL ORDER BY d.id DESC",
        member_id
    )
    .fetch_all(conn)
    .await
}

/// The member's newest card that is not revoked.
pub async fn current_card(
    conn: &mut PgConnection,
    member_id: i64,
) -> sqlx::Result<Option<(i64, String, String)>> {
    let row = sqlx::query!(
        "SELECT d.id, d.code, d.fingerprint FROM issued_documents d
         WHERE d.member_id = $1 AND d.kind = 'card'
           AND NOT EXISTS (SELECT 1 FROM document_revocations r WHERE r.document_id = d.id)
         ORDER BY d.id DESC LIMIT 1",
        member_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.code, r.fingerprint)))
}

pub async fn pdf(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(Vec<u8>, String, String)>> {
    let row = sqlx::query!("SELECT pdf, kind, code FROM issued_documents WHERE id = $1", id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| (r.pdf, r.kind, r.code)))
}

/// (member, kind) of a document, for the ownership check.
pub async fn owner(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Option<i64>>> {
    sqlx::query_scalar!("SELECT member_id FROM issued_documents WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}

/// The document of a payment position (notice or receipt), if issued.
pub async fn of_position(conn: &mut PgConnection, position_id: i64, kind: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM issued_documents WHERE payment_position_id = $1 AND kind = $2",
        position_id,
        kind
    )
    .fetch_optional(conn)
    .await
}

pub async fn revoke(
    conn: &mut PgConnection,
    id: i64,
    at: OffsetDateTime,
    reason: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO document_revocations (document_id, revoked_at, reason) VALUES ($1, $2, $3)
         ON CONFLICT (document_id) DO NOTHING",
        id,
        at,
        reason
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The document of a ledger entry (the incasso receipt of a riscossione), if issued.
pub async fn of_ledger_entry(conn: &mut PgConnection, entry_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM issued_documents WHERE ledger_entry_id = $1",
        entry_id
    )
    .fetch_optional(conn)
    .await
}
