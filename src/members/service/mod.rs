//! Services of the register. Every write is one transaction with its audit entry.

mod bulk;
mod photos;
mod portal;
mod public;

pub use bulk::*;
pub use photos::*;
pub use portal::*;
pub use public::*;

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::cf::{CodiceFiscale, Declared, Sex};
use super::model::{self, EventKind, Status, StatusChange, search_key};
use super::repo::{self, ConsentRow, EventRow, ListRow, MemberData, MemberRow, SearchFilter};
use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::config::AlboConfig;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

pub use repo::SearchFilter as Filter;

/// Writes the configured sections, sectors and special lists into their tables.
pub async fn sync_catalogue(pool: &sqlx::PgPool, albo: &AlboConfig) -> AppResult<()> {
    let mut tx = pool.begin().await?;
    repo::sync_catalogue(&mut tx, albo).await?;
    tx.commit().await?;
    Ok(())
}

fn name_in<'a>(list: &'a [crate::config::CodeName], code: &'a str) -> &'a str {
    list.iter()
        .find(|s| s.code == code)
        .map(|s| s.name.as_str())
        .unwrap_or(code)
}

pub fn section_name<'a>(albo: &'a AlboConfig, code: &'a str) -> &'a str {
    name_in(&albo.sections, code)
}

pub fn sector_name<'a>(albo: &'a AlboConfig, code: &'a str) -> &'a str {
    name_in(&albo.sectors, code)
}

pub fn special_list_name<'a>(albo: &'a AlboConfig, code: &'a str) -> &'a str {
    name_in(&albo.special_lists, code)
}

/// Checks a new member's data: codice fiscale (format, check character, omocodia) and its consistency
/// with surname, name, birth date and sex; dates; section and sectors; e-mail shapes.
pub fn validate_new(
    d: &MemberData,
    albo: &AlboConfig,
    today: Date,
) -> Result<(CodiceFiscale, Date), Vec<FieldError>> {
    let mut errors = vec![];
    let required = [
        ("surname", &d.surname, "Indica il cognome."),
        ("name", &d.name, "Indica il nome."),
        ("birth_place", &d.birth_place, "Indica il luogo di nascita."),
    ];
    for (field, value, message) in required {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, message));
        }
    }
    for (field, value) in [
        ("surname", &d.surname),
        ("name", &d.name),
        ("birth_place", &d.birth_place),
    ] {
        if value.chars().any(|c| c.is_control() || "<>\"{}=;".contains(c)) {
            errors.push(FieldError::new(field, "Contiene caratteri non ammessi."));
        }
    }
    let sex = match d.sex.as_str() {
        "M" => Some(Sex::M),
        "F" => Some(Sex::F),
        _ => {
            errors.push(FieldError::new("sex", "Indica il sesso (M o F)."));
            None
        }
    };
    let birth_date = match d.birth_date {
        None => {
            errors.push(FieldError::new(
                "birth_date",
                "Indica la data di nascita (gg/mm/aaaa).",
            ));
            None
        }
        Some(b) if b > today => {
            errors.push(FieldError::new(
                "birth_date",
                "La data di nascita non può essere futura.",
            ));
            None
        }
        Some(b) if today.year() - b.year() > 120 => {
            errors.push(FieldError::new(
                "birth_date",
                "La data di nascita non è plausibile.",
            ));
            None
        }
        Some(b) => Some(b),
    };
    let cf = match CodiceFiscale::parse(&d.fiscal_code) {
        Ok(cf) => Some(cf),
        Err(e) => {
            errors.push(FieldError::new("fiscal_code", e.message()));
            None
        }
    };
    if let (Some(cf), Some(birth_date), Some(sex)) = (&cf, birth_date, sex) {
        if !d.surname.trim().is_empty() && !d.name.trim().is_empty() {
            let declared = Declared {
                surname: &d.surname,
                name: &d.name,
                birth_date,
                sex,
                place_code: None,
            };
            for m in cf.mismatches(&declared) {
                errors.push(FieldError::new("fiscal_code", m.message()));
            }
        }
    }
    if !albo.sections.iter().any(|s| s.code == d.section) {
        errors.push(FieldError::new("section", "Scegli la sezione dell'Albo."));
    }
    for s in &d.sectors {
        if !albo.sectors.iter().any(|x| &x.code == s) {
            errors.push(FieldError::new("sectors", format!("Settore «{s}» sconosciuto.")));
        }
    }
    for (field, value, label) in [("email", &d.email, "e-mail"), ("pec", &d.pec, "PEC")] {
        if !value.is_empty() && crate::auth::model::Email::parse(field, value).is_err() {
            errors.push(FieldError::new(
                field,
                format!("L'indirizzo {label} non è valido."),
            ));
        }
    }
    for (field, year) in [
        ("degree_year", d.degree_year),
        ("state_exam_year", d.state_exam_year),
    ] {
        if let Some(y) = year {
            if y < 1900 || y > today.year() {
                errors.push(FieldError::new(field, "L'anno non è plausibile."));
            }
        }
    }
    match (cf, birth_date, errors.is_empty()) {
        (Some(cf), Some(b), true) => Ok((cf, b)),
        _ => Err(errors),
    }
}

