//! The back office's list exports: CSV for spreadsheets, PDF for printing.

use axum::extract::Query;
use axum::response::Response;

use super::BackofficeQuery;
use crate::error::{AppError, AppResult, FieldError};
use crate::export::{Separator, to_csv};
use crate::members::model::{self, Status};
use crate::members::service::{self, Filter};
use crate::web::{Ctx, download};

const EXPORT_HEADER: [&str; 12] = [
    "Numero",
    "Data iscrizione",
    "Cognome",
    "Nome",
    "Codice fiscale",
    "Sezione",
    "Settori",
    "Domicilio professionale",
    "PEC",
    "E-mail",
    "Telefono",
    "Stato",
];

/// The members matching the filter, one line per member (the columns of [`EXPORT_HEADER`]).
async fn export_lines(ctx: &Ctx, filter: &Filter, max: Option<usize>) -> AppResult<Vec<Vec<String>>> {
    let albo = &ctx.state.config.albo;
    let mut lines = vec![];
    let mut offset = 0;
    loop {
        let (rows, more) = service::search(&ctx.state, filter, 5_000, offset).await?;
        offset += rows.len() as i64;
        for r in rows {
            lines.push(vec![
                r.registration_number.map(|n| n.to_string()).unwrap_or_default(),
                r.registration_date.map(model::italian_date).unwrap_or_default(),
                r.surname,
                r.name,
                r.fiscal_code,
                service::section_name(albo, &r.section).to_string(),
                r.sectors
                    .iter()
                    .map(|s| service::sector_name(albo, s))
                    .collect::<Vec<_>>()
                    .join(", "),
                model::format_address(
                    &r.domicile_address,
                    &r.domicile_cap,
                    &r.domicile_municipality,
                    &r.domicile_province,
                ),
                r.pec,
                r.email,
                r.phone,
                Status::parse(&r.status)
                    .map(|s| s.label())
                    .unwrap_or("")
                    .to_string(),
            ]);
        }
        if max.is_some_and(|m| lines.len() > m) || !more {
            break;
        }
    }
    Ok(lines)
}

pub async fn export_csv(ctx: Ctx, Query(q): Query<BackofficeQuery>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let filter = q.filter().map_err(AppError::Validation)?;
    let lines = export_lines(&ctx, &filter, None).await?;
    let count = lines.len();
    let bytes = to_csv(
        &EXPORT_HEADER,
        lines,
        Separator::from_param(q.separatore.as_deref()),
    )
    .map_err(AppError::internal)?;
    service::record_export(&ctx.state, &user, "csv", count).await?;
    Ok(download::file("iscritti.csv", "text/csv; charset=utf-8", bytes))
}

/// Most members a PDF list may hold: beyond it the CSV is the right tool.
const PDF_MAX_ROWS: usize = 3_000;

/// `GET /backoffice/iscritti/export.pdf`: the filtered list as an A4 landscape PDF.
pub async fn export_pdf(ctx: Ctx, Query(q): Query<BackofficeQuery>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let filter = q.filter().map_err(AppError::Validation)?;
    let lines = export_lines(&ctx, &filter, Some(PDF_MAX_ROWS)).await?;
    if lines.len() > PDF_MAX_ROWS {
        return Err(AppError::Validation(vec![FieldError::new(
            "export",
            format!(
                "L'elenco supera {PDF_MAX_ROWS} iscritti: restringi i filtri per il PDF oppure esporta in CSV."
            ),
        )]));
    }
    let count = lines.len();
    // The PDF keeps the columns a printed list needs (no e-mail or phone).
    let keep = [0usize, 2, 3, 4, 5, 7, 8, 11];
    let rows: Vec<Vec<String>> = lines
        .into_iter()
        .map(|l| keep.iter().map(|&i| l[i].clone()).collect())
        .collect();
    let data = serde_json::json!({
        "order": ctx.state.config.order.name,
        "title": "Elenco degli iscritti",
        "subtitle": format!("{count} iscritti{}", if q.query_string(None).is_empty() { String::new() } else { " (elenco filtrato)".into() }),
        "generated": crate::format::rome_datetime(ctx.state.now()),
        "header": keep.iter().map(|&i| EXPORT_HEADER[i]).collect::<Vec<_>>(),
        "rows": rows,
    });
    let pdf = crate::pdf::render_blocking(include_str!("../../../templates/pdf/table.typ"), data).await?;
    service::record_export(&ctx.state, &user, "pdf", count).await?;
    Ok(download::file("iscritti.pdf", "application/pdf", pdf))
}
