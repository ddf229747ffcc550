//! What the web screen and the CLI share: reading a file's header, creating the job, previewing rows,
//! and running a job with the kind it names.

use std::io::{self, Read};

use serde_json::Value;
use time::OffsetDateTime;

use super::columns::{self, Mapping};
use super::jobs::{self, JobRow};
use super::run::{self, JobRef, Summary};
use super::text::{self, FileError, Sniffed};
use super::{Kind, KindName, Mapped, Mode, Row};
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::members::import::MembersKind;
use crate::protocol::legacy::LegacyKind;
use crate::state::AppState;
use crate::video::import::CamerasKind;

/// A file understood: its encoding, delimiter, header and automatic mapping.
pub struct Prepared {
    pub sniffed: Sniffed,
    pub headers: Vec<String>,
    pub mapping: Mapping,
}

/// Sniffs the file and reads its header. `open` gives the raw bytes from the start each time.
pub fn prepare<R: Read>(
    kind: KindName,
    mut open: impl FnMut() -> io::Result<R>,
) -> Result<Prepared, FileError> {
    let sniffed = text::sniff(&mut open)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniffed.delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text::decoder(open()?, sniffed.encoding));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| text::malformed(&e))?
        .iter()
        .map(|h| super::values::clean(h).to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(FileError::Header(
            "la prima riga è vuota: deve contenere i nomi delle colonne.".into(),
        ));
    }
    let mapping = columns::auto_map(kind.fields(), &headers);
    Ok(Prepared {
        sniffed,
        headers,
        mapping,
    })
}

pub fn mapping_to_json(m: &Mapping) -> Value {
    serde_json::to_value(m).unwrap_or_default()
}

pub fn mapping_from_json(v: &Value) -> Mapping {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

pub fn delimiter_byte(s: &str) -> u8 {
    match s {
        "," => b',',
        "\t" => b'\t',
        _ => b';',
    }
}

/// Records a job for a prepared file.
#[allow(clippy::too_many_arguments)]
pub async fn create_job(
    state: &AppState,
    kind: KindName,
    source: &str,
    file_name: &str,
    content: Option<&[u8]>,
    p: &Prepared,
    ready: bool,
    by: Option<i64>,
) -> AppResult<i64> {
    let delimiter = (p.sniffed.delimiter as char).to_string();
    Ok(jobs::create(
        &state.pool,
        &jobs::NewJob {
            kind: kind.as_str(),
            source,
            file_name,
            size_bytes: p.sniffed.size as i64,
            sha256: &p.sniffed.sha256,
            content,
            encoding: p.sniffed.encoding.name(),
            delimiter: &delimiter,
            headers: &p.headers,
            mapping: mapping_to_json(&p.mapping),
            total_rows: p.sniffed.records.min(i32::MAX as u64) as i32,
            state: if ready { "ready" } else { "queued" },
            created_by: by,
            created_at: state.now(),
        },
    )
    .await?)
}

/// The encoding a job was sniffed with, to decode it again.
fn encoding_of(job: &JobRow) -> &'static encoding_rs::Encoding {
    encoding_rs::Encoding::for_label(job.encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8)
}

/// One previewed row: as it will be stored (one value per field), or why it will not.
pub struct PreviewRow {
    pub line: u64,
    pub values: Vec<String>,
    pub errors: Vec<String>,
}

fn preview_with<K: Kind>(kind: &K, job: &JobRow, raw: &[u8], n: usize) -> Result<Vec<PreviewRow>, FileError> {
    let mapping = mapping_from_json(&job.mapping);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter_byte(&job.delimiter))
        .flexible(true)
        .has_headers(true)
        .from_reader(text::decoder(raw, encoding_of(job)));
    let mut out = vec![];
    for record in reader.records() {
        let record = record.map_err(|e| text::malformed(&e))?;
        if text::is_blank(record.iter()) {
            continue;
        }
        let row = Row {
            line: record.position().map(|p| p.line()).unwrap_or(0),
            cells: record.iter().map(str::to_string).collect(),
        };
        let mapped = Mapped {
            row: &row,
            mapping: &mapping,
        };
        out.push(match kind.parse(&mapped) {
            Ok(rec) => PreviewRow {
                line: row.line,
                values: kind.preview(&rec),
                errors: vec![],
            },
            Err(errors) => PreviewRow {
                line: row.line,
                values: vec![],
                errors: errors
                    .into_iter()
                    .map(|e| {
                        let col = mapping
                            .get(e.field)
                            .and_then(|&i| job.headers.get(i))
                            .cloned()
                            .unwrap_or_else(|| e.field.to_string());
                        format!("{col}: {}", e.message)
                    })
                    .collect(),
            },
        });
        if out.len() >= n {
            break;
        }
    }
    Ok(out)
}

