//! The JSON API (`/api/v1`). Later issues add resources, API keys and the OpenAPI document.

use axum::Json;
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::web::Ctx;

/// `GET /api/v1`: what this API is.
pub async fn index(ctx: Ctx) -> Json<Value> {
    Json(json!({
        "name": "ordo",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "v1",
        "order": ctx.state.config.order.name,
    }))
}

/// `GET /api/v1/me`: the logged-in person.
pub async fn me(ctx: Ctx) -> AppResult<Json<Value>> {
    let user = ctx.require_user()?;
    Ok(Json(json!({
        "email": user.email,
        "display_name": user.display_name,
        "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "second_factor": user.second_factor,
    })))
}
