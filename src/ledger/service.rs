//! The ledger's operations, each one transaction with its audit entry, each through the rules of
//! [`super::rules`] with the figures read under the chapter's lock. First part: years, chapters, the
//! budget's allocations and approval (equilibrium), the provisional budget, the opening cash fund;
//! expenditure commitments are in [`super::commitments`] (re-exported here).

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;

use super::repo::{self, NewEntry};
use super::rules::{self, Nature};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

pub(super) fn refuse(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message)])
}

pub(super) fn text(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(refuse(
            field,
            format!("Testo troppo lungo o con caratteri non ammessi (massimo {max})."),
        ));
    }
    Ok(v.to_string())
}

pub(super) async fn audited(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    action: &str,
    id: String,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        state.now(),
        audit::Event {
            actor,
            action,
            entity: "ledger",
            entity_id: Some(id),
            details,
        },
    )
    .await?;
    Ok(())
}

/// Runs `f` in a transaction of its own, committed when it succeeds: what a service's public function
/// does around its `*_in` variant (which the journal calls inside its own, larger transaction).
pub(super) async fn in_transaction<T>(
    state: &AppState,
    f: impl AsyncFnOnce(&mut PgConnection) -> AppResult<T>,
) -> AppResult<T> {
    let mut tx = state.pool.begin().await?;
    let out = f(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Opens a financial year with the presumed result of the previous one (the budget's first item).
pub async fn open_year(
    state: &AppState,
    actor: &Actor,
    year: i32,
    presumed_result: Decimal,
) -> AppResult<()> {
    in_transaction(state, async |conn| {
        open_year_in(conn, state, actor, year, presumed_result).await
    })
    .await
}

/// [`open_year`] in the caller's transaction (the journal applies a whole file in one).
pub async fn open_year_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    year: i32,
    presumed_result: Decimal,
) -> AppResult<()> {
    if !(2000..=2100).contains(&year) {
        return Err(refuse("year", "Anno non valido."));
    }
    if !repo::insert_year(&mut *conn, year, presumed_result.round_dp(2), state.now()).await? {
        return Err(AppError::Conflict(format!("L'esercizio {year} esiste già.")));
    }
    audited(
        &mut *conn,
        state,
        actor,
        "ledger.year",
        year.to_string(),
        json!({ "presumed_result": presumed_result.to_string() }),
    )
    .await?;
    Ok(())
}

pub struct NewChapter {
    pub year: i32,
    pub revenue: bool,
    pub title: i16,
    pub category: String,
    pub code: String,
    pub name: String,
    pub reserve_fund: bool,
}

/// A chapter (capitolo) of a year's budget, under its title and category.
pub async fn add_chapter(state: &AppState, actor: &Actor, c: NewChapter) -> AppResult<i64> {
    in_transaction(state, async |conn| add_chapter_in(conn, state, actor, c).await).await
}

/// [`add_chapter`] in the caller's transaction (the journal applies a whole file in one).
pub async fn add_chapter_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    c: NewChapter,
) -> AppResult<i64> {
    let nature = if c.revenue {
        rules::revenue_nature(c.title as u8)
    } else {
        rules::expenditure_nature(c.title as u8)
    };
    if nature.is_none() {
        return Err(refuse(
            "title",
            if c.revenue {
                "Titolo di entrata: da I a V."
            } else {
                "Titolo di spesa: da I a IV."
            },
        ));
    }
    if c.reserve_fund && (c.revenue || nature != Some(Nature::Current)) {
        return Err(refuse(
            "reserve_fund",
            "Il fondo di riserva è tra le spese correnti (titolo I).",
        ));
    }
    let (category, code, name) = (
        text("category", &c.category, 20)?,
        text("code", &c.code, 30)?,
        text("name", &c.name, 200)?,
    );
    if category.is_empty() || code.is_empty() || name.is_empty() {
        return Err(refuse(
            "code",
            "Indica categoria, codice e denominazione del capitolo.",
        ));
    }
    let side = if c.revenue { "revenue" } else { "expenditure" };
    let id = repo::insert_chapter(
        &mut *conn,
        &repo::NewChapter {
            year: c.year,
            side,
            title: c.title,
            category: &category,
            code: &code,
            name: &name,
            reserve_fund: c.reserve_fund,
        },
    )
    .await?
    .ok_or_else(|| {
        AppError::Conflict(format!(
            "Il capitolo {code} esiste già nell'esercizio {}.",
            c.year
        ))
    })?;
    audited(
        &mut *conn,
        state,
        actor,
        "ledger.chapter",
        id.to_string(),
        json!({ "year": c.year, "side": side, "title": c.title, "code": code, "name": name }),
    )
    .await?;
    Ok(id)
}

/// The initial allocation of a chapter in the budget being prepared (before its approval).
pub async fn allocate(
    state: &AppState,
    actor: &Actor,
    chapter_id: i64,
    competence: Decimal,
    cash: Decimal,
) -> AppResult<i64> {
    in_transaction(state, async |conn| {
        allocate_in(conn, state, actor, chapter_id, competence, cash).await
    })
    .await
}

/// [`allocate`] in the caller's transaction (the journal applies a whole file in one).
pub async fn allocate_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    chapter_id: i64,
    competence: Decimal,
    cash: Decimal,
) -> AppResult<i64> {
    if competence < Decimal::ZERO
        || cash < Decimal::ZERO
        || competence.scale() > 2
        || cash.scale() > 2
        || competence.is_zero()
    {
        return Err(refuse(
            "amount",
            "Stanziamento: un importo in euro maggiore di zero, al massimo due decimali.",
        ));
    }
    let chapter = repo::chapter_for_update(&mut *conn, chapter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (_, approved, _, closed) = repo::year_state(&mut *conn, chapter.year)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::check_open_year(chapter.year, closed).map_err(AppError::Conflict)?;
    if approved {
        return Err(AppError::Conflict(
            "Il bilancio è approvato: gli stanziamenti cambiano solo con una variazione deliberata.".into(),
        ));
    }
    let now = state.now();
    let id = repo::insert_entry(
        &mut *conn,
        &NewEntry {
            chapter_id,
            kind: "allocation",
            residui: false,
            parent_id: None,
            amount: competence,
            cash_amount: cash,
            entry_date: crate::format::rome_day(now),
            party: "",
            party_code: "",
            iban: "",
            cig: "",
            cup: "",
            reason: "Stanziamento del bilancio di previsione",
            authorised_by: "",
            resolution: "",
            countersigned_by: None,
            payment_receipt_id: None,
            recorded_at: now,
            recorded_by: actor.id,
        },
    )
    .await?;
    audited(
        &mut *conn,
        state,
        actor,
        "ledger.allocation",
        id.to_string(),
        json!({ "chapter": chapter.code, "competence": competence.to_string(), "cash": cash.to_string() }),
    )
    .await?;
    Ok(id)
}

/// Approves the year's budget by council resolution, once its equilibrium holds.
pub async fn approve_budget(state: &AppState, actor: &Actor, year: i32, resolution: &str) -> AppResult<()> {
    in_transaction(state, async |conn| {
        approve_budget_in(conn, state, actor, year, resolution).await
    })
    .await
}

/// [`approve_budget`] in the caller's transaction (the journal applies a whole file in one).
pub async fn approve_budget_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    year: i32,
    resolution: &str,
) -> AppResult<()> {
    let resolution = text("resolution", resolution, 200)?;
    if resolution.is_empty() {
        return Err(refuse(
            "resolution",
            "Indica la delibera del Consiglio che approva il bilancio.",
        ));
    }
    let (presumed, approved, _, closed) = repo::year_state(&mut *conn, year)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::check_open_year(year, closed).map_err(AppError::Conflict)?;
    if approved {
        return Err(AppError::Conflict(format!("Il bilancio {year} è già approvato.")));
    }
    let (mut cur_rev, mut cur_exp, mut rev, mut exp) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (side, title, amount) in repo::allocations_by_title(&mut *conn, year).await? {
        match side.as_str() {
            "revenue" => {
                rev += amount;
                if rules::revenue_nature(title as u8) == Some(Nature::Current) {
                    cur_rev += amount;
                }
            }
            _ => {
                exp += amount;
                if rules::expenditure_nature(title as u8) == Some(Nature::Current) {
                    cur_exp += amount;
                }
            }
        }
    }
    rules::check_equilibrium(presumed, cur_rev, cur_exp, rev, exp).map_err(|errors| {
        AppError::Validation(errors.into_iter().map(|m| FieldError::new("budget", m)).collect())
    })?;
    repo::insert_year_event(
        &mut *conn,
        year,
        "budget_approved",
        &resolution,
        state.now(),
        actor.id,
    )
    .await?;
    audited(&mut *conn, state, actor, "ledger.budget_approved", year.to_string(), json!({ "resolution": resolution,
        "current_revenue": cur_rev.to_string(), "current_expenditure": cur_exp.to_string(),
        "revenue": rev.to_string(), "expenditure": exp.to_string(), "presumed_result": presumed.to_string() })).await?;
    Ok(())
}

