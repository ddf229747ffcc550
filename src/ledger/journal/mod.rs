//! `ordo ledger apply FILE`: a CSV journal of the ledger's operations (opening a year, chapters,
//! allocations, the budget's approval, variations, accertamenti and riscossioni, impegni, liquidazioni
//! and pagamenti, the year's closing), each row through the same service and rules as the web forms,
//! in the caller's transaction (`*_in`). The whole file is one transaction and each row a savepoint:
//! atomic by default (any refusal and nothing is written, every refusal still reported with its line),
//! or keeping the valid rows. Rows name earlier rows by the journal's own references (`rif`,
//! `rif_padre`), never by database ids. The file is recorded by its SHA-256 and never applied twice.
//!
//! Who acts: an account of ordo (the operator) is the author of every entry; the audit log's actor
//! names the journal (`giornale:FILE (operator)`). Each row acts with the treasurer's role (whose books
//! the journal are: every impegno is countersigned) plus the authority its `autorizzazione` claims.

pub mod parse;

use std::collections::HashMap;

use serde_json::json;
use sqlx::{Connection, PgConnection};

use self::parse::{Kind, Row};
use super::closing;
use super::operations::{self, NewAssessment};
use super::repo;
use super::rules::Authorisation;
use super::service::{self, NewChapter, NewCommitment};
use crate::audit::{self, Actor};
use crate::auth::{CurrentUser, Role};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All or nothing (the default).
    Atomic,
    /// Write the rows that pass, skip the refused ones.
    ValidRows,
}

/// The account that applies the journal.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: i64,
    pub email: String,
}

/// A refused row: its line in the file, its kind, and why (the service's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rows: usize,
    pub applied: usize,
    pub refusals: Vec<Refusal>,
    /// Whether anything was written (atomic with refusals, or nothing valid: no).
    pub written: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file cannot be read as a journal.
    #[error("{0}")]
    File(String),
    /// The same file (by SHA-256) was applied already.
    #[error("{0}")]
    AlreadyApplied(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sqlx::Error> for JournalError {
    fn from(e: sqlx::Error) -> Self {
        JournalError::App(e.into())
    }
}

/// Applies a journal file (its bytes, and its name for the record).
pub async fn apply(
    state: &AppState,
    operator: &Operator,
    file_name: &str,
    bytes: &[u8],
    mode: Mode,
) -> Result<Outcome, JournalError> {
    let (rows, sha256) = parse::read(bytes).map_err(JournalError::File)?;
    let already = |name: &str, at| {
        JournalError::AlreadyApplied(format!(
            "Questo giornale è già stato applicato il {} (file «{name}», stesso contenuto): non si applica due volte.",
            crate::format::rome_datetime(at)
        ))
    };
    let mut tx = state.pool.begin().await?;
    if let Some((name, at)) = repo::journal_applied(&mut tx, &sha256).await? {
        return Err(already(&name, at));
    }
    let label = format!("giornale:{file_name} ({})", operator.email);
    let mut run = Run {
        state,
        operator: operator.id,
        label,
        refs: HashMap::new(),
        refused: HashMap::new(),
    };
    let (mut applied, mut refusals) = (0usize, vec![]);
    for row in &rows {
        let kind = row.text("tipo").to_string();
        let mut savepoint = Connection::begin(&mut *tx).await?;
        match run.row(&mut savepoint, row).await {
            Ok(()) => {
                savepoint.commit().await?;
                applied += 1;
            }
            Err(message) => {
                savepoint.rollback().await?;
                let rif = row.text("rif");
                if !rif.is_empty() && !run.refs.contains_key(rif) {
                    run.refused.insert(rif.to_string(), row.line);
                }
                refusals.push(Refusal {
                    line: row.line,
                    kind,
                    message,
                });
            }
        }
    }
    let written = applied > 0 && (refusals.is_empty() || mode == Mode::ValidRows);
    if !written {
        tx.rollback().await?;
        return Ok(Outcome {
            rows: rows.len(),
            applied: 0,
            refusals,
            written,
        });
    }
    let now = state.now();
    let count = i32::try_from(applied).map_err(AppError::internal)?;
    if !repo::insert_journal(&mut tx, &sha256, file_name, count, now, Some(operator.id)).await? {
        return Err(already(file_name, now));
    }
    let hex: String = sha256.iter().map(|b| format!("{b:02x}")).collect();
    audit::record(&mut tx, now, audit::Event {
        actor: &run.actor(), action: "ledger.journal", entity: "ledger", entity_id: Some(hex),
        details: json!({ "file": file_name, "rows": rows.len(), "applied": applied, "refused": refusals.len() }),
    })
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        rows: rows.len(),
        applied,
        refusals,
        written,
    })
}