/// How a member enters the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Application to be decided (status: applicant).
    Application,
    /// Registered by the council (legacy data, demo): applicant then active, with a number.
    Registered {
        date: Date,
        resolution_number: &'static str,
    },
}

/// Creates a member inside the caller's transaction. Returns the member id.
pub async fn create_member(
    conn: &mut PgConnection,
    albo: &AlboConfig,
    now: OffsetDateTime,
    today: Date,
    actor: &Actor,
    mut data: MemberData,
    entry: Entry,
) -> AppResult<i64> {
    let (cf, birth_date) = validate_new(&data, albo, today).map_err(AppError::Validation)?;
    data.fiscal_code = cf.as_str().to_string();
    data.surname = data.surname.trim().to_string();
    data.name = data.name.trim().to_string();
    if data.citizenship.trim().is_empty() {
        data.citizenship = "italiana".into();
    }
    if repo::id_by_fiscal_code(conn, cf.as_str()).await?.is_some() {
        return Err(AppError::Validation(vec![FieldError::new(
            "fiscal_code",
            "Esiste già un iscritto o un richiedente con questo codice fiscale.",
        )]));
    }
    let key = search_key(&format!("{} {}", data.surname, data.name));
    let key_alt = search_key(&format!("{} {}", data.name, data.surname));
    let id = repo::insert(conn, &data, birth_date, &key, &key_alt, now).await?;
    record_event(
        conn,
        now,
        actor,
        id,
        None,
        &StatusChange {
            kind: EventKind::Application,
            effective_date: today,
            until_date: None,
            reason: String::new(),
            resolution_number: String::new(),
            resolution_date: None,
            protocol_number: String::new(),
            note: String::new(),
        },
    )
    .await?;
    if let Entry::Registered {
        date,
        resolution_number,
    } = entry
    {
        record_event(
            conn,
            now,
            actor,
            id,
            Some(Status::Applicant),
            &StatusChange {
                kind: EventKind::Registration,
                effective_date: date,
                until_date: None,
                reason: String::new(),
                resolution_number: resolution_number.into(),
                resolution_date: Some(date),
                protocol_number: String::new(),
                note: String::new(),
            },
        )
        .await?;
    }
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "member.create",
            entity: "member",
            entity_id: Some(id.to_string()),
            details: json!({ "after": serde_json::to_value(&data).unwrap_or_default() }),
        },
    )
    .await?;
    Ok(id)
}

/// Records a status event (lifecycle checked), giving a registration number when the event does.
async fn record_event(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    member_id: i64,
    current: Option<Status>,
    change: &StatusChange,
) -> AppResult<Status> {
    let next = model::transition(current, change.kind).map_err(AppError::Conflict)?;
    if change.kind.gives_registration_number() {
        let number = repo::next_registration_number(conn).await?;
        repo::set_registration(conn, member_id, number, change.effective_date).await?;
    }
    repo::insert_event(
        conn,
        &repo::NewEvent {
            member_id,
            kind: change.kind.as_str(),
            status_after: next.as_str(),
            effective_date: change.effective_date,
            until_date: change.until_date,
            reason: change.reason.trim(),
            resolution_number: change.resolution_number.trim(),
            resolution_date: change.resolution_date,
            protocol_number: change.protocol_number.trim(),
            note: change.note.trim(),
            recorded_at: now,
            recorded_by: actor.id,
        },
    )
    .await?;
    Ok(next)
}

