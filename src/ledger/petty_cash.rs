//! Petty cash (cassa economale, seed 004 art. 21): minute office expenses paid from the year's fund,
//! each at most `ledger.petty_cash_max_expense`, the year at most `ledger.petty_cash_fund`; the
//! six-monthly report the office gives the treasurer.

use rust_decimal::Decimal;
use serde_json::json;
use time::{Date, Month};

use super::repo::{self, PettyCashRow};
use super::rules;
use super::service::{refuse, text};
use crate::audit;
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Records an expense, under the year's lock so two expenses never overrun the fund together.
pub async fn spend(
    state: &AppState,
    user: &CurrentUser,
    day: Date,
    amount: Decimal,
    payee: &str,
    reason: &str,
) -> AppResult<i64> {
    if ![Role::Treasurer, Role::Secretariat, Role::Admin]
        .iter()
        .any(|r| user.roles.contains(r))
    {
        return Err(AppError::Forbidden);
    }
    if amount.scale() > 2 {
        return Err(refuse("amount", "Importo: al massimo due decimali."));
    }
    let (payee, reason) = (text("payee", payee, 200)?, text("reason", reason, 500)?);
    if payee.is_empty() || reason.is_empty() {
        return Err(refuse("reason", "Indica a chi si paga e per che cosa."));
    }
    let year = day.year();
    let mut tx = state.pool.begin().await?;
    let (_, _, _, closed) = repo::year_state(&mut tx, year)
        .await?
        .ok_or_else(|| AppError::Conflict(format!("L'esercizio {year} non è aperto nel bilancio.")))?;
    rules::check_open_year(year, closed).map_err(AppError::Conflict)?;
    let spent = repo::petty_cash_spent(&mut tx, year).await?;
    rules::check_petty_cash(&state.config.ledger, spent, amount).map_err(|m| refuse("amount", m))?;
    let now = state.now();
    let id = repo::insert_petty_cash(&mut tx, year, day, amount, &payee, &reason, now, Some(user.id)).await?;
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "ledger.petty_cash",
            entity: "ledger",
            entity_id: Some(id.to_string()),
            details: json!({ "amount": amount.to_string(), "payee": payee, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The six-monthly report: the half's expenses, their total, and what the year's fund has left at
/// the half's end.
pub struct Report {
    pub from: Date,
    pub to: Date,
    pub expenses: Vec<PettyCashRow>,
    pub total: Decimal,
    pub fund_left: Decimal,
}

pub async fn report(state: &AppState, year: i32, half: u8) -> AppResult<Report> {
    let (from, to) = match half {
        1 => (Month::January, Month::June),
        2 => (Month::July, Month::December),
        _ => return Err(refuse("half", "Semestre: 1 o 2.")),
    };
    let from = Date::from_calendar_date(year, from, 1).map_err(|_| refuse("year", "Anno non valido."))?;
    let to = Date::from_calendar_date(year, to, if half == 1 { 30 } else { 31 })
        .map_err(|_| refuse("year", "Anno non valido."))?;
    let mut conn = state.pool.acquire().await?;
    let expenses = repo::petty_cash_between(&mut conn, from, to).await?;
    let until = repo::petty_cash_between(
        &mut conn,
        Date::from_calendar_date(year, Month::January, 1).unwrap_or(from),
        to,
    )
    .await?;
    let total = expenses.iter().map(|e| e.amount).sum();
    let used: Decimal = until.iter().map(|e| e.amount).sum();
    Ok(Report {
        from,
        to,
        expenses,
        total,
        fund_left: state.config.ledger.petty_cash_fund - used,
    })
}
