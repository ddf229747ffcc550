//! The import screen (administrators): upload → detected encoding, delimiter and columns → mapping
//! (adjustable) → preview → dry run or commit, running in the background with a progress bar →
//! result page with the rejected rows to download.

use axum::Json;
use axum::extract::{Multipart, Path, RawForm};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::columns;
use super::jobs::{self, JobRow};
use super::run::Summary;
use super::service::{self, mapping_from_json, mapping_to_json, when};
use super::text::delimiter_label;
use super::views::*;
use super::{KindName, Mode};
use crate::error::{AppError, AppResult};
use crate::web::{Ctx, download, multipart};

const PREVIEW_ROWS: usize = 5;

fn state_label(s: &str) -> &'static str {
    match s {
        "ready" => "Da avviare",
        "queued" => "In coda",
        "running" => "In corso",
        "done" => "Conclusa",
        "refused" => "Rifiutata",
        "failed" => "Non riuscita",
        "interrupted" => "Interrotta",
        _ => "?",
    }
}

fn kind_label(k: &str) -> &'static str {
    KindName::parse(k).map(KindName::label).unwrap_or("?")
}

fn summary_of(job: &JobRow) -> Option<Summary> {
    job.summary
        .as_ref()
        .and_then(|s| serde_json::from_value(s.clone()).ok())
}

async fn index_page(ctx: &Ctx, kind: String, error: Option<String>) -> AppResult<ImportsPage> {
    jobs::reap(&ctx.state.pool, ctx.state.now()).await?;
    let jobs = jobs::latest(&ctx.state.pool, 50)
        .await?
        .into_iter()
        .map(|j| JobLine {
            id: j.id,
            kind: kind_label(&j.kind),
            created: when(Some(j.created_at)),
            who: j
                .created_by_email
                .clone()
                .unwrap_or_else(|| "riga di comando".into()),
            state: state_label(&j.state),
            outcome: summary_of(&j).map(|s| s.counts_line()).unwrap_or_default(),
            file_name: j.file_name,
        })
        .collect();
    Ok(ImportsPage {
        layout: ctx.layout("Importazione dati").await?,
        csrf_token: ctx.csrf_token().await?,
        kinds: KindName::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        kind,
        error,
        jobs,
    })
}

/// `GET /backoffice/import`
pub async fn index(ctx: Ctx) -> AppResult<Response> {
    Ok(index_page(&ctx, "members".into(), None).await?.into_response())
}

