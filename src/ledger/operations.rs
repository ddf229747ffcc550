//! The ledger's operations after the budget: variations (storni between expenditure chapters),
//! revenue (accertamento → riscossione) and expenditure after the impegno (liquidazione with its
//! economy, pagamento). Each in one transaction with its audit entry, under the year's and the
//! chapters' locks, through [`super::rules`].

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::repo::{self, ChapterRow, NewEntry};
use super::rules::{self, VariationSide};
use super::service::{in_transaction, refuse, text};
use crate::audit;
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

fn may_record(user: &CurrentUser) -> AppResult<()> {
    let ok = [Role::Treasurer, Role::Secretariat, Role::President, Role::Admin]
        .iter()
        .any(|r| user.roles.contains(r));
    if ok { Ok(()) } else { Err(AppError::Forbidden) }
}

fn nature(c: &ChapterRow) -> AppResult<rules::Nature> {
    let n = if c.side == "revenue" {
        rules::revenue_nature(c.title as u8)
    } else {
        rules::expenditure_nature(c.title as u8)
    };
    n.ok_or_else(|| AppError::internal("chapter without a valid title"))
}

fn amount_ok(field: &'static str, amount: Decimal) -> AppResult<()> {
    if amount <= Decimal::ZERO || amount.scale() > 2 {
        return Err(refuse(
            field,
            "Un importo in euro maggiore di zero, al massimo due decimali.",
        ));
    }
    Ok(())
}

/// The year of a chapter must be open; `date` must fall in it.
async fn open_for(conn: &mut sqlx::PgConnection, c: &ChapterRow, date: Date) -> AppResult<(bool, bool)> {
    let (_, approved, provisional, closed) =
        repo::year_state(conn, c.year).await?.ok_or(AppError::NotFound)?;
    rules::check_open_year(c.year, closed).map_err(AppError::Conflict)?;
    if date.year() != c.year {
        return Err(refuse(
            "date",
            format!("La data deve cadere nell'esercizio {}.", c.year),
        ));
    }
    Ok((approved, provisional))
}

/// A variation decided by the council: `amount` moves from one expenditure chapter to another of the
/// same year. Not in December unless exceptional (with its reason), never between residui and
/// competenza, never from capital to current; the chapter that gives keeps what it has committed.
#[allow(clippy::too_many_arguments)]
pub async fn transfer(
    state: &AppState,
    user: &CurrentUser,
    from_id: i64,
    to_id: i64,
    amount: Decimal,
    date: Date,
    resolution: &str,
    reason: &str,
    exceptional: Option<&str>,
) -> AppResult<(i64, i64)> {
    in_transaction(state, async |conn| {
        transfer_in(
            conn,
            state,
            user,
            from_id,
            to_id,
            amount,
            date,
            resolution,
            reason,
            exceptional,
        )
        .await
    })
    .await
}