fn members_kind(state: &AppState) -> MembersKind {
    MembersKind {
        albo: state.config.albo.clone(),
        today: crate::members::service::today(state.now()),
    }
}

fn cameras_kind(state: &AppState) -> CamerasKind {
    CamerasKind {
        default_retention: i32::from(state.config.video.default_retention_days),
    }
}

/// The first `n` rows of an uploaded job as they would be stored.
pub fn preview(state: &AppState, job: &JobRow, raw: &[u8], n: usize) -> Result<Vec<PreviewRow>, FileError> {
    match KindName::parse(&job.kind) {
        Some(KindName::Members) => preview_with(&members_kind(state), job, raw, n),
        Some(KindName::Protocol) => preview_with(&LegacyKind, job, raw, n),
        Some(KindName::Cameras) => preview_with(&cameras_kind(state), job, raw, n),
        None => Ok(vec![]),
    }
}

/// Runs a queued job over `raw` (the file's bytes, from the start).
pub async fn execute(
    state: &AppState,
    job: &JobRow,
    raw: impl Read + Send,
    mode: Mode,
    actor: &Actor,
    on_progress: &(dyn Fn(u64) + Send + Sync),
) -> AppResult<(Summary, Vec<u8>)> {
    let mapping = mapping_from_json(&job.mapping);
    let kind = KindName::parse(&job.kind).ok_or_else(|| AppError::internal("unknown import kind"))?;
    columns::check(kind.fields(), &job.headers, &mapping)
        .map_err(|m| AppError::BadRequest(format!("Intestazione non valida: {m}")))?;
    let job_ref = JobRef {
        id: job.id,
        file_name: &job.file_name,
        sha256: &job.sha256,
        delimiter: delimiter_byte(&job.delimiter),
        headers: &job.headers,
        mapping: &mapping,
    };
    let input = text::decoder(raw, encoding_of(job));
    let now = state.now();
    // One runner for every kind: only the `Kind` differs.
    macro_rules! run_with {
        ($kind:expr) => {
            run::run(
                &$kind,
                &state.pool,
                &job_ref,
                input,
                mode,
                actor,
                now,
                on_progress,
            )
            .await
        };
    }
    match kind {
        KindName::Members => run_with!(members_kind(state)),
        KindName::Protocol => run_with!(LegacyKind),
        KindName::Cameras => run_with!(cameras_kind(state)),
    }
}

/// Runs an uploaded job in the background: the work goes on if the browser goes away; the page
/// reads the job row. A failure marks the job failed (its transaction rolled back).
pub fn spawn(state: AppState, job_id: i64, mode: Mode, actor: Actor) {
    tokio::spawn(async move {
        let result = async {
            let job = jobs::get(&state.pool, job_id).await?.ok_or(AppError::NotFound)?;
            let raw = jobs::content(&state.pool, job_id)
                .await?
                .ok_or(AppError::NotFound)?;
            execute(&state, &job, io::Cursor::new(raw), mode, &actor, &|_| {}).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(job_id, error = ?e, "import failed");
            let message = match e {
                AppError::BadRequest(m) | AppError::Conflict(m) => m,
                _ => "Errore interno durante l'importazione: nulla è stato scritto. Riprova; se si ripete, avvisa l'assistenza.".into(),
            };
            if let Err(e) = jobs::fail(&state.pool, job_id, &message, state.now()).await {
                tracing::error!(job_id, error = ?e, "cannot mark the import failed");
            }
        }
    });
}

/// `OffsetDateTime` of a job, for pages.
pub fn when(t: Option<OffsetDateTime>) -> String {
    t.map(crate::format::rome_datetime).unwrap_or_default()
}
