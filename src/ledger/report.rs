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

/// The result of administration of a year (seed 004 art. 12 and 28), from the rendiconto's rows and
/// the cash fund at 1 January.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Administration {
    /// `None` when the cash fund at 1 January is not recorded (then counted as zero).
    pub opening_cash: Option<Decimal>,
    /// Riscossioni of the year, on competence and on residui.
    pub collected: Decimal,
    /// Pagamenti of the year, on competence and on residui.
    pub paid: Decimal,
    pub closing_cash: Decimal,
    /// What is still to be collected (competence and residui) at the year's end.
    pub residui_attivi: Decimal,
    /// What is still to be paid (competence net of economies, and residui) at the year's end.
    pub residui_passivi: Decimal,
    /// Closing cash + residui attivi − residui passivi: a surplus (avanzo) when ≥ 0.
    pub result: Decimal,
}

pub fn administration(opening_cash: Option<Decimal>, rows: &[RendicontoRow]) -> Administration {
    let (mut collected, mut paid, mut attivi, mut passivi) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for r in rows {
        let cash = r.cashed + r.residui_cashed;
        let left = r.assessed - r.cashed + r.residui_start - r.residui_cashed;
        if r.side == "revenue" {
            collected += cash;
            attivi += left;
        } else {
            paid += cash;
            passivi += left;
        }
    }
    let closing_cash = opening_cash.unwrap_or_default() + collected - paid;
    Administration {
        opening_cash,
        collected,
        paid,
        closing_cash,
        residui_attivi: attivi,
        residui_passivi: passivi,
        result: closing_cash + attivi - passivi,
    }
}

/// The result of administration of a year whose rendiconto is `rows`.
pub async fn administration_of(
    state: &AppState,
    year: i32,
    rows: &[RendicontoRow],
) -> AppResult<Administration> {
    let mut conn = state.pool.acquire().await?;
    let opening = repo::opening_cash(&mut conn, year).await?;
    Ok(administration(opening, rows))
}

/// The result of administration as lines of the rendiconto's table (label in the name column, the
/// amount in the first amount column).
pub fn administration_table(a: &Administration, plain: bool) -> Vec<Vec<String>> {
    let money = |v: Decimal| if plain { format!("{:.2}", v) } else { euro(v) };
    let opening = match a.opening_cash {
        Some(_) => "Fondo di cassa al 1° gennaio",
        None => "Fondo di cassa al 1° gennaio (non registrato)",
    };
    let result = if a.result < Decimal::ZERO {
        "Risultato di amministrazione (disavanzo)"
    } else {
        "Risultato di amministrazione (avanzo)"
    };
    [
        (opening, a.opening_cash.unwrap_or_default()),
        ("Riscossioni (competenza e residui)", a.collected),
        ("Pagamenti (competenza e residui)", a.paid),
        ("Fondo di cassa al 31 dicembre", a.closing_cash),
        ("Residui attivi al 31 dicembre", a.residui_attivi),
        ("Residui passivi al 31 dicembre", a.residui_passivi),
        (result, a.result),
    ]
    .into_iter()
    .map(|(label, amount)| {
        let mut line = vec![String::new(); HEADER.len()];
        line[0] = "Risultato di amministrazione".into();
        line[4] = label.into();
        line[5] = money(amount);
        line
    })
    .collect()
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

/// The rendiconto as CSV (`;`, UTF-8 with BOM, amounts with a dot), the result of administration last.
pub fn csv(rows: &[RendicontoRow], administration: &Administration) -> AppResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(HEADER).map_err(AppError::internal)?;
    for r in table(rows, true)
        .into_iter()
        .chain(administration_table(administration, true))
    {
        w.write_record(&r).map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

/// The rendiconto as PDF (A4 landscape table).
pub async fn pdf(
    state: &AppState,
    year: i32,
    rows: &[RendicontoRow],
    administration: &Administration,
) -> AppResult<Vec<u8>> {
    let mut lines = table(rows, false);
    lines.extend(administration_table(administration, false));
    let data = serde_json::json!({
        "order": state.config.order.name,
        "title": format!("Rendiconto finanziario {year}"),
        "subtitle": "Gestione di competenza e dei residui per titolo, categoria e capitolo",
        "generated": crate::format::rome_datetime(state.now()),
        "header": HEADER,
        "rows": lines,
    });
    crate::pdf::render_blocking(include_str!("../../templates/pdf/table.typ"), data).await
}
