//! GDPR art. 15 and 20: a person downloads everything ordo keeps about them, as JSON.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::web::Ctx;
use crate::{members, requests};

/// `GET /portale/i-miei-dati.json`: account, register entry with history and consents, requests.
pub async fn my_data(ctx: Ctx) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let member = members::service::export_mine(&ctx.state, &user).await?;
    let requests: Vec<Value> = match requests::service::mine(&ctx.state, &user).await? {
        Some((_, details)) => details
            .iter()
            .map(|d| {
                json!({
                    "id": d.request.id,
                    "kind": d.request.kind,
                    "subject": d.request.subject,
                    "state": d.request.state,
                    "submitted_at": d.request.submitted_at,
                    "content": d.request.payload,
                    "history": d.events.iter().map(|e| json!({
                        "state": e.to_state, "at": e.at, "by": e.by_email, "note": e.note,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
        None => vec![],
    };
    let body = json!({
        "generated_at": ctx.state.now(),
        "controller": ctx.state.config.order.name,
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "second_factor": user.second_factor,
        },
        "register": member,
        "requests": requests,
    });
    members::service::record_self_export(&ctx.state, &user).await?;
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"i-miei-dati.json\""),
    );
    Ok(response)
}
