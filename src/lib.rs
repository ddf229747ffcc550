//! ordo: the online platform of an Italian professional order. See ARCHITECTURE.md for the map.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod documents;
pub mod error;
pub mod export;
pub mod format;
pub mod gdpr;
pub mod import;
pub mod ledger;
pub mod mail;
pub mod members;
pub mod ops;
pub mod pages;
pub mod payments;
pub mod pdf;
pub mod protocol;
pub mod requests;
pub mod router;
pub mod sso;
pub mod state;
pub mod video;
pub mod web;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request, StatusCode};
use axum::routing::MethodRouter;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::router::RouteSpec;
use crate::state::AppState;

/// The whole application. The only way `main` and the tests build it.
pub fn app(state: AppState) -> Router {
    AppBuilder::new(state).build()
}

/// Builds the app, optionally with extra routes (tests mount e.g. a panicking route).
pub struct AppBuilder {
    state: AppState,
    extra: Vec<(RouteSpec, MethodRouter<AppState>)>,
    unchecked: Option<Router<AppState>>,
}

impl AppBuilder {
    pub fn new(state: AppState) -> Self {
        AppBuilder {
            state,
            extra: vec![],
            unchecked: None,
        }
    }

    /// Adds a route with its permission, as if it were in the route table.
    pub fn route(mut self, spec: RouteSpec, method_router: MethodRouter<AppState>) -> Self {
        self.extra.push((spec, method_router));
        self
    }

    /// Merges routes that bypass the table: the permission guard must refuse them.
    pub fn unchecked(mut self, router: Router<AppState>) -> Self {
        self.unchecked = Some(router);
        self
    }

    pub fn build(self) -> Router {
        let state = self.state;
        let config = state.config.clone();
        let request_id = HeaderName::from_static("x-request-id");
        router::build(self.extra, self.unchecked)
            .fallback(|| async { AppError::NotFound })
            // Innermost first: each later layer wraps the ones above it.
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::forget_public_pages))
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::csrf::verify))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(config.http.request_timeout_seconds),
            ))
            .layer(RequestBodyLimitLayer::new(config.http.max_body_bytes))
            .layer(axum::extract::DefaultBodyLimit::max(config.http.max_body_bytes))
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::errors::render))
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::session::load_user))
            .layer(web::session::layer(state.pool.clone(), &config))
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::metrics::track))
            .layer(axum::middleware::from_fn_with_state(state.clone(), web::headers::set))
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = ?req.uri().path(), request_id = %id)
            }))
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
            .layer(CatchPanicLayer::custom(web::errors::panic_response(config)))
            .with_state(state)
    }
}
