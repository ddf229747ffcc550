//! Expenditure commitments (impegni): who may authorise them by amount and role, the year open and
//! its budget approved or provisional, never above the chapter's availability (read under its lock),
//! a prenotazione taken over, an earmarked fund's limits, the supplier's codes checked, the
//! treasurer's countersignature when the treasurer records them.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::repo::{self, NewEntry};
use super::rules::{self, Authorisation};
use super::service::{audited, in_transaction, refuse, text};
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An expenditure commitment as the form or the journal gives it.
pub struct NewCommitment {
    pub chapter_id: i64,
    pub amount: Decimal,
    pub date: Date,
    pub supplier: String,
    pub supplier_code: String,
    pub iban: String,
    pub cig: String,
    pub cup: String,
    pub reason: String,
    pub authorisation: Authorisation,
    /// The prenotazione this impegno takes over (same chapter), if any.
    pub booking: Option<i64>,
    /// The earmarked fund the expense is charged to, if any (its CUP is carried).
    pub fund_id: Option<i64>,
}

fn holds(user: &CurrentUser, role: Role) -> bool {
    user.roles.contains(&role) || user.roles.contains(&Role::Admin)
}

/// Records an impegno: the authority its amount needs (and the person's role), the year open and its
/// budget approved or provisional (twelfths), never above the chapter's availability — read under the
/// chapter's lock, so two commitments racing for its last euros never both pass. The treasurer's own
/// commitments are countersigned at once; anyone else's wait for the treasurer's countersignature.
pub async fn commit_expense(state: &AppState, user: &CurrentUser, c: NewCommitment) -> AppResult<i64> {
    in_transaction(state, async |conn| commit_expense_in(conn, state, user, c).await).await
}

