//! SQL for accounts. Every function takes `&mut PgConnection` so it joins the caller's transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::model::Role;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<OffsetDateTime>,
    pub totp_last_step: Option<i64>,
    pub session_epoch: i32,
    pub disabled_at: Option<OffsetDateTime>,
    pub roles: Vec<String>,
}

impl UserRow {
    pub fn roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| Role::parse(r)).collect()
    }
}

pub async fn find_by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT u.id, u.email, u.display_name, u.password_hash, u.totp_secret, u.totp_enabled_at,
                  u.totp_last_step, u.session_epoch, u.disabled_at,
                  COALESCE(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.id = $1 GROUP BY u.id"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await
}

pub async fn find_by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT u.id, u.email, u.display_name, u.password_hash, u.totp_secret, u.totp_enabled_at,
                  u.totp_last_step, u.session_epoch, u.disabled_at,
                  COALESCE(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.email = $1 GROUP BY u.id"#,
        email
    )
    .fetch_optional(&mut *conn)
    .await
}

pub async fn list(conn: &mut PgConnection) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT u.id, u.email, u.display_name, u.password_hash, u.totp_secret, u.totp_enabled_at,
                  u.totp_last_step, u.session_epoch, u.disabled_at,
                  COALESCE(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           GROUP BY u.id ORDER BY u.display_name, u.id"#
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    password_hash: Option<&str>,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        email,
        display_name,
        password_hash,
        now
    )
    .fetch_one(&mut *conn)
    .await
}

/// An account made by single sign-on: no password, known by its codice fiscale.
pub async fn insert_sso_user(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    fiscal_code: &str,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, fiscal_code, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        email,
        display_name,
        fiscal_code,
        now
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn grant_role(
    conn: &mut PgConnection,
    user_id: i64,
    role: Role,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        user_id,
        role.as_str(),
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_totp_secret(conn: &mut PgConnection, user_id: i64, secret: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET totp_secret = $2, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
        user_id,
        secret
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn enable_totp(
    conn: &mut PgConnection,
    user_id: i64,
    now: OffsetDateTime,
    step: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET totp_enabled_at = $2, totp_last_step = $3 WHERE id = $1 AND totp_secret IS NOT NULL",
        user_id,
        now,
        step
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `step` as used, atomically: false if it (or a later one) was already accepted. This is what
/// makes a TOTP code single-use, also across several app processes.
pub async fn accept_totp_step(conn: &mut PgConnection, user_id: i64, step: i64) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE users SET totp_last_step = $2
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        user_id,
        step
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn clear_totp(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: i64,
    hashes: &[Vec<u8>],
) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, h FROM UNNEST($2::BYTEA[]) AS h",
        user_id,
        hashes
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Spends a recovery code: true only the first time.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: i64,
    hash: &[u8],
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id,
        hash,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn unused_recovery_codes(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!" FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await
}

/// Sets the password and bumps the session epoch (every other session ends). Returns the new epoch.
pub async fn set_password(conn: &mut PgConnection, user_id: i64, hash: &str) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
        user_id,
        hash
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn set_email(conn: &mut PgConnection, user_id: i64, email: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE users SET email = $2 WHERE id = $1", user_id, email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn email_taken(conn: &mut PgConnection, email: &str, except: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS(SELECT 1 FROM users WHERE email = $1 AND id <> $2) AS "e!""#,
        email,
        except
    )
    .fetch_one(&mut *conn)
    .await
}

// --- login throttling -------------------------------------------------------------------------

/// The latest `locked_until` among the keys, if any is still locked at `now`.
pub async fn locked_until(
    conn: &mut PgConnection,
    keys: &[String],
    now: OffsetDateTime,
) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar!(
        "SELECT MAX(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > $2",
        keys,
        now
    )
    .fetch_one(&mut *conn)
    .await
}

/// Counts a failure for `key`; returns the new consecutive-failure count.
pub async fn record_failure(conn: &mut PgConnection, key: &str, now: OffsetDateTime) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "INSERT INTO login_throttle (key, failures, updated_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = $2
         RETURNING failures",
        key,
        now
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn lock_until(conn: &mut PgConnection, key: &str, until: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE login_throttle SET locked_until = $2 WHERE key = $1",
        key,
        until
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn clear_failures(conn: &mut PgConnection, key: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// --- password reset ---------------------------------------------------------------------------

pub async fn insert_reset_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    user_id: i64,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        token_hash,
        user_id,
        now,
        expires_at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The account a still-valid, unused token belongs to.
pub async fn reset_token_user(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT user_id FROM password_reset_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        token_hash,
        now
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Spends the token (and every other open token of the account).
pub async fn spend_reset_tokens(
    conn: &mut PgConnection,
    user_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
