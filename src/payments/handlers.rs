//! Pages of the payments: the member's positions and notices, the back office list, the annual fees,
//! the reconciliation import and the arrears.

use axum::extract::{Multipart, Path, Query, RawForm};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::reconcile::{self, ReconciliationFile};
use super::service;
pub use super::views::PositionLine;
use super::views::*;
use crate::error::{AppError, AppResult, FieldError};
use crate::members::service as members;
use crate::web::{Ctx, download, multipart};

async fn my_member_id(ctx: &Ctx) -> AppResult<i64> {
    let user = ctx.require_user()?;
    let mut conn = ctx.state.pool.acquire().await?;
    members::member_of_user(&mut conn, user.id)
        .await?
        .map(|m| m.id)
        .ok_or(AppError::NotFound)
}

/// `GET /portale/pagamenti`
pub async fn mine(ctx: Ctx) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let mut conn = ctx.state.pool.acquire().await?;
    let positions = match members::member_of_user(&mut conn, user.id).await? {
        Some(m) => service::of_member(&mut conn, m.id).await?,
        None => vec![],
    };
    Ok(MyPaymentsPage {
        layout: ctx.layout("Pagamenti").await?,
        positions: positions.iter().map(PositionLine::from).collect(),
    }
    .into_response())
}

/// `GET /portale/pagamenti/{id}/avviso.pdf`
pub async fn my_notice(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let member = my_member_id(&ctx).await?;
    let (pdf, name) = service::document(&ctx.state, id, Some(member), false).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

/// `GET /portale/pagamenti/{id}/ricevuta.pdf`
pub async fn my_receipt(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let member = my_member_id(&ctx).await?;
    let (pdf, name) = service::document(&ctx.state, id, Some(member), true).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

/// `GET /backoffice/pagamenti/{id}/avviso.pdf`
pub async fn staff_notice(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (pdf, name) = service::document(&ctx.state, id, None, false).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    tutte: Option<String>,
    ok: Option<String>,
    creata: Option<String>,
}

async fn page(
    ctx: &Ctx,
    unpaid_only: bool,
    errors: Vec<FieldError>,
    notice: Option<String>,
    report: Vec<ReportLine>,
) -> AppResult<PaymentsPage> {
    let positions = service::latest(&ctx.state, unpaid_only).await?;
    Ok(PaymentsPage {
        layout: ctx.layout("Pagamenti pagoPA").await?,
        positions: positions.iter().map(PositionLine::from).collect(),
        unpaid_only,
        year: crate::format::rome_year(ctx.state.now()),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
        report,
    })
}

/// `GET /backoffice/pagamenti`
pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let notice =
        q.ok.map(|n| format!("Quote annuali generate: {n} nuove posizioni."));
    Ok(page(&ctx, q.tutte.is_none(), vec![], notice, vec![])
        .await?
        .into_response())
}

/// `POST /backoffice/pagamenti/quote-annuali`
pub async fn annual_fees(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let year = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "year")
        .and_then(|(_, v)| v.trim().parse::<i32>().ok());
    let result = match year {
        Some(y) => service::generate_annual_fees(&ctx.state, &user.actor(), y).await,
        None => Err(AppError::Validation(vec![FieldError::new(
            "year",
            "Indica l'anno (es. 2027).",
        )])),
    };
    match result {
        Ok(n) => Ok(Redirect::to(&format!("/backoffice/pagamenti?ok={n}")).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, true, errors, None, vec![]).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `POST /backoffice/pagamenti/posizione`: a free-form fee.
pub async fn create_other(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let result = service::create_other(
        &ctx.state,
        &user.actor(),
        &field("fiscal_code"),
        &field("description"),
        &field("amount"),
        &field("due_date"),
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/backoffice/pagamenti?creata=1").into_response()),
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, true, errors, None, vec![]).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `POST /backoffice/pagamenti/riconciliazione` (multipart; CSRF token in the query string).
pub async fn reconcile_upload(ctx: Ctx, headers: HeaderMap, form: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, form).await?;
    let Some(upload) = form.files("file").next().filter(|f| !f.bytes.is_empty()) else {
        let errors = vec![FieldError::new(
            "file",
            "Scegli il file di rendicontazione (CSV).",
        )];
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, true, errors, None, vec![]).await?,
        )
            .into_response());
    };
    let file = ReconciliationFile {
        name: upload
            .file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect(),
        bytes: upload.bytes.clone(),
    };
    match reconcile::run(&ctx.state, &user.actor(), &file).await {
        Ok(r) => {
            let notice = format!(
                "Rendicontazione importata: {} pagamenti registrati, {} già presenti, {} rifiutati; {} \
                 contabilizzati in bilancio (accertamento e riscossione).",
                r.applied.len(),
                r.unchanged.len(),
                r.refused.len(),
                r.booked
            );
            let mut lines: Vec<ReportLine> = r
                .applied
                .iter()
                .map(|(l, n)| ReportLine {
                    line: *l,
                    notice_code: n.clone(),
                    outcome: "registrato".into(),
                })
                .chain(r.unchanged.iter().map(|(l, n)| ReportLine {
                    line: *l,
                    notice_code: n.clone(),
                    outcome: "già registrato: nessuna modifica".into(),
                }))
                .chain(r.refused.iter().map(|f| ReportLine {
                    line: f.line,
                    notice_code: f.notice_code.clone(),
                    outcome: format!("rifiutato: {}", f.reason),
                }))
                .collect();
            lines.sort_by_key(|l| l.line);
            Ok(page(&ctx, true, vec![], Some(notice), lines)
                .await?
                .into_response())
        }
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, true, errors, None, vec![]).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `GET /backoffice/pagamenti/morosi`
pub async fn arrears(ctx: Ctx) -> AppResult<Response> {
    let positions = service::arrears(&ctx.state).await?;
    let total: Decimal = positions.iter().map(|p| p.amount).sum();
    Ok(ArrearsPage {
        layout: ctx.layout("Morosità").await?,
        positions: positions.iter().map(PositionLine::from).collect(),
        total: crate::format::euro(total),
    }
    .into_response())
}