async fn refuse(ctx: &Ctx, kind: String, message: String) -> AppResult<Response> {
    let page = index_page(ctx, kind, Some(message)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /backoffice/import` (multipart): a file to import; a file that is not an importable CSV
/// is answered on the same page with the reason.
pub async fn upload(ctx: Ctx, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let kind_raw = form.value("kind").unwrap_or_default().to_string();
    let Some(kind) = KindName::parse(&kind_raw) else {
        return refuse(&ctx, "members".into(), "Scegli che cosa importare.".into()).await;
    };
    let Some(file) = form.files("file").next() else {
        return refuse(&ctx, kind_raw, "Scegli il file CSV da importare.".into()).await;
    };
    let file_name: String = file
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("import.csv")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let file_name = if file_name.trim().is_empty() {
        "import.csv".to_string()
    } else {
        file_name
    };
    let prepared = match service::prepare(kind, || Ok(file.bytes.as_slice())) {
        Ok(p) => p,
        Err(e) => return refuse(&ctx, kind_raw, format!("{file_name}: {e}")).await,
    };
    let id = service::create_job(
        &ctx.state,
        kind,
        "web",
        &file_name,
        Some(&file.bytes),
        &prepared,
        true,
        Some(user.id),
    )
    .await?;
    Ok(Redirect::to(&format!("/backoffice/import/{id}")).into_response())
}

async fn load(ctx: &Ctx, id: i64) -> AppResult<JobRow> {
    jobs::get(&ctx.state.pool, id).await?.ok_or(AppError::NotFound)
}

/// `GET /backoffice/import/{id}`: the job in whatever step it is.
pub async fn job(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    jobs::reap(&ctx.state.pool, ctx.state.now()).await?;
    let job = load(&ctx, id).await?;
    let kind = KindName::parse(&job.kind).ok_or(AppError::NotFound)?;
    let mapping = mapping_from_json(&job.mapping);
    let running = matches!(job.state.as_str(), "queued" | "running");
    let editable = !running && !job.committed && job.source == "web";
    let mapping_problem = columns::check(kind.fields(), &job.headers, &mapping).err();
    let fields: Vec<FieldChoice> = kind
        .fields()
        .iter()
        .map(|f| FieldChoice {
            key: f.key,
            label: f.label,
            required: f.required,
            column: mapping.get(f.key).copied(),
        })
        .collect();
    let mut shown: Vec<usize> = vec![];
    let mut preview = vec![];
    let mut preview_problem = None;
    if editable && mapping_problem.is_none() {
        if let Some(raw) = jobs::content(&ctx.state.pool, id).await? {
            match service::preview(&ctx.state, &job, &raw, PREVIEW_ROWS) {
                Ok(rows) => {
                    // The mapped fields, and those filled in by the kind (e.g. birth date from the
                    // codice fiscale).
                    shown = kind
                        .fields()
                        .iter()
                        .enumerate()
                        .filter(|(i, f)| {
                            mapping.contains_key(f.key)
                                || rows
                                    .iter()
                                    .any(|r| r.values.get(*i).is_some_and(|v| !v.is_empty()))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    preview = rows
                        .into_iter()
                        .map(|r| PreviewLine {
                            line: r.line,
                            values: if r.values.is_empty() {
                                vec![]
                            } else {
                                shown
                                    .iter()
                                    .map(|&i| r.values.get(i).cloned().unwrap_or_default())
                                    .collect()
                            },
                            errors: r.errors,
                        })
                        .collect()
                }
                Err(e) => preview_problem = Some(e.to_string()),
            }
        }
    }
    let summary = summary_of(&job);
    let failure = job
        .summary
        .as_ref()
        .and_then(|s| s.get("error"))
        .and_then(|e| e.as_str())
        .map(str::to_string)
        .or_else(|| {
            (job.state == "interrupted").then(|| {
                "L'importazione si è interrotta (il server si è fermato): nulla è stato scritto. Puoi avviarla di nuovo."
                    .to_string()
            })
        })
        .or(preview_problem);
    let page = JobPage {
        layout: ctx.layout(format!("Importazione n. {id}")).await?,
        csrf_token: ctx.csrf_token().await?,
        id,
        kind: kind.label(),
        file_name: job.file_name.clone(),
        size: format!("{:.1} kB", job.size_bytes as f64 / 1024.0),
        sha256: hex::encode(&job.sha256),
        encoding: match job.encoding.as_str() {
            "UTF-8" => "UTF-8".into(),
            _ => "Windows-1252 / ISO-8859-1".into(),
        },
        delimiter: delimiter_label(service::delimiter_byte(&job.delimiter)),
        total_rows: job.total_rows,
        state: state_label(&job.state),
        running,
        editable,
        processed_rows: job.processed_rows,
        headers: job.headers.iter().cloned().enumerate().collect(),
        fields,
        mapping_problem,
        preview_labels: shown.iter().map(|&i| kind.fields()[i].label).collect(),
        preview,
        modes: Mode::ALL.iter().map(|m| (m.as_str(), m.label())).collect(),
        mode: job.mode.clone().unwrap_or_else(|| "dry_run".into()),
        verdict: summary.as_ref().map(|s| s.verdict().to_string()),
        counts: summary.as_ref().map(|s| s.counts_line()),
        failure,
        more_errors: summary
            .as_ref()
            .is_some_and(|s| s.rejected as usize > s.errors.len()),
        errors: summary
            .map(|s| {
                s.errors
                    .into_iter()
                    .map(|e| ErrorLine {
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        has_rejected: job.has_rejected,
        started: when(job.started_at),
        finished: when(job.finished_at),
    };
    Ok(page.into_response())
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// `POST /backoffice/import/{id}/mappatura`: the column of each field (`col_<field>` = position or empty).
pub async fn set_mapping(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let job = load(&ctx, id).await?;
    let kind = KindName::parse(&job.kind).ok_or(AppError::NotFound)?;
    let pairs = form_pairs(&body);
    let mut mapping = columns::Mapping::new();
    for f in kind.fields() {
        let name = format!("col_{}", f.key);
        let Some((_, v)) = pairs.iter().find(|(k, _)| *k == name) else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        match v.parse::<usize>() {
            Ok(i) if i < job.headers.len() => {
                mapping.insert(f.key.to_string(), i);
            }
            _ => {
                return Err(AppError::BadRequest(format!(
                    "Colonna non valida per «{}».",
                    f.label
                )));
            }
        }
    }
    if !jobs::set_mapping(&ctx.state.pool, id, mapping_to_json(&mapping)).await? {
        return Err(AppError::Conflict(
            "L'importazione è in corso o è già stata eseguita: la corrispondenza delle colonne non si cambia più.".into(),
        ));
    }
    Ok(Redirect::to(&format!("/backoffice/import/{id}#anteprima")).into_response())
}

/// `POST /backoffice/import/{id}/avvia`: runs the job in `mode` in the background.
pub async fn start(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let job = load(&ctx, id).await?;
    let kind = KindName::parse(&job.kind).ok_or(AppError::NotFound)?;
    let pairs = form_pairs(&body);
    let mode = pairs
        .iter()
        .find(|(k, _)| k == "mode")
        .and_then(|(_, v)| Mode::parse(v))
        .ok_or_else(|| {
            AppError::BadRequest("Scegli come importare: prova, tutto o niente, solo le righe valide.".into())
        })?;
    if let Err(m) = columns::check(kind.fields(), &job.headers, &mapping_from_json(&job.mapping)) {
        return Err(AppError::BadRequest(format!("Intestazione non valida: {m}")));
    }
    if job.source != "web" || !jobs::queue(&ctx.state.pool, id, mode, ctx.state.now()).await? {
        return Err(AppError::Conflict(
            "L'importazione è già in corso o è già stata eseguita.".into(),
        ));
    }
    service::spawn(ctx.state.clone(), id, mode, user.actor());
    Ok(Redirect::to(&format!("/backoffice/import/{id}")).into_response())
}

/// `GET /backoffice/import/{id}/stato`: progress, for the page's progress bar.
pub async fn status(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let job = load(&ctx, id).await?;
    Ok(Json(json!({
        "state": job.state,
        "label": state_label(&job.state),
        "processed": job.processed_rows,
        "total": job.total_rows,
        "running": matches!(job.state.as_str(), "queued" | "running"),
    }))
    .into_response())
}

/// `GET /backoffice/import/{id}/scartate.csv`: the rejected rows with their reasons.
pub async fn rejected(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let bytes = jobs::rejected_csv(&ctx.state.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(download::file(
        &format!("importazione-{id}-scartate.csv"),
        "text/csv; charset=utf-8",
        bytes,
    ))
}

/// `GET /backoffice/import/modello/{kind}`: an empty file with every column of a kind, named as the
/// import recognises them (UTF-8 with BOM, `;`), to fill in a spreadsheet.
pub async fn template(Path(kind): Path<String>) -> AppResult<Response> {
    let kind = KindName::parse(kind.trim_end_matches(".csv")).ok_or(AppError::NotFound)?;
    let header: Vec<&str> = kind.fields().iter().map(|f| f.label).collect();
    let bytes = crate::export::to_csv(&header, std::iter::empty(), crate::export::Separator::Semicolon)
        .map_err(AppError::internal)?;
    Ok(download::file(
        &format!("modello-{}.csv", kind.as_str()),
        "text/csv; charset=utf-8",
        bytes,
    ))
}
