//! Pages of the documents: `/verifica` (public), the card, the member's documents and the forms of
//! the certificate and cancellation requests.

use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::service::{self, DocKind};
use super::views::*;
use super::{member_docs, qr};
use crate::error::{AppError, AppResult, FieldError};
use crate::format::{rome_date, rome_datetime};
use crate::members::service as members;
use crate::web::{Ctx, download};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeQuery {
    codice: Option<String>,
}

/// `GET /verifica?codice=…`: the form, or a redirect to the code's page.
pub async fn verify_form(ctx: Ctx, Query(q): Query<CodeQuery>) -> AppResult<Response> {
    if let Some(code) = q.codice.as_deref().filter(|c| !c.trim().is_empty()) {
        let target = service::normalise_code(code).unwrap_or_else(|| "non-valido".into());
        return Ok(Redirect::to(&format!("/verifica/{target}")).into_response());
    }
    let layout = ctx.layout("Verifica di un documento").await?;
    Ok(VerifyPage::not_found(layout, String::new()).into_response())
}

/// `GET /verifica/{code}`: whether the document is authentic and still valid.
pub async fn verify(ctx: Ctx, Path(code): Path<String>) -> AppResult<Response> {
    let found = match service::normalise_code(&code) {
        Some(c) => service::verify(&ctx.state, &c).await?,
        None => None,
    };
    let layout = ctx.layout("Verifica di un documento").await?;
    let page = match found {
        Some(v) => VerifyPage {
            layout,
            asked: v.code,
            found: true,
            valid: v.invalid_because.is_none(),
            title: v.title,
            kind: v.kind.label().to_string(),
            issued: rome_datetime(v.issued_at),
            facts: v.facts,
            invalid_because: v.invalid_because.unwrap_or_default(),
        },
        None => {
            let page = VerifyPage::not_found(layout, code.chars().take(40).collect());
            return Ok((StatusCode::NOT_FOUND, page).into_response());
        }
    };
    Ok(page.into_response())
}

async fn my_member(ctx: &Ctx) -> AppResult<crate::members::MemberRow> {
    let user = ctx.require_user()?;
    let mut conn = ctx.state.pool.acquire().await?;
    members::member_of_user(&mut conn, user.id)
        .await?
        .ok_or_else(|| AppError::Conflict("Il tuo account non è collegato a una posizione nell'Albo.".into()))
}

/// The current card's document id, issuing a new one when what it shows changed.
async fn my_card(ctx: &Ctx) -> AppResult<(crate::members::MemberRow, i64)> {
    let member = my_member(ctx).await?;
    let mut tx = ctx.state.pool.begin().await?;
    let id = member_docs::card(&mut tx, &ctx.state, ctx.state.now(), &member).await?;
    tx.commit().await?;
    Ok((member, id))
}

/// An SVG document as an element to put in a page (without its XML declaration).
fn inline_svg(svg: String) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    }
}

/// `GET /portale/tesserino`: the card for the phone.
pub async fn card(ctx: Ctx) -> AppResult<Response> {
    let (m, id) = my_card(&ctx).await?;
    let mut conn = ctx.state.pool.acquire().await?;
    let docs = service::of_member(&mut conn, m.id).await?;
    let code = docs
        .iter()
        .find(|d| d.id == id)
        .map(|d| d.code.clone())
        .ok_or(AppError::NotFound)?;
    let sectors = m
        .sectors
        .iter()
        .map(|s| members::sector_name(&ctx.state.config.albo, s))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(CardPage {
        layout: ctx.layout("Tessera di iscrizione").await?,
        full_name: format!("{} {}", m.name, m.surname),
        number: m.registration_number.unwrap_or_default(),
        section: members::section_name(&ctx.state.config.albo, &m.section).to_string(),
        sectors,
        since: m
            .registration_date
            .map(crate::members::model::italian_date)
            .unwrap_or_default(),
        photo_id: m.photo_id,
        qr_svg: inline_svg(qr::svg(&service::verify_url(&ctx.state.config, &code))?),
        code,
        order_name: ctx.state.config.order.name.clone(),
    }
    .into_response())
}

/// `GET /portale/tesserino.pdf`
pub async fn card_pdf(ctx: Ctx) -> AppResult<Response> {
    let (m, id) = my_card(&ctx).await?;
    let (pdf, name) = service::pdf_for(&ctx.state, id, Some(m.id)).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

/// `POST /portale/autocertificazione`: a self-certification, at once.
pub async fn self_certification(ctx: Ctx) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let m = my_member(&ctx).await?;
    let mut tx = ctx.state.pool.begin().await?;
    let issued = member_docs::self_certification(&mut tx, &ctx.state, ctx.state.now(), &m, user.id).await?;
    tx.commit().await?;
    Ok(download::file(
        &format!("Autocertificazione {}.pdf", issued.code),
        "application/pdf",
        issued.pdf,
    ))
}

/// `GET /portale/documenti/{id}`: one of the member's documents.
pub async fn my_document(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let m = my_member(&ctx).await?;
    let (pdf, name) = service::pdf_for(&ctx.state, id, Some(m.id)).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

async fn documents_page(
    ctx: &Ctx,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<DocumentsPage> {
    let m = my_member(ctx).await?;
    let mut conn = ctx.state.pool.acquire().await?;
    let documents = service::of_member(&mut conn, m.id)
        .await?
        .into_iter()
        .filter(|d| DocKind::parse(&d.kind).is_some_and(|k| k != DocKind::Card))
        .map(|d| DocLine {
            id: d.id,
            title: d.title,
            code: d.code,
            issued: rome_date(d.issued_at),
            status: match d.revoked_at {
                Some(at) => format!("revocato il {}", rome_date(at)),
                None => "valido".into(),
            },
        })
        .collect();
    Ok(DocumentsPage {
        layout: ctx.layout("Certificati e documenti").await?,
        active: m.status == "active",
        cancellable: matches!(m.status.as_str(), "active" | "suspended"),
        documents,
        exemptions: ctx.state.config.payments.stamp_exemptions.clone(),
        stamp_duty: crate::format::euro(ctx.state.config.payments.stamp_duty),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

/// `GET /portale/documenti`
pub async fn documents(ctx: Ctx) -> AppResult<Response> {
    Ok(documents_page(&ctx, vec![], None).await?.into_response())
}

fn field(body: &[u8], name: &str) -> String {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn after(ctx: &Ctx, result: AppResult<i64>) -> AppResult<Response> {
    let (status, errors) = match result {
        Ok(id) => return Ok(Redirect::to(&format!("/portale/richieste?ok={id}")).into_response()),
        Err(AppError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, vec![FieldError::new("request", m)]),
        Err(e) => return Err(e),
    };
    Ok((status, documents_page(ctx, errors, None).await?).into_response())
}

/// `POST /portale/richieste/certificato`
pub async fn request_certificate(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let result = crate::requests::service::submit_certificate(
        &ctx.state,
        &user,
        &field(&body, "stamp"),
        &field(&body, "exemption"),
        &field(&body, "purpose"),
    )
    .await;
    after(&ctx, result).await
}

/// `POST /portale/richieste/cancellazione`
pub async fn request_cancellation(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let result =
        crate::requests::service::submit_cancellation(&ctx.state, &user, &field(&body, "reason")).await;
    after(&ctx, result).await
}
