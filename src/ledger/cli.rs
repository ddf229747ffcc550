//! `ordo ledger …`: the ledger's reports from the command line (for auditors and scripts).

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::error::AppError;
use crate::state::AppState;

#[derive(Subcommand)]
pub enum LedgerCommand {
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
    let LedgerCommand::Report {
        report: Report::Rendiconto { year, format },
    } = command;
    let rows = match super::report::rendiconto(state, year).await {
        Ok(rows) => rows,
        Err(AppError::NotFound) => {
            eprintln!("L'esercizio {year} non ha capitoli nel bilancio: nessun rendiconto.");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::anyhow!("{e:?}")),
    };
    let bytes = match format {
        Format::Csv => super::report::csv(&rows),
        Format::Pdf => super::report::pdf(state, year, &rows).await,
    }
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    std::io::stdout().write_all(&bytes)?;
    Ok(ExitCode::SUCCESS)
}
