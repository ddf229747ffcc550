//! Pages of the pratiche: the member's requests in the portal, the staff inbox and decisions.

use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{Action, CHANGEABLE_FIELDS, State};
use super::service::{self, Detail};
use super::views::*;
use crate::error::{AppError, AppResult, FieldError};
use crate::web::Ctx;

fn pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OkQuery {
    ok: Option<String>,
    tutte: Option<String>,
}

async fn my_page(ctx: &Ctx, errors: Vec<FieldError>, notice: Option<String>) -> AppResult<MyRequestsPage> {
    let user = ctx.require_user()?;
    let mine = service::mine(&ctx.state, user).await?;
    let (has_member, requests, fields, current_pec) = match &mine {
        Some((member, details)) => (
            true,
            details.iter().map(RequestView::from).collect(),
            CHANGEABLE_FIELDS
                .iter()
                .map(|(name, label)| Field {
                    name,
                    label,
                    value: member.contact_value(name).unwrap_or_default().to_string(),
                })
                .collect(),
            member.pec.clone(),
        ),
        None => (false, vec![], vec![], String::new()),
    };
    Ok(MyRequestsPage {
        layout: ctx.layout("Le mie richieste").await?,
        has_member,
        requests,
        fields,
        current_pec,
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

pub async fn my_requests(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice =
        q.ok.map(|n| format!("Richiesta inviata: pratica n. {n}. Riceverai un messaggio a ogni passaggio."));
    Ok(my_page(&ctx, vec![], notice).await?.into_response())
}

async fn after_submit(ctx: &Ctx, result: AppResult<i64>) -> AppResult<Response> {
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/portale/richieste?ok={id}")).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            my_page(ctx, errors, None).await?,
        )
            .into_response()),
        Err(AppError::Conflict(message)) => Ok((
            StatusCode::CONFLICT,
            my_page(ctx, vec![FieldError::new("request", message)], None).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

pub async fn submit_data_change(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let proposed: Vec<(String, String)> = pairs(&body)
        .into_iter()
        .filter(|(k, _)| CHANGEABLE_FIELDS.iter().any(|(f, _)| f == k))
        .collect();
    let result = service::submit_data_change(&ctx.state, &user, &proposed).await;
    after_submit(&ctx, result).await
}

pub async fn submit_pec(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let p = pairs(&body);
    let own = match value(&p, "mode") {
        Some("register") => Some(value(&p, "pec").unwrap_or_default().to_string()),
        Some("request") => None,
        _ => {
            return after_submit(
                &ctx,
                Err(AppError::Validation(vec![FieldError::new(
                    "mode",
                    "Scegli se registrare la tua PEC o chiederne una.",
                )])),
            )
            .await;
        }
    };
    if own.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return after_submit(
            &ctx,
            Err(AppError::Validation(vec![FieldError::new(
                "pec",
                "Indica l'indirizzo PEC da registrare.",
            )])),
        )
        .await;
    }
    let result = service::submit_pec(&ctx.state, &user, own.as_deref()).await;
    after_submit(&ctx, result).await
}

pub async fn inbox(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let all = q.tutte.is_some();
    let now = ctx.state.now();
    let lines = service::inbox(&ctx.state, !all)
        .await?
        .into_iter()
        .map(|r| InboxLine {
            id: r.id,
            kind: super::model::Kind::parse(&r.kind)
                .map(|k| k.label())
                .unwrap_or(""),
            member: r.member_name,
            submitted: crate::format::rome_datetime(r.submitted_at),
            age_days: (now - r.submitted_at).whole_days(),
            state: State::parse(&r.state).map(|s| s.label()).unwrap_or(""),
        })
        .collect();
    Ok(InboxPage {
        layout: ctx.layout("Pratiche").await?,
        lines,
        all,
    }
    .into_response())
}

async fn detail_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<RequestPage> {
    let d: Detail = service::detail(&ctx.state, id).await?;
    Ok(RequestPage {
        layout: ctx.layout(format!("Pratica n. {id}")).await?,
        r: RequestView::from(&d),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

pub async fn detail(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice =
        q.ok.map(|_| "Pratica aggiornata; l'iscritto è stato avvisato.".to_string());
    Ok(detail_page(&ctx, id, vec![], notice).await?.into_response())
}

pub async fn act(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let p = pairs(&body);
    let Some(action) = value(&p, "action").and_then(Action::parse) else {
        return Err(AppError::BadRequest("Operazione sconosciuta.".into()));
    };
    let result = service::act(
        &ctx.state,
        &user,
        id,
        action,
        value(&p, "note").unwrap_or_default(),
        value(&p, "pec"),
    )
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/backoffice/pratiche/{id}?ok=1")).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            detail_page(&ctx, id, errors, None).await?,
        )
            .into_response()),
        Err(AppError::Conflict(m)) => Ok((
            StatusCode::CONFLICT,
            detail_page(&ctx, id, vec![FieldError::new("action", m)], None).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `POST /portale/foto` (multipart; the CSRF token travels in the query string).
pub async fn submit_photo(
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > ctx.state.config.http.max_body_bytes) {
        return Err(AppError::PayloadTooLarge);
    }
    let mut upload: Option<Vec<u8>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(AppError::PayloadTooLarge),
            Err(_) => {
                return Err(AppError::BadRequest(
                    "Il modulo inviato non è leggibile: riprova.".into(),
                ));
            }
        };
        if field.name() == Some("photo") {
            match field.bytes().await {
                Ok(b) => upload = Some(b.to_vec()),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(AppError::PayloadTooLarge);
                }
                Err(_) => {
                    return Err(AppError::BadRequest(
                        "Il file non è arrivato per intero: riprova.".into(),
                    ));
                }
            }
        }
    }
    let result = service::submit_photo(&ctx.state, &user, &upload.unwrap_or_default()).await;
    after_submit(&ctx, result).await
}

fn jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /portale/foto/{id}`: one of the member's own photos (also while awaiting approval).
pub async fn my_photo(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    Ok(jpeg(
        crate::members::service::photo_bytes(&ctx.state, id, Some(&user)).await?,
    ))
}

/// `GET /backoffice/foto/{id}`: any photo, for the staff deciding on it.
pub async fn staff_photo(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    Ok(jpeg(
        crate::members::service::photo_bytes(&ctx.state, id, None).await?,
    ))
}
