//! CSRF protection for every state-changing request: a per-session token (synchroniser pattern)
//! that each form carries as `csrf_token` (or the `X-CSRF-Token` header, or `?csrf_token=` for
//! multipart forms), plus a same-origin check of the `Origin` header when the browser sends it.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::error::AppError;
use crate::state::AppState;
use crate::web::session::CSRF_KEY;

pub const FIELD: &str = "csrf_token";

/// Endpoints that receive posts from identity providers (SAML HTTP-POST binding): cross-site by
/// design, without our token; the message's signature and its request ID protect them.
const BINDING_ENDPOINTS: &[&str] = &["/spid/acs", "/spid/slo"];

fn token_from_pairs(data: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(data)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

pub async fn verify(State(state): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || BINDING_ENDPOINTS.contains(&req.uri().path())
    {
        return next.run(req).await;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        if origin.as_bytes() != state.config.base().as_bytes() {
            tracing::warn!(origin = ?origin, "cross-origin form post refused");
            return AppError::Csrf.into_response();
        }
    }
    let expected = match session.get::<String>(CSRF_KEY).await {
        Ok(Some(t)) => t,
        Ok(None) => return AppError::Csrf.into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let mut presented = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().query().and_then(|q| token_from_pairs(q.as_bytes())));
    let is_urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let req = if presented.is_none() && is_urlencoded {
        let (parts, body) = req.into_parts();
        let bytes = match to_bytes(body, state.config.http.max_body_bytes).await {
            Ok(b) => b,
            Err(_) => return AppError::PayloadTooLarge.into_response(),
        };
        presented = token_from_pairs(&bytes);
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    match presented {
        Some(p) if bool::from(p.as_bytes().ct_eq(expected.as_bytes())) => next.run(req).await,
        _ => AppError::Csrf.into_response(),
    }
}
