//! The daily register (registro giornaliero di protocollo): for each closed day, a CSV and a PDF of that
//! day's registrations, each with its SHA-256, stored once and never changed (the table is append-only).

use serde_json::json;
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime};

use super::model::Direction;
use super::repo::{self, RegistrationRow};
use super::service::segnatura_of;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::export::{Separator, to_csv};
use crate::format::{rome_date, rome_datetime, rome_day};
use crate::state::AppState;

const TEMPLATE: &str = include_str!("../../templates/pdf/daily_register.typ");

const HEADER: [&str; 12] = [
    "Anno",
    "Numero",
    "Data e ora",
    "Verso",
    "Corrispondente",
    "Codice fiscale",
    "Oggetto",
    "Classificazione",
    "Fascicolo",
    "Documenti",
    "Pratica",
    "Annullata",
];

fn line(r: &RegistrationRow) -> Vec<String> {
    vec![
        r.year.to_string(),
        format!("{:07}", r.number),
        rome_datetime(r.registered_at),
        Direction::parse(&r.direction)
            .map(|d| d.label())
            .unwrap_or("")
            .to_string(),
        r.correspondent_name.clone(),
        r.correspondent_cf.clone(),
        r.subject.clone(),
        r.classification.clone(),
        r.dossier_id.map(|d| d.to_string()).unwrap_or_default(),
        r.documents.to_string(),
        r.request_id.map(|d| d.to_string()).unwrap_or_default(),
        match (&r.annulled_at, &r.annul_act) {
            (Some(at), Some(act)) => format!("annullata il {} ({act})", rome_date(*at)),
            _ => String::new(),
        },
    ]
}

fn pdf(state: &AppState, day: Date, rows: &[RegistrationRow], csv_sha256: &str) -> AppResult<Vec<u8>> {
    let config = &state.config;
    let entries: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "number": format!("{:07}", r.number),
                "at": rome_datetime(r.registered_at),
                "direction": Direction::parse(&r.direction).map(|d| d.label()).unwrap_or(""),
                "correspondent": r.correspondent_name,
                "subject": r.subject,
                "classification": r.classification,
                "documents": r.documents,
                "annulled": r.annulled_at.is_some(),
                "segnatura": segnatura_of(&config.protocol, r).stamp(),
            })
        })
        .collect();
    let data = json!({
        "order": config.order.name,
        "administration": config.protocol.administration_code,
        "aoo": config.protocol.aoo_code,
        "register": config.protocol.register_code,
        "day": format!("{:02}/{:02}/{}", day.day(), u8::from(day.month()), day.year()),
        "produced": rome_datetime(state.now()),
        "entries": entries,
        "csv_sha256": csv_sha256,
    });
    let options = crate::pdf::RenderOptions {
        ident: Some(format!(
            "registro-giornaliero-{}-{}-{day}",
            config.protocol.aoo_code, config.protocol.register_code
        )),
        ..Default::default()
    };
    state
        .pdf()
        .render_with(TEMPLATE, &data, &[], &options)
        .map(|o| o.pdf)
        .map_err(AppError::internal)
}

/// Produces the daily register of `day`, or of every closed day still without one when `day` is None.
/// Returns one line per day produced. A day not yet closed (today or later, Europe/Rome) is refused.
pub async fn produce(state: &AppState, day: Option<Date>) -> AppResult<Vec<String>> {
    let today = rome_day(state.now());
    let cfg = &state.config.protocol;
    let days: Vec<Date> = match day {
        Some(d) if d >= today => {
            return Err(AppError::Conflict(format!(
                "Il giorno {} non è ancora chiuso: il registro giornaliero si produce dal giorno dopo.",
                rome_date(d.midnight().assume_utc() + Duration::hours(12))
            )));
        }
        Some(d) => vec![d],
        None => {
            let mut conn = state.pool.acquire().await?;
            let Some(first) = repo::first_day(&mut conn, &cfg.aoo_code, &cfg.register_code).await? else {
                return Ok(vec![]);
            };
            let mut out = vec![];
            let mut d = first;
            while d < today {
                if !repo::daily_exists(&mut conn, &cfg.aoo_code, &cfg.register_code, d).await? {
                    out.push(d);
                }
                d = d.next_day().unwrap_or(today);
            }
            out
        }
    };
    let mut produced = vec![];
    for d in days {
        if let Some(line) = produce_day(state, d).await? {
            produced.push(line);
        }
    }
    Ok(produced)
}

