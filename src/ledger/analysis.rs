//! What the ledger's pages and exports show: budget against actual per chapter (with a chart by
//! title, drawn as SVG on the server), the cash position month by month, the residui still open, and
//! a chapter's entries with the controls they carry. Read-only.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::Date;

use crate::error::{AppError, AppResult};
use crate::format::euro;

/// One chapter, budget against actual (competence).
#[derive(Debug, Clone)]
pub struct ChapterFigures {
    pub id: i64,
    pub side: String,
    pub title: i16,
    pub category: String,
    pub code: String,
    pub name: String,
    pub reserve_fund: bool,
    pub initial: Decimal,
    pub variations: Decimal,
    /// The cash forecast (previsione di cassa) of the allocation and variations.
    pub cash_forecast: Decimal,
    /// Accertato, or impegnato net of economies.
    pub actual: Decimal,
    /// Open prenotazioni (expenditure).
    pub booked: Decimal,
    /// Riscosso or pagato on competence.
    pub cashed: Decimal,
}

impl ChapterFigures {
    pub fn allocated(&self) -> Decimal {
        self.initial + self.variations
    }
    /// What can still be committed (expenditure) or is still to be assessed (revenue).
    pub fn available(&self) -> Decimal {
        self.allocated() - self.actual - self.booked
    }
    /// Actual as a share of the final allocation, in whole percent.
    pub fn percent(&self) -> Decimal {
        if self.allocated().is_zero() {
            Decimal::ZERO
        } else {
            (self.actual * Decimal::ONE_HUNDRED / self.allocated()).round_dp(0)
        }
    }
}

pub async fn budget_vs_actual(conn: &mut PgConnection, year: i32) -> AppResult<Vec<ChapterFigures>> {
    Ok(sqlx::query_as!(
        ChapterFigures,
        r#"SELECT c.id, c.side, c.title, c.category, c.code, c.name, c.reserve_fund,
             COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'allocation'), 0) AS "initial!",
             COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'variation'), 0) AS "variations!",
             COALESCE(SUM(e.cash_amount) FILTER (WHERE e.kind IN ('allocation', 'variation')), 0) AS "cash_forecast!",
             COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind IN ('accertamento', 'impegno')), 0)
               - COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind = 'economia'), 0) AS "actual!",
             COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'prenotazione' AND NOT EXISTS (
                 SELECT 1 FROM ledger_entries i WHERE i.parent_id = e.id AND i.kind = 'impegno')), 0) AS "booked!",
             COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind IN ('riscossione', 'pagamento')), 0) AS "cashed!"
           FROM ledger_chapters c LEFT JOIN ledger_entries e ON e.chapter_id = c.id
           WHERE c.year = $1
           GROUP BY c.id
           ORDER BY c.side DESC, c.title, c.category, c.code"#,
        year
    )
    .fetch_all(conn)
    .await?)
}

pub fn roman(title: i16) -> &'static str {
    ["", "I", "II", "III", "IV", "V"]
        .get(title as usize)
        .copied()
        .unwrap_or("?")
}

/// The titles' totals, budget and actual: (side, title, allocated, actual).
pub fn by_title(rows: &[ChapterFigures]) -> Vec<(String, i16, Decimal, Decimal)> {
    let mut out: Vec<(String, i16, Decimal, Decimal)> = vec![];
    for r in rows {
        match out.last_mut() {
            Some(last) if last.0 == r.side && last.1 == r.title => {
                last.2 += r.allocated();
                last.3 += r.actual;
            }
            _ => out.push((r.side.clone(), r.title, r.allocated(), r.actual)),
        }
    }
    out
}

fn side_label(side: &str) -> &'static str {
    if side == "revenue" { "Entrate" } else { "Uscite" }
}

