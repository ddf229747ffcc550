//! `ordo ledger …`: the ledger's journal and reports from the command line (for migrating from the
//! previous accounting software, for auditors and scripts).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::error::AppError;
use crate::state::AppState;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Apply a CSV journal of operations (see README, «Il giornale delle operazioni»), each row through
    /// the same rules as the web forms. Atomic: if any row is refused nothing is written. Exit status 0
    /// when every row was applied; 1 when rows were refused (each printed with its line, kind and
    /// reason; with --valid-rows the others were written); 2 when the file cannot be read as a journal
    /// or the operator is unknown; 3 when the same file was applied already (nothing written).
    Apply {
        file: PathBuf,
        /// The e-mail of the ordo account that applies the journal (recorded as the author).
        #[arg(long)]
        operator: String,
        /// Write the rows that pass and skip the refused ones (default: all or nothing).
        #[arg(long)]
        valid_rows: bool,
    },
    /// Print a report of the ledger on standard output.
    Report {
        #[command(subcommand)]
        report: Report,
    },
}

#[derive(Subcommand)]
pub enum Report {
    /// The rendiconto finanziario of a year: by titolo, categoria and capitolo, competence and residui.
    Rendiconto {
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Pdf,
}

/// Exit 0 with the report on standard output; 1 with a message when the year has no budget.
pub async fn run(command: LedgerCommand, state: &AppState) -> anyhow::Result<ExitCode> {
    let (year, format) = match command {
        LedgerCommand::Apply {
            file,
            operator,
            valid_rows,
        } => return apply(state, &file, &operator, valid_rows).await,
        LedgerCommand::Report {
            report: Report::Rendiconto { year, format },
        } => (year, format),
    };
    let rows = match super::report::rendiconto(state, year).await {
        Ok(rows) => rows,
        Err(AppError::NotFound) => {
            eprintln!("L'esercizio {year} non ha capitoli nel bilancio: nessun rendiconto.");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::anyhow!("{e:?}")),
    };
    let administration = super::report::administration_of(state, year, &rows)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bytes = match format {
        Format::Csv => super::report::csv(&rows, &administration),
        Format::Pdf => super::report::pdf(state, year, &rows, &administration).await,
    }
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    std::io::stdout().write_all(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// `ordo ledger apply`: see [`LedgerCommand::Apply`] for the exit status.
pub async fn apply(
    state: &AppState,
    file: &Path,
    operator: &str,
    valid_rows: bool,
) -> anyhow::Result<ExitCode> {
    use super::journal::{self, JournalError, Mode, Operator};
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ordo: {}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let mut conn = state.pool.acquire().await?;
    let account = crate::auth::service::find_by_email(&mut conn, operator)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    drop(conn);
    let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
        eprintln!("ordo: --operator {operator}: nessun account attivo con questa e-mail.");
        return Ok(ExitCode::from(2));
    };
    let operator = Operator {
        id: account.id,
        email: account.email,
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = if valid_rows { Mode::ValidRows } else { Mode::Atomic };
    let outcome = match journal::apply(state, &operator, &name, &bytes, mode).await {
        Ok(o) => o,
        Err(JournalError::File(m)) => {
            eprintln!("ordo: {}: {m}", file.display());
            return Ok(ExitCode::from(2));
        }
        Err(JournalError::AlreadyApplied(m)) => {
            eprintln!("ordo: {}: {m}", file.display());
            return Ok(ExitCode::from(3));
        }
        Err(JournalError::App(e)) => return Err(anyhow::anyhow!("{e:?}")),
    };
    for r in &outcome.refusals {
        eprintln!("riga {} ({}): {}", r.line, r.kind, r.message);
    }
    if outcome.refusals.is_empty() {
        println!("Giornale applicato: {} righe.", outcome.applied);
        return Ok(ExitCode::SUCCESS);
    }
    if outcome.written {
        println!(
            "Giornale applicato in parte: {} righe registrate, {} rifiutate.",
            outcome.applied,
            outcome.refusals.len()
        );
    } else {
        println!(
            "Giornale rifiutato: {} righe su {} non passano le regole; nessuna operazione registrata.",
            outcome.refusals.len(),
            outcome.rows
        );
    }
    Ok(ExitCode::from(1))
}
