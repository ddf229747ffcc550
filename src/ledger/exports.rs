//! The ledger's exports: budget against actual, the rendiconto finanziario, cash by month, the residui
//! and the earmarked funds, each as CSV (`;`, UTF-8 with BOM, amounts with a dot) and as PDF (the
//! generic table template, amounts the Italian way). Same figures as the pages.

use axum::extract::Path;
use axum::response::Response;
use rust_decimal::Decimal;

use super::analysis;
use super::controls;
use super::handlers::{cash_data, figures};
use crate::error::AppResult;
use crate::format::euro;
use crate::web::{Ctx, download};

/// A report as a table: the same for CSV (`plain` amounts) and PDF.
struct Table {
    stem: String,
    title: String,
    subtitle: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn money(plain: bool) -> impl Fn(Decimal) -> String {
    move |v| if plain { format!("{v:.2}") } else { euro(v) }
}

fn csv(t: Table) -> AppResult<Response> {
    let bytes = analysis::csv(&t.header, t.rows)?;
    Ok(download::file(
        &format!("{}.csv", t.stem),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

async fn pdf(ctx: &Ctx, t: Table) -> AppResult<Response> {
    let data = serde_json::json!({
        "order": ctx.state.config.order.name,
        "title": t.title,
        "subtitle": t.subtitle,
        "generated": crate::format::rome_datetime(ctx.state.now()),
        "header": t.header,
        "rows": t.rows,
    });
    let bytes = crate::pdf::render_blocking(include_str!("../../templates/pdf/table.typ"), data).await?;
    Ok(download::file(
        &format!("{}.pdf", t.stem),
        "application/pdf",
        bytes,
    ))
}

async fn budget(ctx: &Ctx, year: i32, plain: bool) -> AppResult<Table> {
    let rows = figures(ctx, year).await?;
    Ok(Table {
        stem: format!("previsioni-e-gestione-{year}"),
        title: format!("Previsioni e gestione {year}"),
        subtitle: "Stanziamenti, accertamenti e impegni, riscossioni e pagamenti di competenza per capitolo",
        header: analysis::HEADER.to_vec(),
        rows: analysis::table(&rows, plain),
    })
}

/// `GET /backoffice/contabilita/{year}/confronto.csv`
pub async fn year_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    csv(budget(&ctx, year, true).await?)
}

/// `GET /backoffice/contabilita/{year}/confronto.pdf`
pub async fn year_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let t = budget(&ctx, year, false).await?;
    pdf(&ctx, t).await
}

/// `GET /backoffice/contabilita/{year}/rendiconto.csv`
pub async fn rendiconto_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = super::report::rendiconto(&ctx.state, year).await?;
    let administration = super::report::administration_of(&ctx.state, year, &rows).await?;
    let bytes = super::report::csv(&rows, &administration)?;
    Ok(download::file(
        &format!("rendiconto-{year}.csv"),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

/// `GET /backoffice/contabilita/{year}/rendiconto.pdf`
pub async fn rendiconto_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let rows = super::report::rendiconto(&ctx.state, year).await?;
    let administration = super::report::administration_of(&ctx.state, year, &rows).await?;
    let bytes = super::report::pdf(&ctx.state, year, &rows, &administration).await?;
    Ok(download::file(
        &format!("rendiconto-{year}.pdf"),
        "application/pdf",
        bytes,
    ))
}

const MONTHS: [&str; 12] = [
    "Gennaio",
    "Febbraio",
    "Marzo",
    "Aprile",
    "Maggio",
    "Giugno",
    "Luglio",
    "Agosto",
    "Settembre",
    "Ottobre",
    "Novembre",
    "Dicembre",
];

pub(super) fn month_name(m: i32) -> &'static str {
    MONTHS.get((m - 1) as usize).copied().unwrap_or("?")
}

async fn cash(ctx: &Ctx, year: i32, plain: bool) -> AppResult<Table> {
    let (months, _) = cash_data(ctx, year).await?;
    let m = money(plain);
    let mut conn = ctx.state.pool.acquire().await?;
    let mut balance = super::repo::opening_cash(&mut conn, year)
        .await?
        .unwrap_or_default();
    let mut rows = vec![vec![
        "Fondo di cassa al 1° gennaio".to_string(),
        String::new(),
        String::new(),
        m(balance),
    ]];
    rows.extend(months.iter().map(|(month, collected, paid)| {
        balance += collected - paid;
        vec![
            month_name(*month).to_string(),
            m(*collected),
            m(*paid),
            m(balance),
        ]
    }));
    Ok(Table {
        stem: format!("cassa-{year}"),
        title: format!("Cassa {year}"),
        subtitle: "Riscossioni e pagamenti per mese (competenza e residui), saldo progressivo",
        header: vec!["Mese", "Riscossioni", "Pagamenti", "Saldo progressivo"],
        rows,
    })
}

/// `GET /backoffice/contabilita/{year}/cassa.csv`
pub async fn cash_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    csv(cash(&ctx, year, true).await?)
}

/// `GET /backoffice/contabilita/{year}/cassa.pdf`
pub async fn cash_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let t = cash(&ctx, year, false).await?;
    pdf(&ctx, t).await
}

async fn residui(ctx: &Ctx, year: i32, plain: bool) -> AppResult<Table> {
    let (_, residui) = cash_data(ctx, year).await?;
    let m = money(plain);
    let rows = residui
        .iter()
        .map(|r| {
            let kind = if r.kind == "accertamento" {
                "attivo"
            } else {
                "passivo"
            };
            vec![
                kind.to_string(),
                r.chapter.clone(),
                r.party.clone(),
                r.reason.clone(),
                m(r.amount),
                m(r.cashed),
                m(r.amount - r.cashed),
            ]
        })
        .collect();
    Ok(Table {
        stem: format!("residui-{year}"),
        title: format!("Residui {year}"),
        subtitle: "Residui attivi e passivi riportati dagli esercizi precedenti",
        header: vec![
            "Residuo",
            "Capitolo",
            "Debitore/Creditore",
            "Causale",
            "Importo",
            "Riscosso/Liquidato",
            "Da riscuotere/liquidare",
        ],
        rows,
    })
}

/// `GET /backoffice/contabilita/{year}/residui.csv`
pub async fn residui_csv(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    csv(residui(&ctx, year, true).await?)
}

/// `GET /backoffice/contabilita/{year}/residui.pdf`
pub async fn residui_pdf(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let t = residui(&ctx, year, false).await?;
    pdf(&ctx, t).await
}

async fn funds(ctx: &Ctx, plain: bool) -> AppResult<Table> {
    let m = money(plain);
    let rows = controls::funds(&ctx.state)
        .await?
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
                .map(&m),
            );
            row
        })
        .collect();
    Ok(Table {
        stem: "fondi-vincolati".into(),
        title: "Fondi vincolati".into(),
        subtitle: "Finanziamenti con vincolo di destinazione (CUP): dall'accertamento alla spesa",
        header: vec![
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
        ],
        rows,
    })
}

/// `GET /backoffice/contabilita/vincolati.csv`
pub async fn funds_csv(ctx: Ctx) -> AppResult<Response> {
    csv(funds(&ctx, true).await?)
}

/// `GET /backoffice/contabilita/vincolati.pdf`
pub async fn funds_pdf(ctx: Ctx) -> AppResult<Response> {
    let t = funds(&ctx, false).await?;
    pdf(&ctx, t).await
}
