//! The ledger's exports: budget against actual (CSV, PDF), the rendiconto finanziario (CSV, PDF), the
//! residui and the earmarked funds (CSV). Same figures as the pages, for spreadsheets and auditors.

use axum::extract::Path;
use axum::response::Response;

use super::analysis;
use super::controls;
use super::handlers::{cash_data, figures};
use crate::error::AppResult;
use crate::web::{Ctx, download};

/// `GET /backoffice/contabilita/{year}/confronto.csv`
pub async fn year_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = figures(&ctx, year).await?;
    let bytes = analysis::csv(&analysis::HEADER, analysis::table(&rows, true))?;
    Ok(download::file(
        &format!("previsioni-e-gestione-{year}.csv"),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

/// `GET /backoffice/contabilita/{year}/confronto.pdf`
pub async fn year_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = figures(&ctx, year).await?;
    let data = serde_json::json!({
        "order": ctx.state.config.order.name,
        "title": format!("Previsioni e gestione {year}"),
        "subtitle": "Stanziamenti, accertamenti e impegni, riscossioni e pagamenti di competenza per capitolo",
        "generated": crate::format::rome_datetime(ctx.state.now()),
        "header": analysis::HEADER,
        "rows": analysis::table(&rows, false),
    });
    let pdf = crate::pdf::render_blocking(include_str!("../../templates/pdf/table.typ"), data).await?;
    Ok(download::file(
        &format!("previsioni-e-gestione-{year}.pdf"),
        "application/pdf",
        pdf,
    ))
}

/// `GET /backoffice/contabilita/{year}/rendiconto.csv`
pub async fn rendiconto_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = super::report::rendiconto(&ctx.state, year).await?;
    let bytes = super::report::csv(&rows)?;
    Ok(download::file(
        &format!("rendiconto-{year}.csv"),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

/// `GET /backoffice/contabilita/{year}/rendiconto.pdf`
pub async fn rendiconto_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = super::report::rendiconto(&ctx.state, year).await?;
    let pdf = super::report::pdf(&ctx.state, year, &rows).await?;
    Ok(download::file(
        &format!("rendiconto-{year}.pdf"),
        "application/pdf",
        pdf,
    ))
}

/// `GET /backoffice/contabilita/{year}/residui.csv`
pub async fn residui_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let (_, residui) = cash_data(&ctx, year).await?;
    let rows = residui
        .iter()
        .map(|r| {
            vec![
                if r.kind == "accertamento" {
                    "attivo"
                } else {
                    "passivo"
                }
                .to_string(),
                r.chapter.clone(),
                r.party.clone(),
                r.reason.clone(),
                format!("{:.2}", r.amount),
                format!("{:.2}", r.cashed),
                format!("{:.2}", r.amount - r.cashed),
            ]
        })
        .collect();
    let header = [
        "Residuo",
        "Capitolo",
        "Debitore/Creditore",
        "Causale",
        "Importo",
        "Riscosso/Liquidato",
        "Da riscuotere/liquidare",
    ];
    let bytes = analysis::csv(&header, rows)?;
    Ok(download::file(
        &format!("residui-{year}.csv"),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

/// `GET /backoffice/contabilita/vincolati.csv`
pub async fn funds_csv(ctx: Ctx) -> AppResult<Response> {
    let funds = controls::funds(&ctx.state).await?;
    let header = [
        "CUP",
        "Finanziamento",
        "Ente finanziatore",
        "Finalità",
        "Importo concesso",
        "Accertato",
        "Riscosso",
        "Impegnato",
        "Liquidato",
        "Pagato",
        "Da impegnare",
    ];
    let rows = funds
        .iter()
        .map(|f| {
            let mut row = vec![
                f.fund.cup.clone(),
                f.fund.name.clone(),
                f.fund.grantor.clone(),
                f.fund.purpose.clone(),
            ];
            row.extend(
                [
                    f.fund.amount,
                    f.assessed,
                    f.collected,
                    f.committed,
                    f.liquidated,
                    f.paid,
                    f.available(),
                ]
                .iter()
                .map(|v| format!("{v:.2}")),
            );
            row
        })
        .collect();
    let bytes = analysis::csv(&header, rows)?;
    Ok(download::file(
        "fondi-vincolati.csv",
        "text/csv; charset=utf-8",
        bytes,
    ))
}
