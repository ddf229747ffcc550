//! One error type for the whole app. Handlers return `Result<_, AppError>`; the response carries an
//! [`ErrorInfo`] extension and no body, and the error-page middleware (`web::errors`) renders it in the
//! site layout (HTML) or as JSON under `/api/`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A message for the user about one field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not logged in: HTML pages redirect to the login page, the API answers 401.
    #[error("authentication required")]
    Unauthenticated { next: Option<String> },
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A state-changing request without a valid CSRF token.
    #[error("csrf token missing or invalid")]
    Csrf,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many attempts")]
    TooManyRequests { retry_after_seconds: i64 },
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the error-page middleware needs to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub message: Option<String>,
    pub field_errors: Vec<FieldError>,
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(format!("session: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(detail) = &self {
            // Logged once, here; never shown to the user.
            tracing::error!(error = ?detail, "internal error");
        }
        let mut response = status.into_response();
        let info = match self {
            AppError::Unauthenticated { next } => {
                // The error middleware turns this into a redirect for HTML pages.
                response.extensions_mut().insert(LoginRedirect(next));
                ErrorInfo {
                    message: None,
                    field_errors: vec![],
                }
            }
            AppError::Validation(errors) => ErrorInfo {
                message: None,
                field_errors: errors,
            },
            AppError::Csrf => ErrorInfo {
                message: Some("Il modulo è scaduto o non è valido. Ricarica la pagina e riprova.".into()),
                field_errors: vec![],
            },
            AppError::BadRequest(m) | AppError::Conflict(m) => ErrorInfo {
                message: Some(m),
                field_errors: vec![],
            },
            AppError::TooManyRequests { retry_after_seconds } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_seconds.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                ErrorInfo {
                    message: Some(format!(
                        "Troppi tentativi non riusciti. Riprova tra {}.",
                        italian_duration(retry_after_seconds)
                    )),
                    field_errors: vec![],
                }
            }
            _ => ErrorInfo {
                message: None,
                field_errors: vec![],
            },
        };
        response.extensions_mut().insert(info);
        response
    }
}

/// Marks a 401 that, for an HTML page, becomes a redirect to `/login?next=…`.
#[derive(Debug, Clone)]
pub struct LoginRedirect(pub Option<String>);

/// "1 secondo", "5 secondi", "2 minuti" …
pub fn italian_duration(seconds: i64) -> String {
    let s = seconds.max(1);
    if s < 60 {
        if s == 1 {
            "1 secondo".into()
        } else {
            format!("{s} secondi")
        }
    } else {
        let m = (s + 59) / 60;
        if m == 1 {
            "1 minuto".into()
        } else {
            format!("{m} minuti")
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_italian() {
        assert_eq!(italian_duration(1), "1 secondo");
        assert_eq!(italian_duration(0), "1 secondo");
        assert_eq!(italian_duration(30), "30 secondi");
        assert_eq!(italian_duration(60), "1 minuto");
        assert_eq!(italian_duration(61), "2 minuti");
    }

    #[test]
    fn statuses() {
        assert_eq!(AppError::NotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            AppError::from(sqlx::Error::RowNotFound).status(),
            StatusCode::NOT_FOUND
        );
        let r = AppError::TooManyRequests {
            retry_after_seconds: 8,
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "8");
    }
}
