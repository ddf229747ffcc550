//! Account services: login with password and second factor, TOTP enrolment, recovery codes,
//! password and e-mail changes, password reset. Each write is one transaction with its audit entry.

mod reset;

pub use reset::*;

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::model::{Email, Principal, Role, check_new_password};
use super::repo::{self, UserRow};
use super::{password, totp};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;
use crate::web::session::SessionAuth;

/// An audit entry about an account (entity "user").
pub(crate) fn account_event<'a>(
    actor: &'a Actor,
    user_id: i64,
    action: &'a str,
    details: serde_json::Value,
) -> audit::Event<'a> {
    audit::Event {
        actor,
        action,
        entity: "user",
        entity_id: Some(user_id.to_string()),
        details,
    }
}

/// The person behind the current request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub second_factor: bool,
    pub epoch: i32,
    pub auth_at: i64,
}

impl CurrentUser {
    pub fn principal(&self) -> Principal {
        Principal {
            roles: self.roles.clone(),
            second_factor: self.second_factor,
            authenticated: true,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.id, &self.email)
    }

    /// Where to go after login.
    pub fn landing(&self) -> &'static str {
        let p = self.principal();
        if p.is_staff() {
            if self.second_factor {
                "/backoffice"
            } else {
                "/account/totp"
            }
        } else if p.decide(super::Permission::Portal) == super::Decision::Allow {
            "/portale"
        } else {
            "/account"
        }
    }
}

fn to_current(row: UserRow, auth: &SessionAuth) -> CurrentUser {
    let auth_at = auth.auth_at;
    CurrentUser {
        id: row.id,
        roles: row.roles(),
        second_factor: row.totp_enabled_at.is_some() || auth.strong,
        email: row.email,
        display_name: row.display_name,
        epoch: row.session_epoch,
        auth_at,
    }
}

/// The user a session stands for, unless the account was disabled, its sessions were ended, or the
/// session outlived its absolute lifetime.
pub async fn current_user(state: &AppState, auth: &SessionAuth) -> AppResult<Option<CurrentUser>> {
    let mut conn = state.pool.acquire().await?;
    let Some(row) = repo::find_by_id(&mut conn, auth.user_id).await? else {
        return Ok(None);
    };
    let age = state.now().unix_timestamp() - auth.auth_at;
    let lifetime = state.config.session.absolute_lifetime_hours * 3600;
    if row.disabled_at.is_some() || row.session_epoch != auth.epoch || age > lifetime || age < -300 {
        return Ok(None);
    }
    Ok(Some(to_current(row, auth)))
}

pub async fn user_by_id(state: &AppState, id: i64) -> AppResult<Option<UserRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::find_by_id(&mut conn, id).await?)
}

pub fn session_auth_for(row: &UserRow, now: OffsetDateTime) -> SessionAuth {
    SessionAuth {
        user_id: row.id,
        epoch: row.session_epoch,
        auth_at: now.unix_timestamp(),
        strong: false,
    }
}

// --- throttling -------------------------------------------------------------------------------

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn ip_key(ip: std::net::IpAddr) -> String {
    format!("ip:{ip}")
}

async fn check_throttle(conn: &mut PgConnection, keys: &[String], now: OffsetDateTime) -> AppResult<()> {
    if let Some(until) = repo::locked_until(conn, keys, now).await? {
        return Err(AppError::TooManyRequests {
            retry_after_seconds: (until - now).whole_seconds().max(1),
        });
    }
    Ok(())
}

/// Counts a failure against `key` and, past the threshold, locks it for a doubling time.
async fn fail(conn: &mut PgConnection, state: &AppState, key: &str, threshold: i32) -> AppResult<()> {
    let now = state.now();
    let failures = repo::record_failure(conn, key, now).await?;
    if failures >= threshold {
        let exponent = (failures - threshold).min(20) as u32;
        let seconds = 2i64
            .saturating_pow(exponent)
            .min(state.config.security.max_lockout_seconds);
        repo::lock_until(conn, key, now + Duration::seconds(seconds)).await?;
    }
    Ok(())
}

