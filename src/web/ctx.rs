//! `Ctx`: what every page handler needs (state, session, current user, client address) and the
//! data of the common layout.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use tower_sessions::Session;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::assets;
use crate::web::session::{CSRF_KEY, client_ip, current_user};

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub user: Option<CurrentUser>,
    pub client_ip: IpAddr,
    pub path: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::Internal(format!("session layer missing: {msg}")))?;
        Ok(Ctx {
            state: state.clone(),
            session,
            user: current_user(parts),
            client_ip: client_ip(parts, &state.config),
            path: parts.uri.path().to_string(),
        })
    }
}

/// The logged-in person, or 401 (→ login page).
pub struct RequireUser(pub CurrentUser);

impl Ctx {
    pub fn require_user(&self) -> AppResult<&CurrentUser> {
        self.user.as_ref().ok_or(AppError::Unauthenticated {
            next: Some(self.path.clone()),
        })
    }

    /// The session's CSRF token, created on first need.
    pub async fn csrf_token(&self) -> AppResult<String> {
        ensure_csrf_token(&self.session).await
    }

    /// Layout data; includes the CSRF token for the logout form when someone is logged in.
    pub async fn layout(&self, title: impl Into<String>) -> AppResult<Layout> {
        let csrf = if self.user.is_some() {
            self.csrf_token().await?
        } else {
            String::new()
        };
        Ok(Layout::new(
            &self.state,
            title.into(),
            self.user.as_ref(),
            csrf,
            &self.path,
        ))
    }
}

pub async fn ensure_csrf_token(session: &Session) -> AppResult<String> {
    if let Some(t) = session.get::<String>(CSRF_KEY).await? {
        return Ok(t);
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

/// The person shown in the header.
#[derive(Debug, Clone)]
pub struct UserView {
    pub display_name: String,
    pub is_staff: bool,
    pub has_portal: bool,
}

/// Everything `base.html` needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub order_name: String,
    pub order_short_name: String,
    pub tagline: String,
    pub order_address: String,
    pub order_email: String,
    pub order_pec: String,
    pub order_fiscal_code: String,
    pub demo: bool,
    pub user: Option<UserView>,
    pub csrf_token: String,
    pub path: String,
}

impl Layout {
    pub fn new(
        state: &AppState,
        title: String,
        user: Option<&CurrentUser>,
        csrf_token: String,
        path: &str,
    ) -> Self {
        let o = &state.config.order;
        Layout {
            title,
            order_name: o.name.clone(),
            order_short_name: o.short_name.clone(),
            tagline: o.tagline.clone(),
            order_address: o.address.clone(),
            order_email: o.email.clone(),
            order_pec: o.pec.clone(),
            order_fiscal_code: o.fiscal_code.clone(),
            demo: o.demo,
            user: user.map(|u| UserView {
                display_name: u.display_name.clone(),
                is_staff: u.principal().is_staff(),
                has_portal: u.principal().decide(crate::auth::Permission::Portal)
                    == crate::auth::Decision::Allow,
            }),
            csrf_token,
            path: path.to_string(),
        }
    }

    /// URL of an embedded static file, with the content version.
    pub fn asset(&self, path: &str) -> String {
        assets::asset_url(path)
    }

    /// `aria-current="page"` support: whether the nav link is the current section.
    pub fn is_current(&self, prefix: &str) -> bool {
        if prefix == "/" {
            self.path == "/"
        } else {
            self.path.starts_with(prefix)
        }
    }
}
