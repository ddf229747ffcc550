//! Web plumbing shared by all modules: extractors, middleware, assets, error pages.

pub mod assets;
pub mod csrf;
pub mod ctx;
pub mod download;
pub mod errors;
pub mod headers;
pub mod metrics;
pub mod multipart;
pub mod session;

pub use ctx::{Ctx, Layout};

/// After any state-changing request, the cached public pages of this process may be stale: drop them.
pub async fn forget_public_pages(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let changes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(req).await;
    if changes {
        state.caches.public_pages.clear();
    }
    response
}