async fn fail_login(state: &AppState, email: &str, ip: std::net::IpAddr) -> AppResult<()> {
    let mut conn = state.pool.acquire().await?;
    fail(
        &mut conn,
        state,
        &account_key(email),
        state.config.security.account_failures_before_lockout,
    )
    .await?;
    fail(
        &mut conn,
        state,
        &ip_key(ip),
        state.config.security.ip_failures_before_lockout,
    )
    .await
}

async fn verify_password_blocking(password: String, phc: Option<String>) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => password::verify(&password, &phc),
        None => {
            password::verify_dummy(&password);
            false
        }
    })
    .await
    .map_err(AppError::internal)
}

/// Why a login step failed.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong e-mail or password, or wrong code: one message for all, so nothing is revealed.
    Invalid,
    Other(AppError),
}

impl From<AppError> for LoginError {
    fn from(e: AppError) -> Self {
        LoginError::Other(e)
    }
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        LoginError::Other(e.into())
    }
}

/// First step: e-mail and password. Takes the same time whether or not the account exists.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
    ip: std::net::IpAddr,
) -> Result<UserRow, LoginError> {
    let email = email.trim().to_lowercase();
    let mut conn = state.pool.acquire().await?;
    check_throttle(&mut conn, &[account_key(&email), ip_key(ip)], state.now()).await?;
    let user = repo::find_by_email(&mut conn, &email).await?;
    drop(conn);
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = verify_password_blocking(password.to_string(), phc).await?;
    match user {
        Some(u) if ok && u.disabled_at.is_none() => {
            let mut conn = state.pool.acquire().await?;
            repo::clear_failures(&mut conn, &account_key(&email)).await?;
            Ok(u)
        }
        _ => {
            fail_login(state, &email, ip).await?;
            Err(LoginError::Invalid)
        }
    }
}

/// Second step: a TOTP code (single use) or a recovery code (single use).
pub async fn check_second_factor(
    state: &AppState,
    user_id: i64,
    code: &str,
    ip: std::net::IpAddr,
) -> Result<UserRow, LoginError> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let user = repo::find_by_id(&mut tx, user_id)
        .await?
        .ok_or(LoginError::Invalid)?;
    check_throttle(&mut tx, &[account_key(&user.email), ip_key(ip)], now).await?;
    let accepted = match (&user.totp_secret, user.totp_enabled_at) {
        (Some(secret), Some(_)) => {
            if totp::looks_like_recovery_code(code) {
                let used =
                    repo::use_recovery_code(&mut tx, user.id, &totp::recovery_code_hash(code), now).await?;
                if used {
                    audit::record(
                        &mut tx,
                        now,
                        account_event(
                            &Actor::user(user.id, &user.email),
                            user.id,
                            "auth.recovery_code_used",
                            json!({}),
                        ),
                    )
                    .await?;
                }
                used
            } else {
                match totp::check(secret, code, now.unix_timestamp().max(0) as u64) {
                    Some(step) => repo::accept_totp_step(&mut tx, user.id, step as i64).await?,
                    None => false,
                }
            }
        }
        _ => false,
    };
    if accepted {
        repo::clear_failures(&mut tx, &account_key(&user.email)).await?;
        tx.commit().await?;
        Ok(user)
    } else {
        tx.commit().await?;
        fail_login(state, &user.email, ip).await?;
        Err(LoginError::Invalid)
    }
}

/// Records a completed login in the audit log.
pub async fn record_login(state: &AppState, user: &UserRow, method: &str) -> AppResult<()> {
    let actor = Actor::user(user.id, &user.email);
    audit::record_alone(
        &state.pool,
        state.now(),
        account_event(&actor, user.id, "auth.login", json!({ "method": method })),
    )
    .await?;
    Ok(())
}

// --- TOTP enrolment ---------------------------------------------------------------------------

pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png_base64: String,
}

