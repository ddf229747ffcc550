//! Server-side sessions (tower-sessions over PostgreSQL) and the logged-in person loaded on every
//! request. The cookie holds only a random id; what it means lives in the `tower_sessions.session` table.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::auth::{self, CurrentUser};
use crate::config::Config;
use crate::error::AppError;
use crate::state::AppState;

pub const AUTH_KEY: &str = "auth";
pub const PENDING_KEY: &str = "pending_login";
pub const CSRF_KEY: &str = "csrf";

/// What the session remembers about a completed login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    /// Must equal the account's `session_epoch`: bumping it ends every session of the account.
    pub epoch: i32,
    /// Unix seconds of the login, for the absolute lifetime.
    pub auth_at: i64,
    /// Logged in with a strong method in one act (SPID level 2 or 3, a smart card): stands in for
    /// the second factor of staff accounts.
    #[serde(default)]
    pub strong: bool,
}

/// A password accepted, second factor still to come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub user_id: i64,
    pub at: i64,
    pub next: Option<String>,
    /// How the first step was done, for the audit entry ("spid+totp"); none: password.
    #[serde(default)]
    pub method: Option<String>,
}

pub fn layer(pool: sqlx::PgPool, config: &Config) -> SessionManagerLayer<PostgresStore> {
    let store = PostgresStore::new(pool);
    if !config.is_https() {
        tracing::warn!(
            base_url = ?config.base_url,
            "plain-HTTP mode: the session cookie is not Secure and has no __Host- prefix (development only)"
        );
    }
    SessionManagerLayer::new(store)
        .with_name(config.session_cookie_name())
        .with_secure(config.is_https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session.idle_timeout_minutes,
        )))
}

/// Middleware: turns the session into a [`CurrentUser`] request extension, or ends a session whose
/// account was disabled, whose epoch changed, or whose absolute lifetime is over.
pub async fn load_user(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    match session.get::<SessionAuth>(AUTH_KEY).await {
        Ok(Some(auth)) => match auth::current_user(&state, &auth).await {
            Ok(Some(user)) => {
                req.extensions_mut().insert(user);
            }
            Ok(None) => {
                if let Err(e) = session.flush().await {
                    return AppError::from(e).into_response();
                }
            }
            Err(e) => return e.into_response(),
        },
        Ok(None) => {}
        Err(e) => {
            // An unreadable session is treated as none.
            tracing::warn!(error = ?e.to_string(), "unreadable session discarded");
            let _ = session.flush().await;
        }
    }
    next.run(req).await
}

/// The client's address: the socket peer, or the X-Forwarded-For entry added by a trusted proxy.
pub fn client_ip(parts: &Parts, config: &Config) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !config.http.trusted_proxies.contains(&peer) {
        return peer;
    }
    // Walk X-Forwarded-For from the right, skipping our own proxies.
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !config.http.trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

pub fn current_user(parts: &Parts) -> Option<CurrentUser> {
    parts.extensions.get::<CurrentUser>().cloned()
}
