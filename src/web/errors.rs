//! Error pages. Any response with status ≥ 400 that a handler did not render itself (our `AppError`s,
//! extractor rejections, 404 fallbacks, 405, 413 from the body limit …) is rendered here: in the site
//! layout for pages, as JSON under `/api/`. Panics are caught outside and get a static page.

use std::any::Any;
use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::{ErrorInfo, FieldError, LoginRedirect};
use crate::state::AppState;
use crate::web::ctx::Layout;
use crate::web::session::CSRF_KEY;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub message: String,
    pub field_errors: Vec<FieldError>,
}

pub fn title_for(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Richiesta non valida",
            "La richiesta non è valida. Controlla i dati e riprova.",
        ),
        401 => ("Accesso richiesto", "Per vedere questa pagina devi accedere."),
        403 => ("Accesso negato", "Non hai i permessi per vedere questa pagina."),
        404 => (
            "Pagina non trovata",
            "La pagina che cerchi non esiste o è stata spostata.",
        ),
        405 => (
            "Operazione non consentita",
            "Questa pagina non accetta questo tipo di richiesta.",
        ),
        408 => (
            "Tempo scaduto",
            "La richiesta ha impiegato troppo tempo. Riprova.",
        ),
        413 => (
            "Dati troppo grandi",
            "I dati o i file inviati superano la dimensione massima consentita.",
        ),
        415 => (
            "Formato non supportato",
            "Il formato dei dati inviati non è supportato.",
        ),
        422 => ("Dati non validi", "Alcuni dati inviati non sono validi."),
        429 => (
            "Troppi tentativi",
            "Hai fatto troppi tentativi. Attendi e riprova.",
        ),
        503 => (
            "Servizio non disponibile",
            "Il servizio è momentaneamente non disponibile. Riprova tra poco.",
        ),
        s if s >= 500 => ("Errore interno", "Si è verificato un errore. Riprova più tardi."),
        _ => ("Errore", "La richiesta non può essere completata."),
    }
}

/// Marks an error response whose body is meant as it is (e.g. `/readyz`'s plain text for monitors).
#[derive(Debug, Clone, Copy)]
pub struct KeepBody;

fn already_rendered(response: &Response) -> bool {
    response.extensions().get::<KeepBody>().is_some()
        || response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
}

pub async fn render(State(state): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path() == "/api";
    let user = req.extensions().get::<CurrentUser>().cloned();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 || already_rendered(&response) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let info = parts.extensions.remove::<ErrorInfo>();
    if let Some(LoginRedirect(next)) = parts.extensions.remove::<LoginRedirect>() {
        if !is_api {
            let target = match next {
                Some(n) => format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
                ),
                None => "/login".to_string(),
            };
            return Redirect::to(&target).into_response();
        }
    }
    let (heading, default_message) = title_for(status);
    let message = info
        .as_ref()
        .and_then(|i| i.message.clone())
        .unwrap_or_else(|| default_message.to_string());
    let field_errors = info.map(|i| i.field_errors).unwrap_or_default();
    let mut out = if is_api {
        let body = serde_json::json!({
            "error": {
                "status": status.as_u16(),
                "title": heading,
                "message": message,
                "fields": field_errors.iter().map(|f| serde_json::json!({"field": f.field, "message": f.message})).collect::<Vec<_>>(),
            }
        });
        (status, axum::Json(body)).into_response()
    } else {
        let csrf = if user.is_some() {
            session
                .get::<String>(CSRF_KEY)
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        } else {
            String::new()
        };
        let layout = Layout::new(&state, heading.to_string(), user.as_ref(), csrf, &path);
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            heading: heading.into(),
            message,
            field_errors,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = ?e.to_string(), "error page failed to render");
                (status, Html(STATIC_500.to_string())).into_response()
            }
        }
    };
    // Keep the headers that tell the client what to do next.
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.remove(&name) {
            out.headers_mut().insert(name, v);
        }
    }
    out
}

const STATIC_500: &str = "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>Errore interno</title></head>\
<body><main><h1>Errore interno</h1><p>Si è verificato un errore. Riprova più tardi.</p></main></body></html>";

/// The page for a panic inside a handler: generic, no internals. The panic itself goes to the log.
pub fn panic_response(config: Arc<Config>) -> impl Fn(Box<dyn Any + Send + 'static>) -> Response + Clone {
    move |panic: Box<dyn Any + Send + 'static>| {
        let detail = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic payload".into());
        tracing::error!(panic = ?detail, "handler panicked");
        let html = render_bare(&config, StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = Response::new(Body::from(html));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }
}

/// An error page that needs nothing but the configuration.
fn render_bare(config: &Config, status: StatusCode) -> String {
    let (heading, message) = title_for(status);
    let o = &config.order;
    let layout = Layout {
        title: heading.into(),
        order_name: o.name.clone(),
        order_short_name: o.short_name.clone(),
        tagline: o.tagline.clone(),
        order_address: o.address.clone(),
        order_email: o.email.clone(),
        order_pec: o.pec.clone(),
        order_fiscal_code: o.fiscal_code.clone(),
        demo: o.demo,
        user: None,
        csrf_token: String::new(),
        path: String::new(),
    };
    ErrorPage {
        layout,
        status: status.as_u16(),
        heading: heading.into(),
        message: message.into(),
        field_errors: vec![],
    }
    .render()
    .unwrap_or_else(|_| STATIC_500.to_string())
}
