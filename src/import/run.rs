//! One run of an import job: rows streamed from the decoded file in batches of [`BATCH`], parsed and
//! checked by the kind, duplicates inside the file found, each batch compared with the register and
//! (unless it is a dry run, or an atomic run that has already met a rejected row) written, all in one
//! transaction that also holds the job's advisory lock. The audit entry goes in the same transaction
//! when the run writes, in one of its own otherwise.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{ApplyCtx, CellError, Kind, Mapped, Mapping, Mode, Outcome, Row, jobs, text};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};

/// Rows per batch: one lookup and a few multi-row statements per batch.
pub const BATCH: usize = 1000;
/// Messages kept in the summary (all rejected rows are in the CSV).
const KEPT_ERRORS: usize = 200;

/// A rejected row's problem, with the file's own line and column name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// The outcome of a run: what the page, the CLI and the audit entry show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub mode: String,
    pub rows: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Whether the register was changed (or, for a dry run, false).
    pub written: bool,
    /// An atomic run refused because of rejected rows.
    pub refused: bool,
    pub duration_ms: u64,
    pub errors: Vec<RowError>,
}

impl Summary {
    /// "1.000 righe: 997 nuove, 0 aggiornate, 0 invariate, 3 scartate".
    pub fn counts_line(&self) -> String {
        format!(
            "{} righe: {} nuove, {} aggiornate, {} invariate, {} scartate",
            self.rows, self.new, self.updated, self.unchanged, self.rejected
        )
    }

    /// What happened, in one sentence.
    pub fn verdict(&self) -> &'static str {
        match (self.mode.as_str(), self.written, self.refused) {
            ("dry_run", _, _) if self.rejected == 0 => {
                "Prova riuscita: nessun errore, l'importazione si può eseguire."
            }
            ("dry_run", _, _) => "Prova eseguita: alcune righe sarebbero scartate. Nulla è stato scritto.",
            (_, _, true) => {
                "Importazione rifiutata: ci sono righe non valide e in modalità «tutto o niente» non è stato scritto nulla."
            }
            (_, true, _) if self.rejected > 0 => {
                "Importazione eseguita: le righe valide sono state registrate, quelle scartate sono nel file da scaricare."
            }
            (_, true, _) => "Importazione eseguita.",
            _ => "Importazione eseguita: nessuna modifica necessaria.",
        }
    }
}

/// The job a run belongs to, as the runner needs it.
pub struct JobRef<'a> {
    pub id: i64,
    pub file_name: &'a str,
    pub sha256: &'a [u8],
    pub delimiter: u8,
    pub headers: &'a [String],
    pub mapping: &'a Mapping,
}