/// [`transfer`] in the caller's transaction (the journal applies a whole file in one).
#[allow(clippy::too_many_arguments)]
pub async fn transfer_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    from_id: i64,
    to_id: i64,
    amount: Decimal,
    date: Date,
    resolution: &str,
    reason: &str,
    exceptional: Option<&str>,
) -> AppResult<(i64, i64)> {
    may_record(user)?;
    amount_ok("amount", amount)?;
    let (resolution, reason) = (text("resolution", resolution, 200)?, text("reason", reason, 500)?);
    let exceptional = exceptional.map(|e| text("exceptional", e, 500)).transpose()?;
    if from_id == to_id {
        return Err(refuse("to_chapter", "Scegli due capitoli diversi."));
    }
    // Locks in id order: two variations crossing the same chapters never deadlock.
    let (first, second) = (from_id.min(to_id), from_id.max(to_id));
    let a = repo::chapter_for_update(&mut *conn, first)
        .await?
        .ok_or(AppError::NotFound)?;
    let b = repo::chapter_for_update(&mut *conn, second)
        .await?
        .ok_or(AppError::NotFound)?;
    let (from, to) = if a.id == from_id { (a, b) } else { (b, a) };
    if from.side != "expenditure" || to.side != "expenditure" || from.year != to.year {
        return Err(refuse(
            "to_chapter",
            "Lo storno è tra capitoli di spesa dello stesso esercizio.",
        ));
    }
    let (approved, _) = open_for(&mut *conn, &from, date).await?;
    if !approved {
        return Err(AppError::Conflict(
            "Le variazioni si fanno sul bilancio approvato.".into(),
        ));
    }
    let (fl, tl) = (
        format!("{} «{}»", from.code, from.name),
        format!("{} «{}»", to.code, to.name),
    );
    let fs = VariationSide {
        chapter: &fl,
        nature: nature(&from)?,
        residui: false,
    };
    let ts = VariationSide {
        chapter: &tl,
        nature: nature(&to)?,
        residui: false,
    };
    rules::check_variation(date, &resolution, &reason, exceptional.as_deref(), &fs, &ts).map_err(
        |errors| {
            AppError::Validation(
                errors
                    .into_iter()
                    .map(|m| FieldError::new("variation", m))
                    .collect(),
            )
        },
    )?;
    let (allocated, used) = repo::competence(&mut *conn, from.id).await?;
    rules::check_availability(allocated - used, amount, &fl).map_err(AppError::Conflict)?;
    let now = state.now();
    let why = match &exceptional {
        Some(e) => format!("{reason} (variazione eccezionale: {e})"),
        None => reason.clone(),
    };
    let mut ids = vec![];
    for (chapter, signed) in [(&from, -amount), (&to, amount)] {
        ids.push(
            repo::insert_entry(
                &mut *conn,
                &NewEntry {
                    chapter_id: chapter.id,
                    kind: "variation",
                    residui: false,
                    parent_id: None,
                    amount: signed,
                    cash_amount: signed,
                    entry_date: date,
                    party: "",
                    party_code: "",
                    iban: "",
                    cig: "",
                    cup: "",
                    reason: &why,
                    authorised_by: "council",
                    resolution: &resolution,
                    countersigned_by: None,
                    payment_receipt_id: None,
                    recorded_at: now,
                    recorded_by: Some(user.id),
                },
            )
            .await?,
        );
    }
    audit::record(&mut *conn, now, audit::Event {
        actor: &user.actor(), action: "ledger.variation", entity: "ledger", entity_id: Some(ids[0].to_string()),
        details: json!({ "from": from.code, "to": to.code, "amount": amount.to_string(), "resolution": resolution,
                         "reason": reason, "exceptional": exceptional }),
    })
    .await?;
    Ok((ids[0], ids[1]))
}

/// An accertamento: the order's right to a sum from a debtor, with its legal title and due date.
pub struct NewAssessment {
    pub chapter_id: i64,
    pub amount: Decimal,
    pub date: Date,
    pub debtor: String,
    pub debtor_code: String,
    pub due_date: Date,
    pub legal_title: String,
    /// The earmarked fund (grant) this revenue belongs to, if any.
    pub fund_id: Option<i64>,
}

pub async fn assess(state: &AppState, user: &CurrentUser, a: NewAssessment) -> AppResult<i64> {
    in_transaction(state, async |conn| assess_in(conn, state, user, a).await).await
}