/// The provisional budget (esercizio provvisorio) authorised by the council while the budget waits.
pub async fn start_provisional(
    state: &AppState,
    actor: &Actor,
    year: i32,
    resolution: &str,
) -> AppResult<()> {
    in_transaction(state, async |conn| {
        start_provisional_in(conn, state, actor, year, resolution).await
    })
    .await
}

/// [`start_provisional`] in the caller's transaction (the journal applies a whole file in one).
pub async fn start_provisional_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    year: i32,
    resolution: &str,
) -> AppResult<()> {
    let resolution = text("resolution", resolution, 200)?;
    if resolution.is_empty() {
        return Err(refuse(
            "resolution",
            "Indica la delibera che autorizza l'esercizio provvisorio.",
        ));
    }
    let (_, approved, provisional, closed) = repo::year_state(&mut *conn, year)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::check_open_year(year, closed).map_err(AppError::Conflict)?;
    if approved || provisional {
        return Err(AppError::Conflict(format!(
            "Per il {year} c'è già un bilancio approvato o in esercizio provvisorio."
        )));
    }
    repo::insert_year_event(
        &mut *conn,
        year,
        "provisional",
        &resolution,
        state.now(),
        actor.id,
    )
    .await?;
    audited(
        &mut *conn,
        state,
        actor,
        "ledger.provisional",
        year.to_string(),
        json!({ "resolution": resolution }),
    )
    .await?;
    Ok(())
}