/// A horizontal bar chart of budget (light) against actual (dark) by title, as SVG markup with its
/// own title and description for screen readers; every text in it is ours (no user data).
pub fn chart_svg(rows: &[ChapterFigures], year: i32) -> String {
    let titles = by_title(rows);
    let max = titles
        .iter()
        .map(|t| t.2.max(t.3))
        .max()
        .unwrap_or(Decimal::ZERO)
        .max(Decimal::ONE);
    // Drawn at the width of a phone (360 units), so its text is readable there at 1:1.
    let (label_w, bar_w, row_h) = (110, 240, 44);
    let height = 30 + row_h * titles.len().max(1);
    let width = |v: Decimal| format!("{:.1}", (v * Decimal::from(bar_w) / max).round_dp(1));
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" width="100%" role="img" aria-labelledby="chart-title chart-desc" class="ledger-chart"><title id="chart-title">Previsioni definitive e accertato/impegnato per titolo, {year}</title><desc id="chart-desc">Per ogni titolo la barra chiara è lo stanziamento definitivo, la barra scura quanto è stato accertato (entrate) o impegnato (uscite).</desc>"##,
        w = label_w + bar_w + 10
    );
    svg.push_str(&format!(
        r##"<rect x="{label_w}" y="4" width="12" height="12" fill="#b3d4f5"/><text x="{}" y="15" font-size="12">Previsto</text><rect x="{}" y="4" width="12" height="12" fill="#0059b3"/><text x="{}" y="15" font-size="12">Accertato/impegnato</text>"##,
        label_w + 16,
        label_w + 80,
        label_w + 96
    ));
    for (i, (side, title, allocated, actual)) in titles.iter().enumerate() {
        let y = 28 + row_h * i;
        svg.push_str(&format!(
            r##"<g><title>{side} titolo {t}: previsto {a}, accertato/impegnato {b}</title><text x="0" y="{ty}" font-size="13">{side} tit. {t}</text><rect x="{label_w}" y="{y}" width="{wa}" height="16" fill="#b3d4f5"/><rect x="{label_w}" y="{y2}" width="{wb}" height="16" fill="#0059b3"/></g>"##,
            side = side_label(side),
            t = roman(*title),
            a = euro(*allocated),
            b = euro(*actual),
            ty = y + 20,
            y2 = y + 18,
            wa = width(*allocated),
            wb = width(*actual),
        ));
    }
    svg.push_str("</svg>");
    svg
}

pub const HEADER: [&str; 12] = [
    "Entrata/Uscita",
    "Titolo",
    "Capitolo",
    "Denominazione",
    "Previsione iniziale",
    "Variazioni",
    "Previsione definitiva",
    "Previsione di cassa",
    "Accertato/Impegnato",
    "Riscosso/Pagato",
    "Disponibile",
    "Realizzazione %",
];

pub fn table(rows: &[ChapterFigures], plain: bool) -> Vec<Vec<String>> {
    let money = |v: Decimal| if plain { format!("{v:.2}") } else { euro(v) };
    rows.iter()
        .map(|r| {
            vec![
                if r.side == "revenue" { "Entrata" } else { "Uscita" }.to_string(),
                roman(r.title).to_string(),
                r.code.clone(),
                r.name.clone(),
                money(r.initial),
                money(r.variations),
                money(r.allocated()),
                money(r.cash_forecast),
                money(r.actual),
                money(r.cashed),
                money(r.available()),
                r.percent().to_string(),
            ]
        })
        .collect()
}

/// CSV of a table (`;`, UTF-8 with BOM, amounts with a dot), text cells neutralised against
/// formulas (numbers, negative ones too, stay numbers).
pub fn csv(header: &[&str], rows: Vec<Vec<String>>) -> AppResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(header).map_err(AppError::internal)?;
    for r in rows {
        w.write_record(r.iter().map(|c| {
            if c.parse::<Decimal>().is_ok() {
                c.clone()
            } else {
                crate::export::neutralise(c)
            }
        }))
        .map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

/// The cash movements of a year by month: (month 1–12, collected, paid), competence and residui.
pub async fn cash_by_month(conn: &mut PgConnection, year: i32) -> AppResult<Vec<(i32, Decimal, Decimal)>> {
    let rows = sqlx::query!(
        r#"SELECT extract(month FROM e.entry_date)::int AS "month!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'riscossione'), 0) AS "collected!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'pagamento'), 0) AS "paid!"
           FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
           WHERE c.year = $1 AND e.kind IN ('riscossione', 'pagamento')
           GROUP BY 1 ORDER BY 1"#,
        year
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.month, r.collected, r.paid)).collect())
}

/// A residuo carried into a year, with what has been collected or paid on it since.
pub struct Residuo {
    pub id: i64,
    pub kind: String,
    pub chapter: String,
    pub party: String,
    pub reason: String,
    pub amount: Decimal,
    pub cashed: Decimal,
}

