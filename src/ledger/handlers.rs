//! Pages of the ledger (`/backoffice/contabilita`): the year's budget against actual with its chart,
//! a chapter with its entries and the operation forms, cash and residui, earmarked funds, and the
//! exports (CSV, PDF). Everyone with `LedgerRead` sees; the forms show to those with `LedgerWrite`,
//! and every operation is still checked by the services (roles, authority, rules).

use std::collections::HashMap;

use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use time::Date;

use super::analysis::{self, ChapterFigures};
use super::controls::{self, NewBooking, NewFund};
use super::operations::{self, NewAssessment};
use super::rules::Authorisation;
use super::service::{self, NewCommitment};
use super::views::*;
use crate::auth::{Decision, Permission, Role};
use crate::error::{AppError, AppResult, FieldError};
use crate::web::{Ctx, download};

fn can(ctx: &Ctx, permission: Permission) -> bool {
    ctx.user
        .as_ref()
        .is_some_and(|u| u.principal().decide(permission) == Decision::Allow)
}

fn has_role(ctx: &Ctx, role: Role) -> bool {
    ctx.user.as_ref().is_some_and(|u| u.roles.contains(&role))
}

/// `GET /backoffice/contabilita`: the current year, or the latest one kept.
pub async fn index(ctx: Ctx) -> AppResult<Response> {
    let mut conn = ctx.state.pool.acquire().await?;
    let years = analysis::years(&mut conn).await?;
    let now = crate::format::rome_year(ctx.state.now());
    let latest = years.iter().copied().filter(|y| *y <= now).max();
    let Some(year) = latest.or(years.last().copied()) else {
        // Nothing kept yet: those who may, open the first year.
        if can(&ctx, Permission::LedgerWrite) {
            return Ok(Redirect::to(&format!("/backoffice/contabilita/{now}/gestione")).into_response());
        }
        return Err(AppError::NotFound);
    };
    Ok(Redirect::to(&format!("/backoffice/contabilita/{year}")).into_response())
}

pub(super) async fn figures(ctx: &Ctx, year: i32) -> AppResult<Vec<ChapterFigures>> {
    let mut conn = ctx.state.pool.acquire().await?;
    let rows = analysis::budget_vs_actual(&mut conn, year).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(rows)
}

/// `GET /backoffice/contabilita/{year}`: budget against actual per chapter, the chart by title, the
/// impegni waiting for a control.
pub async fn year(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    let mut conn = ctx.state.pool.acquire().await?;
    let years = analysis::years(&mut conn).await?;
    let Some((presumed, approved, provisional, closed)) = super::repo::year_state(&mut conn, year).await?
    else {
        return Err(AppError::NotFound);
    };
    let rows = analysis::budget_vs_actual(&mut conn, year).await?;
    drop(conn);
    let status = match (closed, approved, provisional) {
        (true, _, _) => "Esercizio chiuso",
        (_, true, _) => "Bilancio di previsione approvato",
        (_, _, true) => "Esercizio provvisorio",
        _ => "Bilancio di previsione in preparazione",
    };
    let pending = controls::pending(&ctx.state, year).await?;
    Ok(YearPage {
        layout: ctx.layout(format!("Contabilità {year}")).await?,
        year,
        years,
        status: status.to_string(),
        presumed_result: crate::format::euro(presumed),
        chart: analysis::chart_svg(&rows, year),
        sides: vec![
            SideTable {
                id: "revenue-chapters",
                caption: "Entrate",
                actual: "Accertato",
                cashed: "Riscosso",
                available: "Da accertare",
                rows: rows
                    .iter()
                    .filter(|r| r.side == "revenue")
                    .map(FigureLine::from)
                    .collect(),
            },
            SideTable {
                id: "expenditure-chapters",
                caption: "Uscite",
                actual: "Impegnato",
                cashed: "Pagato",
                available: "Disponibile",
                rows: rows
                    .iter()
                    .filter(|r| r.side == "expenditure")
                    .map(FigureLine::from)
                    .collect(),
            },
        ],
        can_write: can(&ctx, Permission::LedgerWrite),
        to_countersign: pending.countersign.iter().map(PendingLine::from).collect(),
        to_ratify: pending.ratification.iter().map(PendingLine::from).collect(),
    }
    .into_response())
}