/// [`assess`] in the caller's transaction (the journal applies a whole file in one).
pub async fn assess_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    a: NewAssessment,
) -> AppResult<i64> {
    may_record(user)?;
    amount_ok("amount", a.amount)?;
    let debtor = text("debtor", &a.debtor, 200)?;
    let title = text("legal_title", &a.legal_title, 500)?;
    if debtor.is_empty() || title.is_empty() {
        return Err(refuse(
            "debtor",
            "Indica il debitore e il titolo giuridico del credito.",
        ));
    }
    if a.due_date < a.date {
        return Err(refuse(
            "due_date",
            "La scadenza non può precedere l'accertamento.",
        ));
    }
    let chapter = repo::chapter_for_update(&mut *conn, a.chapter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if chapter.side != "revenue" {
        return Err(refuse(
            "chapter_id",
            "Gli accertamenti si imputano a capitoli di entrata.",
        ));
    }
    open_for(&mut *conn, &chapter, a.date).await?;
    let fund = super::controls::fund_of(&mut *conn, a.fund_id, "").await?;
    if let Some(f) = &fund {
        super::controls::fund_guard(&mut *conn, f, true, a.amount).await?;
    }
    let now = state.now();
    let reason = format!(
        "{title} (scadenza {})",
        crate::members::model::italian_date(a.due_date)
    );
    let code = text("debtor_code", &a.debtor_code, 16)?.to_uppercase();
    rules::check_party_code(&code).map_err(|m| refuse("debtor_code", m))?;
    let id = repo::insert_entry(
        &mut *conn,
        &NewEntry {
            chapter_id: chapter.id,
            kind: "accertamento",
            residui: false,
            parent_id: None,
            amount: a.amount,
            cash_amount: Decimal::ZERO,
            entry_date: a.date,
            party: &debtor,
            party_code: &code,
            iban: "",
            cig: "",
            cup: fund.as_ref().map_or("", |f| f.cup.as_str()),
            reason: &reason,
            authorised_by: "",
            resolution: "",
            countersigned_by: None,
            payment_receipt_id: None,
            recorded_at: now,
            recorded_by: Some(user.id),
        },
    )
    .await?;
    audit::record(&mut *conn, now, audit::Event {
        actor: &user.actor(), action: "ledger.accertamento", entity: "ledger", entity_id: Some(id.to_string()),
        details: json!({ "chapter": chapter.code, "amount": a.amount.to_string(), "debtor": debtor, "title": title }),
    })
    .await?;
    Ok(id)
}

/// A child operation of an entry (riscossione of an accertamento, liquidazione of an impegno,
/// pagamento of a liquidazione): at most what the parent still has, in an open year.
#[allow(clippy::too_many_arguments)]
async fn child_in(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    user: &CurrentUser,
    parent_id: i64,
    parent_kind: &str,
    kind: &'static str,
    amount: Decimal,
    date: Date,
    note: &str,
) -> AppResult<i64> {
    may_record(user)?;
    amount_ok("amount", amount)?;
    let note = text("note", note, 500)?;
    let parent = repo::entry_for_update(&mut *tx, parent_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if parent.kind != parent_kind {
        return Err(refuse(
            "parent",
            format!(
                "L'operazione si collega a un {parent_kind}, non a un {}.",
                parent.kind
            ),
        ));
    }
    if kind == "liquidazione" && !super::controls::countersigned(&mut *tx, &parent).await? {
        return Err(AppError::Conflict(format!(
            "L'impegno n. {} non è ancora vistato dal Tesoriere: non si può liquidare.",
            parent.id
        )));
    }
    let chapter = repo::chapter_for_update(&mut *tx, parent.chapter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    open_for(&mut *tx, &chapter, date).await?;
    let remaining = parent.amount - parent.used;
    if amount > remaining {
        return Err(AppError::Conflict(format!(
            "L'importo ({}) supera quanto resta del {parent_kind} n. {} ({}).",
            crate::format::euro(amount),
            parent.id,
            crate::format::euro(remaining)
        )));
    }
    let reason = if note.is_empty() {
        parent.reason.clone()
    } else {
        note
    };
    let now = state.now();
    let id = repo::insert_entry(
        &mut *tx,
        &NewEntry {
            residui: parent.residui,
            parent_id: Some(parent.id),
            party: &parent.party,
            party_code: &parent.party_code,
            iban: &parent.iban,
            cig: &parent.cig,
            cup: &parent.cup,
            ..NewEntry::new(chapter.id, kind, amount, date, &reason, now, user.id)
        },
    )
    .await?;
    audit::record(&mut *tx, now, audit::Event {
        actor: &user.actor(), action: &format!("ledger.{kind}"), entity: "ledger", entity_id: Some(id.to_string()),
        details: json!({ "parent": parent.id, "chapter": chapter.code, "amount": amount.to_string(), "cig": parent.cig, "cup": parent.cup }),
    })
    .await?;
    Ok(id)
}

/// A riscossione (incasso) of an accertamento.
pub async fn collect(
    state: &AppState,
    user: &CurrentUser,
    accertamento: i64,
    amount: Decimal,
    date: Date,
) -> AppResult<i64> {
    in_transaction(state, async |conn| {
        collect_in(conn, state, user, accertamento, amount, date).await
    })
    .await
}

/// [`collect`] in the caller's transaction (the journal applies a whole file in one).
pub async fn collect_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    accertamento: i64,
    amount: Decimal,
    date: Date,
) -> AppResult<i64> {
    let (parent, kind) = ("accertamento", "riscossione");
    child_in(conn, state, user, accertamento, parent, kind, amount, date, "").await
}

/// A liquidazione of an impegno (the sum certain and due, on the supplier's documents). With `last`,
/// what the impegno had beyond the liquidated total becomes an economy.
pub async fn liquidate(
    state: &AppState,
    user: &CurrentUser,
    impegno: i64,
    amount: Decimal,
    date: Date,
    document: &str,
    last: bool,
) -> AppResult<i64> {
    in_transaction(state, async |conn| {
        liquidate_in(conn, state, user, impegno, amount, date, document, last).await
    })
    .await
}

/// [`liquidate`] in the caller's transaction (the journal applies a whole file in one).
#[allow(clippy::too_many_arguments)]
pub async fn liquidate_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    impegno: i64,
    amount: Decimal,
    date: Date,
    document: &str,
    last: bool,
) -> AppResult<i64> {
    let id = child_in(
        &mut *conn,
        state,
        user,
        impegno,
        "impegno",
        "liquidazione",
        amount,
        date,
        document,
    )
    .await?;
    if last {
        let parent = repo::entry_for_update(&mut *conn, impegno)
            .await?
            .ok_or(AppError::NotFound)?;
        let left = parent.amount - parent.used;
        if left > Decimal::ZERO {
            let why = "Economia sull'impegno (minore spesa liquidata)";
            child_in(
                &mut *conn, state, user, impegno, "impegno", "economia", left, date, why,
            )
            .await?;
        }
    }
    Ok(id)
}

/// A pagamento of a liquidazione (CIG and CUP carried from the impegno, for traceability).
pub async fn pay(
    state: &AppState,
    user: &CurrentUser,
    liquidazione: i64,
    amount: Decimal,
    date: Date,
) -> AppResult<i64> {
    in_transaction(state, async |conn| {
        pay_in(conn, state, user, liquidazione, amount, date).await
    })
    .await
}

/// [`pay`] in the caller's transaction (the journal applies a whole file in one).
pub async fn pay_in(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    liquidazione: i64,
    amount: Decimal,
    date: Date,
) -> AppResult<i64> {
    let (parent, kind) = ("liquidazione", "pagamento");
    child_in(conn, state, user, liquidazione, parent, kind, amount, date, "").await
}

/// A reconciled pagoPA payment as the ledger needs it.
pub struct PagoPaPayment<'a> {
    pub receipt_id: i64,
    pub kind: &'a str,
    pub description: &'a str,
    pub debtor: &'a str,
    pub debtor_code: &'a str,
    pub amount: Decimal,
    pub paid_on: Date,
}

