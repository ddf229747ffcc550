//! SQL of single sign-on: sent requests, used assertions, people by codice fiscale.

use sqlx::PgConnection;
use time::OffsetDateTime;

pub struct NewRequest<'a> {
    pub id: &'a str,
    pub protocol: &'a str,
    pub provider: &'a str,
    pub level: i16,
    pub comparison: &'a str,
    pub session_ref: &'a str,
    pub next: Option<&'a str>,
    pub secret: Option<serde_json::Value>,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub async fn insert_request(conn: &mut PgConnection, r: &NewRequest<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO sso_requests (id, protocol, provider, level, comparison, session_ref, next, created_at, expires_at, secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        r.id,
        r.protocol,
        r.provider,
        r.level,
        r.comparison,
        r.session_ref,
        r.next,
        r.now,
        r.expires_at,
        r.secret
    )
    .execute(&mut *conn)
    .await?;
    // Old rows are of no use to anyone: dropped as new ones come.
    sqlx::query!(
        "DELETE FROM sso_requests WHERE expires_at < $1",
        r.now - time::Duration::days(1)
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: String,
    pub provider: String,
    pub level: i16,
    pub session_ref: String,
    pub next: Option<String>,
    pub secret: Option<serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub identity: Option<serde_json::Value>,
    pub completed_at: Option<OffsetDateTime>,
}

/// The request, locked for the caller's transaction.
pub async fn request_for_update(
    conn: &mut PgConnection,
    protocol: &str,
    id: &str,
) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        "SELECT id, provider, level, session_ref, next, secret, created_at, expires_at, answered_at, identity, completed_at
         FROM sso_requests WHERE id = $1 AND protocol = $2 FOR UPDATE",
        id,
        protocol
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Marks the request answered (whatever the outcome): a request is answered once.
pub async fn mark_answered(conn: &mut PgConnection, id: &str, now: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!("UPDATE sso_requests SET answered_at = $2 WHERE id = $1", id, now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores the verified identity and the hash of the one-time completion token.
pub async fn set_identity(
    conn: &mut PgConnection,
    id: &str,
    identity: &serde_json::Value,
    completion_hash: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sso_requests SET identity = $2, completion_hash = $3 WHERE id = $1",
        id,
        identity,
        completion_hash
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The answered, not yet completed request whose completion token hashes to `hash`, locked.
pub async fn by_completion_for_update(
    conn: &mut PgConnection,
    hash: &[u8],
) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as!(
        RequestRow,
        "SELECT id, provider, level, session_ref, next, secret, created_at, expires_at, answered_at, identity, completed_at
         FROM sso_requests WHERE completion_hash = $1 FOR UPDATE",
        hash
    )
    .fetch_optional(&mut *conn)
    .await
}

pub async fn mark_completed(conn: &mut PgConnection, id: &str, now: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sso_requests SET completed_at = $2, completion_hash = NULL WHERE id = $1",
        id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records an assertion as used; false if it was already (a replay).
pub async fn first_use_of_assertion(
    conn: &mut PgConnection,
    issuer: &str,
    assertion_id: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> sqlx::Result<bool> {
    sqlx::query!(
        "DELETE FROM sso_assertions WHERE expires_at < $1",
        now - time::Duration::days(1)
    )
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query!(
        "INSERT INTO sso_assertions (issuer, assertion_id, seen_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        issuer,
        assertion_id,
        now,
        expires_at
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn user_by_fiscal_code(conn: &mut PgConnection, cf: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM users WHERE fiscal_code = $1", cf)
        .fetch_optional(&mut *conn)
        .await
}

pub struct MemberLink {
    pub id: i64,
    pub user_id: Option<i64>,
    pub email: String,
    pub pec: String,
    pub display_name: String,
}

pub async fn member_by_fiscal_code(conn: &mut PgConnection, cf: &str) -> sqlx::Result<Option<MemberLink>> {
    sqlx::query_as!(
        MemberLink,
        r#"SELECT id, user_id, email, pec, name || ' ' || surname AS "display_name!"
           FROM members WHERE fiscal_code = $1 FOR UPDATE"#,
        cf
    )
    .fetch_optional(&mut *conn)
    .await
}

pub async fn set_user_fiscal_code(conn: &mut PgConnection, user_id: i64, cf: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET fiscal_code = $2 WHERE id = $1 AND fiscal_code IS NULL",
        user_id,
        cf
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn email_free(conn: &mut PgConnection, email: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar!("SELECT 1 AS one FROM users WHERE email = $1", email)
            .fetch_optional(&mut *conn)
            .await?
            .is_none(),
    )
}

/// Ends every session of the person an IdP's NameID stood for (IdP-initiated single logout).
pub async fn end_sessions_of_name_id(conn: &mut PgConnection, idp: &str, name_id: &str) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE users SET session_epoch = session_epoch + 1
         WHERE fiscal_code IN (SELECT identity->>'fiscal_code' FROM sso_requests
                               WHERE provider = $1 AND identity->>'name_id' = $2 AND completed_at IS NOT NULL)",
        idp,
        name_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}