pub(super) async fn cash_data(
    ctx: &Ctx,
    year: i32,
) -> AppResult<(Vec<(i32, Decimal, Decimal)>, Vec<analysis::Residuo>)> {
    let mut conn = ctx.state.pool.acquire().await?;
    if super::repo::year_state(&mut conn, year).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok((
        analysis::cash_by_month(&mut conn, year).await?,
        analysis::residui(&mut conn, year).await?,
    ))
}

/// `GET /backoffice/contabilita/{year}/cassa`: collections and payments by month, and the residui
/// carried into the year with what is left of them.
pub async fn cash(ctx: Ctx, Path(year): Path<i32>) -> AppResult<Response> {
    use crate::format::euro;
    let (months, residui) = cash_data(&ctx, year).await?;
    let rows = super::report::rendiconto(&ctx.state, year).await?;
    let administration = super::report::administration_of(&ctx.state, year, &rows).await?;
    let opening = administration.opening_cash.unwrap_or_default();
    let mut balance = opening;
    let mut lines = vec![];
    let (mut collected, mut paid) = (Decimal::ZERO, Decimal::ZERO);
    for (m, c, p) in months {
        balance += c - p;
        collected += c;
        paid += p;
        lines.push(CashLine {
            month: super::exports::month_name(m).to_string(),
            collected: euro(c),
            paid: euro(p),
            balance: euro(balance),
        });
    }
    Ok(CashPage {
        layout: ctx.layout(format!("Cassa e residui {year}")).await?,
        year,
        months: lines,
        opening: euro(opening),
        administration: super::report::administration_table(&administration, false)
            .into_iter()
            .map(|line| (line[4].clone(), line[5].clone()))
            .collect(),
        total: CashLine {
            month: "Totale".into(),
            collected: euro(collected),
            paid: euro(paid),
            balance: euro(balance),
        },
        residui: residui
            .iter()
            .map(|r| ResiduoLine {
                id: r.id,
                active: r.kind == "accertamento",
                chapter: r.chapter.clone(),
                party: r.party.clone(),
                reason: r.reason.clone(),
                amount: euro(r.amount),
                cashed: euro(r.cashed),
                left: euro(r.amount - r.cashed),
            })
            .collect(),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChapterQuery {
    ok: Option<String>,
}

async fn chapter_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<ChapterPage> {
    let mut conn = ctx.state.pool.acquire().await?;
    let year = analysis::year_of_chapter(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = analysis::budget_vs_actual(&mut conn, year).await?;
    let chapter = rows.iter().find(|r| r.id == id).ok_or(AppError::NotFound)?;
    let entries = analysis::chapter_entries(&mut conn, id).await?;
    drop(conn);
    let funds = controls::funds(&ctx.state).await?;
    Ok(ChapterPage {
        layout: ctx
            .layout(format!("Capitolo {} «{}»", chapter.code, chapter.name))
            .await?,
        year,
        chapter: FigureLine::from(chapter),
        revenue: chapter.side == "revenue",
        bookings: entries
            .iter()
            .filter(|e| e.kind == "prenotazione" && e.used.is_zero())
            .map(EntryView::from)
            .collect(),
        entries: entries.iter().map(EntryView::from).collect(),
        funds: funds
            .iter()
            .map(|f| FundOption {
                id: f.fund.id,
                label: format!("{} (CUP {})", f.fund.name, f.fund.cup),
            })
            .collect(),
        can_write: can(ctx, Permission::LedgerWrite),
        is_treasurer: has_role(ctx, Role::Treasurer),
        is_secretariat: has_role(ctx, Role::Secretariat) || has_role(ctx, Role::Admin),
        today: crate::format::rome_day(ctx.state.now()).to_string(),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

/// `GET /backoffice/contabilita/capitolo/{id}`
pub async fn chapter(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ChapterQuery>) -> AppResult<Response> {
    let notice = q.ok.map(|what| format!("Registrato: {what}."));
    Ok(chapter_page(&ctx, id, vec![], notice).await?.into_response())
}

/// The form's fields by name.
pub(super) struct Fields(HashMap<String, String>);

impl Fields {
    pub(super) fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }
    pub(super) fn text(&self, name: &str) -> String {
        self.0.get(name).map(|v| v.trim().to_string()).unwrap_or_default()
    }
    pub(super) fn amount(&self, name: &'static str) -> AppResult<Decimal> {
        crate::import::values::decimal(&self.text(name))
            .map_err(|m| AppError::Validation(vec![FieldError::new(name, format!("Importo: {m}"))]))
    }
    pub(super) fn date(&self, name: &'static str, label: &str) -> AppResult<Date> {
        crate::members::model::parse_date(&self.text(name)).ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                name,
                format!("{label}: indica una data (gg/mm/aaaa)."),
            )])
        })
    }
    pub(super) fn id(&self, name: &'static str) -> AppResult<Option<i64>> {
        match self.text(name).as_str() {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::Validation(vec![FieldError::new(name, "Scelta non valida.")])),
        }
    }
}