/// Records a reconciled pagoPA payment as accertamento and riscossione on the revenue chapter
/// configured for its kind (`ledger.pagopa_chapters`) in the year it was paid, in the caller's
/// transaction, at most once per payment (a unique index). `false` when the ledger has no such year,
/// chapter or the year is closed: the payment stays in the payments register and is recorded by hand.
pub async fn record_pagopa_payment(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &audit::Actor,
    p: &PagoPaPayment<'_>,
) -> AppResult<bool> {
    let Some(code) = state.config.ledger.pagopa_chapters.get(p.kind) else {
        return Ok(false);
    };
    let year = p.paid_on.year();
    let Some(chapter) = repo::revenue_chapter_for_update(conn, year, code).await? else {
        return Ok(false);
    };
    match repo::year_state(conn, year).await? {
        Some((_, _, _, false)) => {}
        _ => return Ok(false),
    }
    let now = state.now();
    let reason = format!("pagoPA: {}", p.description);
    let entry = |kind, parent_id| NewEntry {
        chapter_id: chapter.id,
        kind,
        residui: false,
        parent_id,
        amount: p.amount,
        cash_amount: Decimal::ZERO,
        entry_date: p.paid_on,
        party: p.debtor,
        party_code: p.debtor_code,
        iban: "",
        cig: "",
        cup: "",
        reason: &reason,
        authorised_by: "",
        resolution: "",
        countersigned_by: None,
        payment_receipt_id: Some(p.receipt_id),
        recorded_at: now,
        recorded_by: actor.id,
    };
    let assessed = repo::insert_entry(conn, &entry("accertamento", None)).await?;
    let collected = repo::insert_entry(conn, &entry("riscossione", Some(assessed))).await?;
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "ledger.pagopa",
            entity: "ledger",
            entity_id: Some(collected.to_string()),
            details: json!({ "receipt": p.receipt_id, "chapter": chapter.code, "amount": p.amount.to_string(),
                         "accertamento": assessed, "riscossione": collected }),
        },
    )
    .await?;
    Ok(true)
}