pub async fn residui(conn: &mut PgConnection, year: i32) -> AppResult<Vec<Residuo>> {
    Ok(sqlx::query_as!(
        Residuo,
        r#"SELECT e.id, e.kind, c.code || ' ' || c.name AS "chapter!", e.party, e.reason, e.amount,
                  COALESCE((SELECT SUM(k.amount) FROM ledger_entries k WHERE k.parent_id = e.id
                            AND k.kind IN ('riscossione', 'liquidazione', 'economia')), 0) AS "cashed!"
           FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
           WHERE c.year = $1 AND e.residui AND e.kind IN ('accertamento', 'impegno')
           ORDER BY e.kind, c.code, e.id"#,
        year
    )
    .fetch_all(conn)
    .await?)
}

/// An entry of a chapter as its page lists it.
pub struct EntryLine {
    pub id: i64,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub residui: bool,
    pub amount: Decimal,
    pub entry_date: Date,
    pub party: String,
    pub reason: String,
    pub cig: String,
    pub cup: String,
    pub authorised_by: String,
    pub resolution: String,
    pub countersigned: bool,
    pub ratified: bool,
    /// What the entry's children take (riscossioni, liquidazioni and economies, pagamenti).
    pub used: Decimal,
    pub receipt: Option<i64>,
}

impl EntryLine {
    pub fn remaining(&self) -> Decimal {
        self.amount - self.used
    }
}

pub async fn chapter_entries(conn: &mut PgConnection, chapter_id: i64) -> AppResult<Vec<EntryLine>> {
    Ok(sqlx::query_as!(
        EntryLine,
        r#"SELECT e.id, e.kind, e.parent_id, e.residui, e.amount, e.entry_date, e.party, e.reason, e.cig, e.cup,
                  e.authorised_by, e.resolution,
                  (e.countersigned_by IS NOT NULL OR e.residui
                   OR EXISTS (SELECT 1 FROM ledger_countersignatures s WHERE s.entry_id = e.id)) AS "countersigned!",
                  EXISTS (SELECT 1 FROM ledger_ratifications r WHERE r.entry_id = e.id) AS "ratified!",
                  COALESCE((SELECT SUM(k.amount) FROM ledger_entries k WHERE k.parent_id = e.id
                            AND k.kind IN ('riscossione', 'liquidazione', 'economia', 'pagamento')), 0) AS "used!",
                  (SELECT d.id FROM issued_documents d WHERE d.ledger_entry_id = e.id) AS receipt
           FROM ledger_entries e WHERE e.chapter_id = $1 AND e.kind NOT IN ('allocation')
           ORDER BY e.entry_date, e.id"#,
        chapter_id
    )
    .fetch_all(conn)
    .await?)
}

/// The years kept, in order.
pub async fn years(conn: &mut PgConnection) -> AppResult<Vec<i32>> {
    Ok(sqlx::query_scalar!("SELECT year FROM ledger_years ORDER BY year")
        .fetch_all(conn)
        .await?)
}

pub async fn year_of_chapter(conn: &mut PgConnection, id: i64) -> AppResult<Option<i32>> {
    Ok(
        sqlx::query_scalar!("SELECT year FROM ledger_chapters WHERE id = $1", id)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn chapter_of_entry(conn: &mut PgConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar!("SELECT chapter_id FROM ledger_entries WHERE id = $1", id)
            .fetch_optional(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(side: &str, title: i16, initial: &str, actual: &str) -> ChapterFigures {
        ChapterFigures {
            id: 1,
            side: side.into(),
            title,
            category: String::new(),
            code: String::new(),
            name: String::new(),
            reserve_fund: false,
            initial: initial.parse().unwrap(),
            variations: Decimal::ZERO,
            cash_forecast: Decimal::ZERO,
            actual: actual.parse().unwrap(),
            booked: Decimal::ZERO,
            cashed: Decimal::ZERO,
        }
    }

    #[test]
    fn the_chart_draws_one_pair_of_bars_per_title_scaled_to_the_largest() {
        let rows = [
            row("revenue", 1, "1000", "500"),
            row("revenue", 1, "1000", "500"),
            row("expenditure", 1, "500", "250"),
        ];
        assert_eq!(by_title(&rows).len(), 2);
        let svg = chart_svg(&rows, 2026);
        // The largest figure (2,000 of revenue title I) takes the whole 240-unit bar.
        assert!(
            svg.contains(r##"width="240.0" height="16" fill="#b3d4f5"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"width="120.0" height="16" fill="#0059b3"##),
            "{svg}"
        );
        assert!(svg.contains("Uscite titolo I: previsto 500,00 €, accertato/impegnato 250,00 €"));
        assert!(!svg.contains("<script"));
    }
}