/// The cash fund at 1 January of a year (fondo di cassa iniziale), recorded once: for the first year
/// kept in ordo, from the previous books (closing a year writes the next one's).
pub async fn record_opening_cash(
    state: &AppState,
    actor: &Actor,
    year: i32,
    amount: Decimal,
) -> AppResult<()> {
    in_transaction(state, async |conn| {
        record_opening_cash_in(conn, state, actor, year, amount).await
    })
    .await
}

/// [`record_opening_cash`] in the caller's transaction (the journal applies a whole file in one).
pub async fn record_opening_cash_in(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    year: i32,
    amount: Decimal,
) -> AppResult<()> {
    if amount < Decimal::ZERO || amount.scale() > 2 {
        return Err(refuse(
            "opening_cash",
            "Fondo di cassa: un importo in euro non negativo, al massimo due decimali.",
        ));
    }
    let (_, _, _, closed) = repo::year_state(&mut *conn, year)
        .await?
        .ok_or_else(|| refuse("year", format!("L'esercizio {year} non è aperto.")))?;
    rules::check_open_year(year, closed).map_err(AppError::Conflict)?;
    if !repo::set_opening_cash(&mut *conn, year, amount).await? {
        return Err(AppError::Conflict(format!(
            "Il fondo di cassa al 1° gennaio {year} è già registrato."
        )));
    }
    audited(
        &mut *conn,
        state,
        actor,
        "ledger.opening_cash",
        year.to_string(),
        json!({ "opening_cash": amount.to_string() }),
    )
    .await
}

pub use super::commitments::{NewCommitment, commit_expense, commit_expense_in};