/// Runs an operation from a form: back to the chapter with a notice, or the chapter again with the
/// reason of the refusal (a rule's conflict too, shown with the form).
async fn outcome(ctx: &Ctx, chapter: i64, what: &str, result: AppResult<()>) -> AppResult<Response> {
    let (status, errors) = match result {
        Ok(()) => {
            let to = format!(
                "/backoffice/contabilita/capitolo/{chapter}?ok={}",
                urlencoding(what)
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, vec![FieldError::new("rule", m)]),
        Err(e) => return Err(e),
    };
    Ok((status, chapter_page(ctx, chapter, errors, None).await?).into_response())
}

pub(super) fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `POST /backoffice/contabilita/capitolo/{id}/operazione`: a new impegno, prenotazione or
/// accertamento on the chapter (field `operation`).
pub async fn new_operation(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::parse(&body);
    let state = &ctx.state;
    let (what, result) = match f.text("operation").as_str() {
        "impegno" => (
            "impegno",
            async {
                let authorisation = match f.text("authorisation").as_str() {
                    "tesoriere" => Authorisation::Treasurer,
                    "presidente" => Authorisation::President,
                    "urgente" => Authorisation::PresidentUrgent {
                        reason: f.text("resolution"),
                    },
                    "consiglio" => Authorisation::Council {
                        resolution: f.text("resolution"),
                    },
                    _ => {
                        return Err(AppError::Validation(vec![FieldError::new(
                            "authorisation",
                            "Scegli chi autorizza l'impegno.",
                        )]));
                    }
                };
                let c = NewCommitment {
                    chapter_id: id,
                    amount: f.amount("amount")?,
                    date: f.date("date", "Data dell'impegno")?,
                    supplier: f.text("supplier"),
                    supplier_code: f.text("supplier_code"),
                    iban: f.text("iban"),
                    cig: f.text("cig"),
                    cup: f.text("cup"),
                    reason: f.text("reason"),
                    authorisation,
                    booking: f.id("booking")?,
                    fund_id: f.id("fund")?,
                };
                service::commit_expense(state, &user, c).await.map(|_| ())
            }
            .await,
        ),
        "prenotazione" => (
            "prenotazione",
            async {
                let b = NewBooking {
                    chapter_id: id,
                    amount: f.amount("amount")?,
                    date: f.date("date", "Data")?,
                    reason: f.text("reason"),
                };
                controls::book(state, &user, b).await.map(|_| ())
            }
            .await,
        ),
        "accertamento" => (
            "accertamento",
            async {
                let a = NewAssessment {
                    chapter_id: id,
                    amount: f.amount("amount")?,
                    date: f.date("date", "Data dell'accertamento")?,
                    debtor: f.text("debtor"),
                    debtor_code: f.text("debtor_code"),
                    due_date: f.date("due_date", "Scadenza")?,
                    legal_title: f.text("legal_title"),
                    fund_id: f.id("fund")?,
                };
                operations::assess(state, &user, a).await.map(|_| ())
            }
            .await,
        ),
        _ => (
            "",
            Err(AppError::Validation(vec![FieldError::new(
                "operation",
                "Operazione sconosciuta.",
            )])),
        ),
    };
    outcome(&ctx, id, what, result).await
}

/// `POST /backoffice/contabilita/voce/{id}/{action}`: riscossione, liquidazione, pagamento, visto
/// (countersignature) or ratifica of an entry.
pub async fn entry_action(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let chapter = {
        let mut conn = ctx.state.pool.acquire().await?;
        analysis::chapter_of_entry(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let f = Fields::parse(&body);
    let state = &ctx.state;
    let (what, result) = match action.as_str() {
        "riscossione" => (
            "riscossione",
            async {
                operations::collect(
                    state,
                    &user,
                    id,
                    f.amount("amount")?,
                    f.date("date", "Data dell'incasso")?,
                )
                .await
                .map(|_| ())
            }
            .await,
        ),
        "liquidazione" => (
            "liquidazione",
            async {
                let last = f.text("last") == "1";
                operations::liquidate(
                    state,
                    &user,
                    id,
                    f.amount("amount")?,
                    f.date("date", "Data")?,
                    &f.text("document"),
                    last,
                )
                .await
                .map(|_| ())
            }
            .await,
        ),
        "pagamento" => (
            "pagamento",
            async {
                operations::pay(
                    state,
                    &user,
                    id,
                    f.amount("amount")?,
                    f.date("date", "Data del pagamento")?,
                )
                .await
                .map(|_| ())
            }
            .await,
        ),
        "visto" => (
            "visto del Tesoriere",
            controls::countersign(state, &user, id).await,
        ),
        "ratifica" => (
            "ratifica",
            async {
                controls::ratify(
                    state,
                    &user,
                    id,
                    &f.text("resolution"),
                    f.date("resolution_date", "Data della delibera")?,
                )
                .await
            }
            .await,
        ),
        _ => return Err(AppError::NotFound),
    };
    outcome(&ctx, chapter, what, result).await
}

/// `GET /backoffice/contabilita/voce/{id}/ricevuta.pdf`: the incasso receipt of a riscossione.
pub async fn receipt(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (pdf, name) = super::receipts::receipt_pdf(&ctx.state, id).await?;
    Ok(download::file(&name, "application/pdf", pdf))
}

async fn funds_page(ctx: &Ctx, errors: Vec<FieldError>) -> AppResult<FundsPage> {
    let funds = controls::funds(&ctx.state).await?;
    Ok(FundsPage {
        layout: ctx.layout("Fondi vincolati").await?,
        funds: funds.iter().map(FundLine::from).collect(),
        can_write: can(ctx, Permission::LedgerWrite),
        csrf_token: ctx.csrf_token().await?,
        errors,
    })
}

/// `GET /backoffice/contabilita/vincolati`
pub async fn funds(ctx: Ctx) -> AppResult<Response> {
    Ok(funds_page(&ctx, vec![]).await?.into_response())
}

/// `POST /backoffice/contabilita/vincolati`
pub async fn create_fund(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::parse(&body);
    let result = async {
        let fund = NewFund {
            cup: f.text("cup"),
            name: f.text("name"),
            grantor: f.text("grantor"),
            purpose: f.text("purpose"),
            amount: f.amount("amount")?,
        };
        controls::create_fund(&ctx.state, &user, fund).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/backoffice/contabilita/vincolati").into_response()),
        Err(AppError::Validation(errors)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, funds_page(&ctx, errors).await?).into_response())
        }
        Err(e) => Err(e),
    }
}