/// The state of one application: the references defined so far and those of refused rows.
struct Run<'a> {
    state: &'a AppState,
    operator: i64,
    label: String,
    /// rif → the entry it created.
    refs: HashMap<String, i64>,
    /// rif → the line of the refused row that would have defined it.
    refused: HashMap<String, u64>,
}

impl Run<'_> {
    fn actor(&self) -> Actor {
        Actor {
            id: Some(self.operator),
            label: self.label.clone(),
        }
    }

    /// The operator as the services see them: the treasurer, with the authority the row claims.
    fn user(&self, authority: Option<Role>) -> CurrentUser {
        let mut roles = vec![Role::Treasurer];
        roles.extend(authority);
        CurrentUser {
            id: self.operator,
            email: self.label.clone(),
            display_name: self.label.clone(),
            roles,
            second_factor: true,
            epoch: 0,
            auth_at: 0,
        }
    }

    fn parent(&self, row: &Row) -> Result<i64, String> {
        let rif = row.required("rif_padre")?;
        if let Some(id) = self.refs.get(rif) {
            return Ok(*id);
        }
        Err(match self.refused.get(rif) {
            Some(line) => format!("Il riferimento «{rif}» rimanda alla riga {line}, che è stata rifiutata."),
            None => format!("Il riferimento «{rif}» non è definito in una riga precedente del giornale."),
        })
    }

    /// The chapter named by `column` (its code) in the row's year, on `side` (or the row's `parte`).
    async fn chapter(
        &self,
        conn: &mut PgConnection,
        row: &Row,
        column: &str,
        side: Option<&str>,
    ) -> Result<i64, String> {
        let (code, year) = (row.required(column)?, row.year()?);
        let side = match side {
            Some(s) => Some(s),
            None => row.side()?,
        };
        let found = repo::chapters_by_code(conn, year, side, code)
            .await
            .map_err(|e| message(e.into()))?;
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(format!("Il capitolo {code} non esiste nell'esercizio {year}.")),
            _ => Err(format!(
                "Il codice {code} è sia di entrata sia di uscita nel {year}: indica la colonna «parte» (E o U)."
            )),
        }
    }

    /// One row through its service; the references it defines are kept.
    async fn row(&mut self, conn: &mut PgConnection, row: &Row) -> Result<(), String> {
        let kind = Kind::parse(row.text("tipo")).ok_or_else(|| {
            let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            format!(
                "Tipo «{}» sconosciuto: i tipi sono {}.",
                row.text("tipo"),
                kinds.join(", ")
            )
        })?;
        let rif = row.text("rif");
        if !rif.is_empty() && self.refs.contains_key(rif) {
            return Err(format!(
                "Il riferimento «{rif}» è già definito da una riga precedente."
            ));
        }
        let created = self.run(conn, row, kind).await?;
        if let Some(id) = created.filter(|_| !rif.is_empty()) {
            self.refs.insert(rif.to_string(), id);
        }
        Ok(())
    }

    async fn run(&self, conn: &mut PgConnection, row: &Row, kind: Kind) -> Result<Option<i64>, String> {
        let (state, actor) = (self.state, self.actor());
        let done = match kind {
            Kind::Year => service::open_year_in(conn, state, &actor, row.year()?, row.amount("importo")?)
                .await
                .map(|()| None),
            Kind::OpeningCash => {
                service::record_opening_cash_in(conn, state, &actor, row.year()?, row.amount("importo")?)
                    .await
                    .map(|()| None)
            }
            Kind::Chapter => {
                let revenue = match row.side()? {
                    Some(side) => side == "revenue",
                    None => return Err("Indica la parte del capitolo (colonna «parte»: E o U).".into()),
                };
                let chapter = NewChapter {
                    year: row.year()?,
                    revenue,
                    title: row.title()?,
                    category: row.required("categoria")?.to_string(),
                    code: row.required("capitolo")?.to_string(),
                    name: row.required("denominazione")?.to_string(),
                    reserve_fund: row.flag("fondo_riserva")?,
                };
                service::add_chapter_in(conn, state, &actor, chapter)
                    .await
                    .map(Some)
            }
            Kind::Allocation => {
                let chapter = self.chapter(conn, row, "capitolo", None).await?;
                let amount = row.amount("importo")?;
                let cash = row.amount_or("importo_cassa", amount)?;
                service::allocate_in(conn, state, &actor, chapter, amount, cash)
                    .await
                    .map(Some)
            }
            Kind::Approval => {
                service::approve_budget_in(conn, state, &actor, row.year()?, row.text("delibera"))
                    .await
                    .map(|()| None)
            }
            Kind::Provisional => {
                service::start_provisional_in(conn, state, &actor, row.year()?, row.text("delibera"))
                    .await
                    .map(|()| None)
            }
            Kind::Variation => {
                let from = self.chapter(conn, row, "capitolo", Some("expenditure")).await?;
                let to = self.chapter(conn, row, "capitolo_a", Some("expenditure")).await?;
                let exceptional = Some(row.text("eccezionale")).filter(|e| !e.is_empty());
                operations::transfer_in(
                    conn,
                    state,
                    &self.user(None),
                    from,
                    to,
                    row.amount("importo")?,
                    row.date("data")?,
                    row.text("delibera"),
                    row.text("motivo"),
                    exceptional,
                )
                .await
                .map(|(from, _)| Some(from))
            }
            Kind::Assessment => {
                let chapter_id = self.chapter(conn, row, "capitolo", Some("revenue")).await?;
                let date = row.date("data")?;
                let due_date = match row.text("scadenza") {
                    "" => date,
                    _ => row.date("scadenza")?,
                };
                let a = NewAssessment {
                    chapter_id,
                    amount: row.amount("importo")?,
                    date,
                    debtor: row.text("soggetto").to_string(),
                    debtor_code: row.text("codice_fiscale").to_string(),
                    due_date,
                    legal_title: row.text("motivo").to_string(),
                    // The `cup` column charges the accertamento to that earmarked fund.
                    fund_id: super::controls::fund_by_cup(conn, row.text("cup"))
                        .await
                        .map_err(message)?,
                };
                operations::assess_in(conn, state, &self.user(None), a)
                    .await
                    .map(Some)
            }
            Kind::Collection | Kind::Payment => {
                let (parent, amount, date) = (self.parent(row)?, row.amount("importo")?, row.date("data")?);
                let user = self.user(None);
                match kind {
                    Kind::Collection => {
                        operations::collect_in(conn, state, &user, parent, amount, date).await
                    }
                    _ => operations::pay_in(conn, state, &user, parent, amount, date).await,
                }
                .map(Some)
            }
            Kind::Commitment => {
                let chapter_id = self.chapter(conn, row, "capitolo", Some("expenditure")).await?;
                let (authorisation, role) = authorisation(row)?;
                let c = NewCommitment {
                    chapter_id,
                    amount: row.amount("importo")?,
                    date: row.date("data")?,
                    supplier: row.text("soggetto").to_string(),
                    supplier_code: row.text("codice_fiscale").to_string(),
                    iban: row.text("iban").to_string(),
                    cig: row.text("cig").to_string(),
                    cup: row.text("cup").to_string(),
                    reason: row.text("motivo").to_string(),
                    authorisation,
                    booking: None,
                    // An impegno whose CUP is a fund's is charged to that fund.
                    fund_id: None,
                };
                service::commit_expense_in(conn, state, &self.user(role), c)
                    .await
                    .map(Some)
            }
            Kind::Liquidation => {
                let parent = self.parent(row)?;
                let (amount, date, last) = (row.amount("importo")?, row.date("data")?, row.flag("ultima")?);
                let user = self.user(None);
                operations::liquidate_in(
                    conn,
                    state,
                    &user,
                    parent,
                    amount,
                    date,
                    row.text("documento"),
                    last,
                )
                .await
                .map(Some)
            }
            Kind::Fund => {
                let fund = super::controls::NewFund {
                    cup: row.required("cup")?.to_string(),
                    name: row.required("denominazione")?.to_string(),
                    grantor: row.required("soggetto")?.to_string(),
                    purpose: row.required("motivo")?.to_string(),
                    amount: row.amount("importo")?,
                };
                super::controls::create_fund_in(conn, state, &self.user(None), fund)
                    .await
                    .map(Some)
            }
            Kind::Close => {
                closing::close_year_in(conn, state, &self.user(None), row.year()?, row.text("delibera"))
                    .await
                    .map(|_| None)
            }
        };
        done.map_err(message)
    }
}