/// Runs the job. `input` is the decoded text of the file (header included). On success the job row
/// holds the summary and the rejected rows; on error the transaction is rolled back and the caller
/// marks the job failed.
#[allow(clippy::too_many_arguments)]
pub async fn run<K: Kind>(
    kind: &K,
    pool: &PgPool,
    job: &JobRef<'_>,
    input: impl Read + Send,
    mode: Mode,
    actor: &Actor,
    now: OffsetDateTime,
    on_progress: &(dyn Fn(u64) + Send + Sync),
) -> AppResult<(Summary, Vec<u8>)> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    jobs::lock(&mut tx, job.id).await?;
    if !jobs::claim(pool, job.id, mode, now).await? {
        return Err(AppError::Conflict(
            "L'importazione è già in corso o è già stata eseguita.".into(),
        ));
    }
    let fields = kind.name().fields();
    let column = |field: &str| -> String {
        job.mapping
            .get(field)
            .and_then(|&i| job.headers.get(i))
            .cloned()
            .or_else(|| {
                fields
                    .iter()
                    .find(|f| f.key == field)
                    .map(|f| f.label.to_string())
            })
            .unwrap_or_else(|| field.to_string())
    };

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(job.delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let mut rejected_csv = csv::WriterBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header_out: Vec<String> = job.headers.to_vec();
    header_out.push("Riga del file".into());
    header_out.push("Motivi dello scarto".into());
    csv_write(&mut rejected_csv, &header_out)?;

    let mut summary = Summary {
        mode: mode.as_str().into(),
        rows: 0,
        new: 0,
        updated: 0,
        unchanged: 0,
        rejected: 0,
        written: false,
        refused: false,
        duration_ms: 0,
        errors: vec![],
    };
    let mut seen: HashMap<(&'static str, String), u64> = HashMap::new();
    let mut batch_rows: Vec<Row> = Vec::with_capacity(BATCH);
    let mut batch_records: Vec<K::Record> = Vec::with_capacity(BATCH);
    let mut updated_ids: Vec<serde_json::Value> = vec![];
    let ctx = ApplyCtx {
        now,
        actor,
        job_id: job.id,
    };
    let mut reject = |summary: &mut Summary, row: &Row, errors: Vec<CellError>| -> AppResult<()> {
        summary.rejected += 1;
        let mut reasons = vec![];
        for e in errors {
            let col = column(e.field);
            reasons.push(format!("{col}: {}", e.message));
            if summary.errors.len() < KEPT_ERRORS {
                summary.errors.push(RowError {
                    line: row.line,
                    column: col,
                    message: e.message,
                });
            }
        }
        let mut out = row.cells.clone();
        out.resize(job.headers.len(), String::new());
        out.push(row.line.to_string());
        out.push(reasons.join(" | "));
        csv_write(&mut rejected_csv, &out)
    };

    let mut record = csv::StringRecord::new();
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| AppError::BadRequest(text::malformed(&e).to_string()))?;
        if more && !text::is_blank(record.iter()) {
            let row = Row {
                line: record.position().map(|p| p.line()).unwrap_or(0),
                cells: record.iter().map(str::to_string).collect(),
            };
            summary.rows += 1;
            let mapped = Mapped {
                row: &row,
                mapping: job.mapping,
            };
            match kind.parse(&mapped) {
                Err(errors) => reject(&mut summary, &row, errors)?,
                Ok(rec) => {
                    let mut dup = vec![];
                    let keys = kind.keys(&rec);
                    for (field, value) in &keys {
                        if let Some(first) = seen.get(&(*field, value.clone())) {
                            dup.push(CellError::new(
                                field,
                                format!("«{value}» è ripetuto nel file: compare già alla riga {first}."),
                            ));
                        }
                    }
                    if dup.is_empty() {
                        for (field, value) in keys {
                            seen.insert((field, value), row.line);
                        }
                        batch_rows.push(row);
                        batch_records.push(rec);
                    } else {
                        reject(&mut summary, &row, dup)?;
                    }
                }
            }
        }
        if batch_records.len() >= BATCH || (!more && !batch_records.is_empty()) {
            let write = mode != Mode::DryRun && !(mode == Mode::Atomic && summary.rejected > 0);
            let outcomes = kind.apply(&mut tx, &ctx, &batch_records, write).await?;
            for (row, outcome) in batch_rows.iter().zip(outcomes) {
                match outcome {
                    Outcome::New => summary.new += 1,
                    Outcome::Unchanged => summary.unchanged += 1,
                    Outcome::Updated(fields) => {
                        summary.updated += 1;
                        updated_ids.push(json!({ "line": row.line, "fields": fields }));
                    }
                    Outcome::Rejected(errors) => reject(&mut summary, row, errors)?,
                }
            }
            batch_rows.clear();
            batch_records.clear();
            jobs::progress(pool, job.id, summary.rows).await?;
            on_progress(summary.rows);
        }
        if !more {
            break;
        }
    }
    let rejected_csv = rejected_csv
        .into_inner()
        .map_err(|e| AppError::internal(format!("rejected rows CSV: {e}")))?;
    summary.errors.sort_by_key(|e| e.line);
    summary.refused = mode == Mode::Atomic && summary.rejected > 0;
    summary.written = mode != Mode::DryRun && !summary.refused;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let rejected_out = (summary.rejected > 0).then_some(rejected_csv.as_slice());
    let details = json!({
        "job_id": job.id,
        "kind": kind.name().as_str(),
        "file_name": job.file_name,
        "sha256": hex::encode(job.sha256),
        "mode": mode.as_str(),
        "rows": summary.rows,
        "new": summary.new,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": summary.rejected,
        "written": summary.written,
        "duration_ms": summary.duration_ms,
        "updated_rows": if summary.written { updated_ids } else { vec![] },
    });
    let event = audit::Event {
        actor,
        action: "import.run",
        entity: "import_job",
        entity_id: Some(job.id.to_string()),
        details,
    };
    if summary.written {
        kind.finish(&mut tx).await?;
        audit::record(&mut tx, now, event).await?;
        jobs::finish(&mut tx, job.id, &summary, rejected_out, now).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
        let mut tx = pool.begin().await?;
        audit::record(&mut tx, now, event).await?;
        jobs::finish(&mut tx, job.id, &summary, rejected_out, now).await?;
        tx.commit().await?;
    }
    Ok((summary, rejected_csv))
}

fn csv_write(w: &mut csv::Writer<Vec<u8>>, cells: &[String]) -> AppResult<()> {
    // A cell that a spreadsheet would run as a formula is neutralised, as in every export.
    let safe: Vec<String> = cells.iter().map(|c| crate::export::neutralise(c)).collect();
    w.write_record(&safe)
        .map_err(|e| AppError::internal(format!("rejected rows CSV: {e}")))
}
