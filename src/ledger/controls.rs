//! Controls around the impegno (seed 004, SPEC §6): prenotazioni for procedures in progress, the
//! treasurer's countersignature of impegni recorded by others (no liquidazione before it), the
//! council's ratification of the president's urgent impegni (pending and visible until given), and
//! earmarked funds — grants with their CUP, assessed within the grant and spent within what is
//! assessed. Each write one transaction with its audit entry.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::repo::{self, EntryRow, NewEntry};
use super::rules;
use super::service::{in_transaction, refuse, text};
use crate::audit;
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

fn holds_any(user: &CurrentUser, roles: &[Role]) -> AppResult<()> {
    if roles.iter().any(|r| user.roles.contains(r)) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn record(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        state.now(),
        audit::Event {
            actor: &user.actor(),
            action,
            entity: "ledger",
            entity_id: Some(id.to_string()),
            details,
        },
    )
    .await?;
    Ok(())
}

/// A prenotazione d'impegno: the sum a procedure in progress will need, taken from the chapter's
/// availability until the impegno takes it over.
pub struct NewBooking {
    pub chapter_id: i64,
    pub amount: Decimal,
    pub date: Date,
    pub reason: String,
}

pub async fn book(state: &AppState, user: &CurrentUser, b: NewBooking) -> AppResult<i64> {
    holds_any(
        user,
        &[Role::Treasurer, Role::President, Role::Secretariat, Role::Admin],
    )?;
    if b.amount <= Decimal::ZERO || b.amount.scale() > 2 {
        return Err(refuse(
            "amount",
            "Un importo in euro maggiore di zero, al massimo due decimali.",
        ));
    }
    let reason = text("reason", &b.reason, 500)?;
    if reason.is_empty() {
        return Err(refuse(
            "reason",
            "Indica la procedura per cui si prenota la spesa.",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let chapter = repo::chapter_for_update(&mut tx, b.chapter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if chapter.side != "expenditure" {
        return Err(refuse(
            "chapter_id",
            "Le prenotazioni si fanno su capitoli di spesa.",
        ));
    }
    super::commitments::check_spendable(
        &mut tx,
        &state.config.ledger,
        &chapter,
        b.date,
        b.amount,
        Decimal::ZERO,
    )
    .await?;
    let id = repo::insert_entry(
        &mut tx,
        &NewEntry::new(
            chapter.id,
            "prenotazione",
            b.amount,
            b.date,
            &reason,
            state.now(),
            user.id,
        ),
    )
    .await?;
    record(
        &mut tx,
        state,
        user,
        "ledger.prenotazione",
        id,
        json!({ "chapter": chapter.code, "amount": b.amount.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The prenotazione an impegno takes over: on the same chapter, not yet taken over.
pub(super) async fn booking_for_update(
    conn: &mut PgConnection,
    id: i64,
    chapter_id: i64,
) -> AppResult<EntryRow> {
    let b = repo::entry_for_update(&mut *conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if b.kind != "prenotazione" || b.chapter_id != chapter_id {
        return Err(refuse(
            "booking",
            format!("La voce n. {id} non è una prenotazione di questo capitolo."),
        ));
    }
    if b.used > Decimal::ZERO {
        return Err(refuse(
            "booking",
            format!("La prenotazione n. {id} è già diventata un impegno."),
        ));
    }
    Ok(b)
}

/// Whether an impegno carries the treasurer's countersignature (given when recorded or afterwards).
/// Residui carried from a closed year were countersigned in their year.
pub(super) async fn countersigned(conn: &mut PgConnection, e: &EntryRow) -> AppResult<bool> {
    if e.residui {
        return Ok(true);
    }
    Ok(sqlx::query_scalar!(
        r#"SELECT (e.countersigned_by IS NOT NULL OR EXISTS (SELECT 1 FROM ledger_countersignatures c WHERE c.entry_id = e.id)) AS "ok!"
           FROM ledger_entries e WHERE e.id = $1"#,
        e.id
    )
    .fetch_one(conn)
    .await?)
}

/// The treasurer countersigns an impegno recorded by someone else, attesting the chapter's
/// availability; once.
pub async fn countersign(state: &AppState, user: &CurrentUser, impegno: i64) -> AppResult<()> {
    holds_any(user, &[Role::Treasurer])?;
    let mut tx = state.pool.begin().await?;
    let e = repo::entry_for_update(&mut tx, impegno)
        .await?
        .ok_or(AppError::NotFound)?;
    if e.kind != "impegno" {
        return Err(refuse("entry", "Si vistano soltanto gli impegni."));
    }
    if countersigned(&mut tx, &e).await? {
        return Err(AppError::Conflict(format!(
            "L'impegno n. {impegno} è già vistato dal Tesoriere."
        )));
    }
    sqlx::query!(
        "INSERT INTO ledger_countersignatures (entry_id, by_user, at) VALUES ($1, $2, $3)",
        impegno,
        user.id,
        state.now()
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        state,
        user,
        "ledger.countersign",
        impegno,
        json!({ "amount": e.amount.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The council ratifies an urgent impegno of the president (the secretariat records the resolution).
pub async fn ratify(
    state: &AppState,
    user: &CurrentUser,
    impegno: i64,
    resolution: &str,
    on: Date,
) -> AppResult<()> {
    holds_any(user, &[Role::Secretariat, Role::Admin])?;
    let resolution = text("resolution", resolution, 200)?;
    if resolution.is_empty() {
        return Err(refuse(
            "resolution",
            "Indica la delibera di ratifica del Consiglio.",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let authorised_by = sqlx::query_scalar!(
        "SELECT authorised_by FROM ledger_entries WHERE id = $1 AND kind = 'impegno' FOR UPDATE",
        impegno
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if authorised_by != "president_urgent" {
        return Err(refuse(
            "entry",
            "Si ratificano soltanto gli impegni urgenti del Presidente.",
        ));
    }
    let done = sqlx::query!(
        "INSERT INTO ledger_ratifications (entry_id, resolution, resolution_date, at, by_user) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (entry_id) DO NOTHING",
        impegno,
        resolution,
        on,
        state.now(),
        user.id
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!(
            "L'impegno n. {impegno} è già ratificato."
        )));
    }
    record(
        &mut tx,
        state,
        user,
        "ledger.ratify",
        impegno,
        json!({ "resolution": resolution, "date": on.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An earmarked fund: a grant with its CUP.
pub struct NewFund {
    pub cup: String,
    pub name: String,
    pub grantor: String,
    pub purpose: String,
    pub amount: Decimal,
}

pub async fn create_fund(state: &AppState, user: &CurrentUser, f: NewFund) -> AppResult<i64> {
    in_transaction(state, async |conn| create_fund_in(conn, state, user, f).await).await
}

/// [`create_fund`] in the caller's transaction (the journal's `fondo_vincolato` rows).
pub async fn create_fund_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    f: NewFund,
) -> AppResult<i64> {
    holds_any(user, &[Role::Treasurer, Role::Secretariat, Role::Admin])?;
    let cup = f.cup.trim().to_uppercase();
    if cup.len() != 15 || !cup.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(refuse("cup", "Il CUP è di 15 caratteri, lettere e cifre."));
    }
    let (name, grantor, purpose) = (
        text("name", &f.name, 200)?,
        text("grantor", &f.grantor, 200)?,
        text("purpose", &f.purpose, 1000)?,
    );
    if name.is_empty() || grantor.is_empty() || purpose.is_empty() {
        return Err(refuse(
            "name",
            "Indica nome, ente finanziatore e finalità del finanziamento.",
        ));
    }
    if f.amount <= Decimal::ZERO || f.amount.scale() > 2 {
        return Err(refuse(
            "amount",
            "Un importo in euro maggiore di zero, al massimo due decimali.",
        ));
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO ledger_funds (cup, name, grantor, purpose, amount, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (cup) DO NOTHING RETURNING id",
        cup,
        name,
        grantor,
        purpose,
        f.amount,
        state.now(),
        user.id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| refuse("cup", format!("Esiste già un finanziamento con CUP {cup}.")))?;
    record(
        &mut *conn,
        state,
        user,
        "ledger.fund",
        id,
        json!({ "cup": cup, "amount": f.amount.to_string() }),
    )
    .await?;
    Ok(id)
}

pub struct Fund {
    pub id: i64,
    pub cup: String,
    pub name: String,
    pub grantor: String,
    pub purpose: String,
    pub amount: Decimal,
}

/// The fund an operation is charged to: the one chosen, or the one whose CUP the operation carries;
/// locked, so operations on one fund are serialised.
pub(super) async fn fund_of(conn: &mut PgConnection, id: Option<i64>, cup: &str) -> AppResult<Option<Fund>> {
    if id.is_none() && cup.is_empty() {
        return Ok(None);
    }
    let fund = sqlx::query_as!(
        Fund,
        "SELECT id, cup, name, grantor, purpose, amount FROM ledger_funds WHERE id = $1 OR ($1 IS NULL AND cup = $2) FOR UPDATE",
        id,
        cup
    )
    .fetch_optional(conn)
    .await?;
    match (fund, id) {
        (None, Some(_)) => Err(refuse("fund_id", "Finanziamento vincolato inesistente.")),
        (f, _) => Ok(f),
    }
}

/// The fund with this CUP, if a CUP is given: an unknown one is refused.
pub async fn fund_by_cup(conn: &mut PgConnection, cup: &str) -> AppResult<Option<i64>> {
    let cup = cup.trim().to_uppercase();
    if cup.is_empty() {
        return Ok(None);
    }
    let id = sqlx::query_scalar!("SELECT id FROM ledger_funds WHERE cup = $1", cup)
        .fetch_optional(conn)
        .await?;
    id.map(Some).ok_or_else(|| {
        refuse(
            "cup",
            format!("Nessun finanziamento vincolato con CUP {cup}: registralo prima."),
        )
    })
}

/// What a fund has: (assessed, committed net of economies), competence only (residui repeat them).
async fn fund_figures(conn: &mut PgConnection, cup: &str) -> AppResult<(Decimal, Decimal)> {
    let r = sqlx::query!(
        r#"SELECT COALESCE(SUM(amount) FILTER (WHERE kind = 'accertamento' AND NOT residui), 0) AS "assessed!",
                  COALESCE(SUM(amount) FILTER (WHERE kind = 'impegno' AND NOT residui), 0)
                  - COALESCE(SUM(amount) FILTER (WHERE kind = 'economia'), 0) AS "committed!"
           FROM ledger_entries WHERE cup = $1"#,
        cup
    )
    .fetch_one(conn)
    .await?;
    Ok((r.assessed, r.committed))
}

pub(super) async fn fund_guard(
    conn: &mut PgConnection,
    f: &Fund,
    revenue: bool,
    amount: Decimal,
) -> AppResult<()> {
    let (assessed, committed) = fund_figures(conn, &f.cup).await?;
    let label = format!("{} (CUP {})", f.name, f.cup);
    rules::check_fund(&label, f.amount, assessed, committed, revenue, amount).map_err(AppError::Conflict)
}

/// An impegno waiting for a control.
#[derive(Clone)]
pub struct Pending {
    pub id: i64,
    pub entry_date: Date,
    pub chapter: String,
    pub amount: Decimal,
    pub party: String,
    pub reason: String,
    pub resolution: String,
}

/// What is waiting in a year: impegni without the treasurer's countersignature, urgent impegni
/// without the council's ratification.
pub struct PendingControls {
    pub countersign: Vec<Pending>,
    pub ratification: Vec<Pending>,
}

pub async fn pending(state: &AppState, year: i32) -> AppResult<PendingControls> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.entry_date, c.code || ' ' || c.name AS "chapter!", e.amount, e.party, e.reason, e.resolution,
                  (e.countersigned_by IS NULL AND NOT EXISTS (SELECT 1 FROM ledger_countersignatures s WHERE s.entry_id = e.id)) AS "unsigned!",
                  (e.authorised_by = 'president_urgent' AND NOT EXISTS (SELECT 1 FROM ledger_ratifications r WHERE r.entry_id = e.id)) AS "unratified!"
           FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
           WHERE c.year = $1 AND e.kind = 'impegno' AND NOT e.residui
           ORDER BY e.entry_date, e.id"#,
        year
    )
    .fetch_all(&state.pool)
    .await?;
    let mut p = PendingControls {
        countersign: vec![],
        ratification: vec![],
    };
    for r in rows {
        let item = Pending {
            id: r.id,
            entry_date: r.entry_date,
            chapter: r.chapter,
            amount: r.amount,
            party: r.party,
            reason: r.reason,
            resolution: r.resolution,
        };
        match (r.unsigned, r.unratified) {
            (true, true) => {
                p.ratification.push(Pending {
                    chapter: item.chapter.clone(),
                    party: item.party.clone(),
                    reason: item.reason.clone(),
                    resolution: item.resolution.clone(),
                    ..item
                });
                p.countersign.push(item);
            }
            (true, false) => p.countersign.push(item),
            (false, true) => p.ratification.push(item),
            (false, false) => {}
        }
    }
    Ok(p)
}

/// How a fund has been used, from accertamento to payment (competence; collections and payments on
/// residui included).
pub struct FundUse {
    pub fund: Fund,
    pub assessed: Decimal,
    pub collected: Decimal,
    pub committed: Decimal,
    pub liquidated: Decimal,
    pub paid: Decimal,
}

impl FundUse {
    /// Assessed but not yet committed: what the fund can still spend.
    pub fn available(&self) -> Decimal {
        self.assessed - self.committed
    }
}

pub async fn funds(state: &AppState) -> AppResult<Vec<FundUse>> {
    let rows = sqlx::query!(
        r#"SELECT f.id, f.cup, f.name, f.grantor, f.purpose, f.amount,
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'accertamento' AND NOT e.residui), 0) AS "assessed!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'riscossione'), 0) AS "collected!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'impegno' AND NOT e.residui), 0)
                  - COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'economia'), 0) AS "committed!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'liquidazione'), 0) AS "liquidated!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'pagamento'), 0) AS "paid!"
           FROM ledger_funds f LEFT JOIN ledger_entries e ON e.cup = f.cup
           GROUP BY f.id ORDER BY f.id"#
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FundUse {
            fund: Fund {
                id: r.id,
                cup: r.cup,
                name: r.name,
                grantor: r.grantor,
                purpose: r.purpose,
                amount: r.amount,
            },
            assessed: r.assessed,
            collected: r.collected,
            committed: r.committed,
            liquidated: r.liquidated,
            paid: r.paid,
        })
        .collect())
}