/// The authority an impegno's `autorizzazione` claims, and the role that goes with it.
fn authorisation(row: &Row) -> Result<(Authorisation, Option<Role>), String> {
    Ok(match row.required("autorizzazione")?.to_lowercase().as_str() {
        "tesoriere" => (Authorisation::Treasurer, None),
        "presidente" => (Authorisation::President, Some(Role::President)),
        "urgente" => (
            Authorisation::PresidentUrgent {
                reason: row.text("urgenza").to_string(),
            },
            Some(Role::President),
        ),
        "consiglio" => (
            Authorisation::Council {
                resolution: row.text("delibera").to_string(),
            },
            Some(Role::Secretariat),
        ),
        v => {
            return Err(format!(
                "Colonna «autorizzazione»: «{v}» non è tesoriere, presidente, urgente o consiglio."
            ));
        }
    })
}

/// The journal's column for a field the services name.
fn column(field: &str) -> &str {
    match field {
        "amount" | "opening_cash" => "importo",
        "date" => "data",
        "due_date" => "scadenza",
        "authorisation" => "autorizzazione",
        "resolution" => "delibera",
        "reason" | "legal_title" => "motivo",
        "supplier" | "debtor" => "soggetto",
        "supplier_code" | "debtor_code" => "codice_fiscale",
        "chapter_id" | "code" | "category" | "name" => "capitolo",
        "to_chapter" => "capitolo_a",
        "title" => "titolo",
        "reserve_fund" => "fondo_riserva",
        "year" => "esercizio",
        "exceptional" => "eccezionale",
        "note" => "documento",
        "parent" => "rif_padre",
        "variation" => "regole delle variazioni",
        "budget" => "equilibrio del bilancio",
        other => other,
    }
}

/// The service's refusal as the journal reports it.
fn message(e: AppError) -> String {
    match e {
        AppError::Validation(errors) => errors
            .iter()
            .map(|f| format!("{} [{}]", f.message, column(f.field)))
            .collect::<Vec<_>>()
            .join(" "),
        AppError::Conflict(m) | AppError::BadRequest(m) => m,
        AppError::NotFound => "Esercizio, capitolo od operazione non trovati.".into(),
        AppError::Forbidden => "L'autorizzazione indicata non basta per questa operazione.".into(),
        other => format!("Errore: {other}"),
    }
}
