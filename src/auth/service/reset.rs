//! Password reset by e-mail: a single-use link valid for a configured time.

use base64::Engine;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::Duration;

use super::{account_event, account_key, hash_blocking};
use crate::audit::{self, Actor};
use crate::auth::model::check_new_password;
use crate::auth::repo;
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::state::AppState;

// --- password reset by e-mail -----------------------------------------------------------------

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Sends a reset link if the account exists. Says nothing either way (the page is the same).
pub async fn request_password_reset(state: &AppState, email_raw: &str) -> AppResult<()> {
    let email = email_raw.trim().to_lowercase();
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let Some(user) = repo::find_by_email(&mut tx, &email).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let minutes = state.config.security.password_reset_minutes;
    repo::insert_reset_token(
        &mut tx,
        &token_hash(&token),
        user.id,
        now,
        now + Duration::minutes(minutes),
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        account_event(
            &Actor::user(user.id, &user.email),
            user.id,
            "auth.password_reset_requested",
            json!({}),
        ),
    )
    .await?;
    tx.commit().await?;
    let link = format!("{}/password/reimposta?token={token}", state.config.base());
    let body = format!(
        "Gentile {},\n\nabbiamo ricevuto una richiesta di reimpostare la password del tuo account presso {}.\n\
         Per scegliere una nuova password apri questo collegamento entro {minutes} minuti:\n\n{link}\n\n\
         Se non hai chiesto tu di reimpostare la password, ignora questo messaggio: la password attuale resta valida.\n",
        user.display_name, state.config.order.name
    );
    if let Err(e) = state
        .mailer
        .send(Mail {
            to: user.email.clone(),
            subject: "Reimpostazione della password".into(),
            body,
        })
        .await
    {
        tracing::error!(error = ?e, "password reset mail not sent");
    }
    Ok(())
}

/// Whether a reset token is still usable (for showing the form).
pub async fn reset_token_valid(state: &AppState, token: &str) -> AppResult<bool> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::reset_token_user(&mut conn, &token_hash(token), state.now())
        .await?
        .is_some())
}

pub async fn reset_password(state: &AppState, token: &str, new: &str, confirm: &str) -> AppResult<()> {
    let errors = check_new_password("new_password", new, confirm);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = hash_blocking(new.to_string()).await?;
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let Some(user_id) = repo::reset_token_user(&mut tx, &token_hash(token), now).await? else {
        return Err(AppError::BadRequest(
            "Il collegamento per reimpostare la password è scaduto o è già stato usato. Chiedine uno nuovo."
                .into(),
        ));
    };
    let user = repo::find_by_id(&mut tx, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    repo::set_password(&mut tx, user_id, &hash).await?;
    repo::spend_reset_tokens(&mut tx, user_id, now).await?;
    repo::clear_failures(&mut tx, &account_key(&user.email)).await?;
    audit::record(
        &mut tx,
        now,
        account_event(
            &Actor::user(user.id, &user.email),
            user.id,
            "auth.password_reset",
            json!({}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