/// Starts (or resumes) TOTP enrolment: a secret is stored but not active until a code is verified.
pub async fn begin_totp(state: &AppState, user: &CurrentUser) -> AppResult<Enrolment> {
    let mut conn = state.pool.acquire().await?;
    let row = repo::find_by_id(&mut conn, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let secret = match (row.totp_secret, row.totp_enabled_at) {
        (Some(s), None) => s,
        (_, Some(_)) => {
            return Err(AppError::Conflict(
                "La verifica in due passaggi è già attiva.".into(),
            ));
        }
        (None, None) => {
            let s = totp::new_secret();
            repo::set_totp_secret(&mut conn, user.id, &s).await?;
            s
        }
    };
    let (otpauth_uri, qr_png_base64) = totp::enrolment(&secret, &user.email, &state.config.order.short_name)
        .ok_or_else(|| AppError::internal("cannot build the TOTP enrolment QR code"))?;
    Ok(Enrolment {
        secret,
        otpauth_uri,
        qr_png_base64,
    })
}

/// Activates TOTP once a code from the new secret is verified. Returns the ten recovery codes, shown once.
pub async fn confirm_totp(state: &AppState, user: &CurrentUser, code: &str) -> AppResult<Vec<String>> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let row = repo::find_by_id(&mut tx, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let secret = match (row.totp_secret, row.totp_enabled_at) {
        (Some(s), None) => s,
        (_, Some(_)) => {
            return Err(AppError::Conflict(
                "La verifica in due passaggi è già attiva.".into(),
            ));
        }
        (None, None) => return Err(AppError::BadRequest("Avvia di nuovo l'attivazione.".into())),
    };
    let Some(step) = totp::check(&secret, code, now.unix_timestamp().max(0) as u64) else {
        return Err(AppError::Validation(vec![FieldError::new(
            "code",
            "Il codice non è corretto. Controlla l'ora del telefono e inserisci il codice attuale.",
        )]));
    };
    repo::enable_totp(&mut tx, user.id, now, step as i64).await?;
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
    repo::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit::record(
        &mut tx,
        now,
        account_event(
            &user.actor(),
            user.id,
            "auth.totp_enabled",
            json!({ "recovery_codes": codes.len() }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

// --- changes that ask for the password again --------------------------------------------------

/// Checks the current password of a logged-in user; failures count towards the lockout.
async fn reauthenticate(
    state: &AppState,
    user: &CurrentUser,
    password: &str,
    ip: std::net::IpAddr,
) -> AppResult<()> {
    let mut conn = state.pool.acquire().await?;
    check_throttle(&mut conn, &[account_key(&user.email), ip_key(ip)], state.now()).await?;
    let row = repo::find_by_id(&mut conn, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    if verify_password_blocking(password.to_string(), row.password_hash).await? {
        Ok(())
    } else {
        fail_login(state, &user.email, ip).await?;
        Err(AppError::Validation(vec![FieldError::new(
            "current_password",
            "La password attuale non è corretta.",
        )]))
    }
}

/// Changes the password; every other session of the account ends. Returns the new session epoch.
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    current: &str,
    new: &str,
    confirm: &str,
    ip: std::net::IpAddr,
) -> AppResult<i32> {
    let errors = check_new_password("new_password", new, confirm);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    reauthenticate(state, user, current, ip).await?;
    let hash = hash_blocking(new.to_string()).await?;
    let mut tx = state.pool.begin().await?;
    let epoch = repo::set_password(&mut tx, user.id, &hash).await?;
    audit::record(
        &mut tx,
        state.now(),
        account_event(&user.actor(), user.id, "auth.password_changed", json!({})),
    )
    .await?;
    tx.commit().await?;
    Ok(epoch)
}

pub async fn change_email(
    state: &AppState,
    user: &CurrentUser,
    password: &str,
    new_email: &str,
    ip: std::net::IpAddr,
) -> AppResult<()> {
    let email = Email::parse("new_email", new_email).map_err(|e| AppError::Validation(vec![e]))?;
    reauthenticate(state, user, password, ip).await?;
    let mut tx = state.pool.begin().await?;
    if repo::email_taken(&mut tx, email.as_str(), user.id).await? {
        return Err(AppError::Validation(vec![FieldError::new(
            "new_email",
            "Questo indirizzo e-mail è già usato da un altro account.",
        )]));
    }
    repo::set_email(&mut tx, user.id, email.as_str()).await?;
    audit::record(
        &mut tx,
        state.now(),
        account_event(
            &user.actor(),
            user.id,
            "auth.email_changed",
            json!({ "before": { "email": user.email }, "after": { "email": email.as_str() } }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns TOTP off (to enrol a new device). Staff must enrol again before reaching the back office.
pub async fn reset_totp(
    state: &AppState,
    user: &CurrentUser,
    password: &str,
    ip: std::net::IpAddr,
) -> AppResult<()> {
    reauthenticate(state, user, password, ip).await?;
    let mut tx = state.pool.begin().await?;
    repo::clear_totp(&mut tx, user.id).await?;
    audit::record(
        &mut tx,
        state.now(),
        account_event(&user.actor(), user.id, "auth.totp_reset", json!({})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &CurrentUser,
    password: &str,
    ip: std::net::IpAddr,
) -> AppResult<Vec<String>> {
    if !user.second_factor {
        return Err(AppError::BadRequest(
            "Attiva prima la verifica in due passaggi.".into(),
        ));
    }
    reauthenticate(state, user, password, ip).await?;
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
    let mut tx = state.pool.begin().await?;
    repo::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit::record(
        &mut tx,
        state.now(),
        account_event(
            &user.actor(),
            user.id,
            "auth.recovery_codes_regenerated",
            json!({}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

pub async fn unused_recovery_codes(state: &AppState, user_id: i64) -> AppResult<i64> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::unused_recovery_codes(&mut conn, user_id).await?)
}

// --- accounts (CLI, demo, back office) --------------------------------------------------------

pub async fn hash_blocking(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

pub struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub roles: &'a [Role],
    /// Activate TOTP with this secret right away (demo accounts only).
    pub totp_secret: Option<&'a str>,
}

/// Creates an account inside the caller's transaction, with its audit entry.
pub async fn create_account(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    account: NewAccount<'_>,
) -> AppResult<i64> {
    let email = Email::parse("email", account.email).map_err(|e| AppError::Validation(vec![e]))?;
    let mut errors = check_new_password("password", account.password, account.password);
    if account.display_name.trim().is_empty() {
        errors.push(FieldError::new("display_name", "Indica il nome."));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if repo::find_by_email(conn, email.as_str()).await?.is_some() {
        return Err(AppError::Validation(vec![FieldError::new(
            "email",
            "Esiste già un account con questo indirizzo.",
        )]));
    }
    let hash = hash_blocking(account.password.to_string()).await?;
    let id = repo::insert(
        conn,
        email.as_str(),
        account.display_name.trim(),
        Some(&hash),
        now,
    )
    .await?;
    for role in account.roles {
        repo::grant_role(conn, id, *role, now).await?;
    }
    if let Some(secret) = account.totp_secret {
        repo::set_totp_secret(conn, id, secret).await?;
        repo::enable_totp(conn, id, now, 0).await?;
    }
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "user.create",
            entity: "user",
            entity_id: Some(id.to_string()),
            details: json!({
                "after": {
                    "email": email.as_str(),
                    "display_name": account.display_name.trim(),
                    "roles": account.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                }
            }),
        },
    )
    .await?;
    Ok(id)
}

pub async fn find_by_email(conn: &mut PgConnection, email: &str) -> AppResult<Option<UserRow>> {
    Ok(repo::find_by_email(conn, &email.trim().to_lowercase()).await?)
}

pub async fn list_accounts(state: &AppState) -> AppResult<Vec<UserRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::list(&mut conn).await?)
}
