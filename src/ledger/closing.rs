//! Closing a financial year (seed 004 art. 19 c. 9, art. 28): one explicit, audited operation. What is
//! still open — accertamenti not fully collected (residui attivi), impegni not fully paid net of their
//! economies (residui passivi) — is carried to the next year's chapters as residui, apart from the
//! next year's competence; then the year is closed and the database refuses any further entry on it.
//! Prenotazioni never turned into impegni lapse (economies of the budget).

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use time::{Date, Month};

use super::repo::{self, NewEntry};
use super::service::{in_transaction, refuse, text};
use crate::audit;
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What the closing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub residui_attivi: Decimal,
    pub residui_passivi: Decimal,
    pub carried: usize,
}

pub async fn close_year(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    resolution: &str,
) -> AppResult<Closed> {
    in_transaction(state, async |conn| {
        close_year_in(conn, state, user, year, resolution).await
    })
    .await
}

/// [`close_year`] in the caller's transaction (the journal applies a whole file in one).
pub async fn close_year_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    resolution: &str,
) -> AppResult<Closed> {
    if ![Role::Treasurer, Role::Admin]
        .iter()
        .any(|r| user.roles.contains(r))
    {
        return Err(AppError::Forbidden);
    }
    let resolution = text("resolution", resolution, 200)?;
    let (_, approved, provisional, closed) = repo::year_state(&mut *conn, year)
        .await?
        .ok_or(AppError::NotFound)?;
    if closed {
        return Err(AppError::Conflict(format!("L'esercizio {year} è già chiuso.")));
    }
    if !approved && !provisional {
        return Err(AppError::Conflict(format!(
            "L'esercizio {year} non ha un bilancio: non c'è nulla da chiudere."
        )));
    }
    let next = year + 1;
    let Some((_, _, _, next_closed)) = repo::year_state(&mut *conn, next).await? else {
        return Err(refuse(
            "year",
            format!("Apri prima l'esercizio {next}: i residui vi sono riportati."),
        ));
    };
    if next_closed {
        return Err(AppError::Conflict(format!("L'esercizio {next} è già chiuso.")));
    }
    let first_day = Date::from_calendar_date(next, Month::January, 1).map_err(AppError::internal)?;
    let now = state.now();
    let (mut attivi, mut passivi, mut carried) = (Decimal::ZERO, Decimal::ZERO, 0);
    for o in repo::outstanding(&mut *conn, year).await? {
        let chapter_id = repo::chapter_in_year(&mut *conn, next, &o).await?;
        let label = if o.kind == "accertamento" {
            "Residuo attivo"
        } else {
            "Residuo passivo"
        };
        let reason = format!("{label} {year}: {}", o.reason);
        let kind = if o.kind == "accertamento" {
            "accertamento"
        } else {
            "impegno"
        };
        repo::insert_entry(
            &mut *conn,
            &NewEntry {
                residui: true,
                parent_id: Some(o.id),
                party: &o.party,
                party_code: &o.party_code,
                iban: &o.iban,
                cig: &o.cig,
                cup: &o.cup,
                ..NewEntry::new(chapter_id, kind, o.left, first_day, &reason, now, user.id)
            },
        )
        .await?;
        if o.kind == "accertamento" {
            attivi += o.left;
        } else {
            passivi += o.left;
        }
        carried += 1;
    }
    // The next year starts with this year's closing cash, when this year's opening cash is known.
    if let Some(opening) = repo::opening_cash(&mut *conn, year).await? {
        let rows = repo::rendiconto(&mut *conn, year).await?;
        let closing_cash = super::report::administration(Some(opening), &rows).closing_cash;
        repo::set_opening_cash(&mut *conn, next, closing_cash).await?;
    }
    repo::insert_year_event(&mut *conn, year, "closed", &resolution, now, Some(user.id)).await?;
    audit::record(&mut *conn, now, audit::Event {
        actor: &user.actor(), action: "ledger.close_year", entity: "ledger", entity_id: Some(year.to_string()),
        details: json!({ "residui_attivi": attivi.to_string(), "residui_passivi": passivi.to_string(), "carried": carried,
                         "resolution": resolution }),
    })
    .await?;
    Ok(Closed {
        residui_attivi: attivi,
        residui_passivi: passivi,
        carried,
    })
}
