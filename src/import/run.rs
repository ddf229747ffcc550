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
    // The file's own name for each field's column.
    let columns: HashMap<&'static str, String> = kind
        .name()
        .fields()
        .iter()
        .map(|f| {
            let name = job
                .mapping
                .get(f.key)
                .and_then(|&i| job.headers.get(i))
                .cloned()
                .unwrap_or_else(|| f.label.to_string());
            (f.key, name)
        })
        .collect();
    let mut tally = Tally {
        summary: Summary {
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
        },
        rejected_csv: csv::WriterBuilder::new()
            .delimiter(b';')
            .flexible(true)
            .from_writer(b"\xEF\xBB\xBF".to_vec()),
        columns,
        width: job.headers.len(),
    };
    let mut header_out: Vec<String> = job.headers.to_vec();
    header_out.push("Riga del file".into());
    header_out.push("Motivi dello scarto".into());
    csv_write(&mut tally.rejected_csv, &header_out)?;

    let mut source = Source {
        reader: csv::ReaderBuilder::new()
            .delimiter(job.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(input),
        record: csv::StringRecord::new(),
        seen: HashMap::new(),
        mapping: job.mapping,
        more: true,
    };
    let mut updated_ids: Vec<serde_json::Value> = vec![];
    let ctx = ApplyCtx {
        now,
        actor,
        job_id: job.id,
    };
    // While PostgreSQL works on a batch, the next one is read and checked: the two cores overlap.
    let mut batch = source.next_batch(kind, &mut tally)?;
    // When 1,000, 2,000 … 32,000 rows have been written, the statistics follow the tables' growth at a
    // logarithmic cost; past that the plans (index lookups) no longer change.
    let mut analyze_at = BATCH as u64;
    while !batch.records.is_empty() {
        let write = mode != Mode::DryRun && !(mode == Mode::Atomic && tally.summary.rejected > 0);
        let written = tally.summary.new + tally.summary.updated;
        if write && written >= analyze_at && analyze_at <= 32 * BATCH as u64 {
            jobs::analyze(&mut tx, kind.tables()).await?;
            while analyze_at <= written {
                analyze_at *= 2;
            }
        }
        let (outcomes, next) = tokio::join!(kind.apply(&mut tx, &ctx, &batch.records, write), async {
            if source.more {
                source.next_batch(kind, &mut tally)
            } else {
                Ok(Batch::default())
            }
        });
        let (outcomes, next) = (outcomes?, next?);
        for (row, outcome) in batch.rows.iter().zip(outcomes) {
            match outcome {
                Outcome::New => tally.summary.new += 1,
                Outcome::Unchanged => tally.summary.unchanged += 1,
                Outcome::Updated(fields) => {
                    tally.summary.updated += 1;
                    updated_ids.push(json!({ "line": row.line, "fields": fields }));
                }
                Outcome::Rejected(errors) => tally.reject(row, errors)?,
            }
        }
        jobs::progress(pool, job.id, tally.summary.rows).await?;
        on_progress(tally.summary.rows);
        batch = next;
    }
    let Tally {
        mut summary,
        rejected_csv,
        ..
    } = tally;
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
        // Fresh row counts for whatever reads these tables next (committed with the rows).
        if summary.new + summary.updated > 0 {
            jobs::analyze(&mut tx, kind.tables()).await?;
        }
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

/// Counts and rejected rows of a run.
struct Tally {
    summary: Summary,
    rejected_csv: csv::Writer<Vec<u8>>,
    columns: HashMap<&'static str, String>,
    width: usize,
}

impl Tally {
    fn reject(&mut self, row: &Row, errors: Vec<CellError>) -> AppResult<()> {
        self.summary.rejected += 1;
        let mut reasons = vec![];
        for e in errors {
            let col = self
                .columns
                .get(e.field)
                .cloned()
                .unwrap_or_else(|| e.field.to_string());
            reasons.push(format!("{col}: {}", e.message));
            if self.summary.errors.len() < KEPT_ERRORS {
                self.summary.errors.push(RowError {
                    line: row.line,
                    column: col,
                    message: e.message,
                });
            }
        }
        let mut out = row.cells.clone();
        out.resize(self.width, String::new());
        out.push(row.line.to_string());
        out.push(reasons.join(" | "));
        csv_write(&mut self.rejected_csv, &out)
    }
}

/// Rows read and checked on their own, ready for [`Kind::apply`].
struct Batch<R> {
    rows: Vec<Row>,
    records: Vec<R>,
}

impl<R> Default for Batch<R> {
    fn default() -> Self {
        Batch {
            rows: vec![],
            records: vec![],
        }
    }
}

/// The file's rows, read in batches, with the natural keys seen so far.
struct Source<'m, I: Read> {
    reader: csv::Reader<I>,
    record: csv::StringRecord,
    seen: HashMap<(&'static str, String), u64>,
    mapping: &'m Mapping,
    more: bool,
}

impl<I: Read> Source<'_, I> {
    /// Up to [`BATCH`] valid rows; rows invalid on their own or repeating a key go to the tally.
    fn next_batch<K: Kind>(&mut self, kind: &K, tally: &mut Tally) -> AppResult<Batch<K::Record>> {
        let mut batch = Batch::default();
        while self.more && batch.records.len() < BATCH {
            self.more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| AppError::BadRequest(text::malformed(&e).to_string()))?;
            if !self.more || text::is_blank(self.record.iter()) {
                continue;
            }
            let row = Row {
                line: self.record.position().map(|p| p.line()).unwrap_or(0),
                cells: self.record.iter().map(str::to_string).collect(),
            };
            tally.summary.rows += 1;
            let mapped = Mapped {
                row: &row,
                mapping: self.mapping,
            };
            let rec = match kind.parse(&mapped) {
                Ok(rec) => rec,
                Err(errors) => {
                    tally.reject(&row, errors)?;
                    continue;
                }
            };
            let keys = kind.keys(&rec);
            let dup: Vec<CellError> = keys
                .iter()
                .filter_map(|(field, value)| {
                    self.seen.get(&(*field, value.clone())).map(|first| {
                        CellError::new(
                            field,
                            format!("«{value}» è ripetuto nel file: compare già alla riga {first}."),
                        )
                    })
                })
                .collect();
            if dup.is_empty() {
                for (field, value) in keys {
                    self.seen.insert((field, value), row.line);
                }
                batch.rows.push(row);
                batch.records.push(rec);
            } else {
                tally.reject(&row, dup)?;
            }
        }
        Ok(batch)
    }
}

fn csv_write(w: &mut csv::Writer<Vec<u8>>, cells: &[String]) -> AppResult<()> {
    // A cell that a spreadsheet would run as a formula is neutralised, as in every export.
    let safe: Vec<String> = cells.iter().map(|c| crate::export::neutralise(c)).collect();
    w.write_record(&safe)
        .map_err(|e| AppError::internal(format!("rejected rows CSV: {e}")))
}
