//! The rendiconto finanziario of a year (seed 004 art. 28): for every chapter, by titolo and categoria,
//! revenue first, the final allocation, what was assessed or committed and collected or paid on
//! competence, and the residui (at the start, collected or paid, left) apart; totals per title and per
//! side. As rows for a page, as CSV (the `csv` crate) and as PDF (the generic table template).

use rust_decimal::Decimal;

use super::repo::{self, RendicontoRow};
use crate::error::{AppError, AppResult};
use crate::format::euro;
use crate::state::AppState;

pub const HEADER: [&str; 11] = [
    "Entrata/Uscita",
    "Titolo",
    "Categoria",
    "Capitolo",
    "Denominazione",
    "Stanziamento definitivo",
    "Accertato/Impegnato",
    "Riscosso/Pagato",
    "Residui iniziali",
    "Residui riscossi/pagati",
    "Residui da riscuotere/pagare",
];

fn roman(title: i16) -> &'static str {
    ["", "I", "II", "III", "IV", "V"]
        .get(title as usize)
        .copied()
        .unwrap_or("?")
}

/// The rendiconto's lines: every chapter, then a total line per title and per side.
pub async fn rendiconto(state: &AppState, year: i32) -> AppResult<Vec<RendicontoRow>> {
    let mut conn = state.pool.acquire().await?;
    let rows = repo::rendiconto(&mut conn, year).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(rows)
}

fn total(side: &str, title: i16, name: String, rows: &[&RendicontoRow]) -> RendicontoRow {
    let sum = |f: fn(&RendicontoRow) -> Decimal| rows.iter().map(|r| f(r)).sum();
    RendicontoRow {
        side: side.to_string(),
        title,
        category: String::new(),
        code: String::new(),
        name,
        allocated: sum(|r| r.allocated),
        assessed: sum(|r| r.assessed),
        cashed: sum(|r| r.cashed),
        residui_start: sum(|r| r.residui_start),
        residui_cashed: sum(|r| r.residui_cashed),
    }
}

/// The table as text cells (amounts with two decimals, a dot, as spreadsheets read them when `plain`,
/// else Italian), chapters followed by the totals of their title and side.
pub fn table(rows: &[RendicontoRow], plain: bool) -> Vec<Vec<String>> {
    let money = |v: Decimal| if plain { format!("{:.2}", v) } else { euro(v) };
    let line = |r: &RendicontoRow| {
        vec![
            if r.side == "revenue" { "Entrata" } else { "Uscita" }.to_string(),
            roman(r.title).to_string(),
            r.category.clone(),
            r.code.clone(),
            r.name.clone(),
            money(r.allocated),
            money(r.assessed),
            money(r.cashed),
            money(r.residui_start),
            money(r.residui_cashed),
            money(r.residui_start - r.residui_cashed),
        ]
    };
    let mut out = vec![];
    for side in ["revenue", "expenditure"] {
        let of_side: Vec<&RendicontoRow> = rows.iter().filter(|r| r.side == side).collect();
        let mut titles: Vec<i16> = of_side.iter().map(|r| r.title).collect();
        titles.dedup();
        for t in titles {
            let of_title: Vec<&RendicontoRow> = of_side.iter().copied().filter(|r| r.title == t).collect();
            out.extend(of_title.iter().map(|r| line(r)));
            out.push(line(&total(
                side,
                t,
                format!("Totale titolo {}", roman(t)),
                &of_title,
            )));
        }
        let label = if side == "revenue" {
            "Totale entrate"
        } else {
            "Totale uscite"
        };
        out.push(line(&total(side, 0, label.to_string(), &of_side)));
    }
    out
}

/// The rendiconto as CSV (`;`, UTF-8 with BOM, amounts with a dot).
pub fn csv(rows: &[RendicontoRow]) -> AppResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(HEADER).map_err(AppError::internal)?;
    for r in table(rows, true) {
        w.write_record(&r).map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

/// The rendiconto as PDF (A4 landscape table).
pub async fn pdf(state: &AppState, year: i32, rows: &[RendicontoRow]) -> AppResult<Vec<u8>> {
    let data = serde_json::json!({
        "order": state.config.order.name,
        "title": format!("Rendiconto finanziario {year}"),
        "subtitle": "Gestione di competenza e dei residui per titolo, categoria e capitolo",
        "generated": crate::format::rome_datetime(state.now()),
        "header": HEADER,
        "rows": table(rows, false),
    });
    crate::pdf::render_blocking(include_str!("../../templates/pdf/table.typ"), data).await
}
