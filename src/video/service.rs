//! Systems, grants, the access register and the retention check. Each write is one transaction with
//! its audit entry.

use serde_json::json;
use time::{Date, OffsetDateTime};

use super::model::Level;
use super::repo::{self, AccessRow, GrantRow, SiteRow, SystemRow};
use super::request_repo::{self, AlertRow};
use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

/// Longest text of a purpose or a reason.
const MAX_TEXT: usize = 1000;

/// A local date and time (Europe/Rome) as a form sends it ("2026-11-20T10:30" or "2026-11-20 10:30").
pub fn rome_datetime(s: &str, field: &'static str, label: &str) -> Result<OffsetDateTime, FieldError> {
    use time::macros::format_description;
    use time_tz::PrimitiveDateTimeExt;
    let s = s.trim().replace(' ', "T");
    let local =
        time::PrimitiveDateTime::parse(&s, format_description!("[year]-[month]-[day]T[hour]:[minute]"))
            .or_else(|_| {
                time::PrimitiveDateTime::parse(
                    &s,
                    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
                )
            });
    local
        .ok()
        .and_then(|l| {
            l.assume_timezone(time_tz::timezones::db::europe::ROME)
                .take_first()
        })
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("Indica {label} (data e ora, es. 20/11/2026 10:30)."),
            )
        })
}

/// A date as a form sends it ("2026-11-20" or "20/11/2026").
pub fn form_date(s: &str, field: &'static str, label: &str) -> Result<Date, FieldError> {
    use time::macros::format_description;
    let s = s.trim();
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .or_else(|_| Date::parse(s, format_description!("[day]/[month]/[year]")))
        .map_err(|_| FieldError::new(field, format!("Indica {label} (gg/mm/aaaa).")))
}

/// A free text: trimmed, required, at most `max` characters, no control characters but new lines.
pub fn text(
    value: &str,
    field: &'static str,
    label: &str,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.push(FieldError::new(field, format!("Indica {label}.")));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("Troppo lungo: {label} al massimo {max} caratteri."),
        ));
    } else if v
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push(FieldError::new(
            field,
            format!("Caratteri non ammessi in {label}."),
        ));
    }
    v.to_string()
}

/// The systems chosen in a form (their ids), checked to exist.
pub async fn chosen_systems(
    conn: &mut sqlx::PgConnection,
    raw: &[String],
    errors: &mut Vec<FieldError>,
) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = raw.iter().filter_map(|s| s.trim().parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    let existing = repo::existing_systems(conn, &ids).await?;
    if ids.is_empty() || existing.len() != ids.len() || raw.len() > 200 {
        errors.push(FieldError::new(
            "systems",
            "Scegli almeno un impianto tra quelli elencati.",
        ));
    }
    Ok(ids)
}

pub async fn sites(state: &AppState) -> AppResult<Vec<SiteRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::sites(&mut conn).await?)
}

pub async fn systems(state: &AppState) -> AppResult<Vec<SystemRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::systems(&mut conn).await?)
}

pub async fn operators(state: &AppState) -> AppResult<Vec<(i64, String, String)>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::operators(&mut conn).await?)
}

/// Grants in force today (`current`) or the whole history, newest first.
pub async fn grants(state: &AppState, current: bool) -> AppResult<Vec<GrantRow>> {
    let mut conn = state.pool.acquire().await?;
    let today = crate::format::rome_day(state.now());
    Ok(repo::grants(&mut conn, current, today).await?)
}

/// A grant or a revocation as the manager's form sends it.
#[derive(Debug, Default, Clone)]
pub struct GrantInput {
    pub user_id: String,
    pub systems: Vec<String>,
    /// "view", "extract" or "revoke".
    pub level: String,
    pub effective_on: String,
    pub reason: String,
}

