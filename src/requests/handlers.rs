//! Pages of the pratiche: the member's requests in the portal, the staff inbox and decisions.

use axum::extract::{Multipart, Path, Query, RawForm};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{Action, CHANGEABLE_FIELDS, Kind, State};
use super::service::{self, Detail};
use super::views::*;
use crate::error::{AppError, AppResult, FieldError};
use crate::web::multipart::{self, Form};
use crate::web::{Ctx, download};

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

/// Redirects after a successful form; on a refusal shows the form's page again with the messages
/// (422 for invalid input, 409 for a step the workflow does not allow).
async fn settle<P: IntoResponse>(
    result: AppResult<String>,
    page: impl AsyncFnOnce(Vec<FieldError>) -> AppResult<P>,
) -> AppResult<Response> {
    let (status, errors) = match result {
        Ok(to) => return Ok(Redirect::to(&to).into_response()),
        Err(AppError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, vec![FieldError::new("request", m)]),
        Err(e) => return Err(e),
    };
    Ok((status, page(errors).await?).into_response())
}

async fn after_submit(ctx: &Ctx, result: AppResult<i64>) -> AppResult<Response> {
    settle(
        result.map(|id| format!("/portale/richieste?ok={id}")),
        async |errors| my_page(ctx, errors, None).await,
    )
    .await
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
        &service::Resolution {
            number: value(&p, "resolution_number")
                .unwrap_or_default()
                .trim()
                .to_string(),
            date: value(&p, "resolution_date").and_then(crate::members::model::parse_date),
        },
    )
    .await;
    settle(
        result.map(|()| format!("/backoffice/pratiche/{id}?ok=1")),
        async |errors| detail_page(&ctx, id, errors, None).await,
    )
    .await
}

/// `POST /portale/foto` (multipart; the CSRF token travels in the query string).
pub async fn submit_photo(ctx: Ctx, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let upload = form
        .files("photo")
        .next()
        .map(|f| f.bytes.as_slice())
        .unwrap_or_default();
    let result = service::submit_photo(&ctx.state, &user, upload).await;
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

/// The conversations of the member with the secretariat, and the form to start one.
async fn messages_page(
    ctx: &Ctx,
    errors: Vec<FieldError>,
    subject: String,
    body: String,
) -> AppResult<MyMessagesPage> {
    let user = ctx.require_user()?;
    let mine = service::mine(&ctx.state, user).await?;
    let (has_member, threads) = match &mine {
        Some((_, details)) => (
            true,
            details
                .iter()
                .filter(|d| d.request.kind == Kind::Message.as_str())
                .map(RequestView::from)
                .collect(),
        ),
        None => (false, vec![]),
    };
    Ok(MyMessagesPage {
        layout: ctx.layout("Scrivi alla segreteria").await?,
        has_member,
        threads,
        csrf_token: ctx.csrf_token().await?,
        errors,
        subject,
        body,
    })
}

pub async fn my_messages(ctx: Ctx) -> AppResult<Response> {
    Ok(messages_page(&ctx, vec![], String::new(), String::new())
        .await?
        .into_response())
}

fn uploads(form: Form) -> (Vec<(String, String)>, Vec<multipart::Upload>) {
    let files = form.files.into_iter().filter(|f| f.field == "files").collect();
    (form.fields, files)
}

/// `POST /portale/messaggi` (multipart): a new conversation.
pub async fn start_conversation(ctx: Ctx, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let subject = form.value("subject").unwrap_or_default().to_string();
    let body = form.value("body").unwrap_or_default().to_string();
    let (_, files) = uploads(form);
    let result = service::start_conversation(&ctx.state, &user, &subject, &body, files).await;
    settle(
        result.map(|id| format!("/portale/messaggi/{id}?ok=1")),
        async |errors| messages_page(&ctx, errors, subject, body).await,
    )
    .await
}

async fn thread_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<ThreadPage> {
    let user = ctx.require_user()?;
    let d = service::my_detail(&ctx.state, user, id).await?;
    Ok(ThreadPage {
        layout: ctx.layout(format!("Pratica n. {id}")).await?,
        r: RequestView::from(&d),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

/// `GET /portale/messaggi/{id}`: one of the member's pratiche with its messages.
pub async fn my_thread(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice = q.ok.map(|_| "Messaggio inviato alla segreteria.".to_string());
    Ok(thread_page(&ctx, id, vec![], notice).await?.into_response())
}

async fn reply(
    ctx: &Ctx,
    id: i64,
    as_staff: bool,
    headers: HeaderMap,
    multipart: Multipart,
) -> AppResult<Result<(), AppError>> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let body = form.value("body").unwrap_or_default().to_string();
    let (_, files) = uploads(form);
    Ok(service::post_message(&ctx.state, &user, id, as_staff, &body, files).await)
}

/// `POST /portale/messaggi/{id}` (multipart): the member writes again in an open pratica.
pub async fn my_reply(
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    multipart: Multipart,
) -> AppResult<Response> {
    let result = reply(&ctx, id, false, headers, multipart).await?;
    settle(
        result.map(|()| format!("/portale/messaggi/{id}?ok=1")),
        async |errors| thread_page(&ctx, id, errors, None).await,
    )
    .await
}

/// `POST /backoffice/pratiche/{id}/messaggio` (multipart): the secretariat answers.
pub async fn staff_reply(
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    multipart: Multipart,
) -> AppResult<Response> {
    let result = reply(&ctx, id, true, headers, multipart).await?;
    settle(
        result.map(|()| format!("/backoffice/pratiche/{id}?ok=1")),
        async |errors| detail_page(&ctx, id, errors, None).await,
    )
    .await
}

/// `GET /portale/allegati/{id}`: an attachment of one of the member's own pratiche.
pub async fn my_attachment(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = service::attachment(&ctx.state, id, Some(&user)).await?;
    Ok(download::file(&f.file_name, &f.content_type, f.content))
}

/// `GET /backoffice/allegati/{id}`: any attachment, for the secretariat.
pub async fn staff_attachment(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let f = service::attachment(&ctx.state, id, None).await?;
    Ok(download::file(&f.file_name, &f.content_type, f.content))
}
