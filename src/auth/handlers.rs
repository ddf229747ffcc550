//! Login, logout, second factor, account and password-reset pages. Thin: read the input, call the
//! service, render a page or redirect (303).

use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{Role, safe_next};
use super::service::{self, LoginError};
use super::views::*;
use crate::error::{AppError, AppResult, FieldError};
use crate::web::Ctx;
use crate::web::session::{AUTH_KEY, CSRF_KEY, PENDING_KEY, PendingLogin};

/// How long a password stays accepted while the second factor is awaited.
const PENDING_SECONDS: i64 = 300;

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn with_status(status: StatusCode, page: impl IntoResponse) -> Response {
    (status, page).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
    ok: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

async fn login_page(
    ctx: &Ctx,
    email: &str,
    next: Option<String>,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<LoginPage> {
    let choices = crate::sso::login_choices(&ctx.state, next.as_deref());
    Ok(LoginPage {
        layout: ctx.layout("Accedi").await?,
        csrf_token: ctx.csrf_token().await?,
        email: email.to_string(),
        spid_idps: choices.spid,
        cns: choices.cns,
        oidc_providers: choices.oidc,
        next: next.unwrap_or_default(),
        error,
        notice,
    })
}

#[tracing::instrument(skip_all)]
pub async fn login_form(ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult<Response> {
    if let Some(user) = &ctx.user {
        return Ok(see_other(user.landing()));
    }
    let notice = match q.ok.as_deref() {
        Some("reset") => Some("Password reimpostata: ora puoi accedere con la nuova password.".to_string()),
        Some("logout") => Some("Sei uscito dal servizio.".to_string()),
        _ => None,
    };
    Ok(login_page(&ctx, "", safe_next(q.next.as_deref()), None, notice)
        .await?
        .into_response())
}

/// Logs the person in: new session id, new CSRF token, audit entry. `strong`: the method itself
/// was a strong one (SPID level 2+, smart card), standing in for the second factor.
pub(crate) async fn complete_login(
    ctx: &Ctx,
    user: &super::repo::UserRow,
    next: Option<String>,
    method: &str,
    strong: bool,
) -> AppResult<Response> {
    ctx.session.cycle_id().await?;
    ctx.session.remove_value(PENDING_KEY).await?;
    ctx.session.remove_value(CSRF_KEY).await?;
    let auth = crate::web::session::SessionAuth {
        strong,
        ..service::session_auth_for(user, ctx.state.now())
    };
    ctx.session.insert(AUTH_KEY, auth.clone()).await?;
    service::record_login(&ctx.state, user, method).await?;
    let current = service::current_user(&ctx.state, &auth)
        .await?
        .ok_or(AppError::Unauthenticated { next: None })?;
    let landing = current.landing();
    // Staff without a second factor go to enrolment whatever `next` says.
    let to = if landing == "/account/totp" {
        landing.to_string()
    } else {
        next.unwrap_or_else(|| landing.to_string())
    };
    Ok(see_other(&to))
}

#[tracing::instrument(skip_all, fields(ip = %ctx.client_ip))]
pub async fn login_submit(ctx: Ctx, Form(form): Form<LoginForm>) -> AppResult<Response> {
    let next = safe_next(Some(form.next.as_str()).filter(|n| !n.is_empty()));
    if form.email.trim().is_empty() || form.password.is_empty() {
        let page = login_page(
            &ctx,
            &form.email,
            next,
            Some("Inserisci l'indirizzo e-mail e la password.".into()),
            None,
        )
        .await?;
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    match service::check_password(&ctx.state, &form.email, &form.password, ctx.client_ip).await {
        Ok(user) if user.totp_enabled_at.is_some() => {
            ctx.session.cycle_id().await?;
            ctx.session
                .insert(
                    PENDING_KEY,
                    PendingLogin {
                        user_id: user.id,
                        at: ctx.state.now().unix_timestamp(),
                        next,
                        method: None,
                    },
                )
                .await?;
            Ok(see_other("/login/otp"))
        }
        Ok(user) => complete_login(&ctx, &user, next, "password", false).await,
        Err(LoginError::Invalid) => {
            tracing::info!(email = ?form.email, "login failed");
            let page = login_page(
                &ctx,
                &form.email,
                next,
                Some("Indirizzo e-mail o password non corretti.".into()),
                None,
            )
            .await?;
            Ok(with_status(StatusCode::UNAUTHORIZED, page))
        }
        Err(LoginError::Other(AppError::TooManyRequests { retry_after_seconds })) => {
            throttled_login_page(&ctx, &form.email, next, retry_after_seconds).await
        }
        Err(LoginError::Other(e)) => Err(e),
    }
}

async fn throttled_login_page(
    ctx: &Ctx,
    email: &str,
    next: Option<String>,
    retry_after: i64,
) -> AppResult<Response> {
    let message = format!(
        "Troppi tentativi non riusciti. Per sicurezza riprova tra {}.",
        crate::error::italian_duration(retry_after)
    );
    let page = login_page(ctx, email, next, Some(message), None).await?;
    let mut response = with_status(StatusCode::TOO_MANY_REQUESTS, page);
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(response)
}

async fn pending_login(ctx: &Ctx) -> AppResult<Option<PendingLogin>> {
    let pending = ctx.session.get::<PendingLogin>(PENDING_KEY).await?;
    Ok(pending.filter(|p| ctx.state.now().unix_timestamp() - p.at <= PENDING_SECONDS))
}

async fn otp_page(ctx: &Ctx, error: Option<String>) -> AppResult<OtpPage> {
    Ok(OtpPage {
        layout: ctx.layout("Codice di verifica").await?,
        csrf_token: ctx.csrf_token().await?,
        error,
    })
}

pub async fn otp_form(ctx: Ctx) -> AppResult<Response> {
    if pending_login(&ctx).await?.is_none() {
        return Ok(see_other("/login"));
    }
    Ok(otp_page(&ctx, None).await?.into_response())
}

#[tracing::instrument(skip_all, fields(ip = %ctx.client_ip))]
pub async fn otp_submit(ctx: Ctx, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let Some(pending) = pending_login(&ctx).await? else {
        return Ok(see_other("/login"));
    };
    if form.code.trim().is_empty() {
        let page = otp_page(&ctx, Some("Inserisci il codice.".into())).await?;
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    match service::check_second_factor(&ctx.state, pending.user_id, &form.code, ctx.client_ip).await {
        Ok(user) => {
            complete_login(
                &ctx,
                &user,
                pending.next,
                pending.method.as_deref().unwrap_or("password+totp"),
                false,
            )
            .await
        }
        Err(LoginError::Invalid) => {
            let page = otp_page(
                &ctx,
                Some("Codice non valido o già usato. Attendi il codice successivo e riprova.".into()),
            )
            .await?;
            Ok(with_status(StatusCode::UNAUTHORIZED, page))
        }
        Err(LoginError::Other(AppError::TooManyRequests { retry_after_seconds })) => {
            let message = format!(
                "Troppi tentativi non riusciti. Per sicurezza riprova tra {}.",
                crate::error::italian_duration(retry_after_seconds)
            );
            let mut response = with_status(
                StatusCode::TOO_MANY_REQUESTS,
                otp_page(&ctx, Some(message)).await?,
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(response)
        }
        Err(LoginError::Other(e)) => Err(e),
    }
}

pub async fn logout(ctx: Ctx) -> AppResult<Response> {
    let sso: Option<crate::sso::slo::LogoutInfo> =
        ctx.session.get(crate::sso::handlers::SSO_LOGOUT_KEY).await?;
    // Deletes the server-side record: the old cookie is worthless afterwards.
    ctx.session.flush().await?;
    // A SPID session also ends at the IdP (single logout), which then comes back to /spid/slo.
    if let Some(info) = sso
        && let Some(response) = crate::sso::slo::start(&ctx, info).await?
    {
        return Ok(response);
    }
    Ok(see_other("/login?ok=logout"))
}

// --- TOTP enrolment ---------------------------------------------------------------------------

fn group_secret(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn enrol_page(ctx: &Ctx, error: Option<String>) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let e = service::begin_totp(&ctx.state, user).await?;
    Ok(TotpEnrolPage {
        layout: ctx.layout("Verifica in due passaggi").await?,
        csrf_token: ctx.csrf_token().await?,
        secret_grouped: group_secret(&e.secret),
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
        qr_png_base64: e.qr_png_base64,
        error,
    }
    .into_response())
}

pub async fn totp_page(ctx: Ctx) -> AppResult<Response> {
    if ctx.require_user()?.second_factor {
        return Ok(see_other("/account"));
    }
    enrol_page(&ctx, None).await
}

pub async fn totp_enrol(ctx: Ctx, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::confirm_totp(&ctx.state, &user, &form.code).await {
        Ok(codes) => {
            // A privilege change: new session id.
            ctx.session.cycle_id().await?;
            let continue_to = if user.principal().is_staff() {
                "/backoffice"
            } else if user
                .roles
                .iter()
                .any(|r| matches!(r, Role::Member | Role::Applicant))
            {
                "/portale"
            } else {
                "/account"
            };
            Ok(RecoveryCodesPage {
                layout: ctx.layout("Codici di recupero").await?,
                codes,
                continue_to: continue_to.to_string(),
            }
            .into_response())
        }
        Err(AppError::Validation(errors)) => {
            let message = errors.into_iter().next().map(|e| e.message);
            let mut response = enrol_page(&ctx, message).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(AppError::Conflict(_)) => Ok(see_other("/account")),
        Err(e) => Err(e),
    }
}

// --- account page -----------------------------------------------------------------------------

async fn account_page(
    ctx: &Ctx,
    notice: Option<String>,
    field_errors: Vec<FieldError>,
) -> AppResult<AccountPage> {
    let user = ctx.require_user()?;
    Ok(AccountPage {
        layout: ctx.layout("Il mio account").await?,
        csrf_token: ctx.csrf_token().await?,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        roles: user.roles.iter().map(|r| r.label()).collect(),
        second_factor: user.second_factor,
        unused_recovery_codes: service::unused_recovery_codes(&ctx.state, user.id).await?,
        notice,
        field_errors,
    })
}

pub async fn account(ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult<Response> {
    let notice = match q.ok.as_deref() {
        Some("password") => {
            Some("Password aggiornata. Le altre sessioni aperte sono state chiuse.".to_string())
        }
        Some("email") => Some("Indirizzo e-mail aggiornato.".to_string()),
        _ => None,
    };
    Ok(account_page(&ctx, notice, vec![]).await?.into_response())
}

/// Renders the account page again with the form's errors (422), or passes other errors on.
async fn account_errors(ctx: &Ctx, e: AppError) -> AppResult<Response> {
    match e {
        AppError::Validation(errors) => Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            account_page(ctx, None, errors).await?,
        )),
        other => Err(other),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordChangeForm {
    current_password: String,
    new_password: String,
    password_confirm: String,
}

pub async fn change_password(ctx: Ctx, Form(form): Form<PasswordChangeForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::change_password(
        &ctx.state,
        &user,
        &form.current_password,
        &form.new_password,
        &form.password_confirm,
        ctx.client_ip,
    )
    .await
    {
        Ok(epoch) => {
            let strong = ctx
                .session
                .get::<crate::web::session::SessionAuth>(AUTH_KEY)
                .await?
                .is_some_and(|a| a.strong);
            ctx.session.cycle_id().await?;
            ctx.session
                .insert(
                    AUTH_KEY,
                    crate::web::session::SessionAuth {
                        user_id: user.id,
                        epoch,
                        auth_at: user.auth_at,
                        strong,
                    },
                )
                .await?;
            Ok(see_other("/account?ok=password"))
        }
        Err(e) => account_errors(&ctx, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailChangeForm {
    current_password: String,
    new_email: String,
}

pub async fn change_email(ctx: Ctx, Form(form): Form<EmailChangeForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::change_email(
        &ctx.state,
        &user,
        &form.current_password,
        &form.new_email,
        ctx.client_ip,
    )
    .await
    {
        Ok(()) => Ok(see_other("/account?ok=email")),
        Err(e) => account_errors(&ctx, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordOnlyForm {
    current_password: String,
}

pub async fn totp_reset(ctx: Ctx, Form(form): Form<PasswordOnlyForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::reset_totp(&ctx.state, &user, &form.current_password, ctx.client_ip).await {
        Ok(()) => {
            ctx.session.cycle_id().await?;
            Ok(see_other("/account/totp"))
        }
        Err(e) => account_errors(&ctx, e).await,
    }
}

pub async fn recovery_regenerate(ctx: Ctx, Form(form): Form<PasswordOnlyForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::regenerate_recovery_codes(&ctx.state, &user, &form.current_password, ctx.client_ip).await {
        Ok(codes) => Ok(RecoveryCodesPage {
            layout: ctx.layout("Codici di recupero").await?,
            codes,
            continue_to: "/account".into(),
        }
        .into_response()),
        Err(e) => account_errors(&ctx, e).await,
    }
}

// --- password reset ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot_form(ctx: Ctx) -> AppResult<Response> {
    Ok(ForgotPage {
        layout: ctx.layout("Password dimenticata").await?,
        csrf_token: ctx.csrf_token().await?,
        sent: false,
    }
    .into_response())
}

pub async fn forgot_submit(ctx: Ctx, Form(form): Form<ForgotForm>) -> AppResult<Response> {
    if !form.email.trim().is_empty() {
        service::request_password_reset(&ctx.state, &form.email).await?;
    }
    // The same page whether or not the address has an account.
    Ok(ForgotPage {
        layout: ctx.layout("Password dimenticata").await?,
        csrf_token: ctx.csrf_token().await?,
        sent: true,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

pub async fn reset_form(ctx: Ctx, Query(q): Query<TokenQuery>) -> AppResult<Response> {
    let valid = !q.token.is_empty() && service::reset_token_valid(&ctx.state, &q.token).await?;
    Ok(ResetPage {
        layout: ctx.layout("Nuova password").await?,
        csrf_token: ctx.csrf_token().await?,
        token: q.token,
        valid,
        field_errors: vec![],
    }
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    new_password: String,
    password_confirm: String,
}

pub async fn reset_submit(ctx: Ctx, Form(form): Form<ResetForm>) -> AppResult<Response> {
    match service::reset_password(
        &ctx.state,
        &form.token,
        &form.new_password,
        &form.password_confirm,
    )
    .await
    {
        Ok(()) => Ok(see_other("/login?ok=reset")),
        Err(AppError::Validation(errors)) => Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetPage {
                layout: ctx.layout("Nuova password").await?,
                csrf_token: ctx.csrf_token().await?,
                token: form.token,
                valid: true,
                field_errors: errors,
            },
        )),
        Err(e) => Err(e),
    }
}

// --- back office: accounts --------------------------------------------------------------------

pub async fn users_page(ctx: Ctx) -> AppResult<Response> {
    let users = service::list_accounts(&ctx.state)
        .await?
        .into_iter()
        .map(|u| UserLine {
            roles: u.roles().iter().map(|r| r.label()).collect::<Vec<_>>().join(", "),
            second_factor: u.totp_enabled_at.is_some(),
            disabled: u.disabled_at.is_some(),
            email: u.email,
            display_name: u.display_name,
        })
        .collect();
    Ok(UsersPage {
        layout: ctx.layout("Account e ruoli").await?,
        users,
    }
    .into_response())
}