/// One day's register; None if it already exists (it is never produced twice).
async fn produce_day(state: &AppState, day: Date) -> AppResult<Option<String>> {
    let cfg = &state.config.protocol;
    let mut tx = state.pool.begin().await?;
    if repo::daily_exists(&mut tx, &cfg.aoo_code, &cfg.register_code, day).await? {
        return Ok(None);
    }
    let rows = repo::of_day(&mut tx, &cfg.aoo_code, &cfg.register_code, day).await?;
    let csv = to_csv(
        &HEADER,
        rows.iter().map(line).collect::<Vec<_>>(),
        Separator::Semicolon,
    )
    .map_err(AppError::internal)?;
    let csv_sha: [u8; 32] = Sha256::digest(&csv).into();
    let pdf_bytes = {
        let state = state.clone();
        let rows = rows.clone();
        let sha = hex::encode(csv_sha);
        tokio::task::spawn_blocking(move || pdf(&state, day, &rows, &sha))
            .await
            .map_err(AppError::internal)??
    };
    let pdf_sha: [u8; 32] = Sha256::digest(&pdf_bytes).into();
    let now = state.now();
    let inserted = repo::insert_daily(
        &mut tx,
        &cfg.aoo_code,
        &cfg.register_code,
        day,
        now,
        rows.len() as i32,
        &csv,
        &csv_sha,
        &pdf_bytes,
        &pdf_sha,
    )
    .await?;
    if !inserted {
        return Ok(None);
    }
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &Actor::system("protocol-daily"),
            action: "protocol.daily_register",
            entity: "protocol_daily",
            entity_id: Some(day.to_string()),
            details: json!({ "entries": rows.len(), "csv_sha256": hex::encode(csv_sha), "pdf_sha256": hex::encode(pdf_sha) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(format!(
        "{day}: {} registrations, CSV SHA-256 {}, PDF SHA-256 {}",
        rows.len(),
        hex::encode(csv_sha),
        hex::encode(pdf_sha)
    )))
}

pub struct DailyView {
    pub day: Date,
    pub produced: String,
    pub entries: i32,
    pub csv_sha256: String,
    pub pdf_sha256: String,
}

pub async fn list(state: &AppState) -> AppResult<Vec<DailyView>> {
    let cfg = &state.config.protocol;
    let mut conn = state.pool.acquire().await?;
    Ok(repo::dailies(&mut conn, &cfg.aoo_code, &cfg.register_code, 400)
        .await?
        .into_iter()
        .map(|d| DailyView {
            day: d.day,
            produced: rome_datetime(d.produced_at),
            entries: d.entries,
            csv_sha256: hex::encode(d.csv_sha256),
            pdf_sha256: hex::encode(d.pdf_sha256),
        })
        .collect())
}

pub async fn file(state: &AppState, day: Date, pdf: bool) -> AppResult<Vec<u8>> {
    let cfg = &state.config.protocol;
    let mut conn = state.pool.acquire().await?;
    repo::daily_file(&mut conn, &cfg.aoo_code, &cfg.register_code, day, pdf)
        .await?
        .ok_or(AppError::NotFound)
}

/// The scheduled job inside `ordo serve`: at the configured local time, produce the registers of the
/// closed days still missing. Errors are logged; the next run catches up.
pub async fn run_scheduler(state: AppState) {
    let Some((hour, minute)) = state.config.protocol.daily_time() else {
        return;
    };
    let mut first = true;
    loop {
        // At start-up, catch up at once; then every day at the configured time.
        if !first {
            tokio::time::sleep(until_next(state.now(), hour, minute)).await;
        }
        first = false;
        match produce(&state, None).await {
            Ok(lines) => {
                for l in lines {
                    tracing::info!(daily_register = %l, "daily protocol register produced");
                }
            }
            Err(e) => tracing::error!(error = ?e, "daily protocol register not produced"),
        }
    }
}

/// Time until the next hh:mm in Europe/Rome (at least one second).
fn until_next(now: OffsetDateTime, hour: u8, minute: u8) -> std::time::Duration {
    use time_tz::{OffsetDateTimeExt, PrimitiveDateTimeExt, timezones};
    let rome = timezones::db::europe::ROME;
    let local = now.to_timezone(rome);
    let mut day = local.date();
    for _ in 0..3 {
        if let Ok(t) = time::Time::from_hms(hour, minute, 0) {
            let candidate = day.with_time(t).assume_timezone(rome).take_first();
            if let Some(c) = candidate
                && c > now
            {
                let secs = (c - now).whole_seconds().max(1) as u64;
                return std::time::Duration::from_secs(secs);
            }
        }
        day = day.next_day().unwrap_or(day);
    }
    std::time::Duration::from_secs(3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_job_waits_for_the_next_local_time() {
        // 00:10 Rome in winter (23:10 UTC): the 00:30 run is 20 minutes away.
        assert_eq!(
            until_next(datetime!(2026-01-14 23:10 UTC), 0, 30).as_secs(),
            20 * 60
        );
        // Just after it: tomorrow's.
        assert_eq!(
            until_next(datetime!(2026-01-14 23:31 UTC), 0, 30).as_secs(),
            24 * 3600 - 60
        );
        // Summer time: 00:30 Rome is 22:30 UTC.
        assert_eq!(
            until_next(datetime!(2026-07-01 22:00 UTC), 0, 30).as_secs(),
            30 * 60
        );
    }
}
