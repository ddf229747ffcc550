//! `ordo import members|protocol|cameras FILE [--dry-run] [--valid-only] [--mapping M.toml] [--rejected OUT]`:
//! the same job and runner as the web screen, reading the file from disk as a stream.
//!
//! Exit status: 0 when the import did what was asked (a dry run: no row would be rejected, or
//! `--valid-only` was given); 1 when rows were rejected and so an atomic import was refused (nothing
//! written) or a dry run found rejections; 2 when the file cannot be imported at all (unreadable,
//! empty, binary, wrong header, bad mapping file).

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::run::Summary;
use super::service::{self, Prepared};
use super::{KindName, Mode, columns, jobs};
use crate::audit::Actor;
use crate::error::AppError;
use crate::state::AppState;

pub struct Args {
    pub kind: KindName,
    pub file: PathBuf,
    pub dry_run: bool,
    pub valid_only: bool,
    pub mapping: Option<PathBuf>,
    pub rejected: Option<PathBuf>,
}

/// Where the rejected rows go by default: beside the file, "iscritti.csv" → "iscritti.scartate.csv".
pub fn default_rejected_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    file.with_file_name(format!("{stem}.scartate.csv"))
}

pub async fn run(state: &AppState, args: Args) -> anyhow::Result<ExitCode> {
    let open = || File::open(&args.file).map(BufReader::new);
    let prepared: Prepared = match service::prepare(args.kind, open) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ordo: {}: {e}", args.file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let mut prepared = prepared;
    if let Some(m) = &args.mapping {
        match columns::from_file(args.kind.fields(), &prepared.headers, m) {
            Ok(mapping) => prepared.mapping = mapping,
            Err(e) => {
                eprintln!("ordo: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    if let Err(e) = columns::check(args.kind.fields(), &prepared.headers, &prepared.mapping) {
        eprintln!("ordo: {}: intestazione non valida: {e}", args.file.display());
        return Ok(ExitCode::from(2));
    }
    let mode = match (args.dry_run, args.valid_only) {
        (true, _) => Mode::DryRun,
        (false, true) => Mode::ValidOnly,
        (false, false) => Mode::Atomic,
    };
    eprintln!(
        "{}: {} righe, codifica {}, separatore {}",
        args.file.display(),
        prepared.sniffed.records,
        prepared.sniffed.encoding_label(),
        prepared.sniffed.delimiter_label()
    );
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.csv".into());
    let job_id = service::create_job(state, args.kind, "cli", &file_name, None, &prepared, false, None)
        .await
        .map_err(|e| anyhow::anyhow!("cannot record the import: {e:?}"))?;
    let job = jobs::get(&state.pool, job_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("import job {job_id} vanished"))?;
    let total = prepared.sniffed.records;
    let tty = std::io::stderr().is_terminal();
    let progress = move |rows: u64| {
        if tty {
            eprint!("\r{rows}/{total} righe");
            let _ = std::io::stderr().flush();
        }
    };
    let actor = Actor::system("cli");
    let raw = BufReader::new(File::open(&args.file)?);
    let result = service::execute(state, &job, raw, mode, &actor, &progress).await;
    if tty {
        eprintln!();
    }
    let (summary, rejected_csv) = match result {
        Ok(r) => r,
        Err(e) => {
            let message = match &e {
                AppError::BadRequest(m) | AppError::Conflict(m) => m.clone(),
                other => format!("{other:?}"),
            };
            jobs::fail(&state.pool, job_id, &message, state.now()).await.ok();
            eprintln!("ordo: {}: {message}", args.file.display());
            return Ok(ExitCode::from(if matches!(e, AppError::BadRequest(_)) {
                2
            } else {
                1
            }));
        }
    };
    print_summary(job_id, &summary);
    if summary.rejected > 0 {
        let out = args
            .rejected
            .clone()
            .unwrap_or_else(|| default_rejected_path(&args.file));
        std::fs::write(&out, &rejected_csv)?;
        println!("righe scartate, con i motivi: {}", out.display());
    }
    Ok(match mode {
        Mode::Atomic | Mode::DryRun if summary.rejected > 0 => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn print_summary(job_id: i64, s: &Summary) {
    println!("importazione n. {job_id}: {}", s.counts_line());
    println!("{}", s.verdict());
    for e in s.errors.iter().take(50) {
        println!("  riga {}, colonna «{}»: {}", e.line, e.column, e.message);
    }
    if s.rejected > 50 {
        println!("  … e altre: l'elenco completo è nel file delle righe scartate");
    }
    println!("durata: {:.1} s", s.duration_ms as f64 / 1000.0);
}

/// Writes a sample members file (demo people, `;`, UTF-8 with BOM, Italian headers) for trying the
/// import screen and for the benchmark. People and numbers are distinct from the demo register's.
pub fn write_members_sample(path: &Path, rows: u64, today: time::Date) -> anyhow::Result<()> {
    let this_year = today.year();
    let mut out = std::io::BufWriter::new(File::create(path)?);
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(out);
    w.write_record([
        "Codice fiscale",
        "Cognome",
        "Nome",
        "Sesso",
        "Data di nascita",
        "Luogo di nascita",
        "Provincia di nascita",
        "Sezione",
        "Settori",
        "Numero di iscrizione",
        "Data di iscrizione",
        "Stato",
        "Data dello stato",
        "Motivo",
        "E-mail",
        "PEC",
        "Telefono",
        "Indirizzo di residenza",
        "CAP di residenza",
        "Comune di residenza",
        "Provincia di residenza",
        "Laurea",
        "Università",
        "Anno di laurea",
    ])?;
    let date = |d: time::Date| crate::members::model::italian_date(d);
    let mut seen = std::collections::HashSet::new();
    let mut i = 0u64;
    let mut written = 0u64;
    while written < rows {
        let mut m = crate::demo::demo_member(SAMPLE_OFFSET + i, this_year);
        i += 1;
        m.registered = m.registered.map(|r| r.min(today));
        if !seen.insert(m.data.fiscal_code.clone()) {
            continue;
        }
        written += 1;
        let d = &m.data;
        let number = m
            .registered
            .map(|_| (SAMPLE_FIRST_NUMBER + written).to_string())
            .unwrap_or_default();
        let (status, status_date, reason) = match (m.registered, m.then) {
            (None, _) => ("richiedente", String::new(), String::new()),
            (Some(_), None) => ("iscritto", String::new(), String::new()),
            (Some(r), Some((_, status, reason))) => (
                if status == "suspended" {
                    "sospeso"
                } else {
                    "cancellato"
                },
                date((r + time::Duration::days(365)).min(today)),
                reason.to_string(),
            ),
        };
        w.write_record([
            d.fiscal_code.as_str(),
            &d.surname,
            &d.name,
            &d.sex,
            &date(m.birth_date),
            &d.birth_place,
            &d.birth_province,
            &d.section,
            &d.sectors.join(", "),
            &number,
            &m.registered.map(date).unwrap_or_default(),
            status,
            &status_date,
            &reason,
            &d.email,
            &d.pec,
            &d.phone,
            &d.residence_address,
            &d.residence_cap,
            &d.residence_municipality,
            &d.residence_province,
            &d.degree_class,
            &d.degree_university,
            &d.degree_year.map(|y| y.to_string()).unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Sample people start here in the demo generator's sequence, numbers after this one.
const SAMPLE_OFFSET: u64 = 5_000_000;
const SAMPLE_FIRST_NUMBER: u64 = 500_000;