/// Grants a level (or revokes) to one person on the chosen systems: one act per system, each in the
/// history and in the audit log with the level before. Returns how many acts were recorded.
pub async fn change_grant(state: &AppState, manager: &CurrentUser, input: &GrantInput) -> AppResult<usize> {
    let mut errors = vec![];
    let level = match input.level.as_str() {
        "revoke" => None,
        l => match Level::parse(l) {
            Some(l) => Some(l),
            None => {
                errors.push(FieldError::new(
                    "level",
                    "Scegli il livello: visione, visione ed estrazione, oppure revoca.",
                ));
                None
            }
        },
    };
    let reason = text(
        &input.reason,
        "reason",
        "la motivazione",
        MAX_TEXT,
        true,
        &mut errors,
    );
    let effective_on = form_date(&input.effective_on, "effective_on", "la data di decorrenza")
        .map_err(|e| errors.push(e))
        .ok();
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let operators = repo::operators(&mut tx).await?;
    let user = input
        .user_id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| operators.iter().find(|o| o.0 == id));
    if user.is_none() {
        errors.push(FieldError::new(
            "user_id",
            "Scegli la persona tra gli incaricati e i responsabili della videosorveglianza.",
        ));
    }
    let systems = chosen_systems(&mut tx, &input.systems, &mut errors).await?;
    let (Some((user_id, user_name, user_email)), Some(effective_on), true) =
        (user, effective_on, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let before: Vec<(i64, String)> = repo::levels(&mut tx, *user_id, &systems, effective_on).await?;
    let actor = manager.actor();
    for system_id in &systems {
        let id = repo::insert_grant(
            &mut tx,
            &repo::NewGrant {
                user_id: *user_id,
                system_id: *system_id,
                level: level.map(Level::as_str),
                effective_on,
                reason: &reason,
                decided_by: manager.id,
                decided_at: now,
            },
        )
        .await?;
        let previous = before
            .iter()
            .find(|(s, _)| s == system_id)
            .map(|(_, l)| l.clone());
        audit::record(
            &mut tx,
            now,
            audit::Event {
                actor: &actor,
                action: if level.is_some() {
                    "video.grant"
                } else {
                    "video.revoke"
                },
                entity: "video_grant",
                entity_id: Some(id.to_string()),
                details: json!({
                    "user_id": user_id, "user": user_email, "name": user_name, "system_id": system_id,
                    "level": level.map(Level::as_str), "previous": previous,
                    "effective_on": effective_on.to_string(), "reason": reason,
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(systems.len())
}

/// A viewing session as the officer's form sends it.
#[derive(Debug, Default, Clone)]
pub struct SessionInput {
    pub systems: Vec<String>,
    pub session_start: String,
    pub session_end: String,
    pub footage_from: String,
    pub footage_to: String,
    pub purpose: String,
}

/// Checks that `user` holds at least `needed` today on every system; the message names the systems.
pub async fn require_level(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    systems: &[i64],
    needed: Level,
    today: Date,
) -> AppResult<()> {
    let held = repo::levels(conn, user_id, systems, today).await?;
    let all = repo::systems(conn).await?;
    let missing: Vec<String> = systems
        .iter()
        .filter(|s| {
            !held
                .iter()
                .any(|(id, l)| id == *s && Level::parse(l).is_some_and(|l| l >= needed))
        })
        .filter_map(|s| {
            all.iter()
                .find(|x| x.id == *s)
                .map(|x| format!("n. {}", x.number))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let what = match needed {
        Level::View => "alla visione",
        Level::Extract => "all'estrazione",
    };
    Err(AppError::Validation(vec![FieldError::new(
        "systems",
        format!(
            "Non sei autorizzato {what} delle immagini dell'impianto {}: chiedi l'autorizzazione al \
             responsabile del trattamento.",
            missing.join(", ")
        ),
    )]))
}

/// Records a viewing session in the access register (art. 6.5), if the officer holds a grant on
/// every system viewed.
pub async fn log_session(state: &AppState, user: &CurrentUser, input: &SessionInput) -> AppResult<i64> {
    let mut errors = vec![];
    let purpose = text(
        &input.purpose,
        "purpose",
        "la finalità della visione",
        MAX_TEXT,
        true,
        &mut errors,
    );
    let mut when =
        |s: &str, f: &'static str, l: &str| rome_datetime(s, f, l).map_err(|e| errors.push(e)).ok();
    let start = when(&input.session_start, "session_start", "l'inizio della sessione");
    let end = when(&input.session_end, "session_end", "la fine della sessione");
    let from = when(
        &input.footage_from,
        "footage_from",
        "l'inizio delle riprese visionate",
    );
    let to = when(&input.footage_to, "footage_to", "la fine delle riprese visionate");
    let now = state.now();
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.push(FieldError::new(
                "session_end",
                "La sessione finisce prima di iniziare.",
            ));
        }
        if e > now + time::Duration::minutes(5) {
            errors.push(FieldError::new(
                "session_end",
                "La sessione non può finire nel futuro.",
            ));
        }
    }
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(FieldError::new(
            "footage_to",
            "Le riprese visionate finiscono prima di iniziare.",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let systems = chosen_systems(&mut tx, &input.systems, &mut errors).await?;
    let (Some(start), Some(end), Some(from), Some(to), true) = (start, end, from, to, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    require_level(
        &mut tx,
        user.id,
        &systems,
        Level::View,
        crate::format::rome_day(now),
    )
    .await?;
    let id = repo::insert_access(
        &mut tx,
        &repo::NewAccess {
            user_id: user.id,
            session_start: start,
            session_end: end,
            footage_from: from,
            footage_to: to,
            system_ids: &systems,
            purpose: &purpose,
            extracted: false,
            request_id: None,
            recorded_at: now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "video.access",
            entity: "video_access",
            entity_id: Some(id.to_string()),
            details: json!({ "systems": systems, "purpose": purpose, "extracted": false }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The access register between two instants, optionally of one operator or system (newest first).
pub async fn accesses(
    state: &AppState,
    from: OffsetDateTime,
    to: OffsetDateTime,
    user_id: Option<i64>,
    system_id: Option<i64>,
) -> AppResult<Vec<AccessRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::accesses(&mut conn, from, to, user_id, system_id, 1000).await?)
}

/// The requests past retention that are not held for an authority.
pub async fn retention_alerts(state: &AppState) -> AppResult<Vec<AlertRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(request_repo::retention_alerts(&mut conn, state.now()).await?)
}

/// The scheduled check: records when each alert is first seen, with an audit entry for new ones and a
/// warning in the log. Returns (alerts open, alerts new).
pub async fn retention_check(state: &AppState) -> AppResult<(usize, u64)> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let alerts = request_repo::retention_alerts(&mut tx, now).await?;
    let ids: Vec<i64> = alerts.iter().map(|a| a.request_id).collect();
    let kinds: Vec<String> = alerts.iter().map(|a| a.kind.clone()).collect();
    let new = request_repo::record_alerts(&mut tx, &ids, &kinds, now).await?;
    if new > 0 {
        audit::record(
            &mut tx,
            now,
            audit::Event {
                actor: &Actor::system("video-retention"),
                action: "video.retention_alerts",
                entity: "video_request",
                entity_id: None,
                details: json!({ "open": alerts.len(), "new": new, "requests": ids }),
            },
        )
        .await?;
        tracing::warn!(
            open = alerts.len(),
            new,
            "video footage past its retention period"
        );
    }
    tx.commit().await?;
    Ok((alerts.len(), new))
}

/// `ordo serve`'s retention job: at start-up, then every `video.retention_check_minutes`.
pub async fn run_retention_scheduler(state: AppState) {
    let minutes = state.config.video.retention_check_minutes;
    if minutes == 0 {
        return;
    }
    loop {
        if let Err(e) = retention_check(&state).await {
            tracing::error!(error = ?e, "video retention check failed");
        }
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(minutes) * 60)).await;
    }
}