/// A status change decided by the council, entered by the secretariat.
pub async fn change_status(
    state: &AppState,
    user: &CurrentUser,
    member_id: i64,
    change: StatusChange,
) -> AppResult<()> {
    let now = state.now();
    let errors = change.validate(today(now));
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = state.pool.begin().await?;
    record_status_change(&mut tx, now, &user.actor(), member_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a council decision on a member's status in the caller's transaction (checked against the
/// lifecycle, audited); a registration or transfer in gives the registration number.
pub async fn record_status_change(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    member_id: i64,
    change: &StatusChange,
) -> AppResult<Status> {
    let errors = change.validate(today(now));
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let current = repo::lock_status(conn, member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = Status::parse(&current).ok_or_else(|| AppError::internal("unknown status in database"))?;
    let next = record_event(conn, now, actor, member_id, Some(current), change).await?;
    audit::record(conn, now, audit::Event {
        actor,
        action: "member.status_change",
        entity: "member",
        entity_id: Some(member_id.to_string()),
        details: json!({
            "event": change.kind.as_str(),
            "before": { "status": current.as_str() },
            "after": { "status": next.as_str() },
            "resolution": { "number": change.resolution_number, "date": change.resolution_date.map(model::italian_date) },
        }),
    })
    .await?;
    Ok(next)
}

/// Today in Europe/Rome.
pub fn today(now: OffsetDateTime) -> Date {
    use time_tz::OffsetDateTimeExt;
    now.to_timezone(time_tz::timezones::db::europe::ROME).date()
}

// --- back office ------------------------------------------------------------------------------

pub async fn search(
    state: &AppState,
    filter: &SearchFilter,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<ListRow>, bool)> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::search(&mut conn, filter, limit, offset).await?)
}

pub async fn count(state: &AppState, filter: &SearchFilter) -> AppResult<i64> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::count(&mut conn, filter).await?)
}

pub struct Sheet {
    pub member: MemberRow,
    pub events: Vec<EventRow>,
    pub consents: Vec<ConsentRow>,
}

/// The member sheet for staff. Each view is recorded in the audit log (who saw whose personal data).
pub async fn sheet(state: &AppState, user: &CurrentUser, member_id: i64) -> AppResult<Sheet> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let member = repo::by_id(&mut tx, member_id).await?.ok_or(AppError::NotFound)?;
    let events = repo::events(&mut tx, member_id).await?;
    let consents = repo::consents(&mut tx, member_id).await?;
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "member.view",
            entity: "member",
            entity_id: Some(member_id.to_string()),
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Sheet {
        member,
        events,
        consents,
    })
}

/// Records a list export (who exported which filter and how many rows).
pub async fn record_export(state: &AppState, user: &CurrentUser, what: &str, rows: usize) -> AppResult<()> {
    audit::record_alone(
        &state.pool,
        state.now(),
        audit::Event {
            actor: &user.actor(),
            action: "member.export",
            entity: "member",
            entity_id: None,
            details: json!({ "format": what, "rows": rows }),
        },
    )
    .await?;
    Ok(())
}

/// Links a member record to a login account (demo data, enrolment).
pub async fn link_user(conn: &mut PgConnection, member_id: i64, user_id: i64) -> AppResult<()> {
    repo::link_user(conn, member_id, user_id).await?;
    Ok(())
}

pub async fn raise_registration_counter(conn: &mut PgConnection) -> AppResult<()> {
    repo::raise_registration_counter(conn).await?;
    Ok(())
}

pub async fn id_by_fiscal_code(conn: &mut PgConnection, fiscal_code: &str) -> AppResult<Option<i64>> {
    Ok(repo::id_by_fiscal_code(conn, fiscal_code).await?)
}
