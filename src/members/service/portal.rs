//! What members do with their own register entry: see it, consents, place of work, approved contact
//! changes, the GDPR download.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::members::model::{self, OptionalField};
use crate::members::repo::{self, EventRow, MemberRow};
use crate::state::AppState;

// --- portal -----------------------------------------------------------------------------------

pub struct Mine {
    pub member: MemberRow,
    pub events: Vec<EventRow>,
}

/// The member record linked to the logged-in account, if any.
pub async fn mine(state: &AppState, user: &CurrentUser) -> AppResult<Option<Mine>> {
    let mut conn = state.pool.acquire().await?;
    let Some(member) = repo::by_user(&mut conn, user.id).await? else {
        return Ok(None);
    };
    let events = repo::events(&mut conn, member.id).await?;
    Ok(Some(Mine { member, events }))
}

/// Sets the member's consents to the given set of optional fields; only changes are recorded.
pub async fn set_consents(
    state: &AppState,
    user: &CurrentUser,
    granted: &[OptionalField],
) -> AppResult<usize> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let member = repo::by_user(&mut tx, user.id).await?.ok_or_else(not_linked)?;
    let mut changed = vec![];
    for field in OptionalField::ALL {
        let now_granted = granted.contains(&field);
        let was_granted = member.public_consents.iter().any(|c| c == field.as_str());
        if now_granted != was_granted {
            repo::insert_consent(
                &mut tx,
                member.id,
                field.as_str(),
                now_granted,
                "portale",
                now,
                Some(user.id),
            )
            .await?;
            changed.push(json!({ "field": field.as_str(), "granted": now_granted }));
        }
    }
    if !changed.is_empty() {
        audit::record(
            &mut tx,
            now,
            audit::Event {
                actor: &user.actor(),
                action: "member.consents",
                entity: "member",
                entity_id: Some(member.id.to_string()),
                details: json!({ "changes": changed, "source": "portale" }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed.len())
}

pub async fn set_workplace(
    state: &AppState,
    user: &CurrentUser,
    name: &str,
    address: &str,
    municipality: &str,
) -> AppResult<()> {
    let mut errors = vec![];
    for (field, value) in [
        ("workplace_name", name),
        ("workplace_address", address),
        ("workplace_municipality", municipality),
    ] {
        if value.chars().count() > 200 {
            errors.push(FieldError::new(
                field,
                "Testo troppo lungo (massimo 200 caratteri).",
            ));
        }
        if value.chars().any(|c| c.is_control()) {
            errors.push(FieldError::new(field, "Contiene caratteri non ammessi."));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let member = repo::by_user(&mut tx, user.id).await?.ok_or_else(not_linked)?;
    repo::set_workplace(
        &mut tx,
        member.id,
        name.trim(),
        address.trim(),
        municipality.trim(),
        now,
    )
    .await?;
    audit::record(&mut tx, now, audit::Event {
        actor: &user.actor(),
        action: "member.workplace",
        entity: "member",
        entity_id: Some(member.id.to_string()),
        details: json!({
            "before": { "name": member.workplace_name, "address": member.workplace_address, "municipality": member.workplace_municipality },
            "after": { "name": name.trim(), "address": address.trim(), "municipality": municipality.trim() },
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

fn not_linked() -> AppError {
    AppError::Conflict(
        "Il tuo account non è collegato a una posizione nell'Albo: scrivi alla segreteria.".into(),
    )
}

/// A member record by id, inside the caller's transaction.
pub async fn member_by_id(conn: &mut PgConnection, id: i64) -> AppResult<Option<MemberRow>> {
    Ok(repo::by_id(conn, id).await?)
}

/// The member record of an account, inside the caller's transaction.
pub async fn member_of_user(conn: &mut PgConnection, user_id: i64) -> AppResult<Option<MemberRow>> {
    Ok(repo::by_user(conn, user_id).await?)
}

impl MemberRow {
    /// The current value of a contact field (see `model::CONTACT_FIELDS`).
    pub fn contact_value(&self, field: &str) -> Option<&str> {
        Some(match field {
            "residence_address" => &self.residence_address,
            "residence_cap" => &self.residence_cap,
            "residence_municipality" => &self.residence_municipality,
            "residence_province" => &self.residence_province,
            "domicile_address" => &self.domicile_address,
            "domicile_cap" => &self.domicile_cap,
            "domicile_municipality" => &self.domicile_municipality,
            "domicile_province" => &self.domicile_province,
            "email" => &self.email,
            "phone" => &self.phone,
            "specialisations" => &self.specialisations,
            "pec" => &self.pec,
            _ => return None,
        })
    }
}

/// Applies approved changes of contact fields (unknown field names are refused), with the audit entry.
pub async fn apply_contact_changes(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    member_id: i64,
    changes: &[(String, String)],
) -> AppResult<()> {
    let member = repo::by_id(conn, member_id).await?.ok_or(AppError::NotFound)?;
    let mut checked: Vec<(&'static str, String)> = vec![];
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    for (field, value) in changes {
        let Some(name) = model::CONTACT_FIELDS.iter().find(|f| **f == field.as_str()) else {
            return Err(AppError::internal(format!("not a contact field: {field}")));
        };
        before.insert(field.clone(), json!(member.contact_value(field)));
        after.insert(field.clone(), json!(value));
        checked.push((name, value.clone()));
    }
    repo::update_contact_fields(conn, member_id, &checked, now).await?;
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "member.contact_change",
            entity: "member",
            entity_id: Some(member_id.to_string()),
            details: json!({ "before": before, "after": after }),
        },
    )
    .await?;
    Ok(())
}

/// The member's own register entry, history and consents, for the GDPR download.
pub async fn export_mine(state: &AppState, user: &CurrentUser) -> AppResult<Option<serde_json::Value>> {
    let mut conn = state.pool.acquire().await?;
    let Some(member) = repo::by_user(&mut conn, user.id).await? else {
        return Ok(None);
    };
    let events = repo::events(&mut conn, member.id).await?;
    let consents = repo::consents(&mut conn, member.id).await?;
    Ok(Some(
        json!({ "member": member, "status_history": events, "consents": consents }),
    ))
}

/// Records that a person downloaded their own data.
pub async fn record_self_export(state: &AppState, user: &CurrentUser) -> AppResult<()> {
    audit::record_alone(
        &state.pool,
        state.now(),
        audit::Event {
            actor: &user.actor(),
            action: "gdpr.self_export",
            entity: "user",
            entity_id: Some(user.id.to_string()),
            details: json!({}),
        },
    )
    .await?;
    Ok(())
}
