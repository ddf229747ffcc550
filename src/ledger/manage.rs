//! The year's management page (`/backoffice/contabilita/{year}/gestione`, `LedgerWrite`): the budget
//! (chapters, allocations, approval by council resolution, the provisional budget), variations, petty
//! cash with its six-monthly report, the year's closing and the next year's opening. Each form is one
//! service call, one transaction; a refusal comes back on the page with its reason.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, RawForm};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::analysis::{self, roman};
use super::handlers::Fields;
use super::service::{self, NewChapter};
use super::{closing, operations, petty_cash};
use crate::error::{AppError, AppResult, FieldError};
use crate::format::euro;
use crate::members::model::italian_date;
use crate::web::{Ctx, Layout};

pub struct ChapterOption {
    pub id: i64,
    pub label: String,
}

pub struct PettyLine {
    pub date: String,
    pub payee: String,
    pub reason: String,
    pub amount: String,
}

pub struct Half {
    pub label: String,
    pub lines: Vec<PettyLine>,
    pub total: String,
    pub fund_left: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger/manage.html")]
pub struct ManagePage {
    pub layout: Layout,
    pub year: i32,
    pub status: String,
    pub exists: bool,
    pub open: bool,
    pub approved: bool,
    pub chapters: Vec<ChapterOption>,
    pub expenditure: Vec<ChapterOption>,
    pub halves: Vec<Half>,
    pub today: String,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

async fn page(
    ctx: &Ctx,
    year: i32,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<ManagePage> {
    let mut conn = ctx.state.pool.acquire().await?;
    let state = super::repo::year_state(&mut conn, year).await?;
    let exists = state.is_some();
    let (_, approved, provisional, closed) = state.unwrap_or((Decimal::ZERO, false, false, false));
    let rows = analysis::budget_vs_actual(&mut conn, year).await?;
    drop(conn);
    let option = |r: &analysis::ChapterFigures| ChapterOption {
        id: r.id,
        label: format!(
            "{} tit. {} · {} {} (disponibile {})",
            if r.side == "revenue" { "Entrata" } else { "Uscita" },
            roman(r.title),
            r.code,
            r.name,
            euro(r.available())
        ),
    };
    let mut halves = vec![];
    for half in [1u8, 2] {
        let report = petty_cash::report(&ctx.state, year, half).await?;
        halves.push(Half {
            label: format!(
                "{}° semestre ({} – {})",
                half,
                italian_date(report.from),
                italian_date(report.to)
            ),
            lines: report
                .expenses
                .iter()
                .map(|e| PettyLine {
                    date: italian_date(e.entry_date),
                    payee: e.payee.clone(),
                    reason: e.reason.clone(),
                    amount: euro(e.amount),
                })
                .collect(),
            total: euro(report.total),
            fund_left: euro(report.fund_left),
        });
    }
    let status = match (closed, approved, provisional) {
        _ if !exists => "Esercizio non ancora aperto",
        (true, _, _) => "Esercizio chiuso",
        (_, true, _) => "Bilancio di previsione approvato",
        (_, _, true) => "Esercizio provvisorio",
        _ => "Bilancio di previsione in preparazione",
    };
    Ok(ManagePage {
        layout: ctx.layout(format!("Gestione dell'esercizio {year}")).await?,
        year,
        status: status.into(),
        exists,
        open: exists && !closed,
        approved,
        chapters: rows.iter().map(option).collect(),
        expenditure: rows
            .iter()
            .filter(|r| r.side == "expenditure")
            .map(option)
            .collect(),
        halves,
        today: crate::format::rome_day(ctx.state.now()).to_string(),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ManageQuery {
    ok: Option<String>,
}

/// `GET /backoffice/contabilita/{year}/gestione`
pub async fn manage(ctx: Ctx, Path(year): Path<i32>, Query(q): Query<ManageQuery>) -> AppResult<Response> {
    let notice = q.ok.map(|what| format!("Registrato: {what}."));
    Ok(page(&ctx, year, vec![], notice).await?.into_response())
}

fn flag(f: &Fields, name: &str) -> bool {
    f.text(name) == "1"
}

/// `POST /backoffice/contabilita/{year}/gestione`: the form's `operation` says which.
pub async fn act(ctx: Ctx, Path(year): Path<i32>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let actor = user.actor();
    let f = Fields::parse(&body);
    let state = &ctx.state;
    let operation = f.text("operation");
    if operation == "nuovo_esercizio" {
        let opened = async {
            let next: i32 = f
                .text("year")
                .parse()
                .map_err(|_| AppError::Validation(vec![FieldError::new("year", "Anno non valido.")]))?;
            service::open_year(state, &actor, next, f.amount("presumed_result")?)
                .await
                .map(|_| next)
        }
        .await;
        return match opened {
            Ok(next) => Ok(Redirect::to(&format!("/backoffice/contabilita/{next}/gestione")).into_response()),
            Err(e) => refused(&ctx, year, e).await,
        };
    }
    let (what, result): (String, AppResult<()>) = match operation.as_str() {
        "capitolo" => (
            "nuovo capitolo".into(),
            async {
                let title = f.text("title").parse::<i16>().map_err(|_| {
                    AppError::Validation(vec![FieldError::new(
                        "title",
                        "Titolo: un numero da 1 a 5 (entrate) o da 1 a 4 (uscite).",
                    )])
                })?;
                let c = NewChapter {
                    year,
                    revenue: f.text("side") == "revenue",
                    title,
                    category: f.text("category"),
                    code: f.text("code"),
                    name: f.text("name"),
                    reserve_fund: flag(&f, "reserve_fund"),
                };
                service::add_chapter(state, &actor, c).await.map(|_| ())
            }
            .await,
        ),
        "stanziamento" => (
            "stanziamento".into(),
            async {
                let chapter = f.id("chapter")?.ok_or_else(|| {
                    AppError::Validation(vec![FieldError::new("chapter", "Scegli il capitolo.")])
                })?;
                let cash = if f.text("cash").is_empty() {
                    f.amount("competence")?
                } else {
                    f.amount("cash")?
                };
                service::allocate(state, &actor, chapter, f.amount("competence")?, cash)
                    .await
                    .map(|_| ())
            }
            .await,
        ),
        "approvazione" => (
            "approvazione del bilancio".into(),
            service::approve_budget(state, &actor, year, &f.text("resolution")).await,
        ),
        "provvisorio" => (
            "esercizio provvisorio".into(),
            service::start_provisional(state, &actor, year, &f.text("resolution")).await,
        ),
        "variazione" => (
            "variazione".into(),
            async {
                let missing = || {
                    AppError::Validation(vec![FieldError::new(
                        "from",
                        "Scegli i due capitoli della variazione.",
                    )])
                };
                let (from, to) = (
                    f.id("from")?.ok_or_else(missing)?,
                    f.id("to")?.ok_or_else(missing)?,
                );
                let exceptional = f.text("exceptional");
                let exceptional = (!exceptional.is_empty()).then_some(exceptional.as_str());
                operations::transfer(
                    state,
                    &user,
                    from,
                    to,
                    f.amount("amount")?,
                    f.date("date", "Data")?,
                    &f.text("resolution"),
                    &f.text("reason"),
                    exceptional,
                )
                .await
                .map(|_| ())
            }
            .await,
        ),
        "cassa_economale" => (
            "spesa di cassa economale".into(),
            async {
                petty_cash::spend(
                    state,
                    &user,
                    f.date("date", "Data")?,
                    f.amount("amount")?,
                    &f.text("payee"),
                    &f.text("reason"),
                )
                .await
                .map(|_| ())
            }
            .await,
        ),
        "chiusura" => (
            "chiusura dell'esercizio".into(),
            closing::close_year(state, &user, year, &f.text("resolution"))
                .await
                .map(|_| ()),
        ),
        _ => (
            String::new(),
            Err(AppError::Validation(vec![FieldError::new(
                "operation",
                "Operazione sconosciuta.",
            )])),
        ),
    };
    match result {
        Ok(()) => {
            let to = format!(
                "/backoffice/contabilita/{year}/gestione?ok={}",
                super::handlers::urlencoding(&what)
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => refused(&ctx, year, e).await,
    }
}

/// The page again with the reason of a refusal.
async fn refused(ctx: &Ctx, year: i32, e: AppError) -> AppResult<Response> {
    let (status, errors) = match e {
        AppError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        AppError::Conflict(m) => (StatusCode::CONFLICT, vec![FieldError::new("rule", m)]),
        e => return Err(e),
    };
    Ok((status, page(ctx, year, errors, None).await?).into_response())
}
