//! Static files (our CSS/JS/images and the vendored Bootstrap Italia), embedded in the binary and served
//! under `/static/<version>/…`, where `<version>` is a hash of every embedded file: URLs change when any
//! asset changes, so responses can be cached for a year.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "static/"]
#[exclude = "*.map"]
pub struct Assets;

pub static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    let mut h = Sha256::new();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            h.update(name.as_bytes());
            h.update(file.metadata.sha256_hash());
        }
    }
    hex::encode(&h.finalize()[..6])
});

/// The public URL of an embedded file.
pub fn asset_url(path: &str) -> String {
    format!("/static/{}/{}", *ASSET_VERSION, path)
}

/// `GET /static/{*path}`: the first segment is the version.
pub async fn serve(Path(path): Path<String>) -> Response {
    let (version, file_path) = path.split_once('/').unwrap_or(("", path.as_str()));
    let Some(file) = Assets::get(file_path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = mime_guess::from_path(file_path).first_or_octet_stream();
    let cache = if version == ASSET_VERSION.as_str() {
        "public, max-age=31536000, immutable"
    } else {
        // An old or made-up version: serve the current file but do not let caches keep it.
        "no-cache"
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8]));
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    response
}

/// `GET /theme.css`: the order's colours from configuration, as CSS (no inline styles anywhere).
pub async fn theme(State(state): State<AppState>) -> Response {
    let primary = &state.config.order.primary_color;
    let css = format!(
        ":root {{ --ordo-primary: {primary}; --bs-primary: {primary}; }}\n\
         .it-header-center-wrapper, .it-header-navbar-wrapper {{ background-color: {primary}; }}\n\
         .btn-primary {{ background-color: {primary}; border-color: {primary}; }}\n\
         a.ordo-primary-link {{ color: {primary}; }}\n"
    );
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        css,
    )
        .into_response()
}

/// `GET /logo`: the configured logo file, or the built-in one.
pub async fn logo(State(state): State<AppState>) -> Response {
    let path = &state.config.order.logo_path;
    let (bytes, mime) = if path.is_empty() {
        match Assets::get("img/logo.svg") {
            Some(f) => (f.data.into_owned(), "image/svg+xml".to_string()),
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    } else {
        match tokio::fs::read(path).await {
            Ok(b) => (b, mime_guess::from_path(path).first_or_octet_stream().to_string()),
            Err(e) => {
                tracing::error!(error = ?e.to_string(), "cannot read order.logo_path");
                return StatusCode::NOT_FOUND.into_response();
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        bytes,
    )
        .into_response()
}
