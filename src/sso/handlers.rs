//! The SPID routes. `/spid/metadata`, `/spid/login`, `/spid/acs` and `/spid/slo` are registered with
//! AgID: keep them stable. `/spid/completa` finishes a login in the browser's own session (the ACS
//! POST comes cross-site, without the SameSite=Lax session cookie).

use axum::Form;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::saml::Sp;
use super::saml::messages::Outgoing;
use super::service::{self, AcsRefusal};
use super::slo;
use super::views::{PostBindingPage, RefusedPage};
use crate::auth::model::safe_next;
use crate::error::{AppError, AppResult};
use crate::web::Ctx;

/// The session key of the secret that ties a sent request to this browser.
pub const SSO_SECRET_KEY: &str = "sso_secret";
/// The session key of what single logout needs (IdP, NameID, session index).
pub const SSO_LOGOUT_KEY: &str = "sso_logout";

pub(crate) fn sp(ctx: &Ctx) -> AppResult<&Sp> {
    ctx.state.spid.as_deref().ok_or(AppError::NotFound)
}

pub async fn metadata(ctx: Ctx) -> AppResult<Response> {
    let sp = sp(&ctx)?;
    let xml = super::saml::messages::metadata(sp, &ctx.state.config).map_err(AppError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        )],
        xml,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    idp: String,
    next: Option<String>,
}

/// A 302 (the SAML HTTP-Redirect binding asks for it, and spid-sp-test checks it).
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => AppError::internal("redirect location is not a header value").into_response(),
    }
}

/// Sends the person to the chosen IdP with a signed AuthnRequest.
pub async fn login(ctx: Ctx, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    let sp = sp(&ctx)?;
    if q.idp.trim().is_empty() {
        return Err(AppError::BadRequest(
            "Scegli il gestore di identità SPID con cui accedere.".into(),
        ));
    }
    let next = safe_next(q.next.as_deref());
    let started = service::start_saml(&ctx.state, sp, q.idp.trim(), next.as_deref()).await?;
    ctx.session.insert(SSO_SECRET_KEY, started.session_secret).await?;
    outgoing_response(&ctx, started.outgoing).await
}