/// [`commit_expense`] in the caller's transaction (the journal applies a whole file in one).
pub async fn commit_expense_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    c: NewCommitment,
) -> AppResult<i64> {
    let config = &state.config.ledger;
    let amount = c.amount;
    if amount.scale() > 2 {
        return Err(refuse("amount", "Importo: al massimo due decimali."));
    }
    rules::check_authorisation(config, amount, &c.authorisation).map_err(|m| refuse("authorisation", m))?;
    let (authorised_by, resolution, role) = match &c.authorisation {
        Authorisation::Treasurer => ("treasurer", String::new(), Some(Role::Treasurer)),
        Authorisation::President => ("president", String::new(), Some(Role::President)),
        Authorisation::PresidentUrgent { reason } => {
            ("president_urgent", reason.clone(), Some(Role::President))
        }
        // The secretariat records the council's resolutions.
        Authorisation::Council { resolution } => ("council", resolution.clone(), None),
    };
    if let Some(role) = role
        && !holds(user, role)
    {
        return Err(AppError::Forbidden);
    }
    if role.is_none() && !(holds(user, Role::Secretariat) || holds(user, Role::Treasurer)) {
        return Err(AppError::Forbidden);
    }
    let reason = text("reason", &c.reason, 500)?;
    if reason.is_empty() {
        return Err(refuse("reason", "Indica l'oggetto dell'impegno."));
    }
    let supplier = text("supplier", &c.supplier, 200)?;
    if supplier.is_empty() {
        return Err(refuse("supplier", "Indica il creditore (fornitore)."));
    }
    let (supplier_code, iban, cig, cup) = (
        text("supplier_code", &c.supplier_code, 16)?.to_uppercase(),
        text("iban", &c.iban, 34)?.replace(' ', "").to_uppercase(),
        text("cig", &c.cig, 10)?.to_uppercase(),
        text("cup", &c.cup, 15)?.to_uppercase(),
    );
    rules::check_party_code(&supplier_code).map_err(|m| refuse("supplier_code", m))?;
    rules::check_iban(&iban).map_err(|m| refuse("iban", m))?;
    let chapter = repo::chapter_for_update(&mut *conn, c.chapter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if chapter.side != "expenditure" {
        return Err(refuse(
            "chapter_id",
            "Gli impegni si assumono su capitoli di spesa.",
        ));
    }
    let booking = match c.booking {
        Some(id) => Some(super::controls::booking_for_update(&mut *conn, id, chapter.id).await?),
        None => None,
    };
    let release = booking.as_ref().map_or(Decimal::ZERO, |b| b.amount);
    check_spendable(&mut *conn, config, &chapter, c.date, amount, release).await?;
    let fund = super::controls::fund_of(&mut *conn, c.fund_id, &cup).await?;
    if let Some(f) = &fund {
        super::controls::fund_guard(&mut *conn, f, false, amount).await?;
    }
    let cup = match &fund {
        Some(f) if !cup.is_empty() && cup != f.cup => {
            return Err(refuse(
                "cup",
                format!(
                    "L'impegno sul finanziamento vincolato porta il suo CUP {}.",
                    f.cup
                ),
            ));
        }
        Some(f) => f.cup.clone(),
        None => cup,
    };
    let countersigned_by = holds(user, Role::Treasurer).then_some(user.id);
    let now = state.now();
    let id = repo::insert_entry(
        &mut *conn,
        &NewEntry {
            chapter_id: chapter.id,
            kind: "impegno",
            residui: false,
            parent_id: booking.as_ref().map(|b| b.id),
            amount,
            cash_amount: Decimal::ZERO,
            entry_date: c.date,
            party: &supplier,
            party_code: &supplier_code,
            iban: &iban,
            cig: &cig,
            cup: &cup,
            reason: &reason,
            authorised_by,
            resolution: &resolution,
            countersigned_by,
            payment_receipt_id: None,
            recorded_at: now,
            recorded_by: Some(user.id),
        },
    )
    .await?;
    audited(&mut *conn, state, &user.actor(), "ledger.impegno", id.to_string(), json!({
        "chapter": chapter.code, "amount": amount.to_string(), "supplier": supplier, "authorised_by": authorised_by,
        "resolution": resolution, "countersigned": countersigned_by.is_some(), "cig": cig, "cup": cup,
        "booking": booking.as_ref().map(|b| b.id), "fund": fund.as_ref().map(|f| f.id) })).await?;
    Ok(id)
}

/// Whether `amount` may be committed (or booked) on `chapter` on `date`: the date in the chapter's
/// year, the year open, its budget approved (availability, counting `release` — a prenotazione the
/// commitment takes over — as available) or provisional (the twelfths). Run under the chapter's lock.
pub(super) async fn check_spendable(
    tx: &mut PgConnection,
    config: &crate::config::LedgerConfig,
    chapter: &repo::ChapterRow,
    date: Date,
    amount: Decimal,
    release: Decimal,
) -> AppResult<()> {
    if date.year() != chapter.year {
        return Err(refuse(
            "date",
            format!(
                "La data dell'impegno deve cadere nell'esercizio {}.",
                chapter.year
            ),
        ));
    }
    let (_, approved, provisional, closed) = repo::year_state(&mut *tx, chapter.year)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::check_open_year(chapter.year, closed).map_err(AppError::Conflict)?;
    let chapter_label = format!("{} «{}»", chapter.code, chapter.name);
    if !approved {
        if !provisional {
            return Err(AppError::Conflict(format!(
                "Il bilancio {} non è approvato né è in corso l'esercizio provvisorio: non si possono assumere impegni.",
                chapter.year
            )));
        }
        let last = repo::previous_allocation(&mut *tx, chapter).await?;
        let month = repo::committed_in_month(&mut *tx, chapter.id, date).await?;
        rules::check_provisional(config, date, last, month, amount, &chapter_label)
            .map_err(AppError::Conflict)?;
    } else {
        let (allocated, used) = repo::competence(&mut *tx, chapter.id).await?;
        rules::check_availability(allocated - used + release, amount, &chapter_label)
            .map_err(AppError::Conflict)?;
    }
    Ok(())
}