/// A message leaving by either binding: a 302, or a form submitted by static JS (or by hand).
pub(crate) async fn outgoing_response(ctx: &Ctx, outgoing: Outgoing) -> AppResult<Response> {
    match outgoing {
        Outgoing::Redirect(url) => Ok(found(&url)),
        Outgoing::Post {
            action,
            field,
            value,
            relay_state,
        } => {
            let origin = url::Url::parse(&action)
                .map(|u| u.origin().ascii_serialization())
                .map_err(|_| AppError::internal("IdP endpoint is not a URL"))?;
            let page = PostBindingPage {
                layout: ctx.layout("Accesso in corso").await?,
                action,
                field,
                value,
                relay_state,
            };
            let mut response = page.into_response();
            // The form goes to the IdP: only this page's CSP lets a form post there.
            let csp = crate::web::headers::CSP
                .replace("form-action 'self'", &format!("form-action 'self' {origin}"));
            if let Ok(v) = HeaderValue::from_str(&csp) {
                response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            Ok(response)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
pub struct AcsForm {
    SAMLResponse: String,
    RelayState: String,
}

pub(crate) async fn refused_page(ctx: &Ctx, refusal: AcsRefusal) -> AppResult<Response> {
    tracing::warn!(reason = %refusal.reason, ip = %ctx.client_ip, "single sign-on refused");
    let page = RefusedPage {
        layout: ctx.layout("Accesso non riuscito").await?,
        message: refusal.message,
    };
    Ok((StatusCode::FORBIDDEN, page).into_response())
}

/// The assertion consumer service (HTTP-POST binding).
pub async fn acs(ctx: Ctx, Form(form): Form<AcsForm>) -> AppResult<Response> {
    let sp = sp(&ctx)?;
    let _ = form.RelayState;
    if form.SAMLResponse.trim().is_empty() {
        return refused_page(
            &ctx,
            AcsRefusal {
                reason: "POST without SAMLResponse".into(),
                message: "La richiesta non contiene la risposta del gestore di identità.".into(),
            },
        )
        .await;
    }
    match service::consume_response(&ctx.state, sp, &form.SAMLResponse).await {
        Ok(token) => Ok(Redirect::to(&format!("/spid/completa?t={token}")).into_response()),
        Err(r) => refused_page(&ctx, r).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CompleteQuery {
    t: String,
}

/// Finishes the login in the session that sent the request.
pub async fn complete(ctx: Ctx, Query(q): Query<CompleteQuery>) -> AppResult<Response> {
    sp(&ctx)?;
    let secret: Option<String> = ctx.session.get(SSO_SECRET_KEY).await?;
    let done = match service::complete(&ctx.state, &q.t, secret.as_deref()).await {
        Ok(done) => done,
        Err(r) => return refused_page(&ctx, r).await,
    };
    finish_login(&ctx, done, true).await
}

/// Logs in a person an IdP vouched for (level 2+: the second factor too); SAML sessions remember
/// what single logout needs.
async fn finish_login(ctx: &Ctx, done: service::Completed, saml: bool) -> AppResult<Response> {
    let method = format!("{} L{}", done.identity.method, done.identity.level);
    let strong = done.identity.level >= 2;
    if !strong && done.user.totp_enabled_at.is_some() {
        // Level 1 is a password: an account with a second factor still needs its code.
        ctx.session.cycle_id().await?;
        ctx.session
            .insert(
                crate::web::session::PENDING_KEY,
                crate::web::session::PendingLogin {
                    user_id: done.user.id,
                    at: ctx.state.now().unix_timestamp(),
                    next: done.next,
                    method: Some(format!("{method}+totp")),
                },
            )
            .await?;
        return Ok(Redirect::to("/login/otp").into_response());
    }
    let response = crate::auth::handlers::complete_login(ctx, &done.user, done.next, &method, strong).await?;
    ctx.session.remove_value(SSO_SECRET_KEY).await?;
    if saml {
        ctx.session
            .insert(
                SSO_LOGOUT_KEY,
                slo::LogoutInfo {
                    idp: done.identity.provider.clone(),
                    name_id: done.identity.name_id.clone(),
                    session_index: done.identity.session_index.clone(),
                },
            )
            .await?;
    }
    Ok(response)
}

/// Sends the person to an OpenID Connect provider (CIE or another).
pub async fn oidc_login(
    ctx: Ctx,
    axum::extract::Path(provider): axum::extract::Path<String>,
    Query(q): Query<NextOnly>,
) -> AppResult<Response> {
    let oidc = ctx.state.oidc.clone().ok_or(AppError::NotFound)?;
    let next = safe_next(q.next.as_deref());
    let (url, secret) = service::start_oidc(&ctx.state, &oidc, &provider, next.as_deref()).await?;
    ctx.session.insert(SSO_SECRET_KEY, secret).await?;
    Ok(found(&url))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    error: String,
    error_description: String,
}

/// The OIDC redirect URI (`<base_url>/oidc/callback`).
pub async fn oidc_callback(ctx: Ctx, Query(q): Query<CallbackQuery>) -> AppResult<Response> {
    let oidc = ctx.state.oidc.clone().ok_or(AppError::NotFound)?;
    if !q.error.is_empty() || q.code.is_empty() || q.state.is_empty() {
        return refused_page(
            &ctx,
            AcsRefusal {
                reason: format!("OIDC error response: {} {}", q.error, q.error_description),
                message: super::saml::spid_errors::message(None),
            },
        )
        .await;
    }
    let secret: Option<String> = ctx.session.get(SSO_SECRET_KEY).await?;
    match service::finish_oidc(&ctx.state, &oidc, &q.state, &q.code, secret.as_deref()).await {
        Ok(done) => finish_login(&ctx, done, false).await,
        Err(r) => refused_page(&ctx, r).await,
    }
}

/// The relying party's public keys (private_key_jwt, request objects).
pub async fn oidc_jwks(ctx: Ctx) -> AppResult<Response> {
    let oidc = ctx.state.oidc.clone().ok_or(AppError::NotFound)?;
    let jwks = oidc.jwks().map_err(AppError::internal)?;
    Ok(axum::Json(jwks).into_response())
}

/// Single logout: LogoutResponse to our request, or an IdP's LogoutRequest (both bindings).
pub async fn slo_get(ctx: Ctx, RawQuery(query): RawQuery) -> AppResult<Response> {
    slo::incoming_redirect(&ctx, query.as_deref().unwrap_or_default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(non_snake_case)]
pub struct SloForm {
    SAMLRequest: String,
    SAMLResponse: String,
    RelayState: String,
}

pub async fn slo_post(ctx: Ctx, Form(form): Form<SloForm>) -> AppResult<Response> {
    slo::incoming_post(&ctx, &form.SAMLRequest, &form.SAMLResponse, &form.RelayState).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextOnly {
    next: Option<String>,
}

/// Smart-card (CNS/CRS) login: the certificate of this TLS connection, or the one a trusted proxy
/// passed in `cns.header` (ignored from any other address).
pub async fn cns_login(
    ctx: Ctx,
    peer: Option<axum::Extension<super::cns::PeerCertificates>>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<NextOnly>,
) -> AppResult<Response> {
    let cns = ctx.state.cns.clone().ok_or(AppError::NotFound)?;
    let from_tls = peer.map(|p| p.0.0).filter(|c| !c.is_empty());
    let socket_peer = connect
        .map(|c| c.0.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let config = &ctx.state.config;
    let chain = match from_tls {
        Some(chain) => chain,
        None if config.http.trusted_proxies.contains(&socket_peer) => {
            super::cns::from_proxy_header(&headers, &config.cns.header).unwrap_or_default()
        }
        None => {
            if headers.contains_key(config.cns.header.as_str()) {
                tracing::warn!(peer = %socket_peer, "client-certificate header from an untrusted address ignored");
            }
            Vec::new()
        }
    };
    let holder = match cns.verify(&chain, ctx.state.now()) {
        Ok(h) => h,
        Err(message) => {
            return refused_page(
                &ctx,
                AcsRefusal {
                    reason: "smart card refused".into(),
                    message,
                },
            )
            .await;
        }
    };
    let (user, identity) = service::login_card(&ctx.state, &holder).await?;
    let method = format!("{} L{}", identity.method, identity.level);
    crate::auth::handlers::complete_login(&ctx, &user, safe_next(q.next.as_deref()), &method, true).await
}

/// The relying party's Entity Configuration (`/.well-known/openid-federation`), when
/// `oidc.federation.enabled`.
pub async fn openid_federation(ctx: Ctx) -> AppResult<Response> {
    let oidc = ctx.state.oidc.clone().ok_or(AppError::NotFound)?;
    if !ctx.state.config.oidc.federation.enabled {
        return Err(AppError::NotFound);
    }
    let jwt = oidc
        .entity_configuration(&ctx.state.config, ctx.state.now())
        .map_err(AppError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/entity-statement+jwt"),
        )],
        jwt,
    )
        .into_response())
}
